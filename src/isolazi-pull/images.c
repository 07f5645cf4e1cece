/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct option longopts[] = {
  { "format", required_argument, NULL, 'f' },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "images",
  .args = "[OPTIONS]",
  .description = "List the images in the store: a table with the columns NAME, ID (the start of the manifest\n"
                 "digest), SIZE (the compressed layers) and PULLED, or a JSON array of their records.\n",
  .options = "  -f, --format FORMAT         `table` (default) or `json`\n"
             "  -q, --quiet                 print the image IDs only, once each\n",
  .shortopts = "f:qh",
  .longopts = longopts,
};

static void
short_id(const char *digest, char buf[16])
{
  const char *colon = digest != NULL ? strchr(digest, ':') : NULL;
  snprintf(buf, 16, "%.12s", colon != NULL ? colon + 1 : (digest != NULL ? digest : ""));
}

static int
print_json(const isolazi_store_image_t *imgs, size_t n, isolazi_error_t *err)
{
  json_gen *g = json_gen_new(true);
  cleanup_free char *out = NULL;
  char *msg = NULL;
  size_t i, len;

  json_gen_array_open(g);
  for (i = 0; i < n; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "name");
      json_gen_string(g, imgs[i].name);
      json_gen_key(g, "manifestDigest");
      json_gen_string(g, imgs[i].manifest_digest);
      json_gen_key(g, "indexDigest");
      json_gen_string(g, imgs[i].index_digest);
      json_gen_key(g, "configDigest");
      json_gen_string(g, imgs[i].config_digest);
      json_gen_key(g, "size");
      json_gen_int64(g, imgs[i].size);
      json_gen_key(g, "created");
      json_gen_int64(g, imgs[i].created);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  if (json_gen_finish(g, &out, &len, &msg) < 0)
    {
      json_gen_free(g);
      return isolazi_error_take(err, 0, msg);
    }
  json_gen_free(g);
  printf("%s\n", out);
  return 0;
}

static void
print_table(const isolazi_store_image_t *imgs, size_t n)
{
  size_t i, width = strlen("NAME");

  for (i = 0; i < n; i++)
    if (strlen(imgs[i].name) > width)
      width = strlen(imgs[i].name);
  printf("%-*s   %-12s   %-10s   %s\n", (int)width, "NAME", "ID", "SIZE", "PULLED");
  for (i = 0; i < n; i++)
    {
      char id[16], size[32], when[32];
      time_t t = (time_t)imgs[i].created;
      struct tm tm;

      short_id(imgs[i].manifest_digest, id);
      cli_format_size(imgs[i].size, size);
      if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(when, sizeof when, "?");
      printf("%-*s   %-12s   %-10s   %s\n", (int)width, imgs[i].name, id, size, when);
    }
}

int
cli_images(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_image_t *imgs = NULL;
  isolazi_store_t *s = NULL;
  const char *format = "table";
  bool first = true, quiet = false;
  size_t n = 0, i, j;
  int c, r = 0;

  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'f':
        format = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return CLI_EXIT_USAGE;
      }
  if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
    return cli_usage_error(verb.name, "invalid value `%s` for `--format`: expected `table` or `json`", format);
  if (cli_check_args(&verb, argc, argv, 0, 0, "no arguments") != 0)
    return CLI_EXIT_USAGE;

  if (cli_open_store(ctx, &s, &err) < 0 || isolazi_store_list(s, &imgs, &n, &err) < 0)
    {
      isolazi_store_close(s);
      return cli_fail(&err);
    }
  if (quiet)
    {
      for (i = 0; i < n; i++)
        {
          char id[16];
          for (j = 0; j < i; j++)
            if (strcmp(imgs[j].manifest_digest, imgs[i].manifest_digest) == 0)
              break;
          if (j < i)
            continue;
          short_id(imgs[i].manifest_digest, id);
          printf("%s\n", id);
        }
    }
  else if (strcmp(format, "json") == 0)
    r = print_json(imgs, n, &err) < 0 ? cli_fail(&err) : 0;
  else
    print_table(imgs, n);
  isolazi_store_images_free(imgs, n);
  isolazi_store_close(s);
  return r;
}
