/* SPDX-License-Identifier: Apache-2.0 */
/* Links between sandboxes: `policy A --allow-to B:PORT` lets A connect to B's guest port, and
 * nothing else of B.  QEMU's user-mode network gives each sandbox a network of its own, so a
 * link is made of three parts:
 *
 *   - in A: a slirp `guestfwd` at boot, an address of A's network (10.0.2.100 and up, one per
 *     target sandbox) whose connections run a relay (`isolazi-vm sandbox _relay`) per connection,
 *     with the connection as its stdin and stdout;
 *   - the relay: checks A's state.json at each connection (so `--deny-to` takes effect at once,
 *     without a restart), asks B's daemon to expose the port, and copies bytes both ways;
 *   - in B: the daemon's `expose`, a host forward bound to SB_PEER_HOST_ADDR, a loopback address
 *     slirp does not map: a sandbox with `internet` reaches the host's 127.0.0.1 as 10.0.2.2,
 *     and so would reach the forward if it were there. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const sb_peer_t *
sb_state_find_peer(const sb_state_t *s, const char *to, uint16_t port)
{
  size_t i;

  for (i = 0; i < s->peers_len; i++)
    if (strcmp(s->peers[i].to, to) == 0 && s->peers[i].port == port)
      return &s->peers[i];
  return NULL;
}

/* The guest address of `to` in s: the one its other links use, else the lowest free one. */
static char *
peer_addr(const sb_state_t *s, const char *to)
{
  unsigned k;
  size_t i;

  for (i = 0; i < s->peers_len; i++)
    if (strcmp(s->peers[i].to, to) == 0)
      return xstrdup(s->peers[i].addr);
  for (k = 0; k < SB_PEER_MAX; k++)
    {
      cleanup_free char *a = xasprintf(SB_PEER_NET "%u", SB_PEER_FIRST + k);
      for (i = 0; i < s->peers_len; i++)
        if (strcmp(s->peers[i].addr, a) == 0)
          break;
      if (i == s->peers_len)
        return steal_pointer(&a);
    }
  return NULL;
}

static bool
running(int dirfd)
{
  sb_runtime_t rt;
  int r = sb_runtime_get(dirfd, &rt, NULL);

  sb_runtime_release(&rt);
  return r > 0;
}

int
isolazi_sandbox_allow(const isolazi_sandbox_ctx_t *c, const char *name, const char *to, uint16_t port, char **ret_addr,
                      bool *ret_restarted, isolazi_error_t *err)
{
  sb_handle_t h;
  sb_peer_t *p;
  char *addr;
  int r = -1;

  *ret_restarted = false;
  if (isolazi_sandbox_name_validate(to, err) < 0)
    return -1;
  if (port == 0)
    return isolazi_error_set(err, 0, "invalid port 0: expected 1-65535");
  if (strcmp(name, to) == 0)
    return isolazi_error_set(err, 0, "sandbox `%s` cannot be linked to itself", name);
  if (sb_open(c, name, &h, err) < 0)
    goto out;
  if (sb_state_find_peer(&h.st, to, port) != NULL)
    {
      /* Already allowed: nothing changes, nothing restarts. */
      if (ret_addr != NULL)
        *ret_addr = xstrdup(sb_state_find_peer(&h.st, to, port)->addr);
      r = 0;
      goto out;
    }
  addr = peer_addr(&h.st, to);
  if (addr == NULL)
    {
      isolazi_error_set(err, 0, "sandbox `%s` already links to %u sandboxes, the most it can", name, SB_PEER_MAX);
      goto out;
    }
  h.st.peers = xrealloc(h.st.peers, (h.st.peers_len + 1) * sizeof *h.st.peers);
  p = &h.st.peers[h.st.peers_len++];
  p->to = xstrdup(to);
  p->port = port;
  p->addr = addr;
  if (sb_state_save(h.dirfd, &h.st, err) < 0)
    goto out;
  if (ret_addr != NULL)
    *ret_addr = xstrdup(addr);
  r = 0;
  /* A guestfwd is made with the network, at boot: a running sandbox restarts (its disk stays). */
  if (running(h.dirfd))
    {
      if (sb_daemon_stop(h.dirfd, 10000, err) < 0 || sb_daemon_start(c, h.dir, &h.st, err) < 0)
        r = isolazi_error_wrap(err, "restart sandbox `%s` with a link to `%s`", name, to);
      else
        *ret_restarted = true;
    }
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_deny(const isolazi_sandbox_ctx_t *c, const char *name, const char *to, uint16_t port,
                     isolazi_error_t *err)
{
  const sb_peer_t *p;
  sb_handle_t h;
  size_t i;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    goto out;
  p = sb_state_find_peer(&h.st, to, port);
  if (p == NULL)
    {
      isolazi_error_set(err, 0, "sandbox `%s` is not allowed to connect to `%s` port %u", name, to, port);
      goto out;
    }
  i = (size_t)(p - h.st.peers);
  free(h.st.peers[i].to);
  free(h.st.peers[i].addr);
  memmove(&h.st.peers[i], &h.st.peers[i + 1], (h.st.peers_len - i - 1) * sizeof *h.st.peers);
  h.st.peers_len--;
  /* No restart: the relay reads the state at every connection and refuses from now on.  A
   * connection already open stays until either end closes it. */
  r = sb_state_save(h.dirfd, &h.st, err);
out:
  sb_close(&h);
  return r;
}

/* The state of a sandbox, read without its lock (state.json is replaced atomically). */
static int
peek(int rootfd, const char *name, int *ret_dirfd, sb_state_t *ret, isolazi_error_t *err)
{
  cleanup_free char *rel = xasprintf(SB_DIR_SANDBOXES "/%s", name);
  cleanup_close int fd = -1;

  if (isolazi_sandbox_name_validate(name, err) < 0)
    return -1;
  fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_set(err, errno, "sandbox `%s` does not exist", name);
  if (sb_state_load(fd, ret, err) < 0)
    return -1;
  *ret_dirfd = steal_fd(&fd);
  return 0;
}

/* Copy between a and b until both directions ended. */
static void
splice_both(int a, int b)
{
  bool a_open = true, b_open = true;
  char buf[65536];

  while (a_open || b_open)
    {
      struct pollfd p[2] = { { .fd = a_open ? a : -1, .events = POLLIN }, { .fd = b_open ? b : -1, .events = POLLIN } };
      int i;

      if (poll(p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      for (i = 0; i < 2; i++)
        {
          int from = i == 0 ? a : b, to = i == 0 ? b : a;
          bool *open = i == 0 ? &a_open : &b_open;
          ssize_t n;
          if (!*open || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          n = read(from, buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || isolazi_write_all(to, buf, (size_t)n) < 0)
            {
              *open = false;
              (void)shutdown(to, SHUT_WR);
              if (n < 0 || n > 0)
                return; /* a reset or a peer gone: drop the connection */
            }
        }
    }
}

int
isolazi_sandbox_relay(const isolazi_sandbox_ctx_t *c, const char *from, const char *to, uint16_t port, int fd,
                      isolazi_error_t *err)
{
  __attribute__((cleanup(sb_state_release))) sb_state_t a = { 0 }, b = { 0 };
  cleanup_close int rootfd = -1, afd = -1, bfd = -1, s = -1;
  cleanup_free char *req = NULL, *reply = NULL, *perr = NULL;
  struct sockaddr_in sin = { .sin_family = AF_INET };
  json_value *v;
  uint64_t host = 0;

  rootfd = sb_root_open(c, NULL, err);
  if (rootfd < 0)
    return -1;
  if (peek(rootfd, from, &afd, &a, err) < 0)
    return -1;
  if (sb_state_find_peer(&a, to, port) == NULL)
    return isolazi_error_set(err, EACCES, "sandbox `%s` is not allowed to connect to `%s` port %u", from, to, port);
  if (peek(rootfd, to, &bfd, &b, err) < 0)
    return -1;
  req = xasprintf("{\"op\":\"expose\",\"guest\":%u}", port);
  if (sb_ctl(bfd, to, req, &reply, err) < 0)
    return -1;
  v = reply != NULL ? json_parse(reply, strlen(reply), &perr) : NULL;
  if (v == NULL || !json_get_uint64(json_object_get(v, "host"), &host) || host == 0 || host > 65535)
    {
      json_value_free(v);
      return isolazi_error_set(err, EPROTO, "expose port %u of sandbox `%s`: malformed answer", port, to);
    }
  json_value_free(v);
  s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return isolazi_error_errno(err, "create a socket");
  sin.sin_port = htons((uint16_t)host);
  (void)inet_pton(AF_INET, SB_PEER_HOST_ADDR, &sin.sin_addr);
  if (connect(s, (struct sockaddr *)&sin, sizeof sin) < 0)
    return isolazi_error_errno(err, "connect to sandbox `%s` port %u", to, port);
  splice_both(fd, s);
  return 0;
}
