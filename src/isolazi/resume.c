/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "control.h"

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "resume",
  .args = "<container-id>",
  .description = "Resume the processes of a paused container.\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_resume(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int r = cli_parse_id_only(&verb, argc, argv);

  if (r != CLI_DONE)
    return r;
  if (isolazi_container_resume(&ctx->global, argv[optind], &err) < 0)
    return cli_fail(&err);
  return 0;
}
