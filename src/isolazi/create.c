/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "utils.h"

#include <stdlib.h>
#include <string.h>

static const struct option longopts[] = {
  CLI_CREATE_LONGOPTS,
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "create",
  .args = "[OPTIONS] <container-id>",
  .description = "Create a container from a bundle: a directory holding config.json and the root filesystem\n"
                 "it names.  The container's init process is set up and waits; `isolazi start` runs the user\n"
                 "process.  The init keeps the caller's stdin, stdout and stderr (or the terminal sent to\n"
                 "--console-socket when process.terminal is true).  Nothing is printed on success.\n",
  .options = "  -b, --bundle DIR            the bundle directory (default: the current directory)\n"
             "      --pid-file FILE         write the init's pid to FILE (decimal, no newline)\n"
             "      --console-socket PATH   AF_UNIX socket that receives the pty master\n"
             "      --no-pivot              use MS_MOVE and chroot instead of pivot_root\n"
             "      --no-new-keyring        keep the caller's session keyring\n"
             "      --preserve-fds N        pass fds 3 .. 3+N-1 on to the container (default: 0)\n",
  .shortopts = "b:h",
  .longopts = longopts,
};

static int
set_path(char **slot, const char *value, isolazi_error_t *err)
{
  char *p = isolazi_abspath(value, err);

  if (p == NULL)
    return -1;
  free(*slot);
  *slot = p;
  return 0;
}

static int
create_args_parse(const cli_verb_t *v, int argc, char **argv, cli_create_args_t *a)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool first = true;
  int c, r = 0;

  memset(a, 0, sizeof *a);
  while ((c = cli_getopt(v, argc, argv, &first)) != CLI_DONE)
    {
      switch (c)
        {
        case CLI_EXIT_OK:
        case CLI_EXIT_ERROR:
          return c;
        case 'b':
          r = set_path(&a->bundle, optarg, &err);
          break;
        case 'd':
          a->o.detach = true;
          break;
        case CLI_OPT_PID_FILE:
          r = set_path(&a->pid_file, optarg, &err);
          break;
        case CLI_OPT_CONSOLE_SOCKET:
          r = set_path(&a->console_socket, optarg, &err);
          break;
        case CLI_OPT_NO_PIVOT:
          a->o.no_pivot = true;
          break;
        case CLI_OPT_NO_NEW_KEYRING:
          a->o.no_new_keyring = true;
          break;
        case CLI_OPT_PRESERVE_FDS:
          r = cli_parse_uint("preserve-fds", optarg, &a->o.preserve_fds, &err);
          break;
        default:
          cli_usage_error(v->name, "unexpected option `%c`", c);
          return CLI_EXIT_ERROR;
        }
      if (r < 0)
        {
          cli_fail(&err);
          return CLI_EXIT_ERROR;
        }
    }
  if (cli_check_args(v, argc, argv, 1, 1) != 0)
    return CLI_EXIT_ERROR;
  a->o.id = argv[optind];
  a->o.bundle = a->bundle;
  a->o.pid_file = a->pid_file;
  a->o.console_socket = a->console_socket;
  return 0;
}

void
cli_create_args_release(cli_create_args_t *a)
{
  free(a->bundle);
  free(a->pid_file);
  free(a->console_socket);
  memset(a, 0, sizeof *a);
}

int
cli_create_args_parse(const cli_verb_t *v, int argc, char **argv, cli_create_args_t *a)
{
  int r = create_args_parse(v, argc, argv, a);

  if (r == 0)
    return CLI_DONE;
  cli_create_args_release(a);
  return r == CLI_EXIT_OK ? 0 : 1;
}

int
cli_create(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cli_create_args_t a;
  int r;

  r = cli_create_args_parse(&verb, argc, argv, &a);
  if (r != CLI_DONE)
    return r;
  if (cli_bundle_is_vm(a.o.bundle))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      r = isolazi_vm_create(&vg, &a.o, &err);
    }
  else
    r = isolazi_container_create(&ctx->global, &a.o, &err);
  cli_create_args_release(&a);
  if (r < 0)
    return cli_fail(&err);
  return 0;
}
