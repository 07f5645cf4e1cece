/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "control.h"

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "pause",
  .args = "<container-id>",
  .description = "Suspend every process of a container with the cgroup freezer (v1 freezer.state, or\n"
                 "cgroup.freeze on cgroup v2).  `state` then reports \"paused\".\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_pause(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int r = cli_parse_id_only(&verb, argc, argv);

  if (r != CLI_DONE)
    return r;
  if (isolazi_container_pause(&ctx->global, argv[optind], &err) < 0)
    return cli_fail(&err);
  return 0;
}
