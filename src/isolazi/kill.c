/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"

static const struct option longopts[] = {
  { "all", no_argument, NULL, 'a' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "kill",
  .args = "[OPTIONS] <container-id> [SIGNAL]",
  .description = "Send a signal to the init process of a container.  SIGNAL is a name with or without\n"
                 "the SIG prefix in any case (KILL, SIGKILL, sigusr1), RTMIN+N or RTMAX-N, or a number;\n"
                 "the default is SIGTERM.\n",
  .options = "  -a, --all                   send the signal to every process in the container\n",
  .shortopts = "ah",
  .longopts = longopts,
};

int
cli_kill(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool all;
  int c, sig;

  if ((c = cli_parse_kill(&verb, argc, argv, &sig, &all)) != CLI_DONE)
    return c;
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      c = isolazi_vm_kill(&vg, argv[optind], sig, all, &err);
    }
  else
    c = isolazi_container_kill(&ctx->global, argv[optind], sig, all, &err);
  if (c < 0)
    return cli_fail(&err);
  return 0;
}
