/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"

static const struct option longopts[] = {
  { "all", no_argument, NULL, 'a' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "kill",
  .args = "[OPTIONS] <container-id> [SIGNAL]",
  .description = "Send a signal to the process of a VM container (default: SIGTERM).  SIGKILL stops the\n"
                 "whole VM at once.\n",
  .options = "  -a, --all                   send the signal to every process in the guest\n",
  .shortopts = "ah",
  .longopts = longopts,
};

int
vmcli_kill(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool all;
  int r, sig;

  (void)ctx;
  if ((r = cli_parse_kill(&verb, argc, argv, &sig, &all)) != CLI_DONE)
    return r;
  if (isolazi_vm_kill(&vmcli_global, argv[optind], sig, all, &err) < 0)
    return cli_fail(&err);
  return 0;
}
