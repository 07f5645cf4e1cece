/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "cleanup.h"
#include "utils.h"

#include <stdio.h>
#include <string.h>

static const struct option longopts[] = {
  { "format", required_argument, NULL, 'f' },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "list",
  .args = "[OPTIONS]",
  .description = "List the containers under the state root (--root): a table with the columns ID, PID,\n"
                 "STATUS, BUNDLE, CREATED and OWNER, or their state documents as one JSON array.\n",
  .options = "  -f, --format FORMAT         `table` (default) or `json`\n"
             "  -q, --quiet                 print the container ids only\n",
  .shortopts = "f:qh",
  .longopts = longopts,
};

#define NCOLS 6

/* Align like Go's text/tabwriter as runc configures it (minwidth 12, padding 3): every column
 * but the last is as wide as its widest cell plus 3, and at least 12. */
static void
print_table(const isolazi_container_info_t *list, size_t len)
{
  static const char *const header[NCOLS] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
  cleanup_free char *pids = xcalloc(len ? len : 1, 24);
  size_t width[NCOLS], i, col;

  for (col = 0; col < NCOLS; col++)
    width[col] = strlen(header[col]);
  for (i = 0; i < len; i++)
    {
      const char *cells[NCOLS];
      snprintf(pids + i * 24, 24, "%d", (int)list[i].pid);
      cells[0] = list[i].id;
      cells[1] = pids + i * 24;
      cells[2] = list[i].status;
      cells[3] = list[i].bundle;
      cells[4] = list[i].created;
      cells[5] = list[i].owner;
      for (col = 0; col < NCOLS; col++)
        if (cells[col] != NULL && strlen(cells[col]) > width[col])
          width[col] = strlen(cells[col]);
    }
  for (col = 0; col < NCOLS; col++)
    width[col] = width[col] + 3 < 12 ? 12 : width[col] + 3;

  for (col = 0; col < NCOLS; col++)
    printf(col + 1 < NCOLS ? "%-*s" : "%.*s\n", (int)width[col], header[col]);
  for (i = 0; i < len; i++)
    {
      const char *cells[NCOLS]
          = { list[i].id, pids + i * 24, list[i].status, list[i].bundle, list[i].created, list[i].owner };
      for (col = 0; col < NCOLS; col++)
        {
          const char *cell = cells[col] != NULL ? cells[col] : "";
          if (col + 1 < NCOLS)
            printf("%-*s", (int)width[col], cell);
          else
            printf("%s\n", cell);
        }
    }
}

int
cli_list(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_container_info_t *list = NULL;
  const char *format = "table";
  bool first = true, quiet = false;
  size_t len = 0, i;
  int c;

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
        return 1;
      }
  if (cli_check_args(&verb, argc, argv, 0, 0) != 0)
    return 1;
  if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
    return cli_usage_error(verb.name, "invalid value `%s` for `--format`: expected `table` or `json`", format);

  if (isolazi_container_list(&ctx->global, &list, &len, &err) < 0)
    return cli_fail(&err);
  /* A VM's guest stopped by `pause` is "paused" (the core knows only cgroup freezers). */
  isolazi_vm_list_fix(&ctx->global, list, len);

  if (quiet)
    for (i = 0; i < len; i++)
      printf("%s\n", list[i].id);
  else if (strcmp(format, "json") == 0)
    {
      /* An empty list is `[]` (runc prints `null`): both decode to an empty slice in Go. */
      putchar('[');
      for (i = 0; i < len; i++)
        printf("%s%s", i > 0 ? "," : "", list[i].state_json != NULL ? list[i].state_json : "null");
      printf("]\n");
    }
  else
    print_table(list, len);
  isolazi_container_info_free(list, len);
  return fflush(stdout) == 0 ? 0 : 1;
}
