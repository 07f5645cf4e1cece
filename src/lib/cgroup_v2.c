/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 driver: resources -> files of the unified hierarchy (with runc 1.1's
 * conversions from the v1-shaped OCI values), controller delegation through
 * cgroup.subtree_control, kill through cgroup.kill / cgroup.freeze. */
#include "config.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F "linux.resources."

uint64_t
cgroup_shares_to_weight(uint64_t shares)
{
  /* runc 1.1: weight = 1 + ((shares - 2) * 9999) / 262142 maps v1's [2, 262144] onto v2's
   * [1, 10000].  The kernel clamps v1 shares to that range; clamp first so that 0/1 do not
   * wrap around (runc's unsigned arithmetic would). */
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t
cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
  /* runc 1.1: blkio.weight [10, 1000] -> io.weight [1, 10000]. */
  if (weight == 0)
    return 0;
  if (weight < 10)
    weight = 10;
  return 1 + (weight - 10) * 9999 / 990;
}

int
cgroup_swap_to_v2(int64_t swap, bool swap_present, int64_t limit, bool limit_present, int64_t *ret, bool *ret_set,
                  isolazi_error_t *err)
{
  /* OCI's swap is v1's memory+swap; memory.swap.max is swap alone (runc's conversion). */
  if (!swap_present)
    swap = 0;
  if (!limit_present)
    limit = 0;
  *ret_set = false;
  /* Unlimited memory and no swap given: unlimited both, like v1. */
  if (limit == -1 && swap == 0)
    {
      *ret = -1;
      *ret_set = true;
      return 0;
    }
  if (swap == 0)
    return 0;
  if (swap == -1)
    {
      *ret = -1;
      *ret_set = true;
      return 0;
    }
  if (limit == 0 || limit == -1)
    return isolazi_error_set(err, EINVAL, F "memory.swap: cannot set a swap limit without a memory limit");
  if (limit < 0 || swap < 0)
    return isolazi_error_set(err, EINVAL, F "memory.swap: invalid value %" PRId64, swap);
  if (swap < limit)
    return isolazi_error_set(err, EINVAL,
                             F "memory.swap: memory+swap limit %" PRId64 " is less than the memory limit %" PRId64,
                             swap, limit);
  *ret = swap - limit;
  *ret_set = true;
  return 0;
}

/* v2 spells unlimited "max". */
static char *
num_or_max(int64_t v)
{
  return v < 0 ? xstrdup("max") : xasprintf("%" PRId64, v);
}

static int
plan_memory(const oci_memory *m, cgroup_writes_t *w, isolazi_error_t *err)
{
  int64_t swap = 0;
  bool swap_set = false;

  if (cgroup_swap_to_v2(m->swap, m->swap_present, m->limit, m->limit_present, &swap, &swap_set, err) < 0)
    return -1;
  /* memory.swap.max is absent when swap accounting is off: skipped, as on v1. */
  if (swap_set)
    cgroup_writes_add(w, "memory", F "memory.swap", "memory.swap.max", num_or_max(swap))->optional = true;
  if (m->limit_present && m->limit != 0)
    cgroup_writes_add(w, "memory", F "memory.limit", "memory.max", num_or_max(m->limit));
  if (m->reservation_present && m->reservation != 0)
    cgroup_writes_add(w, "memory", F "memory.reservation", "memory.low", num_or_max(m->reservation));
  if (m->swappiness_present)
    isolazi_debug("linux.resources.memory.swappiness is ignored on cgroup v2");
  if (m->disable_oom_killer_present && m->disable_oom_killer)
    isolazi_debug("linux.resources.memory.disableOOMKiller is ignored on cgroup v2");
  return 0;
}

static int
plan_cpu(const oci_cpu *c, cgroup_writes_t *w, isolazi_error_t *err)
{
  if ((c->realtime_runtime_present && c->realtime_runtime != 0)
      || (c->realtime_period_present && c->realtime_period != 0))
    return isolazi_error_set(err, ENOTSUP, F "cpu.realtimeRuntime/realtimePeriod: not supported on cgroup v2");
  if (c->shares_present && c->shares != 0)
    cgroup_writes_add(w, "cpu", F "cpu.shares", "cpu.weight",
                      xasprintf("%" PRIu64, cgroup_shares_to_weight(c->shares)));
  if ((c->quota_present && c->quota != 0) || (c->period_present && c->period != 0))
    {
      cleanup_free char *q = c->quota_present && c->quota > 0 ? xasprintf("%" PRId64, c->quota) : xstrdup("max");
      /* Without a period the kernel keeps the current one. */
      cgroup_writes_add(w, "cpu", c->quota_present ? F "cpu.quota" : F "cpu.period", "cpu.max",
                        c->period_present && c->period != 0 ? xasprintf("%s %" PRIu64, q, c->period) : xstrdup(q));
    }
  if (c->burst_present)
    cgroup_writes_add(w, "cpu", F "cpu.burst", "cpu.max.burst", xasprintf("%" PRIu64, c->burst));
  if (c->idle_present)
    cgroup_writes_add(w, "cpu", F "cpu.idle", "cpu.idle", xasprintf("%" PRId64, c->idle));
  if (c->cpus != NULL && c->cpus[0] != '\0')
    cgroup_writes_add(w, "cpuset", F "cpu.cpus", "cpuset.cpus", xstrdup(c->cpus));
  if (c->mems != NULL && c->mems[0] != '\0')
    cgroup_writes_add(w, "cpuset", F "cpu.mems", "cpuset.mems", xstrdup(c->mems));
  return 0;
}

static void
plan_io_max(const oci_throttle_device *d, size_t n, const char *field, const char *key, cgroup_writes_t *w)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *f = xasprintf(F "blockIO.%s[%zu]", field, i);
      cgroup_writes_add(w, "io", f, "io.max",
                        xasprintf("%" PRId64 ":%" PRId64 " %s=%" PRIu64, d[i].major, d[i].minor, key, d[i].rate));
    }
}

static void
plan_io(const oci_block_io *b, cgroup_writes_t *w)
{
  size_t i;

  /* runc 1.1: the BFQ weight takes the blkio value as is; without BFQ, io.weight gets the
   * converted value. */
  if (b->weight_present && b->weight != 0)
    {
      cgroup_write_t *wr
          = cgroup_writes_add(w, "io", F "blockIO.weight", "io.bfq.weight", xasprintf("%u", (unsigned)b->weight));
      wr->alt_file = xstrdup("io.weight");
      wr->alt_value = xasprintf("%" PRIu64, cgroup_blkio_weight_to_io_weight(b->weight));
    }
  for (i = 0; i < b->weight_device_len; i++)
    {
      const oci_weight_device *d = &b->weight_device[i];
      cleanup_free char *f = NULL;
      cgroup_write_t *wr;
      if (!d->weight_present || d->weight == 0)
        continue;
      f = xasprintf(F "blockIO.weightDevice[%zu]", i);
      wr = cgroup_writes_add(w, "io", f, "io.bfq.weight",
                             xasprintf("%" PRId64 ":%" PRId64 " %u", d->major, d->minor, (unsigned)d->weight));
      wr->alt_file = xstrdup("io.weight");
      wr->alt_value = xasprintf("%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                                cgroup_blkio_weight_to_io_weight(d->weight));
    }
  plan_io_max(b->throttle_read_bps_device, b->throttle_read_bps_device_len, "throttleReadBpsDevice", "rbps", w);
  plan_io_max(b->throttle_write_bps_device, b->throttle_write_bps_device_len, "throttleWriteBpsDevice", "wbps", w);
  plan_io_max(b->throttle_read_iops_device, b->throttle_read_iops_device_len, "throttleReadIOPSDevice", "riops", w);
  plan_io_max(b->throttle_write_iops_device, b->throttle_write_iops_device_len, "throttleWriteIOPSDevice", "wiops", w);
}

int
cgroup_v2_plan(const oci_resources *r, cgroup_writes_t *w, isolazi_error_t *err)
{
  size_t i;

  /* r->devices: an eBPF program, attached by isolazi_cgroup_create (cgroup_v2_devices.c). */
  if (r->pids != NULL && r->pids->limit_present)
    cgroup_writes_add(w, "pids", F "pids.limit", "pids.max",
                      r->pids->limit > 0 ? xasprintf("%" PRId64, r->pids->limit) : xstrdup("max"));
  if (r->memory != NULL && plan_memory(r->memory, w, err) < 0)
    return -1;
  if (r->block_io != NULL)
    plan_io(r->block_io, w);
  if (r->cpu != NULL && plan_cpu(r->cpu, w, err) < 0)
    return -1;
  for (i = 0; i < r->hugepage_limits_len; i++)
    {
      cleanup_free char *f = xasprintf(F "hugepageLimits[%zu]", i);
      cleanup_free char *file = NULL;
      if (r->hugepage_limits[i].page_size == NULL || strchr(r->hugepage_limits[i].page_size, '/') != NULL)
        return isolazi_error_set(err, EINVAL, "%s.pageSize: invalid page size", f);
      file = xasprintf("hugetlb.%s.max", r->hugepage_limits[i].page_size);
      cgroup_writes_add(w, "hugetlb", f, file, xasprintf("%" PRIu64, r->hugepage_limits[i].limit));
    }
  if (r->network != NULL && (r->network->class_id_present || r->network->priorities_len > 0))
    isolazi_debug("linux.resources.network is ignored on cgroup v2 (no net_cls/net_prio controllers)");
  for (i = 0; i < r->rdma_len; i++)
    {
      const oci_rdma_entry *e = &r->rdma[i];
      cleanup_free char *f = xasprintf(F "rdma.%s", e->name);
      cleanup_free char *h = e->hca_handles_present ? xasprintf(" hca_handle=%" PRIu32, e->hca_handles) : xstrdup("");
      cleanup_free char *o = e->hca_objects_present ? xasprintf(" hca_object=%" PRIu32, e->hca_objects) : xstrdup("");
      if (*h == '\0' && *o == '\0')
        continue;
      cgroup_writes_add(w, "rdma", f, "rdma.max", xasprintf("%s%s%s", e->name, h, o));
    }
  /* linux.resources.unified: file name -> value, verbatim, last so that it wins. */
  for (i = 0; i < r->unified.len; i++)
    {
      const char *k = r->unified.keys[i];
      cleanup_free char *f = xasprintf(F "unified[\"%s\"]", k);
      if (k[0] == '\0' || k[0] == '.' || strchr(k, '/') != NULL)
        return isolazi_error_set(err, EINVAL, "%s: invalid cgroup file name", f);
      cgroup_writes_add(w, "unified", f, k, xstrdup(r->unified.values[i]));
    }
  return 0;
}

/* Enable every available controller for the children of each level from the parent of the
 * first directory create made down to the leaf's parent (runc 1.1 does the same).  Failures
 * are ignored, one controller at a time: a controller we cannot delegate shows up as a missing
 * file when a resource actually needs it. */
static int
v2_prepare(const isolazi_cgroup_t *cg, const cgroup_hier_t *h, const oci_resources *r, isolazi_error_t *err)
{
  cleanup_free char *start = NULL;
  size_t len, full = strlen(h->dir);
  char *slash;

  (void)cg;
  (void)r;
  (void)err;
  start = xstrdup(h->created ? h->created : h->dir);
  slash = strrchr(start, '/');
  if (slash == NULL || slash == start)
    return 0;
  len = (size_t)(slash - start);
  while (len < full)
    {
      cleanup_free char *level = strndup(h->dir, len);
      cleanup_free char *avail = NULL;
      cleanup_free char *req = NULL;
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      const char *next;
      char *p, *save = NULL, *tok;
      size_t n = 0;

      if (level == NULL)
        abort();
      {
        cleanup_free char *path = xasprintf("%s/cgroup.controllers", level);
        if (isolazi_read_file(path, &avail, NULL, &e) < 0)
          {
            isolazi_debug("enable controllers in `%s`: %s", level, e.msg);
            isolazi_error_release(&e);
            avail = xstrdup("");
          }
      }
      req = xmalloc(strlen(avail) * 2 + 2);
      req[0] = '\0';
      for (tok = strtok_r(avail, " \n", &save); tok != NULL; tok = strtok_r(NULL, " \n", &save))
        n += (size_t)sprintf(req + n, "%s+%s", n ? " " : "", tok);
      if (n > 0 && cgroup_write_str(level, "cgroup.subtree_control", req, &e) < 0)
        {
          isolazi_error_release(&e);
          save = NULL;
          for (p = strtok_r(req, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save))
            if (cgroup_write_str(level, "cgroup.subtree_control", p, &e) < 0)
              {
                isolazi_debug("enable `%s` in `%s`: %s", p, level, e.msg);
                isolazi_error_release(&e);
              }
        }
      next = strchr(h->dir + len + 1, '/');
      len = next ? (size_t)(next - h->dir) : full;
    }
  return 0;
}

static int
read_events_frozen(const char *dir, bool *ret, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("%s/cgroup.events", dir);
  cleanup_free char *text = NULL;
  const char *p;

  if (isolazi_read_file(path, &text, NULL, err) < 0)
    return -1;
  p = strstr(text, "frozen ");
  *ret = p != NULL && p[7] == '1';
  return 0;
}

/* SIGKILL through cgroup.kill (Linux 5.14): atomic, forks included.  Other signals between
 * cgroup.freeze = 1 (wait for "frozen 1" in cgroup.events) and 0, unless it was frozen. */
static int
v2_kill(const isolazi_cgroup_t *cg, int sig, isolazi_error_t *err)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, "");
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  bool was_frozen = false, frozen = false;
  int i, r;

  if (h == NULL)
    return isolazi_error_set(err, ENOENT, "kill cgroup: no cgroup2 directory");
  if (sig == SIGKILL)
    {
      if (cgroup_write_str(h->dir, "cgroup.kill", "1", &e) == 0)
        return 0;
      if (e.code != ENOENT)
        return isolazi_error_take(err, e.code, e.msg);
      isolazi_error_release(&e);
    }
  if (read_events_frozen(h->dir, &was_frozen, &e) < 0)
    {
      /* No freezer (before Linux 5.2): signal what is there. */
      isolazi_error_release(&e);
      return cgroup_signal_pids(h->dir, sig, err);
    }
  if (!was_frozen)
    {
      if (cgroup_write_str(h->dir, "cgroup.freeze", "1", err) < 0)
        return -1;
      for (i = 0; i < 2000 && !frozen; i++)
        {
          if (read_events_frozen(h->dir, &frozen, err) < 0)
            return -1;
          if (!frozen)
            cgroup_sleep_us(i < 10 ? 50 : 500);
        }
      if (!frozen)
        isolazi_debug("freeze `%s`: not frozen after 1 s; signalling anyway", h->dir);
    }
  r = cgroup_signal_pids(h->dir, sig, err);
  if (!was_frozen && cgroup_write_str(h->dir, "cgroup.freeze", "0", r < 0 ? &e : err) < 0 && r == 0)
    return -1;
  isolazi_error_release(&e);
  return r;
}

static int
v2_freeze(const isolazi_cgroup_t *cg, bool freeze, isolazi_error_t *err)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, "");
  bool frozen = false;
  int i;

  if (h == NULL)
    return isolazi_error_set(err, ENOENT, "%s: no cgroup2 directory", freeze ? "pause" : "resume");
  if (cgroup_write_str(h->dir, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
    return isolazi_error_wrap(err, "%s", freeze ? "pause" : "resume");
  if (!freeze)
    return 0;
  /* cgroup.freeze is the request; "frozen 1" in cgroup.events says every task stopped. */
  for (i = 0; i < 2000 && !frozen; i++)
    {
      if (read_events_frozen(h->dir, &frozen, err) < 0)
        return -1;
      if (!frozen)
        cgroup_sleep_us(i < 10 ? 50 : 500);
    }
  if (!frozen)
    {
      (void)cgroup_write_str(h->dir, "cgroup.freeze", "0", NULL);
      return isolazi_error_set(err, EBUSY, "freeze `%s`: not every process stopped within 1 s", h->dir);
    }
  return 0;
}

static bool
v2_frozen(const isolazi_cgroup_t *cg)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, "");
  cleanup_free char *v = NULL;

  /* The request, as runc reads it: one byte, cheaper than parsing cgroup.events. */
  if (h == NULL || (v = cgroup_read_str(h->dir, "cgroup.freeze")) == NULL)
    return false;
  return v[0] == '1';
}

/* ---- stats (runc's libcontainer/cgroups/fs2 mapping onto the v1-shaped names) ---- */

static void
gen_u64(json_gen *g, const char *key, uint64_t v, bool omitempty)
{
  if (omitempty && v == 0)
    return;
  json_gen_key(g, key);
  json_gen_uint64(g, v);
}

static void
gen_entry(json_gen *g, const char *key, uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
  json_gen_key(g, key);
  json_gen_object_open(g);
  gen_u64(g, "limit", limit, false);
  gen_u64(g, "usage", usage, true);
  gen_u64(g, "max", max, true);
  gen_u64(g, "failcnt", failcnt, false);
  json_gen_object_close(g);
}

static int
v2_stats(const isolazi_cgroup_t *cg, json_gen *g, isolazi_error_t *err)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, "");
  cleanup_free char *cpu = NULL;
  cleanup_free char *mem = NULL;
  cleanup_free char *events = NULL;
  uint64_t v = 0, limit, usage, swap_limit, swap_usage, pids_max;

  if (h == NULL)
    return isolazi_error_set(err, ENOENT, "read cgroup statistics: no cgroup2 directory");
  cpu = cgroup_read_str(h->dir, "cpu.stat");
  mem = cgroup_read_str(h->dir, "memory.stat");
  events = cgroup_read_str(h->dir, "memory.events");
  json_gen_object_open(g);

  json_gen_key(g, "cpu");
  json_gen_object_open(g);
  json_gen_key(g, "usage");
  json_gen_object_open(g);
  /* cpu.stat counts microseconds; runc reports nanoseconds. */
  if (cpu != NULL && cgroup_flat_get(cpu, "usage_usec", &v))
    gen_u64(g, "total", v * 1000, true);
  v = 0;
  if (cpu != NULL)
    (void)cgroup_flat_get(cpu, "system_usec", &v);
  gen_u64(g, "kernel", v * 1000, false);
  v = 0;
  if (cpu != NULL)
    (void)cgroup_flat_get(cpu, "user_usec", &v);
  gen_u64(g, "user", v * 1000, false);
  json_gen_object_close(g);
  json_gen_key(g, "throttling");
  json_gen_object_open(g);
  if (cpu != NULL)
    {
      v = 0;
      (void)cgroup_flat_get(cpu, "nr_periods", &v);
      gen_u64(g, "periods", v, true);
      v = 0;
      (void)cgroup_flat_get(cpu, "nr_throttled", &v);
      gen_u64(g, "throttledPeriods", v, true);
      v = 0;
      (void)cgroup_flat_get(cpu, "throttled_usec", &v);
      gen_u64(g, "throttledTime", v * 1000, true);
    }
  json_gen_object_close(g);
  json_gen_object_close(g);

  json_gen_key(g, "memory");
  json_gen_object_open(g);
  v = 0;
  if (mem != NULL)
    (void)cgroup_flat_get(mem, "file", &v);
  gen_u64(g, "cache", v, true);
  usage = cgroup_read_u64(h->dir, "memory.current");
  limit = cgroup_read_u64(h->dir, "memory.max");
  v = 0;
  if (events != NULL)
    (void)cgroup_flat_get(events, "max", &v);
  gen_entry(g, "usage", limit, usage, cgroup_read_u64(h->dir, "memory.peak"), v);
  /* v1's memsw is memory+swap; runc 1.1 reports the v2 values the same way. */
  swap_usage = cgroup_read_u64(h->dir, "memory.swap.current");
  swap_limit = cgroup_read_u64(h->dir, "memory.swap.max");
  gen_entry(g, "swap", swap_limit == UINT64_MAX || limit == UINT64_MAX ? UINT64_MAX : swap_limit + limit,
            swap_usage + usage, 0, 0);
  if (mem != NULL)
    {
      json_gen_key(g, "raw");
      json_gen_object_open(g);
      cgroup_stats_gen_flat(g, mem);
      json_gen_object_close(g);
    }
  json_gen_object_close(g);

  json_gen_key(g, "pids");
  json_gen_object_open(g);
  gen_u64(g, "current", cgroup_read_u64(h->dir, "pids.current"), true);
  pids_max = cgroup_read_u64(h->dir, "pids.max");
  gen_u64(g, "limit", pids_max == UINT64_MAX ? 0 : pids_max, true);
  json_gen_object_close(g);
  cgroup_stats_gen_tail(g);
  return 0;
}

const cgroup_driver_t cgroup_driver_v2 = {
  .name = "v2",
  .plan = cgroup_v2_plan,
  .prepare = v2_prepare,
  .kill = v2_kill,
  .freeze = v2_freeze,
  .frozen = v2_frozen,
  .stats = v2_stats,
};
