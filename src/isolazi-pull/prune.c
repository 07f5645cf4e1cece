/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "prune",
  .args = "",
  .description = "Delete the blobs, unpacked layers and stale partial downloads that no image in the store\n"
                 "and no bundle directory that still exists uses, and print what was freed.\n",
  .options = NULL,
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_prune(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_prune_stats_t st = { 0 };
  isolazi_store_t *s = NULL;
  char size[32];
  int c;

  if ((c = cli_parse_no_flags(&verb, argc, argv, 0, 0, "no arguments")) != CLI_DONE)
    return c;
  if (cli_open_store(ctx, &s, &err) < 0 || isolazi_store_prune(s, &st, &err) < 0)
    {
      isolazi_store_close(s);
      return cli_fail(&err);
    }
  cli_format_size(st.bytes, size);
  printf("removed %lu blobs, %lu layers, %lu partial downloads: %s\n", st.blobs, st.layers, st.partials, size);
  isolazi_store_close(s);
  return 0;
}
