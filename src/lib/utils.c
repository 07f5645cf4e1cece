/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "utils.h"
#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *
xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (p == NULL)
    abort();
  return p;
}

void *
xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL)
    abort();
  return p;
}

void *
xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if (p == NULL)
    abort();
  return p;
}

char *
xstrdup(const char *s)
{
  char *r;

  if (s == NULL)
    return NULL;
  r = strdup(s);
  if (r == NULL)
    abort();
  return r;
}

char *
xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *r;
  int n;

  va_start(ap, fmt);
  n = vasprintf(&r, fmt, ap);
  va_end(ap);
  if (n < 0)
    abort();
  return r;
}

ssize_t
isolazi_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  size_t done = 0;

  while (done < len)
    {
      ssize_t w = write(fd, p + done, len - done);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      done += (size_t)w;
    }
  return (ssize_t)done;
}

ssize_t
isolazi_read_all(int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t done = 0;

  while (done < len)
    {
      ssize_t r = read(fd, p + done, len - done);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (r == 0)
        break;
      done += (size_t)r;
    }
  return (ssize_t)done;
}

int
isolazi_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 8192;

  fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", path);
  buf = xmalloc(cap);
  for (;;)
    {
      ssize_t r;
      if (len + 1 >= cap)
        {
          cap *= 2;
          buf = xrealloc(buf, cap);
        }
      r = read(fd, buf + len, cap - len - 1);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return isolazi_error_errno(err, "read `%s`", path);
        }
      if (r == 0)
        break;
      len += (size_t)r;
    }
  buf[len] = '\0';
  *ret = steal_pointer(&buf);
  if (ret_len != NULL)
    *ret_len = len;
  return 0;
}

int
isolazi_write_file_at(int dirfd, const char *path, const char *buf, size_t len, isolazi_error_t *err)
{
  cleanup_close int fd = -1;

  fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", path);
  if (isolazi_write_all(fd, buf, len) < 0)
    return isolazi_error_errno(err, "write `%s`", path);
  return 0;
}

int
isolazi_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode, bool durable,
                          isolazi_error_t *err)
{
  cleanup_free char *tmp = xasprintf(".%s.tmp.%d", name, (int)getpid());
  cleanup_close int fd = -1;

  fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return isolazi_error_errno(err, "create `%s`", tmp);
  if (isolazi_write_all(fd, buf, len) < 0 || (durable && fsync(fd) < 0))
    {
      int saved = errno;
      (void)unlinkat(dirfd, tmp, 0);
      return isolazi_error_set(err, saved, "write `%s`", name);
    }
  if (renameat(dirfd, tmp, dirfd, name) < 0)
    {
      int saved = errno;
      (void)unlinkat(dirfd, tmp, 0);
      return isolazi_error_set(err, saved, "rename `%s` to `%s`", tmp, name);
    }
  return 0;
}

int
isolazi_openat2_in_root(int rootfd, const char *path, int oflags, bool no_symlinks)
{
  struct open_how how;
  int tries, fd = -1;

  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(oflags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  /* EAGAIN: a rename raced with a ".." walk; the kernel asks us to retry. */
  for (tries = 0; tries < 32; tries++)
    {
      fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
      if (fd >= 0 || errno != EAGAIN)
        break;
    }
  return fd;
}

int
isolazi_mkdir_p(const char *path, mode_t mode, isolazi_error_t *err)
{
  cleanup_free char *p = xstrdup(path);
  struct stat st;
  char *s;

  if (p[0] == '\0')
    return isolazi_error_set(err, ENOENT, "mkdir ``");
  for (s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir(p, mode) < 0 && errno != EEXIST)
        return isolazi_error_errno(err, "mkdir `%s`", p);
      *s = '/';
    }
  if (mkdir(p, mode) < 0)
    {
      if (errno != EEXIST)
        return isolazi_error_errno(err, "mkdir `%s`", p);
      /* Something exists there: it must be a directory (or a link to one). */
      if (stat(p, &st) < 0)
        return isolazi_error_errno(err, "mkdir `%s`", p);
      if (!S_ISDIR(st.st_mode))
        return isolazi_error_set(err, ENOTDIR, "mkdir `%s`", p);
    }
  return 0;
}

char *
isolazi_now_rfc3339(void)
{
  struct timespec ts;
  struct tm tm;
  char buf[32];

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

void
isolazi_format_rfc3339_seconds(char buf[32])
{
  time_t now = time(NULL);
  struct tm tm;

  gmtime_r(&now, &tm);
  strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool
isolazi_has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
isolazi_has_suffix(const char *s, const char *suffix)
{
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

char *
isolazi_home_dir(void)
{
  const char *home = getenv("HOME");
  struct passwd *pw;

  if (home != NULL && home[0] == '/')
    return xstrdup(home);
  pw = getpwuid(geteuid());
  return pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/' ? xstrdup(pw->pw_dir) : NULL;
}

char *
isolazi_abspath(const char *path, isolazi_error_t *err)
{
  cleanup_free char *joined = NULL;
  char *out, *w;
  const char *r;

  if (path[0] == '/')
    joined = xstrdup(path);
  else
    {
      cleanup_free char *cwd = getcwd(NULL, 0);
      if (cwd == NULL)
        {
          isolazi_error_errno(err, "getcwd");
          return NULL;
        }
      joined = xasprintf("%s/%s", cwd, path);
    }
  out = xmalloc(strlen(joined) + 2);
  w = out;
  r = joined;
  while (*r)
    {
      while (*r == '/')
        r++;
      if (*r == '\0')
        break;
      if (r[0] == '.' && (r[1] == '/' || r[1] == '\0'))
        {
          r++;
          continue;
        }
      *w++ = '/';
      while (*r && *r != '/')
        *w++ = *r++;
    }
  if (w == out)
    *w++ = '/';
  *w = '\0';
  return out;
}

static bool
fd_kept(int fd, const int *keep, size_t nkeep)
{
  size_t i;
  for (i = 0; i < nkeep; i++)
    if (keep[i] == fd)
      return true;
  return false;
}

static int
int_cmp(const void *a, const void *b)
{
  return *(const int *)a - *(const int *)b;
}

/* close_range(2) over the gaps between the fds to keep; /proc/self/fd on kernels before 5.9. */
int
isolazi_close_fds_from(int first, const int *keep, size_t nkeep, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  cleanup_free int *sorted = NULL;
  struct dirent *de;
  unsigned int lo = (unsigned int)first;
  size_t i;
  int dfd;

#ifdef SYS_close_range
  sorted = xmalloc((nkeep + 1) * sizeof(int));
  if (nkeep > 0)
    memcpy(sorted, keep, nkeep * sizeof(int));
  qsort(sorted, nkeep, sizeof(int), int_cmp);
  for (i = 0; i < nkeep; i++)
    {
      if (sorted[i] < first || (unsigned int)sorted[i] < lo)
        continue;
      if ((unsigned int)sorted[i] > lo && syscall(SYS_close_range, lo, (unsigned int)sorted[i] - 1, 0) < 0)
        goto fallback;
      lo = (unsigned int)sorted[i] + 1;
    }
  if (syscall(SYS_close_range, lo, ~0U, 0) == 0)
    return 0;
fallback:
#endif
  d = opendir("/proc/self/fd");
  if (d == NULL)
    return isolazi_error_errno(err, "open `/proc/self/fd`");
  dfd = dirfd(d);
  while ((de = readdir(d)) != NULL)
    {
      char *end;
      long fd = strtol(de->d_name, &end, 10);
      if (*end != '\0' || de->d_name[0] == '.' || fd < first || fd == dfd || fd_kept((int)fd, keep, nkeep))
        continue;
      (void)close((int)fd);
    }
  return 0;
}

int
isolazi_cloexec_fds_from(int first, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int dfd;

#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
  if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
#endif
  d = opendir("/proc/self/fd");
  if (d == NULL)
    return isolazi_error_errno(err, "open `/proc/self/fd`");
  dfd = dirfd(d);
  while ((de = readdir(d)) != NULL)
    {
      char *end;
      long fd = strtol(de->d_name, &end, 10);
      int flags;
      if (*end != '\0' || de->d_name[0] == '.' || fd < first || fd == dfd)
        continue;
      flags = fcntl((int)fd, F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC))
        (void)fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
    }
  return 0;
}

unsigned long long
isolazi_process_start_time(pid_t pid)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;
  int field;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = isolazi_read_all(fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* comm may contain spaces and parentheses: count fields after the last ')'. */
  p = strrchr(buf, ')');
  if (p == NULL)
    return 0;
  /* p is at the space before field 3 (state); step to the space before field 22. */
  p++;
  for (field = 3; field < 22 && p != NULL; field++)
    p = strchr(p + 1, ' ');
  if (p == NULL)
    return 0;
  /* A zombie has exited: for our purposes the process is gone. */
  {
    const char *st = strrchr(buf, ')') + 2;
    if (*st == 'Z' || *st == 'X')
      return 0;
  }
  return strtoull(p + 1, NULL, 10);
}

int
isolazi_signalfd_forwarding(sigset_t *old, isolazi_error_t *err)
{
  sigset_t all;
  int fd;

  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGILL);
  sigdelset(&all, SIGFPE);
  sigprocmask(SIG_BLOCK, &all, old);
  fd = signalfd(-1, &all, SFD_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      sigprocmask(SIG_SETMASK, old, NULL);
      return isolazi_error_set(err, saved, "signalfd");
    }
  return fd;
}
