/* SPDX-License-Identifier: Apache-2.0 */
/* The deciding half of the cgroup code: parsers, path resolution, runc's conversions,
 * resources -> writes for v1 and v2, and the state round trip.  No root needed. */
#include "config.h"
#include "../unit/tap.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "utils.h"

#include <stdlib.h>
#include <string.h>

static const char MOUNTINFO[]
    = "22 1 0:21 / / rw,relatime - overlay overlay rw\n"
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
      "36 31 0:33 /sub /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
      "37 31 0:34 / /sys/fs/cgroup/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio\n"
      "40 31 0:37 / /sys/fs/cgroup/sys\\040temd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
      "42 22 0:32 / /mnt/memory-again rw,relatime - cgroup cgroup rw,memory\n";

static const char PROC_CGROUP[] = "9:name=systemd:/\n"
                                  "7:net_prio,net_cls:/n\n"
                                  "5:devices:/sub/d\n"
                                  "4:memory:/process_api/abc\n"
                                  "3:cpuset:/\n"
                                  "2:cpuacct:/\n"
                                  "1:cpu:/c\n"
                                  "0::/user.slice/session-1.scope\n";

static void
test_clean_path(void)
{
  static const char *const cases[][2] = {
    { "", "" },        { ".", "" },          { "/", "/" },      { "/a//b/./c/", "/a/b/c" }, { "../a", "a" },
    { "/../a", "/a" }, { "a/../../b", "b" }, { "a/b/..", "a" }, { "/x/../../y", "/y" },     { "id", "id" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_free char *c = cgroup_clean_path(cases[i][0]);
      tap_streq(c, cases[i][1], "clean_path (\"%s\")", cases[i][0]);
    }
}

static void
test_mountinfo(void)
{
  cgroup_host_t h = { NULL, 0, NULL };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  tap_ok(cgroup_parse_mountinfo(MOUNTINFO, &h, &err) == 0, "parse mountinfo");
  tap_ok(h.n_v1 == 7, "7 v1 hierarchies (duplicate memory mount dropped), got %zu", h.n_v1);
  if (h.n_v1 == 7)
    {
      tap_streq(h.v1[0].controllers, "cpu", "first is cpu");
      tap_streq(h.v1[2].controllers, "cpuset", "flags are not controllers");
      tap_streq(h.v1[3].mountpoint, "/sys/fs/cgroup/memory", "memory mountpoint is the first mount");
      tap_streq(h.v1[4].root, "/sub", "mount root kept");
      tap_streq(h.v1[5].controllers, "net_cls,net_prio", "co-mounted controllers");
      tap_streq(h.v1[6].controllers, "name=systemd", "named hierarchy");
      tap_streq(h.v1[6].mountpoint, "/sys/fs/cgroup/sys temd", "mountpoint unescaped");
    }
  tap_streq(h.unified, "/sys/fs/cgroup/unified", "cgroup2 mount");
  cgroup_host_clear(&h);
  tap_ok(cgroup_parse_mountinfo("1 2 3\n", &h, &err) < 0 && err.msg && strstr(err.msg, "line 1"),
         "bad mountinfo names the line: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
}

static void
test_own_path(void)
{
  cleanup_free char *a = cgroup_own_path(PROC_CGROUP, "memory");
  cleanup_free char *b = cgroup_own_path(PROC_CGROUP, "net_cls,net_prio");
  cleanup_free char *c = cgroup_own_path(PROC_CGROUP, "");
  cleanup_free char *d = cgroup_own_path(PROC_CGROUP, "hugetlb");
  cleanup_free char *e = cgroup_own_path(PROC_CGROUP, "cpu");

  tap_streq(a, "/process_api/abc", "own memory cgroup");
  tap_streq(b, "/n", "controller sets match in any order");
  tap_streq(c, "/user.slice/session-1.scope", "own cgroup2 cgroup");
  tap_ok(d == NULL, "absent hierarchy");
  tap_streq(e, "/c", "cpu is not cpuacct");
}

static const char *
dir_of(const isolazi_cgroup_t *cg, const char *name)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, name);
  return h ? h->dir : NULL;
}

static void
cg_reset(isolazi_cgroup_t *cg, isolazi_cgroup_mode_t mode)
{
  size_t i;

  for (i = 0; i < cg->n_hiers; i++)
    {
      free(cg->hiers[i].name);
      free(cg->hiers[i].dir);
      free(cg->hiers[i].created);
    }
  free(cg->hiers);
  free(cg->path);
  memset(cg, 0, sizeof *cg);
  cg->mode = mode;
  cg->v2_fd = -1;
}

static void
test_plan_dirs(void)
{
  cgroup_host_t h = { NULL, 0, NULL };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_cgroup_t cg;

  memset(&cg, 0, sizeof cg);
  (void)cgroup_parse_mountinfo(MOUNTINFO, &h, &err);

  cg_reset(&cg, ISOLAZI_CGROUP_HYBRID);
  tap_ok(cgroup_plan_dirs(ISOLAZI_CGROUP_HYBRID, &h, h.unified, PROC_CGROUP, "foo/../bar/c1", "c1", &cg, &err) == 0,
         "hybrid relative path");
  tap_ok(cg.n_hiers == 8, "7 v1 + unified");
  tap_streq(dir_of(&cg, "memory"), "/sys/fs/cgroup/memory/process_api/abc/bar/c1", "relative to own memory cgroup");
  tap_streq(dir_of(&cg, "cpu"), "/sys/fs/cgroup/cpu/c/bar/c1", "relative to own cpu cgroup");
  tap_streq(dir_of(&cg, "devices"), "/sys/fs/cgroup/devices/d/bar/c1", "bind-mounted subtree root stripped");
  tap_streq(dir_of(&cg, "cpuacct"), "/sys/fs/cgroup/cpuacct/bar/c1", "own cgroup / ");
  tap_streq(dir_of(&cg, ""), "/sys/fs/cgroup/unified/user.slice/session-1.scope/bar/c1",
            "hybrid unified: relative to own cgroup");
  tap_streq(cg.path, "/user.slice/session-1.scope/bar/c1", "path is the cgroup2 one on hybrid");

  cg_reset(&cg, ISOLAZI_CGROUP_HYBRID);
  tap_ok(cgroup_plan_dirs(ISOLAZI_CGROUP_HYBRID, &h, h.unified, NULL, "/isolazi/c1", "c1", &cg, &err) == 0,
         "absolute path needs no /proc/self/cgroup");
  tap_streq(dir_of(&cg, "memory"), "/sys/fs/cgroup/memory/isolazi/c1", "absolute memory");
  tap_streq(dir_of(&cg, "name=systemd"), "/sys/fs/cgroup/sys temd/isolazi/c1", "absolute named");
  tap_streq(dir_of(&cg, ""), "/sys/fs/cgroup/unified/isolazi/c1", "absolute unified");
  tap_streq(cg.path, "/isolazi/c1", "path");

  cg_reset(&cg, ISOLAZI_CGROUP_V1);
  tap_ok(cgroup_plan_dirs(ISOLAZI_CGROUP_V1, &h, NULL, PROC_CGROUP, "", "c2", &cg, &err) == 0, "v1, empty path");
  tap_ok(cg.n_hiers == 7 && dir_of(&cg, "") == NULL, "v1: no cgroup2 dir");
  tap_streq(dir_of(&cg, "memory"), "/sys/fs/cgroup/memory/process_api/abc/c2", "empty path = id, relative");
  tap_streq(cg.path, "/c/c2", "v1 path is the first hierarchy's");

  cg_reset(&cg, ISOLAZI_CGROUP_V2);
  tap_ok(cgroup_plan_dirs(ISOLAZI_CGROUP_V2, NULL, "/sys/fs/cgroup", PROC_CGROUP, NULL, "c3", &cg, &err) == 0,
         "v2, no path");
  tap_ok(cg.n_hiers == 1, "v2: one hierarchy");
  tap_streq(dir_of(&cg, ""), "/sys/fs/cgroup/user.slice/c3", "v2: relative to the parent of the own cgroup");
  tap_streq(cg.path, "/user.slice/c3", "v2 path");

  cg_reset(&cg, ISOLAZI_CGROUP_V1);
  tap_ok(cgroup_plan_dirs(ISOLAZI_CGROUP_V1, &h, NULL, "1:cpu:/\n", "rel", "c4", &cg, &err) < 0 && err.msg
             && strstr(err.msg, "cpuacct"),
         "missing own cgroup is an error: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);

  cg_reset(&cg, ISOLAZI_CGROUP_V1);
  cgroup_host_clear(&h);
}

static void
test_conversions(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int64_t v = 0;
  bool set = false;

  tap_ok(cgroup_shares_to_weight(0) == 0, "shares 0 -> unset");
  tap_ok(cgroup_shares_to_weight(2) == 1, "shares 2 -> 1");
  tap_ok(cgroup_shares_to_weight(1024) == 39, "shares 1024 -> 39 (runc 1.1), got %llu",
         (unsigned long long)cgroup_shares_to_weight(1024));
  tap_ok(cgroup_shares_to_weight(262144) == 10000, "shares 262144 -> 10000");
  tap_ok(cgroup_shares_to_weight(1) == 1, "shares 1 clamps, no wrap-around");
  tap_ok(cgroup_blkio_weight_to_io_weight(10) == 1, "blkio 10 -> 1");
  tap_ok(cgroup_blkio_weight_to_io_weight(500) == 4950, "blkio 500 -> 4950, got %llu",
         (unsigned long long)cgroup_blkio_weight_to_io_weight(500));
  tap_ok(cgroup_blkio_weight_to_io_weight(1000) == 10000, "blkio 1000 -> 10000");

  tap_ok(cgroup_swap_to_v2(3000, true, 1000, true, &v, &set, &err) == 0 && set && v == 2000, "swap 3000-1000");
  tap_ok(cgroup_swap_to_v2(1000, true, 1000, true, &v, &set, &err) == 0 && set && v == 0, "swap == limit -> 0");
  tap_ok(cgroup_swap_to_v2(0, false, -1, true, &v, &set, &err) == 0 && set && v == -1, "unlimited memory -> max");
  tap_ok(cgroup_swap_to_v2(-1, true, 1000, true, &v, &set, &err) == 0 && set && v == -1, "swap -1 -> max");
  tap_ok(cgroup_swap_to_v2(0, false, 1000, true, &v, &set, &err) == 0 && !set, "no swap: untouched");
  tap_ok(cgroup_swap_to_v2(100, true, 0, false, &v, &set, &err) < 0, "swap without limit: error");
  isolazi_error_release(&err);
  tap_ok(cgroup_swap_to_v2(100, true, 1000, true, &v, &set, &err) < 0 && strstr(err.msg, "memory.swap"),
         "swap < limit: error naming the field");
  isolazi_error_release(&err);
}

/* "file=value;file=value" of a plan, for compact comparisons. */
static char *
render(const cgroup_writes_t *w)
{
  char *s = xstrdup("");
  size_t i;

  for (i = 0; i < w->len; i++)
    {
      char *n = xasprintf("%s%s%s=%s", s, i ? ";" : "", w->v[i].file, w->v[i].value);
      free(s);
      s = n;
    }
  return s;
}

static void
test_plans(void)
{
  oci_memory mem;
  oci_cpu cpu;
  oci_pids pids;
  oci_device_cgroup devs[3];
  oci_resources r;
  cgroup_writes_t w = { NULL, 0, 0 };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *keys[] = { (char *)"memory.high", NULL }, *values[] = { (char *)"4194304", NULL };
  char *bad_keys[] = { (char *)"../escape", NULL };

  memset(&mem, 0, sizeof mem);
  memset(&cpu, 0, sizeof cpu);
  memset(&pids, 0, sizeof pids);
  memset(devs, 0, sizeof devs);
  memset(&r, 0, sizeof r);
  mem.limit = 1048576;
  mem.limit_present = true;
  mem.swap = 2097152;
  mem.swap_present = true;
  mem.reservation = 524288;
  mem.reservation_present = true;
  mem.swappiness = 10;
  mem.swappiness_present = true;
  cpu.shares = 1024;
  cpu.shares_present = true;
  cpu.quota = 50000;
  cpu.quota_present = true;
  cpu.period = 100000;
  cpu.period_present = true;
  cpu.cpus = (char *)"0";
  pids.limit = 0;
  pids.limit_present = true;
  devs[0].allow = true;
  devs[0].type = (char *)"c";
  devs[0].major = 1;
  devs[0].major_present = true;
  devs[0].minor = 3;
  devs[0].minor_present = true;
  devs[0].access = (char *)"rwm";
  devs[1].allow = true;
  devs[1].type = (char *)"c";
  devs[1].major = 136;
  devs[1].major_present = true;
  devs[1].access = (char *)"rw";
  devs[2].allow = false;
  r.memory = &mem;
  r.cpu = &cpu;
  r.pids = &pids;
  r.devices = devs;
  r.devices_len = 3;

  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v1_plan(&r, &w, &err) == 0, "v1 plan");
    s = render(&w);
    tap_streq(s,
              "devices.deny=a;devices.allow=c 1:3 rwm;devices.allow=c 136:* rw;devices.deny=a *:* rwm;"
              "memory.limit_in_bytes=1048576;memory.memsw.limit_in_bytes=2097152;"
              "memory.soft_limit_in_bytes=524288;memory.swappiness=10;cpu.shares=1024;cpu.cfs_period_us=100000;"
              "cpu.cfs_quota_us=50000;cpuset.cpus=0;pids.max=max",
              "v1 writes in order");
    tap_ok(w.len > 5 && w.v[5].optional && strcmp(w.v[5].controller, "memory") == 0,
           "memsw is optional (swap accounting may be off)");
    tap_streq(w.len > 4 ? w.v[4].field : NULL, "linux.resources.memory.limit", "write names its field");
    cgroup_writes_clear(&w);
  }

  mem.swap = -1;
  pids.limit = 42;
  r.devices_len = 0;
  r.cpu = NULL;
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v1_plan(&r, &w, &err) == 0, "v1 plan, unlimited swap");
    s = render(&w);
    tap_streq(s,
              "memory.memsw.limit_in_bytes=-1;memory.limit_in_bytes=1048576;memory.soft_limit_in_bytes=524288;"
              "memory.swappiness=10;pids.max=42",
              "unlimited swap is written before the limit");
    cgroup_writes_clear(&w);
  }

  r.unified.keys = keys;
  r.unified.values = values;
  r.unified.len = 1;
  tap_ok(cgroup_v1_plan(&r, &w, &err) < 0 && strstr(err.msg, "linux.resources.unified"), "v1 refuses unified: %s",
         err.msg ? err.msg : "");
  isolazi_error_release(&err);
  cgroup_writes_clear(&w);

  mem.swap = 2097152;
  r.cpu = &cpu;
  r.devices_len = 3;
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v2_plan(&r, &w, &err) == 0, "v2 plan");
    s = render(&w);
    tap_streq(s,
              "pids.max=42;memory.swap.max=1048576;memory.max=1048576;memory.low=524288;cpu.weight=39;"
              "cpu.max=50000 100000;cpuset.cpus=0;memory.high=4194304",
              "v2 writes (devices skipped, unified last)");
    cgroup_writes_clear(&w);
  }

  cpu.quota = -1;
  cpu.period_present = false;
  r.unified.len = 0;
  r.memory = NULL;
  r.devices_len = 0;
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v2_plan(&r, &w, &err) == 0, "v2 plan, quota -1");
    s = render(&w);
    tap_streq(s, "pids.max=42;cpu.weight=39;cpu.max=max;cpuset.cpus=0", "quota -1 -> max");
    cgroup_writes_clear(&w);
  }

  r.unified.keys = bad_keys;
  r.unified.len = 1;
  tap_ok(cgroup_v2_plan(&r, &w, &err) < 0 && strstr(err.msg, "../escape"), "unified key with a slash refused");
  isolazi_error_release(&err);
  cgroup_writes_clear(&w);
}

static void
test_json(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_cgroup_t cg, *back = NULL;
  cgroup_host_t h = { NULL, 0, NULL };
  json_gen *g = json_gen_new(false);
  cleanup_free char *text = NULL, *text2 = NULL, *jerr = NULL;
  json_value *v = NULL;
  size_t len = 0;

  memset(&cg, 0, sizeof cg);
  cg_reset(&cg, ISOLAZI_CGROUP_HYBRID);
  (void)cgroup_parse_mountinfo(MOUNTINFO, &h, &err);
  (void)cgroup_plan_dirs(ISOLAZI_CGROUP_HYBRID, &h, h.unified, PROC_CGROUP, "/a/b", "x", &cg, &err);
  cg.hiers[0].created = xstrdup("/sys/fs/cgroup/cpu/a");
  cg.hiers[3].created = xstrdup(cg.hiers[3].dir);
  isolazi_cgroup_to_json(&cg, g);
  tap_ok(json_gen_finish(g, &text, &len, &jerr) == 0, "generate state");
  json_gen_free(g);
  v = json_parse(text, len, &jerr);
  tap_ok(v != NULL && isolazi_cgroup_from_json(v, &back, &err) == 0, "load state back: %s", err.msg ? err.msg : "");
  if (back != NULL)
    {
      g = json_gen_new(false);
      isolazi_cgroup_to_json(back, g);
      (void)json_gen_finish(g, &text2, &len, &jerr);
      json_gen_free(g);
      tap_streq(text2, text, "round trip is identical");
      tap_ok(isolazi_cgroup_get_mode(back) == ISOLAZI_CGROUP_HYBRID, "mode kept");
      tap_streq(isolazi_cgroup_path(back), "/a/b", "path kept");
      tap_streq(back->hiers[0].created, "/sys/fs/cgroup/cpu/a", "created parent kept");
      tap_ok(back->hiers[1].created == NULL, "not-created kept as null");
      tap_streq(isolazi_cgroup_dir(back, "memory"), "/sys/fs/cgroup/memory/a/b", "dir by controller");
      isolazi_cgroup_free(back);
      back = NULL;
    }
  json_value_free(v);

  {
    static const char bad[]
        = "{\"mode\":\"v1\",\"path\":\"/a\",\"hierarchies\":[{\"name\":\"cpu\",\"dir\":\"/sys/fs/cgroup/cpu/a\","
          "\"created\":\"/etc\"}]}";
    v = json_parse(bad, strlen(bad), &jerr);
    tap_ok(v != NULL && isolazi_cgroup_from_json(v, &back, &err) < 0, "created outside dir refused: %s",
           err.msg ? err.msg : "");
    isolazi_error_release(&err);
    json_value_free(v);
  }
  {
    static const char bad[] = "{\"mode\":\"v3\",\"path\":\"/a\",\"hierarchies\":[]}";
    v = json_parse(bad, strlen(bad), &jerr);
    tap_ok(v != NULL && isolazi_cgroup_from_json(v, &back, &err) < 0, "unknown mode refused");
    isolazi_error_release(&err);
    json_value_free(v);
  }
  cg_reset(&cg, ISOLAZI_CGROUP_V1);
  cgroup_host_clear(&h);
}

/* update: devices untouched, memsw first when raising above the current limit, pids 0 kept. */
static void
test_plan_update(void)
{
  oci_resources r = { 0 };
  oci_memory mem = { 0 };
  oci_pids pids = { 0 };
  oci_device_cgroup dev = { 0 };
  cgroup_writes_t w = { NULL, 0, 0 };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  mem.limit = 268435456;
  mem.limit_present = true;
  mem.swap = 536870912;
  mem.swap_present = true;
  r.memory = &mem;
  r.devices = &dev;
  r.devices_len = 1;
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v1_plan_update(&r, 33554432, &w, &err) == 0, "v1 update plan (raise)");
    s = render(&w);
    tap_streq(s, "memory.memsw.limit_in_bytes=536870912;memory.limit_in_bytes=268435456",
              "update: memsw first when above the current limit; no device writes");
    cgroup_writes_clear(&w);
  }
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v1_plan_update(&r, 1073741824, &w, &err) == 0, "v1 update plan (lower)");
    s = render(&w);
    tap_streq(s, "memory.limit_in_bytes=268435456;memory.memsw.limit_in_bytes=536870912",
              "update: limit first when lowering");
    cgroup_writes_clear(&w);
  }
  r.memory = NULL;
  pids.limit_present = true;
  r.pids = &pids;
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v1_plan_update(&r, UINT64_MAX, &w, &err) == 0, "v1 update plan (pids 0)");
    s = render(&w);
    tap_streq(s, "", "update: pids.limit 0 leaves pids.max alone (runc)");
    cgroup_writes_clear(&w);
  }
  {
    cleanup_free char *s = NULL;
    tap_ok(cgroup_v1_plan(&r, &w, &err) == 0, "v1 create plan (pids 0)");
    s = render(&w);
    tap_streq(s, "devices.deny=a;devices.deny=a *:* rwm;pids.max=max", "create still writes devices and pids");
    cgroup_writes_clear(&w);
  }
  isolazi_error_release(&err);
}

static void
test_merge(void)
{
  char *err = NULL;
  cleanup_free char *m = cgroup_resources_merge_json(
      "{\"memory\":{\"limit\":1,\"swap\":2},\"cpu\":{\"quota\":5,\"period\":100,\"cpus\":\"0-1\"},"
      "\"devices\":[{\"allow\":false}]}",
      "{\"memory\":{\"limit\":3},\"cpu\":{\"period\":200},\"pids\":{\"limit\":9},\"devices\":[]}", &err);
  cleanup_free char *first = cgroup_resources_merge_json(NULL, "{\"pids\":{\"limit\":18446744073709551615}}", &err);
  cleanup_free char *bad = cgroup_resources_merge_json("{}", "{\"memory\":", &err);

  tap_streq(m,
            "{\"memory\":{\"limit\":3,\"swap\":2},\"cpu\":{\"quota\":5,\"period\":200,\"cpus\":\"0-1\"},"
            "\"devices\":[],\"pids\":{\"limit\":9}}",
            "merge: objects key by key, scalars and arrays replaced, new keys appended");
  tap_streq(first, "{\"pids\":{\"limit\":18446744073709551615}}", "merge with nothing kept; big numbers survive");
  tap_ok(bad == NULL && err != NULL, "merge: a syntax error is reported");
  free(err);
}

static void
test_parse_files(void)
{
  uint64_t v = 0, *l = NULL, *u = NULL, *sy = NULL;
  size_t n;

  tap_ok(cgroup_parse_u64("123\n", &v) && v == 123, "parse_u64 123");
  tap_ok(cgroup_parse_u64("max\n", &v) && v == UINT64_MAX, "parse_u64 max");
  tap_ok(!cgroup_parse_u64("-1", &v) && !cgroup_parse_u64("", &v) && !cgroup_parse_u64("12x", &v),
         "parse_u64 refuses -1, empty, 12x");
  tap_ok(cgroup_flat_get("cache 5\nrss 7\ntotal_rss 9\n", "rss", &v) && v == 7, "flat_get rss (not total_rss)");
  tap_ok(!cgroup_flat_get("cache 5\n", "rss", &v), "flat_get: absent key");
  tap_ok(cgroup_flat_get("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n", "oom_kill", &v) && v == 2,
         "flat_get oom_kill of memory.events");
  n = cgroup_parse_u64_list("10 20 30 \n", &l);
  tap_ok(n == 3 && l[0] == 10 && l[2] == 30, "usage_percpu: 3 values");
  free(l);
  n = cgroup_parse_usage_all("cpu user system\n0 100 200\n1 300 400\n", &u, &sy);
  tap_ok(n == 2 && u[0] == 100 && sy[0] == 200 && u[1] == 300 && sy[1] == 400, "usage_all: per-cpu user/system");
  free(u);
  free(sy);
}

int
main(void)
{
  test_clean_path();
  test_mountinfo();
  test_own_path();
  test_plan_dirs();
  test_conversions();
  test_plans();
  test_json();
  test_plan_update();
  test_merge();
  test_parse_files();
  return tap_done();
}
