/* SPDX-License-Identifier: Apache-2.0 */
/* Layer unpacking (image-spec layer.md "Applying Changesets", "Whiteouts").
 *
 * libarchive only reads: an outer reader strips the compression (gzip, zstd or none) with the
 * "raw" format, and its bytes are hashed (the diff_id) on their way to an inner tar reader.
 * Every change to the filesystem is made here, relative to the root fd: parents are resolved
 * with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), so a symlink planted by an earlier entry
 * or layer resolves inside the root, and the last component is created with *at() calls that
 * never follow it (O_EXCL|O_NOFOLLOW, mkdirat, symlinkat, mknodat, linkat).  This is the class
 * of bug behind CVE-2018-15664/CVE-2019-14271 (docker cp), CVE-2021-20291 (containers/storage)
 * and the many "tar slip" advisories: names with "..", absolute names, links followed while
 * writing. */
#include <config.h>

#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "utils.h"

#define READ_BLOCK 65536

/* image-spec layer.md: ".wh.<name>" deletes <name>; ".wh..wh..opq" makes its directory opaque;
 * other ".wh..wh." names are AUFS bookkeeping (".wh..wh.plnk") and are skipped. */
#define WH_PREFIX      ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"

/* A set of paths (open addressing); the paths this layer wrote and their parents. */
typedef struct path_set
{
  char **slots;
  size_t cap, n;
} path_set_t;

/* A directory's mode and times, applied once its contents are in place.  An implicit one (a
 * parent the layer has no entry for, made in overlay form over lower layers) takes all of its
 * metadata from the lower layers instead. */
typedef struct dir_fixup
{
  char *path;
  mode_t mode;
  struct timespec times[2];
  size_t depth, order;
  bool implicit;
} dir_fixup_t;

/* Decompressed bytes on their way from the decompressing thread to the tar reader: a few
 * large slots, so that inflating (the bulk of the CPU time) runs on one core while the other
 * creates the files.  `head`/`tail` count slots ever filled and taken. */
#define PIPE_SLOTS     4
#define PIPE_SLOT_SIZE (1024 * 1024)

typedef struct pipe_slot
{
  unsigned char *buf;
  size_t len;
} pipe_slot_t;

typedef struct unpack_pipe
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pipe_slot_t slots[PIPE_SLOTS];
  unsigned long head, tail;
  bool eof;        /* the producer is done (error set when it failed) */
  bool cancel;     /* the consumer gave up: the producer stops */
  bool holding;    /* the consumer still uses slot tail-1 (libarchive keeps the last buffer) */
  int error_errno; /* the producer's failure */
  char error[256];
  bool started;
  pthread_t thread;
} unpack_pipe_t;

typedef struct unpacker
{
  int root_fd;
  isolazi_unpack_mode_t mode;
  bool rootless;
  unsigned long max_entries;
  const int *lower_fds; /* overlay form: the layers below, topmost first */
  size_t n_lowers;
  path_set_t explicit_dirs; /* directories the layer has entries for (only with lower_fds) */
  struct archive *outer, *inner;
  unpack_pipe_t pipe;
  isolazi_hasher_t *hasher;
  unsigned char head[8];
  size_t head_len;
  path_set_t written;
  dir_fixup_t *dirs;
  size_t ndirs, dirs_cap;
  isolazi_unpack_stats_t st;
} unpacker_t;

/* ------------------------------------------------------------------------------------------
 * Path set
 * ---------------------------------------------------------------------------------------- */

static uint64_t
hash_path(const char *s)
{
  uint64_t h = 14695981039346656037ULL; /* FNV-1a */

  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static size_t
set_slot(const path_set_t *set, const char *path)
{
  size_t i = (size_t)hash_path(path) & (set->cap - 1);

  while (set->slots[i] != NULL && strcmp(set->slots[i], path) != 0)
    i = (i + 1) & (set->cap - 1);
  return i;
}

static bool
set_has(const path_set_t *set, const char *path)
{
  return set->cap > 0 && set->slots[set_slot(set, path)] != NULL;
}

/* Returns false when the path was there already. */
static bool
set_add(path_set_t *set, const char *path)
{
  size_t i;

  if (set->cap == 0 || (set->n + 1) * 2 > set->cap)
    {
      path_set_t bigger = { NULL, set->cap ? set->cap * 2 : 256, set->n };
      size_t j;

      bigger.slots = xcalloc(bigger.cap, sizeof(char *));
      for (j = 0; j < set->cap; j++)
        if (set->slots[j] != NULL)
          bigger.slots[set_slot(&bigger, set->slots[j])] = set->slots[j];
      free(set->slots);
      *set = bigger;
    }
  i = set_slot(set, path);
  if (set->slots[i] != NULL)
    return false;
  set->slots[i] = xstrdup(path);
  set->n++;
  return true;
}

static void
set_free(path_set_t *set)
{
  size_t i;

  for (i = 0; i < set->cap; i++)
    free(set->slots[i]);
  free(set->slots);
  memset(set, 0, sizeof *set);
}

/* Record `path` and its parents as present in this layer. */
static void
mark_written(unpacker_t *u, const char *path)
{
  cleanup_free char *p = xstrdup(path);

  while (*p != '\0' && set_add(&u->written, p))
    {
      char *slash = strrchr(p, '/');
      if (slash == NULL)
        break;
      *slash = '\0';
    }
}

/* ------------------------------------------------------------------------------------------
 * Names
 * ---------------------------------------------------------------------------------------- */

/* A printable, bounded copy of an entry's name for messages. */
static char *
label(const char *name)
{
  size_t n = strlen(name), i, w = 0, shown = n > 120 ? 120 : n;
  char *out = xmalloc(shown * 4 + 16);

  for (i = 0; i < shown; i++)
    {
      unsigned char c = (unsigned char)name[i];
      if (c < 0x20 || c == 0x7f || c == '`')
        w += (size_t)sprintf(out + w, "\\x%02x", c);
      else
        out[w++] = (char)c;
    }
  if (shown < n)
    w += (size_t)sprintf(out + w, "...");
  out[w] = '\0';
  return out;
}

/* The entry's name relative to the root: leading "/" and "." components dropped, no empty
 * components; "" is the root itself.  NULL for a ".." component (errno EXDEV) or a name too
 * long (ENAMETOOLONG). */
static char *
clean_name(const char *name)
{
  size_t n = strlen(name), w = 0;
  const char *p = name;
  char *out;

  if (n >= PATH_MAX)
    {
      errno = ENAMETOOLONG;
      return NULL;
    }
  out = xmalloc(n + 1);
  while (*p != '\0')
    {
      const char *start;
      size_t len;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      start = p;
      while (*p != '\0' && *p != '/')
        p++;
      len = (size_t)(p - start);
      if (len == 1 && start[0] == '.')
        continue;
      if (len == 2 && start[0] == '.' && start[1] == '.')
        {
          free(out);
          errno = EXDEV;
          return NULL;
        }
      if (len > NAME_MAX)
        {
          free(out);
          errno = ENAMETOOLONG;
          return NULL;
        }
      if (w > 0)
        out[w++] = '/';
      memcpy(out + w, start, len);
      w += len;
    }
  out[w] = '\0';
  return out;
}

static int
clean_name_or_error(const char *name, const char *what, char **ret, isolazi_error_t *err)
{
  *ret = clean_name(name);
  if (*ret != NULL)
    return 0;
  if (errno == EXDEV)
    return isolazi_error_set(err, 0, "%s: a `..` component would leave the root", what);
  return isolazi_error_set(err, 0, "%s: name too long (%zu bytes; at most %d, %d per component)", what, strlen(name),
                           PATH_MAX - 1, NAME_MAX);
}

/* ------------------------------------------------------------------------------------------
 * Filesystem operations relative to the root
 * ---------------------------------------------------------------------------------------- */

/* "" is the root itself. */
static int
openat2_in_root(int root_fd, const char *path, int oflags)
{
  return isolazi_openat2_in_root(root_fd, *path == '\0' ? "." : path, oflags, false);
}

static void defer_implicit(unpacker_t *u, const char *path);

/* The parent directory of an entry (O_PATH).  Missing directories are made (0755, like docker
 * and containerd) one component at a time, each relative to the one resolved before it.  Over
 * lower layers, each one made is deferred to take the metadata the lower layers give it. */
static int
open_parent(unpacker_t *u, const char *parent, isolazi_error_t *err)
{
  cleanup_close int cur = -1;
  cleanup_free char *prefix = NULL;
  int fd;
  char *p;

  fd = openat2_in_root(u->root_fd, parent, O_PATH | O_DIRECTORY);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT)
    return isolazi_error_errno(err, "open directory `%s`", parent);

  cur = openat2_in_root(u->root_fd, "", O_PATH | O_DIRECTORY);
  if (cur < 0)
    return isolazi_error_errno(err, "open the root");
  prefix = xstrdup(parent);
  p = prefix;
  for (;;)
    {
      char *slash = strchr(p, '/');
      const char *name;
      int next;

      if (slash != NULL)
        *slash = '\0';
      name = strrchr(prefix, '/') ? strrchr(prefix, '/') + 1 : prefix;
      next = openat2_in_root(u->root_fd, prefix, O_PATH | O_DIRECTORY);
      if (next < 0 && errno == ENOENT)
        {
          struct stat st;

          if (mkdirat(cur, name, 0755) < 0)
            {
              if (errno == EEXIST && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return isolazi_error_set(err, 0, "create directory `%s`: a symlink to nothing is in the way", prefix);
              return isolazi_error_errno(err, "create directory `%s`", prefix);
            }
          next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (next >= 0)
            {
              char proc[64];

              /* 0755 whatever the caller's umask: the container's users must traverse it. */
              snprintf(proc, sizeof proc, "/proc/self/fd/%d", next);
              if (chmod(proc, 0755) < 0)
                {
                  close(next);
                  return isolazi_error_errno(err, "create directory `%s`", prefix);
                }
              if (u->n_lowers > 0)
                defer_implicit(u, prefix);
            }
        }
      if (next < 0)
        return isolazi_error_errno(err, "open directory `%s`", prefix);
      close(cur);
      cur = next;
      if (slash == NULL)
        break;
      *slash = '/';
      p = slash + 1;
    }
  return steal_fd(&cur);
}

/* Names in a directory, for removing while not iterating. */
static int
list_dir(int dir_fd, char ***ret, size_t *ret_n, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir(fd)) == NULL)
    {
      if (fd >= 0)
        close(fd);
      return isolazi_error_errno(err, "read directory");
    }
  errno = 0;
  while ((de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (n + 2 > cap)
        {
          cap = cap ? cap * 2 : 16;
          names = xrealloc(names, cap * sizeof(char *));
        }
      names[n++] = xstrdup(de->d_name);
      names[n] = NULL;
    }
  if (names == NULL)
    names = xcalloc(1, sizeof(char *));
  *ret = names;
  *ret_n = n;
  return 0;
}

/* Remove `name` in dir_fd, recursively when it is a directory; symlinks are removed, never
 * followed.  Missing is fine. */
static int
remove_at(int dir_fd, const char *name, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_strv char **names = NULL;
  size_t n, i;

  if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR) /* what Linux says for a directory */
    return isolazi_error_errno(err, "remove `%s`", name);
  fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "remove `%s`", name);
  if (list_dir(fd, &names, &n, err) < 0)
    return isolazi_error_wrap(err, "remove `%s`", name);
  for (i = 0; i < n; i++)
    if (remove_at(fd, names[i], err) < 0)
      return -1;
  if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return isolazi_error_errno(err, "remove `%s`", name);
  return 0;
}

/* Make room for a new entry `base`: remove what is there unless both are directories.  Sets
 * *ret_kept when an existing directory stays. */
static int
make_room(int dir_fd, const char *base, bool want_dir, bool *ret_kept, isolazi_error_t *err)
{
  struct stat st;

  *ret_kept = false;
  if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return isolazi_error_errno(err, "stat `%s`", base);
    }
  if (want_dir && S_ISDIR(st.st_mode))
    {
      *ret_kept = true;
      return 0;
    }
  return remove_at(dir_fd, base, err);
}

static void
proc_fd_path(char buf[64], int fd)
{
  snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

/* ------------------------------------------------------------------------------------------
 * Metadata
 * ---------------------------------------------------------------------------------------- */

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
  long nsec;

  ts[1].tv_sec = (time_t)archive_entry_mtime(e);
  nsec = archive_entry_mtime_nsec(e);
  ts[1].tv_nsec = nsec >= 0 && nsec < 1000000000L ? nsec : 0;
  if (archive_entry_atime_is_set(e))
    {
      ts[0].tv_sec = (time_t)archive_entry_atime(e);
      nsec = archive_entry_atime_nsec(e);
      ts[0].tv_nsec = nsec >= 0 && nsec < 1000000000L ? nsec : 0;
    }
  else
    ts[0] = ts[1];
}

/* Owner of the new entry: fd when we hold one, else dir_fd/base without following it.  chown
 * comes before chmod (it clears setuid/setgid) and before xattrs (it clears
 * security.capability). */
static int
set_owner(unpacker_t *u, struct archive_entry *e, int fd, int dir_fd, const char *base, isolazi_error_t *err)
{
  la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  int r;

  /* (uid_t)-1 would mean "leave as is" to chown(2). */
  if (uid < 0 || uid >= (la_int64_t)UINT32_MAX || gid < 0 || gid >= (la_int64_t)UINT32_MAX)
    return isolazi_error_set(err, 0, "invalid owner %lld:%lld", (long long)uid, (long long)gid);
  if (fd >= 0)
    r = fchown(fd, (uid_t)uid, (gid_t)gid);
  else
    r = fchownat(dir_fd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
  if (r == 0)
    return 0;
  /* Rootless: an id outside our mapping (EINVAL) or not ours (EPERM) stays ours. */
  if (u->rootless && (errno == EINVAL || errno == EPERM))
    {
      u->st.unowned++;
      return 0;
    }
  return isolazi_error_errno(err, "set owner %lld:%lld", (long long)uid, (long long)gid);
}

static bool
overlay_xattr(const char *name)
{
  return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

/* xattrs (pax SCHILY.xattr.* / LIBARCHIVE.xattr.*), file capabilities among them.  With fd < 0
 * the entry is set through its parent's fd without following the entry (lsetxattr). */
static int
set_xattrs(unpacker_t *u, struct archive_entry *e, int fd, int dir_fd, const char *base, bool plain,
           isolazi_error_t *err)
{
  const char *name;
  const void *value;
  size_t size;
  char path[PATH_MAX + 64];

  if (archive_entry_xattr_reset(e) == 0)
    return 0;
  if (fd < 0)
    snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dir_fd, base);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    {
      int r;

      if (name == NULL || *name == '\0')
        continue;
      /* overlayfs's own attributes decide what a merged view shows (opaque, redirect, origin,
       * metacopy): only the unpacker sets them, from whiteouts, never a layer directly. */
      if (overlay_xattr(name))
        {
          u->st.xattrs_skipped++;
          continue;
        }
      r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(path, name, value, size, 0);
      if (r == 0)
        continue;
      /* ENOTSUP: the filesystem has no such namespace; EPERM on a special file or symlink: the
       * kernel allows user.* only on regular files and directories. */
      if (errno == ENOTSUP || (errno == EPERM && !plain) || (u->rootless && (errno == EPERM || errno == EACCES)))
        {
          u->st.xattrs_skipped++;
          continue;
        }
      return isolazi_error_errno(err, "set xattr `%s`", name);
    }
  return 0;
}

static dir_fixup_t *
push_fixup(unpacker_t *u, const char *path)
{
  dir_fixup_t *d;
  const char *c;

  if (u->ndirs == u->dirs_cap)
    {
      u->dirs_cap = u->dirs_cap ? u->dirs_cap * 2 : 64;
      u->dirs = xrealloc(u->dirs, u->dirs_cap * sizeof *u->dirs);
    }
  d = &u->dirs[u->ndirs];
  memset(d, 0, sizeof *d);
  d->path = xstrdup(path);
  d->depth = *path ? 1 : 0;
  for (c = path; *c != '\0'; c++)
    if (*c == '/')
      d->depth++;
  d->order = u->ndirs++;
  return d;
}

static void
defer_dir(unpacker_t *u, const char *path, struct archive_entry *e)
{
  dir_fixup_t *d = push_fixup(u, path);

  d->mode = archive_entry_perm(e) & 07777;
  entry_times(e, d->times);
  /* An entry later in the layer for a directory made implicitly earlier: the entry wins. */
  if (u->n_lowers > 0)
    (void)set_add(&u->explicit_dirs, path);
}

static void
defer_implicit(unpacker_t *u, const char *path)
{
  push_fixup(u, path)->implicit = true;
}

static int
compare_fixups(const void *a, const void *b)
{
  const dir_fixup_t *x = a, *y = b;

  if (x->depth != y->depth)
    return x->depth > y->depth ? -1 : 1;
  return x->order < y->order ? -1 : (x->order > y->order);
}

/* Whether the directory fd (O_PATH is fine) is opaque, in the form this unpack writes. */
static bool
is_opaque(const unpacker_t *u, int fd)
{
  char proc[64], v[2];

  proc_fd_path(proc, fd);
  return getxattr(proc, u->rootless ? "user.overlay.opaque" : "trusted.overlay.opaque", v, sizeof v) == 1
         && v[0] == 'y';
}

/* The directory that gives the merged view its metadata at `path` from below this layer, looked
 * up the way overlayfs does (Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
 * directories"): one component at a time, this layer first, then the lower layers topmost
 * first, each only while its parent there is a directory; an opaque directory hides the layers
 * below it, and so does anything that is not a directory (a whiteout, a file, a symlink: a
 * directory made above it replaces it in the merged view).  No symlink is followed, and each
 * lookup is one component under RESOLVE_IN_ROOT, so nothing outside a layer is reached.
 * *ret_fd (O_PATH) is -1 when no lower layer shows a directory there. */
static int
find_lower_dir(unpacker_t *u, const char *path, int *ret_fd, isolazi_error_t *err)
{
  size_t nl = u->n_lowers + 1, ncur = 0, nnext = 0, j;
  cleanup_free int *cur = xcalloc(nl, sizeof(int));
  cleanup_free int *next = xcalloc(nl, sizeof(int));
  cleanup_free char *copy = xstrdup(path);
  char *name, *save = NULL;
  int r = 0;

  *ret_fd = -1;
  for (j = 0; j < nl; j++)
    {
      int fd = openat2_in_root(j == 0 ? u->root_fd : u->lower_fds[j - 1], "", O_PATH | O_DIRECTORY);
      if (fd < 0)
        {
          r = j == 0 ? isolazi_error_errno(err, "open the root")
                     : isolazi_error_errno(err, "open lower layer %zu", j - 1);
          goto out;
        }
      cur[ncur++] = fd;
    }
  for (name = strtok_r(copy, "/", &save); name != NULL && ncur > 0; name = strtok_r(NULL, "/", &save))
    {
      bool top = false;

      nnext = 0;
      for (j = 0; j < ncur; j++)
        {
          int fd = openat2_in_root(cur[j], name, O_PATH | O_NOFOLLOW);
          struct stat st;

          if (fd < 0 && errno == ENOENT && j > 0)
            {
              if (is_opaque(u, cur[j]))
                break;
              continue;
            }
          /* Not found in this layer (its own parent is a symlink), or a lower one we may not
           * search (a rootless store): nothing below is known, the default stays. */
          if (fd < 0 && (errno == ENOENT || errno == EACCES))
            break;
          if (fd < 0)
            {
              cleanup_free char *shown = label(path);
              r = isolazi_error_errno(err, "look up `%s` in the lower layers", shown);
              goto out;
            }
          if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
            {
              close(fd);
              break;
            }
          if (j == 0)
            top = true;
          next[nnext++] = fd;
          if (is_opaque(u, cur[j]))
            break;
        }
      for (j = 0; j < ncur; j++)
        close(cur[j]);
      memcpy(cur, next, nnext * sizeof(int));
      ncur = nnext;
      nnext = 0;
      if (!top)
        break;
    }
  /* cur[0] is this layer's own directory; cur[1] the nearest lower one. */
  if (name == NULL && ncur >= 2)
    {
      *ret_fd = cur[1];
      cur[1] = -1;
    }

out:
  for (j = 0; j < ncur; j++)
    if (cur[j] >= 0)
      close(cur[j]);
  for (j = 0; j < nnext; j++)
    close(next[j]);
  return r;
}

/* A directory made implicitly takes the mode, owner, times and xattrs (but overlayfs's own) of
 * the lower layers' directory it shadows: in the merged view this layer's directory hides them,
 * and a /tmp at 1777 must not turn 0755 because a layer added a file in it without an entry for
 * the directory (what `docker build` layers often hold). */
static int
copy_lower_metadata(unpacker_t *u, const char *path, int fd, isolazi_error_t *err)
{
  cleanup_close int lower = -1;
  cleanup_free char *names = NULL;
  cleanup_free char *shown = label(path);
  char proc[64], lproc[64];
  struct timespec ts[2];
  struct stat st;
  ssize_t len = 0;
  char *name;

  if (find_lower_dir(u, path, &lower, err) < 0)
    return -1;
  if (lower < 0)
    return 0;
  if (fstat(lower, &st) < 0)
    return isolazi_error_errno(err, "directory `%s`: stat the lower layer's", shown);
  proc_fd_path(proc, fd);
  proc_fd_path(lproc, lower);
  if (chown(proc, st.st_uid, st.st_gid) < 0)
    {
      if (!(u->rootless && (errno == EINVAL || errno == EPERM)))
        return isolazi_error_errno(err, "directory `%s`: set owner %u:%u", shown, (unsigned)st.st_uid,
                                   (unsigned)st.st_gid);
      u->st.unowned++;
    }
  for (;;)
    {
      len = listxattr(lproc, NULL, 0);
      if (len <= 0)
        break;
      free(names);
      names = xmalloc((size_t)len);
      len = listxattr(lproc, names, (size_t)len);
      if (len >= 0 || errno != ERANGE)
        break;
    }
  if (len < 0 && errno != ENOTSUP)
    return isolazi_error_errno(err, "directory `%s`: list the lower layer's xattrs", shown);
  for (name = names; len > 0 && name < names + len; name += strlen(name) + 1)
    {
      cleanup_free char *value = NULL;
      ssize_t size;

      /* The lower layer's opaque marker and the like are about its own lower layers. */
      if (overlay_xattr(name))
        continue;
      size = getxattr(lproc, name, NULL, 0);
      if (size >= 0)
        {
          value = xmalloc((size_t)size + 1);
          size = getxattr(lproc, name, value, (size_t)size);
        }
      if (size < 0 && errno == ENODATA)
        continue;
      if (size < 0)
        return isolazi_error_errno(err, "directory `%s`: read the lower layer's xattr `%s`", shown, name);
      if (setxattr(proc, name, value, (size_t)size, 0) == 0)
        continue;
      if (errno == ENOTSUP || (u->rootless && (errno == EPERM || errno == EACCES)))
        {
          u->st.xattrs_skipped++;
          continue;
        }
      return isolazi_error_errno(err, "directory `%s`: set xattr `%s`", shown, name);
    }
  /* After chown, which may clear the setgid bit. */
  if (chmod(proc, st.st_mode & 07777) < 0)
    return isolazi_error_errno(err, "directory `%s`: set mode %04o", shown, (unsigned)(st.st_mode & 07777));
  ts[0] = st.st_atim;
  ts[1] = st.st_mtim;
  if (utimensat(AT_FDCWD, proc, ts, 0) < 0)
    return isolazi_error_errno(err, "directory `%s`: set times", shown);
  return 0;
}

/* Directories' modes and times, deepest first, once nothing more is created in them (a 0555
 * directory would refuse its own contents to a rootless unpacker; every creation bumps the
 * parent's mtime).  A directory replaced meanwhile by another type is left alone. */
static int
apply_dir_fixups(unpacker_t *u, isolazi_error_t *err)
{
  size_t i;

  if (u->ndirs > 1)
    qsort(u->dirs, u->ndirs, sizeof *u->dirs, compare_fixups);
  for (i = 0; i < u->ndirs; i++)
    {
      dir_fixup_t *d = &u->dirs[i];
      cleanup_close int fd = openat2_in_root(u->root_fd, d->path, O_PATH | O_NOFOLLOW);
      struct stat st;
      char proc[64];

      if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        continue;
      if (fd < 0 || fstat(fd, &st) < 0)
        return isolazi_error_errno(err, "entry `%s`: open the directory", d->path);
      if (!S_ISDIR(st.st_mode))
        continue;
      if (d->implicit)
        {
          /* Its opaque marker (set by then), and a later entry for it, are known only now. */
          if (!set_has(&u->explicit_dirs, d->path) && copy_lower_metadata(u, d->path, fd, err) < 0)
            return -1;
          continue;
        }
      proc_fd_path(proc, fd);
      if (chmod(proc, d->mode) < 0)
        return isolazi_error_errno(err, "entry `%s`: set mode %04o", d->path, (unsigned)d->mode);
      if (utimensat(AT_FDCWD, proc, d->times, 0) < 0)
        return isolazi_error_errno(err, "entry `%s`: set times", d->path);
    }
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * Entries
 * ---------------------------------------------------------------------------------------- */

static int
write_data(unpacker_t *u, struct archive_entry *e, int fd, isolazi_error_t *err)
{
  la_int64_t end = 0;

  for (;;)
    {
      const void *buf;
      size_t size;
      la_int64_t off;
      int r = archive_read_data_block(u->inner, &buf, &size, &off);

      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK)
        return isolazi_error_set(err, archive_errno(u->inner) > 0 ? archive_errno(u->inner) : 0, "read the content: %s",
                                 archive_error_string(u->inner));
      /* Sparse files come as blocks at offsets; the holes stay holes. */
      if (off < 0 || off > INT64_MAX - (la_int64_t)size)
        return isolazi_error_set(err, 0, "read the content: a block at offset %lld", (long long)off);
      while (size > 0)
        {
          ssize_t n = pwrite(fd, buf, size, (off_t)off);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            return isolazi_error_errno(err, "write the content");
          buf = (const char *)buf + n;
          size -= (size_t)n;
          off += n;
        }
      if (off > end)
        end = off;
    }
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > end && ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
    return isolazi_error_errno(err, "write the content");
  return 0;
}

static int
create_file(unpacker_t *u, struct archive_entry *e, int dir_fd, const char *base, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  struct timespec ts[2];
  bool kept;

  if (make_room(dir_fd, base, false, &kept, err) < 0)
    return -1;
  /* O_EXCL|O_NOFOLLOW: never through anything already there (make_room removed it). */
  fd = openat(dir_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return isolazi_error_errno(err, "create the file");
  if (write_data(u, e, fd, err) < 0 || set_owner(u, e, fd, -1, NULL, err) < 0)
    return -1;
  if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
    return isolazi_error_errno(err, "set mode %04o", (unsigned)(archive_entry_perm(e) & 07777));
  if (set_xattrs(u, e, fd, -1, NULL, true, err) < 0)
    return -1;
  entry_times(e, ts);
  if (futimens(fd, ts) < 0)
    return isolazi_error_errno(err, "set times");
  return 0;
}

static int
create_dir(unpacker_t *u, struct archive_entry *e, const char *path, int dir_fd, const char *base, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  bool kept;

  if (make_room(dir_fd, base, true, &kept, err) < 0)
    return -1;
  if (!kept && mkdirat(dir_fd, base, 0700) < 0)
    return isolazi_error_errno(err, "create the directory");
  fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open the directory");
  if (set_owner(u, e, fd, -1, NULL, err) < 0 || set_xattrs(u, e, fd, -1, NULL, true, err) < 0)
    return -1;
  defer_dir(u, path, e);
  return 0;
}

/* Metadata of a symlink, device node or FIFO, by name in its parent, never following it. */
static int
set_special_metadata(unpacker_t *u, struct archive_entry *e, int dir_fd, const char *base, bool symlink,
                     isolazi_error_t *err)
{
  struct timespec ts[2];

  if (set_owner(u, e, -1, dir_fd, base, err) < 0)
    return -1;
  /* glibc does AT_SYMLINK_NOFOLLOW through an O_PATH fd (or fchmodat2); symlinks have no mode. */
  if (!symlink && fchmodat(dir_fd, base, archive_entry_perm(e) & 07777, AT_SYMLINK_NOFOLLOW) < 0)
    return isolazi_error_errno(err, "set mode %04o", (unsigned)(archive_entry_perm(e) & 07777));
  if (set_xattrs(u, e, -1, dir_fd, base, false, err) < 0)
    return -1;
  entry_times(e, ts);
  if (utimensat(dir_fd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return isolazi_error_errno(err, "set times");
  return 0;
}

static int
create_symlink(unpacker_t *u, struct archive_entry *e, int dir_fd, const char *base, isolazi_error_t *err)
{
  const char *target = archive_entry_symlink(e);
  bool kept;

  if (target == NULL)
    target = archive_entry_symlink_utf8(e);
  if (target == NULL || *target == '\0')
    return isolazi_error_set(err, 0, "symlink without a target");
  if (strlen(target) >= PATH_MAX)
    return isolazi_error_set(err, 0, "symlink target too long (%zu bytes)", strlen(target));
  if (make_room(dir_fd, base, false, &kept, err) < 0)
    return -1;
  /* The target is stored as it is: nothing here ever follows it, and openat2(RESOLVE_IN_ROOT)
   * resolves it inside the root when a later entry goes through it. */
  if (symlinkat(target, dir_fd, base) < 0)
    return isolazi_error_errno(err, "create the symlink");
  return set_special_metadata(u, e, dir_fd, base, true, err);
}

static int
create_node(unpacker_t *u, struct archive_entry *e, int dir_fd, const char *base, mode_t type, isolazi_error_t *err)
{
  bool kept;

  if (type != S_IFIFO && u->rootless)
    {
      u->st.skipped++;
      return 0;
    }
  if (make_room(dir_fd, base, false, &kept, err) < 0)
    return -1;
  if (mknodat(dir_fd, base, type | 0600, type == S_IFIFO ? 0 : archive_entry_rdev(e)) < 0)
    {
      if (u->rootless && errno == EPERM)
        {
          u->st.skipped++;
          return 0;
        }
      return isolazi_error_errno(err, "create the %s", type == S_IFIFO ? "FIFO" : "device node");
    }
  return set_special_metadata(u, e, dir_fd, base, false, err);
}

static int
create_hardlink(unpacker_t *u, const char *link_name, int dir_fd, const char *base, isolazi_error_t *err)
{
  cleanup_free char *target = NULL;
  cleanup_free char *shown = label(link_name);
  cleanup_close int fd = -1;
  struct stat st, here;
  char proc[64];

  if (clean_name_or_error(link_name, "hard link target", &target, err) < 0)
    return -1;
  if (*target == '\0')
    return isolazi_error_set(err, 0, "hard link to the root");
  /* The target too is resolved inside the root (a name with "/" or a symlink in its parents
   * cannot reach the host), and a symlink as the target is linked itself, not followed. */
  fd = openat2_in_root(u->root_fd, target, O_PATH | O_NOFOLLOW);
  if (fd < 0)
    return isolazi_error_errno(err, "hard link to `%s`", shown);
  if (fstat(fd, &st) < 0)
    return isolazi_error_errno(err, "hard link to `%s`", shown);
  if (S_ISDIR(st.st_mode))
    return isolazi_error_set(err, EPERM, "hard link to `%s`: a directory", shown);
  if (fstatat(dir_fd, base, &here, AT_SYMLINK_NOFOLLOW) == 0 && here.st_dev == st.st_dev && here.st_ino == st.st_ino)
    return 0;
  if (remove_at(dir_fd, base, err) < 0)
    return -1;
  if (linkat(fd, "", dir_fd, base, AT_EMPTY_PATH) == 0)
    return 0;
  /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the fd's magic link does not. */
  proc_fd_path(proc, fd);
  if (linkat(AT_FDCWD, proc, dir_fd, base, AT_SYMLINK_FOLLOW) < 0)
    return isolazi_error_errno(err, "hard link to `%s`", shown);
  return 0;
}

/* Whiteout of `name` in `parent` (not a path: one component). */
static int
whiteout(unpacker_t *u, const char *parent, const char *name, isolazi_error_t *err)
{
  cleanup_free char *path = *parent ? xasprintf("%s/%s", parent, name) : xstrdup(name);
  cleanup_close int dir_fd = -1;
  bool kept;

  /* layer.md: a whiteout hides lower layers' entries only, never this layer's own. */
  if (set_has(&u->written, path))
    return 0;
  if (*parent)
    mark_written(u, parent);
  if (u->mode == ISOLAZI_UNPACK_APPLY)
    {
      /* Nothing to delete under a parent that is not there (and none is made for it). */
      dir_fd = openat2_in_root(u->root_fd, parent, O_PATH | O_DIRECTORY);
      if (dir_fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
      if (dir_fd < 0)
        return isolazi_error_errno(err, "open directory `%s`", parent);
      return remove_at(dir_fd, name, err);
    }
  dir_fd = open_parent(u, parent, err);
  if (dir_fd < 0 || make_room(dir_fd, name, false, &kept, err) < 0)
    return -1;
  /* overlayfs's whiteout: a 0/0 character device (Documentation/filesystems/overlayfs.rst). */
  if (mknodat(dir_fd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    return isolazi_error_errno(err, "create the whiteout `%s`", name);
  return 0;
}

/* Everything under dir_fd (reached as `path`) that this layer did not write goes: what an
 * opaque marker means when the layer is applied onto the earlier ones. */
static int
prune_earlier(unpacker_t *u, int dir_fd, const char *path, isolazi_error_t *err)
{
  cleanup_strv char **names = NULL;
  size_t n, i;

  if (list_dir(dir_fd, &names, &n, err) < 0)
    return isolazi_error_wrap(err, "opaque directory `%s`", path);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *child = *path ? xasprintf("%s/%s", path, names[i]) : xstrdup(names[i]);
      struct stat st;

      if (!set_has(&u->written, child))
        {
          if (remove_at(dir_fd, names[i], err) < 0)
            return -1;
          continue;
        }
      if (fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        {
          cleanup_close int fd = openat(dir_fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (fd < 0)
            return isolazi_error_errno(err, "open `%s`", child);
          if (prune_earlier(u, fd, child, err) < 0)
            return -1;
        }
    }
  return 0;
}

static int
opaque(unpacker_t *u, const char *parent, isolazi_error_t *err)
{
  cleanup_close int fd = -1;

  mark_written(u, parent);
  if (u->mode == ISOLAZI_UNPACK_APPLY)
    {
      fd = openat2_in_root(u->root_fd, parent, O_RDONLY | O_DIRECTORY);
      if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
      if (fd < 0)
        return isolazi_error_errno(err, "open directory `%s`", parent);
      return prune_earlier(u, fd, parent, err);
    }
  {
    cleanup_close int pfd = open_parent(u, parent, err);
    const char *xattr = u->rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
    char proc[64];

    if (pfd < 0)
      return -1;
    proc_fd_path(proc, pfd);
    /* setxattr through the O_PATH fd's magic link: the directory itself, whatever its mode. */
    if (setxattr(proc, xattr, "y", 1, 0) < 0)
      return isolazi_error_errno(err, "mark directory `%s` opaque (%s)", *parent ? parent : "/", xattr);
  }
  return 0;
}

static int
apply_entry(unpacker_t *u, struct archive_entry *e, const char *raw_name, isolazi_error_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_close int dir_fd = -1;
  const char *hardlink = archive_entry_hardlink(e);
  const char *base;
  char *parent;
  mode_t type = archive_entry_filetype(e);
  int r;

  if (clean_name_or_error(raw_name, "name", &path, err) < 0)
    return -1;
  if (hardlink == NULL)
    hardlink = archive_entry_hardlink_utf8(e);

  if (*path == '\0')
    {
      /* "./" or "/": the root's own metadata. */
      if (type != AE_IFDIR || hardlink != NULL)
        return isolazi_error_set(err, 0, "the root can only be a directory");
      dir_fd = openat2_in_root(u->root_fd, "", O_PATH | O_DIRECTORY);
      if (dir_fd < 0)
        return isolazi_error_errno(err, "open the root");
      return create_dir(u, e, "", dir_fd, ".", err);
    }

  parent = path;
  base = strrchr(path, '/');
  if (base != NULL)
    *(char *)base++ = '\0';
  else
    {
      base = path;
      parent = (char *)"";
    }

  if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
    {
      const char *name = base + strlen(WH_PREFIX);

      if (strcmp(base, WH_OPAQUE) == 0)
        return opaque(u, parent, err);
      if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0;
      if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return isolazi_error_set(err, 0, "a whiteout must name an entry of its directory");
      return whiteout(u, parent, name, err);
    }

  dir_fd = open_parent(u, parent, err);
  if (dir_fd < 0)
    return -1;

  if (hardlink != NULL)
    r = create_hardlink(u, hardlink, dir_fd, base, err);
  else
    switch (type)
      {
      case AE_IFREG:
        r = create_file(u, e, dir_fd, base, err);
        break;
      case AE_IFDIR:
        {
          cleanup_free char *full = *parent ? xasprintf("%s/%s", parent, base) : xstrdup(base);
          r = create_dir(u, e, full, dir_fd, base, err);
          break;
        }
      case AE_IFLNK:
        r = create_symlink(u, e, dir_fd, base, err);
        break;
      case AE_IFCHR:
        r = create_node(u, e, dir_fd, base, S_IFCHR, err);
        break;
      case AE_IFBLK:
        r = create_node(u, e, dir_fd, base, S_IFBLK, err);
        break;
      case AE_IFIFO:
        r = create_node(u, e, dir_fd, base, S_IFIFO, err);
        break;
      default:
        r = isolazi_error_set(err, 0, "unsupported entry type 0%o", (unsigned)type);
        break;
      }
  if (r < 0)
    return -1;
  {
    cleanup_free char *full = *parent ? xasprintf("%s/%s", parent, base) : xstrdup(base);
    mark_written(u, full);
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------------------------- */

/* The decompressing thread: the outer reader's bytes, hashed (the diff_id) and copied into
 * slots for the tar reader.  It reads to the end of the stream: what follows the tar's end
 * (padding, or anything else) is part of the diff_id all the same. */
static void *
decompress_thread(void *data)
{
  unpacker_t *u = data;
  unpack_pipe_t *p = &u->pipe;
  pipe_slot_t *slot = NULL;
  bool done = false;

  while (!done)
    {
      const void *buf;
      size_t size = 0;
      la_int64_t off;
      int r = archive_read_data_block(u->outer, &buf, &size, &off);

      if (r == ARCHIVE_EOF)
        {
          done = true;
          size = 0;
        }
      else if (r != ARCHIVE_OK)
        {
          pthread_mutex_lock(&p->lock);
          p->error_errno = archive_errno(u->outer) > 0 ? archive_errno(u->outer) : EIO;
          snprintf(p->error, sizeof p->error, "decompress: %s",
                   archive_error_string(u->outer) ? archive_error_string(u->outer) : "read error");
          p->eof = true;
          pthread_cond_broadcast(&p->cond);
          pthread_mutex_unlock(&p->lock);
          return NULL;
        }
      if (size > 0)
        {
          if (u->head_len < sizeof u->head)
            {
              size_t n = sizeof u->head - u->head_len < size ? sizeof u->head - u->head_len : size;
              memcpy(u->head + u->head_len, buf, n);
              u->head_len += n;
            }
          isolazi_hasher_update(u->hasher, buf, size);
        }
      while (size > 0 || (done && slot != NULL))
        {
          size_t n;

          if (slot == NULL)
            {
              /* Wait for a free slot: at most PIPE_SLOTS filled and not taken, and never the
                 one the consumer still reads from. */
              pthread_mutex_lock(&p->lock);
              while (!p->cancel && p->head - p->tail + (p->holding ? 1 : 0) >= PIPE_SLOTS)
                pthread_cond_wait(&p->cond, &p->lock);
              if (p->cancel)
                {
                  pthread_mutex_unlock(&p->lock);
                  return NULL;
                }
              slot = &p->slots[p->head % PIPE_SLOTS];
              pthread_mutex_unlock(&p->lock);
              if (slot->buf == NULL)
                slot->buf = xmalloc(PIPE_SLOT_SIZE);
              slot->len = 0;
            }
          n = PIPE_SLOT_SIZE - slot->len < size ? PIPE_SLOT_SIZE - slot->len : size;
          if (n > 0)
            memcpy(slot->buf + slot->len, buf, n);
          slot->len += n;
          buf = (const unsigned char *)buf + n;
          size -= n;
          if (slot->len == PIPE_SLOT_SIZE || (done && size == 0))
            {
              pthread_mutex_lock(&p->lock);
              p->head++;
              pthread_cond_broadcast(&p->cond);
              pthread_mutex_unlock(&p->lock);
              slot = NULL;
            }
        }
    }
  pthread_mutex_lock(&p->lock);
  p->eof = true;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* Take the next slot; 0 at the end, -1 with the producer's error.  The slot taken before is
 * released (libarchive is done with a buffer once it asks for the next one). */
static ssize_t
pipe_take(unpack_pipe_t *p, const void **buf, int *ret_errno, const char **ret_msg)
{
  ssize_t r;

  pthread_mutex_lock(&p->lock);
  if (p->holding)
    {
      p->holding = false;
      pthread_cond_broadcast(&p->cond);
    }
  while (p->head == p->tail && !p->eof)
    pthread_cond_wait(&p->cond, &p->lock);
  if (p->head != p->tail)
    {
      pipe_slot_t *slot = &p->slots[p->tail % PIPE_SLOTS];
      p->tail++;
      p->holding = true;
      *buf = slot->buf;
      r = (ssize_t)slot->len;
    }
  else if (p->error[0] != '\0')
    {
      *ret_errno = p->error_errno;
      *ret_msg = p->error;
      r = -1;
    }
  else
    r = 0;
  pthread_mutex_unlock(&p->lock);
  return r;
}

/* The inner (tar) reader's input. */
static la_ssize_t
read_decompressed(struct archive *a, void *data, const void **buf)
{
  unpacker_t *u = data;
  int e = 0;
  const char *msg = NULL;
  ssize_t n = pipe_take(&u->pipe, buf, &e, &msg);

  if (n < 0)
    {
      archive_set_error(a, e, "%s", msg);
      return -1;
    }
  return (la_ssize_t)n;
}

static int
pipe_start(unpacker_t *u, isolazi_error_t *err)
{
  unpack_pipe_t *p = &u->pipe;
  int r;

  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  r = pthread_create(&p->thread, NULL, decompress_thread, u);
  if (r != 0)
    {
      pthread_cond_destroy(&p->cond);
      pthread_mutex_destroy(&p->lock);
      return isolazi_error_set(err, r, "start the decompressing thread");
    }
  p->started = true;
  return 0;
}

/* Stop (when the tar reader gave up early) and join the producer; free the slots. */
static void
pipe_stop(unpack_pipe_t *p)
{
  size_t i;

  if (p->started)
    {
      pthread_mutex_lock(&p->lock);
      p->cancel = true;
      pthread_cond_broadcast(&p->cond);
      pthread_mutex_unlock(&p->lock);
      pthread_join(p->thread, NULL);
      pthread_cond_destroy(&p->cond);
      pthread_mutex_destroy(&p->lock);
      p->started = false;
    }
  for (i = 0; i < PIPE_SLOTS; i++)
    {
      free(p->slots[i].buf);
      p->slots[i].buf = NULL;
    }
}

/* After the tar's end: take the rest of the stream, so that the producer hashes all of it. */
static int
drain(unpacker_t *u, isolazi_error_t *err)
{
  for (;;)
    {
      const void *buf;
      int e = 0;
      const char *msg = NULL;
      ssize_t n = pipe_take(&u->pipe, &buf, &e, &msg);

      if (n == 0)
        return 0;
      if (n < 0)
        return isolazi_error_set(err, e, "%s", msg);
    }
}

/* A compression we do not read would otherwise show as "Unrecognized archive format". */
static const char *
unsupported_compression(const unpacker_t *u)
{
  if (u->head_len >= 6
      && memcmp(u->head,
                "\xfd"
                "7zXZ\0",
                6)
             == 0)
    return "xz";
  if (u->head_len >= 3 && memcmp(u->head, "BZh", 3) == 0)
    return "bzip2";
  if (u->head_len >= 4 && memcmp(u->head, "\x04\x22\x4d\x18", 4) == 0)
    return "lz4";
  return NULL;
}

/* libarchive's messages say what went wrong; its errno is often a stand-in (EILSEQ for "file
 * format"), so it is not appended. */
static int
read_error(struct archive *a, const char *what, isolazi_error_t *err)
{
  const char *msg = archive_error_string(a);

  return isolazi_error_set(err, 0, "%s: %s", what, msg ? msg : "read error");
}

/* The tar reader failed after n entries. */
static int
tar_error(unpacker_t *u, unsigned long n, isolazi_error_t *err)
{
  const char *c = n == 0 ? unsupported_compression(u) : NULL;

  if (c != NULL)
    return isolazi_error_set(err, 0, "read the layer: unsupported compression (%s)", c);
  if (n == 0 && u->head_len == 0)
    return isolazi_error_set(err, 0, "read the layer: no content");
  return read_error(u->inner, n == 0 ? "read the tar stream" : "read the tar stream after the last entry", err);
}

static int
unpack(unpacker_t *u, int layer_fd, isolazi_error_t *err)
{
  struct archive_entry *e;
  unsigned long n = 0;
  int r;

  u->outer = archive_read_new();
  u->inner = archive_read_new();
  if (u->outer == NULL || u->inner == NULL)
    return isolazi_error_set(err, ENOMEM, "create the archive readers");
  /* A layer is tar, tar+gzip or tar+zstd (image-spec media-types.md); nothing else is read. */
  if (archive_read_support_filter_gzip(u->outer) < ARCHIVE_WARN
      || archive_read_support_filter_zstd(u->outer) < ARCHIVE_WARN
      || archive_read_support_format_raw(u->outer) != ARCHIVE_OK
      || archive_read_support_format_tar(u->inner) != ARCHIVE_OK
      || archive_read_support_format_empty(u->inner) != ARCHIVE_OK)
    return read_error(u->outer, "set up the archive reader", err);
  /* libarchive bids for the filters and the format while opening: an empty blob fails here. */
  r = archive_read_open_fd(u->outer, layer_fd, READ_BLOCK);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header(u->outer, &e);
  if (r != ARCHIVE_OK && archive_filter_bytes(u->outer, -1) == 0)
    return isolazi_error_set(err, 0, "read the layer: no content");
  if (r < ARCHIVE_WARN)
    return read_error(u->outer, "read the layer", err);
  if (pipe_start(u, err) < 0)
    return -1;
  /* libarchive picks the format while opening: a stream it does not know fails here. */
  if (archive_read_open(u->inner, u, NULL, read_decompressed, NULL) != ARCHIVE_OK)
    return tar_error(u, 0, err);

  for (;;)
    {
      const char *name;

      r = archive_read_next_header(u->inner, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return tar_error(u, n, err);
      if (++n > u->max_entries)
        return isolazi_error_set(err, 0, "more than %lu entries", u->max_entries);
      name = archive_entry_pathname(e);
      if (name == NULL)
        name = archive_entry_pathname_utf8(e);
      if (name == NULL)
        return isolazi_error_set(err, 0, "entry %lu: name not readable", n);
      if (apply_entry(u, e, name, err) < 0)
        {
          cleanup_free char *shown = label(name);
          return isolazi_error_wrap(err, "entry `%s`", shown);
        }
    }
  if (drain(u, err) < 0)
    return -1;
  /* Everything was read: the producer has hashed the whole stream. */
  pipe_stop(&u->pipe);
  u->st.entries = n;
  return apply_dir_fixups(u, err);
}

int
isolazi_unpack_layer(int root_fd, int layer_fd, const isolazi_unpack_opts_t *opts, isolazi_unpack_stats_t *stats,
                     isolazi_error_t *err)
{
  unpacker_t u;
  struct stat st;
  const char *what = opts && opts->what ? opts->what : "layer";
  size_t i;
  int r = -1;

  memset(&u, 0, sizeof u);
  u.root_fd = root_fd;
  u.mode = opts ? opts->mode : ISOLAZI_UNPACK_APPLY;
  u.rootless = opts ? opts->rootless : false;
  u.max_entries = opts && opts->max_entries ? opts->max_entries : ISOLAZI_UNPACK_MAX_ENTRIES;
  if (opts != NULL && opts->mode == ISOLAZI_UNPACK_OVERLAY && opts->lower_fds != NULL)
    {
      u.lower_fds = opts->lower_fds;
      u.n_lowers = opts->n_lowers;
    }
  if (fstat(root_fd, &st) < 0)
    return isolazi_error_errno(err, "unpack %s: stat the root", what);
  if (!S_ISDIR(st.st_mode))
    return isolazi_error_set(err, ENOTDIR, "unpack %s: the root is not a directory", what);
  u.hasher = isolazi_hasher_new("sha256", err);
  if (u.hasher == NULL)
    return isolazi_error_wrap(err, "unpack %s", what);

  if (unpack(&u, layer_fd, err) == 0)
    {
      isolazi_hasher_final(u.hasher, u.st.diff_id);
      if (stats != NULL)
        *stats = u.st;
      r = 0;
    }
  else
    isolazi_error_wrap(err, "unpack %s", what);

  if (u.inner != NULL)
    archive_read_free(u.inner);
  pipe_stop(&u.pipe);
  if (u.outer != NULL)
    archive_read_free(u.outer);
  isolazi_hasher_free(u.hasher);
  set_free(&u.written);
  set_free(&u.explicit_dirs);
  for (i = 0; i < u.ndirs; i++)
    free(u.dirs[i].path);
  free(u.dirs);
  return r;
}
