/* SPDX-License-Identifier: Apache-2.0 */
/* SELinux and AppArmor labels; safe writes under /proc.  See lsm.h for who calls what. */
#include "config.h"
#include "lsm.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <selinux/selinux.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

/* The inode of every procfs root (fs/proc/root.c: PROC_ROOT_INO). */
#define PROC_ROOT_INO 1

bool
isolazi_procfs_root_ok(unsigned long f_type, unsigned long ino)
{
  return f_type == PROC_SUPER_MAGIC && ino == PROC_ROOT_INO;
}

static int
check_procfs_root(int fd, isolazi_error_t *err)
{
  struct statfs sfs;
  struct stat st;

  if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
    return isolazi_error_errno(err, "inspect `/proc`");
  if (!isolazi_procfs_root_ok((unsigned long)sfs.f_type, (unsigned long)st.st_ino))
    return isolazi_error_set(err, EXDEV, "`/proc` is not the root of a procfs mount: refusing to write through it");
  return 0;
}

/* A procfs root nobody in the container can have covered: a private, detached clone of the
   mount at /proc (OPEN_TREE_CLONE without AT_RECURSIVE copies that one mount and none of the
   mounts on top of it).  Cloning needs CAP_SYS_ADMIN over the mount namespace and fails on a
   mount with locked submounts (a user namespace): then /proc itself, where RESOLVE_NO_XDEV
   refuses to cross into anything mounted over the path. */
static int
open_procfs_root(isolazi_error_t *err)
{
  cleanup_close int fd = -1;

  fd = open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0)
    fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return isolazi_error_errno(err, "open `/proc`");
  if (check_procfs_root(fd, err) < 0)
    return -1;
  return steal_fd(&fd);
}

/* "self/x" → "<pid>/x" and "thread-self/x" → "<pid>/task/<tid>/x", the link text read from our
   verified procfs (procfs makes it up; nothing in the container can change it), so that the
   path needs no symlink. */
static char *
expand_self(int procfd, const char *path, isolazi_error_t *err)
{
  static const char *const links[] = { "thread-self", "self" };
  size_t i;

  for (i = 0; i < sizeof links / sizeof links[0]; i++)
    {
      size_t n = strlen(links[i]);
      if (strncmp(path, links[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
        {
          char target[64];
          ssize_t r = readlinkat(procfd, links[i], target, sizeof target - 1);
          if (r < 0 || r == 0)
            {
              isolazi_error_errno(err, "read `/proc/%s`", links[i]);
              return NULL;
            }
          target[r] = '\0';
          return xasprintf("%s%s", target, path + n);
        }
    }
  return xstrdup(path);
}

int
isolazi_proc_open(const char *path, int oflags, isolazi_error_t *err)
{
  struct open_how how;
  cleanup_close int procfd = -1, fd = -1;
  cleanup_free char *rel = NULL;
  struct statfs sfs;

  while (*path == '/')
    path++;
  if (isolazi_has_prefix(path, "proc/"))
    path += strlen("proc/");
  procfd = open_procfs_root(err);
  if (procfd < 0)
    return isolazi_error_wrap(err, "open `/proc/%s`", path);
  rel = expand_self(procfd, path, err);
  if (rel == NULL)
    return -1;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(oflags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  do
    fd = (int)syscall(SYS_openat2, procfd, rel, &how, sizeof how);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      if (errno == EXDEV || errno == ELOOP)
        return isolazi_error_errno(err, "open `/proc/%s`: something is mounted over or links out of procfs", path);
      return isolazi_error_errno(err, "open `/proc/%s`", path);
    }
  /* Belt and braces: the file itself must be procfs's. */
  if (fstatfs(fd, &sfs) < 0)
    return isolazi_error_errno(err, "inspect `/proc/%s`", path);
  if (sfs.f_type != PROC_SUPER_MAGIC)
    return isolazi_error_set(err, EXDEV, "open `/proc/%s`: not on procfs", path);
  return steal_fd(&fd);
}

int
isolazi_proc_write(const char *path, const char *buf, size_t len, isolazi_error_t *err)
{
  cleanup_close int fd = isolazi_proc_open(path, O_WRONLY, err);

  if (fd < 0)
    return -1;
  if (isolazi_write_all(fd, buf, len) < 0)
    {
      while (*path == '/')
        path++;
      return isolazi_error_errno(err, "write `/%s`", path);
    }
  return 0;
}

bool
isolazi_selinux_enabled(void)
{
  return is_selinux_enabled() > 0;
}

bool
isolazi_apparmor_enabled(void)
{
  char buf[2] = { 0 };
  cleanup_close int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);

  return fd >= 0 && read(fd, buf, 1) == 1 && buf[0] == 'Y';
}

int
isolazi_lsm_check(const oci_process *p, isolazi_error_t *err)
{
  if (p == NULL)
    return 0;
  if (p->apparmor_profile != NULL && p->apparmor_profile[0] != '\0' && !isolazi_apparmor_enabled())
    return isolazi_error_set(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
  if (p->selinux_label != NULL && p->selinux_label[0] != '\0' && !isolazi_selinux_enabled())
    isolazi_debug("process.selinuxLabel `%s` ignored: SELinux is disabled", p->selinux_label);
  return 0;
}

int
isolazi_lsm_apply_exec(const oci_process *p, isolazi_error_t *err)
{
  if (p == NULL)
    return 0;
  if (p->selinux_label != NULL && p->selinux_label[0] != '\0' && isolazi_selinux_enabled())
    {
      /* What setexeccon(3) does, through the checked procfs (it writes the path as given). */
      if (isolazi_proc_write("thread-self/attr/exec", p->selinux_label, strlen(p->selinux_label), err) < 0)
        return isolazi_error_wrap(err, "set the SELinux exec label `%s` (process.selinuxLabel)", p->selinux_label);
    }
  if (p->apparmor_profile != NULL && p->apparmor_profile[0] != '\0')
    {
      cleanup_free char *cmd = xasprintf("exec %s", p->apparmor_profile);
      isolazi_error_t e2 = ISOLAZI_ERROR_INIT;

      if (!isolazi_apparmor_enabled())
        return isolazi_error_set(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
      /* Linux 5.8 gave each LSM its own attr directory; attr/exec is the shared legacy file. */
      if (isolazi_proc_write("thread-self/attr/apparmor/exec", cmd, strlen(cmd), &e2) < 0)
        {
          if (e2.code != ENOENT)
            {
              isolazi_error_take(err, e2.code, steal_pointer(&e2.msg));
              return isolazi_error_wrap(err, "apply the AppArmor profile `%s` (process.apparmorProfile)",
                                        p->apparmor_profile);
            }
          isolazi_error_release(&e2);
          if (isolazi_proc_write("thread-self/attr/exec", cmd, strlen(cmd), err) < 0)
            return isolazi_error_wrap(err, "apply the AppArmor profile `%s` (process.apparmorProfile)",
                                      p->apparmor_profile);
        }
    }
  return 0;
}

char *
isolazi_lsm_mount_data(const char *fstype, const char *data, const char *label)
{
  static const char *const labelled[] = { "tmpfs", "ramfs", "devpts", "mqueue" };
  bool takes = false;
  size_t i;

  if (label != NULL && label[0] != '\0' && fstype != NULL)
    for (i = 0; i < sizeof labelled / sizeof labelled[0]; i++)
      if (strcmp(fstype, labelled[i]) == 0)
        takes = true;
  /* An explicit context in the mount's options wins (the user asked for it). */
  if (takes && data != NULL && (strncmp(data, "context=", 8) == 0 || strstr(data, ",context=") != NULL))
    takes = false;
  if (!takes)
    return xstrdup(data);
  /* Quoted: MCS labels hold commas ("s0:c1,c2"), which would split the option. */
  if (data == NULL || data[0] == '\0')
    return xasprintf("context=\"%s\"", label);
  return xasprintf("%s,context=\"%s\"", data, label);
}
