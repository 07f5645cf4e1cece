/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's conversation with the host: CREATE, START and EXEC start processes; their
 * stdio, signals, window size and exit travel as frames (protocol.h); PS and STATS report on
 * the guest.  Nothing here needs to be pid 1 of a VM (o->guest turns on what does), so tests
 * run it on the host.
 *
 * No write here blocks: frames to the host wait in a queue and a process's stdin in its own,
 * each written when poll says the fd takes more.  Reading stops only where a queue in the same
 * direction is full (process output while the host's queue is, the host while a stdin queue
 * is), so heavy traffic both ways (a `cat` of megabytes) cannot wedge the host and the agent
 * each waiting for the other to read. */
#define _GNU_SOURCE
#include "config.h"
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <grp.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64

typedef struct proc
{
  bool used;
  uint32_t id;
  pid_t pid;
  int in_fd, out_fd, err_fd; /* -1 when closed; with a terminal, out_fd is the master */
  bool terminal;
  bool exited;
  int status;
  /* stdin bytes not written yet; in_eof: close (or ^D) once they are */
  uint8_t *in_buf;
  size_t in_off, in_len;
  bool in_eof;
} proc_t;

typedef struct agent
{
  int fd;
  const agent_options_t *o;
  vm_spec_t init_spec; /* from CREATE, run at START */
  bool created, started;
  proc_t procs[MAX_PROCS];
  vm_outq_t q;           /* frames for the host */
  agent_shares_t shares; /* guest only: the shares' FUSE devices (their relay owns them) */
} agent_t;

/* Queue a frame for the host and write what the channel takes now. */
static int
send_frame(agent_t *a, unsigned type, uint32_t proc, const void *p, size_t len)
{
  int r = vm_outq_frame(&a->q, type, 0, proc, p, len);

  if (r < 0)
    return r;
  return vm_outq_flush(&a->q, a->fd);
}

/* The frame types this file handles. */
static bool
own_type(unsigned type)
{
  return (type >= VM_MSG_HELLO && type <= VM_MSG_EXIT) || type == VM_MSG_PS || type == VM_MSG_STATS;
}

/* Everything queued, written out (waiting for the channel), before a frame that is not ours
 * is handled: its handler may write to the host directly. */
static int
flush_all(agent_t *a)
{
  while (vm_outq_pending(&a->q) > 0)
    {
      struct pollfd pf = { .fd = a->fd, .events = POLLOUT };
      int r = vm_outq_flush(&a->q, a->fd);
      if (r < 0)
        return r;
      if (vm_outq_pending(&a->q) > 0 && poll(&pf, 1, -1) < 0 && errno != EINTR)
        return -errno;
    }
  return 0;
}

static int
send_error(agent_t *a, uint32_t proc, int errnum, int status, const char *msg)
{
  size_t len;
  uint8_t *p = vm_error_encode(errnum, status, msg, &len);
  int r;

  if (p == NULL)
    return -ENOMEM;
  r = send_frame(a, VM_MSG_ERROR, proc, p, len);
  free(p);
  return r;
}

static int
send_u32(agent_t *a, unsigned type, uint32_t proc, uint32_t v)
{
  uint8_t b[4];

  vm_put_u32(b, v);
  return send_frame(a, type, proc, b, sizeof b);
}

static const char *
spec_getenv(const vm_spec_t *s, const char *name)
{
  size_t i, n = strlen(name);

  for (i = 0; i < s->env_len; i++)
    if (strncmp(s->env[i], name, n) == 0 && s->env[i][n] == '=')
      return s->env[i] + n + 1;
  return NULL;
}

static int
check_exec(const char *path)
{
  struct stat st;

  if (stat(path, &st) < 0)
    return -errno;
  if (!S_ISREG(st.st_mode))
    return -EACCES;
  if (access(path, X_OK) < 0)
    return -errno;
  return 0;
}

int
agent_find_executable(const vm_spec_t *s, char *path, size_t len)
{
  const char *name, *p, *env_path;
  int first_err = -ENOENT;

  if (s->args_len == 0 || s->args[0][0] == '\0')
    return -EINVAL;
  name = s->args[0];
  if (strchr(name, '/') != NULL)
    {
      if ((size_t)snprintf(path, len, "%s", name) >= len)
        return -ENAMETOOLONG;
      return check_exec(path);
    }
  env_path = spec_getenv(s, "PATH");
  if (env_path == NULL)
    env_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (p = env_path;; p++)
    {
      const char *end = strchrnul(p, ':');
      int r;
      if (end > p && (size_t)snprintf(path, len, "%.*s/%s", (int)(end - p), p, name) < len)
        {
          r = check_exec(path);
          if (r == 0)
            return 0;
          /* As execvp: a file that is there but cannot run beats "not found". */
          if (r == -EACCES)
            first_err = r;
        }
      if (*end == '\0')
        break;
      p = end;
    }
  return first_err;
}

static int
exec_status(int errnum)
{
  return errnum == ENOENT || errnum == ENOTDIR ? 127 : 126;
}

/* In the child, after fork: become the process the spec describes, or write "errno message"
 * on errfd and exit. */
static void __attribute__((noreturn)) child_fail(int errfd, int errnum, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  int n;
  ssize_t unused;

  n = snprintf(buf, sizeof buf, "%d ", errnum);
  va_start(ap, fmt);
  vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  unused = write(errfd, buf, strlen(buf));
  (void)unused;
  _exit(exec_status(errnum));
}

const char *
agent_strerror(int e)
{
  static char buf[128];

  /* Lower-case, as the host's messages are ("no such file or directory"). */
  snprintf(buf, sizeof buf, "%s", strerror(e));
  if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
    buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

static void __attribute__((noreturn))
child_run(const agent_t *a, const vm_spec_t *s, int slave, int in, int out, int err, int errfd)
{
  char path[PATH_MAX];
  sigset_t all;
  size_t i;
  int r;

  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (i = 1; i < NSIG; i++)
    if (i != SIGKILL && i != SIGSTOP)
      signal((int)i, SIG_DFL);
  if (setsid() < 0)
    child_fail(errfd, errno, "setsid: %s", agent_strerror(errno));
  if (slave >= 0)
    {
      if (ioctl(slave, TIOCSCTTY, 0) < 0)
        child_fail(errfd, errno, "set the controlling terminal: %s", agent_strerror(errno));
      in = out = err = slave;
    }
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
    child_fail(errfd, errno, "set up stdio: %s", agent_strerror(errno));
  if (a->o->root != NULL && strcmp(a->o->root, "/") != 0)
    {
      if (chroot(a->o->root) < 0)
        child_fail(errfd, errno, "chroot `%s`: %s", a->o->root, agent_strerror(errno));
      if (chdir("/") < 0)
        child_fail(errfd, errno, "chdir `/`: %s", agent_strerror(errno));
    }
  if (s->cwd != NULL && chdir(s->cwd) < 0)
    child_fail(errfd, errno, "chdir `%s`: %s", s->cwd, agent_strerror(errno));
  for (i = 0; i < s->rlimits_len; i++)
    {
      struct rlimit rl = { (rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard };
      if (setrlimit((int)s->rlimits[i].resource, &rl) < 0)
        child_fail(errfd, errno, "set rlimit %u: %s", s->rlimits[i].resource, agent_strerror(errno));
    }
  if (s->umask_present)
    umask((mode_t)s->umask);
  /* Only root changes ids; on the host (tests) the ids must be our own. */
  if (getuid() == 0)
    {
      gid_t gids[256];
      size_t n = s->gids_len < 256 ? s->gids_len : 256;
      for (i = 0; i < n; i++)
        gids[i] = s->gids[i];
      if (setgroups(n, gids) < 0)
        child_fail(errfd, errno, "setgroups: %s", agent_strerror(errno));
      if (setresgid(s->gid, s->gid, s->gid) < 0)
        child_fail(errfd, errno, "setgid %u: %s", s->gid, agent_strerror(errno));
      if (setresuid(s->uid, s->uid, s->uid) < 0)
        child_fail(errfd, errno, "setuid %u: %s", s->uid, agent_strerror(errno));
    }
  else if (s->uid != getuid() || s->gid != getgid())
    child_fail(errfd, EPERM, "set user %u:%u: %s", s->uid, s->gid, agent_strerror(EPERM));
  if (s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(errfd, errno, "set no_new_privs: %s", agent_strerror(errno));
  r = agent_find_executable(s, path, sizeof path);
  if (r < 0)
    child_fail(errfd, -r, "exec `%s`: %s", s->args_len ? s->args[0] : "", agent_strerror(-r));
  execve(path, s->args, s->env != NULL ? s->env : (char *[]){ NULL });
  child_fail(errfd, errno, "exec `%s`: %s", s->args[0], agent_strerror(errno));
}

static proc_t *
proc_find(agent_t *a, uint32_t id)
{
  size_t i;

  for (i = 0; i < MAX_PROCS; i++)
    if (a->procs[i].used && a->procs[i].id == id)
      return &a->procs[i];
  return NULL;
}

static void
closep(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static void
set_nonblock(int fd)
{
  int fl;

  if (fd >= 0 && (fl = fcntl(fd, F_GETFL)) >= 0)
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Start the process `id` from spec s.  On failure fills msg and returns -errno with the exit
 * status in *ret_status. */
static int
proc_spawn(agent_t *a, uint32_t id, const vm_spec_t *s, char *msg, size_t msglen, int *ret_status)
{
  int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, ep[2] = { -1, -1 };
  int master = -1, slave = -1, e;
  proc_t *p = NULL;
  char buf[600];
  ssize_t n;
  size_t i;
  pid_t pid;

  *ret_status = 255;
  for (i = 0; i < MAX_PROCS; i++)
    if (!a->procs[i].used)
      {
        p = &a->procs[i];
        break;
      }
  if (p == NULL)
    {
      snprintf(msg, msglen, "start process: too many processes");
      return -EAGAIN;
    }
  if (proc_find(a, id) != NULL)
    {
      snprintf(msg, msglen, "start process %u: it already exists", id);
      return -EEXIST;
    }
  if (s->terminal)
    {
      master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        goto fail_errno_pty;
      slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (slave < 0)
        goto fail_errno_pty;
      if (s->rows != 0 || s->cols != 0)
        {
          struct winsize ws = { .ws_row = s->rows, .ws_col = s->cols };
          (void)ioctl(master, TIOCSWINSZ, &ws);
        }
    }
  else if (pipe2(inp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
    {
      e = errno;
      snprintf(msg, msglen, "create pipes: %s", agent_strerror(e));
      goto fail;
    }
  if (pipe2(ep, O_CLOEXEC) < 0)
    {
      e = errno;
      snprintf(msg, msglen, "create pipe: %s", agent_strerror(e));
      goto fail;
    }
  pid = fork();
  if (pid < 0)
    {
      e = errno;
      snprintf(msg, msglen, "fork: %s", agent_strerror(e));
      goto fail;
    }
  if (pid == 0)
    {
      close(ep[0]);
      child_run(a, s, slave, inp[0], outp[1], errp[1], ep[1]);
    }
  closep(&ep[1]);
  closep(&slave);
  closep(&inp[0]);
  closep(&outp[1]);
  closep(&errp[1]);
  do
    n = read(ep[0], buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  closep(&ep[0]);
  if (n > 0)
    {
      int status;
      char *sp;
      buf[n] = '\0';
      e = (int)strtol(buf, &sp, 10);
      snprintf(msg, msglen, "%s", *sp == ' ' ? sp + 1 : sp);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
      *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
      closep(&master);
      closep(&inp[1]);
      closep(&outp[0]);
      closep(&errp[0]);
      return -(e > 0 ? e : EIO);
    }
  memset(p, 0, sizeof *p);
  p->used = true;
  p->id = id;
  p->pid = pid;
  p->terminal = s->terminal;
  if (s->terminal)
    {
      p->out_fd = master;
      p->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
      p->err_fd = -1;
    }
  else
    {
      p->in_fd = inp[1];
      p->out_fd = outp[0];
      p->err_fd = errp[0];
    }
  /* Ours only (the process has the other ends): never block on them. */
  set_nonblock(p->in_fd);
  set_nonblock(p->out_fd);
  set_nonblock(p->err_fd);
  return 0;

fail_errno_pty:
  e = errno;
  snprintf(msg, msglen, "open a pty: %s", agent_strerror(e));
fail:
  closep(&master);
  closep(&slave);
  for (i = 0; i < 2; i++)
    {
      closep(&inp[i]);
      closep(&outp[i]);
      closep(&errp[i]);
      closep(&ep[i]);
    }
  return -e;
}

static void
proc_release(proc_t *p)
{
  closep(&p->in_fd);
  closep(&p->out_fd);
  closep(&p->err_fd);
  free(p->in_buf);
  p->in_buf = NULL;
  p->in_off = p->in_len = 0;
  p->used = false;
}

/* Write what the process's stdin takes now; at the end of pending input after EOF, close it
 * (a terminal gets ^D, as from a typist). */
static void
stdin_flush(proc_t *p)
{
  while (p->in_fd >= 0 && p->in_off < p->in_len)
    {
      ssize_t n = write(p->in_fd, p->in_buf + p->in_off, p->in_len - p->in_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        {
          closep(&p->in_fd); /* the process closed its stdin: drop the rest */
          break;
        }
      p->in_off += (size_t)n;
    }
  p->in_off = p->in_len = 0;
  if (p->in_eof && p->in_fd >= 0)
    {
      if (p->terminal)
        (void)!write(p->in_fd, "\004", 1);
      else
        closep(&p->in_fd);
      p->in_eof = false;
    }
}

static int
stdin_queue(proc_t *p, const uint8_t *data, size_t len)
{
  if (p->in_off > 0)
    {
      memmove(p->in_buf, p->in_buf + p->in_off, p->in_len - p->in_off);
      p->in_len -= p->in_off;
      p->in_off = 0;
    }
  {
    uint8_t *b = realloc(p->in_buf, p->in_len + len);
    if (b == NULL)
      return -ENOMEM;
    p->in_buf = b;
  }
  memcpy(p->in_buf + p->in_len, data, len);
  p->in_len += len;
  stdin_flush(p);
  return 0;
}

static int
handle_create(agent_t *a, const uint8_t *payload, size_t len)
{
  char msg[512] = "", path[PATH_MAX];
  pid_t pid;
  int r, status;

  if (a->created)
    return send_error(a, 0, EEXIST, 255, "create: the container exists already");
  r = vm_spec_decode(payload, len, &a->init_spec);
  if (r < 0)
    return send_error(a, 0, -r, 255, "decode the container's spec: malformed");
  if (a->o->guest)
    {
      /* The shares' relay runs before the first mount: mounting a share and everything under
       * it goes through it. */
      r = a->o->shares_start != NULL ? a->o->shares_start(&a->init_spec, &a->shares, msg, sizeof msg) : 0;
      if (r == 0)
        r = agent_setup_root(&a->init_spec, a->o->root, &a->shares, msg, sizeof msg);
      if (r < 0)
        return send_error(a, 0, -r, 255, msg);
    }
  /* runc's create fails when the executable is missing: look it up inside the root now. */
  pid = fork();
  if (pid < 0)
    return send_error(a, 0, errno, 255, "fork: cannot look the executable up");
  if (pid == 0)
    {
      if (a->o->root != NULL && strcmp(a->o->root, "/") != 0 && (chroot(a->o->root) < 0 || chdir("/") < 0))
        _exit(100);
      if (a->init_spec.cwd != NULL && chdir(a->init_spec.cwd) < 0)
        _exit(101);
      r = agent_find_executable(&a->init_spec, path, sizeof path);
      _exit(r == 0 ? 0 : r == -ENOENT ? 1 : r == -EACCES ? 2 : 3);
    }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  status = WIFEXITED(status) ? WEXITSTATUS(status) : 3;
  if (status == 101)
    {
      snprintf(msg, sizeof msg, "chdir `%s`: no such file or directory", a->init_spec.cwd);
      return send_error(a, 0, ENOENT, 255, msg);
    }
  if (status != 0)
    {
      int e = status == 1 ? ENOENT : status == 2 ? EACCES : EINVAL;
      snprintf(msg, sizeof msg, "exec `%s`: %s", a->init_spec.args_len ? a->init_spec.args[0] : "", agent_strerror(e));
      return send_error(a, 0, e, exec_status(e), msg);
    }
  a->created = true;
  return send_frame(a, VM_MSG_CREATED, 0, NULL, 0);
}

static int
start_proc(agent_t *a, uint32_t id, const vm_spec_t *s)
{
  char msg[512] = "";
  int r, status;
  proc_t *p;

  r = proc_spawn(a, id, s, msg, sizeof msg, &status);
  if (r < 0)
    {
      r = send_error(a, id, -r, status, msg);
      if (r == 0 && id == 0)
        return 1; /* the container's process failed to start: it is over */
      return r;
    }
  p = proc_find(a, id);
  return send_u32(a, VM_MSG_STARTED, id, (uint32_t)p->pid);
}

/* A small text file (under /proc) into buf, NUL-terminated; the length or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t size)
{
  ssize_t n, got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return -1;
  while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - (size_t)got)) > 0)
    got += n;
  close(fd);
  buf[got] = '\0';
  return got;
}

typedef struct proc_info
{
  long pid, ppid;
  char state;
  char comm[64];
} proc_info_t;

static bool
proc_stat(long pid, proc_info_t *ret)
{
  char path[64], buf[1024], *open_paren, *close_paren;

  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if (read_small(path, buf, sizeof buf) <= 0)
    return false;
  /* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so the last ')' ends it */
  open_paren = strchr(buf, '(');
  close_paren = strrchr(buf, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren || close_paren[1] == '\0')
    return false;
  ret->pid = pid;
  snprintf(ret->comm, sizeof ret->comm, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
  if (sscanf(close_paren + 2, "%c %ld", &ret->state, &ret->ppid) != 2)
    return false;
  return true;
}

/* The processes PS and STATS count: in a guest every one but the agent and kernel threads
 * (children of kthreadd, pid 2); on the host (tests) the ones this agent started. */
static bool
counted(const agent_t *a, const proc_info_t *pi)
{
  size_t i;

  if (a->o->guest)
    return pi->pid != 1 && pi->pid != 2 && pi->ppid != 2;
  for (i = 0; i < MAX_PROCS; i++)
    if (a->procs[i].used && !a->procs[i].exited && a->procs[i].pid == pi->pid)
      return true;
  return false;
}

/* Walk /proc; call fn for every counted process. */
static void
each_process(const agent_t *a, void (*fn)(const proc_info_t *, void *), void *data)
{
  DIR *d = opendir("/proc");
  struct dirent *de;

  if (d == NULL)
    return;
  while ((de = readdir(d)) != NULL)
    {
      proc_info_t pi;
      char *end;
      long pid = strtol(de->d_name, &end, 10);
      if (*end != '\0' || pid <= 0 || !proc_stat(pid, &pi) || !counted(a, &pi))
        continue;
      fn(&pi, data);
    }
  closedir(d);
}

typedef struct text
{
  char *buf;
  size_t len, cap;
  bool failed;
} text_t;

static void __attribute__((format(printf, 2, 3))) text_add(text_t *t, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (t->failed)
    return;
  for (;;)
    {
      va_start(ap, fmt);
      n = vsnprintf(t->buf != NULL ? t->buf + t->len : NULL, t->buf != NULL ? t->cap - t->len : 0, fmt, ap);
      va_end(ap);
      if (n < 0)
        {
          t->failed = true;
          return;
        }
      if (t->buf != NULL && t->len + (size_t)n < t->cap)
        {
          t->len += (size_t)n;
          return;
        }
      {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        char *b;
        while (cap <= t->len + (size_t)n)
          cap *= 2;
        b = realloc(t->buf, cap);
        if (b == NULL)
          {
            t->failed = true;
            return;
          }
        t->buf = b;
        t->cap = cap;
      }
    }
}

static void
ps_line(const proc_info_t *pi, void *data)
{
  text_t *t = data;
  char path[64], status[4096], args[4096], *uid;
  long u = -1;
  ssize_t n, i;

  snprintf(path, sizeof path, "/proc/%ld/status", pi->pid);
  if (read_small(path, status, sizeof status) > 0 && (uid = strstr(status, "\nUid:")) != NULL)
    u = strtol(uid + 5, NULL, 10);
  snprintf(path, sizeof path, "/proc/%ld/cmdline", pi->pid);
  n = read_small(path, args, sizeof args);
  for (i = 0; i < n; i++)
    if (args[i] == '\0' || args[i] == '\n' || args[i] == '\t')
      args[i] = ' ';
  while (n > 0 && args[n - 1] == ' ')
    args[--n] = '\0';
  text_add(t, "%ld %ld %ld %c %s\t%s\n", pi->pid, pi->ppid, u, pi->state, pi->comm, n > 0 ? args : pi->comm);
}

/* PS: one line per process of the guest, as protocol.h describes. */
static int
send_ps(agent_t *a, uint32_t proc)
{
  text_t t = { NULL, 0, 0, false };
  int r;

  each_process(a, ps_line, &t);
  if (t.failed)
    {
      free(t.buf);
      return send_error(a, proc, ENOMEM, 255, "list the guest's processes: out of memory");
    }
  r = send_frame(a, VM_MSG_PS, proc, t.buf, t.len);
  free(t.buf);
  return r;
}

static void
count_one(const proc_info_t *pi, void *data)
{
  (void)pi;
  ++*(unsigned long *)data;
}

/* The value of `key` in /proc/meminfo text, in bytes; 0 when absent. */
static unsigned long long
meminfo_bytes(const char *text, const char *key)
{
  const char *p = strstr(text, key);

  return p != NULL ? strtoull(p + strlen(key), NULL, 10) * 1024ULL : 0;
}

/* STATS: the guest's memory, cpu time and process count, "key value" lines. */
static int
send_stats(agent_t *a, uint32_t proc)
{
  char mem[4096], cpu[512];
  unsigned long long total = 0, avail = 0, user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, soft = 0;
  unsigned long pids = 0;
  /* /proc/stat counts in USER_HZ ticks, 100 a second on Linux (the ABI fixes it). */
  const unsigned long long tick_ns = 10000000ULL;
  text_t t = { NULL, 0, 0, false };
  int r;

  if (read_small("/proc/meminfo", mem, sizeof mem) > 0)
    {
      total = meminfo_bytes(mem, "MemTotal:");
      avail = meminfo_bytes(mem, "MemAvailable:");
    }
  if (read_small("/proc/stat", cpu, sizeof cpu) > 0)
    (void)sscanf(cpu, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq, &soft);
  each_process(a, count_one, &pids);
  text_add(&t, "memory.limit %llu\nmemory.usage %llu\n", total, total > avail ? total - avail : 0);
  text_add(&t, "cpu.total %llu\ncpu.user %llu\ncpu.system %llu\n", (user + nice + sys + irq + soft) * tick_ns,
           (user + nice) * tick_ns, (sys + irq + soft) * tick_ns);
  text_add(&t, "pids.current %lu\n", pids);
  if (t.failed)
    {
      free(t.buf);
      return send_error(a, proc, ENOMEM, 255, "read the guest's statistics: out of memory");
    }
  r = send_frame(a, VM_MSG_STATS, proc, t.buf, t.len);
  free(t.buf);
  return r;
}

static int
handle_frame(agent_t *a, const vm_frame_header_t *h, const uint8_t *payload, int *ret_exit)
{
  proc_t *p = proc_find(a, h->proc);
  vm_spec_t s;
  uint32_t v;
  int r;

  switch (h->type)
    {
    case VM_MSG_CREATE:
      return handle_create(a, payload, h->len);
    case VM_MSG_START:
      if (!a->created || a->started)
        return send_error(a, 0, EINVAL, 255, a->started ? "start: already started" : "start: not created");
      a->started = true;
      r = start_proc(a, 0, &a->init_spec);
      if (r == 1)
        *ret_exit = 127 << 8;
      return r < 0 ? r : 0;
    case VM_MSG_EXEC:
      if (h->proc == 0)
        return send_error(a, h->proc, EINVAL, 255, "exec: process 0 is the container's");
      r = vm_spec_decode(payload, h->len, &s);
      if (r < 0)
        return send_error(a, h->proc, -r, 255, "decode the process spec: malformed");
      r = start_proc(a, h->proc, &s);
      vm_spec_release(&s);
      return r;
    case VM_MSG_STDIN:
      if (p == NULL || p->in_fd < 0)
        return 0;
      if (h->len == 0)
        {
          /* EOF: after what is still queued */
          p->in_eof = true;
          stdin_flush(p);
          return 0;
        }
      return stdin_queue(p, payload, h->len) == -ENOMEM ? -ENOMEM : 0;
    case VM_MSG_SIGNAL:
      if (vm_payload_u32(payload, h->len, &v) < 0)
        return 0;
      if ((h->flags & VM_FLAG_ALL) && a->o->guest)
        (void)kill(-1, (int)v); /* every process but pid 1 */
      else if (p != NULL && !p->exited)
        (void)kill(p->pid, (int)v);
      else if (h->proc == 0 && !a->started && ((int)v == SIGKILL || (int)v == SIGTERM || (int)v == SIGINT))
        /* a signal before start ends the container, as it would end runc's waiting init */
        *ret_exit = (int)v;
      return 0;
    case VM_MSG_WINSIZE:
      if (h->len != 4)
        return 0;
      {
        struct winsize ws = { .ws_row = (unsigned short)(payload[0] | payload[1] << 8),
                              .ws_col = (unsigned short)(payload[2] | payload[3] << 8) };
        if (p != NULL && p->terminal && p->out_fd >= 0)
          (void)ioctl(p->out_fd, TIOCSWINSZ, &ws);
        else if (p == NULL && h->proc == 0 && a->created && !a->started)
          {
            /* The size known when `start` comes: the process is born with it. */
            a->init_spec.rows = ws.ws_row;
            a->init_spec.cols = ws.ws_col;
          }
      }
      return 0;
    case VM_MSG_PS:
      return send_ps(a, h->proc);
    case VM_MSG_STATS:
      return send_stats(a, h->proc);
    default:
      return agent_sandbox_frame(a->fd, a->o, h, payload); /* VM_MSG_SB_*, or nothing for the agent */
    }
}

/* Read what an output fd has; send it.  Closes the fd at EOF (EIO for a pty master).  With
 * `all`, read until it has nothing more (EAGAIN) and end the stream there. */
static int
pump(agent_t *a, proc_t *p, int *fd, unsigned type, bool all)
{
  char buf[65536];
  ssize_t n;
  int r;

  do
    {
      n = read(*fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN && !all)
        return 0;
      if (n <= 0)
        {
          closep(fd);
          if (type == VM_MSG_STDOUT && p->terminal)
            closep(&p->in_fd);
          return send_frame(a, type, p->id, NULL, 0);
        }
      r = send_frame(a, type, p->id, buf, (size_t)n);
      if (r < 0)
        return r;
    }
  while (all);
  return 0;
}

static void
reap(agent_t *a)
{
  int status;
  pid_t pid;
  size_t i;

  /* As pid 1 the agent also reaps orphans: any child, not only ours. */
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    for (i = 0; i < MAX_PROCS; i++)
      if (a->procs[i].used && !a->procs[i].exited && a->procs[i].pid == pid)
        {
          a->procs[i].exited = true;
          a->procs[i].status = status;
          if (a->procs[i].id == 0 && a->o->guest)
            /* The container's process is its pid 1: when it ends, everything ends. */
            (void)kill(-1, SIGKILL);
        }
}

int
agent_serve(int fd, const agent_options_t *o)
{
  vm_frame_reader_t reader = { NULL, 0, 0 };
  agent_t a;
  sigset_t mask;
  int sfd, result = -1, pending_exit = -1;
  uint8_t hello[4];

  memset(&a, 0, sizeof a);
  a.fd = fd;
  a.o = o;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    return -1;
  vm_put_u32(hello, VM_PROTO_VERSION);
  if (vm_frame_write(fd, VM_MSG_HELLO, 0, 0, hello, sizeof hello) < 0)
    goto out;
  {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
      (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  }

  for (;;)
    {
      struct pollfd pfd[2 + 3 * MAX_PROCS];
      struct
      {
        proc_t *p;
        int *fd;
        unsigned type;
      } map[3 * MAX_PROCS];
      size_t n = 0, m = 0, i;
      bool read_host;

      if (pending_exit >= 0)
        {
          /* A signal ended the container before it started: report it as its exit. */
          uint8_t b[4];
          vm_put_u32(b, (uint32_t)pending_exit);
          (void)send_frame(&a, VM_MSG_EXIT, 0, b, 4);
          (void)flush_all(&a);
          result = pending_exit;
          goto out;
        }
      /* A process that exited wrote all it will write: what is in its pipe (or its pty: a read
       * there first pushes the pty's pending input through) is read to the end and sent, then
       * its EXIT.  That is the whole of its output, whatever the timing; output of background
       * children that outlive it and keep its stdout is not waited for. */
      for (i = 0; i < MAX_PROCS; i++)
        {
          proc_t *p = &a.procs[i];
          uint8_t b[4];
          uint32_t id;
          int st;
          if (!p->used || !p->exited)
            continue;
          id = p->id;
          st = p->status;
          if (p->out_fd >= 0 && pump(&a, p, &p->out_fd, VM_MSG_STDOUT, true) < 0)
            goto out;
          if (p->err_fd >= 0 && pump(&a, p, &p->err_fd, VM_MSG_STDERR, true) < 0)
            goto out;
          proc_release(p);
          vm_put_u32(b, (uint32_t)st);
          if (send_frame(&a, VM_MSG_EXIT, id, b, 4) < 0)
            goto out;
          if (id == 0)
            {
              result = st;
              (void)flush_all(&a);
              goto out;
            }
        }

      {
        /* Backpressure: output is read only while the host keeps up, the host only while every
         * process keeps up with its stdin. */
        bool host_full = vm_outq_pending(&a.q) >= VM_OUTQ_HIGH;
        short ev;
        read_host = true;
        for (i = 0; i < MAX_PROCS; i++)
          if (a.procs[i].used && a.procs[i].in_len - a.procs[i].in_off >= VM_OUTQ_HIGH)
            read_host = false;
        ev = (short)((read_host ? POLLIN : 0) | (vm_outq_pending(&a.q) > 0 ? POLLOUT : 0));
        pfd[n++] = (struct pollfd){ .fd = ev != 0 ? fd : -1, .events = ev };
        pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        for (i = 0; i < MAX_PROCS; i++)
          {
            proc_t *p = &a.procs[i];
            if (!p->used)
              continue;
            if (p->out_fd >= 0)
              {
                map[m++] = (typeof(map[0])){ p, &p->out_fd, VM_MSG_STDOUT };
                pfd[n++] = (struct pollfd){ .fd = host_full ? -1 : p->out_fd, .events = POLLIN };
              }
            if (p->err_fd >= 0)
              {
                map[m++] = (typeof(map[0])){ p, &p->err_fd, VM_MSG_STDERR };
                pfd[n++] = (struct pollfd){ .fd = host_full ? -1 : p->err_fd, .events = POLLIN };
              }
            if (p->in_fd >= 0 && p->in_len > p->in_off)
              {
                map[m++] = (typeof(map[0])){ p, &p->in_fd, VM_MSG_STDIN };
                pfd[n++] = (struct pollfd){ .fd = p->in_fd, .events = POLLOUT };
              }
          }
      }
      if (poll(pfd, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          goto out;
        }
      if ((pfd[0].revents & (POLLOUT | POLLHUP | POLLERR)) && vm_outq_pending(&a.q) > 0 && vm_outq_flush(&a.q, fd) < 0)
        goto out;
      if (pfd[1].revents)
        {
          struct signalfd_siginfo si;
          while (read(sfd, &si, sizeof si) == sizeof si)
            ;
          reap(&a);
        }
      for (i = 0; i < m; i++)
        {
          if (!pfd[2 + i].revents || *map[i].fd < 0)
            continue;
          if (map[i].type == VM_MSG_STDIN)
            stdin_flush(map[i].p);
          else if (pump(&a, map[i].p, map[i].fd, map[i].type, false) < 0)
            goto out;
        }
      if (read_host && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          uint8_t buf[65536], *payload;
          vm_frame_header_t h;
          ssize_t r = read(fd, buf, sizeof buf);
          int k;
          if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (r <= 0)
            goto out; /* the host went away */
          if (vm_frame_reader_feed(&reader, buf, (size_t)r) < 0)
            goto out;
          while ((k = vm_frame_reader_next(&reader, &h, &payload)) > 0)
            {
              int ex = -1, e = 0;
              if (!own_type(h.type)) /* see flush_all */
                e = flush_all(&a);
              if (e == 0)
                e = handle_frame(&a, &h, payload, &ex);
              free(payload);
              if (e < 0)
                goto out;
              if (ex >= 0)
                pending_exit = ex;
            }
          if (k < 0)
            goto out;
        }
    }
out:
  vm_frame_reader_release(&reader);
  vm_outq_release(&a.q);
  vm_spec_release(&a.init_spec);
  for (size_t i = 0; i < MAX_PROCS; i++)
    if (a.procs[i].used)
      {
        if (!a.procs[i].exited)
          (void)kill(a.procs[i].pid, SIGKILL);
        proc_release(&a.procs[i]);
      }
  close(sfd);
  return result;
}
