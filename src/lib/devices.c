/* SPDX-License-Identifier: Apache-2.0 */
/* Device nodes and /dev symlinks (runtime-spec config-linux.md "Devices" and "Default
 * Devices"; runc's libcontainer/rootfs_linux.go createDevices/setupDevSymlinks). */
#include "config.h"
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "rootfs.h"
#include "utils.h"

/* runtime-spec "Default Devices"; runc adds /dev/tty (5:0) to the list. */
static const struct
{
  const char *path;
  uint32_t major, minor;
} default_devices[] = {
  { "/dev/null", 1, 3 },   { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
  { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

#define N_DEFAULT (sizeof(default_devices) / sizeof(default_devices[0]))

void
isolazi_devices_free(isolazi_device_t *d, size_t n)
{
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; i < n; i++)
    free(d[i].path);
  free(d);
}

mode_t
isolazi_device_mknod_mode(const isolazi_device_t *d)
{
  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
  return type | (d->mode & 07777);
}

static bool
listed(const oci_device *devs, size_t n, const char *clean_path)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *p = devs[i].path != NULL ? isolazi_rootfs_clean_path(devs[i].path) : NULL;
      if (p != NULL && strcmp(p, clean_path) == 0)
        return true;
    }
  return false;
}

int
isolazi_devices_plan(const oci_device *devs, size_t n, isolazi_device_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  isolazi_device_t *out = xcalloc(N_DEFAULT + n + 1, sizeof *out);
  size_t len = 0, i;

  for (i = 0; i < N_DEFAULT; i++)
    {
      if (listed(devs, n, default_devices[i].path))
        continue;
      out[len].path = xstrdup(default_devices[i].path);
      out[len].type = 'c';
      out[len].major = default_devices[i].major;
      out[len].minor = default_devices[i].minor;
      out[len].mode = 0666;
      len++;
    }
  for (i = 0; i < n; i++)
    {
      const oci_device *s = &devs[i];
      isolazi_device_t *d = &out[len];

      if (s->path == NULL || s->path[0] != '/')
        {
          isolazi_devices_free(out, len);
          return isolazi_error_set(err, 0, "linux.devices[%zu].path: `%s` is not an absolute path", i,
                                   s->path ? s->path : "");
        }
      if (s->type == NULL || strlen(s->type) != 1 || strchr("cbup", s->type[0]) == NULL)
        {
          isolazi_devices_free(out, len);
          return isolazi_error_set(err, 0, "linux.devices[%zu].type: unknown device type `%s`", i,
                                   s->type ? s->type : "");
        }
      d->type = s->type[0] == 'u' ? 'c' : s->type[0];
      /* A FIFO has no numbers; every other node must name both (config-linux.md). */
      if (d->type != 'p')
        {
          if (!s->major_present || !s->minor_present)
            {
              isolazi_devices_free(out, len);
              return isolazi_error_set(err, 0, "linux.devices[%zu]: device `%s` needs major and minor", i, s->path);
            }
          if (s->major < 0 || s->major > 0xfff || s->minor < 0 || s->minor > 0xfffff)
            {
              isolazi_devices_free(out, len);
              return isolazi_error_set(err, 0, "linux.devices[%zu]: device number of `%s` out of range", i, s->path);
            }
          d->major = (uint32_t)s->major;
          d->minor = (uint32_t)s->minor;
        }
      /* As runc: fileMode defaults to 0666 and only its permission bits are used. */
      d->mode = s->file_mode_present ? (mode_t)(s->file_mode & 07777) : 0666;
      d->uid = s->uid_present ? s->uid : 0;
      d->gid = s->gid_present ? s->gid : 0;
      d->path = isolazi_rootfs_clean_path(s->path);
      if (strcmp(d->path, "/") == 0)
        {
          isolazi_devices_free(out, len + 1);
          return isolazi_error_set(err, 0, "linux.devices[%zu].path: `%s` is not a file", i, s->path);
        }
      len++;
    }
  *ret = out;
  *ret_len = len;
  return 0;
}

/* Split a clean absolute path into a malloc'd parent and a pointer to its last component. */
static char *
split_parent(const char *path, const char **ret_name)
{
  const char *slash = strrchr(path, '/');
  char *parent;

  *ret_name = slash + 1;
  if (slash == path)
    return xstrdup("/");
  parent = xmalloc((size_t)(slash - path) + 1);
  memcpy(parent, path, (size_t)(slash - path));
  parent[slash - path] = '\0';
  return parent;
}

/* Bind the host's node at the same path onto an (empty) file inside the root.  Used inside a
 * user namespace, where mknod(2) of a device is refused. */
static int
bind_device(int rootfd, int parentfd, const char *name, const isolazi_device_t *d, isolazi_error_t *err)
{
  cleanup_close int created = -1;
  cleanup_close int target = -1;
  cleanup_close int tree = -1;
  struct stat st;

  created = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0000);
  if (created < 0 && errno != EEXIST)
    return isolazi_error_errno(err, "create `%s`", d->path);
  /* The file just created (or the node already there) must not be a symlink planted in the
     image: resolve it without following any. */
  target = isolazi_rootfs_open_in_root(rootfd, d->path, O_PATH | O_NOFOLLOW, true, err);
  if (target < 0)
    return isolazi_error_wrap(err, "bind device `%s`", d->path);
  if (fstat(target, &st) < 0)
    return isolazi_error_errno(err, "stat `%s`", d->path);
  if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
    return isolazi_error_set(err, EINVAL, "bind device `%s`: destination is not a file", d->path);
  tree = open_tree(AT_FDCWD, d->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return isolazi_error_errno(err, "bind device `%s`: open host node", d->path);
  if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return isolazi_error_errno(err, "bind device `%s`", d->path);
  return 0;
}

int
isolazi_devices_create(int rootfd, const isolazi_device_t *d, size_t n, bool bind, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      const char *name;
      cleanup_free char *parent = split_parent(d[i].path, &name);
      cleanup_close int parentfd = isolazi_rootfs_mkdir_in_root(rootfd, parent, 0755, err);

      if (parentfd < 0)
        return isolazi_error_wrap(err, "create device `%s`", d[i].path);
      if (!bind)
        {
          if (mknodat(parentfd, name, isolazi_device_mknod_mode(&d[i]), makedev(d[i].major, d[i].minor)) == 0)
            {
              if (fchownat(parentfd, name, d[i].uid, d[i].gid, AT_SYMLINK_NOFOLLOW) < 0)
                return isolazi_error_errno(err, "chown device `%s`", d[i].path);
              continue;
            }
          /* runc keeps a node that is already there. */
          if (errno == EEXIST)
            continue;
          if (errno != EPERM)
            return isolazi_error_errno(err, "mknod `%s`", d[i].path);
          /* mknod refused (no CAP_MKNOD, or a user namespace we were not told about): bind
             the host's node instead, as runc does. */
          isolazi_debug("mknod `%s` refused, binding the host node", d[i].path);
        }
      if (bind_device(rootfd, parentfd, name, &d[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
symlink_keep(const char *target, int devfd, const char *name, isolazi_error_t *err)
{
  if (symlinkat(target, devfd, name) < 0 && errno != EEXIST)
    return isolazi_error_errno(err, "symlink `/dev/%s` to `%s`", name, target);
  return 0;
}

int
isolazi_devices_create_links(int rootfd, bool ptmx, isolazi_error_t *err)
{
  static const char *const links[][2] = {
    { "/proc/self/fd", "fd" },
    { "/proc/self/fd/0", "stdin" },
    { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" },
  };
  cleanup_close int devfd = isolazi_rootfs_mkdir_in_root(rootfd, "/dev", 0755, err);
  size_t i;

  if (devfd < 0)
    return -1;
  for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
    if (symlink_keep(links[i][0], devfd, links[i][1], err) < 0)
      return -1;
  /* runc links /dev/core only where the kernel has /proc/kcore (CONFIG_PROC_KCORE); this runs
     before pivot_root, so /proc is still the host's. */
  if (access("/proc/kcore", F_OK) == 0 && symlink_keep("/proc/kcore", devfd, "core", err) < 0)
    return -1;
  if (ptmx)
    {
      /* devpts with newinstance has its own ptmx; /dev/ptmx must point at it
         (Documentation/filesystems/devpts.rst). */
      if (unlinkat(devfd, "ptmx", 0) < 0 && errno != ENOENT)
        return isolazi_error_errno(err, "remove `/dev/ptmx`");
      if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
        return isolazi_error_errno(err, "symlink `/dev/ptmx` to `pts/ptmx`");
    }
  return 0;
}

/* runc's libcontainer/specconv AllowedDevices, as rules. */
#define RULE(t, maj, min, acc)                                                                                         \
  {                                                                                                                    \
    true, (char *)(t), (maj), (maj) >= 0, (min), (min) >= 0, (char *)(acc)                                             \
  }
static const oci_device_cgroup default_rules[] = {
  RULE("c", -1, -1, "m"),    RULE("b", -1, -1, "m"), /* mknod of anything */
  RULE("c", 1, 3, "rwm"),                            /* null */
  RULE("c", 1, 8, "rwm"),                            /* random */
  RULE("c", 1, 7, "rwm"),                            /* full */
  RULE("c", 5, 0, "rwm"),                            /* tty */
  RULE("c", 1, 5, "rwm"),                            /* zero */
  RULE("c", 1, 9, "rwm"),                            /* urandom */
  RULE("c", 136, -1, "rwm"),                         /* any pty */
  RULE("c", 5, 2, "rwm"),                            /* ptmx */
  RULE("c", 10, 200, "rwm"),                         /* tun/tap */
};
#undef RULE

oci_device_cgroup *
isolazi_devices_cgroup_rules(const oci_config *cfg, size_t *ret_len)
{
  const oci_linux *l = cfg->linux_;
  size_t n_cfg = l != NULL && l->resources != NULL ? l->resources->devices_len : 0;
  size_t n_dev = l != NULL ? l->devices_len : 0;
  size_t n_def = sizeof default_rules / sizeof default_rules[0];
  oci_device_cgroup *r = xcalloc(n_cfg + n_def + n_dev, sizeof *r);
  size_t i, n = 0;

  for (i = 0; i < n_cfg; i++)
    r[n++] = l->resources->devices[i];
  for (i = 0; i < n_def; i++)
    r[n++] = default_rules[i];
  for (i = 0; i < n_dev; i++)
    {
      const oci_device *d = &l->devices[i];
      oci_device_cgroup *rule = &r[n++];
      /* "u" is a character device for the cgroup (runtime-spec config-linux.md "Devices"). */
      rule->allow = true;
      rule->type = (char *)(d->type != NULL && strcmp(d->type, "b") == 0 ? "b" : "c");
      rule->major = d->major;
      rule->major_present = d->major_present;
      rule->minor = d->minor;
      rule->minor_present = d->minor_present;
      rule->access = (char *)"rwm";
      if (d->type != NULL && strcmp(d->type, "p") == 0)
        n--; /* a FIFO is not a device for the device cgroup */
    }
  *ret_len = n;
  return r;
}
