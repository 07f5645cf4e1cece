/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "handler.h"
#include "cleanup.h"
#include "control.h"
#include "json.h"
#include "utils.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  OPT_BLKIO_WEIGHT = 1000,
  OPT_CPU_PERIOD,
  OPT_CPU_QUOTA,
  OPT_CPU_SHARE,
  OPT_CPU_RT_PERIOD,
  OPT_CPU_RT_RUNTIME,
  OPT_CPUSET_CPUS,
  OPT_CPUSET_MEMS,
  OPT_KERNEL_MEMORY,
  OPT_KERNEL_MEMORY_TCP,
  OPT_MEMORY,
  OPT_MEMORY_RESERVATION,
  OPT_MEMORY_SWAP,
  OPT_PIDS_LIMIT,
  OPT_L3_CACHE_SCHEMA,
  OPT_MEM_BW_SCHEMA,
  OPT_COUNT
};

static const struct option longopts[] = {
  { "resources", required_argument, NULL, 'r' },
  { "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
  { "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
  { "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
  { "cpu-share", required_argument, NULL, OPT_CPU_SHARE },
  { "cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD },
  { "cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME },
  { "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
  { "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
  { "kernel-memory", required_argument, NULL, OPT_KERNEL_MEMORY },
  { "kernel-memory-tcp", required_argument, NULL, OPT_KERNEL_MEMORY_TCP },
  { "memory", required_argument, NULL, OPT_MEMORY },
  { "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
  { "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
  { "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
  { "l3-cache-schema", required_argument, NULL, OPT_L3_CACHE_SCHEMA },
  { "mem-bw-schema", required_argument, NULL, OPT_MEM_BW_SCHEMA },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "update",
  .args = "[OPTIONS] <container-id>",
  .description = "Change the resource limits of a running container.  Either --resources with a\n"
                 "linux.resources JSON document (a file, or - for stdin), or the flags below; limits not\n"
                 "given keep their values.  Memory sizes take runc's units (64m, 1g, 512k; -1 = unlimited).\n",
  .options = "  -r, --resources FILE        linux.resources JSON from FILE (- for stdin); the flags\n"
             "                              are then ignored\n"
             "      --blkio-weight N        block IO weight (10 to 1000)\n"
             "      --cpu-period N          CPU CFS period in microseconds\n"
             "      --cpu-quota N           CPU CFS quota in microseconds (-1: none)\n"
             "      --cpu-share N           CPU shares (relative weight)\n"
             "      --cpu-rt-period N       realtime period in microseconds\n"
             "      --cpu-rt-runtime N      realtime runtime in microseconds\n"
             "      --cpuset-cpus LIST      CPUs to run on (0-3, 0,1)\n"
             "      --cpuset-mems LIST      memory nodes to use (0-3, 0,1)\n"
             "      --kernel-memory SIZE    accepted and ignored (Linux 5.16 stopped enforcing it)\n"
             "      --kernel-memory-tcp SIZE  kernel TCP buffer memory limit\n"
             "      --memory SIZE           memory limit\n"
             "      --memory-reservation SIZE  memory soft limit\n"
             "      --memory-swap SIZE      memory+swap limit (-1: unlimited)\n"
             "      --pids-limit N          maximum number of processes (-1: unlimited)\n"
             "      --l3-cache-schema S, --mem-bw-schema S\n"
             "                              Intel RDT: not supported by this build\n",
  .shortopts = "r:h",
  .longopts = longopts,
};

/* runc's units.RAMInBytes: a decimal number, an optional space, then an optional binary unit
 * k, m, g, t or p (any case) with optional "i" and "b" ("64m", "1.5GiB", "512 kb", "100"). */
static int
parse_ram(const char *s, int64_t *ret)
{
  static const char units[] = "kmgtp";
  const char *p = s;
  char *end = NULL;
  double v, mult = 1;

  if (!isdigit((unsigned char)*p))
    return -1;
  errno = 0;
  v = strtod(p, &end);
  if (errno != 0 || end == p)
    return -1;
  p = end;
  if (*p == ' ')
    p++;
  if (*p != '\0')
    {
      const char *u = strchr(units, tolower((unsigned char)*p));
      if (u == NULL)
        return -1;
      for (mult = 1024; u > units; u--)
        mult *= 1024;
      p++;
      if (*p == 'i' || *p == 'I')
        p++;
      if (*p == 'b' || *p == 'B')
        p++;
    }
  else if (end[-1] == '.')
    return -1;
  if (*p != '\0' || v * mult >= 9.2e18)
    return -1;
  *ret = (int64_t)(v * mult);
  return 0;
}

static int
parse_i64(const char *s, int64_t *ret)
{
  char *end = NULL;
  long long v;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    return -1;
  *ret = v;
  return 0;
}

static int
parse_u64(const char *s, uint64_t *ret)
{
  char *end = NULL;
  unsigned long long v;

  if (!isdigit((unsigned char)*s))
    return -1;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *ret = v;
  return 0;
}

/* The flags as a linux.resources document: only the given flags appear, so that the rest keep
 * their values. */
static char *
flags_to_json(char *const *val)
{
  static const struct
  {
    int opt;
    const char *key;
  } mem[] = { { OPT_MEMORY, "limit" },
              { OPT_MEMORY_RESERVATION, "reservation" },
              { OPT_MEMORY_SWAP, "swap" },
              { OPT_KERNEL_MEMORY, "kernel" },
              { OPT_KERNEL_MEMORY_TCP, "kernelTCP" } };
  json_gen *g = json_gen_new(false);
  char *out = NULL, *gerr = NULL;
  size_t i;
  bool any;

  json_gen_object_open(g);
  for (any = false, i = 0; i < sizeof mem / sizeof mem[0]; i++)
    if (val[mem[i].opt] != NULL)
      {
        int64_t v = -1;
        if (!any)
          {
            json_gen_key(g, "memory");
            json_gen_object_open(g);
            any = true;
          }
        if (strcmp(val[mem[i].opt], "-1") != 0)
          (void)parse_ram(val[mem[i].opt], &v);
        json_gen_key(g, mem[i].key);
        json_gen_int64(g, v);
      }
  if (any)
    json_gen_object_close(g);
  {
    static const struct
    {
      int opt;
      const char *key;
      bool is_signed, is_string;
    } cpu[] = { { OPT_CPU_SHARE, "shares", false, false },
                { OPT_CPU_QUOTA, "quota", true, false },
                { OPT_CPU_PERIOD, "period", false, false },
                { OPT_CPU_RT_RUNTIME, "realtimeRuntime", true, false },
                { OPT_CPU_RT_PERIOD, "realtimePeriod", false, false },
                { OPT_CPUSET_CPUS, "cpus", false, true },
                { OPT_CPUSET_MEMS, "mems", false, true } };
    for (any = false, i = 0; i < sizeof cpu / sizeof cpu[0]; i++)
      if (val[cpu[i].opt] != NULL)
        {
          if (!any)
            {
              json_gen_key(g, "cpu");
              json_gen_object_open(g);
              any = true;
            }
          json_gen_key(g, cpu[i].key);
          if (cpu[i].is_string)
            json_gen_string(g, val[cpu[i].opt]);
          else if (cpu[i].is_signed)
            {
              int64_t v = 0;
              (void)parse_i64(val[cpu[i].opt], &v);
              json_gen_int64(g, v);
            }
          else
            {
              uint64_t v = 0;
              (void)parse_u64(val[cpu[i].opt], &v);
              json_gen_uint64(g, v);
            }
        }
    if (any)
      json_gen_object_close(g);
  }
  if (val[OPT_PIDS_LIMIT] != NULL)
    {
      int64_t v = 0;
      (void)parse_i64(val[OPT_PIDS_LIMIT], &v);
      json_gen_key(g, "pids");
      json_gen_object_open(g);
      json_gen_key(g, "limit");
      json_gen_int64(g, v);
      json_gen_object_close(g);
    }
  if (val[OPT_BLKIO_WEIGHT] != NULL)
    {
      uint64_t v = 0;
      (void)parse_u64(val[OPT_BLKIO_WEIGHT], &v);
      json_gen_key(g, "blockIO");
      json_gen_object_open(g);
      json_gen_key(g, "weight");
      json_gen_uint64(g, v);
      json_gen_object_close(g);
    }
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, NULL, &gerr) < 0)
    {
      free(gerr);
      out = NULL;
    }
  json_gen_free(g);
  return out;
}

/* Check every flag's value before anything is applied: runc's messages. */
static int
check_flag(int opt, const char *name, const char *v, isolazi_error_t *err)
{
  int64_t i;
  uint64_t u;

  switch (opt)
    {
    case OPT_MEMORY:
    case OPT_MEMORY_RESERVATION:
    case OPT_MEMORY_SWAP:
    case OPT_KERNEL_MEMORY:
    case OPT_KERNEL_MEMORY_TCP:
      if (strcmp(v, "-1") != 0 && parse_ram(v, &i) < 0)
        return isolazi_error_set(err, 0, "invalid value for %s: invalid size: '%s'", name, v);
      return 0;
    case OPT_CPU_QUOTA:
    case OPT_CPU_RT_RUNTIME:
    case OPT_PIDS_LIMIT:
      if (parse_i64(v, &i) < 0)
        return isolazi_error_set(err, 0, "invalid value for %s: `%s` is not an integer", name, v);
      return 0;
    case OPT_CPU_SHARE:
    case OPT_CPU_PERIOD:
    case OPT_CPU_RT_PERIOD:
      if (parse_u64(v, &u) < 0)
        return isolazi_error_set(err, 0, "invalid value for %s: `%s` is not an unsigned integer", name, v);
      return 0;
    case OPT_BLKIO_WEIGHT:
      if (parse_u64(v, &u) < 0 || u > 65535)
        return isolazi_error_set(err, 0, "invalid value for %s: `%s` is not an unsigned 16-bit integer", name, v);
      return 0;
    default:
      return 0;
    }
}

static int
read_resources(const char *path, char **ret, size_t *ret_len, isolazi_error_t *err)
{
  if (strcmp(path, "-") == 0)
    {
      size_t len = 0, cap = 0;
      char *buf = NULL;
      ssize_t r;
      for (;;)
        {
          if (cap - len < 4096)
            buf = xrealloc(buf, cap = cap * 2 + 4096);
          r = read(0, buf + len, cap - len - 1);
          if (r < 0 && errno == EINTR)
            continue;
          if (r < 0)
            {
              free(buf);
              return isolazi_error_errno(err, "read the resources from stdin");
            }
          if (r == 0)
            break;
          len += (size_t)r;
        }
      buf[len] = '\0';
      *ret = buf;
      *ret_len = len;
      return 0;
    }
  return isolazi_read_file(path, ret, ret_len, err);
}

int
cli_update(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *val[OPT_COUNT] = { NULL };
  const char *resources = NULL;
  cleanup_free char *json = NULL;
  bool first = true;
  size_t len = 0, i;
  int c;

  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'r':
        resources = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      case CLI_EXIT_ERROR:
        return 1;
      default:
        if (c >= OPT_BLKIO_WEIGHT && c < OPT_COUNT)
          {
            for (i = 0; longopts[i].name != NULL; i++)
              if (longopts[i].val == c)
                break;
            if (check_flag(c, longopts[i].name, optarg, &err) < 0)
              return cli_fail(&err);
            val[c] = optarg;
            break;
          }
        return 1;
      }
  if (cli_check_args(&verb, argc, argv, 1, 1) != 0)
    return 1;
  /* No Intel RDT support: refuse rather than pretend (runc's wording when it is absent). */
  if (val[OPT_L3_CACHE_SCHEMA] != NULL && val[OPT_L3_CACHE_SCHEMA][0] != '\0')
    {
      isolazi_error_set(&err, 0, "Intel RDT/CAT: l3 cache schema is not enabled (intelRdt is not supported)");
      return cli_fail(&err);
    }
  if (val[OPT_MEM_BW_SCHEMA] != NULL && val[OPT_MEM_BW_SCHEMA][0] != '\0')
    {
      isolazi_error_set(&err, 0, "Intel RDT/MBA: memory bandwidth schema is not enabled (intelRdt is not supported)");
      return cli_fail(&err);
    }
  if (resources != NULL)
    {
      if (read_resources(resources, &json, &len, &err) < 0)
        return cli_fail(&err);
    }
  else
    {
      json = flags_to_json(val);
      if (json == NULL)
        abort();
      len = strlen(json);
    }
  if (cli_container_is_vm(ctx, argv[optind]))
    {
      isolazi_vm_global_t vg;
      cli_vm_global(ctx, &vg);
      return isolazi_vm_update(&vg, argv[optind], &err) < 0 ? cli_fail(&err) : 0;
    }
  if (isolazi_container_update(&ctx->global, argv[optind],
                               resources == NULL             ? "flags"
                               : strcmp(resources, "-") == 0 ? "stdin"
                                                             : resources,
                               json, len, &err)
      < 0)
    return cli_fail(&err);
  return 0;
}
