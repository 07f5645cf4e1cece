/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox pool config|fill|drain|status`. */
#include "config.h"
#include "sandboxcli.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  OPT_PRESET = 1000,
  OPT_BUNDLE,
  OPT_CPUS,
  OPT_MEMORY,
  OPT_DISK,
  OPT_MIN,
  OPT_MAX,
  OPT_TARGET,
  OPT_BUDGET,
};

static const struct option longopts[] = {
  { "preset", required_argument, NULL, OPT_PRESET },
  { "bundle", required_argument, NULL, OPT_BUNDLE },
  { "cpus", required_argument, NULL, OPT_CPUS },
  { "memory", required_argument, NULL, OPT_MEMORY },
  { "disk", required_argument, NULL, OPT_DISK },
  { "min", required_argument, NULL, OPT_MIN },
  { "max", required_argument, NULL, OPT_MAX },
  { "target", required_argument, NULL, OPT_TARGET },
  { "memory-budget", required_argument, NULL, OPT_BUDGET },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "sandbox pool",
  .args = "config [OPTIONS] | fill | drain | status",
  .description = "The warm pool: booted VMs of one source kept free, so that `create` (with no network and no\n"
                 "forwards, and the same size) takes one instead of booting, and the first exec pays no\n"
                 "boot.  After a take, a background fill boots replacements up to the target.\n"
                 "  config   set the pool's source, size and bounds\n"
                 "  fill     boot VMs until the pool holds its target (waits for them)\n"
                 "  drain    stop and remove every free VM\n"
                 "  status   print the pool's configuration and counts as JSON\n",
  .options = "      --preset NAME | --bundle DIR   the source of the pool's VMs\n"
             "      --cpus N, --memory SIZE, --disk SIZE\n"
             "                             the VMs' size (as `create`'s, default 1, 256 MiB, 1024 MiB)\n"
             "      --min N                never fewer free VMs than this (default 0)\n"
             "      --target N             refill to this many free VMs (default 1)\n"
             "      --max N                never more free VMs than this (default: target)\n"
             "      --memory-budget SIZE   the free VMs' RAM together at most (default: no limit)\n",
  .shortopts = "h",
  .longopts = longopts,
};

int
sbcli_pool(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_sandbox_pool_config_t p = { 0 };
  bool first = true, max_set = false;
  const char *sub;
  unsigned v;
  int c;

  p.target = 1;
  if (argc >= 2 && argv[1][0] != '-')
    {
      sub = argv[1];
      argc--;
      argv++;
    }
  else
    {
      while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
        return c == CLI_EXIT_OK ? 0 : 1;
      return cli_usage_error("sandbox pool", "a subcommand is required: config, fill, drain or status");
    }
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_PRESET:
        p.preset = optarg;
        break;
      case OPT_BUNDLE:
        p.bundle = optarg;
        break;
      case OPT_CPUS:
      case OPT_MIN:
      case OPT_MAX:
      case OPT_TARGET:
        if (cli_parse_uint("count", optarg, &v, &err) < 0)
          return cli_fail(&err);
        if (c == OPT_CPUS)
          p.cpus = v;
        else if (c == OPT_MIN)
          p.min = v;
        else if (c == OPT_MAX)
          p.max = v, max_set = true;
        else
          p.target = v;
        break;
      case OPT_MEMORY:
        if (sbcli_parse_mib("memory", optarg, &p.memory_mib, &err) < 0)
          return cli_fail(&err);
        break;
      case OPT_DISK:
        if (sbcli_parse_mib("disk", optarg, &p.disk_mib, &err) < 0)
          return cli_fail(&err);
        break;
      case OPT_BUDGET:
        if (sbcli_parse_mib("memory-budget", optarg, &p.memory_budget_mib, &err) < 0)
          return cli_fail(&err);
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (optind != argc)
    return cli_usage_error("sandbox pool", "unexpected argument `%s`", argv[optind]);
  if (strcmp(sub, "config") == 0)
    {
      if (!max_set)
        p.max = p.target > p.min ? p.target : p.min;
      return isolazi_sandbox_pool_configure(&sbcli_ctx, &p, &err) < 0 ? cli_fail(&err) : 0;
    }
  if (strcmp(sub, "fill") == 0)
    {
      int n = isolazi_sandbox_pool_fill(&sbcli_ctx, &err);
      if (n < 0)
        return cli_fail(&err);
      printf("booted %d\n", n);
      return 0;
    }
  if (strcmp(sub, "drain") == 0)
    {
      int n = isolazi_sandbox_pool_drain(&sbcli_ctx, &err);
      if (n < 0)
        return cli_fail(&err);
      printf("removed %d\n", n);
      return 0;
    }
  if (strcmp(sub, "status") == 0)
    {
      cleanup_free char *json = isolazi_sandbox_pool_status_json(&sbcli_ctx, &err);
      if (json == NULL)
        return cli_fail(&err);
      printf("%s\n", json);
      return 0;
    }
  return cli_usage_error("sandbox pool", "unknown subcommand `%s`: expected config, fill, drain or status", sub);
}
