/* SPDX-License-Identifier: Apache-2.0 */
/* The container's root in the guest: the rootfs image (erofs or ext4 on virtio-blk) under a
 * tmpfs overlay upper (or alone when root.readonly), the files the host copied in, the
 * config's mounts, /dev's default nodes and the hostname.  The guest is the sandbox: paths are
 * resolved with openat2(RESOLVE_IN_ROOT) all the same, so that a symlink in an image cannot
 * send a mount outside the container's root inside the guest either. */
#define _GNU_SOURCE
#include "config.h"
#include "agent.h"
#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>

#define STAGE "/run/isolazi"

static int
fail(char *msg, size_t len, int e, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(msg, len, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < len)
    snprintf(msg + n, len - (size_t)n, ": %s", agent_strerror(e));
  return -e;
}

static int
open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how
      = { .flags = (uint64_t)flags | O_CLOEXEC, .mode = mode, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* mkdir -p of path inside the root; a final component that is a file is created as one when
 * `file` (a bind mount of a file needs a file to cover). */
static int
mkpath_in_root(int rootfd, const char *path, bool file)
{
  char buf[PATH_MAX], *p;
  int fd;

  if (strlen(path) >= sizeof buf)
    return -ENAMETOOLONG;
  strcpy(buf, path);
  for (p = buf + 1; *p != '\0'; p++)
    if (*p == '/')
      {
        *p = '\0';
        fd = open_in_root(rootfd, buf, O_DIRECTORY | O_PATH, 0);
        if (fd < 0)
          {
            int parent = -1;
            char *slash = strrchr(buf, '/');
            *slash = '\0';
            parent = open_in_root(rootfd, buf[0] ? buf : "/", O_DIRECTORY | O_PATH, 0);
            *slash = '/';
            if (parent < 0 || (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST))
              {
                int e = errno;
                if (parent >= 0)
                  close(parent);
                return -e;
              }
            close(parent);
          }
        else
          close(fd);
        *p = '/';
      }
  fd = open_in_root(rootfd, buf, O_PATH, 0);
  if (fd >= 0)
    {
      close(fd);
      return 0;
    }
  if (file)
    fd = open_in_root(rootfd, buf, O_CREAT | O_WRONLY, 0644);
  else
    {
      char *slash = strrchr(buf, '/');
      int parent;
      *slash = '\0';
      parent = open_in_root(rootfd, buf[0] ? buf : "/", O_DIRECTORY | O_PATH, 0);
      if (parent < 0)
        return -errno;
      fd = mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST ? -1 : 0;
      close(parent);
      return fd < 0 ? -errno : 0;
    }
  if (fd < 0)
    return -errno;
  close(fd);
  return 0;
}

/* The real path of `path` inside the root, as a /proc/self/fd path that mount(2) follows
 * without re-resolving symlinks. */
static int
target_fd(int rootfd, const char *path)
{
  return open_in_root(rootfd, path, O_PATH, 0);
}

static void
make_default_devices(const char *root)
{
  static const struct
  {
    const char *name;
    unsigned maj, min;
  } devs[] = { { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
               { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
  char p[PATH_MAX];
  size_t i;

  for (i = 0; i < sizeof devs / sizeof devs[0]; i++)
    {
      snprintf(p, sizeof p, "%s/dev/%s", root, devs[i].name);
      (void)mknod(p, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min));
      (void)chmod(p, 0666);
    }
  snprintf(p, sizeof p, "%s/dev/ptmx", root);
  (void)symlink("pts/ptmx", p);
  snprintf(p, sizeof p, "%s/dev/fd", root);
  (void)symlink("/proc/self/fd", p);
  snprintf(p, sizeof p, "%s/dev/stdin", root);
  (void)symlink("/proc/self/fd/0", p);
  snprintf(p, sizeof p, "%s/dev/stdout", root);
  (void)symlink("/proc/self/fd/1", p);
  snprintf(p, sizeof p, "%s/dev/stderr", root);
  (void)symlink("/proc/self/fd/2", p);
}

static int
write_file(int rootfd, const vm_file_t *f, char *msg, size_t msglen)
{
  size_t off = 0;
  int fd, r;

  r = mkpath_in_root(rootfd, f->path, true);
  if (r < 0)
    return fail(msg, msglen, -r, "create `%s`", f->path);
  fd = open_in_root(rootfd, f->path, O_WRONLY | O_TRUNC | O_NOFOLLOW, 0);
  if (fd < 0)
    return fail(msg, msglen, errno, "open `%s`", f->path);
  while (off < f->content_len)
    {
      ssize_t n = write(fd, f->content + off, f->content_len - off);
      if (n < 0)
        {
          int e = errno;
          close(fd);
          return fail(msg, msglen, e, "write `%s`", f->path);
        }
      off += (size_t)n;
    }
  (void)fchmod(fd, f->mode & 07777);
  close(fd);
  return 0;
}

/* A share (relay.c): a FUSE mount on the share's device; the host's server answers it. */
static int
mount_share(const vm_mount_t *m, const char *fdpath, agent_shares_t *sh, size_t *next, char *msg, size_t msglen)
{
  const char *label = m->data != NULL ? m->data : "mounts";
  char opts[256];
  size_t i = *next;

  if (sh == NULL || i >= sh->n)
    return fail(msg, msglen, EPROTO, "config.json: %s: mount the share on `%s`: no FUSE device for it", label,
                m->destination);
  snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions,max_read=%d",
           sh->fds[i], VM_SHARE_MAX_WRITE);
  if (mount("isolazi", fdpath, "fuse", m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), opts) < 0)
    return fail(msg, msglen, errno, "config.json: %s: mount the share on `%s`", label, m->destination);
  agent_share_mounted(sh, i);
  *next = i + 1;
  return 0;
}

int
agent_setup_root(const vm_spec_t *s, const char *target, agent_shares_t *shares, char *msg, size_t msglen)
{
  size_t next_share = 0;
  const char *lower = STAGE "/lower";
  char opts[512], fdpath[64];
  size_t i;
  int rootfd, r;

  (void)mkdir(STAGE, 0700);
  (void)mkdir(lower, 0755);
  (void)mkdir(target, 0755);
  if (s->rootfs_device == NULL || s->rootfs_type == NULL)
    return fail(msg, msglen, EINVAL, "mount the rootfs: no device in the spec");
  if (mount(s->rootfs_device, lower, s->rootfs_type, MS_RDONLY, NULL) < 0)
    return fail(msg, msglen, errno, "mount `%s` (%s) on `%s`", s->rootfs_device, s->rootfs_type, lower);
  if (s->rootfs_readonly)
    {
      if (mount(lower, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return fail(msg, msglen, errno, "bind `%s` on `%s`", lower, target);
    }
  else
    {
      /* Writes go to a tmpfs in guest RAM: nothing reaches the host's image. */
      (void)mkdir(STAGE "/rw", 0755);
      if (mount("tmpfs", STAGE "/rw", "tmpfs", 0, "mode=0755") < 0)
        return fail(msg, msglen, errno, "mount `tmpfs` on `%s`", STAGE "/rw");
      (void)mkdir(STAGE "/rw/upper", 0755);
      (void)mkdir(STAGE "/rw/work", 0755);
      snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s/rw/upper,workdir=%s/rw/work", lower, STAGE, STAGE);
      if (mount("overlay", target, "overlay", 0, opts) < 0)
        return fail(msg, msglen, errno, "mount `overlay` on `%s`", target);
    }
  rootfd = open(target, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (rootfd < 0)
    return fail(msg, msglen, errno, "open `%s`", target);
  /* Files first: a mount over /etc would hide them, as a bind over it would on the host. */
  if (!s->rootfs_readonly)
    for (i = 0; i < s->files_len; i++)
      if ((r = write_file(rootfd, &s->files[i], msg, msglen)) < 0)
        goto out;
  for (i = 0; i < s->mounts_len; i++)
    {
      const vm_mount_t *m = &s->mounts[i];
      bool bind = (m->flags & MS_BIND) != 0;
      int tfd;

      r = mkpath_in_root(rootfd, m->destination, false);
      if (r < 0)
        {
          r = fail(msg, msglen, -r, "create mount point `%s`", m->destination);
          goto out;
        }
      tfd = target_fd(rootfd, m->destination);
      if (tfd < 0)
        {
          r = fail(msg, msglen, errno, "open mount point `%s`", m->destination);
          goto out;
        }
      snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", tfd);
      if (strcmp(m->type, VM_SHARE_MOUNT_TYPE) == 0)
        {
          r = mount_share(m, fdpath, shares, &next_share, msg, msglen);
          close(tfd);
          if (r < 0)
            goto out;
          continue;
        }
      if (bind)
        r = mount(m->source, fdpath, NULL, m->flags & (MS_BIND | MS_REC), NULL);
      else
        r = mount(m->source != NULL && m->source[0] ? m->source : m->type, fdpath, m->type,
                  m->flags & ~(unsigned long)(MS_BIND | MS_REC), m->data);
      if (r < 0)
        {
          int e = errno;
          close(tfd);
          /* cgroup file systems are optional in a guest of its own: the host's hierarchy is
           * not there to mirror. */
          if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)
            continue;
          r = fail(msg, msglen, e, "mount `%s` on `%s`", m->type, m->destination);
          goto out;
        }
      /* A bind mount takes its flags (ro, nosuid, ...) from a remount. */
      if (bind && (m->flags & ~(unsigned long)(MS_BIND | MS_REC)) != 0)
        (void)mount(NULL, fdpath, NULL, MS_REMOUNT | MS_BIND | (m->flags & ~(unsigned long)MS_REC), NULL);
      if (m->propagation != 0)
        (void)mount(NULL, fdpath, NULL, m->propagation, NULL);
      close(tfd);
      if (strcmp(m->destination, "/dev") == 0 && strcmp(m->type, "tmpfs") == 0)
        make_default_devices(target);
    }
  if (s->hostname != NULL && sethostname(s->hostname, strlen(s->hostname)) < 0)
    {
      r = fail(msg, msglen, errno, "set the hostname `%s`", s->hostname);
      goto out;
    }
  if (s->domainname != NULL && setdomainname(s->domainname, strlen(s->domainname)) < 0)
    {
      r = fail(msg, msglen, errno, "set the domain name `%s`", s->domainname);
      goto out;
    }
  r = 0;
out:
  close(rootfd);
  return r;
}
