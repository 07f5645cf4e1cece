/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox exec|write|read|upload|download`. */
#include "config.h"
#include "sandboxcli.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  OPT_CWD = 1000,
  OPT_TIMEOUT,
  OPT_ALL,
  OPT_JSON,
  OPT_MODE,
  OPT_FILES_ROOT,
};

static const struct option exec_longopts[] = {
  { "env", required_argument, NULL, 'e' },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "timeout", required_argument, NULL, OPT_TIMEOUT },
  { "interactive", no_argument, NULL, 'i' },
  { "all", no_argument, NULL, OPT_ALL },
  { "json", no_argument, NULL, OPT_JSON },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t exec_verb = {
  .name = "sandbox exec",
  .args = "[OPTIONS] <name> COMMAND [ARG...]  |  --all [OPTIONS] COMMAND [ARG...]",
  .description = "Run a command in a sandbox as root, relay its stdout and stderr, and exit with its status.\n"
                 "With --timeout it is killed when the time is up and the status is 124, as timeout(1)'s.  A\n"
                 "command that cannot start exits 127 (not found) or 126 with the cause.  With --all it runs\n"
                 "in every running sandbox, up to 8 at once, and each one's output is printed under its name,\n"
                 "in the order of the names; the status is 0 when every run exited 0.\n",
  .options = "  -e, --env KEY=VALUE    set an environment variable (repeatable)\n"
             "      --cwd DIR          working directory (default /)\n"
             "      --timeout SECONDS  kill the command after this long (exit status 124)\n"
             "  -i, --interactive      pass our stdin to the command (default: empty stdin)\n"
             "      --all              run in every running sandbox\n"
             "      --json             print {\"exit_code\", \"stdout\", \"stderr\", \"timed_out\"} (an array with\n"
             "                         --all) instead of relaying output\n",
  .shortopts = "e:ih",
  .longopts = exec_longopts,
};

static void
gen_result(json_gen *g, const char *name, const isolazi_sandbox_exec_result_t *r, const char *error)
{
  json_gen_object_open(g);
  if (name != NULL)
    {
      json_gen_key(g, "name");
      json_gen_string(g, name);
    }
  json_gen_key(g, "exit_code");
  json_gen_int64(g, r->exit_code);
  json_gen_key(g, "stdout");
  json_gen_string(g, r->out != NULL ? r->out : "");
  json_gen_key(g, "stderr");
  json_gen_string(g, r->err != NULL ? r->err : "");
  json_gen_key(g, "timed_out");
  json_gen_bool(g, r->timed_out);
  if (error != NULL)
    {
      json_gen_key(g, "error");
      json_gen_string(g, error);
    }
  json_gen_object_close(g);
}

static void
print_gen(json_gen *g)
{
  char *out = NULL, *perr = NULL;
  size_t len;

  if (json_gen_finish(g, &out, &len, &perr) == 0)
    printf("%s\n", out);
  free(out);
  free(perr);
  json_gen_free(g);
}

/* exec --all: how many sandboxes run the command at once.  Each run is mostly waiting on its
 * VM, so more than the host's CPUs is fine; the bound keeps the open connections few. */
#define EXEC_ALL_PARALLEL 8

typedef struct exec_run
{
  const char *name;
  isolazi_sandbox_exec_result_t res;
  isolazi_error_t err;
  int r;
  bool done;
} exec_run_t;

typedef struct fanout
{
  const isolazi_sandbox_exec_options_t *o;
  exec_run_t *runs;
  size_t n, next;
  pthread_mutex_t lock;
  pthread_cond_t cond;
} fanout_t;

static void *
fanout_worker(void *arg)
{
  fanout_t *f = arg;

  for (;;)
    {
      exec_run_t *x;
      pthread_mutex_lock(&f->lock);
      x = f->next < f->n ? &f->runs[f->next++] : NULL;
      pthread_mutex_unlock(&f->lock);
      if (x == NULL)
        return NULL;
      x->err = (isolazi_error_t)ISOLAZI_ERROR_INIT;
      x->r = isolazi_sandbox_exec(&sbcli_ctx, x->name, f->o, &x->res, &x->err);
      pthread_mutex_lock(&f->lock);
      x->done = true;
      pthread_cond_broadcast(&f->cond);
      pthread_mutex_unlock(&f->lock);
    }
}

int
sbcli_exec(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_sandbox_exec_options_t o = { 0 };
  isolazi_sandbox_exec_result_t res;
  cleanup_strv char **env = NULL;
  size_t env_len = 0;
  bool first = true, all = false, json = false, interactive = false;
  unsigned timeout = 0;
  int c;

  while ((c = cli_getopt(&exec_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'e':
        env = xrealloc(env, (env_len + 2) * sizeof *env);
        env[env_len++] = xstrdup(optarg);
        env[env_len] = NULL;
        break;
      case OPT_CWD:
        o.cwd = optarg;
        break;
      case OPT_TIMEOUT:
        if (cli_parse_uint("timeout", optarg, &timeout, &err) < 0 || timeout == 0)
          {
            isolazi_error_set(&err, 0, "invalid value `%s` for `--timeout`: expected seconds (1 or more)", optarg);
            return cli_fail(&err);
          }
        break;
      case 'i':
        interactive = true;
        break;
      case OPT_ALL:
        all = true;
        break;
      case OPT_JSON:
        json = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (argc - optind < (all ? 1 : 2))
    return cli_usage_error("sandbox exec", all ? "a command is required" : "a sandbox name and a command are required");
  o.args = argv + optind + (all ? 0 : 1);
  o.env = env;
  o.timeout_ms = timeout * 1000;
  o.in_fd = interactive ? 0 : -1;
  o.out_fd = json || all ? -1 : 1;
  o.err_fd = json || all ? -1 : 2;
  if (!all)
    {
      const char *name = argv[optind];
      int r = isolazi_sandbox_exec(&sbcli_ctx, name, &o, &res, &err);
      if (json)
        {
          json_gen *g = json_gen_new(true);
          gen_result(g, NULL, &res, r < 0 ? err.msg : NULL);
          print_gen(g);
        }
      if (r < 0)
        {
          int status = res.exit_code == 126 || res.exit_code == 127 ? res.exit_code : 255;
          isolazi_sandbox_exec_result_release(&res);
          if (!json)
            {
              isolazi_error_wrap(&err, "exec failed");
              cli_fail(&err);
            }
          else
            isolazi_error_release(&err);
          return status;
        }
      r = res.exit_code;
      isolazi_sandbox_exec_result_release(&res);
      return r;
    }
  if (interactive)
    return cli_usage_error("sandbox exec", "`--interactive` cannot be used with `--all`");
  {
    isolazi_sandbox_summary_t *s = NULL;
    json_gen *g = NULL;
    fanout_t f = { .o = &o };
    pthread_t th[EXEC_ALL_PARALLEL];
    size_t n = 0, i, nth;
    int status = 0;
    if (isolazi_sandbox_list(&sbcli_ctx, &s, &n, &err) < 0)
      return cli_fail(&err);
    f.runs = xcalloc(n ? n : 1, sizeof *f.runs);
    for (i = 0; i < n; i++)
      if (strcmp(s[i].status, "running") == 0)
        f.runs[f.n++].name = s[i].name;
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.cond, NULL);
    /* At most EXEC_ALL_PARALLEL at once; each run's result is printed in name order, as soon as
     * it and every run before it have ended. */
    for (nth = 0; nth < EXEC_ALL_PARALLEL && nth < f.n; nth++)
      if (pthread_create(&th[nth], NULL, fanout_worker, &f) != 0)
        break;
    if (nth == 0 && f.n > 0)
      fanout_worker(&f); /* no thread could start: run them here, one after the other */
    if (json)
      {
        g = json_gen_new(true);
        json_gen_array_open(g);
      }
    for (i = 0; i < f.n; i++)
      {
        exec_run_t *x = &f.runs[i];
        pthread_mutex_lock(&f.lock);
        while (!x->done)
          pthread_cond_wait(&f.cond, &f.lock);
        pthread_mutex_unlock(&f.lock);
        if (x->r < 0 || x->res.exit_code != 0)
          status = 1;
        if (json)
          gen_result(g, x->name, &x->res, x->r < 0 ? x->err.msg : NULL);
        else
          {
            printf("=== %s: exit %d%s%s\n", x->name, x->res.exit_code, x->r < 0 ? ": " : "",
                   x->r < 0 ? x->err.msg : "");
            fwrite(x->res.out ? x->res.out : "", 1, x->res.out_len, stdout);
            fflush(stdout);
            fwrite(x->res.err ? x->res.err : "", 1, x->res.err_len, stderr);
            fflush(stderr);
          }
        isolazi_error_release(&x->err);
        isolazi_sandbox_exec_result_release(&x->res);
      }
    for (i = 0; i < nth; i++)
      pthread_join(th[i], NULL);
    if (json)
      {
        json_gen_array_close(g);
        print_gen(g);
      }
    pthread_mutex_destroy(&f.lock);
    pthread_cond_destroy(&f.cond);
    free(f.runs);
    isolazi_sandbox_summaries_free(s, n);
    return status;
  }
}

/* ---- write, read --------------------------------------------------------------------------- */

static const struct option write_longopts[] = {
  { "mode", required_argument, NULL, OPT_MODE },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t write_verb = {
  .name = "sandbox write",
  .args = "[OPTIONS] <name> <path>",
  .description = "Write stdin to a file inside the sandbox (made with its parent directories, replaced if it\n"
                 "exists), synced to the disk before this returns.  At most 16 MiB.\n",
  .options = "      --mode MODE   octal permissions (default 0644)\n",
  .shortopts = "h",
  .longopts = write_longopts,
};

int
sbcli_write(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *data = NULL;
  size_t len = 0, cap = 0;
  unsigned mode = 0644;
  bool first = true;
  int c;

  while ((c = cli_getopt(&write_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_MODE:
        {
          char *end;
          unsigned long m = strtoul(optarg, &end, 8);
          if (end == optarg || *end != '\0' || m > 07777)
            return cli_usage_error("sandbox write", "invalid value `%s` for `--mode`: expected octal permissions",
                                   optarg);
          mode = (unsigned)m;
          break;
        }
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&write_verb, argc, argv, 2, 2) < 0)
    return 1;
  for (;;)
    {
      ssize_t n;
      if (len == cap)
        {
          cap = cap ? cap * 2 : 65536;
          data = xrealloc(data, cap);
        }
      n = read(0, data + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          isolazi_error_errno(&err, "read stdin");
          return cli_fail(&err);
        }
      if (n == 0)
        break;
      len += (size_t)n;
      if (len > ISOLAZI_SANDBOX_FILE_MAX)
        {
          isolazi_error_set(&err, 0, "write `%s` in sandbox `%s`: stdin exceeds the limit of %d bytes",
                            argv[optind + 1], argv[optind], ISOLAZI_SANDBOX_FILE_MAX);
          return cli_fail(&err);
        }
    }
  if (isolazi_sandbox_write(&sbcli_ctx, argv[optind], argv[optind + 1], data, len, mode, &err) < 0)
    return cli_fail(&err);
  return 0;
}

static const struct option help_longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t read_verb = {
  .name = "sandbox read",
  .args = "<name> <path>",
  .description = "Print a file from inside the sandbox on stdout.  At most 16 MiB.\n",
  .shortopts = "h",
  .longopts = help_longopts,
};

int
sbcli_read(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *data = NULL;
  bool first = true;
  size_t len = 0;
  int c;

  while ((c = cli_getopt(&read_verb, argc, argv, &first)) != CLI_DONE)
    return c == CLI_EXIT_OK ? 0 : 1;
  if (cli_check_args(&read_verb, argc, argv, 2, 2) < 0)
    return 1;
  if (isolazi_sandbox_read(&sbcli_ctx, argv[optind], argv[optind + 1], &data, &len, &err) < 0)
    return cli_fail(&err);
  if (isolazi_write_all(1, data, len) < 0)
    {
      isolazi_error_errno(&err, "write stdout");
      return cli_fail(&err);
    }
  return 0;
}

/* ---- upload, download ---------------------------------------------------------------------- */

static const struct option files_longopts[] = {
  { "files-root", required_argument, NULL, OPT_FILES_ROOT },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t upload_verb = {
  .name = "sandbox upload",
  .args = "[OPTIONS] <name> <host-path> <guest-path>",
  .description = "Copy a file from the files root on the host into the sandbox.  host-path is resolved beneath\n"
                 "the files root: `..`, absolute paths and symlinks that lead out of it are refused.  At most\n"
                 "16 MiB.\n",
  .options = "      --files-root DIR   the host directory transfers are confined to (default:\n"
             "                         $ISOLAZI_VM_FILES_ROOT; required)\n",
  .shortopts = "h",
  .longopts = files_longopts,
};

static const cli_verb_t download_verb = {
  .name = "sandbox download",
  .args = "[OPTIONS] <name> <guest-path> <host-path>",
  .description = "Copy a file from the sandbox into the files root on the host (host-path resolved beneath it,\n"
                 "its directory must exist).  At most 16 MiB.\n",
  .options = "      --files-root DIR   the host directory transfers are confined to (default:\n"
             "                         $ISOLAZI_VM_FILES_ROOT; required)\n",
  .shortopts = "h",
  .longopts = files_longopts,
};

static int
transfer(const cli_verb_t *verb, bool upload, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *root = getenv("ISOLAZI_VM_FILES_ROOT");
  bool first = true;
  int c, r;

  while ((c = cli_getopt(verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_FILES_ROOT:
        root = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(verb, argc, argv, 3, 3) < 0)
    return 1;
  if (upload)
    r = isolazi_sandbox_upload(&sbcli_ctx, argv[optind], root, argv[optind + 1], argv[optind + 2], &err);
  else
    r = isolazi_sandbox_download(&sbcli_ctx, argv[optind], root, argv[optind + 1], argv[optind + 2], &err);
  return r < 0 ? cli_fail(&err) : 0;
}

int
sbcli_upload(int argc, char **argv)
{
  return transfer(&upload_verb, true, argc, argv);
}

int
sbcli_download(int argc, char **argv)
{
  return transfer(&download_verb, false, argc, argv);
}
