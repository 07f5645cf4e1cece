/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "utils.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "rm-bundle",
  .args = "DIR...",
  .description = "Unmount the rootfs of bundles made by `isolazi-pull bundle`, delete their directories\n"
                 "and tell the store that their layers are no longer in use.  A directory that `bundle`\n"
                 "did not make is refused, as is a rootfs still in use by a container (busy).\n",
  .options = NULL,
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_rm_bundle(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_t *s = NULL;
  int c, i, r = 0;

  if ((c = cli_parse_no_flags(&verb, argc, argv, 1, -1, "a bundle directory")) != CLI_DONE)
    return c;
  if (cli_open_store(ctx, &s, &err) < 0)
    return cli_fail(&err);
  for (i = optind; i < argc; i++)
    {
      cleanup_free char *dir = isolazi_abspath(argv[i], &err);
      if (dir == NULL || isolazi_image_bundle_remove(s, dir, &err) < 0)
        r = cli_fail(&err);
    }
  isolazi_store_close(s);
  return r;
}
