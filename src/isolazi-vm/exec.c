/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"
#include "cleanup.h"
#include "utils.h"

#include <stdlib.h>

enum
{
  OPT_CONSOLE_SOCKET = 1000,
  OPT_CWD,
  OPT_PID_FILE,
  OPT_IGNORED_VALUE,
  OPT_IGNORED,
};

static const struct option longopts[] = {
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "env", required_argument, NULL, 'e' },
  { "tty", no_argument, NULL, 't' },
  { "user", required_argument, NULL, 'u' },
  { "additional-gids", required_argument, NULL, 'g' },
  { "process", required_argument, NULL, 'p' },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  /* runc's flags that mean nothing in a guest of its own: accepted, so command lines work */
  { "process-label", required_argument, NULL, OPT_IGNORED_VALUE },
  { "apparmor", required_argument, NULL, OPT_IGNORED_VALUE },
  { "cap", required_argument, NULL, OPT_IGNORED_VALUE },
  { "preserve-fds", required_argument, NULL, OPT_IGNORED_VALUE },
  { "no-new-privs", no_argument, NULL, OPT_IGNORED },
  { "ignore-paused", no_argument, NULL, OPT_IGNORED },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "exec",
  .args = "[OPTIONS] <container-id> [COMMAND [ARG...]]",
  .description = "Run a new process in a running VM container.  Without --detach, relay its stdio, forward\n"
                 "signals to it and exit with its status.  With --detach, return once it started: the pid\n"
                 "file then names a host process that relays its stdio and exits with its status.  A\n"
                 "process that cannot start exits 255 with the cause (\"exec failed: ...\").\n",
  .options = "  -p, --process FILE          the process as JSON (runtime-spec \"process\")\n"
             "  -e, --env KEY=VALUE         set an environment variable (repeatable)\n"
             "      --cwd DIR               working directory in the container\n"
             "  -u, --user UID[:GID]        user and group ids\n"
             "  -g, --additional-gids GID   an additional group (repeatable)\n"
             "  -t, --tty                   give the process a terminal\n"
             "  -d, --detach                return once the process started\n"
             "      --pid-file FILE         write the relay's pid to FILE\n"
             "      --console-socket PATH   AF_UNIX socket that receives the pty master (with --tty)\n",
  .shortopts = "e:tu:g:p:dc:h",
  .longopts = longopts,
};

static void
push(char ***v, size_t *n, const char *s)
{
  *v = xrealloc(*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = xstrdup(s);
  (*v)[*n] = NULL;
}

static int
exec_fail(isolazi_error_t *err)
{
  isolazi_error_wrap(err, "exec failed");
  cli_fail(err);
  return 255;
}

int
vmcli_exec(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_vm_exec_options_t o = { 0 };
  cleanup_strv char **env = NULL, **gids = NULL;
  cleanup_free char *pid_file = NULL, *console = NULL, *process = NULL;
  bool first = true;
  int c, status = 0;

  (void)ctx;
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'e':
        push(&env, &o.env_len, optarg);
        break;
      case 'g':
        push(&gids, &o.additional_gids_len, optarg);
        break;
      case 't':
        o.tty = true;
        break;
      case 'd':
        o.detach = true;
        break;
      case 'u':
        o.user = optarg;
        break;
      case OPT_CWD:
        o.cwd = optarg;
        break;
      case 'p':
        free(process);
        if ((process = isolazi_abspath(optarg, &err)) == NULL)
          return exec_fail(&err);
        break;
      case OPT_PID_FILE:
        free(pid_file);
        if ((pid_file = isolazi_abspath(optarg, &err)) == NULL)
          return exec_fail(&err);
        break;
      case OPT_CONSOLE_SOCKET:
        free(console);
        if ((console = isolazi_abspath(optarg, &err)) == NULL)
          return exec_fail(&err);
        break;
      case OPT_IGNORED_VALUE:
      case OPT_IGNORED:
      case 'c':
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (optind >= argc)
    return cli_usage_error("exec", "`isolazi-vm exec` requires a container id");
  o.id = argv[optind];
  o.args = argv + optind + 1;
  o.args_len = (size_t)(argc - optind - 1);
  o.env = env;
  o.additional_gids = gids;
  o.process_file = process;
  o.pid_file = pid_file;
  o.console_socket = console;
  if (isolazi_vm_exec(&vmcli_global, &o, &status, &err) < 0)
    return exec_fail(&err);
  return o.detach ? 0 : status;
}
