/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "start",
  .args = "<container-id>",
  .description = "Start the user process of a container made by `isolazi create`.  Nothing is printed\n"
                 "on success; the process runs with the stdio the container was created with.\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_start(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int r = cli_parse_id_only(&verb, argc, argv);

  if (r != CLI_DONE)
    return r;
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      r = isolazi_vm_start(&vg, argv[optind], &err);
    }
  else
    r = isolazi_container_start(&ctx->global, argv[optind], &err);
  if (r < 0)
    return cli_fail(&err);
  return 0;
}
