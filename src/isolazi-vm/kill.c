/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"
#include "signals.h"

#include <signal.h>

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
  bool first = true, all = false;
  int c, sig = SIGTERM;

  (void)ctx;
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&verb, argc, argv, 1, 2) != 0)
    return 1;
  if (optind + 1 < argc && isolazi_signal_parse(argv[optind + 1], &sig, &err) < 0)
    return cli_fail(&err);
  if (isolazi_vm_kill(&vmcli_global, argv[optind], sig, all, &err) < 0)
    return cli_fail(&err);
  return 0;
}
