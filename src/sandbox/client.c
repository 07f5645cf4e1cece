/* SPDX-License-Identifier: Apache-2.0 */
/* Clients of a sandbox's daemon: control requests, exec (stdio, timeout, env), and files inside
 * the guest and between the guest and a confined directory on the host.  These calls do not
 * take the sandbox's lock: many may run at once against one sandbox. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

static void
spec_releasep(vm_spec_t *s)
{
  vm_spec_release(s);
}

/* Open the sandbox's directory (no lock).  ENOENT: "sandbox `x` does not exist". */
static int
dir_open(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err)
{
  cleanup_free char *root = NULL, *path = NULL;
  cleanup_close int rootfd = -1;
  int fd;

  if (isolazi_sandbox_name_validate(name, err) < 0)
    return -1;
  rootfd = sb_root_open(c, &root, err);
  if (rootfd < 0)
    return -1;
  path = xasprintf(SB_DIR_SANDBOXES "/%s", name);
  fd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return isolazi_error_set(err, 0, "sandbox `%s` does not exist", name);
  if (fd < 0)
    return isolazi_error_errno(err, "open sandbox `%s`", name);
  return fd;
}

int
sb_connect(int dirfd, const char *name, isolazi_error_t *err)
{
  cleanup_free char *reaped = NULL, *reason = NULL;
  sb_runtime_t rt;
  size_t len;
  int fd;

  if (sb_runtime_get(dirfd, &rt, &reaped) <= 0)
    {
      if (reaped == NULL)
        (void)isolazi_read_file_at(dirfd, SB_STOP_REASON, &reason, &len, NULL);
      return isolazi_error_set(err, 0, "sandbox `%s` is not running%s%s", name, reaped || reason ? ": " : "",
                               reaped   ? reaped
                               : reason ? reason
                                        : "");
    }
  sb_runtime_release(&rt);
  fd = vm_client_connect(dirfd, SB_SOCKET, err);
  if (fd < 0)
    return isolazi_error_wrap(err, "sandbox `%s`", name);
  return fd;
}

/* Read frames until SB_DONE (0, payload in *ret) or ERROR (-1). */
static int
wait_done(int fd, const char *what, uint8_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  for (;;)
    {
      uint8_t *p = NULL;
      vm_frame_header_t h;
      int r = vm_frame_read(fd, &h, &p);
      if (r == -ECONNRESET)
        return isolazi_error_set(err, 0, "%s: the sandbox's VM stopped", what);
      if (r == -EAGAIN || r == -EWOULDBLOCK)
        return isolazi_error_set(err, 0, "%s: the sandbox's daemon did not answer in time", what);
      if (r < 0)
        return isolazi_error_set(err, -r, "%s: read the answer", what);
      if (h.type == VM_MSG_SB_DONE)
        {
          if (ret != NULL)
            {
              *ret = p;
              *ret_len = h.len;
            }
          else
            free(p);
          return 0;
        }
      if (h.type == VM_MSG_ERROR)
        {
          char *msg = NULL;
          int e = 0, st = 0;
          r = vm_error_decode(p, h.len, &e, &st, &msg);
          free(p);
          if (r < 0)
            return isolazi_error_set(err, 0, "%s: malformed error", what);
          isolazi_error_take(err, e, msg);
          return isolazi_error_wrap(err, "%s", what);
        }
      free(p);
    }
}

int
sb_ctl(int dirfd, const char *name, const char *request, char **ret_reply, isolazi_error_t *err)
{
  cleanup_close int fd = sb_connect(dirfd, name, err);
  uint8_t *p = NULL;
  size_t len = 0;

  /* A control request takes at most a freeze, a QMP command and a thaw (10 s each in the
   * daemon): a daemon that does not answer by then (stopped, wedged) is an error, not a hang. */
  struct timeval tv = { 40, 0 };

  if (fd < 0)
    return -1;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (vm_frame_write(fd, VM_MSG_SB_CTL, 0, 0, request, strlen(request)) < 0)
    return isolazi_error_errno(err, "send a request to sandbox `%s`", name);
  if (wait_done(fd, name[0] ? name : "sandbox", &p, &len, err) < 0)
    return -1;
  if (ret_reply != NULL)
    {
      *ret_reply = xmalloc(len + 1);
      if (len > 0)
        memcpy(*ret_reply, p, len);
      (*ret_reply)[len] = '\0';
    }
  free(p);
  return 0;
}

/* ---- exec ---------------------------------------------------------------------------------- */

void
isolazi_sandbox_exec_result_release(isolazi_sandbox_exec_result_t *r)
{
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

static void
capture(char **buf, size_t *len, size_t max, const uint8_t *p, size_t n, bool *truncated)
{
  if (*len + n > max)
    {
      *truncated = true;
      n = max > *len ? max - *len : 0;
    }
  *buf = xrealloc(*buf, *len + n + 1);
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = '\0';
}

static bool
env_has(char **env, const char *key)
{
  size_t n = strlen(key);

  for (; env != NULL && *env != NULL; env++)
    if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
      return true;
  return false;
}

int
isolazi_sandbox_exec(const isolazi_sandbox_ctx_t *c, const char *name, const isolazi_sandbox_exec_options_t *o,
                     isolazi_sandbox_exec_result_t *ret, isolazi_error_t *err)
{
  cleanup_close int dirfd = -1;

  memset(ret, 0, sizeof *ret);
  dirfd = dir_open(c, name, err);
  if (dirfd < 0)
    return -1;
  return sb_exec_at(dirfd, name, o, ret, err);
}

int
sb_exec_at(int dirfd, const char *name, const isolazi_sandbox_exec_options_t *o, isolazi_sandbox_exec_result_t *ret,
           isolazi_error_t *err)
{
  static const char *const defaults[]
      = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", NULL };
  __attribute__((cleanup(spec_releasep))) vm_spec_t s = { 0 };
  vm_frame_reader_t r = { NULL, 0, 0 };
  cleanup_close int fd = -1;
  cleanup_free uint8_t *payload = NULL;
  size_t len = 0, i, max = o->capture_max > 0 ? o->capture_max : 1024 * 1024;
  double deadline = o->timeout_ms > 0 ? sb_now_ms() + o->timeout_ms : 0, kill_deadline = 0;
  bool in_done = o->in_fd < 0, started = false;
  int rc = -1;

  memset(ret, 0, sizeof *ret);
  if (o->args == NULL || o->args[0] == NULL)
    return isolazi_error_set(err, 0, "exec: a command is required");
  for (i = 0; o->args[i] != NULL; i++)
    vm_spec_add_arg(&s, o->args[i]);
  for (i = 0; o->env != NULL && o->env[i] != NULL; i++)
    {
      if (strchr(o->env[i], '=') == NULL)
        return isolazi_error_set(err, 0, "exec: invalid environment variable `%s`: expected KEY=VALUE", o->env[i]);
      vm_spec_add_env(&s, o->env[i]);
    }
  for (i = 0; defaults[i] != NULL; i++)
    {
      cleanup_free char *key = strndup(defaults[i], strcspn(defaults[i], "="));
      if (!env_has(s.env, key))
        vm_spec_add_env(&s, defaults[i]);
    }
  s.cwd = xstrdup(o->cwd != NULL ? o->cwd : "/");
  payload = vm_spec_encode(&s, &len);
  fd = sb_connect(dirfd, name, err);
  if (fd < 0)
    return -1;
  if (vm_frame_write(fd, VM_MSG_EXEC, 0, 0, payload, len) < 0
      || (in_done && vm_frame_write(fd, VM_MSG_STDIN, 0, 0, NULL, 0) < 0))
    return isolazi_error_errno(err, "exec in sandbox `%s`", name);
  for (;;)
    {
      struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = in_done ? -1 : o->in_fd, .events = POLLIN } };
      double now = sb_now_ms();
      int timeout = -1;
      uint8_t buf[65536], *pl;
      vm_frame_header_t h;
      ssize_t n;
      int k;

      if (deadline > 0 && !ret->timed_out)
        {
          if (now >= deadline)
            {
              uint8_t b[4];
              /* As timeout(1): kill it, report 124. */
              vm_put_u32(b, SIGKILL);
              (void)vm_frame_write(fd, VM_MSG_SIGNAL, 0, 0, b, 4);
              ret->timed_out = true;
              kill_deadline = now + 5000;
            }
          else
            timeout = (int)(deadline - now) + 1;
        }
      if (ret->timed_out)
        {
          if (now >= kill_deadline)
            {
              isolazi_error_set(err, ETIMEDOUT, "exec in sandbox `%s`: the process did not die after its timeout",
                                name);
              break;
            }
          timeout = (int)(kill_deadline - now) + 1;
        }
      if (poll(p, 2, timeout) < 0)
        {
          if (errno == EINTR)
            continue;
          isolazi_error_errno(err, "poll");
          break;
        }
      if (p[1].revents)
        {
          n = read(o->in_fd, buf, sizeof buf);
          if (n > 0)
            (void)vm_frame_write(fd, VM_MSG_STDIN, 0, 0, buf, (size_t)n);
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            {
              in_done = true;
              (void)vm_frame_write(fd, VM_MSG_STDIN, 0, 0, NULL, 0);
            }
        }
      if (!p[0].revents)
        continue;
      n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          cleanup_free char *reason = NULL;
          size_t rl;
          usleep(100000); /* the daemon records why before it goes */
          (void)isolazi_read_file_at(dirfd, SB_STOP_REASON, &reason, &rl, NULL);
          isolazi_error_set(err, 0, "exec in sandbox `%s`: %s", name, reason != NULL ? reason : "its VM stopped");
          break;
        }
      if (vm_frame_reader_feed(&r, buf, (size_t)n) < 0)
        {
          isolazi_error_set(err, ENOMEM, "exec in sandbox `%s`", name);
          break;
        }
      while ((k = vm_frame_reader_next(&r, &h, &pl)) > 0)
        {
          uint32_t st;
          if (h.type == VM_MSG_STARTED)
            started = true;
          else if (h.type == VM_MSG_STDOUT || h.type == VM_MSG_STDERR)
            {
              int out = h.type == VM_MSG_STDOUT ? o->out_fd : o->err_fd;
              if (out >= 0)
                (void)isolazi_write_all(out, pl, h.len);
              else if (h.type == VM_MSG_STDOUT)
                capture(&ret->out, &ret->out_len, max, pl, h.len, &ret->truncated);
              else
                capture(&ret->err, &ret->err_len, max, pl, h.len, &ret->truncated);
            }
          else if (h.type == VM_MSG_EXIT && vm_payload_u32(pl, h.len, &st) == 0)
            {
              ret->exit_code = ret->timed_out ? 124 : vm_status_to_exit((int)st);
              rc = 0;
            }
          else if (h.type == VM_MSG_ERROR)
            {
              char *msg = NULL;
              int e = 0, status = 0;
              if (vm_error_decode(pl, h.len, &e, &status, &msg) == 0)
                {
                  ret->exit_code = status;
                  isolazi_error_take(err, e, msg);
                }
              else
                isolazi_error_set(err, 0, "exec in sandbox `%s`: malformed error", name);
              rc = -2;
            }
          free(pl);
        }
      if (rc != -1)
        break;
    }
  (void)started;
  vm_frame_reader_release(&r);
  if (ret->out == NULL && o->out_fd < 0)
    ret->out = xstrdup("");
  if (ret->err == NULL && o->err_fd < 0)
    ret->err = xstrdup("");
  return rc == 0 ? 0 : -1;
}

/* ---- files --------------------------------------------------------------------------------- */

static int
check_guest_path(const char *path, isolazi_error_t *err)
{
  if (path == NULL || path[0] != '/')
    return isolazi_error_set(err, 0, "invalid guest path `%s`: must be absolute", path ? path : "");
  return 0;
}

int
isolazi_sandbox_write(const isolazi_sandbox_ctx_t *c, const char *name, const char *path, const void *data, size_t len,
                      unsigned mode, isolazi_error_t *err)
{
  cleanup_close int dirfd = -1, fd = -1;
  cleanup_free char *what = NULL;
  size_t off = 0;

  if (check_guest_path(path, err) < 0)
    return -1;
  if (len > ISOLAZI_SANDBOX_FILE_MAX)
    return isolazi_error_set(err, 0, "write `%s` in sandbox `%s`: %zu bytes exceed the limit of %d", path, name, len,
                             ISOLAZI_SANDBOX_FILE_MAX);
  dirfd = dir_open(c, name, err);
  if (dirfd < 0)
    return -1;
  fd = sb_connect(dirfd, name, err);
  if (fd < 0)
    return -1;
  what = xasprintf("write `%s` in sandbox `%s`", path, name);
  do
    {
      size_t n = len - off < SB_CHUNK ? len - off : SB_CHUNK, plen;
      uint32_t flags = SB_WRITE_MKDIRS | (off > 0 ? SB_WRITE_APPEND : 0);
      cleanup_free uint8_t *p = sb_write_encode(path, mode ? mode : 0644, flags, (const uint8_t *)data + off, n, &plen);
      if (p == NULL)
        return isolazi_error_set(err, 0, "%s", what);
      if (vm_frame_write(fd, VM_MSG_SB_WRITE, 0, 0, p, plen) < 0)
        return isolazi_error_errno(err, "%s", what);
      if (wait_done(fd, what, NULL, NULL, err) < 0)
        return -1;
      off += n;
    }
  while (off < len);
  return 0;
}

int
isolazi_sandbox_read(const isolazi_sandbox_ctx_t *c, const char *name, const char *path, char **ret, size_t *ret_len,
                     isolazi_error_t *err)
{
  cleanup_close int dirfd = -1, fd = -1;
  cleanup_free char *what = NULL, *buf = NULL;
  size_t got = 0;

  if (check_guest_path(path, err) < 0)
    return -1;
  dirfd = dir_open(c, name, err);
  if (dirfd < 0)
    return -1;
  fd = sb_connect(dirfd, name, err);
  if (fd < 0)
    return -1;
  what = xasprintf("read `%s` in sandbox `%s`", path, name);
  buf = xmalloc(1);
  for (;;)
    {
      size_t plen, alen = 0;
      cleanup_free uint8_t *p = sb_read_encode(path, got, SB_CHUNK, &plen), *answer = NULL;
      uint64_t size;
      if (p == NULL)
        return isolazi_error_set(err, 0, "%s", what);
      if (vm_frame_write(fd, VM_MSG_SB_READ, 0, 0, p, plen) < 0)
        return isolazi_error_errno(err, "%s", what);
      if (wait_done(fd, what, &answer, &alen, err) < 0)
        return -1;
      if (alen < 8)
        return isolazi_error_set(err, 0, "%s: malformed answer", what);
      size = sb_get_u64(answer);
      if (size > ISOLAZI_SANDBOX_FILE_MAX)
        return isolazi_error_set(err, 0, "%s: its %llu bytes exceed the limit of %d", what, (unsigned long long)size,
                                 ISOLAZI_SANDBOX_FILE_MAX);
      buf = xrealloc(buf, got + (alen - 8) + 1);
      memcpy(buf + got, answer + 8, alen - 8);
      got += alen - 8;
      if (alen == 8 || got >= size)
        break;
    }
  buf[got] = '\0';
  *ret = steal_pointer(&buf);
  *ret_len = got;
  return 0;
}

/* A path beneath files_root: `..`, absolute symlinks and magic links cannot leave it. */
static int
open_beneath(const char *files_root, const char *path, int flags, const char *what, isolazi_error_t *err)
{
  /* openat2 wants no mode unless it creates. */
  struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC | O_NOCTTY,
                          .mode = (flags & O_CREAT) ? 0644 : 0,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
  cleanup_close int rootfd = -1;
  int fd;

  if (files_root == NULL || files_root[0] == '\0')
    return isolazi_error_set(err, 0, "%s `%s`: no files root is configured (--files-root or ISOLAZI_VM_FILES_ROOT)",
                             what, path);
  rootfd = open(files_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return isolazi_error_errno(err, "open the files root `%s`", files_root);
  fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  if (fd < 0 && errno == EXDEV)
    return isolazi_error_set(err, 0, "%s `%s`: the path escapes the files root `%s`", what, path, files_root);
  if (fd < 0)
    return isolazi_error_errno(err, "%s `%s` (in `%s`)", what, path, files_root);
  return fd;
}

int
isolazi_sandbox_upload(const isolazi_sandbox_ctx_t *c, const char *name, const char *files_root, const char *host_path,
                       const char *guest_path, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *data = NULL;
  struct stat st;
  ssize_t n;

  fd = open_beneath(files_root, host_path, O_RDONLY, "upload", err);
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) < 0)
    return isolazi_error_errno(err, "upload `%s`", host_path);
  if (!S_ISREG(st.st_mode))
    return isolazi_error_set(err, 0, "upload `%s`: not a regular file", host_path);
  if (st.st_size > ISOLAZI_SANDBOX_FILE_MAX)
    return isolazi_error_set(err, 0, "upload `%s`: its %lld bytes exceed the limit of %d", host_path,
                             (long long)st.st_size, ISOLAZI_SANDBOX_FILE_MAX);
  data = xmalloc((size_t)st.st_size + 1);
  n = isolazi_read_all(fd, data, (size_t)st.st_size);
  if (n < 0)
    return isolazi_error_errno(err, "upload `%s`", host_path);
  return isolazi_sandbox_write(c, name, guest_path, data, (size_t)n, st.st_mode & 0777, err);
}

int
isolazi_sandbox_download(const isolazi_sandbox_ctx_t *c, const char *name, const char *files_root,
                         const char *guest_path, const char *host_path, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *data = NULL;
  size_t len = 0;

  /* Check the destination first: a refused path costs no transfer. */
  fd = open_beneath(files_root, host_path, O_WRONLY | O_CREAT, "download to", err);
  if (fd < 0)
    return -1;
  if (isolazi_sandbox_read(c, name, guest_path, &data, &len, err) < 0)
    return -1;
  if (ftruncate(fd, 0) < 0 || isolazi_write_all(fd, data, len) < 0)
    return isolazi_error_errno(err, "download to `%s`", host_path);
  return 0;
}
