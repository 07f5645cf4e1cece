/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "runtime_features.h"

#include <stdio.h>
#include <stdlib.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "features",
  .args = "",
  .description = "Print what this runtime supports as JSON (runtime-spec features.md): the spec versions,\n"
                 "hooks, mount options, namespaces, capabilities, cgroup drivers, seccomp actions,\n"
                 "operators, architectures and flags, LSMs and mount extensions.\n",
  .options = NULL,
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_features(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool first = true;
  char *json;
  int c;

  (void)ctx;
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    return c == CLI_EXIT_OK ? 0 : 1;
  if (cli_check_args(&verb, argc, argv, 0, 0) != 0)
    return 1;
  json = isolazi_features_json(&err);
  if (json == NULL)
    return cli_fail(&err);
  printf("%s\n", json);
  free(json);
  return fflush(stdout) == 0 ? 0 : 1;
}
