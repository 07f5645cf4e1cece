/* SPDX-License-Identifier: Apache-2.0 */
/* The container's filesystem view (runtime-spec config.md "Root", "Mounts"; config-linux.md
 * "Devices", "Masked Paths", "Readonly Paths", "Rootfs Mount Propagation").
 *
 * Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT) against an fd of the
 * rootfs and every mount lands on the resolved fd ("/proc/self/fd/N" for mount(2), or
 * move_mount(MOVE_MOUNT_T_EMPTY_PATH)): a symlink planted in the image, or swapped in while we
 * work, cannot send a mount, mkdir or mknod to the host (CVE-2019-19921, CVE-2021-30465,
 * CVE-2023-27561, CVE-2025-31133). */
#include "config.h"
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices.h"
#include "lsm.h"
#include "log.h"
#include "utils.h"

/* ------------------------------------------------------------------------------------------
 * Deciding: pure functions
 * ---------------------------------------------------------------------------------------- */

char *
isolazi_rootfs_clean_path(const char *path)
{
  size_t n = strlen(path);
  char *out = xmalloc(n + 2);
  size_t w = 0;
  const char *p = path;

  out[w++] = '/';
  while (*p != '\0')
    {
      const char *start, *end;
      size_t len;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      start = p;
      while (*p != '\0' && *p != '/')
        p++;
      end = p;
      len = (size_t)(end - start);
      if (len == 1 && start[0] == '.')
        continue;
      if (len == 2 && start[0] == '.' && start[1] == '.')
        {
          /* Drop the last component; ".." at "/" stays at "/" (as in a chroot). */
          while (w > 1 && out[w - 1] != '/')
            w--;
          if (w > 1)
            w--;
          continue;
        }
      if (w > 1)
        out[w++] = '/';
      memcpy(out + w, start, len);
      w += len;
    }
  out[w] = '\0';
  return out;
}

static bool
path_is_under(const char *path, const char *dir)
{
  size_t n = strlen(dir);

  if (strcmp(dir, "/") == 0)
    return true;
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool
isolazi_rootfs_proc_mount_allowed(const char *dest, bool source_is_proc)
{
  /* Files that LXCFS and similar tools legitimately bind over (runc's validProcMounts). */
  static const char *const allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",    "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
  };
  size_t i;

  if (!path_is_under(dest, "/proc"))
    return true;
  if (strcmp(dest, "/proc") == 0)
    return source_is_proc;
  for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
    if (strcmp(dest, allowed[i]) == 0)
      return true;
  return false;
}

/* One line of /proc/PID/mountinfo (proc(5)); pointers into a private copy of the line. */
typedef struct mountinfo_entry
{
  char *root;
  char *mountpoint;
  char *optional; /* space-separated optional fields ("shared:1 master:2"), may be "" */
  char *fstype;
  char *source;
  char *superopts;
} mountinfo_entry_t;

/* Undo the octal escapes the kernel writes for space, tab, newline and backslash. */
static void
unescape_octal(char *s)
{
  char *r = s, *w = s;

  while (*r != '\0')
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
          r += 4;
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
}

/* Parse `line` in place.  Returns false for a malformed line. */
static bool
mountinfo_parse_line(char *line, mountinfo_entry_t *e)
{
  char *fields[6] = { NULL };
  char *save = NULL, *tok;
  int i = 0;
  char *opt_start = NULL, *opt_end = NULL;

  memset(e, 0, sizeof *e);
  /* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
  for (tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
    {
      if (i < 6)
        fields[i] = tok;
      else if (strcmp(tok, "-") == 0)
        break;
      else
        {
          if (opt_start == NULL)
            opt_start = tok;
          opt_end = tok + strlen(tok);
        }
      i++;
    }
  if (tok == NULL || i < 6)
    return false;
  e->root = fields[3];
  e->mountpoint = fields[4];
  if (opt_start != NULL)
    {
      /* strtok_r put NULs between the optional fields: join them back with spaces. */
      char *c;
      for (c = opt_start; c < opt_end; c++)
        if (*c == '\0')
          *c = ' ';
      e->optional = opt_start;
    }
  else
    e->optional = (char *)"";
  e->fstype = strtok_r(NULL, " ", &save);
  e->source = strtok_r(NULL, " ", &save);
  e->superopts = strtok_r(NULL, " ", &save);
  if (e->fstype == NULL || e->source == NULL)
    return false;
  if (e->superopts == NULL)
    e->superopts = (char *)"";
  unescape_octal(e->root);
  unescape_octal(e->mountpoint);
  return true;
}

/* Call fn for every entry; fn returns < 0 to stop with an error, > 0 to stop early. */
typedef int (*mountinfo_fn)(const mountinfo_entry_t *e, void *data, isolazi_error_t *err);

static int
mountinfo_foreach(const char *text, mountinfo_fn fn, void *data, isolazi_error_t *err)
{
  cleanup_free char *copy = xstrdup(text);
  char *line, *save = NULL;

  for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    {
      mountinfo_entry_t e;
      int r;

      if (!mountinfo_parse_line(line, &e))
        continue;
      r = fn(&e, data, err);
      if (r != 0)
        return r < 0 ? -1 : 0;
    }
  return 0;
}

struct find_data
{
  const char *path;
  char *best;
  bool shared;
};

static int
find_cb(const mountinfo_entry_t *e, void *data, isolazi_error_t *err)
{
  struct find_data *d = data;

  /* Later entries stack on earlier ones: ">=" keeps the top mount at the same point. */
  if (path_is_under(d->path, e->mountpoint) && (d->best == NULL || strlen(e->mountpoint) >= strlen(d->best)))
    {
      free(d->best);
      d->best = xstrdup(e->mountpoint);
      d->shared = strstr(e->optional, "shared:") != NULL;
    }
  return 0;
}

int
isolazi_mountinfo_find(const char *mountinfo, const char *path, char **ret_mountpoint, bool *ret_shared,
                       isolazi_error_t *err)
{
  struct find_data d = { path, NULL, false };

  if (mountinfo_foreach(mountinfo, find_cb, &d, err) < 0)
    return -1;
  if (d.best == NULL)
    return isolazi_error_set(err, ENOENT, "find the mount of `%s` in mountinfo", path);
  *ret_mountpoint = d.best;
  *ret_shared = d.shared;
  return 0;
}

/* ---- cgroup mount plan ---- */

typedef struct self_cgroup
{
  char **controllers; /* NULL-terminated ("cpu", "cpuacct") or ("name=systemd") */
  char *controllers_text;
  char *path;
  bool used;
} self_cgroup_t;

static char **
split_commas(const char *s)
{
  size_t n = 1, i = 0;
  const char *c;
  char **v;
  cleanup_free char *copy = xstrdup(s);
  char *tok, *save = NULL;

  for (c = s; *c != '\0'; c++)
    if (*c == ',')
      n++;
  v = xcalloc(n + 1, sizeof *v);
  for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
    v[i++] = xstrdup(tok);
  v[i] = NULL;
  return v;
}

static bool
strv_contains(char *const *v, const char *s)
{
  for (; v != NULL && *v != NULL; v++)
    if (strcmp(*v, s) == 0)
      return true;
  return false;
}

static void
self_cgroups_free(self_cgroup_t *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      cleanup_strvp(&s[i].controllers);
      free(s[i].controllers_text);
      free(s[i].path);
    }
  free(s);
}

/* "4:memory:/a/b" lines; the v2 line ("0::/x") has no controllers and is skipped. */
static self_cgroup_t *
parse_self_cgroup(const char *text, size_t *ret_n)
{
  cleanup_free char *copy = xstrdup(text);
  char *line, *save = NULL;
  self_cgroup_t *v = NULL;
  size_t n = 0;

  for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    {
      char *c1 = strchr(line, ':'), *c2;

      if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL || c2 == c1 + 1)
        continue;
      *c2 = '\0';
      v = xrealloc(v, (n + 1) * sizeof *v);
      v[n].controllers_text = xstrdup(c1 + 1);
      v[n].controllers = split_commas(c1 + 1);
      v[n].path = xstrdup(c2 + 1);
      v[n].used = false;
      n++;
    }
  *ret_n = n;
  return v;
}

struct plan_data
{
  self_cgroup_t *self;
  size_t self_n;
  isolazi_cgroup_mount_plan_t *plan;
};

static const char *
basename_of(const char *p)
{
  const char *s = strrchr(p, '/');
  return s != NULL ? s + 1 : p;
}

static int
plan_cb(const mountinfo_entry_t *e, void *data, isolazi_error_t *err)
{
  struct plan_data *d = data;
  isolazi_cgroup_mount_plan_t *p = d->plan;
  cleanup_strv char **opts = NULL;
  self_cgroup_t *own = NULL;
  const char *rel;
  size_t i;

  if (strcmp(e->fstype, "cgroup2") == 0 && strcmp(e->mountpoint, "/sys/fs/cgroup") == 0)
    {
      p->v2 = true;
      return 0;
    }
  if (strcmp(e->fstype, "cgroup") != 0)
    return 0;
  opts = split_commas(e->superopts);
  for (i = 0; i < d->self_n && own == NULL; i++)
    {
      char **c;
      bool all = true;

      for (c = d->self[i].controllers; *c != NULL; c++)
        if (!strv_contains(opts, *c))
          all = false;
      if (all)
        own = &d->self[i];
    }
  /* A hierarchy we are not in, or one already handled (the host mounted it twice). */
  if (own == NULL || own->used)
    return 0;
  /* The container's cgroup relative to what this mount shows (its root is not "/" when the
     host itself runs in a container). */
  if (strcmp(e->root, "/") == 0)
    rel = own->path;
  else if (path_is_under(own->path, e->root))
    rel = own->path + strlen(e->root);
  else
    /* Not reachable through this mount (in a cgroup namespace the root reads "/.."): nothing
       to bind, but a fresh cgroup mount of the hierarchy still works. */
    rel = NULL;
  own->used = true;
  p->binds = xrealloc(p->binds, (p->binds_len + 1) * sizeof *p->binds);
  p->binds[p->binds_len].name = xstrdup(basename_of(e->mountpoint));
  if (rel == NULL)
    p->binds[p->binds_len].source = NULL;
  else if (*rel == '\0' || strcmp(rel, "/") == 0)
    p->binds[p->binds_len].source = xstrdup(e->mountpoint);
  else
    p->binds[p->binds_len].source = xasprintf("%s%s", e->mountpoint, rel);
  p->binds[p->binds_len].mountpoint = xstrdup(e->mountpoint);
  p->binds[p->binds_len].root = xstrdup(e->root);
  /* A named hierarchy without controllers needs "none" (cgroups.rst: "none,name=systemd"). */
  p->binds[p->binds_len].data = isolazi_has_prefix(own->controllers_text, "name=")
                                    ? xasprintf("none,%s", own->controllers_text)
                                    : xstrdup(own->controllers_text);
  p->binds_len++;
  /* Co-mounted controllers ("cpu,cpuacct") also answer to each name, through a symlink. */
  if (strchr(p->binds[p->binds_len - 1].name, ',') != NULL)
    {
      cleanup_strv char **names = split_commas(p->binds[p->binds_len - 1].name);
      char **nm;

      for (nm = names; *nm != NULL; nm++)
        {
          p->link_names = xrealloc(p->link_names, (p->links_len + 1) * sizeof(char *));
          p->link_targets = xrealloc(p->link_targets, (p->links_len + 1) * sizeof(char *));
          p->link_names[p->links_len] = xstrdup(*nm);
          p->link_targets[p->links_len] = xstrdup(p->binds[p->binds_len - 1].name);
          p->links_len++;
        }
    }
  return 0;
}

char *
isolazi_cgroup_bind_dir(const isolazi_cgroup_bind_t *b, const char *path)
{
  cleanup_free char *clean = isolazi_rootfs_clean_path(path);
  const char *rel;

  if (strcmp(b->root, "/") == 0)
    rel = clean;
  else if (path_is_under(clean, b->root))
    rel = clean + strlen(b->root);
  else
    return NULL;
  if (*rel == '\0' || strcmp(rel, "/") == 0)
    return xstrdup(b->mountpoint);
  return xasprintf("%s%s", b->mountpoint, rel);
}

int
isolazi_cgroup_mount_plan(const char *mountinfo, const char *self_cgroup, isolazi_cgroup_mount_plan_t *ret,
                          isolazi_error_t *err)
{
  struct plan_data d;
  int r;

  memset(ret, 0, sizeof *ret);
  d.self = parse_self_cgroup(self_cgroup, &d.self_n);
  d.plan = ret;
  r = mountinfo_foreach(mountinfo, plan_cb, &d, err);
  self_cgroups_free(d.self, d.self_n);
  if (r < 0)
    {
      isolazi_cgroup_mount_plan_release(ret);
      return -1;
    }
  /* A pure v2 host: nothing to bind. */
  if (ret->v2)
    {
      bool v2 = true;
      isolazi_cgroup_mount_plan_release(ret);
      ret->v2 = v2;
    }
  return 0;
}

void
isolazi_cgroup_mount_plan_release(isolazi_cgroup_mount_plan_t *p)
{
  size_t i;

  if (p == NULL)
    return;
  for (i = 0; i < p->binds_len; i++)
    {
      free(p->binds[i].name);
      free(p->binds[i].source);
      free(p->binds[i].data);
      free(p->binds[i].mountpoint);
      free(p->binds[i].root);
    }
  free(p->binds);
  for (i = 0; i < p->links_len; i++)
    {
      free(p->link_names[i]);
      free(p->link_targets[i]);
    }
  free(p->link_names);
  free(p->link_targets);
  memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------------------------
 * Doing: resolution inside the root
 * ---------------------------------------------------------------------------------------- */

int
isolazi_rootfs_open_in_root(int rootfd, const char *path, int oflags, bool no_symlinks, isolazi_error_t *err)
{
  int fd = isolazi_openat2_in_root(rootfd, path, oflags, no_symlinks);

  if (fd < 0)
    {
      int saved = errno;
      if (saved == ELOOP && no_symlinks)
        isolazi_error_set(err, saved, "open `%s` in the container root: path goes through a symlink", path);
      else
        isolazi_error_set(err, saved, "open `%s` in the container root", path);
      errno = saved;
    }
  return fd;
}

/* The in-root path a dangling symlink `name` (in directory `dirfd`, reached as `parent`)
 * points to, followed by `rest`: creating through a dangling symlink creates its target, as
 * runc's securejoin does, but always inside the root (RESOLVE_IN_ROOT treats the target's
 * "/" and ".." as the root's).  NULL if it is not a symlink. */
static char *
dangling_target(int dirfd, const char *parent, const char *name, const char *rest)
{
  char target[PATH_MAX];
  ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);

  if (n <= 0)
    return NULL;
  target[n] = '\0';
  if (target[0] == '/')
    return xasprintf("%s/%s", target, rest);
  return xasprintf("%s/%s/%s", parent, target, rest);
}

/* Components are not cleaned here: ".." in a symlink's target must be resolved physically,
 * which openat2 does. */
static int
mkdir_in_root_raw(int rootfd, const char *path, mode_t mode, int depth, isolazi_error_t *err)
{
  cleanup_close int cur = -1;
  const char *p = path;

  if (depth > 40)
    return isolazi_error_set(err, ELOOP, "mkdir `%s` in the container root", path);
  cur = isolazi_openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY, false);
  if (cur < 0)
    return isolazi_error_errno(err, "open the container root");
  while (*p != '\0')
    {
      const char *start, *end;
      cleanup_free char *name = NULL;
      cleanup_free char *prefix = NULL;
      int next;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      start = p;
      end = strchr(start, '/');
      if (end == NULL)
        end = start + strlen(start);
      name = xmalloc((size_t)(end - start) + 1);
      memcpy(name, start, (size_t)(end - start));
      name[end - start] = '\0';
      prefix = xmalloc((size_t)(end - path) + 1);
      memcpy(prefix, path, (size_t)(end - path));
      prefix[end - path] = '\0';
      p = end;

      next = isolazi_openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, false);
      if (next < 0 && errno == ENOENT)
        {
          /* Create the component relative to its resolved parent, never by host path. */
          if (mkdirat(cur, name, mode) < 0 && errno != EEXIST)
            return isolazi_error_errno(err, "mkdir `%s` in the container root", prefix);
          next = isolazi_openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, false);
          if (next < 0 && errno == ENOENT)
            {
              cleanup_free char *parent = xmalloc((size_t)(start - path) + 1);
              cleanup_free char *retry = NULL;

              memcpy(parent, path, (size_t)(start - path));
              parent[start - path] = '\0';
              retry = dangling_target(cur, parent, name, p);
              if (retry == NULL)
                return isolazi_error_set(err, ENOENT, "mkdir `%s` in the container root", prefix);
              return mkdir_in_root_raw(rootfd, retry, mode, depth + 1, err);
            }
        }
      if (next < 0)
        return isolazi_error_errno(err, "open `%s` in the container root", prefix);
      close(cur);
      cur = next;
    }
  return steal_fd(&cur);
}

int
isolazi_rootfs_mkdir_in_root(int rootfd, const char *path, mode_t mode, isolazi_error_t *err)
{
  cleanup_free char *clean = isolazi_rootfs_clean_path(path);
  return mkdir_in_root_raw(rootfd, clean, mode, 0, err);
}

/* ------------------------------------------------------------------------------------------
 * Doing: mounting through fds
 * ---------------------------------------------------------------------------------------- */

static int
fd_path(int fd, char *buf, size_t size)
{
  char link[64];
  ssize_t n;

  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink(link, buf, size - 1);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return 0;
}

/* The resolved fd must still be inside the rootfs, before and after the mount: defence in
 * depth on top of RESOLVE_IN_ROOT against a path swapped under us (CVE-2021-30465). */
static int
check_inside(int fd, const char *root_real, const char *dest, isolazi_error_t *err)
{
  char buf[PATH_MAX];

  if (fd_path(fd, buf, sizeof buf) < 0)
    return isolazi_error_errno(err, "check `%s`: read the path of its fd", dest);
  if (!path_is_under(buf, root_real))
    return isolazi_error_set(err, EPERM, "mount on `%s`: resolved to `%s` outside the rootfs `%s`", dest, buf,
                             root_real);
  return 0;
}

static int
mount_on_fd(const char *source, int fd, const char *type, unsigned long flags, const char *data)
{
  char target[64];

  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  return mount(source, target, type, flags, data);
}

static int
setattr_fd(int fd, bool recursive, uint64_t set, uint64_t clr, uint64_t propagation)
{
  struct mount_attr attr;

  memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.attr_clr = clr;
  attr.propagation = propagation;
  return mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}

/* Apply set/clr; when the kernel refuses (a flag locked by a user namespace: the mount came
 * from a more privileged namespace, mount_namespaces(7) "locked"), keep whatever the mount
 * already has instead of clearing it, as runc does. */
static int
setattr_keep_locked(int fd, bool recursive, uint64_t set, uint64_t clr)
{
  struct statvfs sv;
  uint64_t have = 0;

  if (set == 0 && clr == 0)
    return 0;
  if (setattr_fd(fd, recursive, set, clr, 0) == 0)
    return 0;
  if (errno != EPERM || fstatvfs(fd, &sv) < 0)
    return -1;
  if (sv.f_flag & ST_RDONLY)
    have |= MOUNT_ATTR_RDONLY;
  if (sv.f_flag & ST_NOSUID)
    have |= MOUNT_ATTR_NOSUID;
  if (sv.f_flag & ST_NODEV)
    have |= MOUNT_ATTR_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    have |= MOUNT_ATTR_NOEXEC;
  clr &= ~have;
  /* The atime mode is locked as a whole. */
  set &= ~(uint64_t)MOUNT_ATTR__ATIME;
  clr &= ~(uint64_t)MOUNT_ATTR__ATIME;
  errno = EPERM;
  return set == 0 && clr == 0 ? 0 : setattr_fd(fd, recursive, set, clr, 0);
}

static int
set_propagation(int fd, unsigned long propagation)
{
  if (propagation == 0)
    return 0;
  return setattr_fd(fd, (propagation & MS_REC) != 0, 0, 0, propagation & ~(unsigned long)MS_REC);
}

/* Shared state of one prepare() call. */
typedef struct prepare_ctx
{
  int rootfd;
  const char *root_real;
  const isolazi_rootfs_options_t *o;
  char *mountinfo;         /* read once, for cgroup mounts */
  const char *mount_label; /* linux.mountLabel when SELinux is enabled, else NULL */
} prepare_ctx_t;

static int
prepare_destination_depth(prepare_ctx_t *c, const char *dest, bool file, int depth, isolazi_error_t *err)
{
  int fd;

  if (depth > 40)
    return isolazi_error_set(err, ELOOP, "create `%s` in the container root", dest);
  fd = isolazi_openat2_in_root(c->rootfd, dest, O_PATH, false);
  if (fd < 0 && errno == ENOENT)
    {
      if (!file)
        fd = isolazi_rootfs_mkdir_in_root(c->rootfd, dest, 0755, err);
      else
        {
          cleanup_free char *parent = xstrdup(dest);
          char *slash = strrchr(parent, '/');
          cleanup_close int pfd = -1;
          cleanup_close int created = -1;

          *slash = '\0';
          pfd = isolazi_rootfs_mkdir_in_root(c->rootfd, parent[0] ? parent : "/", 0755, err);
          if (pfd < 0)
            return -1;
          /* O_EXCL|O_NOFOLLOW: never create through a symlink; a dangling one has its target
             created inside the root instead. */
          created = openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
          if (created < 0 && errno != EEXIST)
            return isolazi_error_errno(err, "create `%s` in the container root", dest);
          fd = isolazi_openat2_in_root(c->rootfd, dest, O_PATH, false);
          if (fd < 0 && errno == ENOENT)
            {
              cleanup_free char *retry = dangling_target(pfd, parent, slash + 1, "");
              cleanup_free char *clean = retry ? isolazi_rootfs_clean_path(retry) : NULL;
              if (clean == NULL)
                return isolazi_error_set(err, ENOENT, "create `%s` in the container root", dest);
              /* The target is rechecked from scratch, so it stays inside the root too. */
              fd = prepare_destination_depth(c, clean, file, depth + 1, err);
              if (fd < 0)
                return -1;
              if (close(fd) < 0)
                return isolazi_error_errno(err, "close `%s`", clean);
              fd = isolazi_openat2_in_root(c->rootfd, dest, O_PATH, false);
            }
          if (fd < 0)
            return isolazi_error_errno(err, "open `%s` in the container root", dest);
        }
    }
  else if (fd < 0)
    isolazi_error_errno(err, "open `%s` in the container root", dest);
  if (fd >= 0 && check_inside(fd, c->root_real, dest, err) < 0)
    {
      close(fd);
      return -1;
    }
  return fd;
}

/* Resolve `dest` inside the root, creating it when missing: a directory, or with `file` an
 * empty file (a bind of a file needs a file to land on). Returns an O_PATH fd. */
static int
prepare_destination(prepare_ctx_t *c, const char *dest, bool file, isolazi_error_t *err)
{
  return prepare_destination_depth(c, dest, file, 0, err);
}

static int
do_bind(prepare_ctx_t *c, const char *source, const char *dest, const isolazi_mount_flags_t *f, bool recursive,
        int premade, isolazi_error_t *err)
{
  cleanup_close int target = -1;
  cleanup_close int tree = -1;
  struct stat st;
  struct statfs sfs;
  uint64_t set, clr;

  if (stat(source, &st) < 0)
    return isolazi_error_errno(err, "bind `%s` on `%s`: stat source", source, dest);
  if (!isolazi_rootfs_proc_mount_allowed(dest, statfs(source, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC))
    return isolazi_error_set(err, EPERM, "bind `%s` on `%s`: destination is inside /proc", source, dest);
  target = prepare_destination(c, dest, !S_ISDIR(st.st_mode), err);
  if (target < 0)
    return isolazi_error_wrap(err, "bind `%s` on `%s`", source, dest);
  /* An idmapped tree comes ready from the runtime (userns.h says why); it is moved only once. */
  tree = premade >= 0
             ? dup(premade)
             : open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0)
    return isolazi_error_errno(err, "bind `%s` on `%s`: clone source", source, dest);
  /* Flags on the detached copy, before anyone can see it: "ro" etc. apply to the top mount only
     (as MS_REMOUNT|MS_BIND would); r* attributes to the whole tree. */
  isolazi_mount_flags_to_attr(f->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT), f->clear, &set, &clr);
  if (setattr_keep_locked(tree, false, set, clr) < 0)
    return isolazi_error_errno(err, "bind `%s` on `%s`: set mount flags", source, dest);
  if ((f->rec_attr_set || f->rec_attr_clr) && setattr_keep_locked(tree, true, f->rec_attr_set, f->rec_attr_clr) < 0)
    return isolazi_error_errno(err, "bind `%s` on `%s`: set recursive mount flags", source, dest);
  if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return isolazi_error_errno(err, "bind `%s` on `%s`", source, dest);
  if (set_propagation(tree, f->propagation) < 0)
    return isolazi_error_errno(err, "set propagation of `%s`", dest);
  return check_inside(target, c->root_real, dest, err);
}

/* Recursive bind of /sys onto target with the sysfs mount's flags on every mount of the tree. */
static int
bind_sysfs(int target, unsigned long flags)
{
  cleanup_close int tree = -1;
  uint64_t set, clr;

  tree = open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0)
    return -1;
  isolazi_mount_flags_to_attr(flags, 0, &set, &clr);
  if (setattr_keep_locked(tree, true, set, clr) < 0)
    return -1;
  return move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* A new filesystem (proc, sysfs, tmpfs, devpts, mqueue, cgroup, anything with data). */
static int
do_fs_mount(prepare_ctx_t *c, const char *source, const char *type, const char *dest, unsigned long flags,
            const char *data, unsigned long propagation, isolazi_error_t *err)
{
  cleanup_close int target = -1;
  cleanup_close int mounted = -1;
  struct stat before;
  bool existed = false;

  if (strcmp(type, "proc") == 0 || strcmp(type, "sysfs") == 0)
    {
      /* Never mount proc or sysfs through a symlink (CVE-2019-19921, CVE-2023-27561): an
         image's /proc -> /somewhere would leave the real /proc unmasked. */
      int fd = isolazi_openat2_in_root(c->rootfd, dest, O_PATH | O_NOFOLLOW, true);
      if (fd >= 0)
        {
          int r = fstat(fd, &before);
          close(fd);
          if (r == 0 && !S_ISDIR(before.st_mode))
            return isolazi_error_set(err, ENOTDIR, "mount `%s` on `%s`: must be an ordinary directory", type, dest);
        }
      else if (errno == ELOOP)
        return isolazi_error_set(err, ELOOP, "mount `%s` on `%s`: destination goes through a symlink", type, dest);
    }
  if (!isolazi_rootfs_proc_mount_allowed(dest, strcmp(type, "proc") == 0))
    return isolazi_error_set(err, EPERM, "mount `%s` on `%s`: destination is inside /proc", type, dest);

  {
    int fd = isolazi_openat2_in_root(c->rootfd, dest, O_PATH, false);
    if (fd >= 0)
      {
        existed = fstat(fd, &before) == 0;
        close(fd);
      }
  }
  target = prepare_destination(c, dest, false, err);
  if (target < 0)
    return isolazi_error_wrap(err, "mount `%s` on `%s`", type, dest);
  if (mount_on_fd(source, target, type, flags, data) < 0)
    {
      if (errno != EPERM || strcmp(type, "sysfs") != 0)
        return isolazi_error_errno(err, "mount `%s` on `%s`", type, dest);
      /* A user namespace that does not own the network namespace (a CNI netns joined with a new
         user namespace) may not mount sysfs: the kernel ties it to the netns owner. Bind the
         sysfs this mount namespace already has instead, read-only flags and all, as crun does. */
      if (bind_sysfs(target, flags) < 0)
        return isolazi_error_errno(err, "mount `%s` on `%s` (and bind `/sys` in its place)", type, dest);
    }
  if (check_inside(target, c->root_real, dest, err) < 0)
    return -1;
  mounted = isolazi_rootfs_open_in_root(c->rootfd, dest, O_RDONLY | O_DIRECTORY, false, err);
  if (mounted < 0)
    return isolazi_error_wrap(err, "mount `%s` on `%s`", type, dest);
  if (set_propagation(mounted, propagation) < 0)
    return isolazi_error_errno(err, "set propagation of `%s`", dest);
  /* A tmpfs over an existing directory takes that directory's mode, as runc does (/tmp in an
     image is 1777 whatever mode= says). */
  if (strcmp(type, "tmpfs") == 0 && existed && S_ISDIR(before.st_mode) && !(flags & MS_RDONLY)
      && fchmod(mounted, before.st_mode & 07777) < 0)
    return isolazi_error_errno(err, "chmod `%s`", dest);
  return 0;
}

static int
read_text(const char *path, char **ret, isolazi_error_t *err)
{
  size_t len;
  return isolazi_read_file(path, ret, &len, err);
}

static int
do_cgroup_mount(prepare_ctx_t *c, const oci_mount *m, const char *dest, const isolazi_mount_flags_t *f,
                isolazi_error_t *err)
{
  isolazi_cgroup_mount_plan_t plan;
  cleanup_free char *self = NULL;
  cleanup_close int dirfd = -1;
  unsigned long flags = f->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
  size_t i;
  int r = -1;

  if (c->mountinfo == NULL && read_text("/proc/self/mountinfo", &c->mountinfo, err) < 0)
    return -1;
  if (read_text("/proc/self/cgroup", &self, err) < 0)
    return -1;
  if (isolazi_cgroup_mount_plan(c->mountinfo, self, &plan, err) < 0)
    return -1;
  if (plan.v2)
    {
      r = do_fs_mount(c, m->source ? m->source : "cgroup", "cgroup2", dest, flags, f->data, f->propagation, err);
      goto out;
    }
  /* runc: a tmpfs (mode=755, rw) holds one entry per hierarchy; "ro" applies to the entries. */
  if (do_fs_mount(c, "tmpfs", "tmpfs", dest, (flags & ~(unsigned long)MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=755", f->propagation, err)
      < 0)
    goto out;
  for (i = 0; i < plan.binds_len; i++)
    {
      cleanup_free char *given = NULL;
      struct stat st;
      cleanup_free char *sub = xasprintf("%s/%s", strcmp(dest, "/") == 0 ? "" : dest, plan.binds[i].name);

      if (c->o->new_cgroupns)
        {
          /* In its own cgroup namespace the hierarchy's root is the container's cgroup. */
          if (do_fs_mount(c, "cgroup", "cgroup", sub, (flags & MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          plan.binds[i].data, f->propagation, err)
              < 0)
            goto out;
        }
      else if (c->o->cgroup_path != NULL && (given = isolazi_cgroup_bind_dir(&plan.binds[i], c->o->cgroup_path)) != NULL
               && stat(given, &st) == 0 && S_ISDIR(st.st_mode))
        {
          /* The runtime may still be moving us into the v1 hierarchies while we mount (the
             init prepares in parallel), so /proc/self/cgroup can still name the runtime's own
             cgroup: prefer the container's path where it exists in this hierarchy. */
          isolazi_mount_flags_t bf = *f;
          bf.rec_attr_set = bf.rec_attr_clr = 0;
          bf.flags |= MS_NOSUID | MS_NODEV | MS_NOEXEC;
          if (do_bind(c, given, sub, &bf, true, -1, err) < 0)
            goto out;
        }
      else if (plan.binds[i].source == NULL)
        isolazi_debug("cgroup hierarchy `%s` is not visible from here, not bound", plan.binds[i].name);
      else
        {
          isolazi_mount_flags_t bf = *f;
          bf.rec_attr_set = bf.rec_attr_clr = 0;
          bf.flags |= MS_NOSUID | MS_NODEV | MS_NOEXEC;
          if (do_bind(c, plan.binds[i].source, sub, &bf, true, -1, err) < 0)
            goto out;
        }
    }
  dirfd = isolazi_rootfs_open_in_root(c->rootfd, dest, O_PATH | O_DIRECTORY, false, err);
  if (dirfd < 0)
    goto out;
  for (i = 0; i < plan.links_len; i++)
    if (symlinkat(plan.link_targets[i], dirfd, plan.link_names[i]) < 0 && errno != EEXIST)
      {
        isolazi_error_errno(err, "symlink `%s/%s` to `%s`", dest, plan.link_names[i], plan.link_targets[i]);
        goto out;
      }
  r = 0;
out:
  isolazi_cgroup_mount_plan_release(&plan);
  return r;
}

static int
mount_one(prepare_ctx_t *c, const oci_mount *m, size_t idx, isolazi_error_t *err)
{
  isolazi_mount_flags_t f;
  cleanup_free char *dest = NULL;
  const char *type = m->type != NULL ? m->type : "";
  bool bind;
  int r, premade;

  if (m->destination == NULL || m->destination[0] == '\0')
    return isolazi_error_set(err, EINVAL, "mounts[%zu].destination: missing", idx);
  dest = isolazi_rootfs_clean_path(m->destination);
  if (isolazi_mount_flags_parse(m->options, m->options_len, &f, err) < 0)
    return isolazi_error_wrap(err, "mounts[%zu]", idx);
  bind = f.bind || strcmp(type, "bind") == 0;
  isolazi_debug("mount %s `%s` on `%s`", bind ? "bind" : type, m->source ? m->source : "", dest);
  premade = c->o->idmap_trees != NULL ? c->o->idmap_trees[idx] : -1;
  if ((f.idmap || m->uid_mappings_len > 0 || m->gid_mappings_len > 0) && premade < 0)
    {
      /* The runtime makes every idmapped tree before clone (isolazi_userns_idmap_trees). */
      r = isolazi_error_set(err, EINVAL, "mount `%s` on `%s` (mounts[%zu]): idmapped mount not prepared", type, dest,
                            idx);
    }
  else if (f.tmpcopyup && !bind)
    {
      isolazi_debug("mount `%s`: tmpcopyup ignored", dest);
      r = 0;
    }
  else
    r = 0;
  if (r == 0)
    {
      if (bind)
        {
          if (m->source == NULL)
            r = isolazi_error_set(err, EINVAL, "mounts[%zu]: bind mount on `%s` needs a source", idx, dest);
          else
            r = do_bind(c, m->source, dest, &f, (f.flags & MS_REC) != 0, premade, err);
        }
      else if (strcmp(type, "cgroup") == 0)
        r = do_cgroup_mount(c, m, dest, &f, err);
      else if (type[0] == '\0' && (f.flags & MS_REMOUNT) == 0)
        r = isolazi_error_set(err, EINVAL, "mounts[%zu]: mount on `%s` needs a type", idx, dest);
      else
        {
          unsigned long flags = f.flags & ~(unsigned long)(MS_BIND | MS_REC);
          /* runc delays read-only for tmpfs and /dev: devices and modes are set up first, the
             remount happens in finalize. */
          if (strcmp(type, "tmpfs") == 0 || strcmp(dest, "/dev") == 0)
            flags &= ~(unsigned long)MS_RDONLY;
          /* linux.mountLabel: context="..." on the file systems that take one. */
          cleanup_free char *data = isolazi_lsm_mount_data(type, f.data, c->mount_label);
          r = do_fs_mount(c, m->source ? m->source : type, type, dest, flags, data, f.propagation, err);
        }
    }
  isolazi_mount_flags_release(&f);
  return r;
}

static void
restore_umask(mode_t *m)
{
  umask(*m);
}

static const char *
root_propagation_name(const oci_config *cfg)
{
  return cfg->linux_ != NULL ? cfg->linux_->rootfs_propagation : NULL;
}

int
isolazi_rootfs_prepare(const oci_config *cfg, const isolazi_rootfs_options_t *o, isolazi_error_t *err)
{
  __attribute__((cleanup(restore_umask))) mode_t old_umask = umask(0);
  cleanup_free char *mountinfo = NULL;
  cleanup_free char *parent = NULL;
  cleanup_close int rootfd = -1;
  char root_real[PATH_MAX];
  prepare_ctx_t c;
  unsigned long prop = 0;
  bool shared = false, setup_dev = true, devpts = false;
  size_t i;
  int r = 0;

  (void)old_umask;
  if (o->rootfs == NULL || o->rootfs[0] != '/')
    return isolazi_error_set(err, EINVAL, "prepare rootfs `%s`: not an absolute path", o->rootfs ? o->rootfs : "");
  if (isolazi_mount_propagation_parse(root_propagation_name(cfg), &prop, err) < 0)
    return isolazi_error_wrap(err, "linux.rootfsPropagation");
  /* Nothing we mount may propagate back to the host: rslave unless the config asks otherwise
     (runc's prepareRoot). */
  if (mount(NULL, "/", NULL, prop != 0 ? prop : MS_SLAVE | MS_REC, NULL) < 0)
    return isolazi_error_errno(err, "set propagation of `/`");
  if (realpath(o->rootfs, root_real) == NULL)
    return isolazi_error_errno(err, "resolve rootfs `%s`", o->rootfs);
  /* pivot_root(2) fails when the new root's parent mount is shared, and the bind below must not
     propagate to peers: make the parent private. */
  if (read_text("/proc/self/mountinfo", &mountinfo, err) < 0)
    return -1;
  if (isolazi_mountinfo_find(mountinfo, root_real, &parent, &shared, err) < 0)
    return -1;
  if (shared && mount(NULL, parent, NULL, MS_PRIVATE, NULL) < 0)
    return isolazi_error_errno(err, "make `%s` private", parent);
  /* pivot_root needs the rootfs to be a mount point. */
  if (mount(root_real, root_real, NULL, MS_BIND | MS_REC, NULL) < 0)
    return isolazi_error_errno(err, "bind rootfs `%s` on itself", root_real);
  /* Opened after the bind, so lookups from it see the mounts made on the bind. */
  rootfd = open(root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return isolazi_error_errno(err, "open rootfs `%s`", root_real);

  c.rootfd = rootfd;
  c.root_real = root_real;
  c.o = o;
  c.mountinfo = NULL;
  c.mount_label = cfg->linux_ != NULL ? cfg->linux_->mount_label : NULL;
  if (c.mount_label != NULL && !isolazi_selinux_enabled())
    {
      isolazi_debug("linux.mountLabel `%s` ignored: SELinux is disabled", c.mount_label);
      c.mount_label = NULL;
    }
  for (i = 0; i < cfg->mounts_len && r == 0; i++)
    {
      const oci_mount *m = &cfg->mounts[i];
      cleanup_free char *dest = m->destination ? isolazi_rootfs_clean_path(m->destination) : NULL;

      r = mount_one(&c, m, i, err);
      if (dest != NULL && strcmp(dest, "/dev") == 0 && m->type != NULL && strcmp(m->type, "bind") == 0)
        setup_dev = false;
      if (dest != NULL && strcmp(dest, "/dev") == 0)
        {
          size_t k;
          for (k = 0; k < m->options_len; k++)
            if (strcmp(m->options[k], "bind") == 0 || strcmp(m->options[k], "rbind") == 0)
              setup_dev = false;
        }
      if (dest != NULL && strcmp(dest, "/dev/pts") == 0 && m->type != NULL && strcmp(m->type, "devpts") == 0)
        devpts = true;
    }
  free(c.mountinfo);
  if (r < 0)
    return -1;

  /* runc sets up /dev unless it is a bind mount from the host (needsSetupDev). */
  if (setup_dev)
    {
      isolazi_device_t *devs = NULL;
      size_t n = 0;

      if (isolazi_devices_plan(cfg->linux_ ? cfg->linux_->devices : NULL, cfg->linux_ ? cfg->linux_->devices_len : 0,
                               &devs, &n, err)
          < 0)
        return -1;
      r = isolazi_devices_create(rootfd, devs, n, o->new_userns, err);
      isolazi_devices_free(devs, n);
      if (r < 0)
        return -1;
      if (isolazi_devices_create_links(rootfd, devpts, err) < 0)
        return -1;
    }
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * pivot
 * ---------------------------------------------------------------------------------------- */

struct hide_data
{
  const char *root;
  char **done;
  size_t done_len;
};

static int
hide_cb(const mountinfo_entry_t *e, void *data, isolazi_error_t *err)
{
  struct hide_data *d = data;
  size_t i;

  /* Full proc and sysfs mounts outside the rootfs (runc's msMoveRoot): after chroot(2) they
     stay reachable in this mount namespace, and the kernel lets a container mount procfs only
     because a full one is visible; hide the host's. */
  if (strcmp(e->root, "/") != 0 || (strcmp(e->fstype, "proc") != 0 && strcmp(e->fstype, "sysfs") != 0)
      || path_is_under(e->mountpoint, d->root))
    return 0;
  for (i = 0; i < d->done_len; i++)
    if (path_is_under(e->mountpoint, d->done[i]))
      return 0;
  if (mount(NULL, e->mountpoint, NULL, MS_SLAVE | MS_REC, NULL) < 0)
    {
      if (errno == ENOENT || errno == EINVAL)
        return 0;
      return isolazi_error_errno(err, "make `%s` slave", e->mountpoint);
    }
  if (umount2(e->mountpoint, MNT_DETACH) < 0)
    {
      if (errno != EINVAL && errno != EPERM)
        return isolazi_error_errno(err, "unmount `%s`", e->mountpoint);
      if (mount("tmpfs", e->mountpoint, "tmpfs", 0, NULL) < 0)
        return isolazi_error_errno(err, "cover `%s` with tmpfs", e->mountpoint);
    }
  d->done = xrealloc(d->done, (d->done_len + 1) * sizeof(char *));
  d->done[d->done_len++] = xstrdup(e->mountpoint);
  return 0;
}

static int
move_root(const char *root, isolazi_error_t *err)
{
  cleanup_free char *mountinfo = NULL;
  struct hide_data d = { root, NULL, 0 };
  size_t i;
  int r;

  if (read_text("/proc/self/mountinfo", &mountinfo, err) < 0)
    return -1;
  r = mountinfo_foreach(mountinfo, hide_cb, &d, err);
  for (i = 0; i < d.done_len; i++)
    free(d.done[i]);
  free(d.done);
  if (r < 0)
    return -1;
  if (chdir(root) < 0)
    return isolazi_error_errno(err, "chdir to `%s`", root);
  if (mount(root, "/", NULL, MS_MOVE, NULL) < 0)
    return isolazi_error_errno(err, "move `%s` to `/`", root);
  if (chroot(".") < 0)
    return isolazi_error_errno(err, "chroot to `%s`", root);
  if (chdir("/") < 0)
    return isolazi_error_errno(err, "chdir to `/`");
  return 0;
}

int
isolazi_rootfs_pivot(const isolazi_rootfs_options_t *o, isolazi_error_t *err)
{
  cleanup_close int oldroot = -1;
  cleanup_close int newroot = -1;
  char root_real[PATH_MAX];

  if (o->rootfs == NULL || realpath(o->rootfs, root_real) == NULL)
    return isolazi_error_errno(err, "resolve rootfs `%s`", o->rootfs ? o->rootfs : "");
  if (o->no_pivot)
    return move_root(root_real, err);

  oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0)
    return isolazi_error_errno(err, "open `/`");
  newroot = open(root_real, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0)
    return isolazi_error_errno(err, "open rootfs `%s`", root_real);
  if (fchdir(newroot) < 0)
    return isolazi_error_errno(err, "chdir to `%s`", root_real);
  /* pivot_root(".", "."): the old root is stacked on top of the new one, so no put_old
     directory is needed in the image (pivot_root(2) NOTES). */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return isolazi_error_errno(err, "pivot_root to `%s`", root_real);
  if (fchdir(oldroot) < 0)
    return isolazi_error_errno(err, "chdir to the old root");
  /* The old root may be shared with the host: rslave first, or the detach would propagate. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return isolazi_error_errno(err, "make the old root slave");
  if (umount2(".", MNT_DETACH) < 0)
    return isolazi_error_errno(err, "unmount the old root");
  if (chdir("/") < 0)
    return isolazi_error_errno(err, "chdir to `/`");
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * finalize (after pivot_root: "/" is the container's root; no /proc needed)
 * ---------------------------------------------------------------------------------------- */

/* /dev/null must really be the null device: a container that swapped it for a symlink or a
 * file would otherwise have us bind something else over the masked path (CVE-2025-31133). */
static int
open_dev_null(int rootfd, isolazi_error_t *err)
{
  struct stat st;
  int fd = isolazi_rootfs_open_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW, true, err);

  if (fd < 0)
    return isolazi_error_wrap(err, "mask paths");
  if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    {
      close(fd);
      return isolazi_error_set(err, EPERM, "mask paths: `/dev/null` is not the null device");
    }
  return fd;
}

static int
mask_path(int rootfd, int *devnull, const char *path, isolazi_error_t *err)
{
  cleanup_free char *clean = isolazi_rootfs_clean_path(path);
  cleanup_close int fd = -1;
  cleanup_close int mnt = -1;
  struct stat st;

  /* The masked path itself is never followed: a symlink in its place gets masked, not its
     target.  Intermediate symlinks are resolved, but only inside the root. */
  fd = isolazi_openat2_in_root(rootfd, clean, O_PATH | O_NOFOLLOW, true);
  if (fd < 0 && errno == ELOOP)
    {
      cleanup_free char *parent = xstrdup(clean);
      char *slash = strrchr(parent, '/');
      cleanup_close int pfd = -1;

      *slash = '\0';
      pfd = isolazi_openat2_in_root(rootfd, parent[0] ? parent : "/", O_PATH | O_DIRECTORY, false);
      if (pfd >= 0)
        fd = openat(pfd, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      else
        fd = -1;
    }
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return isolazi_error_errno(err, "mask `%s`", clean);
    }
  if (fstat(fd, &st) < 0)
    return isolazi_error_errno(err, "mask `%s`: stat", clean);
  if (S_ISDIR(st.st_mode))
    {
      /* A read-only empty tmpfs hides the directory's content. */
      cleanup_close int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
      if (fsfd < 0)
        return isolazi_error_errno(err, "mask `%s`: open tmpfs", clean);
      /* As runc's mount("tmpfs", path, "tmpfs", MS_RDONLY): source "tmpfs", read-only superblock. */
      if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0
          || fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
        return isolazi_error_errno(err, "mask `%s`: configure tmpfs", clean);
      if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return isolazi_error_errno(err, "mask `%s`: create tmpfs", clean);
      mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
      if (mnt < 0)
        return isolazi_error_errno(err, "mask `%s`: mount tmpfs", clean);
    }
  else
    {
      if (*devnull < 0 && (*devnull = open_dev_null(rootfd, err)) < 0)
        return -1;
      mnt = open_tree(*devnull, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
      if (mnt < 0)
        return isolazi_error_errno(err, "mask `%s`: clone `/dev/null`", clean);
    }
  if (move_mount(mnt, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return isolazi_error_errno(err, "mask `%s`", clean);
  return 0;
}

static int
readonly_path(int rootfd, const char *path, isolazi_error_t *err)
{
  cleanup_free char *clean = isolazi_rootfs_clean_path(path);
  cleanup_close int fd = -1;
  cleanup_close int tree = -1;

  fd = isolazi_openat2_in_root(rootfd, clean, O_PATH, false);
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return isolazi_error_errno(err, "make `%s` read-only", clean);
    }
  tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0)
    return isolazi_error_errno(err, "make `%s` read-only: bind", clean);
  /* Adding flags never trips over locked ones; the top mount only, as MS_REMOUNT|MS_BIND. */
  if (setattr_keep_locked(tree, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0)
      < 0)
    return isolazi_error_errno(err, "make `%s` read-only: remount", clean);
  if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return isolazi_error_errno(err, "make `%s` read-only", clean);
  return 0;
}

static int
remount_ro(int rootfd, const char *path, isolazi_error_t *err)
{
  cleanup_close int fd = isolazi_rootfs_open_in_root(rootfd, path, O_PATH, false, err);

  if (fd < 0)
    return isolazi_error_wrap(err, "remount `%s` read-only", path);
  if (setattr_keep_locked(fd, false, MOUNT_ATTR_RDONLY, 0) < 0)
    return isolazi_error_errno(err, "remount `%s` read-only", path);
  return 0;
}

int
isolazi_rootfs_finalize(const oci_config *cfg, const isolazi_rootfs_options_t *o, isolazi_error_t *err)
{
  __attribute__((cleanup(restore_umask))) mode_t old_umask = umask(0);
  cleanup_close int rootfd = -1;
  cleanup_close int devnull = -1;
  unsigned long prop = 0;
  size_t i;

  (void)old_umask;
  rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return isolazi_error_errno(err, "open `/`");
  /* runc's order: readonlyPaths, then maskedPaths, then the delayed read-only remounts. */
  if (cfg->linux_ != NULL)
    {
      for (i = 0; i < cfg->linux_->readonly_paths_len; i++)
        if (readonly_path(rootfd, cfg->linux_->readonly_paths[i], err) < 0)
          return -1;
      for (i = 0; i < cfg->linux_->masked_paths_len; i++)
        if (mask_path(rootfd, &devnull, cfg->linux_->masked_paths[i], err) < 0)
          return -1;
    }
  for (i = 0; i < cfg->mounts_len; i++)
    {
      const oci_mount *m = &cfg->mounts[i];
      cleanup_free char *dest = NULL;
      isolazi_mount_flags_t f;
      bool ro;

      if (m->destination == NULL || m->type == NULL)
        continue;
      if (isolazi_mount_flags_parse(m->options, m->options_len, &f, err) < 0)
        return -1;
      ro = (f.flags & MS_RDONLY) != 0 && !f.bind;
      isolazi_mount_flags_release(&f);
      dest = isolazi_rootfs_clean_path(m->destination);
      if (ro && (strcmp(m->type, "tmpfs") == 0 || strcmp(dest, "/dev") == 0) && remount_ro(rootfd, dest, err) < 0)
        return -1;
    }
  if (cfg->root != NULL && cfg->root->readonly)
    {
      if (setattr_keep_locked(rootfd, false, MOUNT_ATTR_RDONLY, 0) < 0)
        return isolazi_error_errno(err, "remount `/` read-only");
    }
  if (isolazi_mount_propagation_parse(root_propagation_name(cfg), &prop, err) < 0)
    return isolazi_error_wrap(err, "linux.rootfsPropagation");
  if (prop != 0 && mount(NULL, "/", NULL, prop, NULL) < 0)
    return isolazi_error_errno(err, "set propagation of `/`");
  (void)o;
  return 0;
}
