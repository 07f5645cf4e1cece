/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "cleanup.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "state",
  .args = "<container-id>",
  .description = "Print the state of a container as a JSON document: ociVersion, id, pid, status\n"
                 "(created, running, paused or stopped), bundle, rootfs, created, annotations, owner.\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_state(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *json = NULL;
  int r = cli_parse_id_only(&verb, argc, argv);

  if (r != CLI_DONE)
    return r;
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      r = isolazi_vm_state(&vg, argv[optind], &json, &err);
    }
  else
    r = isolazi_container_state(&ctx->global, argv[optind], &json, &err);
  if (r < 0)
    return cli_fail(&err);
  printf("%s\n", json);
  return fflush(stdout) == 0 ? 0 : 1;
}
