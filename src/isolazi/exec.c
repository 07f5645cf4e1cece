/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "exec.h"
#include "utils.h"

#include <stdlib.h>
#include <string.h>

enum
{
  OPT_CONSOLE_SOCKET = 2000,
  OPT_CWD,
  OPT_PID_FILE,
  OPT_PROCESS_LABEL,
  OPT_APPARMOR,
  OPT_NO_NEW_PRIVS,
  OPT_PRESERVE_FDS,
  OPT_IGNORE_PAUSED,
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
  { "process-label", required_argument, NULL, OPT_PROCESS_LABEL },
  { "apparmor", required_argument, NULL, OPT_APPARMOR },
  { "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
  { "cap", required_argument, NULL, 'c' },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "exec",
  .args = "[OPTIONS] <container-id> <command> [args...]",
  .description = "Run a new process in a running container: in all its namespaces and its cgroup, with\n"
                 "the process settings of its config.json except what the flags change, or with the\n"
                 "process described by --process FILE (a runtime-spec Process; the flags that describe\n"
                 "the process are then ignored).  Without --detach, isolazi waits for the process,\n"
                 "forwards signals to it and exits with its status; with --tty and no --console-socket\n"
                 "it relays the process's terminal to its own.  A process that cannot be started\n"
                 "exits 255 with the cause (\"exec failed: ...\").\n",
  .options = "  -p, --process FILE          the process to run, as runtime-spec Process JSON\n"
             "  -t, --tty                   allocate a pseudo-terminal\n"
             "  -d, --detach                start the process and return at once\n"
             "      --pid-file FILE         write the process's pid to FILE (decimal, no newline)\n"
             "      --console-socket PATH   AF_UNIX socket that receives the pty master\n"
             "      --cwd DIR               the working directory in the container\n"
             "  -e, --env KEY=VALUE         set an environment variable (repeatable)\n"
             "  -u, --user UID[:GID]        run as this user and group\n"
             "  -g, --additional-gids GID   add a supplementary group (repeatable)\n"
             "  -c, --cap CAP               add a capability (repeatable)\n"
             "      --no-new-privs          set no_new_privs\n"
             "      --apparmor PROFILE      the AppArmor profile of the process\n"
             "      --process-label LABEL   the SELinux label of the process\n"
             "      --preserve-fds N        pass fds 3 .. 3+N-1 on to the process (default: 0)\n"
             "      --ignore-paused         exec even when the container is paused\n",
  .shortopts = "p:tde:u:g:c:h",
  .longopts = longopts,
};

typedef struct exec_args
{
  isolazi_exec_options_t o;
  char **env;
  size_t env_len;
  char **caps;
  size_t caps_len;
  uint32_t *gids;
  size_t gids_len;
  char *pid_file; /* absolute copies */
  char *console_socket;
  char *process;
} exec_args_t;

static void
exec_args_release(exec_args_t *a)
{
  free(a->env);
  free(a->caps);
  free(a->gids);
  free(a->pid_file);
  free(a->console_socket);
  free(a->process);
}

static void
push(char ***v, size_t *len, char *s)
{
  *v = xrealloc(*v, (*len + 1) * sizeof(char *));
  (*v)[(*len)++] = s;
}

/* A VM container's exec: the flags that describe the process; those about namespaces, LSMs and
 * capabilities mean nothing in a guest of its own. */
static int
vm_exec(const cli_context_t *ctx, const isolazi_exec_options_t *o, int *ret_status, isolazi_error_t *err)
{
  isolazi_vm_exec_options_t vo = { 0 };
  isolazi_vm_global_t vg;
  char **gids = xcalloc(o->additional_gids_len + 1, sizeof *gids);
  size_t i;
  int r;

  for (i = 0; i < o->additional_gids_len; i++)
    gids[i] = xasprintf("%u", o->additional_gids[i]);
  vo.id = o->id;
  vo.process_file = o->process_path;
  vo.args = (char **)o->args;
  vo.args_len = o->args_len;
  vo.env = (char **)o->env;
  vo.env_len = o->env_len;
  vo.cwd = o->cwd;
  vo.user = o->user;
  vo.additional_gids = gids;
  vo.additional_gids_len = o->additional_gids_len;
  vo.tty = o->tty;
  vo.detach = o->detach;
  vo.pid_file = o->pid_file;
  vo.console_socket = o->console_socket;
  cli_vm_global(ctx, &vg);
  r = isolazi_vm_exec(&vg, &vo, ret_status, err);
  for (i = 0; i < o->additional_gids_len; i++)
    free(gids[i]);
  free(gids);
  return r;
}

static int
abs_flag(const char *name, const char *value, char **ret, isolazi_error_t *err)
{
  free(*ret);
  *ret = isolazi_abspath(value, err);
  if (*ret == NULL)
    return isolazi_error_wrap(err, "--%s", name);
  return 0;
}

/* runc's exec reports every failure as "exec failed: ..." with status 255. */
static int
exec_fail(isolazi_error_t *err)
{
  isolazi_error_wrap(err, "exec failed");
  cli_fail(err);
  return 255;
}

int
cli_exec(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  exec_args_t a;
  bool first = true;
  int c, r, status = 0;
  unsigned int v;

  memset(&a, 0, sizeof a);
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    {
      switch (c)
        {
        case 'p':
          r = abs_flag("process", optarg, &a.process, &err);
          break;
        case 't':
          a.o.tty = true;
          r = 0;
          break;
        case 'd':
          a.o.detach = true;
          r = 0;
          break;
        case 'e':
          push(&a.env, &a.env_len, optarg);
          r = 0;
          break;
        case 'c':
          push(&a.caps, &a.caps_len, optarg);
          r = 0;
          break;
        case 'u':
          a.o.user = optarg;
          r = 0;
          break;
        case 'g':
          r = cli_parse_uint("additional-gids", optarg, &v, &err);
          if (r == 0)
            {
              a.gids = xrealloc(a.gids, (a.gids_len + 1) * sizeof(uint32_t));
              a.gids[a.gids_len++] = v;
            }
          break;
        case OPT_CWD:
          a.o.cwd = optarg;
          r = 0;
          break;
        case OPT_PID_FILE:
          r = abs_flag("pid-file", optarg, &a.pid_file, &err);
          break;
        case OPT_CONSOLE_SOCKET:
          r = abs_flag("console-socket", optarg, &a.console_socket, &err);
          break;
        case OPT_PROCESS_LABEL:
          a.o.process_label = optarg;
          r = 0;
          break;
        case OPT_APPARMOR:
          a.o.apparmor = optarg;
          r = 0;
          break;
        case OPT_NO_NEW_PRIVS:
          a.o.no_new_privs = true;
          r = 0;
          break;
        case OPT_PRESERVE_FDS:
          r = cli_parse_uint("preserve-fds", optarg, &a.o.preserve_fds, &err);
          break;
        case OPT_IGNORE_PAUSED:
          a.o.ignore_paused = true;
          r = 0;
          break;
        case CLI_EXIT_OK:
          exec_args_release(&a);
          return 0;
        default:
          exec_args_release(&a);
          return 1;
        }
      if (r < 0)
        {
          exec_args_release(&a);
          return cli_fail(&err);
        }
    }
  if (cli_check_args(&verb, argc, argv, a.process != NULL ? 1 : 2, a.process != NULL ? 1 : -1) != 0)
    {
      exec_args_release(&a);
      return 1;
    }
  a.o.id = argv[optind];
  a.o.process_path = a.process;
  a.o.args = argv + optind + 1;
  a.o.args_len = (size_t)(argc - optind - 1);
  a.o.env = a.env;
  a.o.env_len = a.env_len;
  a.o.caps = a.caps;
  a.o.caps_len = a.caps_len;
  a.o.additional_gids = a.gids;
  a.o.additional_gids_len = a.gids_len;
  a.o.pid_file = a.pid_file;
  a.o.console_socket = a.console_socket;
  if (cli_container_is_vm(ctx, a.o.id))
    r = vm_exec(ctx, &a.o, &status, &err);
  else
    r = isolazi_container_exec(&ctx->global, &a.o, &status, &err);
  exec_args_release(&a);
  if (r < 0)
    return exec_fail(&err);
  return a.o.detach ? 0 : status;
}
