/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "start",
  .args = "<container-id>",
  .description = "Run the process of a created VM container; return once it was exec'd in the guest.\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
vmcli_start(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int r = cli_parse_id_only(&verb, argc, argv);

  (void)ctx;
  if (r != CLI_DONE)
    return r;
  if (isolazi_vm_start(&vmcli_global, argv[optind], &err) < 0)
    return cli_fail(&err);
  return 0;
}
