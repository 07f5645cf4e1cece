/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"

#include <stdio.h>

static const struct option longopts[] = {
  CLI_PULL_LONGOPTS,
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "pull",
  .args = "[OPTIONS] REF",
  .description = "Download an image into the store: its manifest (the host's platform from a multi-platform\n"
                 "image), its config and its layers, each verified against its digest.  REF is a reference\n"
                 "as docker writes it: `alpine` (docker.io/library/alpine:latest), `alpine:3.19`,\n"
                 "`localhost:5000/x:y`, `ghcr.io/o/r@sha256:...`.  A cut download is resumed by the next\n"
                 "pull.  Prints the manifest digest on stdout.\n",
  .options = CLI_PULL_OPTIONS,
  .shortopts = "qh",
  .longopts = longopts,
};

int
cli_pull(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_image_t img = { 0 };
  isolazi_store_t *s = NULL;
  cli_pull_args_t a;
  bool first = true;
  int c, r;

  cli_pull_args_init(&a);
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    {
      if (c == CLI_EXIT_OK || c == CLI_EXIT_ERROR)
        {
          cli_pull_args_release(&a);
          return c == CLI_EXIT_OK ? 0 : CLI_EXIT_USAGE;
        }
      r = cli_pull_args_flag(verb.name, &a, c, optarg);
      if (r != 0)
        {
          cli_pull_args_release(&a);
          return r == CLI_EXIT_ERROR ? CLI_EXIT_USAGE : cli_usage_error(verb.name, "unexpected option `%c`", c);
        }
    }
  if (cli_check_args(&verb, argc, argv, 1, 1, "an image reference") != 0)
    {
      cli_pull_args_release(&a);
      return CLI_EXIT_USAGE;
    }

  if (cli_open_store(ctx, &s, &err) < 0 || cli_pull_image(s, argv[optind], &a, &img, &err) < 0)
    {
      isolazi_store_close(s);
      cli_pull_args_release(&a);
      return cli_fail(&err);
    }
  printf("%s\n", img.manifest_digest);
  isolazi_store_image_release(&img);
  isolazi_store_close(s);
  cli_pull_args_release(&a);
  return 0;
}
