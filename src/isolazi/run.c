/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"

static const struct option longopts[] = {
  { "detach", no_argument, NULL, 'd' },
  CLI_CREATE_LONGOPTS,
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "run",
  .args = "[OPTIONS] <container-id>",
  .description = "Create a container from a bundle and start it (`isolazi create` then `isolazi start`).\n"
                 "Without --detach, isolazi waits for the container, forwards the signals it receives to it,\n"
                 "deletes it when it exits, and exits with its status (128+N when killed by signal N).\n",
  .options = "  -b, --bundle DIR            the bundle directory (default: the current directory)\n"
             "  -d, --detach                start the container and return at once\n"
             "      --pid-file FILE         write the init's pid to FILE (decimal, no newline)\n"
             "      --console-socket PATH   AF_UNIX socket that receives the pty master\n"
             "      --no-pivot              use MS_MOVE and chroot instead of pivot_root\n"
             "      --no-new-keyring        keep the caller's session keyring\n"
             "      --preserve-fds N        pass fds 3 .. 3+N-1 on to the container (default: 0)\n",
  .shortopts = "b:dh",
  .longopts = longopts,
};

int
cli_run(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cli_create_args_t a;
  int r, status = 0;
  bool detach;

  r = cli_create_args_parse(&verb, argc, argv, &a);
  if (r != CLI_DONE)
    return r;
  detach = a.o.detach;
  if (cli_bundle_is_vm(a.o.bundle))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      r = isolazi_vm_run(&vg, &a.o, &status, &err);
    }
  else
    r = isolazi_container_run(&ctx->global, &a.o, &status, &err);
  cli_create_args_release(&a);
  if (r < 0)
    return cli_fail(&err);
  return detach ? 0 : status;
}
