/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "vmcli.h"
#include "cleanup.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "features",
  .args = "",
  .description = "Print what this build of isolazi-vm supports, as the runtime-spec's features JSON.\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
vmcli_features(cli_context_t *ctx, int argc, char **argv)
{
  cleanup_free char *json = NULL;
  bool first = true;
  int c;

  (void)ctx;
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    return c == CLI_EXIT_OK ? 0 : 1;
  if (cli_check_args(&verb, argc, argv, 0, 0) != 0)
    return 1;
  json = isolazi_vm_features_json();
  fputs(json, stdout);
  return 0;
}
