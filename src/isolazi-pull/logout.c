/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "auth.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "authfile", required_argument, NULL, CLI_OPT_AUTHFILE },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "logout",
  .args = "[OPTIONS] REGISTRY",
  .description = "Remove the saved credentials of REGISTRY from the auth file.\n",
  .options = "      --authfile FILE         the auth file (default: as for login)\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_logout(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *auth_file = NULL;
  bool first = true;
  int c;

  (void)ctx;
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case CLI_OPT_AUTHFILE:
        auth_file = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return CLI_EXIT_USAGE;
      }
  if (cli_check_args(&verb, argc, argv, 1, 1, "a registry") != 0)
    return CLI_EXIT_USAGE;
  if (isolazi_auth_remove(argv[optind], auth_file, &err) < 0)
    return cli_fail(&err);
  printf("Removed login credentials for %s\n", argv[optind]);
  return 0;
}
