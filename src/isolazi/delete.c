/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"

static const struct option longopts[] = {
  { "force", no_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "delete",
  .args = "[OPTIONS] <container-id>",
  .description = "Delete a stopped (or created) container and everything it holds: its state, its\n"
                 "cgroup, and the processes left in it.\n",
  .options = "  -f, --force                 kill a running container first (SIGKILL); deleting an\n"
             "                              unknown container is then not an error\n",
  .shortopts = "fh",
  .longopts = longopts,
};

int
cli_delete(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool force;
  int c;

  if ((c = cli_parse_delete(&verb, argc, argv, &force)) != CLI_DONE)
    return c;
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      c = isolazi_vm_delete(&vg, argv[optind], force, &err);
    }
  else
    c = isolazi_container_delete(&ctx->global, argv[optind], force, &err);
  if (c < 0)
    return cli_fail(&err);
  return 0;
}
