/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"

#include <stdio.h>

static const struct option longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "inspect",
  .args = "REF",
  .description = "Print a stored image as one JSON object: its store record (name, digests, size, pull\n"
                 "time), its manifest and its config.  REF is a reference, a manifest digest or a unique\n"
                 "prefix of one (at least 4 hex digits).\n",
  .options = NULL,
  .shortopts = "h",
  .longopts = longopts,
};

int
cli_inspect(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *json = NULL;
  isolazi_store_t *s = NULL;
  int c;

  if ((c = cli_parse_no_flags(&verb, argc, argv, 1, 1, "an image reference")) != CLI_DONE)
    return c;
  if (cli_open_store(ctx, &s, &err) < 0 || isolazi_image_inspect(s, argv[optind], &json, &err) < 0)
    {
      isolazi_store_close(s);
      return cli_fail(&err);
    }
  printf("%s\n", json);
  isolazi_store_close(s);
  return 0;
}
