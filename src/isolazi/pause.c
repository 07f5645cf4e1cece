/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "control.h"

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "pause",
  .args = "<container-id>",
  .description = "Suspend every process of a container with the cgroup freezer (v1 freezer.state, or\n"
                 "cgroup.freeze on cgroup v2); for a VM, stop the guest's vCPUs.  `state` then reports\n"
                 "\"paused\".\n",
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
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      r = isolazi_vm_pause(&vg, argv[optind], &err);
    }
  else
    r = isolazi_container_pause(&ctx->global, argv[optind], &err);
  if (r < 0)
    return cli_fail(&err);
  return 0;
}
