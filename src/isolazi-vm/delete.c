/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"

static const struct option longopts[] = {
  { "force", no_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "delete",
  .args = "[OPTIONS] <container-id>",
  .description = "Delete a stopped (or created) VM container: stop QEMU and its monitor if they still run,\n"
                 "and remove its state, sockets and rootfs image.\n",
  .options = "  -f, --force                 stop a running VM first; an unknown container is then not\n"
             "                              an error\n",
  .shortopts = "fh",
  .longopts = longopts,
};

int
vmcli_delete(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool force;
  int c;

  (void)ctx;
  if ((c = cli_parse_delete(&verb, argc, argv, &force)) != CLI_DONE)
    return c;
  if (isolazi_vm_delete(&vmcli_global, argv[optind], force, &err) < 0)
    return cli_fail(&err);
  return 0;
}
