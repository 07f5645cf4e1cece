/* SPDX-License-Identifier: Apache-2.0 */
/* The systemd cgroup driver (--systemd-cgroup, --cgroup-manager systemd), over systemd's D-Bus
 * API with sd-bus.  As with runc: linux.cgroupsPath is "slice:prefix:name"; the container gets
 * a transient scope "prefix-name.scope" in that slice (or a slice unit when the name ends in
 * ".slice"), started with Delegate=yes and the resource properties systemd knows; the job is
 * awaited (JobRemoved); then the cgroupfs drivers apply everything, systemd's part included,
 * to the unit's cgroup.  update sets the properties again (SetUnitProperties) before the files;
 * delete stops the unit.
 *
 * A scope needs a process when it starts (systemd refuses an empty one and removes a scope once
 * it empties), while the container init must be cloned straight into the cgroup (clone3
 * CLONE_INTO_CGROUP, and on v1 the init's own fds, opened before the clone).  So a placeholder
 * child holds the new scope until the init is in it: isolazi_cgroup_placed() ends it. */
#include "config.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "log.h"
#include "sdbus.h"
#include "utils.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define F "linux.resources."

#define SD_DEST  "org.freedesktop.systemd1"
#define SD_PATH  "/org/freedesktop/systemd1"
#define SD_MGR   "org.freedesktop.systemd1.Manager"
#define SD_UNIT  "org.freedesktop.systemd1.Unit"
#define SD_SCOPE "org.freedesktop.systemd1.Scope"

/* runc waits 30 s for systemd's job; so do we. */
#define JOB_TIMEOUT_USEC (30 * 1000000ULL)
/* systemd's default CPU quota period (CPUQuotaPeriodUSec unset): 100 ms. */
#define DEFAULT_CPU_PERIOD 100000
#define USEC_INFINITY      UINT64_MAX

/* Bad input: EINVAL kept for callers, but no ": invalid argument" after a message that
 * already says what is wrong. */
#define bad_input(err, ...) isolazi_error_take((err), EINVAL, xasprintf(__VA_ARGS__))

/* ---- deciding (pure) ---- */

void
cgroup_sd_unit_clear(cgroup_sd_unit_t *u)
{
  free(u->slice);
  free(u->unit);
  free(u->path);
  u->slice = u->unit = u->path = NULL;
  u->is_slice = false;
}

int
cgroup_sd_expand_slice(const char *slice, char **ret, isolazi_error_t *err)
{
  static const char suffix[] = ".slice";
  const size_t slen = sizeof suffix - 1;
  size_t n = strlen(slice), base_len, i, start = 0;
  char *out;
  size_t o = 0;

  if (n <= slen || !isolazi_has_suffix(slice, suffix) || strchr(slice, '/') != NULL)
    return bad_input(err, "invalid slice name `%s`: expected NAME.slice without `/`", slice);
  base_len = n - slen;
  if (base_len == 1 && slice[0] == '-')
    {
      *ret = xstrdup("/"); /* the root slice */
      return 0;
    }
  /* Each dash-separated component names one level, and the path repeats the prefix at every
   * level: "a-b.slice" lives in "/a.slice/a-b.slice".  Empty components ("a--b", "-a", "a-")
   * are invalid in systemd's slice names. */
  out = xmalloc(n * (n + 2) + 2);
  for (i = 0; i <= base_len; i++)
    {
      if (i < base_len && slice[i] != '-')
        continue;
      if (i == start)
        {
          free(out);
          return bad_input(err, "invalid slice name `%s`: empty component", slice);
        }
      o += (size_t)sprintf(out + o, "/%.*s%s", (int)i, slice, suffix);
      start = i + 1;
    }
  *ret = out;
  return 0;
}

/* Characters systemd accepts in a unit name (unit-name.c: letters, digits, ":-_.\\" and "@"
 * for templates). */
static bool
valid_unit_name(const char *s)
{
  const char *p;

  if (*s == '\0' || strlen(s) > 255)
    return false;
  for (p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(":-_.\\@", *p)))
      return false;
  return true;
}

int
cgroup_sd_parse_path(const char *cgroups_path, const char *id, bool rootless, cgroup_sd_unit_t *ret,
                     isolazi_error_t *err)
{
  cgroup_sd_unit_t u = { NULL, NULL, NULL, false };
  cleanup_free char *slice = NULL;
  cleanup_free char *prefix = NULL;
  cleanup_free char *name = NULL;
  cleanup_free char *expanded = NULL;
  isolazi_error_t e = ISOLAZI_ERROR_INIT;

  if (cgroups_path == NULL || *cgroups_path == '\0')
    {
      /* runc: ":runc:ID", the slice left to the driver (system.slice, or user.slice under the
       * user manager).  Our prefix is our name. */
      slice = xstrdup("");
      prefix = xstrdup("isolazi");
      name = xstrdup(id ? id : "");
    }
  else
    {
      const char *c1 = strchr(cgroups_path, ':');
      const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      if (c1 == NULL || c2 == NULL || strchr(c2 + 1, ':') != NULL)
        return bad_input(err,
                         "linux.cgroupsPath: expected \"slice:prefix:name\" for the systemd cgroup driver, "
                         "got \"%s\"",
                         cgroups_path);
      slice = strndup(cgroups_path, (size_t)(c1 - cgroups_path));
      prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
      name = xstrdup(c2 + 1);
      if (slice == NULL || prefix == NULL)
        abort();
    }
  if (*name == '\0')
    return bad_input(err, "linux.cgroupsPath: \"%s\": the name (after the second `:`) is empty",
                     cgroups_path ? cgroups_path : "");
  u.slice = *slice ? xstrdup(slice) : xstrdup(rootless ? "user.slice" : "system.slice");
  if (cgroup_sd_expand_slice(u.slice, &expanded, &e) < 0)
    {
      cgroup_sd_unit_clear(&u);
      isolazi_error_take(err, e.code, xasprintf("linux.cgroupsPath: %s", e.msg));
      isolazi_error_release(&e);
      return -1;
    }
  u.is_slice = isolazi_has_suffix(name, ".slice");
  if (u.is_slice)
    u.unit = xstrdup(name);
  else if (*prefix == '\0')
    u.unit = xasprintf("%s.scope", name);
  else
    u.unit = xasprintf("%s-%s.scope", prefix, name);
  if (!valid_unit_name(u.unit))
    {
      bad_input(err, "linux.cgroupsPath: invalid systemd unit name `%s` (letters, digits and `:-_.\\@` only)", u.unit);
      cgroup_sd_unit_clear(&u);
      return -1;
    }
  if (u.is_slice)
    {
      /* A slice's place follows from its own name, whatever slice it is asked to want. */
      if (cgroup_sd_expand_slice(u.unit, &u.path, &e) < 0)
        {
          isolazi_error_take(err, e.code, xasprintf("linux.cgroupsPath: %s", e.msg));
          isolazi_error_release(&e);
          cgroup_sd_unit_clear(&u);
          return -1;
        }
    }
  else
    u.path = xasprintf("%s/%s", strcmp(expanded, "/") == 0 ? "" : expanded, u.unit);
  *ret = u;
  return 0;
}

void
cgroup_sd_props_clear(cgroup_sd_props_t *p)
{
  size_t i;

  for (i = 0; i < p->len; i++)
    {
      free(p->v[i].str);
      free(p->v[i].bytes);
    }
  free(p->v);
  p->v = NULL;
  p->len = 0;
}

static cgroup_sd_prop_t *
prop_add(cgroup_sd_props_t *p, const char *name, cgroup_sd_type_t type)
{
  cgroup_sd_prop_t *e;

  p->v = xrealloc(p->v, (p->len + 1) * sizeof *p->v);
  e = &p->v[p->len++];
  memset(e, 0, sizeof *e);
  e->name = name;
  e->type = type;
  return e;
}

static void
prop_u64(cgroup_sd_props_t *p, const char *name, uint64_t v)
{
  prop_add(p, name, CGROUP_SD_U64)->u64 = v;
}

char *
cgroup_sd_prop_format(const cgroup_sd_prop_t *p)
{
  char *s, *o;
  size_t i;

  switch (p->type)
    {
    case CGROUP_SD_U64:
      if (p->u64 == UINT64_MAX)
        return xasprintf("%s=infinity", p->name);
      return xasprintf("%s=%" PRIu64, p->name, p->u64);
    case CGROUP_SD_BOOL:
      return xasprintf("%s=%s", p->name, p->u64 ? "yes" : "no");
    case CGROUP_SD_PID:
      return xasprintf("%s=[%" PRIu64 "]", p->name, p->u64);
    case CGROUP_SD_STR:
      return xasprintf("%s=%s", p->name, p->str);
    case CGROUP_SD_STRV1:
      return xasprintf("%s=[%s]", p->name, p->str);
    case CGROUP_SD_BYTES:
      /* Most significant byte first, as a number reads. */
      s = xmalloc(strlen(p->name) + 4 + 2 * p->n_bytes);
      o = s + sprintf(s, "%s=0x", p->name);
      for (i = p->n_bytes; i > 0; i--)
        o += sprintf(o, "%02x", p->bytes[i - 1]);
      return s;
    }
  return xstrdup(p->name);
}

int
cgroup_sd_cpuset_mask(const char *list, const char *field, uint8_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  uint8_t *mask = NULL;
  size_t len = 0;
  const char *p = list;

  /* "0-3,8,10-11": ranges and single numbers, comma-separated (cpuset(7) "List format"). */
  while (*p)
    {
      unsigned long lo, hi, b;
      char *end;
      if (*p < '0' || *p > '9')
        goto bad;
      lo = strtoul(p, &end, 10);
      hi = lo;
      p = end;
      if (*p == '-')
        {
          p++;
          if (*p < '0' || *p > '9')
            goto bad;
          hi = strtoul(p, &end, 10);
          p = end;
        }
      /* A bound keeps a typo from allocating gigabytes; 8192 is far above any CPU count. */
      if (hi < lo || hi >= 8192)
        goto bad;
      if (hi / 8 + 1 > len)
        {
          mask = xrealloc(mask, hi / 8 + 1);
          memset(mask + len, 0, hi / 8 + 1 - len);
          len = hi / 8 + 1;
        }
      for (b = lo; b <= hi; b++)
        mask[b / 8] |= (uint8_t)(1u << (b % 8));
      if (*p == ',')
        {
          p++;
          if (*p == '\0')
            goto bad;
        }
      else if (*p != '\0' && *p != '\n')
        goto bad;
      else if (*p == '\n')
        break;
    }
  if (len == 0)
    goto bad;
  *ret = mask;
  *ret_len = len;
  return 0;

bad:
  free(mask);
  return bad_input(err, "%s: invalid list `%s` (expected e.g. `0-3,8`)", field, list);
}

static int
props_cpu(const oci_cpu *c, bool v2, unsigned sd_version, cgroup_sd_props_t *p, isolazi_error_t *err)
{
  bool quota = c->quota_present && c->quota != 0, period = c->period_present && c->period != 0;

  if (c->shares_present && c->shares != 0)
    prop_u64(p, v2 ? "CPUWeight" : "CPUShares", v2 ? cgroup_shares_to_weight(c->shares) : c->shares);
  /* systemd takes the quota as CPU time per second of wall clock and turns it into a
   * percentage: round a fraction of a percent up to whole 10 ms, as runc does, so that the
   * exact cpu.max written afterwards is never above what systemd granted. */
  if (period && sd_version >= 242)
    prop_u64(p, "CPUQuotaPeriodUSec", c->period);
  else if (period)
    isolazi_debug("systemd %u has no CPUQuotaPeriodUSec; the period goes to the cgroup file only", sd_version);
  if (quota || period)
    {
      uint64_t per_sec = USEC_INFINITY;
      if (quota && c->quota > 0)
        {
          per_sec = (uint64_t)c->quota * 1000000 / (period ? c->period : DEFAULT_CPU_PERIOD);
          if (per_sec % 10000 != 0)
            per_sec = (per_sec / 10000 + 1) * 10000;
        }
      prop_u64(p, "CPUQuotaPerSecUSec", per_sec);
    }
  /* cpuset is a v2-only controller for systemd, and AllowedCPUs came with systemd 244. */
  if (v2 && sd_version >= 244)
    {
      if (c->cpus != NULL && c->cpus[0] != '\0')
        {
          cgroup_sd_prop_t *e = prop_add(p, "AllowedCPUs", CGROUP_SD_BYTES);
          if (cgroup_sd_cpuset_mask(c->cpus, F "cpu.cpus", &e->bytes, &e->n_bytes, err) < 0)
            return -1;
        }
      if (c->mems != NULL && c->mems[0] != '\0')
        {
          cgroup_sd_prop_t *e = prop_add(p, "AllowedMemoryNodes", CGROUP_SD_BYTES);
          if (cgroup_sd_cpuset_mask(c->mems, F "cpu.mems", &e->bytes, &e->n_bytes, err) < 0)
            return -1;
        }
    }
  return 0;
}

int
cgroup_sd_resource_props(const oci_resources *r, bool v2, unsigned sd_version, cgroup_sd_props_t *p,
                         isolazi_error_t *err)
{
  if (r == NULL)
    return 0;
  if (r->memory != NULL)
    {
      const oci_memory *m = r->memory;
      /* -1 is unlimited: UINT64_MAX is systemd's "infinity". */
      if (m->limit_present && m->limit != 0)
        prop_u64(p, v2 ? "MemoryMax" : "MemoryLimit", m->limit < 0 ? UINT64_MAX : (uint64_t)m->limit);
      if (v2)
        {
          int64_t swap = 0;
          bool swap_set = false;
          if (m->reservation_present && m->reservation != 0)
            prop_u64(p, "MemoryLow", m->reservation < 0 ? UINT64_MAX : (uint64_t)m->reservation);
          if (cgroup_swap_to_v2(m->swap, m->swap_present, m->limit, m->limit_present, &swap, &swap_set, err) < 0)
            return -1;
          if (swap_set)
            prop_u64(p, "MemorySwapMax", swap < 0 ? UINT64_MAX : (uint64_t)swap);
        }
    }
  if (r->cpu != NULL && props_cpu(r->cpu, v2, sd_version, p, err) < 0)
    return -1;
  if (r->pids != NULL && r->pids->limit_present)
    prop_u64(p, "TasksMax", r->pids->limit > 0 ? (uint64_t)r->pids->limit : UINT64_MAX);
  if (r->block_io != NULL && r->block_io->weight_present && r->block_io->weight != 0)
    prop_u64(p, v2 ? "IOWeight" : "BlockIOWeight",
             v2 ? cgroup_blkio_weight_to_io_weight(r->block_io->weight) : r->block_io->weight);
  return 0;
}

/* ---- doing: the bus ---- */

static void
bus_closep(sd_bus **b)
{
  if (*b != NULL)
    sd_bus_flush_close_unref(*b);
}
#define cleanup_bus __attribute__((cleanup(bus_closep)))

static void
bus_msg_unrefp(sd_bus_message **m)
{
  if (*m != NULL)
    sd_bus_message_unref(*m);
}
#define cleanup_msg __attribute__((cleanup(bus_msg_unrefp)))

static long long
now_usec(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* strerror as the rest of our messages write it: "no such file or directory". */
static char *
errno_text(int code)
{
  char *s = xstrdup(strerror(code));

  if (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z')
    s[0] = (char)(s[0] - 'A' + 'a');
  return s;
}

/* The bus error as one phrase: "Unit x.scope not loaded. (org.freedesktop.systemd1.NoSuchUnit)". */
static char *
bus_error_text(const sd_bus_error *e, int r)
{
  if (e != NULL && e->message != NULL && e->name != NULL)
    return xasprintf("%s (%s)", e->message, e->name);
  if (e != NULL && e->name != NULL)
    return xstrdup(e->name);
  return errno_text(r < 0 ? -r : r);
}

static bool
no_manager_error(const sd_bus_error *e)
{
  /* A bus without systemd on it (a D-Bus daemon but another init). */
  return sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.ServiceUnknown",
                                "org.freedesktop.DBus.Error.NameHasNoOwner");
}

static int
no_manager(bool user, const char *cause, int code, isolazi_error_t *err)
{
  if (user)
    return isolazi_error_take(err, code,
                              xasprintf("systemd cgroup driver: cannot connect to the user bus (%s): is a systemd "
                                        "user manager running for uid %u (XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS)?",
                                        cause, (unsigned)geteuid()));
  return isolazi_error_take(
      err, code,
      xasprintf("systemd cgroup driver: cannot connect to the system bus (%s): is systemd running as init?", cause));
}

/* systemd's own socket first (what systemctl does as root: no bus daemon needed, and the
 * manager's signals reach every client on it), then the bus. */
static int
bus_connect(bool user, sd_bus **ret, isolazi_error_t *err)
{
  cleanup_free char *private_path = NULL;
  sd_bus *bus = NULL;
  int r;

  if (isolazi_sdbus_load(err) < 0)
    return -1;
  if (user)
    {
      const char *xdg = getenv("XDG_RUNTIME_DIR");
      if (xdg != NULL && *xdg == '/')
        private_path = xasprintf("%s/systemd/private", xdg);
    }
  else
    private_path = xstrdup("/run/systemd/private");
  if (private_path != NULL && access(private_path, F_OK) == 0)
    {
      cleanup_free char *address = xasprintf("unix:path=%s", private_path);
      r = sd_bus_new(&bus);
      if (r >= 0)
        r = sd_bus_set_address(bus, address);
      if (r >= 0)
        r = sd_bus_start(bus);
      if (r >= 0)
        {
          *ret = bus;
          return 0;
        }
      isolazi_debug("systemd cgroup driver: connect to `%s`: %s; trying the bus", private_path, strerror(-r));
      sd_bus_unref(bus);
      bus = NULL;
    }
  r = user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
  if (r < 0)
    {
      cleanup_free char *cause = errno_text(-r);
      return no_manager(user, cause, -r, err);
    }
  *ret = bus;
  return 0;
}

/* A method failed: name the step, and say "is systemd running" when nobody answers. */
static int
call_failed(bool user, const char *what, const char *object, const sd_bus_error *e, int r, isolazi_error_t *err)
{
  cleanup_free char *cause = bus_error_text(e, r);

  if (no_manager_error(e))
    return no_manager(user, cause, EHOSTUNREACH, err);
  return isolazi_error_take(err, r < 0 ? -r : EIO,
                            xasprintf("systemd cgroup driver: %s `%s`: %s", what, object, cause));
}

static unsigned
manager_version(sd_bus *bus)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;
  cleanup_free char *v = NULL;
  unsigned n = 0;

  /* "252.39-1~deb12u2": the number before the first dot. */
  if (sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MGR, "Version", &e, &v) >= 0 && v != NULL)
    n = (unsigned)strtoul(v + strspn(v, "v"), NULL, 10);
  sd_bus_error_free(&e);
  return n;
}

typedef struct job_wait
{
  const char *job; /* the job's object path, NULL until the call returned */
  char *result;    /* "done", "failed", "timeout", "canceled", "dependency", "skipped" */
} job_wait_t;

static int
on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  job_wait_t *w = userdata;
  const char *path = NULL, *unit = NULL, *result = NULL;
  uint32_t id = 0;

  (void)ret_error;
  if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  if (w->job != NULL && w->result == NULL && strcmp(path, w->job) == 0)
    w->result = xstrdup(result);
  return 0;
}

/* Process the bus until JobRemoved names `w->job` or the time is up. */
static int
wait_job(sd_bus *bus, job_wait_t *w, const char *what, const char *unit, isolazi_error_t *err)
{
  long long deadline = now_usec() + (long long)JOB_TIMEOUT_USEC;
  int r;

  while (w->result == NULL)
    {
      long long left;
      r = sd_bus_process(bus, NULL);
      if (r < 0)
        return isolazi_error_set(err, -r, "systemd cgroup driver: %s `%s`: wait for the job", what, unit);
      if (r > 0)
        continue;
      left = deadline - now_usec();
      if (left <= 0)
        return isolazi_error_set(err, ETIMEDOUT, "systemd cgroup driver: %s `%s`: no answer to job `%s` within %llu s",
                                 what, unit, w->job, JOB_TIMEOUT_USEC / 1000000);
      r = sd_bus_wait(bus, (uint64_t)left);
      if (r < 0)
        return isolazi_error_set(err, -r, "systemd cgroup driver: %s `%s`: wait for the job", what, unit);
    }
  return 0;
}

static int
append_prop(sd_bus_message *m, const cgroup_sd_prop_t *p)
{
  int r;

  switch (p->type)
    {
    case CGROUP_SD_U64:
      return sd_bus_message_append(m, "(sv)", p->name, "t", p->u64);
    case CGROUP_SD_BOOL:
      return sd_bus_message_append(m, "(sv)", p->name, "b", (int)(p->u64 != 0));
    case CGROUP_SD_STR:
      return sd_bus_message_append(m, "(sv)", p->name, "s", p->str);
    case CGROUP_SD_STRV1:
      return sd_bus_message_append(m, "(sv)", p->name, "as", 1, p->str);
    case CGROUP_SD_PID:
      return sd_bus_message_append(m, "(sv)", p->name, "au", 1, (uint32_t)p->u64);
    case CGROUP_SD_BYTES:
      if ((r = sd_bus_message_open_container(m, 'r', "sv")) < 0 || (r = sd_bus_message_append(m, "s", p->name)) < 0
          || (r = sd_bus_message_open_container(m, 'v', "ay")) < 0
          || (r = sd_bus_message_append_array(m, 'y', p->bytes, p->n_bytes)) < 0
          || (r = sd_bus_message_close_container(m)) < 0)
        return r;
      return sd_bus_message_close_container(m);
    }
  return -EINVAL;
}

static int
append_props(sd_bus_message *m, const cgroup_sd_props_t *p)
{
  size_t i;
  int r;

  if ((r = sd_bus_message_open_container(m, 'a', "(sv)")) < 0)
    return r;
  for (i = 0; i < p->len; i++)
    {
      if (isolazi_log_debug_enabled())
        {
          cleanup_free char *s = cgroup_sd_prop_format(&p->v[i]);
          isolazi_debug("systemd cgroup driver: property %s", s);
        }
      if ((r = append_prop(m, &p->v[i])) < 0)
        return r;
    }
  return sd_bus_message_close_container(m);
}

/* Start or stop a unit and wait for its job.  `props` only for StartTransientUnit. */
static int
unit_job(sd_bus *bus, bool user, const char *method, const char *unit, const cgroup_sd_props_t *props,
         isolazi_error_t *err)
{
  cleanup_msg sd_bus_message *m = NULL;
  cleanup_msg sd_bus_message *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_slot *slot = NULL;
  job_wait_t w = { NULL, NULL };
  const char *what = props != NULL ? "start transient unit" : "stop unit";
  const char *job = NULL;
  int r;

  /* The match comes first: the job may end before the call's reply is read. */
  r = sd_bus_match_signal(bus, &slot, NULL, SD_PATH, SD_MGR, "JobRemoved", on_job_removed, &w);
  if (r < 0)
    return isolazi_error_set(err, -r, "systemd cgroup driver: subscribe to JobRemoved");
  r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MGR, method);
  if (r >= 0)
    r = sd_bus_message_append(m, "ss", unit, props != NULL ? "fail" : "replace");
  if (r >= 0 && props != NULL)
    r = append_props(m, props);
  if (r >= 0 && props != NULL)
    r = sd_bus_message_append(m, "a(sa(sv))", 0);
  if (r < 0)
    {
      sd_bus_slot_unref(slot);
      return isolazi_error_set(err, -r, "systemd cgroup driver: %s `%s`: build the message", what, unit);
    }
  r = sd_bus_call(bus, m, 0, &e, &reply);
  if (r >= 0)
    r = sd_bus_message_read(reply, "o", &job);
  if (r < 0)
    {
      call_failed(user, what, unit, &e, r, err);
      sd_bus_error_free(&e);
      sd_bus_slot_unref(slot);
      return -1;
    }
  w.job = job;
  r = wait_job(bus, &w, what, unit, err);
  sd_bus_slot_unref(slot);
  if (r == 0 && strcmp(w.result, "done") != 0)
    r = isolazi_error_set(err, 0, "systemd cgroup driver: %s `%s`: job %s", what, unit, w.result);
  free(w.result);
  return r;
}

static void
reset_failed(sd_bus *bus, const char *unit)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;

  /* A failed transient unit stays loaded (and its name taken) until reset. */
  (void)sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "ResetFailedUnit", &e, NULL, "s", unit);
  sd_bus_error_free(&e);
}

/* The unit's ControlGroup property: where systemd put it. */
static char *
unit_cgroup(sd_bus *bus, const char *unit, bool is_slice)
{
  cleanup_msg sd_bus_message *reply = NULL;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  const char *path = NULL;
  char *cg = NULL;

  if (sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "GetUnit", &e, &reply, "s", unit) >= 0
      && sd_bus_message_read(reply, "o", &path) >= 0)
    (void)sd_bus_get_property_string(bus, SD_DEST, path, is_slice ? "org.freedesktop.systemd1.Slice" : SD_SCOPE,
                                     "ControlGroup", &e, &cg);
  sd_bus_error_free(&e);
  if (cg != NULL && cg[0] != '/')
    {
      free(cg);
      cg = NULL;
    }
  return cg;
}

/* ---- doing: the placeholder ---- */

static int
placeholder_spawn(pid_t *ret, isolazi_error_t *err)
{
  pid_t parent = getpid();
  pid_t pid = fork();

  if (pid < 0)
    return isolazi_error_errno(err, "systemd cgroup driver: fork the process that holds the new scope");
  if (pid == 0)
    {
      /* It only has to exist: no fds (a caller reading our stdout to EOF is not kept
       * waiting), gone with the runtime. */
      (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent)
        _exit(0);
      (void)isolazi_close_fds_from(0, NULL, 0, NULL);
      for (;;)
        pause();
    }
  *ret = pid;
  return 0;
}

void
cgroup_sd_drop_placeholder(isolazi_cgroup_t *cg)
{
  pid_t pid = cg->sd_placeholder;

  if (pid <= 0)
    return;
  cg->sd_placeholder = 0;
  (void)kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* ---- doing: the driver ---- */

int
cgroup_sd_start(isolazi_cgroup_t *cg, const isolazi_cgroup_config_t *cfg, char **ret_path, isolazi_error_t *err)
{
  cleanup_bus sd_bus *bus = NULL;
  cgroup_sd_unit_t u = { NULL, NULL, NULL, false };
  cgroup_sd_props_t props = { NULL, 0 };
  const bool user = geteuid() != 0;
  char *path = NULL;
  unsigned version;
  int r;

  /* Bad input first: nothing is started for a cgroupsPath that cannot work. */
  if (cgroup_sd_parse_path(cfg->cgroups_path, cfg->id, user, &u, err) < 0)
    return -1;
  if (bus_connect(user, &bus, err) < 0)
    goto fail;
  version = manager_version(bus);
  prop_add(&props, "Description", CGROUP_SD_STR)->str = xasprintf("isolazi container %s", cfg->id ? cfg->id : "");
  if (u.is_slice)
    /* A slice's parent follows from its name; the given one is only wanted (runc does the same). */
    prop_add(&props, "Wants", CGROUP_SD_STRV1)->str = xstrdup(u.slice);
  else
    {
      prop_add(&props, "Slice", CGROUP_SD_STR)->str = xstrdup(u.slice);
      prop_add(&props, "Delegate", CGROUP_SD_BOOL)->u64 = 1;
    }
  prop_add(&props, "DefaultDependencies", CGROUP_SD_BOOL)->u64 = 0;
  prop_add(&props, "MemoryAccounting", CGROUP_SD_BOOL)->u64 = 1;
  prop_add(&props, "CPUAccounting", CGROUP_SD_BOOL)->u64 = 1;
  prop_add(&props, "TasksAccounting", CGROUP_SD_BOOL)->u64 = 1;
  prop_add(&props, cg->mode == ISOLAZI_CGROUP_V2 ? "IOAccounting" : "BlockIOAccounting", CGROUP_SD_BOOL)->u64 = 1;
  if (cgroup_sd_resource_props(cfg->resources, cg->mode == ISOLAZI_CGROUP_V2, version, &props, err) < 0)
    goto fail;
  if (!u.is_slice)
    {
      if (placeholder_spawn(&cg->sd_placeholder, err) < 0)
        goto fail;
      prop_add(&props, "PIDs", CGROUP_SD_PID)->u64 = (uint64_t)cg->sd_placeholder;
    }
  isolazi_debug("systemd cgroup driver: starting %s in %s (systemd %u, %s bus)", u.unit, u.slice, version,
                user ? "user" : "system");
  if (unit_job(bus, user, "StartTransientUnit", u.unit, &props, err) < 0)
    {
      reset_failed(bus, u.unit);
      goto fail;
    }
  cg->sd_unit = steal_pointer(&u.unit);
  cg->sd_user = user;
  path = unit_cgroup(bus, cg->sd_unit, u.is_slice);
  if (path == NULL)
    {
      /* A slice without processes may not be realized yet: its place follows from its name,
       * below the manager's own cgroup (the user manager's is not the root). */
      cleanup_free char *root = NULL;
      sd_bus_error e = SD_BUS_ERROR_NULL;
      if (user)
        (void)sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MGR, "ControlGroup", &e, &root);
      sd_bus_error_free(&e);
      path = xasprintf("%s%s", root != NULL && strcmp(root, "/") != 0 ? root : "", u.path);
    }
  isolazi_debug("systemd cgroup driver: %s is `%s`", cg->sd_unit, path);
  cgroup_sd_props_clear(&props);
  cgroup_sd_unit_clear(&u);
  *ret_path = path;
  return 0;

fail:
  r = -1;
  cgroup_sd_drop_placeholder(cg);
  cgroup_sd_props_clear(&props);
  cgroup_sd_unit_clear(&u);
  return r;
}

int
cgroup_sd_stop(isolazi_cgroup_t *cg, isolazi_error_t *err)
{
  cleanup_bus sd_bus *bus = NULL;
  isolazi_error_t e = ISOLAZI_ERROR_INIT;

  cgroup_sd_drop_placeholder(cg);
  if (cg->sd_unit == NULL)
    return 0;
  if (bus_connect(cg->sd_user, &bus, err) < 0)
    return -1;
  /* The scope may be gone already: systemd stops a scope once its last process exited. */
  if (unit_job(bus, cg->sd_user, "StopUnit", cg->sd_unit, NULL, &e) < 0)
    {
      if (strstr(e.msg, "org.freedesktop.systemd1.NoSuchUnit") == NULL)
        {
          reset_failed(bus, cg->sd_unit);
          isolazi_error_take(err, e.code, steal_pointer(&e.msg));
          return -1;
        }
      isolazi_error_release(&e);
    }
  reset_failed(bus, cg->sd_unit);
  return 0;
}

int
cgroup_sd_update(const isolazi_cgroup_t *cg, const oci_resources *r, isolazi_error_t *err)
{
  cleanup_bus sd_bus *bus = NULL;
  cleanup_msg sd_bus_message *m = NULL;
  cgroup_sd_props_t props = { NULL, 0 };
  sd_bus_error e = SD_BUS_ERROR_NULL;
  int ret;

  if (cg->sd_unit == NULL)
    return 0;
  if (bus_connect(cg->sd_user, &bus, err) < 0)
    return -1;
  if (cgroup_sd_resource_props(r, cg->mode == ISOLAZI_CGROUP_V2, manager_version(bus), &props, err) < 0)
    return -1;
  if (props.len == 0)
    return 0;
  /* runtime=true: like the transient unit itself, the change lives until the unit goes. */
  ret = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MGR, "SetUnitProperties");
  if (ret >= 0)
    ret = sd_bus_message_append(m, "sb", cg->sd_unit, 1);
  if (ret >= 0)
    ret = append_props(m, &props);
  cgroup_sd_props_clear(&props);
  if (ret < 0)
    return isolazi_error_set(err, -ret, "systemd cgroup driver: set properties of `%s`: build the message",
                             cg->sd_unit);
  ret = sd_bus_call(bus, m, 0, &e, NULL);
  if (ret < 0)
    {
      call_failed(cg->sd_user, "set properties of", cg->sd_unit, &e, ret, err);
      sd_bus_error_free(&e);
      return -1;
    }
  return 0;
}
