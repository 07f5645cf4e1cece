/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "rm",
  .args = "REF...",
  .description = "Remove image names from the store.  Their blobs and unpacked layers stay until\n"
                 "`isolazi-pull prune`, which deletes what no image and no live bundle uses.  Every REF is\n"
                 "tried; the exit status is 1 if any was not found.\n",
  .options = NULL,
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_rm(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_t *s = NULL;
  int c, i, r = 0;

  if ((c = cli_parse_no_flags(&verb, argc, argv, 1, -1, "at least one image reference")) != CLI_DONE)
    return c;
  if (cli_open_store(ctx, &s, &err) < 0)
    return cli_fail(&err);
  for (i = optind; i < argc; i++)
    {
      isolazi_store_image_t img = { 0 };
      if (isolazi_image_lookup(s, argv[i], &img, &err) < 0 || isolazi_store_untag(s, img.name, &err) < 0)
        r = cli_fail(&err);
      else
        printf("%s\n", img.name);
      isolazi_store_image_release(&img);
    }
  isolazi_store_close(s);
  return r;
}
