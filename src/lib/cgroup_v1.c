/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v1 driver (also the controller side of hybrid hosts): resources -> files of the
 * per-controller hierarchies, cpuset inheritance for new levels, freezer-bracketed kill. */
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
#include <unistd.h>

#define F "linux.resources."

static char *
i64(int64_t v)
{
  return xasprintf("%" PRId64, v);
}

static char *
u64(uint64_t v)
{
  return xasprintf("%" PRIu64, v);
}

/* "*" for a wildcard major/minor in a device rule. */
static char *
dev_num(int64_t v, bool present)
{
  return present && v >= 0 ? i64(v) : xstrdup("*");
}

static void
plan_memory(const oci_memory *m, uint64_t cur_limit, cgroup_writes_t *w)
{
  bool limit = m->limit_present && m->limit != 0;
  bool swap = m->swap_present && m->swap != 0;
  bool swap_first;
  cgroup_write_t *sw = NULL;

  /* memory.memsw.limit_in_bytes must stay >= memory.limit_in_bytes at every step.  runc's
   * setMemoryAndSwap: with both given, memsw goes first when it is unlimited or above the
   * current limit (raising both), else the limit goes first (lowering both).  In a fresh cgroup
   * both are "max", so only an unlimited swap goes first.  Missing memsw file = swap accounting
   * off: skipped, as runc does. */
  swap_first = swap && (m->swap == -1 || (limit && cur_limit < (uint64_t)m->swap));
  if (swap_first)
    {
      sw = cgroup_writes_add(w, "memory", F "memory.swap", "memory.memsw.limit_in_bytes", i64(m->swap));
      sw->optional = true;
    }
  if (limit)
    cgroup_writes_add(w, "memory", F "memory.limit", "memory.limit_in_bytes", i64(m->limit));
  if (swap && !swap_first)
    {
      sw = cgroup_writes_add(w, "memory", F "memory.swap", "memory.memsw.limit_in_bytes", i64(m->swap));
      sw->optional = true;
    }
  if (m->reservation_present && m->reservation != 0)
    cgroup_writes_add(w, "memory", F "memory.reservation", "memory.soft_limit_in_bytes", i64(m->reservation));
  if (m->kernel_tcp_present && m->kernel_tcp != 0)
    cgroup_writes_add(w, "memory", F "memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes", i64(m->kernel_tcp));
  if (m->kernel_present && m->kernel != 0)
    isolazi_debug("linux.resources.memory.kernel is ignored (deprecated; Linux 5.16 stopped enforcing it)");
  if (m->swappiness_present && m->swappiness <= 100)
    cgroup_writes_add(w, "memory", F "memory.swappiness", "memory.swappiness", u64(m->swappiness));
  if (m->disable_oom_killer_present && m->disable_oom_killer)
    cgroup_writes_add(w, "memory", F "memory.disableOOMKiller", "memory.oom_control", xstrdup("1"));
}

static void
plan_cpu(const oci_cpu *c, cgroup_writes_t *w)
{
  if (c->shares_present && c->shares != 0)
    cgroup_writes_add(w, "cpu", F "cpu.shares", "cpu.shares", u64(c->shares));
  /* Period before quota: the kernel checks quota/period against the parent's as each lands. */
  if (c->period_present && c->period != 0)
    cgroup_writes_add(w, "cpu", F "cpu.period", "cpu.cfs_period_us", u64(c->period));
  if (c->quota_present && c->quota != 0)
    cgroup_writes_add(w, "cpu", F "cpu.quota", "cpu.cfs_quota_us", i64(c->quota));
  if (c->burst_present)
    cgroup_writes_add(w, "cpu", F "cpu.burst", "cpu.cfs_burst_us", u64(c->burst));
  /* Period before runtime for the same reason. */
  if (c->realtime_period_present && c->realtime_period != 0)
    cgroup_writes_add(w, "cpu", F "cpu.realtimePeriod", "cpu.rt_period_us", u64(c->realtime_period));
  if (c->realtime_runtime_present && c->realtime_runtime != 0)
    cgroup_writes_add(w, "cpu", F "cpu.realtimeRuntime", "cpu.rt_runtime_us", i64(c->realtime_runtime));
  if (c->idle_present)
    cgroup_writes_add(w, "cpu", F "cpu.idle", "cpu.idle", i64(c->idle));
  if (c->cpus != NULL && c->cpus[0] != '\0')
    cgroup_writes_add(w, "cpuset", F "cpu.cpus", "cpuset.cpus", xstrdup(c->cpus));
  if (c->mems != NULL && c->mems[0] != '\0')
    cgroup_writes_add(w, "cpuset", F "cpu.mems", "cpuset.mems", xstrdup(c->mems));
}

static void
plan_throttle(const oci_throttle_device *d, size_t n, const char *field, const char *file, cgroup_writes_t *w)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *f = xasprintf(F "blockIO.%s[%zu]", field, i);
      cgroup_writes_add(w, "blkio", f, file,
                        xasprintf("%" PRId64 ":%" PRId64 " %" PRIu64, d[i].major, d[i].minor, d[i].rate));
    }
}

static void
plan_blkio(const oci_block_io *b, cgroup_writes_t *w)
{
  size_t i;

  if (b->weight_present && b->weight != 0)
    {
      /* Without CFQ (gone since Linux 5.0) blkio.weight is missing; BFQ offers
       * blkio.bfq.weight with the same range (runc falls back the same way). */
      cgroup_write_t *wr = cgroup_writes_add(w, "blkio", F "blockIO.weight", "blkio.weight", u64(b->weight));
      wr->alt_file = xstrdup("blkio.bfq.weight");
      wr->alt_value = u64(b->weight);
    }
  if (b->leaf_weight_present && b->leaf_weight != 0)
    cgroup_writes_add(w, "blkio", F "blockIO.leafWeight", "blkio.leaf_weight", u64(b->leaf_weight));
  for (i = 0; i < b->weight_device_len; i++)
    {
      const oci_weight_device *d = &b->weight_device[i];
      cleanup_free char *f = xasprintf(F "blockIO.weightDevice[%zu]", i);
      if (d->weight_present && d->weight != 0)
        {
          cgroup_write_t *wr
              = cgroup_writes_add(w, "blkio", f, "blkio.weight_device",
                                  xasprintf("%" PRId64 ":%" PRId64 " %u", d->major, d->minor, (unsigned)d->weight));
          wr->alt_file = xstrdup("blkio.bfq.weight_device");
          wr->alt_value = xstrdup(wr->value);
        }
      if (d->leaf_weight_present && d->leaf_weight != 0)
        cgroup_writes_add(w, "blkio", f, "blkio.leaf_weight_device",
                          xasprintf("%" PRId64 ":%" PRId64 " %u", d->major, d->minor, (unsigned)d->leaf_weight));
    }
  plan_throttle(b->throttle_read_bps_device, b->throttle_read_bps_device_len, "throttleReadBpsDevice",
                "blkio.throttle.read_bps_device", w);
  plan_throttle(b->throttle_write_bps_device, b->throttle_write_bps_device_len, "throttleWriteBpsDevice",
                "blkio.throttle.write_bps_device", w);
  plan_throttle(b->throttle_read_iops_device, b->throttle_read_iops_device_len, "throttleReadIOPSDevice",
                "blkio.throttle.read_iops_device", w);
  plan_throttle(b->throttle_write_iops_device, b->throttle_write_iops_device_len, "throttleWriteIOPSDevice",
                "blkio.throttle.write_iops_device", w);
}

static int
plan_devices(const oci_device_cgroup *d, size_t n, cgroup_writes_t *w, isolazi_error_t *err)
{
  size_t i;

  /* A new devices cgroup inherits the parent's (usually "a *:* rwm" allowed): start from
   * deny-all so that the rules below are the whole list, in order (runc does the same). */
  cgroup_writes_add(w, "devices", F "devices", "devices.deny", xstrdup("a"));
  for (i = 0; i < n; i++)
    {
      const char *type = d[i].type ? d[i].type : "a";
      const char *access = d[i].access && d[i].access[0] ? d[i].access : "rwm";
      cleanup_free char *f = xasprintf(F "devices[%zu]", i);
      cleanup_free char *maj = dev_num(d[i].major, d[i].major_present);
      cleanup_free char *min = dev_num(d[i].minor, d[i].minor_present);

      if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 && strcmp(type, "c") != 0)
        return isolazi_error_set(err, EINVAL, "%s.type: invalid device type `%s` (want a, b or c)", f, type);
      if (strspn(access, "rwm") != strlen(access))
        return isolazi_error_set(err, EINVAL, "%s.access: invalid access `%s` (want a subset of rwm)", f, access);
      cgroup_writes_add(w, "devices", f, d[i].allow ? "devices.allow" : "devices.deny",
                        xasprintf("%s %s:%s %s", type, maj, min, access));
    }
  return 0;
}

static int
plan(const oci_resources *r, bool update, uint64_t cur_limit, cgroup_writes_t *w, isolazi_error_t *err)
{
  size_t i;

  if (r->unified.len > 0)
    return isolazi_error_take(err, EINVAL,
                              xstrdup("linux.resources.unified: requires cgroup v2 (this host's controllers are on "
                                      "cgroup v1)"));
  if (!update && r->devices_len > 0 && plan_devices(r->devices, r->devices_len, w, err) < 0)
    return -1;
  if (r->memory != NULL)
    {
      if (r->memory->swappiness_present && r->memory->swappiness > 100)
        return isolazi_error_set(err, EINVAL, F "memory.swappiness: invalid value %" PRIu64 " (want 0 to 100)",
                                 r->memory->swappiness);
      plan_memory(r->memory, cur_limit, w);
    }
  if (r->cpu != NULL)
    plan_cpu(r->cpu, w);
  /* On update, 0 leaves the limit alone as in runc (containerd sends every field). */
  if (r->pids != NULL && r->pids->limit_present && !(update && r->pids->limit == 0))
    cgroup_writes_add(w, "pids", F "pids.limit", "pids.max", r->pids->limit > 0 ? i64(r->pids->limit) : xstrdup("max"));
  if (r->block_io != NULL)
    plan_blkio(r->block_io, w);
  for (i = 0; i < r->hugepage_limits_len; i++)
    {
      cleanup_free char *f = xasprintf(F "hugepageLimits[%zu]", i);
      cleanup_free char *file = NULL;
      if (r->hugepage_limits[i].page_size == NULL || strchr(r->hugepage_limits[i].page_size, '/') != NULL)
        return isolazi_error_set(err, EINVAL, "%s.pageSize: invalid page size", f);
      file = xasprintf("hugetlb.%s.limit_in_bytes", r->hugepage_limits[i].page_size);
      cgroup_writes_add(w, "hugetlb", f, file, u64(r->hugepage_limits[i].limit));
    }
  if (r->network != NULL)
    {
      if (r->network->class_id_present)
        cgroup_writes_add(w, "net_cls", F "network.classID", "net_cls.classid",
                          xasprintf("%" PRIu32, r->network->class_id));
      for (i = 0; i < r->network->priorities_len; i++)
        {
          cleanup_free char *f = xasprintf(F "network.priorities[%zu]", i);
          cgroup_writes_add(
              w, "net_prio", f, "net_prio.ifpriomap",
              xasprintf("%s %" PRIu32, r->network->priorities[i].name, r->network->priorities[i].priority));
        }
    }
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
  return 0;
}

int
cgroup_v1_plan(const oci_resources *r, cgroup_writes_t *w, isolazi_error_t *err)
{
  return plan(r, false, UINT64_MAX, w, err);
}

int
cgroup_v1_plan_update(const oci_resources *r, uint64_t cur_limit, cgroup_writes_t *w, isolazi_error_t *err)
{
  return plan(r, true, cur_limit, w, err);
}

/* Strip the trailing newline of a value read from a cgroup file. */
static void
chomp(char *s)
{
  size_t n = strlen(s);

  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
    s[--n] = '\0';
}

/* A new cpuset cgroup starts with empty cpuset.cpus and cpuset.mems and refuses tasks
 * (ENOSPC) until both are set: give each level create made its parent's values. */
static int
v1_prepare(const isolazi_cgroup_t *cg, const cgroup_hier_t *h, const oci_resources *r, isolazi_error_t *err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  cleanup_free char *parent = NULL;
  size_t k;

  (void)cg;
  if (h->created == NULL || !cgroup_controllers_has(h->name, "cpuset"))
    return 0;
  parent = xstrdup(h->created);
  *strrchr(parent, '/') = '\0';
  for (k = 0; k < 2; k++)
    {
      cleanup_free char *path = xasprintf("%s/%s", parent, files[k]);
      cleanup_free char *value = NULL;
      size_t len = strlen(h->created), full = strlen(h->dir);
      const char *given = NULL;

      if (r != NULL && r->cpu != NULL)
        given = k == 0 ? r->cpu->cpus : r->cpu->mems;
      if (isolazi_read_file(path, &value, NULL, err) < 0)
        return -1;
      chomp(value);
      if (value[0] == '\0')
        continue;
      for (;;)
        {
          cleanup_free char *level = strndup(h->dir, len);
          bool leaf = len == full;
          const char *slash;

          if (level == NULL)
            abort();
          /* The leaf gets the configured value right after: skip a write that is replaced. */
          if (!(leaf && given != NULL && given[0] != '\0') && cgroup_write_str(level, files[k], value, err) < 0)
            return isolazi_error_wrap(err, "inherit `%s` from `%s`", files[k], parent);
          if (leaf)
            break;
          slash = strchr(h->dir + len + 1, '/');
          len = slash ? (size_t)(slash - h->dir) : full;
        }
    }
  return 0;
}

static int
read_state(const char *dir, char **ret, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("%s/freezer.state", dir);

  if (isolazi_read_file(path, ret, NULL, err) < 0)
    return -1;
  chomp(*ret);
  return 0;
}

/* FROZEN: write it, then wait while the state reads FREEZING until every task stopped;
 * bounded (~1 s), re-requesting now and then as runc does, since a freeze can stall on a task
 * in an uninterruptible sleep.  Returns 1 when frozen, 0 when still freezing. */
static int
freeze_wait(const char *dir, isolazi_error_t *err)
{
  cleanup_free char *state = NULL;
  int i;

  if (cgroup_write_str(dir, "freezer.state", "FROZEN", err) < 0)
    return -1;
  for (i = 0; i < 2000; i++)
    {
      free(state);
      state = NULL;
      if (read_state(dir, &state, err) < 0)
        return -1;
      if (strcmp(state, "FROZEN") == 0)
        return 1;
      if (i % 50 == 49 && cgroup_write_str(dir, "freezer.state", "FROZEN", err) < 0)
        return -1;
      cgroup_sleep_us(i < 10 ? 50 : 500);
    }
  isolazi_debug("freeze `%s`: still %s", dir, state);
  return 0;
}

static int
v1_freeze(const isolazi_cgroup_t *cg, bool freeze, isolazi_error_t *err)
{
  const cgroup_hier_t *fz = cgroup_find_hier(cg, "freezer");
  int r;

  if (fz == NULL)
    return isolazi_error_set(err, ENOTSUP, "%s: no `freezer` cgroup v1 hierarchy is mounted",
                             freeze ? "pause" : "resume");
  if (!freeze)
    return cgroup_write_str(fz->dir, "freezer.state", "THAWED", err);
  r = freeze_wait(fz->dir, err);
  if (r == 0)
    {
      /* Do not leave it half frozen (runc thaws and fails too). */
      (void)cgroup_write_str(fz->dir, "freezer.state", "THAWED", NULL);
      return isolazi_error_set(err, EBUSY, "freeze `%s`: not every process stopped within 1 s", fz->dir);
    }
  return r < 0 ? -1 : 0;
}

static bool
v1_frozen(const isolazi_cgroup_t *cg)
{
  const cgroup_hier_t *fz = cgroup_find_hier(cg, "freezer");
  cleanup_free char *state = NULL;

  if (fz == NULL || read_state(fz->dir, &state, NULL) < 0)
    return false;
  /* FREEZING counts: a pause under way (or stuck) is not "running". */
  return strcmp(state, "THAWED") != 0;
}

/* Freeze, signal everything in the cgroup, thaw: a process forking meanwhile cannot leave a
 * child behind.  A container already paused stays paused (unless killed: frozen v1 tasks
 * only die once thawed). */
static int
v1_kill(const isolazi_cgroup_t *cg, int sig, isolazi_error_t *err)
{
  const cgroup_hier_t *fz = cgroup_find_hier(cg, "freezer");
  cleanup_free char *state = NULL;
  bool was_frozen;
  int r;

  if (fz == NULL)
    return cgroup_signal_pids(cg->hiers[0].dir, sig, err);
  if (read_state(fz->dir, &state, err) < 0)
    return -1;
  was_frozen = strcmp(state, "FROZEN") == 0;
  if (!was_frozen)
    {
      r = freeze_wait(fz->dir, err);
      if (r < 0)
        return -1;
      if (r == 0)
        isolazi_debug("signalling `%s` anyway", fz->dir);
    }
  r = cgroup_signal_pids(fz->dir, sig, err);
  if (!was_frozen || sig == SIGKILL)
    {
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      if (cgroup_write_str(fz->dir, "freezer.state", "THAWED", r < 0 ? &e : err) < 0 && r == 0)
        return -1;
      isolazi_error_release(&e);
    }
  return r;
}

/* ---- stats, in runc's libcontainer/cgroups/stats.go names (omitempty fields are left out
 * when zero, as Go's encoder does) ---- */

static void
gen_u64(json_gen *g, const char *key, uint64_t v, bool omitempty)
{
  if (omitempty && v == 0)
    return;
  json_gen_key(g, key);
  json_gen_uint64(g, v);
}

static void
gen_u64_array(json_gen *g, const char *key, const uint64_t *v, size_t n)
{
  size_t i;

  if (n == 0)
    return;
  json_gen_key(g, key);
  json_gen_array_open(g);
  for (i = 0; i < n; i++)
    json_gen_uint64(g, v[i]);
  json_gen_array_close(g);
}

/* usage/swap/kernel/kernelTCP: {limit, usage, max, failcnt} from <prefix>.{limit_in_bytes,...}. */
static void
gen_mem_entry(json_gen *g, const char *key, const char *dir, const char *prefix)
{
  cleanup_free char *lim = xasprintf("%s.limit_in_bytes", prefix);
  cleanup_free char *use = xasprintf("%s.usage_in_bytes", prefix);
  cleanup_free char *max = xasprintf("%s.max_usage_in_bytes", prefix);
  cleanup_free char *fail = xasprintf("%s.failcnt", prefix);

  json_gen_key(g, key);
  json_gen_object_open(g);
  gen_u64(g, "limit", cgroup_read_u64(dir, lim), false);
  gen_u64(g, "usage", cgroup_read_u64(dir, use), true);
  gen_u64(g, "max", cgroup_read_u64(dir, max), true);
  gen_u64(g, "failcnt", cgroup_read_u64(dir, fail), false);
  json_gen_object_close(g);
}

static void
v1_stats_cpu(const isolazi_cgroup_t *cg, json_gen *g)
{
  const cgroup_hier_t *acct = cgroup_find_hier(cg, "cpuacct");
  const cgroup_hier_t *cpu = cgroup_find_hier(cg, "cpu");

  json_gen_key(g, "cpu");
  json_gen_object_open(g);
  json_gen_key(g, "usage");
  json_gen_object_open(g);
  if (acct != NULL)
    {
      cleanup_free char *percpu = cgroup_read_str(acct->dir, "cpuacct.usage_percpu");
      cleanup_free char *all = cgroup_read_str(acct->dir, "cpuacct.usage_all");
      cleanup_free char *stat = cgroup_read_str(acct->dir, "cpuacct.stat");
      cleanup_free uint64_t *pc = NULL;
      cleanup_free uint64_t *pu = NULL;
      cleanup_free uint64_t *ps = NULL;
      uint64_t user = 0, sys = 0;
      size_t n = percpu ? cgroup_parse_u64_list(percpu, &pc) : 0;
      size_t m = all ? cgroup_parse_usage_all(all, &pu, &ps) : 0;
      long hz = sysconf(_SC_CLK_TCK);

      gen_u64(g, "total", cgroup_read_u64(acct->dir, "cpuacct.usage"), true);
      gen_u64_array(g, "percpu", pc, n);
      gen_u64_array(g, "percpu_kernel", ps, m);
      gen_u64_array(g, "percpu_user", pu, m);
      /* cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds. */
      if (stat != NULL && hz > 0)
        {
          (void)cgroup_flat_get(stat, "user", &user);
          (void)cgroup_flat_get(stat, "system", &sys);
        }
      gen_u64(g, "kernel", hz > 0 ? sys * (1000000000 / (uint64_t)hz) : 0, false);
      gen_u64(g, "user", hz > 0 ? user * (1000000000 / (uint64_t)hz) : 0, false);
    }
  json_gen_object_close(g);
  json_gen_key(g, "throttling");
  json_gen_object_open(g);
  if (cpu != NULL)
    {
      cleanup_free char *stat = cgroup_read_str(cpu->dir, "cpu.stat");
      uint64_t periods = 0, throttled = 0, time = 0;
      if (stat != NULL)
        {
          (void)cgroup_flat_get(stat, "nr_periods", &periods);
          (void)cgroup_flat_get(stat, "nr_throttled", &throttled);
          (void)cgroup_flat_get(stat, "throttled_time", &time);
        }
      gen_u64(g, "periods", periods, true);
      gen_u64(g, "throttledPeriods", throttled, true);
      gen_u64(g, "throttledTime", time, true);
    }
  json_gen_object_close(g);
  json_gen_object_close(g);
}

static void
v1_stats_memory(const isolazi_cgroup_t *cg, json_gen *g)
{
  const cgroup_hier_t *mem = cgroup_find_hier(cg, "memory");

  json_gen_key(g, "memory");
  json_gen_object_open(g);
  if (mem != NULL)
    {
      cleanup_free char *stat = cgroup_read_str(mem->dir, "memory.stat");
      uint64_t cache = 0;
      if (stat != NULL)
        (void)cgroup_flat_get(stat, "cache", &cache);
      gen_u64(g, "cache", cache, true);
      gen_mem_entry(g, "usage", mem->dir, "memory");
      gen_mem_entry(g, "swap", mem->dir, "memory.memsw");
      gen_mem_entry(g, "kernel", mem->dir, "memory.kmem");
      gen_mem_entry(g, "kernelTCP", mem->dir, "memory.kmem.tcp");
      if (stat != NULL)
        {
          json_gen_key(g, "raw");
          json_gen_object_open(g);
          cgroup_stats_gen_flat(g, stat);
          json_gen_object_close(g);
        }
    }
  json_gen_object_close(g);
}

static int
v1_stats(const isolazi_cgroup_t *cg, json_gen *g, isolazi_error_t *err)
{
  const cgroup_hier_t *pids = cgroup_find_hier(cg, "pids");

  (void)err;
  json_gen_object_open(g);
  v1_stats_cpu(cg, g);
  v1_stats_memory(cg, g);
  json_gen_key(g, "pids");
  json_gen_object_open(g);
  if (pids != NULL)
    {
      uint64_t limit = cgroup_read_u64(pids->dir, "pids.max");
      gen_u64(g, "current", cgroup_read_u64(pids->dir, "pids.current"), true);
      gen_u64(g, "limit", limit == UINT64_MAX ? 0 : limit, true);
    }
  json_gen_object_close(g);
  cgroup_stats_gen_tail(g);
  return 0;
}

const cgroup_driver_t cgroup_driver_v1 = {
  .name = "v1",
  .plan = cgroup_v1_plan,
  .prepare = v1_prepare,
  .kill = v1_kill,
  .freeze = v1_freeze,
  .frozen = v1_frozen,
  .stats = v1_stats,
};
