/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox daemon: one per running sandbox, detached from whoever started it.  It owns QEMU
 * (which dies with it: PDEATHSIG), QMP and the agent's channel, and serves clients on
 * sandbox.sock:
 *
 *   EXEC + STDIN/SIGNAL        → a new process in the guest (numbered here); its STARTED,
 *                                STDOUT, STDERR, EXIT or ERROR back to that client
 *   SB_WRITE / SB_READ         → the agent, one at a time per client; SB_DONE or ERROR back
 *   SB_CTL (JSON)              → snapshot (freeze, QMP blockdev-snapshot-sync, thaw), port
 *                                forwards (QMP hostfwd_add/remove), adopt (a warm VM becomes a
 *                                sandbox), stop, ping
 *
 * When QEMU dies the daemon removes its socket and runtime file, records why in `stopped`, and
 * exits; when the daemon itself is killed, the next client reaps (store.c).  state.json is the
 * clients' to write: the daemon only reads what it is told. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "utils.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CLIENTS 64

typedef struct client
{
  int fd;
  vm_frame_reader_t r;
  uint32_t proc; /* the guest request it waits for (exec'd process or file operation), 0: none */
  bool exec_running;
} client_t;

typedef struct daemon_s
{
  int dirfd;
  char *dir, *name;
  int guest, sfd, lfd;
  vm_qmp_t qmp;
  pid_t qemu;
  int qemu_status;
  vm_frame_reader_t gr;
  client_t clients[MAX_CLIENTS];
  uint32_t next_proc;
  unsigned boot_timeout_ms;
  struct
  {
    uint16_t guest, host;
  } exposed[SB_PEER_MAX]; /* host forwards on SB_PEER_HOST_ADDR for links (peer.c) */
  size_t exposed_len;
} daemon_t;

static long
now_ms(void)
{
  return (long)sb_now_ms();
}

static char *
tail_of(int dirfd, const char *name)
{
  cleanup_free char *text = NULL;
  size_t len = 0, i, lines = 0;
  char *p;

  if (isolazi_read_file_at(dirfd, name, &text, &len, NULL) < 0 || len == 0)
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

static void __attribute__((noreturn)) finish(daemon_t *m, const char *failure)
{
  size_t i;

  if (m->qemu > 0 && m->qemu_status < 0)
    {
      (void)kill(m->qemu, SIGKILL);
      while (waitpid(m->qemu, &m->qemu_status, 0) < 0 && errno == EINTR)
        ;
    }
  for (i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0)
      close(m->clients[i].fd);
  (void)unlinkat(m->dirfd, SB_SOCKET, 0);
  if (failure != NULL)
    (void)isolazi_write_file_atomic(m->dirfd, SB_STOP_REASON, failure, strlen(failure), 0600, false, NULL);
  (void)unlinkat(m->dirfd, SB_RUNTIME, 0);
  _exit(failure != NULL ? 1 : 0);
}

static char *
qemu_death(daemon_t *m)
{
  /* QEMU's own words only when it exited by itself: a kill leaves unrelated lines there. */
  cleanup_free char *tail = WIFEXITED(m->qemu_status) ? tail_of(m->dirfd, SB_QEMU_LOG) : NULL;

  return xasprintf("its VM stopped: QEMU %s %d%s%s",
                   WIFSIGNALED(m->qemu_status) ? "was killed by signal" : "exited with status",
                   WIFSIGNALED(m->qemu_status) ? WTERMSIG(m->qemu_status) : WEXITSTATUS(m->qemu_status),
                   tail ? ": " : "", tail ? tail : "");
}

/* ---- QMP with arguments (src/vm's client sends bare commands only) ------------------------- */

static int
qmp_line(daemon_t *m, long deadline, char **ret, isolazi_error_t *err)
{
  vm_qmp_t *q = &m->qmp;

  for (;;)
    {
      char *nl = memchr(q->buf, '\n', q->len);
      struct pollfd p = { .fd = q->fd, .events = POLLIN };
      long left = deadline - now_ms();
      ssize_t n;

      if (nl != NULL)
        {
          size_t l = (size_t)(nl - q->buf);
          *ret = strndup(q->buf, l);
          memmove(q->buf, nl + 1, q->len - l - 1);
          q->len -= l + 1;
          return 0;
        }
      if (q->len == sizeof q->buf)
        q->len = 0; /* an event too long to matter */
      if (left <= 0)
        return isolazi_error_set(err, ETIMEDOUT, "QMP: no answer in time");
      if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
        return isolazi_error_errno(err, "poll QMP");
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      n = read(q->fd, q->buf + q->len, sizeof q->buf - q->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return isolazi_error_set(err, n < 0 ? errno : ECONNRESET, "QMP: QEMU closed the connection");
      q->len += (size_t)n;
    }
}

static void
json_valuep(json_value **v)
{
  json_value_free(*v);
}

/* Run one QMP command (a JSON object line); *ret_return gets the "return" value's string when it
 * is one (human-monitor-command answers with text). */
static int
qmp_execute(daemon_t *m, const char *line, char **ret_return, isolazi_error_t *err)
{
  long deadline = now_ms() + 10000;

  if (isolazi_write_all(m->qmp.fd, line, strlen(line)) < 0 || isolazi_write_all(m->qmp.fd, "\n", 1) < 0)
    return isolazi_error_errno(err, "write to QMP");
  for (;;)
    {
      __attribute__((cleanup(json_valuep))) json_value *v = NULL;
      cleanup_free char *reply = NULL, *perr = NULL;
      const json_value *e;

      if (qmp_line(m, deadline, &reply, err) < 0)
        return -1;
      v = json_parse(reply, strlen(reply), &perr);
      if (v == NULL || json_object_get(v, "event") != NULL)
        continue;
      if ((e = json_object_get(v, "error")) != NULL)
        {
          const char *desc = json_get_string(json_object_get(e, "desc"));
          return isolazi_error_set(err, EIO, "%s", desc != NULL ? desc : reply);
        }
      if (json_object_get(v, "return") != NULL)
        {
          if (ret_return != NULL)
            *ret_return = xstrdup(json_get_string(json_object_get(v, "return")));
          return 0;
        }
    }
}

/* A JSON string literal of s (for command lines we build). */
static char *
json_quote(const char *s)
{
  json_gen *g = json_gen_new(false);
  char *out = NULL, *perr = NULL;
  size_t len;

  json_gen_string(g, s);
  if (json_gen_finish(g, &out, &len, &perr) < 0)
    {
      free(perr);
      out = xstrdup("\"\"");
    }
  json_gen_free(g);
  return out;
}

/* A human monitor command; it answers with text, which is a failure unless empty or, when
 * `ok_text` is given, containing it ("... removed"). */
static int
hmp(daemon_t *m, const char *cmd, const char *ok_text, isolazi_error_t *err)
{
  cleanup_free char *q = json_quote(cmd), *line = NULL, *out = NULL;

  line = xasprintf("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":%s}}", q);
  if (qmp_execute(m, line, &out, err) < 0)
    return -1;
  /* The human monitor reports failures as text. */
  if (out != NULL && out[0] != '\0' && (ok_text == NULL || strstr(out, ok_text) == NULL))
    {
      size_t n = strlen(out);
      while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
      return isolazi_error_set(err, EIO, "%s", out);
    }
  return 0;
}

/* ---- the guest ---------------------------------------------------------------------------- */

static client_t *
client_for_proc(daemon_t *m, uint32_t proc)
{
  size_t i;

  if (proc == 0)
    return NULL;
  for (i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0 && m->clients[i].proc == proc)
      return &m->clients[i];
  return NULL;
}

static void
client_close(daemon_t *m, client_t *cl)
{
  if (cl->proc != 0 && cl->exec_running)
    {
      uint8_t b[4];
      vm_put_u32(b, SIGKILL);
      (void)vm_frame_write(m->guest, VM_MSG_SIGNAL, 0, cl->proc, b, 4);
    }
  close(cl->fd);
  vm_frame_reader_release(&cl->r);
  memset(cl, 0, sizeof *cl);
  cl->fd = -1;
}

static void
guest_frame(daemon_t *m, const vm_frame_header_t *h, const uint8_t *p)
{
  client_t *cl = client_for_proc(m, h->proc);

  if (cl == NULL)
    return;
  if (vm_frame_write(cl->fd, h->type, h->flags, h->proc, p, h->len) < 0)
    {
      client_close(m, cl);
      return;
    }
  if (h->type == VM_MSG_EXIT || h->type == VM_MSG_ERROR || h->type == VM_MSG_SB_DONE)
    {
      cl->proc = 0;
      cl->exec_running = false;
    }
}

/* Read from the guest; frames go to their clients.  Returns the frame for `want` (a request of
 * the daemon's own) when it arrives: 1, else 0; -1 when the channel closed. */
static int
guest_pump(daemon_t *m, uint32_t want, vm_frame_header_t *ret, uint8_t **ret_payload)
{
  uint8_t buf[65536], *p;
  vm_frame_header_t h;
  ssize_t n = read(m->guest, buf, sizeof buf);
  int k, found = 0;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0)
    return -1;
  if (vm_frame_reader_feed(&m->gr, buf, (size_t)n) < 0)
    return -1;
  while ((k = vm_frame_reader_next(&m->gr, &h, &p)) > 0)
    {
      if (want != 0 && h.proc == want && !found)
        {
          *ret = h;
          *ret_payload = p;
          found = 1;
          continue;
        }
      guest_frame(m, &h, p);
      free(p);
    }
  return found;
}

/* Send a request of the daemon's own to the agent and wait for its answer (other frames keep
 * flowing to their clients meanwhile). */
static int
guest_call(daemon_t *m, unsigned type, const void *payload, size_t len, long timeout_ms, isolazi_error_t *err)
{
  uint32_t proc = m->next_proc++;
  long deadline = now_ms() + timeout_ms;
  vm_frame_header_t h;
  uint8_t *p = NULL;
  int r;

  /* Frames already buffered may hold the answer only after it was sent: none can yet. */
  if (vm_frame_write(m->guest, type, 0, proc, payload, len) < 0)
    return isolazi_error_errno(err, "send %s to the guest", vm_msg_type_name(type));
  for (;;)
    {
      struct pollfd pfd = { .fd = m->guest, .events = POLLIN };
      long left = deadline - now_ms();
      if (left <= 0)
        return isolazi_error_set(err, ETIMEDOUT, "%s: the guest did not answer", vm_msg_type_name(type));
      if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
        return isolazi_error_errno(err, "poll");
      if (!pfd.revents)
        continue;
      r = guest_pump(m, proc, &h, &p);
      if (r < 0)
        return isolazi_error_set(err, ECONNRESET, "%s: the guest's channel closed", vm_msg_type_name(type));
      if (r > 0)
        break;
    }
  if (h.type == VM_MSG_ERROR)
    {
      char *msg = NULL;
      int e = 0, st = 0;
      if (vm_error_decode(p, h.len, &e, &st, &msg) < 0)
        msg = xstrdup("malformed error");
      free(p);
      return isolazi_error_take(err, e, msg);
    }
  free(p);
  return 0;
}

/* ---- control requests ---------------------------------------------------------------------- */

static void
reply_error(int fd, const isolazi_error_t *e)
{
  size_t len;
  cleanup_free uint8_t *p = vm_error_encode(e->code, 1, e->msg != NULL ? e->msg : "failed", &len);

  if (p != NULL)
    (void)vm_frame_write(fd, VM_MSG_ERROR, 0, 0, p, len);
}

/* A host forward of the guest's port on SB_PEER_HOST_ADDR, for the relays of links to this
 * sandbox (peer.c).  Made on first use and kept while the VM runs. */
static int
expose(daemon_t *m, uint16_t guest, isolazi_error_t *err)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t sl = sizeof sin;
  cleanup_close int fd = -1;
  cleanup_free char *cmd = NULL;

  if (m->exposed_len == SB_PEER_MAX)
    return isolazi_error_set(err, 0, "expose port %u: at most %u ports are exposed", guest, SB_PEER_MAX);
  /* A free port: the kernel's pick, released just before slirp binds it. */
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  (void)inet_pton(AF_INET, SB_PEER_HOST_ADDR, &sin.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
    return isolazi_error_errno(err, "expose port %u: find a free port on " SB_PEER_HOST_ADDR, guest);
  close(steal_fd(&fd));
  cmd = xasprintf("hostfwd_add net0 tcp:" SB_PEER_HOST_ADDR ":%u-:%u", (unsigned)ntohs(sin.sin_port), guest);
  if (hmp(m, cmd, NULL, err) < 0)
    return isolazi_error_wrap(err, "expose port %u", guest);
  m->exposed[m->exposed_len].guest = guest;
  m->exposed[m->exposed_len].host = ntohs(sin.sin_port);
  m->exposed_len++;
  return 0;
}

static void
ctl(daemon_t *m, client_t *cl, const uint8_t *payload, size_t len)
{
  __attribute__((cleanup(json_valuep))) json_value *v = NULL;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *perr = NULL, *answer = NULL;
  const char *op;
  bool stop = false;

  v = json_parse((const char *)payload, len, &perr);
  op = v != NULL ? json_get_string(json_object_get(v, "op")) : NULL;
  if (op == NULL)
    isolazi_error_set(&err, 0, "control request: malformed");
  else if (strcmp(op, "ping") == 0)
    answer = xasprintf("{\"name\":\"%s\",\"pid\":%d}", m->name, (int)getpid());
  else if (strcmp(op, "snapshot") == 0)
    {
      const char *file = json_get_string(json_object_get(v, "file"));
      double t0 = sb_now_ms();
      uint8_t b[4];
      if (file == NULL || file[0] != '/')
        isolazi_error_set(&err, 0, "snapshot: an absolute `file` is required");
      else
        {
          vm_put_u32(b, 1);
          if (guest_call(m, VM_MSG_SB_FREEZE, b, 4, 10000, &err) == 0)
            {
              isolazi_error_t terr = ISOLAZI_ERROR_INIT;
              cleanup_free char *qf = json_quote(file), *line = NULL;
              line = xasprintf("{\"execute\":\"blockdev-snapshot-sync\",\"arguments\":{\"device\":\"disk0\","
                               "\"snapshot-file\":%s,\"format\":\"qcow2\",\"mode\":\"absolute-paths\"}}",
                               qf);
              if (qmp_execute(m, line, NULL, &err) < 0)
                isolazi_error_wrap(&err, "take a snapshot of the disk");
              vm_put_u32(b, 0);
              (void)guest_call(m, VM_MSG_SB_FREEZE, b, 4, 10000, &terr);
              isolazi_error_release(&terr);
            }
          if (err.msg == NULL)
            answer = xasprintf("{\"ms\":%.3f}", sb_now_ms() - t0);
        }
    }
  else if (strcmp(op, "hostfwd_add") == 0 || strcmp(op, "hostfwd_remove") == 0)
    {
      uint64_t host = 0, guest = 0;
      cleanup_free char *cmd = NULL;
      bool add = strcmp(op, "hostfwd_add") == 0;
      if (!json_get_uint64(json_object_get(v, "host"), &host) || host == 0 || host > 65535
          || (add && (!json_get_uint64(json_object_get(v, "guest"), &guest) || guest == 0 || guest > 65535)))
        isolazi_error_set(&err, 0, "%s: ports 1-65535 are required", op);
      else
        {
          cmd = add ? xasprintf("hostfwd_add net0 tcp:127.0.0.1:%u-:%u", (unsigned)host, (unsigned)guest)
                    : xasprintf("hostfwd_remove net0 tcp:127.0.0.1:%u", (unsigned)host);
          if (hmp(m, cmd, add ? NULL : "removed", &err) < 0)
            isolazi_error_wrap(&err, "%s host port %u", add ? "forward" : "stop forwarding", (unsigned)host);
          else
            answer = xstrdup("{}");
        }
    }
  else if (strcmp(op, "expose") == 0)
    {
      uint64_t guest = 0;
      size_t i;
      if (!json_get_uint64(json_object_get(v, "guest"), &guest) || guest == 0 || guest > 65535)
        isolazi_error_set(&err, 0, "expose: a port 1-65535 is required");
      else
        {
          for (i = 0; i < m->exposed_len && m->exposed[i].guest != guest; i++)
            ;
          if (i < m->exposed_len || expose(m, (uint16_t)guest, &err) == 0)
            answer = xasprintf("{\"host\":%u}", (unsigned)m->exposed[i].host);
        }
    }
  else if (strcmp(op, "adopt") == 0)
    {
      const char *name = json_get_string(json_object_get(v, "name"));
      const char *dir = json_get_string(json_object_get(v, "dir"));
      if (name == NULL || dir == NULL)
        isolazi_error_set(&err, 0, "adopt: `name` and `dir` are required");
      else
        {
          free(m->name);
          free(m->dir);
          m->name = xstrdup(name);
          m->dir = xstrdup(dir);
          answer = xstrdup("{}");
        }
    }
  else if (strcmp(op, "stop") == 0)
    {
      uint8_t b[4];
      isolazi_error_t ferr = ISOLAZI_ERROR_INIT;
      /* Flush the guest's file system first: the disk keeps everything written so far. */
      vm_put_u32(b, 1);
      (void)guest_call(m, VM_MSG_SB_FREEZE, b, 4, 10000, &ferr);
      isolazi_error_release(&ferr);
      answer = xstrdup("{}");
      stop = true;
    }
  else
    isolazi_error_set(&err, 0, "control request: unknown operation `%s`", op);

  if (err.msg != NULL)
    reply_error(cl->fd, &err);
  else
    (void)vm_frame_write(cl->fd, VM_MSG_SB_DONE, 0, 0, answer, strlen(answer));
  isolazi_error_release(&err);
  if (stop)
    {
      (void)qmp_execute(m, "{\"execute\":\"quit\"}", NULL, NULL);
      finish(m, NULL);
    }
}

static void
client_frame(daemon_t *m, client_t *cl, const vm_frame_header_t *h, const uint8_t *p)
{
  switch (h->type)
    {
    case VM_MSG_EXEC:
    case VM_MSG_SB_WRITE:
    case VM_MSG_SB_READ:
      if (cl->proc != 0)
        {
          isolazi_error_t e = ISOLAZI_ERROR_INIT;
          isolazi_error_set(&e, EBUSY, "one request at a time per connection");
          reply_error(cl->fd, &e);
          isolazi_error_release(&e);
          return;
        }
      cl->proc = m->next_proc++;
      cl->exec_running = h->type == VM_MSG_EXEC;
      (void)vm_frame_write(m->guest, h->type, 0, cl->proc, p, h->len);
      return;
    case VM_MSG_STDIN:
    case VM_MSG_SIGNAL:
    case VM_MSG_WINSIZE:
      if (cl->proc != 0 && cl->exec_running)
        (void)vm_frame_write(m->guest, h->type, h->flags, cl->proc, p, h->len);
      return;
    case VM_MSG_SB_CTL:
      ctl(m, cl, p, h->len);
      return;
    default:
      return;
    }
}

static void
accept_client(daemon_t *m)
{
  int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
  size_t i;

  if (fd < 0)
    return;
  for (i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd < 0)
      {
        memset(&m->clients[i], 0, sizeof m->clients[i]);
        m->clients[i].fd = fd;
        return;
      }
  close(fd);
}

static void
handle_signals(daemon_t *m)
{
  struct signalfd_siginfo si;

  while (read(m->sfd, &si, sizeof si) == sizeof si)
    {
      if (si.ssi_signo == SIGCHLD)
        {
          if (waitpid(m->qemu, &m->qemu_status, WNOHANG) == m->qemu)
            {
              cleanup_free char *why = qemu_death(m);
              finish(m, why);
            }
          continue;
        }
      /* SIGTERM and friends: stop as `stop` does. */
      (void)qmp_execute(m, "{\"execute\":\"quit\"}", NULL, NULL);
      finish(m, NULL);
    }
}

static void __attribute__((noreturn)) serve(daemon_t *m)
{
  for (;;)
    {
      struct pollfd pfd[4 + MAX_CLIENTS];
      client_t *map[MAX_CLIENTS];
      size_t n = 0, nc = 0, i;

      pfd[n++] = (struct pollfd){ .fd = m->guest, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = m->qmp.fd, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = m->lfd, .events = POLLIN };
      for (i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0)
          {
            map[nc++] = &m->clients[i];
            pfd[n++] = (struct pollfd){ .fd = m->clients[i].fd, .events = POLLIN };
          }
      if (poll(pfd, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          finish(m, "its daemon failed: poll");
        }
      if (pfd[1].revents)
        handle_signals(m);
      if (pfd[2].revents)
        {
          /* Events: drop whole lines, keep a partial one. */
          ssize_t r = read(m->qmp.fd, m->qmp.buf + m->qmp.len, sizeof m->qmp.buf - m->qmp.len);
          if (r > 0)
            {
              char *nl;
              m->qmp.len += (size_t)r;
              while ((nl = memchr(m->qmp.buf, '\n', m->qmp.len)) != NULL)
                {
                  size_t l = (size_t)(nl - m->qmp.buf) + 1;
                  memmove(m->qmp.buf, m->qmp.buf + l, m->qmp.len - l);
                  m->qmp.len -= l;
                }
              if (m->qmp.len == sizeof m->qmp.buf)
                m->qmp.len = 0;
            }
          else if (r == 0)
            {
              (void)waitpid(m->qemu, &m->qemu_status, 0);
              {
                cleanup_free char *why = qemu_death(m);
                finish(m, why);
              }
            }
        }
      if (pfd[0].revents && guest_pump(m, 0, NULL, NULL) < 0)
        {
          (void)waitpid(m->qemu, &m->qemu_status, 0);
          {
            cleanup_free char *why = qemu_death(m);
            finish(m, why);
          }
        }
      if (pfd[3].revents)
        accept_client(m);
      for (i = 0; i < nc; i++)
        if (pfd[4 + i].revents && map[i]->fd >= 0)
          {
            client_t *cl = map[i];
            uint8_t buf[65536], *p;
            vm_frame_header_t h;
            ssize_t r = read(cl->fd, buf, sizeof buf);
            int k = 0;
            if (r <= 0)
              {
                if (!(r < 0 && errno == EINTR))
                  client_close(m, cl);
                continue;
              }
            if (vm_frame_reader_feed(&cl->r, buf, (size_t)r) < 0)
              {
                client_close(m, cl);
                continue;
              }
            while (cl->fd >= 0 && (k = vm_frame_reader_next(&cl->r, &h, &p)) > 0)
              {
                client_frame(m, cl, &h, p);
                free(p);
              }
            if (cl->fd >= 0 && k < 0)
              client_close(m, cl);
          }
    }
}

/* ---- boot ------------------------------------------------------------------------------------ */

static int
boot_wait(daemon_t *m, long deadline, const char *what, vm_frame_header_t *ret, uint8_t **ret_payload,
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
        return isolazi_error_set(err, 0, "%s: the guest sent a malformed frame", what);
      if (left <= 0)
        {
          cleanup_free char *tail = tail_of(m->dirfd, SB_CONSOLE_LOG);
          return isolazi_error_set(err, ETIMEDOUT, "%s: the guest did not answer within %u s%s%s", what,
                                   m->boot_timeout_ms / 1000, tail ? "; console: " : "", tail ? tail : "");
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
              cleanup_free char *why = qemu_death(m);
              return isolazi_error_set(err, 0, "%s: %s", what, why);
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
              (void)waitpid(m->qemu, &m->qemu_status, 0);
              {
                cleanup_free char *why = qemu_death(m);
                return isolazi_error_set(err, 0, "%s: %s", what, why);
              }
            }
          if (vm_frame_reader_feed(&m->gr, buf, (size_t)n) < 0)
            return isolazi_error_set(err, ENOMEM, "%s", what);
        }
    }
}

static int
listen_at(daemon_t *m, isolazi_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/" SB_SOCKET, m->dirfd);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "create a socket");
  (void)unlinkat(m->dirfd, SB_SOCKET, 0);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0)
    return isolazi_error_errno(err, "listen on `%s/" SB_SOCKET "`", m->dir);
  return steal_fd(&fd);
}

typedef struct boot_args
{
  char **qemu_argv;
  bool network;
  unsigned boot_timeout_ms;
  const char *accel;
} boot_args_t;

static void __attribute__((noreturn)) daemon_main(daemon_t *m, const boot_args_t *b, int sync_fd)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free uint8_t *payload = NULL, *setup = NULL;
  cleanup_close int logfd = -1;
  int serial[2], qmp[2], devnull;
  vm_frame_header_t h;
  sb_runtime_t rt = { 0 };
  double t0 = sb_now_ms();
  size_t setup_len = 0;
  sigset_t mask;
  long deadline;

  signal(SIGPIPE, SIG_IGN);
  /* In ps: what it is, not the command line of the caller it was forked from. */
  (void)prctl(PR_SET_NAME, "isolazi-sandbox", 0, 0, 0);
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0)
    {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
      close(devnull);
    }
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  m->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  (void)unlinkat(m->dirfd, SB_STOP_REASON, 0);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, serial) < 0
      || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
    {
      isolazi_error_errno(&err, "create sockets for QEMU");
      goto fail;
    }
  logfd = openat(m->dirfd, SB_QEMU_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0)
    {
      isolazi_error_errno(&err, "create `" SB_QEMU_LOG "`");
      goto fail;
    }
  m->qemu = vm_qemu_spawn(b->qemu_argv, serial[1], qmp[1], logfd, &err);
  close(serial[1]);
  close(qmp[1]);
  m->guest = serial[0];
  m->qmp.fd = qmp[0];
  if (m->qemu < 0)
    {
      m->qemu = 0;
      isolazi_error_wrap(&err, "start the VM");
      goto fail;
    }
  deadline = now_ms() + m->boot_timeout_ms;
  if (vm_qmp_handshake(&m->qmp, (int)m->boot_timeout_ms, &err) < 0)
    {
      cleanup_free char *tail = tail_of(m->dirfd, SB_QEMU_LOG);
      if (tail != NULL)
        isolazi_error_wrap(&err, "start the VM: %s", tail);
      goto fail;
    }
  if (boot_wait(m, deadline, "boot the VM", &h, &payload, &err) < 0)
    goto fail;
  if (h.type != VM_MSG_HELLO)
    {
      isolazi_error_set(&err, 0, "boot the VM: expected HELLO from the agent, got %s", vm_msg_type_name(h.type));
      goto fail;
    }
  free(steal_pointer(&payload));
  setup = sb_setup_encode(b->network ? SB_SETUP_NETWORK : 0, "sandbox", &setup_len);
  if (setup == NULL || vm_frame_write(m->guest, VM_MSG_SB_SETUP, 0, 0, setup, setup_len) < 0)
    {
      isolazi_error_errno(&err, "send the sandbox's setup to the VM");
      goto fail;
    }
  if (boot_wait(m, deadline + 30000, "set up the sandbox in the VM", &h, &payload, &err) < 0)
    goto fail;
  if (h.type == VM_MSG_ERROR)
    {
      char *msg = NULL;
      int e = 0, st = 0;
      if (vm_error_decode(payload, h.len, &e, &st, &msg) < 0)
        isolazi_error_set(&err, 0, "set up the sandbox in the VM: malformed error");
      else
        isolazi_error_take(&err, e, msg);
      goto fail;
    }
  if (h.type != VM_MSG_SB_DONE)
    {
      isolazi_error_set(&err, 0, "set up the sandbox in the VM: unexpected %s", vm_msg_type_name(h.type));
      goto fail;
    }
  m->lfd = listen_at(m, &err);
  if (m->lfd < 0)
    goto fail;
  rt.pid = getpid();
  rt.pid_start = isolazi_process_start_time(rt.pid);
  rt.qemu_pid = m->qemu;
  rt.accel = (char *)b->accel;
  rt.boot_ms = sb_now_ms() - t0;
  if (sb_runtime_save(m->dirfd, &rt, &err) < 0)
    goto fail;
  (void)isolazi_write_all(sync_fd, "0", 1);
  close(sync_fd);
  serve(m);

fail:
  {
    cleanup_free char *msg = xasprintf("1%s", err.msg != NULL ? err.msg : "unknown error");
    (void)isolazi_write_all(sync_fd, msg, strlen(msg));
    close(sync_fd);
    finish(m, msg + 1);
  }
}

static void
argv_add(char ***v, char *s)
{
  size_t n = 0;

  while ((*v)[n] != NULL)
    n++;
  *v = xrealloc(*v, (n + 2) * sizeof **v);
  (*v)[n] = s;
  (*v)[n + 1] = NULL;
}

static unsigned
boot_timeout_s(const isolazi_sandbox_ctx_t *c)
{
  const char *env = getenv("ISOLAZI_VM_BOOT_TIMEOUT");

  if (c->vm != NULL && c->vm->boot_timeout > 0)
    return c->vm->boot_timeout;
  if (env != NULL && atoi(env) > 0)
    return (unsigned)atoi(env);
  return 60;
}

/* s with every ',' doubled: QEMU's option syntax. */
static char *
qemu_opt_escape(const char *s)
{
  char *out = xmalloc(2 * strlen(s) + 1), *o = out;

  for (; *s; s++)
    {
      *o++ = *s;
      if (*s == ',')
        *o++ = ',';
    }
  *o = '\0';
  return out;
}

/* The links' guestfwds (peer.c): a connection to addr:port in the guest runs
 * `isolazi-vm sandbox _relay FROM TO PORT`, this very program, with the connection on its stdin
 * and stdout.  libslirp splits the command as a shell would (g_shell_parse_argv), without one. */
static int
add_peers(const isolazi_sandbox_ctx_t *c, const sb_state_t *s, char **net, isolazi_error_t *err)
{
  cleanup_free char *exe = realpath("/proc/self/exe", NULL), *root = sb_root(c);
  size_t i;

  if (exe == NULL)
    return isolazi_error_errno(err, "find the program for the links' relays");
  if (strchr(exe, '\'') != NULL || strchr(root, '\'') != NULL)
    return isolazi_error_set(err, EINVAL, "links need a program and a sandbox root without `'` in their paths");
  for (i = 0; i < s->peers_len; i++)
    {
      cleanup_free char *cmd = xasprintf("'%s' sandbox --sandbox-root '%s' _relay %s %s %u", exe, root, s->name,
                                         s->peers[i].to, s->peers[i].port);
      cleanup_free char *esc = qemu_opt_escape(cmd);
      char *more = xasprintf("%s,guestfwd=tcp:%s:%u-cmd:%s", *net, s->peers[i].addr, s->peers[i].port, esc);
      free(*net);
      *net = more;
    }
  return 0;
}

int
sb_daemon_start(const isolazi_sandbox_ctx_t *c, const char *dir, const sb_state_t *s, isolazi_error_t *err)
{
  cleanup_free char *initrd = NULL, *console = NULL, *net = NULL;
  cleanup_strv char **argv = NULL;
  vm_kernel_t kernel = { 0 };
  vm_qemu_config_t q = { 0 };
  const char *accel;
  bool internet = s->network != NULL && strcmp(s->network, "internet") == 0;
  char buf[4096];
  size_t len = 0, i;
  ssize_t n;
  int sp[2], st, r = -1;
  pid_t pid;

  if (vm_kernel_find(c->vm != NULL ? c->vm->kernel : NULL, &kernel, err) < 0)
    return -1;
  if (sb_initramfs_get(&kernel, &initrd, err) < 0)
    goto out;
  accel = vm_qemu_pick_accel(NULL, c->vm != NULL ? c->vm->accel : NULL, &kernel, err);
  if (accel == NULL)
    goto out;
  console = xasprintf("%s/" SB_CONSOLE_LOG, dir);
  q = (vm_qemu_config_t){ .kernel = kernel.vmlinuz,
                          .initrd = initrd,
                          .console_log = console,
                          .accel = accel,
                          .tsc_khz = strcmp(accel, "tcg") == 0 ? vm_host_tsc_khz() : 0,
                          .ram_mib = s->memory_mib,
                          .vcpus = s->cpus,
                          .serial_fd = 3,
                          .qmp_fd = 4 };
  argv = vm_qemu_argv(&q);
  argv_add(&argv, xstrdup("-drive"));
  argv_add(&argv, xasprintf("id=disk0,file=%s,format=qcow2,if=none,discard=unmap", s->active));
  argv_add(&argv, xstrdup("-device"));
  argv_add(&argv, xstrdup("virtio-blk-device,drive=disk0"));
  /* Always a NIC, so that port forwards can be added live; `restrict=on` cuts the guest off
   * from the host and the outside except for those forwards (QEMU's user-mode network). */
  net = xasprintf("user,id=net0,restrict=%s", internet ? "off" : "on");
  for (i = 0; i < s->ports_len; i++)
    {
      char *more = xasprintf("%s,hostfwd=tcp:127.0.0.1:%u-:%u", net, s->ports[i].host, s->ports[i].guest);
      free(net);
      net = more;
    }
  if (s->peers_len > 0 && add_peers(c, s, &net, err) < 0)
    goto out;
  argv_add(&argv, xstrdup("-netdev"));
  argv_add(&argv, steal_pointer(&net));
  argv_add(&argv, xstrdup("-device"));
  argv_add(&argv, xstrdup("virtio-net-device,netdev=net0"));
  if (isolazi_log_debug_enabled())
    {
      cleanup_free char *line = xstrdup("");
      for (i = 0; argv[i] != NULL; i++)
        {
          char *l = xasprintf("%s%s%s", line, i ? " " : "", argv[i]);
          free(line);
          line = l;
        }
      isolazi_debug("sandbox %s: %s", s->name, line);
    }

  if (pipe2(sp, O_CLOEXEC) < 0)
    {
      isolazi_error_errno(err, "create a pipe");
      goto out;
    }
  pid = fork();
  if (pid < 0)
    {
      isolazi_error_errno(err, "fork the sandbox's daemon");
      close(sp[0]);
      close(sp[1]);
      goto out;
    }
  if (pid == 0)
    {
      /* Twice, so that the daemon is nobody's child but init's (or a subreaper's): the caller
       * (a CLI call, the MCP server) does not have to reap it. */
      daemon_t m;
      boot_args_t b = { .qemu_argv = argv, .network = true, .accel = accel };
      int keep[1] = { sp[1] };
      close(sp[0]);
      (void)setsid();
      if (fork() != 0)
        _exit(0);
      /* Nothing of the caller's: not its locks (flock goes with the open file), not its sockets. */
      (void)isolazi_close_fds_from(3, keep, 1, NULL);
      memset(&m, 0, sizeof m);
      m.dir = xstrdup(dir);
      m.name = xstrdup(s->name);
      m.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      m.guest = m.sfd = m.lfd = -1;
      m.qmp.fd = -1;
      m.qemu_status = -1;
      m.next_proc = 1;
      m.boot_timeout_ms = boot_timeout_s(c) * 1000;
      for (i = 0; i < MAX_CLIENTS; i++)
        m.clients[i].fd = -1;
      if (m.dirfd < 0)
        _exit(1);
      daemon_main(&m, &b, sp[1]);
    }
  close(sp[1]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  while ((n = read(sp[0], buf + len, sizeof buf - 1 - len)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      len += (size_t)n;
  close(sp[0]);
  buf[len] = '\0';
  if (len == 0 || buf[0] != '0')
    {
      isolazi_error_set(err, 0, "%s", len > 1 ? buf + 1 : "start the VM: its daemon exited");
      goto out;
    }
  r = 0;
out:
  vm_kernel_release(&kernel);
  return r;
}

int
sb_daemon_stop(int dirfd, unsigned timeout_ms, isolazi_error_t *err)
{
  sb_runtime_t rt;
  cleanup_free char *reply = NULL;
  double deadline;
  int running = sb_runtime_get(dirfd, &rt, NULL);

  if (running <= 0)
    return 0;
  (void)sb_ctl(dirfd, "", "{\"op\":\"stop\"}", &reply, NULL);
  deadline = sb_now_ms() + timeout_ms;
  while (sb_alive(rt.pid, rt.pid_start) && sb_now_ms() < deadline)
    usleep(20000);
  if (sb_alive(rt.pid, rt.pid_start))
    {
      (void)kill(rt.pid, SIGKILL);
      if (rt.qemu_pid > 0)
        (void)kill(rt.qemu_pid, SIGKILL);
      deadline = sb_now_ms() + 5000;
      while (sb_alive(rt.pid, rt.pid_start) && sb_now_ms() < deadline)
        usleep(20000);
    }
  (void)unlinkat(dirfd, SB_SOCKET, 0);
  (void)unlinkat(dirfd, SB_RUNTIME, 0);
  sb_runtime_release(&rt);
  (void)err;
  return 0;
}
