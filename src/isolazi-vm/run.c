/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"

static const struct option longopts[] = {
  { "detach", no_argument, NULL, 'd' },
  CLI_CREATE_LONGOPTS,
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "run",
  .args = "[OPTIONS] <container-id>",
  .description = "Create and start a VM container.  Without --detach, wait for its process, forward the\n"
                 "signals received to it, delete the VM when it exits, and exit with its status (128+N when\n"
                 "killed by signal N).  A process with a terminal and no --console-socket uses ours.\n",
  .options = "  -b, --bundle DIR            the bundle directory (default: the current directory)\n"
             "  -d, --detach                start the VM and return at once\n"
             "      --pid-file FILE         write the monitor's pid to FILE (decimal, no newline)\n"
             "      --console-socket PATH   AF_UNIX socket that receives the pty master\n",
  .shortopts = "b:dh",
  .longopts = longopts,
};

int
vmcli_run(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cli_create_args_t a;
  int r, status = 0;
  bool detach;

  (void)ctx;
  r = cli_create_args_parse(&verb, argc, argv, &a);
  if (r != CLI_DONE)
    return r;
  detach = a.o.detach;
  r = isolazi_vm_run(&vmcli_global, &a.o, &status, &err);
  cli_create_args_release(&a);
  if (r < 0)
    return cli_fail(&err);
  return detach ? 0 : status;
}
