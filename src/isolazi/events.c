/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "control.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  OPT_INTERVAL = 1000,
  OPT_STATS,
};

static const struct option longopts[] = {
  { "interval", required_argument, NULL, OPT_INTERVAL },
  { "stats", no_argument, NULL, OPT_STATS },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "events",
  .args = "[OPTIONS] <container-id>",
  .description = "Print a container's events as JSON lines: its resource statistics every interval\n"
                 "({\"type\":\"stats\",...}) and each OOM kill ({\"type\":\"oom\",...}), until it stops.\n",
  .options = "      --interval DURATION     time between statistics, as 5s, 500ms, 1m30s (default 5s)\n"
             "      --stats                 print the statistics once and exit\n",
  .shortopts = "h",
  .longopts = longopts,
};

/* A Go duration ("1.5s", "1m30s", "250ms") in milliseconds, as runc's --interval takes it. */
static int
parse_duration_ms(const char *s, unsigned long long *ret)
{
  static const struct
  {
    const char *unit;
    double ms;
  } units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 }, { "s", 1e3 }, { "m", 6e4 }, { "h", 3.6e6 } };
  double total = 0;
  const char *p = s;

  if (*p == '\0')
    return -1;
  while (*p)
    {
      char *end = NULL;
      double v;
      size_t i, best = SIZE_MAX, best_len = 0;

      if ((*p < '0' || *p > '9') && *p != '.')
        return -1;
      errno = 0;
      v = strtod(p, &end);
      if (errno != 0 || end == p)
        return -1;
      for (i = 0; i < sizeof units / sizeof units[0]; i++)
        {
          size_t l = strlen(units[i].unit);
          if (strncmp(end, units[i].unit, l) == 0 && l > best_len)
            {
              best = i;
              best_len = l;
            }
        }
      if (best == SIZE_MAX)
        return -1;
      total += v * units[best].ms;
      p = end + best_len;
    }
  if (total > 1e12)
    return -1;
  *ret = (unsigned long long)total;
  return 0;
}

static int
print_line(const char *line, void *data)
{
  (void)data;
  if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
    return -1;
  return 0;
}

int
cli_events(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_events_options_t o = { false, 5000 };
  unsigned long long ms = 5000;
  bool first = true;
  int c;

  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_INTERVAL:
        if (parse_duration_ms(optarg, &ms) < 0)
          return cli_usage_error("events", "invalid value \"%s\" for flag --interval: invalid duration", optarg);
        if (ms == 0)
          return cli_usage_error("events", "duration interval must be greater than 0");
        break;
      case OPT_STATS:
        o.stats_once = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&verb, argc, argv, 1, 1) != 0)
    return 1;
  o.interval_ms = ms > 4000000000ULL ? 4000000000U : (unsigned int)ms;
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      c = isolazi_vm_events(&vg, argv[optind], &o, print_line, NULL, &err);
    }
  else
    c = isolazi_container_events(&ctx->global, argv[optind], &o, print_line, NULL, &err);
  if (c < 0)
    return cli_fail(&err);
  return 0;
}
