/* SPDX-License-Identifier: Apache-2.0 */
/* Sandbox disks: a read-only ext4 base per source (mke2fs -d from the rootfs, made once and
 * shared), and qcow2 layers over it (qemu-img).  A sandbox writes to its active layer; a
 * snapshot freezes the active layer and puts a new one on top; restore and fork put a new
 * layer on a snapshot's.  Layers live in one directory so that forks share their source's,
 * and one is removed only when no sandbox's state mentions it. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double
sb_now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* FNV-1a: a short, stable key for a path and stamp (not a security boundary: the root is ours). */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
  for (; *s != '\0'; s++)
    {
      h ^= (unsigned char)*s;
      h *= 0x100000001b3ULL;
    }
  return h;
}

int
sb_base_get(const char *root, const char *rootfs, const char *stamp, unsigned disk_mib, char **ret_path,
            isolazi_error_t *err)
{
  cleanup_free char *size = xasprintf("%uM", disk_mib), *dir = NULL, *path = NULL, *tmp = NULL, *lock = NULL;
  cleanup_close int lockfd = -1;
  uint64_t h = 0xcbf29ce484222325ULL;
  struct stat st;

  h = fnv1a(h, rootfs);
  h = fnv1a(h, "\n");
  h = fnv1a(h, stamp != NULL ? stamp : "");
  h = fnv1a(h, size);
  dir = xasprintf("%s/" SB_DIR_IMAGES "/%016llx", root, (unsigned long long)h);
  path = xasprintf("%s/base.ext4", dir);
  if (stat(path, &st) == 0)
    {
      *ret_path = steal_pointer(&path);
      return 0;
    }
  if (isolazi_mkdir_p(dir, 0700, err) < 0)
    return -1;
  lock = xasprintf("%s/.lock", dir);
  lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lockfd < 0 || sb_lock(lockfd, err) < 0)
    return lockfd < 0 ? isolazi_error_errno(err, "create `%s`", lock) : -1;
  if (stat(path, &st) != 0)
    {
      /* ext4 with a journal (a killed VM replays it), no reserved blocks, files owned as in the
       * rootfs.  The image is sparse: its size is the disk's cap, not what it takes. */
      char *argv[] = { (char *)"mke2fs", (char *)"-q", (char *)"-F",      (char *)"-t", (char *)"ext4", (char *)"-m",
                       (char *)"0",      (char *)"-L", (char *)"sandbox", (char *)"-d", (char *)rootfs, (char *)NULL,
                       (char *)size,     NULL };
      tmp = xasprintf("%s/base.ext4.tmp", dir);
      argv[11] = tmp;
      isolazi_debug("sandbox: making the base image `%s` from `%s`", path, rootfs);
      if (vm_run_tool(argv, err) < 0)
        {
          (void)unlink(tmp);
          if (err->msg != NULL && strstr(err->msg, "`: not found") != NULL)
            return isolazi_error_wrap(err, "make the sandbox's disk (apt-get install e2fsprogs)");
          return isolazi_error_wrap(err, "make the sandbox's disk from `%s`", rootfs);
        }
      (void)chmod(tmp, 0400);
      if (rename(tmp, path) < 0)
        return isolazi_error_errno(err, "rename `%s`", tmp);
    }
  *ret_path = steal_pointer(&path);
  return 0;
}

int
sb_layer_create(const char *root, const char *hint, const char *backing, bool backing_raw, char **ret_path,
                isolazi_error_t *err)
{
  struct timespec t;
  cleanup_free char *path = NULL;
  char *argv[] = { (char *)"qemu-img",
                   (char *)"create",
                   (char *)"-q",
                   (char *)"-f",
                   (char *)"qcow2",
                   (char *)"-F",
                   (char *)(backing_raw ? "raw" : "qcow2"),
                   (char *)"-b",
                   (char *)backing,
                   NULL,
                   NULL };

  clock_gettime(CLOCK_REALTIME, &t);
  path = xasprintf("%s/" SB_DIR_LAYERS "/%s-%llx%05lx.qcow2", root, hint, (unsigned long long)t.tv_sec,
                   (unsigned long)(t.tv_nsec / 10000) & 0xfffff);
  argv[9] = path;
  if (vm_run_tool(argv, err) < 0)
    {
      (void)unlink(path);
      if (err->msg != NULL && strstr(err->msg, "`: not found") != NULL)
        return isolazi_error_wrap(err, "create a disk layer (apt-get install qemu-utils)");
      return isolazi_error_wrap(err, "create a disk layer over `%s`", backing);
    }
  *ret_path = steal_pointer(&path);
  return 0;
}

static bool
mentioned(int dirfd, const char *layer)
{
  cleanup_free char *text = NULL;
  size_t len;

  if (isolazi_read_file_at(dirfd, SB_STATE, &text, &len, NULL) < 0)
    return false;
  /* Layer paths appear quoted in state.json; a substring test is exact enough for our names. */
  return strstr(text, layer) != NULL;
}

static bool
mentioned_under(const char *root, const char *sub, const char *layer)
{
  cleanup_free char *path = xasprintf("%s/%s", root, sub);
  cleanup_closedir DIR *d = opendir(path);
  struct dirent *de;

  if (d == NULL)
    return false;
  while ((de = readdir(d)) != NULL)
    {
      int fd;
      bool m;
      if (de->d_name[0] == '.')
        continue;
      fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        continue;
      m = mentioned(fd, layer);
      close(fd);
      if (m)
        return true;
    }
  return false;
}

void
sb_layers_gc(const char *root, char *const *candidates)
{
  size_t i;

  /* No lock of its own: a layer still needed is named in a state that its owner's lock keeps
   * (a fork adds its source's layers while holding the source's lock, destroy takes it too). */
  for (i = 0; candidates != NULL && candidates[i] != NULL; i++)
    if (!mentioned_under(root, SB_DIR_SANDBOXES, candidates[i]) && !mentioned_under(root, SB_DIR_POOL, candidates[i]))
      {
        isolazi_debug("sandbox: removing the layer `%s`", candidates[i]);
        (void)unlink(candidates[i]);
      }
}
