/* SPDX-License-Identifier: Apache-2.0 */
/* The guest agent's process logic (src/vm-agent/serve.c) run on the host: the test is the
 * host end of a socketpair and the agent serves the other end in a child, with processes
 * running in "/" (no chroot, no mounts: agent_options_t.guest is off). */
#include "config.h"
#include "../unit/tap.h"
#include "agent.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct conv
{
  int fd;
  pid_t agent;
  char out[8192], err[8192];
  size_t out_len, err_len;
  bool out_eof, err_eof;
} conv_t;

static int
conv_open(conv_t *c)
{
  static const agent_options_t o = { .guest = false, .root = "/" };
  int sv[2];
  vm_frame_header_t h;
  uint8_t *p;

  memset(c, 0, sizeof *c);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -1;
  c->agent = fork();
  if (c->agent == 0)
    {
      int st;
      close(sv[0]);
      st = agent_serve(sv[1], &o);
      _exit(st < 0 ? 200 : 0);
    }
  close(sv[1]);
  c->fd = sv[0];
  if (vm_frame_read(c->fd, &h, &p) < 0 || h.type != VM_MSG_HELLO)
    return -1;
  free(p);
  return 0;
}

static int
conv_close(conv_t *c)
{
  int st = -1;

  close(c->fd);
  (void)waitpid(c->agent, &st, 0);
  return st;
}

static void
send_spec(conv_t *c, unsigned type, uint32_t proc, const char *const *args, bool terminal)
{
  vm_spec_t s;
  uint8_t *p;
  size_t len;

  memset(&s, 0, sizeof s);
  for (; *args != NULL; args++)
    vm_spec_add_arg(&s, *args);
  vm_spec_add_env(&s, "PATH=/usr/bin:/bin");
  vm_spec_add_env(&s, "GREETING=hi");
  s.cwd = strdup("/");
  s.uid = getuid();
  s.gid = getgid();
  s.terminal = terminal;
  p = vm_spec_encode(&s, &len);
  (void)vm_frame_write(c->fd, type, 0, proc, p, len);
  free(p);
  vm_spec_release(&s);
}

/* Read frames until one of `type` for `proc` (collecting output); returns its payload
 * (malloc'd) or NULL on a stream error.  *ret_h gets its header. */
static uint8_t *
wait_for(conv_t *c, unsigned type, uint32_t proc, vm_frame_header_t *ret_h)
{
  for (;;)
    {
      vm_frame_header_t h;
      uint8_t *p;
      if (vm_frame_read(c->fd, &h, &p) < 0)
        return NULL;
      if ((h.type == VM_MSG_STDOUT || h.type == VM_MSG_STDERR) && h.proc == proc)
        {
          bool out = h.type == VM_MSG_STDOUT;
          char *buf = out ? c->out : c->err;
          size_t *n = out ? &c->out_len : &c->err_len;
          if (h.len == 0)
            *(out ? &c->out_eof : &c->err_eof) = true;
          else if (*n + h.len < sizeof c->out)
            {
              memcpy(buf + *n, p, h.len);
              *n += h.len;
              buf[*n] = '\0';
            }
        }
      if (h.type == type && h.proc == proc)
        {
          *ret_h = h;
          if (p == NULL)
            p = calloc(1, 1);
          return p;
        }
      if (h.type == VM_MSG_ERROR && type != VM_MSG_ERROR)
        {
          *ret_h = h;
          free(p);
          return NULL;
        }
      free(p);
    }
}

static void
test_lifecycle(void)
{
  static const char *const args[]
      = { "sh", "-c", "echo out $GREETING; echo err >&2; read x; echo got $x; exit 3", NULL };
  conv_t c;
  vm_frame_header_t h;
  uint8_t *p;
  uint32_t v;

  if (conv_open(&c) < 0)
    {
      tap_ok(0, "start the agent");
      return;
    }
  send_spec(&c, VM_MSG_CREATE, 0, args, false);
  p = wait_for(&c, VM_MSG_CREATED, 0, &h);
  tap_ok(p != NULL, "CREATE → CREATED (the executable is found on PATH)");
  free(p);
  (void)vm_frame_write(c.fd, VM_MSG_START, 0, 0, NULL, 0);
  p = wait_for(&c, VM_MSG_STARTED, 0, &h);
  tap_ok(p != NULL && vm_payload_u32(p, h.len, &v) == 0 && v > 0, "START → STARTED with a pid");
  free(p);
  (void)vm_frame_write(c.fd, VM_MSG_STDIN, 0, 0, "line\n", 5);
  (void)vm_frame_write(c.fd, VM_MSG_STDIN, 0, 0, NULL, 0);
  p = wait_for(&c, VM_MSG_EXIT, 0, &h);
  tap_ok(p != NULL && vm_payload_u32(p, h.len, &v) == 0 && WIFEXITED(v) && WEXITSTATUS(v) == 3,
         "EXIT carries the wait status (exit 3)");
  free(p);
  tap_streq(c.out, "out hi\ngot line\n", "stdout, with the env applied and stdin relayed");
  tap_streq(c.err, "err\n", "stderr apart from stdout");
  tap_ok(c.out_eof && c.err_eof, "both streams end with an empty frame before EXIT");
  tap_ok(conv_close(&c) == 0, "the agent's serve loop ends after the container's EXIT");
}

static void
test_not_found(void)
{
  static const char *const args[] = { "/nonexistent/prog", NULL };
  static const char *const noperm[] = { "/etc/passwd", NULL };
  conv_t c;
  vm_frame_header_t h;
  uint8_t *p;
  int e, st;
  char *msg = NULL;

  if (conv_open(&c) < 0)
    return;
  send_spec(&c, VM_MSG_CREATE, 0, args, false);
  p = wait_for(&c, VM_MSG_ERROR, 0, &h);
  tap_ok(p != NULL && vm_error_decode(p, h.len, &e, &st, &msg) == 0 && e == ENOENT && st == 127,
         "CREATE of a missing executable → ERROR, errno ENOENT, status 127");
  tap_streq(msg, "exec `/nonexistent/prog`: no such file or directory", "with runc's kind of message");
  free(msg);
  free(p);
  msg = NULL;
  send_spec(&c, VM_MSG_CREATE, 0, noperm, false);
  p = wait_for(&c, VM_MSG_ERROR, 0, &h);
  tap_ok(p != NULL && vm_error_decode(p, h.len, &e, &st, &msg) == 0 && e == EACCES && st == 126,
         "a file that is not executable → EACCES, status 126");
  free(msg);
  free(p);
  (void)conv_close(&c);
}

static void
test_exec_and_signals(void)
{
  static const char *const init[] = { "sleep", "100", NULL };
  static const char *const ex[] = { "sh", "-c", "echo exec-out; exit 5", NULL };
  static const char *const bad[] = { "no-such-command-here", NULL };
  static const char *const tty[] = { "sh", "-c", "test -t 0 && echo is-a-tty", NULL };
  conv_t c;
  vm_frame_header_t h;
  uint8_t *p, sig[4];
  uint32_t v;
  int e, st;
  char *msg = NULL;

  if (conv_open(&c) < 0)
    return;
  send_spec(&c, VM_MSG_CREATE, 0, init, false);
  free(wait_for(&c, VM_MSG_CREATED, 0, &h));
  (void)vm_frame_write(c.fd, VM_MSG_START, 0, 0, NULL, 0);
  free(wait_for(&c, VM_MSG_STARTED, 0, &h));

  send_spec(&c, VM_MSG_EXEC, 4, ex, false);
  p = wait_for(&c, VM_MSG_EXIT, 4, &h);
  tap_ok(p != NULL && vm_payload_u32(p, h.len, &v) == 0 && WEXITSTATUS(v) == 5, "EXEC runs a second process (exit 5)");
  tap_streq(c.out, "exec-out\n", "its output is tagged with its own proc id");
  free(p);

  send_spec(&c, VM_MSG_EXEC, 5, bad, false);
  p = wait_for(&c, VM_MSG_ERROR, 5, &h);
  tap_ok(p != NULL && vm_error_decode(p, h.len, &e, &st, &msg) == 0 && st == 127,
         "EXEC of an unknown command → ERROR with status 127");
  tap_streq(msg, "exec `no-such-command-here`: no such file or directory", "and a message");
  free(msg);
  free(p);

  c.out_len = 0;
  c.out[0] = '\0';
  send_spec(&c, VM_MSG_EXEC, 6, tty, true);
  p = wait_for(&c, VM_MSG_EXIT, 6, &h);
  tap_ok(p != NULL && vm_payload_u32(p, h.len, &v) == 0 && WEXITSTATUS(v) == 0, "a terminal process exits 0");
  free(p);
  tap_ok(strstr(c.out, "is-a-tty") != NULL, "and its stdin is a terminal");

  vm_put_u32(sig, SIGTERM);
  (void)vm_frame_write(c.fd, VM_MSG_SIGNAL, 0, 0, sig, 4);
  p = wait_for(&c, VM_MSG_EXIT, 0, &h);
  tap_ok(p != NULL && vm_payload_u32(p, h.len, &v) == 0 && WIFSIGNALED(v) && WTERMSIG(v) == SIGTERM,
         "SIGNAL reaches the container's process; EXIT says it was killed by SIGTERM");
  free(p);
  tap_ok(conv_close(&c) == 0, "the agent ends");
}

static void
test_signal_before_start(void)
{
  static const char *const init[] = { "true", NULL };
  conv_t c;
  vm_frame_header_t h;
  uint8_t *p, sig[4];
  uint32_t v;

  if (conv_open(&c) < 0)
    return;
  send_spec(&c, VM_MSG_CREATE, 0, init, false);
  free(wait_for(&c, VM_MSG_CREATED, 0, &h));
  vm_put_u32(sig, SIGKILL);
  (void)vm_frame_write(c.fd, VM_MSG_SIGNAL, 0, 0, sig, 4);
  p = wait_for(&c, VM_MSG_EXIT, 0, &h);
  tap_ok(p != NULL && vm_payload_u32(p, h.len, &v) == 0 && WIFSIGNALED(v) && WTERMSIG(v) == SIGKILL,
         "SIGKILL before START ends the container as killed");
  free(p);
  (void)conv_close(&c);
}

/* PS lists the agent's processes as "pid ppid uid state comm\targs"; STATS counts them. */
static void
test_ps_and_stats(void)
{
  static const char *const init[] = { "sleep", "100", NULL };
  conv_t c;
  vm_frame_header_t h;
  uint8_t *p, sig[4];
  uint32_t pid = 0;
  char want[64];

  if (conv_open(&c) < 0)
    return;
  send_spec(&c, VM_MSG_CREATE, 0, init, false);
  free(wait_for(&c, VM_MSG_CREATED, 0, &h));
  (void)vm_frame_write(c.fd, VM_MSG_START, 0, 0, NULL, 0);
  p = wait_for(&c, VM_MSG_STARTED, 0, &h);
  (void)vm_payload_u32(p, h.len, &pid);
  free(p);
  (void)vm_frame_write(c.fd, VM_MSG_PS, 0, 7, NULL, 0);
  p = wait_for(&c, VM_MSG_PS, 7, &h);
  snprintf(want, sizeof want, "%u %d %u ", pid, (int)c.agent, (unsigned)getuid());
  tap_ok(p != NULL && strncmp((char *)p, want, strlen(want)) == 0, "PS: a line for the process: pid, ppid, uid (%.*s)",
         p != NULL ? (int)strcspn((char *)p, "\n") : 4, p != NULL ? (char *)p : "none");
  tap_ok(p != NULL && strstr((char *)p, " sleep\tsleep 100\n") != NULL, "with its comm and its arguments");
  free(p);
  (void)vm_frame_write(c.fd, VM_MSG_STATS, 0, 8, NULL, 0);
  p = wait_for(&c, VM_MSG_STATS, 8, &h);
  tap_ok(p != NULL && strstr((char *)p, "pids.current 1\n") != NULL && strstr((char *)p, "memory.limit ") != NULL
             && strstr((char *)p, "cpu.total ") != NULL,
         "STATS: memory, cpu and the process count");
  free(p);
  vm_put_u32(sig, SIGKILL);
  (void)vm_frame_write(c.fd, VM_MSG_SIGNAL, 0, 0, sig, 4);
  free(wait_for(&c, VM_MSG_EXIT, 0, &h));
  (void)conv_close(&c);
}

/* A window size sent between CREATE and START is the one the process is born with. */
static void
test_winsize_before_start(void)
{
  static const char *const init[] = { "stty", "size", NULL };
  uint8_t ws[4] = { 33, 0, 111, 0 };
  conv_t c;
  vm_frame_header_t h;

  if (conv_open(&c) < 0)
    return;
  send_spec(&c, VM_MSG_CREATE, 0, init, true);
  free(wait_for(&c, VM_MSG_CREATED, 0, &h));
  (void)vm_frame_write(c.fd, VM_MSG_WINSIZE, 0, 0, ws, 4);
  (void)vm_frame_write(c.fd, VM_MSG_START, 0, 0, NULL, 0);
  free(wait_for(&c, VM_MSG_EXIT, 0, &h));
  tap_ok(strstr(c.out, "33 111") != NULL, "WINSIZE before START: `stty size` says 33 111 (%.*s)",
         (int)strcspn(c.out, "\r\n"), c.out);
  (void)conv_close(&c);
}

/* Megabytes both ways at once through `cat`: the agent neither blocks writing the process's
 * stdin while its stdout fills nor loses or reorders a byte, and EXIT comes after the last. */
static void
test_cat_both_ways(void)
{
  static const char *const init[] = { "cat", NULL };
  const size_t total = 4u << 20;
  size_t sent = 0, got = 0;
  unsigned long long sum_in = 0, sum_out = 0;
  vm_frame_reader_t r = { NULL, 0, 0 };
  vm_outq_t q = { NULL, 0, 0, 0 };
  bool exited = false, order_ok = true;
  uint8_t chunk[32768];
  vm_frame_header_t h;
  conv_t c;
  size_t i;

  if (conv_open(&c) < 0)
    return;
  send_spec(&c, VM_MSG_CREATE, 0, init, false);
  free(wait_for(&c, VM_MSG_CREATED, 0, &h));
  (void)vm_frame_write(c.fd, VM_MSG_START, 0, 0, NULL, 0);
  free(wait_for(&c, VM_MSG_STARTED, 0, &h));
  (void)fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  while (!exited)
    {
      struct pollfd pf = { .fd = c.fd, .events = POLLIN | (vm_outq_pending(&q) > 0 ? POLLOUT : 0) };
      /* Like the host's relays: queue whole frames, write what the socket takes, keep reading. */
      if (sent < total && vm_outq_pending(&q) < sizeof chunk)
        {
          size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
          for (i = 0; i < n; i++)
            {
              chunk[i] = (uint8_t)((sent + i) * 7 + 3);
              sum_in += chunk[i] * ((sent + i) % 251 + 1);
            }
          (void)vm_outq_frame(&q, VM_MSG_STDIN, 0, 0, chunk, n);
          sent += n;
          if (sent == total)
            (void)vm_outq_frame(&q, VM_MSG_STDIN, 0, 0, NULL, 0);
          pf.events |= POLLOUT;
        }
      if (poll(&pf, 1, 20000) <= 0)
        break;
      if ((pf.revents & POLLOUT) && vm_outq_flush(&q, c.fd) < 0)
        break;
      if (pf.revents & (POLLIN | POLLHUP))
        {
          uint8_t buf[65536], *p;
          ssize_t n = read(c.fd, buf, sizeof buf);
          int k;
          if (n <= 0)
            break;
          (void)vm_frame_reader_feed(&r, buf, (size_t)n);
          while ((k = vm_frame_reader_next(&r, &h, &p)) > 0)
            {
              if (h.type == VM_MSG_STDOUT)
                for (i = 0; i < h.len; i++, got++)
                  {
                    order_ok = order_ok && p[i] == (uint8_t)(got * 7 + 3);
                    sum_out += p[i] * (got % 251 + 1);
                  }
              if (h.type == VM_MSG_EXIT)
                exited = true;
              free(p);
            }
        }
    }
  vm_frame_reader_release(&r);
  vm_outq_release(&q);
  tap_ok(exited && got == total && sum_in == sum_out && order_ok,
         "4 MiB through `cat` both ways at once: all of it, in order, then EXIT (%zu of %zu bytes)", got, total);
  (void)conv_close(&c);
}

/* The share relay (relay.c) between stand-ins: SOCK_SEQPACKET pairs keep message boundaries
 * as /dev/fuse does (one request per read, one reply per write), and the port is a stream. */
static void
put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static pid_t
relay_start(int *port, int dev[2])
{
  int sp[2], d0[2], d1[2];
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0
      || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, d0) < 0
      || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, d1) < 0)
    return -1;
  pid = fork();
  if (pid == 0)
    {
      int fds[2] = { d0[1], d1[1] }, mounted[2] = { 1, 1 };
      agent_shares_t sh = { .fds = fds, .mounted = mounted, .n = 2, .wake = -1 };
      int r;
      close(sp[0]);
      close(d0[0]);
      close(d1[0]);
      r = agent_share_relay(sp[1], &sh);
      _exit(r == 0 ? 0 : r == -ECONNRESET ? 1 : r == -EPROTO ? 2 : 3);
    }
  close(sp[1]);
  close(d0[1]);
  close(d1[1]);
  *port = sp[0];
  dev[0] = d0[0];
  dev[1] = d1[0];
  return pid;
}

static int
relay_status(pid_t pid)
{
  int st;

  if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
    return -1;
  return WEXITSTATUS(st);
}

static void
test_share_relay(void)
{
  uint8_t req[100], frame[8 + sizeof req], reply[8 + 24], got[64];
  int port, dev[2];
  size_t off = 0;
  ssize_t n;
  pid_t pid;

  pid = relay_start(&port, dev);
  tap_ok(pid > 0, "relay: started");
  /* A request on share 1's device arrives framed on the port. */
  memset(req, 'q', sizeof req);
  tap_ok(write(dev[1], req, sizeof req) == (ssize_t)sizeof req, "relay: a request is written");
  while (off < sizeof frame && (n = read(port, frame + off, sizeof frame - off)) > 0)
    off += (size_t)n;
  tap_ok(off == sizeof frame && frame[0] == 1 && frame[4] == sizeof req && memcmp(frame + 8, req, sizeof req) == 0,
         "relay: the request goes to the host as one frame (share 1, its length, its bytes)");
  /* A reply for share 0, written in pieces that cut the header: one write on its device. */
  put32(reply, 0);
  put32(reply + 4, 24);
  memset(reply + 8, 'r', 24);
  tap_ok(write(port, reply, 3) == 3 && usleep(20000) == 0 && write(port, reply + 3, 10) == 10 && usleep(20000) == 0
             && write(port, reply + 13, sizeof reply - 13) == (ssize_t)(sizeof reply - 13),
         "relay: a reply is written in three pieces");
  n = read(dev[0], got, sizeof got);
  tap_ok(n == 24 && memcmp(got, reply + 8, 24) == 0, "relay: the reply reaches share 0's device in one message");
  /* A reply shorter than a FUSE header ends the relay, which closes the devices. */
  put32(reply + 4, 4);
  tap_ok(write(port, reply, 12) == 12, "relay: a malformed frame is written");
  tap_ok(relay_status(pid) == 2, "relay: a malformed frame ends it with EPROTO");
  n = read(dev[1], got, sizeof got);
  tap_ok(n == 0, "relay: the devices are closed after it");
  close(port);
  close(dev[0]);
  close(dev[1]);

  /* The host going away ends it; so does every share going away. */
  pid = relay_start(&port, dev);
  close(port);
  tap_ok(relay_status(pid) == 1, "relay: the port's end of file ends it");
  close(dev[0]);
  close(dev[1]);
  pid = relay_start(&port, dev);
  close(dev[0]);
  close(dev[1]);
  tap_ok(relay_status(pid) == 0, "relay: it ends when every share is gone");
  close(port);
}

int
main(void)
{
  signal(SIGPIPE, SIG_IGN);
  test_lifecycle();
  test_not_found();
  test_exec_and_signals();
  test_signal_before_start();
  test_ps_and_stats();
  test_winsize_before_start();
  test_cat_both_ways();
  test_share_relay();
  return tap_done();
}
