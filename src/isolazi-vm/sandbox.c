/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox`: the subcommand table, and create, list, info, stop, start, destroy. */
#include "config.h"
#include "sandboxcli.h"
#include "vmcli.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

isolazi_sandbox_ctx_t sbcli_ctx;

typedef struct sub
{
  const char *name, *summary;
  int (*handler)(int argc, char **argv);
} sub_t;

static const sub_t subs[] = {
  { "create", "create a sandbox from a preset or a bundle and boot it", sbcli_create },
  { "list", "list the sandboxes (and reap those whose VM died)", sbcli_list },
  { "info", "print a sandbox's state, processes and snapshot tree as JSON", sbcli_info },
  { "exec", "run a command in a sandbox (or in every running one with --all)", sbcli_exec },
  { "write", "write stdin to a file inside a sandbox", sbcli_write },
  { "read", "print a file from inside a sandbox", sbcli_read },
  { "upload", "copy a file from the files root into a sandbox", sbcli_upload },
  { "download", "copy a file from a sandbox into the files root", sbcli_download },
  { "snapshot", "snapshot a sandbox's disk, or list its snapshots", sbcli_snapshot },
  { "restore", "put a sandbox's disk back to a snapshot", sbcli_restore },
  { "fork", "create a sandbox from another's snapshot", sbcli_fork },
  { "stop", "shut a sandbox's VM down (its disk stays)", sbcli_stop },
  { "start", "boot a stopped sandbox on its disk", sbcli_start },
  { "destroy", "stop a sandbox and remove it with its disk", sbcli_destroy },
  { "policy", "show or set a sandbox's network policy", sbcli_policy },
  { "port-forward", "forward a host port to a sandbox's port, list or remove forwards", sbcli_port_forward },
  { "pool", "configure, fill, drain or show the warm pool", sbcli_pool },
};

static void
usage(void)
{
  size_t i;

  printf("Usage: isolazi-vm sandbox [--sandbox-root DIR] SUBCOMMAND [OPTIONS] [ARGUMENTS]\n\n"
         "Sandboxes are long-lived microVMs with a persistent disk, for agents: create one, run\n"
         "commands and move files in it, snapshot, restore and fork its disk.\n\n"
         "Subcommands:\n");
  for (i = 0; i < sizeof subs / sizeof subs[0]; i++)
    printf("  %-13s %s\n", subs[i].name, subs[i].summary);
  printf("\nOptions:\n"
         "  --sandbox-root DIR   where sandboxes live (default: $ISOLAZI_VM_SANDBOX_ROOT, else\n"
         "                       " ISOLAZI_SANDBOX_DEFAULT_ROOT ")\n"
         "\nRun `isolazi-vm sandbox SUBCOMMAND --help` for the options of a subcommand.\n");
}

int
sbcli_parse_mib(const char *flag, const char *s, unsigned *ret, isolazi_error_t *err)
{
  char *end;
  unsigned long long v;

  errno = 0;
  v = strtoull(s, &end, 10);
  if (end == s || errno != 0)
    goto bad;
  if (*end == 'k' || *end == 'K')
    v /= 1024, end++;
  else if (*end == 'g' || *end == 'G')
    v *= 1024, end++;
  else if (*end == 'm' || *end == 'M')
    end++;
  if (*end != '\0' || v == 0 || v > 1024 * 1024)
    goto bad;
  *ret = (unsigned)v;
  return 0;
bad:
  return isolazi_error_set(err, 0, "invalid value `%s` for `--%s`: expected a size in MiB (or with k/m/g)", s, flag);
}

int
vmcli_sandbox(cli_context_t *ctx, int argc, char **argv)
{
  int i = 1;
  size_t k;

  (void)ctx;
  memset(&sbcli_ctx, 0, sizeof sbcli_ctx);
  sbcli_ctx.vm = &vmcli_global;
  cli_program = "isolazi-vm";
  while (i < argc && argv[i][0] == '-')
    {
      if (strcmp(argv[i], "--sandbox-root") == 0 && i + 1 < argc)
        {
          sbcli_ctx.root = argv[i + 1];
          i += 2;
        }
      else if (strncmp(argv[i], "--sandbox-root=", 15) == 0)
        sbcli_ctx.root = argv[i++] + 15;
      else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
        {
          usage();
          return 0;
        }
      else
        return cli_usage_error("sandbox", "unknown option `%s`", argv[i]);
    }
  if (i >= argc)
    {
      usage();
      return 0;
    }
  /* Hidden: QEMU's per-connection relay for links (sandbox_net.c). */
  if (strcmp(argv[i], "_relay") == 0)
    return sbcli_relay(argc - i, argv + i);
  for (k = 0; k < sizeof subs / sizeof subs[0]; k++)
    if (strcmp(subs[k].name, argv[i]) == 0)
      return subs[k].handler(argc - i, argv + i);
  return cli_usage_error("sandbox", "unknown subcommand `%s`", argv[i]);
}

/* ---- create -------------------------------------------------------------------------------- */

enum
{
  OPT_PRESET = 1000,
  OPT_BUNDLE,
  OPT_IMAGE,
  OPT_CPUS,
  OPT_MEMORY,
  OPT_DISK,
  OPT_NETWORK,
  OPT_PUBLISH,
  OPT_NO_POOL,
  OPT_JSON,
};

static const struct option create_longopts[] = {
  { "preset", required_argument, NULL, OPT_PRESET },
  { "bundle", required_argument, NULL, OPT_BUNDLE },
  { "image", required_argument, NULL, OPT_IMAGE },
  { "cpus", required_argument, NULL, OPT_CPUS },
  { "memory", required_argument, NULL, OPT_MEMORY },
  { "disk", required_argument, NULL, OPT_DISK },
  { "network", required_argument, NULL, OPT_NETWORK },
  { "publish", required_argument, NULL, 'p' },
  { "no-pool", no_argument, NULL, OPT_NO_POOL },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t create_verb = {
  .name = "sandbox create",
  .args = "[OPTIONS] <name>",
  .description = "Create a sandbox and boot it.  Its disk is a qcow2 layer over an ext4 image of the source,\n"
                 "made once per source.  With no network and no forwards, a warm VM of the same source and\n"
                 "size is taken from the pool when there is one.\n",
  .options = "      --preset NAME         python, node, ruby or go (built by contrib/sandbox-preset.sh)\n"
             "      --bundle DIR          an OCI bundle's rootfs\n"
             "      --image REF           an image reference (unpacked once with isolazi-pull)\n"
             "      --cpus N              vCPUs (default 1)\n"
             "      --memory SIZE         RAM in MiB or with k/m/g (default 256)\n"
             "      --disk SIZE           the disk's size (default 1024 MiB)\n"
             "      --network POLICY      none (default) or internet\n"
             "  -p, --publish HOST:GUEST  forward 127.0.0.1:HOST to the guest's port (repeatable)\n"
             "      --no-pool             boot a new VM even if the pool has one\n",
  .shortopts = "p:h",
  .longopts = create_longopts,
};

int
sbcli_create(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_sandbox_create_options_t o = { 0 };
  cleanup_free isolazi_sandbox_port_t *ports = NULL;
  bool first = true, from_pool = false;
  unsigned v;
  int c;

  while ((c = cli_getopt(&create_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_PRESET:
        o.preset = optarg;
        break;
      case OPT_BUNDLE:
        o.bundle = optarg;
        break;
      case OPT_IMAGE:
        o.image = optarg;
        break;
      case OPT_CPUS:
        if (cli_parse_uint("cpus", optarg, &v, &err) < 0 || v == 0 || v > 64)
          {
            isolazi_error_set(&err, 0, "invalid value `%s` for `--cpus`: expected 1-64", optarg);
            return cli_fail(&err);
          }
        o.cpus = v;
        break;
      case OPT_MEMORY:
        if (sbcli_parse_mib("memory", optarg, &o.memory_mib, &err) < 0)
          return cli_fail(&err);
        break;
      case OPT_DISK:
        if (sbcli_parse_mib("disk", optarg, &o.disk_mib, &err) < 0)
          return cli_fail(&err);
        break;
      case OPT_NETWORK:
        o.network = optarg;
        break;
      case 'p':
        ports = xrealloc(ports, (o.ports_len + 1) * sizeof *ports);
        if (isolazi_sandbox_port_parse(optarg, &ports[o.ports_len], &err) < 0)
          return cli_fail(&err);
        o.ports_len++;
        break;
      case OPT_NO_POOL:
        o.no_pool = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&create_verb, argc, argv, 1, 1) < 0)
    return 1;
  o.name = argv[optind];
  o.ports = ports;
  if (isolazi_sandbox_create(&sbcli_ctx, &o, &from_pool, &err) < 0)
    return cli_fail(&err);
  printf("%s%s\n", o.name, from_pool ? " (from the warm pool)" : "");
  return 0;
}

/* ---- list, info ---------------------------------------------------------------------------- */

static const struct option json_longopts[] = {
  { "json", no_argument, NULL, OPT_JSON },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t list_verb = {
  .name = "sandbox list",
  .args = "[OPTIONS]",
  .description = "List the sandboxes.  A sandbox whose VM died (its daemon or QEMU was killed) is marked\n"
                 "stopped, with a note on stderr; `start` boots it again on its disk.\n",
  .options = "      --json    one JSON array\n"
             "  -q, --quiet   names only\n",
  .shortopts = "qh",
  .longopts = json_longopts,
};

int
sbcli_list(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_sandbox_summary_t *s = NULL;
  bool first = true, json = false, quiet = false;
  size_t n = 0, i;
  int c;

  while ((c = cli_getopt(&list_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_JSON:
        json = true;
        break;
      case 'q':
        quiet = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&list_verb, argc, argv, 0, 0) < 0)
    return 1;
  if (isolazi_sandbox_list(&sbcli_ctx, &s, &n, &err) < 0)
    return cli_fail(&err);
  for (i = 0; i < n; i++)
    if (s[i].reaped != NULL)
      fprintf(stderr, "isolazi-vm: sandbox `%s`: %s; reaped, now stopped\n", s[i].name, s[i].reaped);
  if (json)
    {
      printf("[");
      for (i = 0; i < n; i++)
        printf("%s\n  {\"name\": \"%s\", \"status\": \"%s\", \"source\": \"%s\", \"cpus\": %u, \"memory_mib\": %u, "
               "\"network\": \"%s\", \"snapshots\": %zu}",
               i ? "," : "", s[i].name, s[i].status, s[i].image, s[i].cpus, s[i].memory_mib, s[i].network,
               s[i].snapshots);
      printf("%s]\n", n ? "\n" : "");
    }
  else if (quiet)
    for (i = 0; i < n; i++)
      printf("%s\n", s[i].name);
  else
    {
      printf("%-20s %-8s %-28s %4s %7s %-8s %s\n", "NAME", "STATUS", "SOURCE", "CPUS", "MEMORY", "NETWORK",
             "SNAPSHOTS");
      for (i = 0; i < n; i++)
        printf("%-20s %-8s %-28s %4u %6uM %-8s %zu\n", s[i].name, s[i].status, s[i].image, s[i].cpus, s[i].memory_mib,
               s[i].network, s[i].snapshots);
    }
  isolazi_sandbox_summaries_free(s, n);
  return 0;
}

static const struct option help_longopts[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

/* The subcommands that take one sandbox name and no flags. */
static int
name_only(const cli_verb_t *verb, int argc, char **argv, const char **ret)
{
  bool first = true;
  int c;

  while ((c = cli_getopt(verb, argc, argv, &first)) != CLI_DONE)
    return c == CLI_EXIT_OK ? 0 : 1;
  if (cli_check_args(verb, argc, argv, 1, 1) < 0)
    return 1;
  *ret = argv[optind];
  return -1;
}

static const cli_verb_t info_verb = { .name = "sandbox info",
                                      .args = "<name>",
                                      .description = "Print a sandbox's state as JSON: status (and why it stopped), "
                                                     "source, size, network,\nport forwards, snapshot tree, "
                                                     "processes.\n",
                                      .shortopts = "h",
                                      .longopts = help_longopts };

int
sbcli_info(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *json = NULL;
  const char *name = NULL;
  int r = name_only(&info_verb, argc, argv, &name);

  if (r >= 0)
    return r;
  json = isolazi_sandbox_info_json(&sbcli_ctx, name, &err);
  if (json == NULL)
    return cli_fail(&err);
  printf("%s\n", json);
  return 0;
}

static const cli_verb_t stop_verb = { .name = "sandbox stop",
                                      .args = "<name>",
                                      .description = "Shut the sandbox's VM down after syncing its file system.  "
                                                     "The disk stays; `start`\nboots it again.\n",
                                      .shortopts = "h",
                                      .longopts = help_longopts };
static const cli_verb_t start_verb = { .name = "sandbox start",
                                       .args = "<name>",
                                       .description = "Boot a stopped sandbox on its disk.\n",
                                       .shortopts = "h",
                                       .longopts = help_longopts };
static const cli_verb_t destroy_verb = { .name = "sandbox destroy",
                                         .args = "<name>",
                                         .description = "Stop the sandbox and remove it, its snapshots and the disk "
                                                        "layers no fork needs.\n",
                                         .shortopts = "h",
                                         .longopts = help_longopts };

int
sbcli_stop(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *name = NULL;
  int r = name_only(&stop_verb, argc, argv, &name);

  if (r >= 0)
    return r;
  return isolazi_sandbox_stop(&sbcli_ctx, name, &err) < 0 ? cli_fail(&err) : 0;
}

int
sbcli_start(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *name = NULL;
  int r = name_only(&start_verb, argc, argv, &name);

  if (r >= 0)
    return r;
  return isolazi_sandbox_start(&sbcli_ctx, name, &err) < 0 ? cli_fail(&err) : 0;
}

int
sbcli_destroy(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *name = NULL;
  int r = name_only(&destroy_verb, argc, argv, &name);

  if (r >= 0)
    return r;
  return isolazi_sandbox_destroy(&sbcli_ctx, name, &err) < 0 ? cli_fail(&err) : 0;
}
