/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups, the common part: mode detection, host parsing, path resolution, directory
 * creation/removal, membership, pids, persistence.  Controller-specific work (resources,
 * preparing new levels, kill) goes through the drivers in cgroup_v1.c and cgroup_v2.c. */
#include "config.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT    "/sys/fs/cgroup"
#define CGROUP_UNIFIED CGROUP_ROOT "/unified"

/* ---- mode ---- */

int
isolazi_cgroup_mode(isolazi_cgroup_mode_t *ret, isolazi_error_t *err)
{
  static int cached = -1;
  struct statfs st;

  if (cached >= 0)
    {
      *ret = (isolazi_cgroup_mode_t)cached;
      return 0;
    }
  if (statfs(CGROUP_ROOT, &st) < 0)
    return isolazi_error_errno(err, "statfs `%s`", CGROUP_ROOT);
  if (st.f_type == CGROUP2_SUPER_MAGIC)
    cached = ISOLAZI_CGROUP_V2;
  else if (st.f_type == TMPFS_MAGIC && statfs(CGROUP_UNIFIED, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    cached = ISOLAZI_CGROUP_HYBRID;
  else
    cached = ISOLAZI_CGROUP_V1;
  *ret = (isolazi_cgroup_mode_t)cached;
  return 0;
}

const char *
isolazi_cgroup_mode_name(isolazi_cgroup_mode_t mode)
{
  switch (mode)
    {
    case ISOLAZI_CGROUP_V1:
      return "v1";
    case ISOLAZI_CGROUP_HYBRID:
      return "hybrid";
    case ISOLAZI_CGROUP_V2:
      return "v2";
    }
  return "unknown";
}

static int
mode_parse(const char *s, isolazi_cgroup_mode_t *ret)
{
  isolazi_cgroup_mode_t m;

  for (m = ISOLAZI_CGROUP_V1; m <= ISOLAZI_CGROUP_V2; m++)
    if (strcmp(s, isolazi_cgroup_mode_name(m)) == 0)
      {
        *ret = m;
        return 0;
      }
  return -1;
}

static const cgroup_driver_t *
driver_of(const isolazi_cgroup_t *cg)
{
  return cg->mode == ISOLAZI_CGROUP_V2 ? &cgroup_driver_v2 : &cgroup_driver_v1;
}

/* ---- small helpers ---- */

void
cgroup_sleep_us(long us)
{
  struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static long long
now_us(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Is `controller` one of the comma-separated `list`? */
bool
cgroup_controllers_has(const char *list, const char *controller)
{
  size_t n = strlen(controller);
  const char *p = list;

  while (p != NULL && *p)
    {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      if (len == n && memcmp(p, controller, n) == 0)
        return true;
      p = end ? end + 1 : NULL;
    }
  return false;
}

/* The same comma-separated set, in any order. */
static bool
controllers_equal(const char *a, const char *b, size_t b_len)
{
  cleanup_free char *bb = xmalloc(b_len + 1);
  size_t na = 0, nb = 0;
  const char *p;

  memcpy(bb, b, b_len);
  bb[b_len] = '\0';
  if (*a == '\0' || *bb == '\0')
    return *a == '\0' && *bb == '\0';
  for (p = a; p != NULL; p = strchr(p, ','), p = p ? p + 1 : NULL)
    na++;
  for (p = bb; p != NULL; p = strchr(p, ','), p = p ? p + 1 : NULL)
    nb++;
  if (na != nb)
    return false;
  for (p = bb; p != NULL; p = strchr(p, ','), p = p ? p + 1 : NULL)
    {
      const char *end = strchr(p, ',');
      cleanup_free char *one = end ? strndup(p, (size_t)(end - p)) : xstrdup(p);
      if (one == NULL)
        abort();
      if (!cgroup_controllers_has(a, one))
        return false;
    }
  return true;
}

static bool
path_has_component_prefix(const char *path, const char *prefix)
{
  size_t n = strlen(prefix);

  if (strcmp(prefix, "/") == 0)
    return path[0] == '/';
  return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- parsing (pure) ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *
unescape_octal(const char *s, size_t len)
{
  char *r = xmalloc(len + 1), *o = r;
  size_t i;

  for (i = 0; i < len; i++)
    {
      if (s[i] == '\\' && i + 3 < len + 1 && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7'
          && s[i + 3] >= '0' && s[i + 3] <= '7')
        {
          *o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
          i += 3;
        }
      else
        *o++ = s[i];
    }
  *o = '\0';
  return r;
}

/* Names that are controllers (or named hierarchies) among a cgroup v1 mount's super options;
 * the rest (rw, xattr, clone_children, release_agent=...) are flags. */
static bool
is_v1_controller_option(const char *opt, size_t len)
{
  static const char *const known[] = { "cpu",   "cpuacct",    "cpuset",   "memory",  "devices", "freezer", "net_cls",
                                       "blkio", "perf_event", "net_prio", "hugetlb", "pids",    "rdma",    "misc" };
  size_t i;

  if (len > 5 && memcmp(opt, "name=", 5) == 0)
    return true;
  for (i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strlen(known[i]) == len && memcmp(known[i], opt, len) == 0)
      return true;
  return false;
}

void
cgroup_host_clear(cgroup_host_t *h)
{
  size_t i;

  for (i = 0; i < h->n_v1; i++)
    {
      free(h->v1[i].controllers);
      free(h->v1[i].mountpoint);
      free(h->v1[i].root);
    }
  free(h->v1);
  free(h->unified);
  h->v1 = NULL;
  h->n_v1 = 0;
  h->unified = NULL;
}

int
cgroup_parse_mountinfo(const char *text, cgroup_host_t *ret, isolazi_error_t *err)
{
  cgroup_host_t h = { NULL, 0, NULL };
  const char *line = text;
  size_t lineno = 0;

  while (line != NULL && *line)
    {
      const char *eol = strchr(line, '\n');
      size_t len = eol ? (size_t)(eol - line) : strlen(line);
      cleanup_free char *l = strndup(line, len);
      char *fields[6], *sep, *save = NULL, *fstype, *superopts, *tok;
      size_t nf = 0;

      if (l == NULL)
        abort();
      lineno++;
      line = eol ? eol + 1 : NULL;
      if (len == 0)
        continue;
      /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS" */
      sep = strstr(l, " - ");
      if (sep == NULL)
        {
          cgroup_host_clear(&h);
          return isolazi_error_set(err, EINVAL, "parse mountinfo line %zu: no ` - ` separator", lineno);
        }
      *sep = '\0';
      for (tok = strtok_r(l, " ", &save); tok != NULL && nf < 6; tok = strtok_r(NULL, " ", &save))
        fields[nf++] = tok;
      fstype = strtok_r(sep + 3, " ", &save);
      (void)strtok_r(NULL, " ", &save); /* source */
      superopts = strtok_r(NULL, " ", &save);
      if (nf < 6 || fstype == NULL || superopts == NULL)
        {
          cgroup_host_clear(&h);
          return isolazi_error_set(err, EINVAL, "parse mountinfo line %zu: too few fields", lineno);
        }
      if (strcmp(fstype, "cgroup2") == 0)
        {
          if (h.unified == NULL)
            h.unified = unescape_octal(fields[4], strlen(fields[4]));
        }
      else if (strcmp(fstype, "cgroup") == 0)
        {
          cleanup_free char *ctrls = xmalloc(strlen(superopts) + 1);
          const char *p = superopts;
          size_t i, n = 0;
          bool seen = false;

          ctrls[0] = '\0';
          while (p != NULL && *p)
            {
              const char *end = strchr(p, ',');
              size_t olen = end ? (size_t)(end - p) : strlen(p);
              if (is_v1_controller_option(p, olen))
                {
                  if (n > 0)
                    ctrls[n++] = ',';
                  memcpy(ctrls + n, p, olen);
                  n += olen;
                  ctrls[n] = '\0';
                }
              p = end ? end + 1 : NULL;
            }
          if (n == 0)
            continue;
          /* The same hierarchy may be mounted twice (bind mounts): the first one wins. */
          for (i = 0; i < h.n_v1; i++)
            if (controllers_equal(h.v1[i].controllers, ctrls, n))
              seen = true;
          if (seen)
            continue;
          h.v1 = xrealloc(h.v1, (h.n_v1 + 1) * sizeof *h.v1);
          h.v1[h.n_v1].controllers = steal_pointer(&ctrls);
          h.v1[h.n_v1].mountpoint = unescape_octal(fields[4], strlen(fields[4]));
          h.v1[h.n_v1].root = unescape_octal(fields[3], strlen(fields[3]));
          h.n_v1++;
        }
    }
  *ret = h;
  return 0;
}

char *
cgroup_own_path(const char *proc_cgroup, const char *controllers)
{
  const char *line = proc_cgroup;

  while (line != NULL && *line)
    {
      const char *eol = strchr(line, '\n');
      const char *c1 = strchr(line, ':'), *c2;
      line = eol ? eol + 1 : NULL;
      if (c1 == NULL || (eol != NULL && c1 > eol))
        continue;
      c2 = strchr(c1 + 1, ':');
      if (c2 == NULL || (eol != NULL && c2 > eol))
        continue;
      if (controllers_equal(controllers, c1 + 1, (size_t)(c2 - c1 - 1)))
        {
          const char *start = c2 + 1;
          size_t len = eol ? (size_t)(eol - start) : strlen(start);
          char *r = strndup(start, len);
          if (r == NULL)
            abort();
          return r;
        }
    }
  return NULL;
}

char *
cgroup_clean_path(const char *path)
{
  size_t n = path ? strlen(path) : 0;
  char *out = xmalloc(n + 2);
  size_t o = 0;
  bool abs = n > 0 && path[0] == '/';
  const char *p = path;

  if (abs)
    out[o++] = '/';
  while (p != NULL && *p)
    {
      const char *end = strchr(p, '/');
      size_t len = end ? (size_t)(end - p) : strlen(p);

      if (len == 0 || (len == 1 && p[0] == '.'))
        ; /* skip */
      else if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          /* Drop the last component; never climb above the base (runc's CleanPath makes a
           * relative path relative to "/" first for exactly that reason). */
          while (o > (abs ? 1u : 0u) && out[o - 1] != '/')
            o--;
          if (o > (abs ? 1u : 0u))
            o--;
        }
      else
        {
          if (o > (abs ? 1u : 0u))
            out[o++] = '/';
          memcpy(out + o, p, len);
          o += len;
        }
      p = end ? end + 1 : NULL;
    }
  out[o] = '\0';
  return out;
}

static char *
join_path(const char *a, const char *b)
{
  size_t la = strlen(a);

  while (la > 0 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  if (*b == '\0')
    return la == 0 ? xstrdup("/") : xasprintf("%.*s", (int)la, a);
  return xasprintf("%.*s/%s", (int)la, a, b);
}

static char *
parent_path(const char *p)
{
  const char *slash = strrchr(p, '/');

  if (slash == NULL || slash == p)
    return xstrdup("/");
  return strndup(p, (size_t)(slash - p));
}

static void
hiers_free(isolazi_cgroup_t *cg)
{
  size_t i;

  for (i = 0; i < cg->n_hiers; i++)
    {
      free(cg->hiers[i].name);
      free(cg->hiers[i].dir);
      free(cg->hiers[i].created);
    }
  free(cg->hiers);
  cg->hiers = NULL;
  cg->n_hiers = 0;
}

static cgroup_hier_t *
hier_add(isolazi_cgroup_t *cg, const char *name)
{
  cgroup_hier_t *h;

  cg->hiers = xrealloc(cg->hiers, (cg->n_hiers + 1) * sizeof *cg->hiers);
  h = &cg->hiers[cg->n_hiers++];
  h->name = xstrdup(name);
  h->dir = NULL;
  h->created = NULL;
  return h;
}

/* The cgroup path of `name` for this container, before the mountpoint is prepended. */
static int
resolve_one(isolazi_cgroup_mode_t mode, const char *name, const char *mount_root, const char *proc_cgroup,
            const char *clean, char **ret, isolazi_error_t *err)
{
  cleanup_free char *own = NULL;
  const char *rel_own;

  if (clean[0] == '/')
    {
      *ret = xstrdup(clean);
      return 0;
    }
  own = proc_cgroup ? cgroup_own_path(proc_cgroup, name) : NULL;
  if (own == NULL)
    return isolazi_error_set(err, ENOENT, "find the `%s` cgroup of the runtime in /proc/self/cgroup",
                             *name ? name : "cgroup2");
  rel_own = own;
  /* A bind-mounted subtree: the mount shows `mount_root` at its mountpoint. */
  if (mount_root != NULL && strcmp(mount_root, "/") != 0 && path_has_component_prefix(own, mount_root))
    rel_own = own + strlen(mount_root);
  if (mode == ISOLAZI_CGROUP_V2)
    {
      cleanup_free char *parent = parent_path(*rel_own ? rel_own : "/");
      *ret = join_path(parent, clean);
    }
  else
    *ret = join_path(*rel_own ? rel_own : "/", clean);
  return 0;
}

int
cgroup_plan_dirs(isolazi_cgroup_mode_t mode, const cgroup_host_t *host, const char *v2_mount, const char *proc_cgroup,
                 const char *cgroups_path, const char *id, isolazi_cgroup_t *cg, isolazi_error_t *err)
{
  cleanup_free char *clean = cgroup_clean_path(cgroups_path ? cgroups_path : "");
  size_t i;

  if (clean[0] == '\0')
    {
      /* runc 1.1 with an empty cgroupsPath uses the container id as a path relative to its own
       * cgroup (checked with runc 1.1.5: `0::/ID`, `memory:/<own>/ID`). */
      free(clean);
      clean = cgroup_clean_path(id ? id : "");
      if (clean[0] == '\0' || clean[0] == '/')
        return isolazi_error_set(err, EINVAL, "derive the cgroup path from container id `%s`", id ? id : "");
    }
  if (mode != ISOLAZI_CGROUP_V2)
    {
      if (host->n_v1 == 0)
        return isolazi_error_set(err, ENOENT, "find cgroup v1 hierarchies: none mounted");
      for (i = 0; i < host->n_v1; i++)
        {
          cleanup_free char *p = NULL;
          cgroup_hier_t *h;
          if (resolve_one(mode, host->v1[i].controllers, host->v1[i].root, proc_cgroup, clean, &p, err) < 0)
            return -1;
          h = hier_add(cg, host->v1[i].controllers);
          h->dir = join_path(host->v1[i].mountpoint, p);
          if (i == 0 && mode == ISOLAZI_CGROUP_V1)
            cg->path = steal_pointer(&p);
        }
    }
  if (mode != ISOLAZI_CGROUP_V1)
    {
      cleanup_free char *p = NULL;
      cgroup_hier_t *h;
      if (resolve_one(mode, "", "/", proc_cgroup, clean, &p, err) < 0)
        return -1;
      h = hier_add(cg, "");
      h->dir = join_path(v2_mount, p);
      cg->path = steal_pointer(&p);
    }
  return 0;
}

/* ---- host state, read once per process ---- */

static int
load_host(const cgroup_host_t **ret, isolazi_error_t *err)
{
  static cgroup_host_t host;
  static bool loaded;
  cleanup_free char *text = NULL;

  if (!loaded)
    {
      if (isolazi_read_file("/proc/self/mountinfo", &text, NULL, err) < 0)
        return -1;
      if (cgroup_parse_mountinfo(text, &host, err) < 0)
        return -1;
      loaded = true;
    }
  *ret = &host;
  return 0;
}

/* ---- objects ---- */

static isolazi_cgroup_t *
cgroup_new(isolazi_cgroup_mode_t mode)
{
  isolazi_cgroup_t *cg = xcalloc(1, sizeof *cg);

  cg->mode = mode;
  cg->v2_fd = -1;
  return cg;
}

void
isolazi_cgroup_free(isolazi_cgroup_t *cg)
{
  if (cg == NULL)
    return;
  if (cg->v2_fd >= 0)
    (void)close(cg->v2_fd);
  cgroup_sd_drop_placeholder(cg);
  hiers_free(cg);
  free(cg->path);
  free(cg->sd_unit);
  free(cg);
}

static void
cgroup_freep(isolazi_cgroup_t **p)
{
  isolazi_cgroup_free(*p);
}
#define cleanup_cgroup __attribute__((cleanup(cgroup_freep)))

const cgroup_hier_t *
cgroup_find_hier(const isolazi_cgroup_t *cg, const char *controller)
{
  size_t i;

  for (i = 0; i < cg->n_hiers; i++)
    {
      if (*controller == '\0' ? cg->hiers[i].name[0] == '\0' : cgroup_controllers_has(cg->hiers[i].name, controller))
        return &cg->hiers[i];
    }
  return NULL;
}

const char *
isolazi_cgroup_path(const isolazi_cgroup_t *cg)
{
  return cg->path;
}

int
isolazi_cgroup_clone_fd(const isolazi_cgroup_t *cg)
{
  return cg->v2_fd;
}

const char *
isolazi_cgroup_dir(const isolazi_cgroup_t *cg, const char *controller)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, controller);

  return h ? h->dir : NULL;
}

isolazi_cgroup_mode_t
isolazi_cgroup_get_mode(const isolazi_cgroup_t *cg)
{
  return cg->mode;
}

static void
open_v2_fd(isolazi_cgroup_t *cg)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, "");

  if (h != NULL && cg->v2_fd < 0)
    cg->v2_fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* ---- files ---- */

int
cgroup_write_str(const char *dir, const char *file, const char *value, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, file);

  return isolazi_write_file_at(AT_FDCWD, path, value, strlen(value), err);
}

char *
cgroup_read_str(const char *dir, const char *file)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, file);
  char *text = NULL;

  if (isolazi_read_file(path, &text, NULL, NULL) < 0)
    return NULL;
  return text;
}

uint64_t
cgroup_read_u64(const char *dir, const char *file)
{
  cleanup_free char *text = cgroup_read_str(dir, file);
  uint64_t v = 0;

  if (text == NULL || !cgroup_parse_u64(text, &v))
    return 0;
  return v;
}

static int
pid_cmp(const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

int
cgroup_read_pids(const char *dir, pid_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("%s/cgroup.procs", dir);
  cleanup_free char *text = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0, cap = 0, i, o;
  char *p, *end;

  if (isolazi_read_file(path, &text, NULL, err) < 0)
    return -1;
  for (p = text; *p;)
    {
      long v;
      errno = 0;
      v = strtol(p, &end, 10);
      if (end == p)
        {
          p++;
          continue;
        }
      if (errno == 0 && v > 0)
        {
          if (n == cap)
            {
              cap = cap ? cap * 2 : 16;
              pids = xrealloc(pids, cap * sizeof *pids);
            }
          pids[n++] = (pid_t)v;
        }
      p = end;
    }
  if (n > 1)
    qsort(pids, n, sizeof *pids, pid_cmp);
  for (i = 0, o = 0; i < n; i++)
    if (o == 0 || pids[o - 1] != pids[i])
      pids[o++] = pids[i];
  *ret = pids ? steal_pointer(&pids) : xcalloc(1, sizeof(pid_t));
  *ret_len = o;
  return 0;
}

int
cgroup_signal_pids(const char *dir, int sig, isolazi_error_t *err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0, i;

  if (cgroup_read_pids(dir, &pids, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    if (kill(pids[i], sig) < 0 && errno != ESRCH)
      return isolazi_error_errno(err, "send signal %d to pid `%d`", sig, (int)pids[i]);
  return 0;
}

/* ---- directories ---- */

/* mkdir `dir`, creating missing parents, and record the topmost directory made. */
static int
mkdir_recorded(const char *dir, char **ret_created, isolazi_error_t *err)
{
  cleanup_free char *p = NULL;
  char *first = NULL, *s;

  *ret_created = NULL;
  /* Fast path: the parent exists (one syscall). */
  if (mkdir(dir, 0755) == 0)
    {
      *ret_created = xstrdup(dir);
      return 0;
    }
  if (errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return isolazi_error_errno(err, "create cgroup `%s`", dir);
  p = xstrdup(dir);
  for (s = p + 1;; s++)
    {
      bool last = *s == '\0';
      if (!last && *s != '/')
        continue;
      *s = '\0';
      if (mkdir(p, 0755) == 0)
        {
          if (first == NULL)
            first = xstrdup(p);
        }
      else if (errno != EEXIST)
        {
          int saved = errno;
          cleanup_free char *failed = xstrdup(p);
          /* Undo this call's directories, deepest first. */
          while (first != NULL && strlen(p) >= strlen(first))
            {
              char *slash;
              (void)rmdir(p);
              slash = strrchr(p, '/');
              if (slash == NULL || strcmp(p, first) == 0)
                break;
              *slash = '\0';
            }
          free(first);
          return isolazi_error_set(err, saved, "create cgroup `%s`", failed);
        }
      if (last)
        break;
      *s = '/';
    }
  *ret_created = first;
  return 0;
}

/* SIGKILL what is left in one hierarchy's cgroup (cgroup.kill where the kernel has it). */
static void
kill_remaining(const cgroup_hier_t *h)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;

  if (h->name[0] == '\0' && cgroup_write_str(h->dir, "cgroup.kill", "1", &e) == 0)
    return;
  isolazi_error_release(&e);
  if (cgroup_signal_pids(h->dir, SIGKILL, &e) < 0)
    isolazi_debug("kill processes left in `%s`: %s", h->dir, e.msg);
  isolazi_error_release(&e);
}

/* rmdir the container's directory (waiting up to ~1 s for processes to die: EBUSY while the
 * cgroup is populated) and then the parents create made, while they are empty. */
static int
remove_created(cgroup_hier_t *h, isolazi_error_t *err)
{
  cleanup_free char *p = NULL;
  long long deadline = 0;
  long delay = 100;

  if (h->created == NULL)
    return 0;
  for (;;)
    {
      if (rmdir(h->dir) == 0 || errno == ENOENT)
        break;
      if (errno != EBUSY)
        return isolazi_error_errno(err, "remove cgroup `%s`", h->dir);
      if (deadline == 0)
        deadline = now_us() + 1000000;
      else if (now_us() > deadline)
        return isolazi_error_set(err, EBUSY, "remove cgroup `%s`", h->dir);
      kill_remaining(h);
      cgroup_sleep_us(delay);
      if (delay < 10000)
        delay *= 2;
    }
  p = xstrdup(h->dir);
  while (strcmp(p, h->created) != 0 && path_has_component_prefix(p, h->created))
    {
      char *slash = strrchr(p, '/');
      if (slash == NULL)
        break;
      *slash = '\0';
      /* Another container may have made its cgroup under a parent we created: then it stays. */
      if (rmdir(p) < 0 && errno != ENOENT)
        break;
    }
  free(h->created);
  h->created = NULL;
  return 0;
}

static int
remove_all(isolazi_cgroup_t *cg, isolazi_error_t *err)
{
  int ret = 0;
  size_t i;

  if (cg->v2_fd >= 0)
    {
      (void)close(cg->v2_fd);
      cg->v2_fd = -1;
    }
  for (i = 0; i < cg->n_hiers; i++)
    {
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      if (remove_created(&cg->hiers[i], &e) < 0)
        {
          if (ret == 0)
            {
              isolazi_error_take(err, e.code, steal_pointer(&e.msg));
              ret = -1;
            }
          isolazi_error_release(&e);
        }
    }
  return ret;
}

/* ---- resources ---- */

static int
apply_writes(const isolazi_cgroup_t *cg, const cgroup_writes_t *w, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < w->len; i++)
    {
      const cgroup_write_t *wr = &w->v[i];
      const cgroup_hier_t *h;
      cleanup_free char *path = NULL;
      cleanup_close int fd = -1;
      const char *file = wr->file, *value = wr->value;

      h = cg->mode == ISOLAZI_CGROUP_V2 ? cgroup_find_hier(cg, "") : cgroup_find_hier(cg, wr->controller);
      if (h == NULL)
        return isolazi_error_set(err, ENOENT, "set `%s` to `%s` (%s): no `%s` cgroup hierarchy is mounted", file, value,
                                 wr->field, wr->controller);
      path = xasprintf("%s/%s", h->dir, file);
      fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && wr->alt_file != NULL)
        {
          free(path);
          file = wr->alt_file;
          value = wr->alt_value;
          path = xasprintf("%s/%s", h->dir, file);
          fd = open(path, O_WRONLY | O_CLOEXEC);
        }
      if (fd < 0 && errno == ENOENT && wr->optional)
        {
          isolazi_debug("skip %s: `%s` does not exist", wr->field, path);
          continue;
        }
      if (fd < 0 || isolazi_write_all(fd, value, strlen(value)) < 0)
        {
          /* v1 memory: EBUSY means the new limit is below what the cgroup uses and cannot be
           * reclaimed; say how much that is (runc does too). */
          if (errno == EBUSY && strcmp(file, "memory.limit_in_bytes") == 0)
            return isolazi_error_set(err, 0,
                                     "set `%s` to `%s` (%s): below the current usage %" PRIu64 " (peak %" PRIu64 ")",
                                     file, value, wr->field, cgroup_read_u64(h->dir, "memory.usage_in_bytes"),
                                     cgroup_read_u64(h->dir, "memory.max_usage_in_bytes"));
          return isolazi_error_errno(err, "set `%s` to `%s` (%s)", file, value, wr->field);
        }
    }
  return 0;
}

/* ---- public interface ---- */

int
isolazi_cgroup_create(const isolazi_cgroup_config_t *cfg, isolazi_cgroup_t **ret, isolazi_error_t *err)
{
  cleanup_cgroup isolazi_cgroup_t *cg = NULL;
  cleanup_free char *proc_cgroup = NULL;
  cleanup_free char *clean = NULL;
  cleanup_free char *sd_path = NULL;
  cgroup_writes_t w = { NULL, 0, 0 };
  const cgroup_host_t *host = NULL;
  isolazi_cgroup_mode_t mode;
  const char *v2_mount = NULL;
  size_t i;
  int r;

  if (isolazi_cgroup_mode(&mode, err) < 0)
    return -1;
  if (mode != ISOLAZI_CGROUP_V2 && load_host(&host, err) < 0)
    return -1;
  if (mode != ISOLAZI_CGROUP_V1)
    v2_mount = host != NULL && host->unified != NULL ? host->unified
               : mode == ISOLAZI_CGROUP_V2           ? CGROUP_ROOT
                                                     : CGROUP_UNIFIED;

  cg = cgroup_new(mode);
  /* systemd: the unit's cgroup, the same absolute path in every hierarchy. */
  if (cfg->systemd && cgroup_sd_start(cg, cfg, &sd_path, err) < 0)
    return -1;
  /* Only a relative path needs our own cgroup. */
  clean = cgroup_clean_path(sd_path ? sd_path : cfg->cgroups_path ? cfg->cgroups_path : "");
  if (clean[0] != '/')
    {
      cleanup_free char *f
          = cfg->init_pid > 0 ? xasprintf("/proc/%d/cgroup", (int)cfg->init_pid) : xstrdup("/proc/self/cgroup");
      if (isolazi_read_file(f, &proc_cgroup, NULL, err) < 0)
        return -1;
    }
  {
    cgroup_host_t none = { NULL, 0, NULL };
    if (cgroup_plan_dirs(mode, host ? host : &none, v2_mount, proc_cgroup, sd_path ? sd_path : cfg->cgroups_path,
                         cfg->id, cg, err)
        < 0)
      goto fail;
  }

  for (i = 0; i < cg->n_hiers; i++)
    if (mkdir_recorded(cg->hiers[i].dir, &cg->hiers[i].created, err) < 0)
      {
        /* Rootless and the cgroup tree is not delegated to us: run without a cgroup, as runc
           does for rootless containers when no resources are asked for. */
        if (geteuid() != 0 && !cfg->systemd && (err->code == EACCES || err->code == EPERM || err->code == EROFS))
          {
            isolazi_error_t e = ISOLAZI_ERROR_INIT;
            isolazi_debug("cgroup: rootless and `%s` is not delegated to uid %u (%s): no cgroup", cg->hiers[i].dir,
                          (unsigned)geteuid(), strerror(err->code));
            isolazi_error_release(err);
            (void)remove_all(cg, &e);
            isolazi_error_release(&e);
            hiers_free(cg);
            *ret = steal_pointer(&cg);
            return 0;
          }
        goto fail;
      }

  for (i = 0; i < cg->n_hiers; i++)
    {
      const cgroup_driver_t *d = cg->hiers[i].name[0] == '\0' ? &cgroup_driver_v2 : &cgroup_driver_v1;
      /* On hybrid the cgroup2 tree has no controllers: placement only. */
      if (cg->hiers[i].name[0] == '\0' && mode == ISOLAZI_CGROUP_HYBRID)
        continue;
      if (d->prepare(cg, &cg->hiers[i], cfg->resources, err) < 0)
        goto fail;
    }

  if (cfg->resources != NULL)
    {
      r = driver_of(cg)->plan(cfg->resources, &w, err);
      if (r == 0)
        r = apply_writes(cg, &w, err);
      cgroup_writes_clear(&w);
      if (r < 0)
        goto fail;
    }

  if (mode != ISOLAZI_CGROUP_V1)
    {
      const cgroup_hier_t *h = cgroup_find_hier(cg, "");
      cg->v2_fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cg->v2_fd < 0)
        {
          isolazi_error_errno(err, "open cgroup `%s`", h->dir);
          goto fail;
        }
      /* On pure v2 the device rules are an eBPF program; on hybrid the v1 devices controller
         enforces them, as with runc. */
      if (mode == ISOLAZI_CGROUP_V2 && cfg->resources != NULL && cfg->resources->devices_len > 0
          && cgroup_v2_devices_attach(cg->v2_fd, cfg->resources->devices, cfg->resources->devices_len, err) < 0)
        goto fail;
    }
  isolazi_debug("cgroup %s created (%s%s)", cg->path, isolazi_cgroup_mode_name(mode), cg->sd_unit ? ", systemd" : "");
  *ret = steal_pointer(&cg);
  return 0;

fail:
  {
    isolazi_error_t e = ISOLAZI_ERROR_INIT;
    if (remove_all(cg, &e) < 0)
      isolazi_debug("clean up cgroup after failure: %s", e.msg);
    isolazi_error_release(&e);
    if (cgroup_sd_stop(cg, &e) < 0)
      isolazi_debug("clean up the systemd unit after failure: %s", e.msg);
    isolazi_error_release(&e);
  }
  return -1;
}

int
isolazi_cgroup_enter(const isolazi_cgroup_t *cg, pid_t pid, bool cloned_into, isolazi_error_t *err)
{
  char buf[32];
  size_t i;
  int n = snprintf(buf, sizeof buf, "%d", (int)pid);

  /* Back to back: a v1 migration takes cgroup_threadgroup_rwsem for writing, whose first
   * writer waits for an RCU grace period; writers right after it find the fast path off
   * already and don't wait again. */
  for (i = 0; i < cg->n_hiers; i++)
    {
      cleanup_free char *path = NULL;
      if (cloned_into && cg->hiers[i].name[0] == '\0')
        continue;
      path = xasprintf("%s/cgroup.procs", cg->hiers[i].dir);
      if (isolazi_write_file_at(AT_FDCWD, path, buf, (size_t)n, err) < 0)
        return isolazi_error_wrap(err, "add pid `%d` to cgroup", (int)pid);
    }
  return 0;
}

int
isolazi_cgroup_self_fds(const isolazi_cgroup_t *cg, int **ret_fds, size_t *ret_len, isolazi_error_t *err)
{
  int *fds = xcalloc(cg->n_hiers + 1, sizeof *fds);
  size_t i, n = 0;

  for (i = 0; i < cg->n_hiers; i++)
    {
      cleanup_free char *path = NULL;
      if (cg->hiers[i].name[0] == '\0')
        continue;
      path = xasprintf("%s/tasks", cg->hiers[i].dir);
      fds[n] = open(path, O_WRONLY | O_CLOEXEC);
      if (fds[n] < 0)
        {
          int saved = errno;
          isolazi_cgroup_self_fds_close(fds, n);
          return isolazi_error_set(err, saved, "open `%s`", path);
        }
      n++;
    }
  *ret_fds = fds;
  *ret_len = n;
  return 0;
}

int
isolazi_cgroup_enter_self(const int *fds, size_t len, isolazi_error_t *err)
{
  size_t i;

  /* "0" is the writing thread itself; nothing but write(2) on the way, so a freshly cloned
   * child can call it first. */
  for (i = 0; i < len; i++)
    if (write(fds[i], "0", 1) != 1)
      return isolazi_error_errno(err, "join cgroup (v1 hierarchy %zu)", i);
  return 0;
}

void
isolazi_cgroup_self_fds_close(int *fds, size_t len)
{
  size_t i;

  if (fds == NULL)
    return;
  for (i = 0; i < len; i++)
    if (fds[i] >= 0)
      (void)close(fds[i]);
  free(fds);
}

int
isolazi_cgroup_pids(const isolazi_cgroup_t *cg, pid_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  const cgroup_hier_t *h = cgroup_find_hier(cg, "");
  isolazi_error_t e = ISOLAZI_ERROR_INIT;

  if (h == NULL)
    {
      if (cg->n_hiers == 0)
        return isolazi_error_set(err, ENOENT, "list cgroup pids: no hierarchy");
      h = &cg->hiers[0];
    }
  if (cgroup_read_pids(h->dir, ret, ret_len, &e) < 0)
    {
      /* A cgroup already removed has no processes. */
      if (e.code == ENOENT)
        {
          isolazi_error_release(&e);
          *ret = xcalloc(1, sizeof(pid_t));
          *ret_len = 0;
          return 0;
        }
      return isolazi_error_take(err, e.code, e.msg);
    }
  return 0;
}

int
isolazi_cgroup_kill(const isolazi_cgroup_t *cg, int sig, isolazi_error_t *err)
{
  if (cg->mode == ISOLAZI_CGROUP_HYBRID && sig == SIGKILL)
    {
      /* cgroup.kill (Linux 5.14) works in the cgroup2 tree of a hybrid host too: it is a core
       * file, no controller needed, and it kills atomically, forks included. */
      const cgroup_hier_t *h = cgroup_find_hier(cg, "");
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      if (h != NULL)
        {
          if (cgroup_write_str(h->dir, "cgroup.kill", "1", &e) == 0)
            {
              /* Tasks held by the v1 freezer die only once thawed (a paused container). */
              if (isolazi_cgroup_is_frozen(cg))
                return isolazi_cgroup_freeze(cg, false, err);
              return 0;
            }
          if (e.code != ENOENT)
            return isolazi_error_take(err, e.code, e.msg);
          isolazi_error_release(&e);
        }
    }
  return driver_of(cg)->kill(cg, sig, err);
}

void
isolazi_cgroup_placed(isolazi_cgroup_t *cg)
{
  if (cg != NULL)
    cgroup_sd_drop_placeholder(cg);
}

int
isolazi_cgroup_destroy(isolazi_cgroup_t *cg, isolazi_error_t *err)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  int r;

  if (cg->sd_unit == NULL)
    return remove_all(cg, err);
  /* systemd removes the unit's cgroup when the unit stops (it kills what is left first);
   * what we made ourselves (a v1 hierarchy systemd does not manage) goes as usual. */
  r = cgroup_sd_stop(cg, err);
  if (r < 0)
    {
      /* No systemd to ask: remove the directories ourselves rather than leave them. */
      size_t i;
      for (i = 0; i < cg->n_hiers; i++)
        if (cg->hiers[i].created == NULL)
          cg->hiers[i].created = xstrdup(cg->hiers[i].dir);
    }
  if (remove_all(cg, r < 0 ? &e : err) < 0 && r == 0)
    r = -1;
  isolazi_error_release(&e);
  return r;
}

int
isolazi_cgroup_freeze(const isolazi_cgroup_t *cg, bool freeze, isolazi_error_t *err)
{
  return driver_of(cg)->freeze(cg, freeze, err);
}

bool
isolazi_cgroup_is_frozen(const isolazi_cgroup_t *cg)
{
  return driver_of(cg)->frozen(cg);
}

/* checkBeforeUpdate (runtime-spec 1.1): lowering the limit below the usage would make the
 * kernel reclaim or OOM-kill inside the container; refuse instead. */
static int
check_memory_usage(const isolazi_cgroup_t *cg, const oci_memory *m, isolazi_error_t *err)
{
  const bool v2 = cg->mode == ISOLAZI_CGROUP_V2;
  const cgroup_hier_t *h = cgroup_find_hier(cg, v2 ? "" : "memory");
  const char *file = v2 ? "memory.current" : "memory.usage_in_bytes";
  uint64_t usage;

  if (!m->check_before_update_present || !m->check_before_update || !m->limit_present || m->limit <= 0 || h == NULL)
    return 0;
  usage = cgroup_read_u64(h->dir, file);
  if ((uint64_t)m->limit < usage)
    return isolazi_error_set(err, 0,
                             "set `%s` to `%" PRId64
                             "` (linux.resources.memory.limit): below the current usage %" PRIu64
                             " (`%s`; checkBeforeUpdate is set)",
                             v2 ? "memory.max" : "memory.limit_in_bytes", m->limit, usage, file);
  return 0;
}

int
isolazi_cgroup_update(const isolazi_cgroup_t *cg, const oci_resources *r, isolazi_error_t *err)
{
  cgroup_writes_t w = { NULL, 0, 0 };
  int ret;

  if (r->memory != NULL && check_memory_usage(cg, r->memory, err) < 0)
    return -1;
  /* systemd first, as runc does: it rewrites its own files when a property changes, so the
   * exact values follow. */
  if (cg->sd_unit != NULL && cgroup_sd_update(cg, r, err) < 0)
    return -1;
  if (cg->mode == ISOLAZI_CGROUP_V2)
    ret = cgroup_v2_plan(r, &w, err);
  else
    {
      const cgroup_hier_t *h = cgroup_find_hier(cg, "memory");
      uint64_t cur = h != NULL ? cgroup_read_u64(h->dir, "memory.limit_in_bytes") : UINT64_MAX;
      ret = cgroup_v1_plan_update(r, cur ? cur : UINT64_MAX, &w, err);
    }
  if (ret == 0)
    ret = apply_writes(cg, &w, err);
  cgroup_writes_clear(&w);
  return ret;
}

int
isolazi_cgroup_stats(const isolazi_cgroup_t *cg, json_gen *g, isolazi_error_t *err)
{
  return driver_of(cg)->stats(cg, g, err);
}

/* ---- OOM notification ---- */

struct isolazi_cgroup_oom
{
  bool v2;
  int fd;        /* v1: eventfd registered through cgroup.event_control; v2: inotify */
  int watched;   /* v1: memory.oom_control, kept open while registered */
  char *dir;     /* the memory cgroup */
  uint64_t last; /* v2: oom_kill count seen so far */
};

int
isolazi_cgroup_oom_watch(const isolazi_cgroup_t *cg, isolazi_cgroup_oom_t **ret, isolazi_error_t *err)
{
  isolazi_cgroup_oom_t *o = xcalloc(1, sizeof *o);
  const cgroup_hier_t *h;

  o->v2 = cg->mode == ISOLAZI_CGROUP_V2;
  o->fd = o->watched = -1;
  h = cgroup_find_hier(cg, o->v2 ? "" : "memory");
  if (h == NULL)
    {
      free(o);
      return isolazi_error_set(err, ENOENT, "watch for OOM kills: no memory cgroup");
    }
  o->dir = xstrdup(h->dir);
  if (o->v2)
    {
      /* memory.events changes (a modify event) whenever one of its counters moves. */
      cleanup_free char *path = xasprintf("%s/memory.events", o->dir);
      cleanup_free char *text = cgroup_read_str(o->dir, "memory.events");
      o->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
      if (o->fd < 0 || inotify_add_watch(o->fd, path, IN_MODIFY) < 0)
        {
          isolazi_error_errno(err, "watch `%s`", path);
          isolazi_cgroup_oom_free(o);
          return -1;
        }
      if (text != NULL)
        (void)cgroup_flat_get(text, "oom_kill", &o->last);
    }
  else
    {
      /* memcg v1: write "<eventfd> <fd of memory.oom_control>" to cgroup.event_control; the
       * eventfd then counts OOM situations, and is also signalled when the cgroup goes away. */
      cleanup_free char *path = xasprintf("%s/memory.oom_control", o->dir);
      cleanup_free char *line = NULL;
      o->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      o->watched = open(path, O_RDONLY | O_CLOEXEC);
      if (o->fd < 0 || o->watched < 0)
        {
          isolazi_error_errno(err, "watch `%s`", path);
          isolazi_cgroup_oom_free(o);
          return -1;
        }
      line = xasprintf("%d %d", o->fd, o->watched);
      if (cgroup_write_str(o->dir, "cgroup.event_control", line, err) < 0)
        {
          isolazi_cgroup_oom_free(o);
          return isolazi_error_wrap(err, "register an OOM eventfd");
        }
    }
  *ret = o;
  return 0;
}

int
isolazi_cgroup_oom_fd(const isolazi_cgroup_oom_t *o)
{
  return o->fd;
}

int
isolazi_cgroup_oom_check(isolazi_cgroup_oom_t *o, unsigned int *ret_kills, bool *ret_gone)
{
  struct stat st;

  *ret_kills = 0;
  *ret_gone = false;
  if (o->v2)
    {
      char buf[4096];
      cleanup_free char *text = NULL;
      uint64_t n = 0;
      while (read(o->fd, buf, sizeof buf) > 0)
        ;
      text = cgroup_read_str(o->dir, "memory.events");
      if (text == NULL)
        {
          *ret_gone = true;
          return 0;
        }
      if (cgroup_flat_get(text, "oom_kill", &n) && n > o->last)
        {
          *ret_kills = (unsigned int)(n - o->last);
          o->last = n;
        }
      return 0;
    }
  else
    {
      uint64_t n = 0;
      if (read(o->fd, &n, sizeof n) != sizeof n)
        return 0;
      /* The eventfd also fires on removal of the cgroup: then it was no OOM. */
      if (stat(o->dir, &st) < 0)
        {
          *ret_gone = true;
          return 0;
        }
      *ret_kills = (unsigned int)n;
      return 0;
    }
}

void
isolazi_cgroup_oom_free(isolazi_cgroup_oom_t *o)
{
  if (o == NULL)
    return;
  if (o->fd >= 0)
    (void)close(o->fd);
  if (o->watched >= 0)
    (void)close(o->watched);
  free(o->dir);
  free(o);
}

/* ---- parsing cgroup files (pure) ---- */

bool
cgroup_parse_u64(const char *text, uint64_t *ret)
{
  char *end = NULL;
  unsigned long long v;

  while (*text == ' ' || *text == '\t')
    text++;
  if (strncmp(text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n'))
    {
      *ret = UINT64_MAX;
      return true;
    }
  if (*text < '0' || *text > '9')
    return false;
  errno = 0;
  v = strtoull(text, &end, 10);
  if (errno != 0 || (*end != '\0' && *end != '\n' && *end != ' '))
    return false;
  *ret = v;
  return true;
}

bool
cgroup_flat_get(const char *text, const char *key, uint64_t *ret)
{
  size_t n = strlen(key);
  const char *line = text;

  while (line != NULL && *line)
    {
      if (strncmp(line, key, n) == 0 && line[n] == ' ')
        return cgroup_parse_u64(line + n + 1, ret);
      line = strchr(line, '\n');
      if (line != NULL)
        line++;
    }
  return false;
}

size_t
cgroup_parse_u64_list(const char *text, uint64_t **ret)
{
  uint64_t *v = NULL;
  size_t n = 0;
  const char *p = text;

  while (p != NULL && *p)
    {
      char *end = NULL;
      unsigned long long x;
      while (*p == ' ' || *p == '\n' || *p == '\t')
        p++;
      if (*p < '0' || *p > '9')
        break;
      x = strtoull(p, &end, 10);
      v = xrealloc(v, (n + 1) * sizeof *v);
      v[n++] = x;
      p = end;
    }
  *ret = v;
  return n;
}

size_t
cgroup_parse_usage_all(const char *text, uint64_t **ret_user, uint64_t **ret_sys)
{
  uint64_t *u = NULL, *sy = NULL;
  size_t n = 0;
  const char *line = strchr(text, '\n'); /* skip the "cpu user system" header */

  while (line != NULL && *++line)
    {
      unsigned long long cpu, user, sys;
      if (sscanf(line, "%llu %llu %llu", &cpu, &user, &sys) == 3)
        {
          u = xrealloc(u, (n + 1) * sizeof *u);
          sy = xrealloc(sy, (n + 1) * sizeof *sy);
          u[n] = user;
          sy[n] = sys;
          n++;
        }
      line = strchr(line, '\n');
    }
  *ret_user = u;
  *ret_sys = sy;
  return n;
}

/* ---- merging resources (pure) ---- */

/* Objects merge key by key (keys of `old` first, in their order); anything else: `new` wins. */
static void
gen_merged(json_gen *g, const json_value *old, const json_value *new)
{
  size_t i;

  if (old == NULL || new == NULL || json_typeof(old) != JSON_OBJECT || json_typeof(new) != JSON_OBJECT)
    {
      json_gen_value(g, new ? new : old);
      return;
    }
  json_gen_object_open(g);
  for (i = 0; i < json_object_len(old); i++)
    {
      const char *k = json_object_key(old, i);
      json_gen_key(g, k);
      gen_merged(g, json_object_value(old, i), json_object_get(new, k));
    }
  for (i = 0; i < json_object_len(new); i++)
    {
      const char *k = json_object_key(new, i);
      if (json_object_get(old, k) != NULL)
        continue;
      json_gen_key(g, k);
      json_gen_value(g, json_object_value(new, i));
    }
  json_gen_object_close(g);
}

char *
cgroup_resources_merge_json(const char *old_json, const char *new_json, char **err)
{
  json_value *o = NULL, *n = NULL;
  json_gen *g;
  char *out = NULL;

  if (old_json != NULL && (o = json_parse(old_json, strlen(old_json), err)) == NULL)
    return NULL;
  if ((n = json_parse(new_json, strlen(new_json), err)) == NULL)
    {
      json_value_free(o);
      return NULL;
    }
  g = json_gen_new(false);
  gen_merged(g, o, n);
  if (json_gen_finish(g, &out, NULL, err) < 0)
    out = NULL;
  json_gen_free(g);
  json_value_free(o);
  json_value_free(n);
  return out;
}

/* ---- persistence ---- */

void
isolazi_cgroup_to_json(const isolazi_cgroup_t *cg, json_gen *g)
{
  size_t i;

  json_gen_object_open(g);
  json_gen_key(g, "mode");
  json_gen_string(g, isolazi_cgroup_mode_name(cg->mode));
  json_gen_key(g, "path");
  json_gen_string(g, cg->path);
  json_gen_key(g, "hierarchies");
  json_gen_array_open(g);
  for (i = 0; i < cg->n_hiers; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "name");
      json_gen_string(g, cg->hiers[i].name);
      json_gen_key(g, "dir");
      json_gen_string(g, cg->hiers[i].dir);
      json_gen_key(g, "created");
      json_gen_string(g, cg->hiers[i].created);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  if (cg->sd_unit != NULL)
    {
      json_gen_key(g, "systemd");
      json_gen_object_open(g);
      json_gen_key(g, "unit");
      json_gen_string(g, cg->sd_unit);
      json_gen_key(g, "user");
      json_gen_bool(g, cg->sd_user);
      json_gen_object_close(g);
    }
  json_gen_object_close(g);
}

/* An absolute, already clean path (the state file decides what destroy removes). */
static bool
is_clean_abs(const char *p)
{
  cleanup_free char *c = NULL;

  if (p == NULL || p[0] != '/')
    return false;
  c = cgroup_clean_path(p);
  return strcmp(c, p) == 0;
}

int
isolazi_cgroup_from_json(const json_value *v, isolazi_cgroup_t **ret, isolazi_error_t *err)
{
  cleanup_cgroup isolazi_cgroup_t *cg = NULL;
  const json_value *hs, *sd;
  const char *mode_s, *path;
  isolazi_cgroup_mode_t mode;
  size_t i;

  if (v == NULL || json_typeof(v) != JSON_OBJECT)
    return isolazi_error_set(err, EINVAL, "load cgroup: expected an object");
  mode_s = json_get_string(json_object_get(v, "mode"));
  if (mode_s == NULL || mode_parse(mode_s, &mode) < 0)
    return isolazi_error_set(err, EINVAL, "load cgroup: mode: expected \"v1\", \"hybrid\" or \"v2\"");
  path = json_get_string(json_object_get(v, "path"));
  if (path == NULL)
    return isolazi_error_set(err, EINVAL, "load cgroup: path: expected a string");
  hs = json_object_get(v, "hierarchies");
  if (hs == NULL || json_typeof(hs) != JSON_ARRAY)
    return isolazi_error_set(err, EINVAL, "load cgroup: hierarchies: expected an array");
  cg = cgroup_new(mode);
  cg->path = xstrdup(path);
  for (i = 0; i < json_array_len(hs); i++)
    {
      const json_value *o = json_array_get(hs, i);
      const json_value *cv = json_object_get(o, "created");
      const char *name = json_get_string(json_object_get(o, "name"));
      const char *dir = json_get_string(json_object_get(o, "dir"));
      const char *created = cv ? json_get_string(cv) : NULL;
      cgroup_hier_t *h;

      if (name == NULL || !is_clean_abs(dir))
        return isolazi_error_set(err, EINVAL, "load cgroup: hierarchies[%zu]: expected name and absolute dir", i);
      if (cv != NULL && json_typeof(cv) != JSON_NULL
          && (!is_clean_abs(created) || !path_has_component_prefix(dir, created)))
        return isolazi_error_set(err, EINVAL, "load cgroup: hierarchies[%zu].created: not `%s` or a parent of it", i,
                                 dir);
      h = hier_add(cg, name);
      h->dir = xstrdup(dir);
      h->created = xstrdup(created);
    }
  sd = json_object_get(v, "systemd");
  if (sd != NULL && json_typeof(sd) != JSON_NULL)
    {
      const char *unit = json_get_string(json_object_get(sd, "unit"));
      bool user = false;
      if (unit == NULL || *unit == '\0' || strchr(unit, '/') != NULL)
        return isolazi_error_set(err, EINVAL, "load cgroup: systemd.unit: expected a unit name");
      (void)json_get_bool(json_object_get(sd, "user"), &user);
      cg->sd_unit = xstrdup(unit);
      cg->sd_user = user;
    }
  open_v2_fd(cg);
  *ret = steal_pointer(&cg);
  return 0;
}

/* ---- writes list ---- */

cgroup_write_t *
cgroup_writes_add(cgroup_writes_t *w, const char *controller, const char *field, const char *file, char *value)
{
  cgroup_write_t *wr;

  if (w->len == w->cap)
    {
      w->cap = w->cap ? w->cap * 2 : 16;
      w->v = xrealloc(w->v, w->cap * sizeof *w->v);
    }
  wr = &w->v[w->len++];
  memset(wr, 0, sizeof *wr);
  wr->controller = controller;
  wr->field = xstrdup(field);
  wr->file = xstrdup(file);
  wr->value = value;
  return wr;
}

void
cgroup_writes_clear(cgroup_writes_t *w)
{
  size_t i;

  for (i = 0; i < w->len; i++)
    {
      free(w->v[i].file);
      free(w->v[i].value);
      free(w->v[i].field);
      free(w->v[i].alt_file);
      free(w->v[i].alt_value);
    }
  free(w->v);
  w->v = NULL;
  w->len = w->cap = 0;
}

void
cgroup_stats_gen_tail(json_gen *g)
{
  static const char *const empty_maps[] = { "blkio", "hugetlb", "intel_rdt" };
  size_t i;

  for (i = 0; i < sizeof empty_maps / sizeof empty_maps[0]; i++)
    {
      json_gen_key(g, empty_maps[i]);
      json_gen_object_open(g);
      json_gen_object_close(g);
    }
  json_gen_key(g, "network_interfaces");
  json_gen_null(g);
  json_gen_object_close(g);
}

void
cgroup_stats_gen_flat(json_gen *g, const char *text)
{
  const char *line = text;

  while (line != NULL && *line)
    {
      const char *sp = strchr(line, ' ');
      const char *eol = strchr(line, '\n');
      uint64_t v;
      if (sp != NULL && (eol == NULL || sp < eol) && cgroup_parse_u64(sp + 1, &v))
        {
          cleanup_free char *k = strndup(line, (size_t)(sp - line));
          if (k == NULL)
            abort();
          json_gen_key(g, k);
          json_gen_uint64(g, v);
        }
      line = eol ? eol + 1 : NULL;
    }
}
