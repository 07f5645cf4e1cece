/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"

static const struct option longopts[] = {
  CLI_CREATE_LONGOPTS,
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "create",
  .args = "[OPTIONS] <container-id>",
  .description = "Boot a microVM for a bundle and prepare its process, which waits for `start`.  The pid\n"
                 "file names the VM's monitor: it relays the process's stdio (this command's fds 0-2, or a\n"
                 "pty sent to --console-socket) and exits with the process's status.\n",
  .options = "  -b, --bundle DIR            the bundle directory (default: the current directory)\n"
             "      --pid-file FILE         write the monitor's pid to FILE (decimal, no newline)\n"
             "      --console-socket PATH   AF_UNIX socket that receives the pty master\n"
             "      --no-pivot, --no-new-keyring, --preserve-fds N\n"
             "                              accepted for runc compatibility; no effect in a VM\n",
  .shortopts = "b:h",
  .longopts = longopts,
};

int
vmcli_create(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cli_create_args_t a;
  int r;

  (void)ctx;
  r = cli_create_args_parse(&verb, argc, argv, &a);
  if (r != CLI_DONE)
    return r;
  r = isolazi_vm_create(&vmcli_global, &a.o, &err);
  cli_create_args_release(&a);
  if (r < 0)
    return cli_fail(&err);
  return 0;
}
