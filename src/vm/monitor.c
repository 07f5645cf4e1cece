/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor: the host process that is a VM container's pid.  It owns QEMU (which dies with
 * it), boots the guest and has the agent prepare the container, then routes frames:
 *
 *   its fds 0-2 (or a console pty)  ⇄  process 0 in the guest
 *   start.sock (one `start`)        →  START; STARTED/ERROR back
 *   ctl.sock clients (exec, kill)   ⇄  process N (numbered here) / SIGNAL
 *   ctl.sock clients (ps, stats)    ⇄  PS / STATS, answered by the agent
 *   ctl.sock clients (pause, resume) → QMP stop / cont, answered here
 *   its own signals                 →  SIGNAL to process 0 (SIGWINCH: the window size)
 *
 * The shares (share.h) do not pass through it: a child of the monitor (the share server)
 * holds the host end of the share port and the shared directories, nothing else, and ends
 * with the VM.
 *
 * Writes to the guest and to clients never block: they wait in queues (protocol.h) written as
 * the peers take them, and a source is read only while the queue its data goes to is short,
 * so that traffic both ways cannot leave everyone waiting for everyone else to read.
 *
 * and exits with the workload's status (killed by the same signal when it was killed), after
 * QEMU is gone and its sockets and image are removed.  A QEMU that dies, a guest that does not
 * boot in time, and a process that cannot be prepared end it with a clear error. */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "log.h"
#include "share.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 32

typedef struct client
{
  int fd;
  vm_frame_reader_t r;
  vm_outq_t q;
  uint32_t proc; /* the exec'd process it relays (or the PS/STATS request it waits for), 0: none */
  bool proc_running;
  bool is_start;
  bool closing; /* close once q is written out */
} client_t;

typedef struct monitor
{
  const vm_monitor_config_t *c;
  int guest, sfd, start_lfd, ctl_lfd;
  vm_qmp_t qmp;
  pid_t qemu;
  int qemu_status;    /* -1 while it runs */
  pid_t share_server; /* 0: none (or reaped) */
  vm_stdio_t io;
  client_t clients[MAX_CLIENTS];
  vm_frame_reader_t gr;
  vm_outq_t gq; /* frames for the guest */
  uint32_t next_proc;
  bool started;
  int exit_status; /* wait status of process 0, -1 while unknown */
} monitor_t;

static long
now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The last lines of a file in the state directory, for error messages. */
static char *
tail_of(const monitor_t *m, const char *name)
{
  cleanup_free char *text = NULL;
  size_t len = 0, i, lines = 0;
  char *p;

  if (isolazi_read_file_at(m->c->dirfd, name, &text, &len, NULL) < 0 || len == 0)
    return NULL;
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  for (i = len; i > 0; i--)
    if (text[i - 1] == '\n' && ++lines == 3)
      break;
  p = xstrdup(text + i);
  for (i = 0; p[i]; i++)
    if (p[i] == '\n' || p[i] == '\r')
      p[i] = ' ';
  return p;
}

static void
kill_qemu(monitor_t *m)
{
  if (m->qemu > 0 && m->qemu_status < 0)
    {
      (void)kill(m->qemu, SIGKILL);
      while (waitpid(m->qemu, &m->qemu_status, 0) < 0 && errno == EINTR)
        ;
    }
}

static void
stop_share_server(monitor_t *m)
{
  if (m->share_server > 0)
    {
      (void)kill(m->share_server, SIGKILL);
      while (waitpid(m->share_server, NULL, 0) < 0 && errno == EINTR)
        ;
      m->share_server = 0;
    }
}

static void
remove_files(monitor_t *m)
{
  (void)unlinkat(m->c->dirfd, VM_START_SOCKET, 0);
  (void)unlinkat(m->c->dirfd, VM_CTL_SOCKET, 0);
  (void)unlinkat(m->c->dirfd, VM_ROOTFS_IMAGE, 0);
  (void)unlinkat(m->c->dirfd, VM_PAUSED_MARK, 0);
}

static void
set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);

  if (fl >= 0)
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* During boot: report the failure to `create` and end. */
static void __attribute__((noreturn)) boot_fail(monitor_t *m, isolazi_error_t *err)
{
  cleanup_free char *msg = xasprintf("1%s", err->msg != NULL ? err->msg : "unknown error");

  kill_qemu(m);
  stop_share_server(m);
  remove_files(m);
  (void)isolazi_write_all(m->c->sync_fd, msg, strlen(msg));
  _exit(1);
}

static int
listen_at(monitor_t *m, const char *name, isolazi_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", m->c->dirfd, name);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "create a socket");
  (void)unlinkat(m->c->dirfd, name, 0);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0)
    return isolazi_error_errno(err, "listen on `%s/%s`", m->c->dir, name);
  return steal_fd(&fd);
}

/* Wait for one frame from the guest before `deadline`, watching QEMU. */
static int
boot_wait_frame(monitor_t *m, long deadline, const char *what, vm_frame_header_t *ret, uint8_t **ret_payload,
                isolazi_error_t *err)
{
  for (;;)
    {
      struct pollfd p[2] = { { .fd = m->guest, .events = POLLIN }, { .fd = m->sfd, .events = POLLIN } };
      long left = deadline - now_ms();
      int k = vm_frame_reader_next(&m->gr, ret, ret_payload);

      if (k > 0)
        return 0;
      if (k < 0)
        return isolazi_error_set(err, EPROTO, "%s: the guest sent a malformed frame", what);
      if (left <= 0)
        {
          cleanup_free char *tail = tail_of(m, VM_CONSOLE_LOG);
          return isolazi_error_set(err, ETIMEDOUT, "%s: the guest did not answer within %u s%s%s", what,
                                   m->c->boot_timeout_ms / 1000, tail ? "; console: " : "", tail ? tail : "");
        }
      if (poll(p, 2, (int)left) < 0 && errno != EINTR)
        return isolazi_error_errno(err, "poll");
      if (p[1].revents)
        {
          struct signalfd_siginfo si;
          while (read(m->sfd, &si, sizeof si) == sizeof si)
            ;
          if (waitpid(m->qemu, &m->qemu_status, WNOHANG) == m->qemu)
            {
              cleanup_free char *tail = tail_of(m, VM_QEMU_LOG), *con = tail_of(m, VM_CONSOLE_LOG);
              return isolazi_error_set(err, 0, "%s: QEMU exited with status %d%s%s%s%s", what,
                                       vm_status_to_exit(m->qemu_status), tail ? ": " : "", tail ? tail : "",
                                       con ? "; console: " : "", con ? con : "");
            }
        }
      if (p[0].revents)
        {
          uint8_t buf[65536];
          ssize_t n = read(m->guest, buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              /* QEMU closed the channel: it is exiting; report it with its status. */
              struct timespec ts = { 0, 50 * 1000 * 1000 };
              int i;
              for (i = 0; i < 40 && waitpid(m->qemu, &m->qemu_status, WNOHANG) != m->qemu; i++)
                nanosleep(&ts, NULL);
              return isolazi_error_set(err, 0, "%s: the VM's channel closed (QEMU %s)", what,
                                       i < 40 ? "exited" : "is still running");
            }
          if (vm_frame_reader_feed(&m->gr, buf, (size_t)n) < 0)
            return isolazi_error_set(err, ENOMEM, "%s", what);
        }
    }
}

/* The share server's body: open every shared directory (reporting on `report`), then serve
 * the share port until QEMU closes it. */
static void __attribute__((noreturn)) share_server_main(monitor_t *m, int port, int report, pid_t parent)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  vm_share_t **shares = xcalloc(m->c->shares_len, sizeof *shares);
  const int keep[] = { port, report };
  sigset_t none;
  size_t i;
  int devnull, r;

  /* No server without its VM: it goes with the monitor (and ends at EOF when QEMU does). */
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(1);
  (void)prctl(PR_SET_NAME, "isolazi-vm-fs");
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* A port QEMU closed mid-reply is the end of the VM, not a reason to die of SIGPIPE. */
  (void)signal(SIGPIPE, SIG_IGN);
  /* The server holds an fd per inode the guest's kernel remembers: a tree walk in the guest
     needs many more than the default soft limit of 1024. */
  {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
      {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
      }
  }
  /* Nothing of the monitor's: not its stdio (the container's), its sockets or its state. */
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0
      || isolazi_close_fds_from(3, keep, 2, NULL) < 0)
    _exit(1);
  for (i = 0; i < m->c->shares_len; i++)
    {
      const vm_share_dir_t *d = &m->c->shares[i];
      shares[i] = vm_share_open(d->path, d->readonly, &err);
      if (shares[i] == NULL)
        {
          cleanup_free char *msg = NULL;
          isolazi_error_wrap(&err, "config.json: mounts[%zu].source: share `%s` with the VM", d->mount_index, d->path);
          msg = xasprintf("1%s", err.msg != NULL ? err.msg : "unknown error");
          (void)isolazi_write_all(report, msg, strlen(msg));
          _exit(1);
        }
    }
  (void)isolazi_write_all(report, "0", 1);
  close(report);
  r = vm_share_serve(port, shares, m->c->shares_len, &err);
  _exit(r < 0 ? 1 : 0);
}

/* Fork the share server; *ret_qemu_end is the end of the share port for QEMU. */
static int
start_share_server(monitor_t *m, int *ret_qemu_end, isolazi_error_t *err)
{
  int port[2], rp[2];
  pid_t parent = getpid();

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, port) < 0)
    return isolazi_error_errno(err, "create the share port's socket");
  if (pipe2(rp, O_CLOEXEC) < 0)
    {
      close(port[0]);
      close(port[1]);
      return isolazi_error_errno(err, "create a pipe");
    }
  m->share_server = fork();
  if (m->share_server < 0)
    {
      m->share_server = 0;
      close(port[0]);
      close(port[1]);
      close(rp[0]);
      close(rp[1]);
      return isolazi_error_errno(err, "fork the share server");
    }
  if (m->share_server == 0)
    share_server_main(m, port[0], rp[1], parent);
  close(port[0]);
  close(rp[1]);
  if (vm_child_ready(rp[0], &m->share_server, "start the share server: it exited", err) < 0)
    {
      m->share_server = 0;
      close(rp[0]);
      close(port[1]);
      return -1;
    }
  close(rp[0]);
  isolazi_debug("vm %s: the share server is pid %d, for %zu director%s", m->c->id, (int)m->share_server,
                m->c->shares_len, m->c->shares_len == 1 ? "y" : "ies");
  *ret_qemu_end = port[1];
  return 0;
}

static void
boot(monitor_t *m)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int serial[2], qmp[2], share = -1;
  cleanup_close int logfd = -1;
  cleanup_free uint8_t *payload = NULL;
  vm_frame_header_t h;
  long deadline;
  char pidbuf[32];

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, serial) < 0
      || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
    {
      isolazi_error_errno(&err, "create sockets for QEMU");
      boot_fail(m, &err);
    }
  logfd = openat(m->c->dirfd, VM_QEMU_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0)
    {
      isolazi_error_errno(&err, "create `%s`", VM_QEMU_LOG);
      boot_fail(m, &err);
    }
  if (m->c->shares_len > 0 && start_share_server(m, &share, &err) < 0)
    boot_fail(m, &err);
  m->qemu = vm_qemu_spawn_shared(m->c->qemu_argv, serial[1], qmp[1], share, logfd, &err);
  close(serial[1]);
  close(qmp[1]);
  if (share >= 0)
    close(share);
  m->guest = serial[0];
  m->qmp.fd = qmp[0];
  if (m->qemu < 0)
    {
      isolazi_error_wrap(&err, "start the VM");
      m->qemu = 0;
      boot_fail(m, &err);
    }
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)m->qemu);
  (void)isolazi_write_file_atomic(m->c->dirfd, VM_QEMU_PID, pidbuf, strlen(pidbuf), 0644, false, NULL);
  isolazi_debug("vm %s: QEMU is pid %d", m->c->id, (int)m->qemu);

  deadline = now_ms() + m->c->boot_timeout_ms;
  if (vm_qmp_handshake(&m->qmp, m->c->boot_timeout_ms, &err) < 0)
    {
      cleanup_free char *tail = tail_of(m, VM_QEMU_LOG);
      if (tail != NULL)
        isolazi_error_wrap(&err, "start the VM: %s", tail);
      boot_fail(m, &err);
    }
  if (boot_wait_frame(m, deadline, "boot the VM", &h, &payload, &err) < 0)
    boot_fail(m, &err);
  if (h.type != VM_MSG_HELLO)
    {
      isolazi_error_set(&err, EPROTO, "boot the VM: expected HELLO from the agent, got %s", vm_msg_type_name(h.type));
      boot_fail(m, &err);
    }
  isolazi_debug("vm %s: the agent is up", m->c->id);
  free(steal_pointer(&payload));
  if (vm_frame_write(m->guest, VM_MSG_CREATE, 0, 0, m->c->create_payload, m->c->create_payload_len) < 0)
    {
      isolazi_error_errno(&err, "send the container's spec to the VM");
      boot_fail(m, &err);
    }
  if (boot_wait_frame(m, deadline + 30000, "create the container in the VM", &h, &payload, &err) < 0)
    boot_fail(m, &err);
  if (h.type == VM_MSG_ERROR)
    {
      char *msg = NULL;
      int e = 0, status = 0;
      if (vm_error_decode(payload, h.len, &e, &status, &msg) < 0)
        isolazi_error_set(&err, EPROTO, "create the container in the VM: malformed error");
      else
        isolazi_error_take(&err, e, msg);
      boot_fail(m, &err);
    }
  if (h.type != VM_MSG_CREATED)
    {
      isolazi_error_set(&err, EPROTO, "create the container in the VM: unexpected %s", vm_msg_type_name(h.type));
      boot_fail(m, &err);
    }
  m->ctl_lfd = listen_at(m, VM_CTL_SOCKET, &err);
  if (m->ctl_lfd < 0)
    boot_fail(m, &err);
  m->start_lfd = listen_at(m, VM_START_SOCKET, &err);
  if (m->start_lfd < 0)
    boot_fail(m, &err);
  if (m->c->console_socket != NULL)
    {
      int slave = vm_console_open(m->c->console_socket, m->c->rows, m->c->cols, true, &err);
      if (slave < 0)
        boot_fail(m, &err);
      m->io = (vm_stdio_t){ .in = slave, .out = slave, .err = slave, .terminal = true };
    }
  else
    m->io = (vm_stdio_t){ .in = 0, .out = 1, .err = 2, .terminal = m->c->terminal };
  /* From here on the channel is written through m->gq only. */
  set_nonblock(m->guest);
}

static int
to_guest(monitor_t *m, unsigned type, unsigned flags, uint32_t proc, const void *p, size_t len)
{
  int r = vm_outq_frame(&m->gq, type, flags, proc, p, len);

  if (r < 0)
    return r;
  r = vm_outq_flush(&m->gq, m->guest);
  /* A channel that fails is QEMU going away: SIGCHLD (or the read side's EOF) reports it. */
  return r;
}

static void client_close(monitor_t *m, client_t *cl);

/* Queue a frame for a client; a client that cannot take it any more is closed. */
static void
to_client(monitor_t *m, client_t *cl, unsigned type, unsigned flags, uint32_t proc, const void *p, size_t len)
{
  if (vm_outq_frame(&cl->q, type, flags, proc, p, len) < 0 || vm_outq_flush(&cl->q, cl->fd) < 0)
    {
      vm_outq_release(&cl->q);
      client_close(m, cl);
    }
}

static void
client_error(monitor_t *m, client_t *cl, int errnum, const char *msg)
{
  size_t len;
  cleanup_free uint8_t *e = vm_error_encode(errnum, 1, msg, &len);

  if (e != NULL)
    to_client(m, cl, VM_MSG_ERROR, 0, cl->proc, e, len);
}

static client_t *
client_for_proc(monitor_t *m, uint32_t proc)
{
  size_t i;

  for (i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0 && m->clients[i].proc == proc)
      return &m->clients[i];
  return NULL;
}

static void
client_close(monitor_t *m, client_t *cl)
{
  if (cl->proc != 0 && cl->proc_running)
    {
      /* The relay went away (killed, or its caller did): its process goes too. */
      uint8_t b[4];
      vm_put_u32(b, SIGKILL);
      (void)to_guest(m, VM_MSG_SIGNAL, 0, cl->proc, b, 4);
      cl->proc_running = false;
    }
  if (vm_outq_pending(&cl->q) > 0)
    {
      /* Its last frames (an EXIT) still go out first; serve() closes it then. */
      cl->closing = true;
      return;
    }
  close(cl->fd);
  vm_frame_reader_release(&cl->r);
  vm_outq_release(&cl->q);
  memset(cl, 0, sizeof *cl);
  cl->fd = -1;
}

static void
accept_client(monitor_t *m, int lfd, bool is_start)
{
  int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  size_t i;

  if (fd < 0)
    return;
  for (i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd < 0)
      {
        memset(&m->clients[i], 0, sizeof m->clients[i]);
        m->clients[i].fd = fd;
        m->clients[i].is_start = is_start;
        return;
      }
  close(fd);
}

static void
send_winsize(monitor_t *m)
{
  struct winsize ws;
  uint8_t b[4];

  if (!m->io.terminal || ioctl(m->io.out, TIOCGWINSZ, &ws) < 0)
    return;
  b[0] = ws.ws_row & 0xff;
  b[1] = (uint8_t)(ws.ws_row >> 8);
  b[2] = ws.ws_col & 0xff;
  b[3] = (uint8_t)(ws.ws_col >> 8);
  (void)to_guest(m, VM_MSG_WINSIZE, 0, 0, b, 4);
}

/* pause (QMP stop) or resume (QMP cont), answered STARTED or ERROR; the marker file is what
 * `state` reads as "paused". */
static void
pause_resume(monitor_t *m, client_t *cl, bool pause)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  if (m->qmp.fd < 0)
    isolazi_error_set(&err, 0, "%s the VM: QEMU's QMP connection is gone", pause ? "pause" : "resume");
  else if (vm_qmp_command(&m->qmp, pause ? "stop" : "cont", 5000, NULL, &err) < 0)
    isolazi_error_wrap(&err, "%s the VM", pause ? "pause" : "resume");
  else if (pause)
    {
      int fd = openat(m->c->dirfd, VM_PAUSED_MARK, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0)
        isolazi_error_errno(&err, "create `%s`", VM_PAUSED_MARK);
      else
        close(fd);
    }
  else
    (void)unlinkat(m->c->dirfd, VM_PAUSED_MARK, 0);
  if (err.msg != NULL)
    {
      client_error(m, cl, err.code, err.msg);
      isolazi_error_release(&err);
      return;
    }
  isolazi_debug("vm %s: %s", m->c->id, pause ? "paused" : "resumed");
  to_client(m, cl, VM_MSG_STARTED, 0, 0, NULL, 0);
}

/* A frame from a client: route it to the guest. */
static void
client_frame(monitor_t *m, client_t *cl, vm_frame_header_t *h, const uint8_t *p)
{
  switch (h->type)
    {
    case VM_MSG_START:
      if (!cl->is_start || m->started)
        {
          client_error(m, cl, EINVAL, "start: the container is not in the created state");
          return;
        }
      /* The terminal's size first, so that the process starts with it. */
      if (m->io.terminal)
        send_winsize(m);
      (void)to_guest(m, VM_MSG_START, 0, 0, NULL, 0);
      return;
    case VM_MSG_EXEC:
      cl->proc = m->next_proc++;
      cl->proc_running = true;
      (void)to_guest(m, VM_MSG_EXEC, 0, cl->proc, p, h->len);
      return;
    case VM_MSG_PS:
    case VM_MSG_STATS:
      /* The answer comes back for this number, to this client. */
      cl->proc = m->next_proc++;
      (void)to_guest(m, h->type, 0, cl->proc, NULL, 0);
      return;
    case VM_MSG_PAUSE:
    case VM_MSG_RESUME:
      pause_resume(m, cl, h->type == VM_MSG_PAUSE);
      return;
    case VM_MSG_SIGNAL:
    case VM_MSG_STDIN:
    case VM_MSG_WINSIZE:
      (void)to_guest(m, h->type, h->flags, cl->proc, p, h->len);
      return;
    default:
      return;
    }
}

/* A frame from the guest. */
static void
guest_frame(monitor_t *m, vm_frame_header_t *h, const uint8_t *p)
{
  client_t *cl;
  size_t i;

  if (h->proc == 0)
    {
      client_t *starter = NULL;
      for (i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].is_start)
          starter = &m->clients[i];
      switch (h->type)
        {
        case VM_MSG_STDOUT:
        case VM_MSG_STDERR:
          (void)vm_stdio_write(&m->io, h->type, p, h->len);
          return;
        case VM_MSG_STARTED:
          /* "running" from now: the start socket's absence says so (state.c). */
          m->started = true;
          (void)unlinkat(m->c->dirfd, VM_START_SOCKET, 0);
          if (m->start_lfd >= 0)
            close(m->start_lfd);
          m->start_lfd = -1;
          if (m->io.terminal)
            send_winsize(m);
          /* fall through */
        case VM_MSG_ERROR:
          if (starter != NULL)
            {
              to_client(m, starter, h->type, 0, 0, p, h->len);
              if (starter->fd >= 0)
                client_close(m, starter);
            }
          return;
        case VM_MSG_EXIT:
          {
            uint32_t st;
            if (vm_payload_u32(p, h->len, &st) == 0)
              m->exit_status = (int)st;
            return;
          }
        default:
          return;
        }
    }
  cl = client_for_proc(m, h->proc);
  if (cl == NULL || cl->closing)
    return;
  to_client(m, cl, h->type, h->flags, h->proc, p, h->len);
  if (cl->fd < 0)
    return;
  if (h->type == VM_MSG_EXIT || h->type == VM_MSG_ERROR)
    {
      cl->proc_running = false;
      if (h->type == VM_MSG_EXIT)
        client_close(m, cl);
    }
}

/* After process 0's EXIT (or QEMU's death): let the guest power off, then make sure. */
/* Write out what clients still have queued (their EXIT), for at most a few seconds: a client
 * that stopped reading must not keep the VM's status from its parent. */
static void
flush_clients(monitor_t *m)
{
  long deadline = now_ms() + 3000;
  size_t i;

  for (;;)
    {
      struct pollfd p[MAX_CLIENTS];
      size_t n = 0;
      long left = deadline - now_ms();
      for (i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && vm_outq_pending(&m->clients[i].q) > 0)
          {
            if (vm_outq_flush(&m->clients[i].q, m->clients[i].fd) < 0)
              vm_outq_release(&m->clients[i].q);
            else if (vm_outq_pending(&m->clients[i].q) > 0)
              p[n++] = (struct pollfd){ .fd = m->clients[i].fd, .events = POLLOUT };
          }
      if (n == 0 || left <= 0)
        return;
      (void)poll(p, n, (int)left);
    }
}

/* After process 0's EXIT (or QEMU's death): let the guest power off, then make sure. */
static void __attribute__((noreturn)) finish(monitor_t *m, const char *failure)
{
  long deadline = now_ms() + 5000;
  size_t i;
  int st;

  if (m->c->console_socket != NULL)
    vm_console_detach(m->io.out);
  flush_clients(m);
  while (m->qemu_status < 0 && now_ms() < deadline)
    {
      struct pollfd p = { .fd = m->sfd, .events = POLLIN };
      if (waitpid(m->qemu, &m->qemu_status, WNOHANG) == m->qemu)
        break;
      (void)poll(&p, 1, 100);
      if (p.revents)
        {
          struct signalfd_siginfo si;
          while (read(m->sfd, &si, sizeof si) == sizeof si)
            ;
        }
    }
  if (m->qemu_status < 0 && m->qmp.fd >= 0)
    (void)vm_qmp_command(&m->qmp, "quit", 1000, NULL, NULL);
  kill_qemu(m);
  stop_share_server(m);
  for (i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0)
      {
        vm_outq_release(&m->clients[i].q);
        client_close(m, &m->clients[i]);
      }
  remove_files(m);
  if (failure != NULL)
    {
      isolazi_log(ISOLAZI_LOG_ERROR, "vm %s: %s", m->c->id, failure);
      _exit(m->qemu_status >= 0 && WIFSIGNALED(m->qemu_status) ? 128 + WTERMSIG(m->qemu_status) : 255);
    }
  st = m->exit_status;
  isolazi_debug("vm %s: the container exited with status %d", m->c->id, vm_status_to_exit(st));
  if (WIFSIGNALED(st))
    {
      /* Die the same way, so that our parent (conmon, a shim) sees what the workload saw. */
      sigset_t all;
      struct sigaction sa = { .sa_handler = SIG_DFL };
      int sig = WTERMSIG(st);
      (void)sigaction(sig, &sa, NULL);
      sigfillset(&all);
      sigprocmask(SIG_UNBLOCK, &all, NULL);
      (void)raise(sig);
      _exit(128 + sig);
    }
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 255);
}

static void
handle_signals(monitor_t *m)
{
  struct signalfd_siginfo si;

  while (read(m->sfd, &si, sizeof si) == sizeof si)
    {
      uint8_t b[4];
      if (si.ssi_signo == SIGCHLD)
        {
          if (waitpid(m->qemu, &m->qemu_status, WNOHANG) == m->qemu && m->exit_status < 0)
            {
              cleanup_free char *msg = NULL, *tail = tail_of(m, VM_QEMU_LOG);
              msg = xasprintf("the VM stopped unexpectedly: QEMU %s %d%s%s",
                              WIFSIGNALED(m->qemu_status) ? "was killed by signal" : "exited with status",
                              WIFSIGNALED(m->qemu_status) ? WTERMSIG(m->qemu_status) : WEXITSTATUS(m->qemu_status),
                              tail ? ": " : "", tail ? tail : "");
              finish(m, msg);
            }
          continue;
        }
      if (si.ssi_signo == SIGWINCH)
        {
          send_winsize(m);
          continue;
        }
      vm_put_u32(b, si.ssi_signo);
      (void)to_guest(m, VM_MSG_SIGNAL, 0, 0, b, 4);
    }
}

/* QMP events are not used: drop whole lines, keep a partial one for the next command's reader.
 * An EOF means QEMU is going, which SIGCHLD reports. */
static void
drain_qmp(monitor_t *m)
{
  ssize_t n = read(m->qmp.fd, m->qmp.buf + m->qmp.len, sizeof m->qmp.buf - m->qmp.len);
  char *nl;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      close(m->qmp.fd);
      m->qmp.fd = -1;
      return;
    }
  m->qmp.len += (size_t)n;
  nl = memrchr(m->qmp.buf, '\n', m->qmp.len);
  if (nl != NULL)
    {
      size_t used = (size_t)(nl - m->qmp.buf) + 1;
      memmove(m->qmp.buf, nl + 1, m->qmp.len - used);
      m->qmp.len -= used;
    }
  else if (m->qmp.len == sizeof m->qmp.buf)
    m->qmp.len = 0;
}

static void __attribute__((noreturn)) serve(monitor_t *m)
{
  for (;;)
    {
      struct pollfd pfd[6 + MAX_CLIENTS];
      client_t *map[MAX_CLIENTS];
      size_t n = 0, nc = 0, i, base;
      int in_idx = -1, start_idx = -1, ctl_idx = -1;
      bool guest_full, clients_full = false;
      short ev;

      if (m->exit_status >= 0)
        finish(m, NULL);
      for (i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].closing && vm_outq_pending(&m->clients[i].q) == 0)
          client_close(m, &m->clients[i]);
        else if (m->clients[i].fd >= 0 && vm_outq_pending(&m->clients[i].q) >= VM_OUTQ_HIGH)
          clients_full = true;
      guest_full = vm_outq_pending(&m->gq) >= VM_OUTQ_HIGH;
      /* The guest is read unless a client is far behind; what feeds the guest (stdin, clients)
       * only while the guest keeps up. */
      ev = (short)((clients_full ? 0 : POLLIN) | (vm_outq_pending(&m->gq) > 0 ? POLLOUT : 0));
      pfd[n++] = (struct pollfd){ .fd = ev != 0 ? m->guest : -1, .events = ev };
      pfd[n++] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = m->qmp.fd, .events = POLLIN };
      if (m->started && !m->io.in_done && m->io.in >= 0 && !guest_full)
        {
          in_idx = (int)n;
          pfd[n++] = (struct pollfd){ .fd = m->io.in, .events = POLLIN };
        }
      if (m->start_lfd >= 0)
        {
          start_idx = (int)n;
          pfd[n++] = (struct pollfd){ .fd = m->start_lfd, .events = POLLIN };
        }
      ctl_idx = (int)n;
      pfd[n++] = (struct pollfd){ .fd = m->ctl_lfd, .events = POLLIN };
      base = n;
      for (i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0)
          {
            client_t *cl = &m->clients[i];
            map[nc++] = cl;
            ev = (short)((cl->closing || guest_full ? 0 : POLLIN) | (vm_outq_pending(&cl->q) > 0 ? POLLOUT : 0));
            pfd[n++] = (struct pollfd){ .fd = ev != 0 ? cl->fd : -1, .events = ev };
          }
      if (poll(pfd, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          finish(m, "poll failed");
        }
      if (pfd[1].revents)
        handle_signals(m);
      if (pfd[2].revents)
        drain_qmp(m);
      if ((pfd[0].revents & (POLLOUT | POLLERR | POLLHUP)) && vm_outq_pending(&m->gq) > 0
          && vm_outq_flush(&m->gq, m->guest) < 0)
        vm_outq_release(&m->gq); /* QEMU is going: SIGCHLD and the read side report it */
      if ((pfd[0].events & POLLIN) && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          uint8_t buf[65536], *p;
          vm_frame_header_t h;
          ssize_t r = read(m->guest, buf, sizeof buf);
          int k;
          if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
            {
              /* QEMU closed the channel: it is exiting.  Its status decides the message. */
              (void)waitpid(m->qemu, &m->qemu_status, 0);
              finish(m, "the VM stopped unexpectedly: the guest's channel closed");
            }
          if (r > 0 && vm_frame_reader_feed(&m->gr, buf, (size_t)r) == 0)
            while ((k = vm_frame_reader_next(&m->gr, &h, &p)) > 0)
              {
                guest_frame(m, &h, p);
                free(p);
              }
        }
      if (in_idx >= 0 && pfd[in_idx].revents)
        {
          uint8_t buf[16384];
          ssize_t r = read(m->io.in, buf, sizeof buf);
          if (r > 0)
            (void)to_guest(m, VM_MSG_STDIN, 0, 0, buf, (size_t)r);
          else if (r == 0 || (errno != EINTR && errno != EAGAIN))
            {
              m->io.in_done = true;
              (void)to_guest(m, VM_MSG_STDIN, 0, 0, NULL, 0);
            }
        }
      if (start_idx >= 0 && pfd[start_idx].revents)
        accept_client(m, m->start_lfd, true);
      if (pfd[ctl_idx].revents)
        accept_client(m, m->ctl_lfd, false);
      for (i = 0; i < nc; i++)
        {
          client_t *cl = map[i];
          short rev = pfd[base + i].revents;
          if (rev == 0 || cl->fd < 0)
            continue;
          if ((rev & (POLLOUT | POLLERR | POLLHUP)) && vm_outq_pending(&cl->q) > 0 && vm_outq_flush(&cl->q, cl->fd) < 0)
            {
              vm_outq_release(&cl->q);
              client_close(m, cl);
              continue;
            }
          if ((pfd[base + i].events & POLLIN) && (rev & (POLLIN | POLLHUP | POLLERR)))
            {
              uint8_t buf[65536], *p;
              vm_frame_header_t h;
              ssize_t r = read(cl->fd, buf, sizeof buf);
              int k;
              if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
              if (r <= 0)
                {
                  vm_outq_release(&cl->q); /* nobody reads it any more */
                  client_close(m, cl);
                  continue;
                }
              if (vm_frame_reader_feed(&cl->r, buf, (size_t)r) < 0)
                continue;
              while (cl->fd >= 0 && !cl->closing && (k = vm_frame_reader_next(&cl->r, &h, &p)) > 0)
                {
                  client_frame(m, cl, &h, p);
                  free(p);
                }
            }
        }
    }
}

void
vm_monitor_main(const vm_monitor_config_t *c)
{
  static const int forwarded[] = { SIGTERM, SIGINT,  SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
                                   SIGCHLD, SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU };
  monitor_t m;
  sigset_t mask;
  size_t i;

  memset(&m, 0, sizeof m);
  m.c = c;
  m.guest = m.start_lfd = m.ctl_lfd = -1;
  m.qmp.fd = -1;
  m.qemu_status = -1;
  m.exit_status = -1;
  m.next_proc = 1;
  for (i = 0; i < MAX_CLIENTS; i++)
    m.clients[i].fd = -1;
  /* A write to a gone reader is an EPIPE to handle, not a signal to forward. */
  signal(SIGPIPE, SIG_IGN);
  /* Out of the caller's session and process group: its terminal's signals are not ours. */
  (void)setsid();
  sigemptyset(&mask);
  for (i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaddset(&mask, forwarded[i]);
  for (i = SIGRTMIN; i <= (size_t)SIGRTMAX; i++)
    sigaddset(&mask, (int)i);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  m.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  boot(&m);
  (void)isolazi_write_all(c->sync_fd, "0", 1);
  close(c->sync_fd);
  serve(&m);
}
