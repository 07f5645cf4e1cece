/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "cleanup.h"
#include "control.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct option longopts[] = {
  { "format", required_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "ps",
  .args = "[OPTIONS] <container-id> [ps options]",
  .description = "List the processes of a container.  The table format runs the host's ps(1) with the\n"
                 "given options (default -ef) and keeps its header and the lines of the container's\n"
                 "processes; json prints the host pids as a JSON array.\n",
  .options = "  -f, --format table|json     output format (default: table)\n",
  .shortopts = "f:h",
  .longopts = longopts,
};

/* Run ps with args; its stdout and stderr together, as runc reads them. */
static int
run_ps(char **args, size_t n, char **ret, isolazi_error_t *err)
{
  cleanup_free char **argv = xcalloc(n + 2, sizeof *argv);
  cleanup_free char *out = NULL;
  size_t len = 0, cap = 0;
  int p[2], status = 0;
  pid_t pid;
  ssize_t r;
  size_t i;

  argv[0] = (char *)"ps";
  for (i = 0; i < n; i++)
    argv[i + 1] = args[i];
  if (pipe2(p, O_CLOEXEC) < 0)
    return isolazi_error_errno(err, "run ps: pipe");
  pid = fork();
  if (pid < 0)
    {
      close(p[0]);
      close(p[1]);
      return isolazi_error_errno(err, "run ps: fork");
    }
  if (pid == 0)
    {
      if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
        _exit(127);
      execvp("ps", argv);
      dprintf(2, "exec ps: %s\n", strerror(errno));
      _exit(127);
    }
  close(p[1]);
  for (;;)
    {
      if (cap - len < 4096)
        out = xrealloc(out, cap = cap * 2 + 4096);
      r = read(p[0], out + len, cap - len - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      len += (size_t)r;
    }
  close(p[0]);
  out[len] = '\0';
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return isolazi_error_set(err, 0, "ps %s: %s", WIFEXITED(status) ? "failed" : "killed", out);
  *ret = steal_pointer(&out);
  return 0;
}

/* Split on blanks in place; returns the count. */
static size_t
fields(char *line, char **f, size_t max)
{
  size_t n = 0;
  char *save = NULL, *t;

  for (t = strtok_r(line, " \t", &save); t != NULL && n < max; t = strtok_r(NULL, " \t", &save))
    f[n++] = t;
  return n;
}

static int
print_table(const pid_t *pids, size_t npids, char **args, size_t nargs, isolazi_error_t *err)
{
  static char *const def[] = { (char *)"-ef" };
  cleanup_free char *out = NULL;
  char *line, *eol, *f[64];
  size_t i, n, pid_col = SIZE_MAX;

  if (run_ps(nargs ? args : (char **)def, nargs ? nargs : 1, &out, err) < 0)
    return -1;
  eol = strchr(out, '\n');
  if (eol != NULL)
    *eol = '\0';
  {
    cleanup_free char *hdr = xstrdup(out);
    n = fields(hdr, f, 64);
    for (i = 0; i < n; i++)
      if (strcmp(f[i], "PID") == 0)
        pid_col = i;
  }
  if (pid_col == SIZE_MAX)
    return isolazi_error_set(err, 0, "couldn't find PID field in ps output");
  printf("%s\n", out);
  for (line = eol ? eol + 1 : NULL; line != NULL && *line; line = eol ? eol + 1 : NULL)
    {
      cleanup_free char *copy = NULL;
      char *end = NULL;
      long p;

      eol = strchr(line, '\n');
      if (eol != NULL)
        *eol = '\0';
      if (*line == '\0')
        continue;
      copy = xstrdup(line);
      n = fields(copy, f, 64);
      if (n <= pid_col)
        continue;
      p = strtol(f[pid_col], &end, 10);
      if (*end != '\0')
        return isolazi_error_set(err, 0, "unable to parse pid: `%s`", f[pid_col]);
      for (i = 0; i < npids; i++)
        if (pids[i] == (pid_t)p)
          {
            printf("%s\n", line);
            break;
          }
    }
  return 0;
}

/* A VM container: `--format json` lists the host processes that stand for it (its monitor and
 * QEMU: what a shim can watch and signal), the table the guest's processes as its agent reports
 * them ("pid ppid uid state comm\targs" lines). */
static int
vm_ps(const cli_context_t *ctx, const char *id, const char *format, int nargs, isolazi_error_t *err)
{
  isolazi_vm_global_t vg;
  size_t i, n = 0;

  cli_vm_global(ctx, &vg);
  if (strcmp(format, "json") == 0)
    {
      cleanup_free pid_t *pids = NULL;
      if (isolazi_vm_ps(&vg, id, &pids, &n, err) < 0)
        return cli_fail(err);
      fputc('[', stdout);
      for (i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)pids[i]);
      fputs("]\n", stdout);
    }
  else
    {
      cleanup_free char *text = NULL;
      char *line, *save = NULL;
      if (nargs > 0)
        {
          isolazi_error_set(err, EINVAL,
                            "ps options: not supported for a VM container (its processes are in the guest)");
          return cli_fail(err);
        }
      if (isolazi_vm_guest_ps(&vg, id, &text, err) < 0)
        return cli_fail(err);
      printf("%-8s %-8s %-6s %-4s %s\n", "PID", "PPID", "UID", "STAT", "CMD");
      for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        {
          long pid, ppid, uid;
          char state;
          int off = 0;
          char *args = strchr(line, '\t');
          if (sscanf(line, "%ld %ld %ld %c %n", &pid, &ppid, &uid, &state, &off) < 4)
            continue;
          printf("%-8ld %-8ld %-6ld %-4c %s\n", pid, ppid, uid, state, args != NULL ? args + 1 : line + off);
        }
    }
  return fflush(stdout) == 0 ? 0 : 1;
}

int
cli_ps(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free pid_t *pids = NULL;
  const char *format = "table";
  bool first = true;
  size_t n = 0, i;
  char **args;
  int c, nargs;

  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'f':
        format = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&verb, argc, argv, 1, -1) != 0)
    return 1;
  if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
    return cli_usage_error("ps", "invalid format option `%s` (want table or json)", format);
  args = argv + optind + 1;
  nargs = argc - optind - 1;
  if (nargs > 0 && strcmp(args[0], "--") == 0)
    {
      args++;
      nargs--;
    }
  if (cli_container_is_vm(ctx, argv[optind]))
    return vm_ps(ctx, argv[optind], format, nargs, &err);
  if (isolazi_container_pids(&ctx->global, argv[optind], &pids, &n, &err) < 0)
    return cli_fail(&err);
  if (strcmp(format, "json") == 0)
    {
      /* containerd decodes stdout (merged with stderr) as JSON: nothing else may be printed. */
      fputc('[', stdout);
      for (i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)pids[i]);
      fputs("]\n", stdout);
    }
  else if (print_table(pids, n, args, (size_t)nargs, &err) < 0)
    return cli_fail(&err);
  if (fflush(stdout) != 0)
    return 1;
  return 0;
}
