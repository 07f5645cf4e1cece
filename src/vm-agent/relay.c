/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's side of the shares (src/vm/share.h): one FUSE connection per shared directory,
 * whose requests go, untouched, to the host's share server over the share port, and whose
 * replies come back the same way.
 *
 * The relay is a thread of the agent rather than a process: pid 1's threads are out of reach
 * of the container's kill(-1, ...) and of `kill --all`, they are not in `ps`, and they end
 * with the guest.  It only reads and writes fds (no malloc after it starts, no locks), so the
 * agent's fork()s for the container's processes are as safe as without it.
 *
 * It never blocks on the port: requests wait in a queue written as the port takes them, and
 * the FUSE devices are read only while that queue is short, so the host can always write its
 * replies (the guest reads the port all the time) whatever the load. */
#define _GNU_SOURCE
#include "config.h"
#include "agent.h"
#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Past this many queued bytes for the host, stop reading requests. */
#define RELAY_QUEUE_HIGH (1024 * 1024)
/* The smallest FUSE reply: struct fuse_out_header (len, error, unique). */
#define FUSE_OUT_HEADER_SIZE 16

static void
set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);

  if (fl >= 0)
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

typedef struct relay
{
  int port;
  int *fds;
  size_t n;
  uint8_t *out; /* frames for the host: out[off .. len) pending */
  size_t off, len, cap;
  uint8_t *in; /* bytes from the host not yet a whole frame */
  size_t in_len;
  uint8_t *req; /* one request, after room for its frame header */
} relay_t;

static int
queue_request(relay_t *r, uint32_t share, size_t len)
{
  size_t need = VM_SHARE_FRAME_HEADER + len;

  if (r->off > 0 && r->off == r->len)
    r->off = r->len = 0;
  if (r->len + need > r->cap)
    {
      size_t cap = r->cap ? r->cap : 65536;
      uint8_t *b;
      if (r->off > 0)
        {
          memmove(r->out, r->out + r->off, r->len - r->off);
          r->len -= r->off;
          r->off = 0;
        }
      while (cap < r->len + need)
        cap *= 2;
      if (cap != r->cap)
        {
          b = realloc(r->out, cap);
          if (b == NULL)
            return -ENOMEM;
          r->out = b;
          r->cap = cap;
        }
    }
  vm_put_u32(r->req, share);
  vm_put_u32(r->req + 4, (uint32_t)len);
  memcpy(r->out + r->len, r->req, need);
  r->len += need;
  return 0;
}

static int
flush_port(relay_t *r)
{
  while (r->off < r->len)
    {
      ssize_t n = write(r->port, r->out + r->off, r->len - r->off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      if (n < 0)
        return -errno;
      r->off += (size_t)n;
    }
  r->off = r->len = 0;
  return 0;
}

/* Whole frames from the host: each reply to its share's device, in one write. */
static int
deliver_replies(relay_t *r)
{
  size_t used = 0;

  while (r->in_len - used >= VM_SHARE_FRAME_HEADER)
    {
      uint32_t share = vm_get_u32(r->in + used), len = vm_get_u32(r->in + used + 4);
      if (len < FUSE_OUT_HEADER_SIZE || len > VM_SHARE_FRAME_MAX)
        return -EPROTO;
      if (r->in_len - used < VM_SHARE_FRAME_HEADER + (size_t)len)
        break;
      /* An error here is the kernel's business: ENOENT is a request that was interrupted
       * meanwhile, and a gone share has nobody to tell. */
      if (share < r->n && r->fds[share] >= 0)
        (void)!write(r->fds[share], r->in + used + VM_SHARE_FRAME_HEADER, len);
      used += VM_SHARE_FRAME_HEADER + (size_t)len;
    }
  memmove(r->in, r->in + used, r->in_len - used);
  r->in_len -= used;
  return 0;
}

int
agent_share_relay(int port, agent_shares_t *sh)
{
  int *fds = sh->fds;
  size_t n = sh->n;
  relay_t r = { .port = port, .fds = fds, .n = n };
  struct pollfd *pfd = calloc(n + 2, sizeof *pfd);
  bool *on = calloc(n + 1, sizeof *on);
  int result = -ENOMEM;
  size_t i;

  r.in = malloc(VM_SHARE_FRAME_HEADER + VM_SHARE_FRAME_MAX);
  r.req = malloc(VM_SHARE_FRAME_HEADER + VM_SHARE_FRAME_MAX);
  if (pfd == NULL || on == NULL || r.in == NULL || r.req == NULL)
    goto out;
  set_nonblock(port);
  for (;;)
    {
      bool busy = r.len - r.off >= RELAY_QUEUE_HIGH, live = false;

      /* A device is read once its share is mounted: before that it has no connection (poll
       * says POLLERR, read EPERM). */
      for (i = 0; i < n; i++)
        if (!on[i] && fds[i] >= 0 && __atomic_load_n(&sh->mounted[i], __ATOMIC_ACQUIRE))
          {
            on[i] = true;
            set_nonblock(fds[i]);
          }
      pfd[0] = (struct pollfd){ .fd = port, .events = (short)(POLLIN | (r.len > r.off ? POLLOUT : 0)) };
      for (i = 0; i < n; i++)
        {
          live = live || fds[i] >= 0;
          pfd[i + 1] = (struct pollfd){ .fd = busy || !on[i] ? -1 : fds[i], .events = POLLIN };
        }
      pfd[n + 1] = (struct pollfd){ .fd = sh->wake, .events = POLLIN };
      if (!live && r.len == r.off)
        {
          result = 0;
          goto out;
        }
      if (poll(pfd, n + 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          result = -errno;
          goto out;
        }
      if ((pfd[0].revents & (POLLOUT | POLLERR | POLLHUP)) && r.len > r.off && (result = flush_port(&r)) < 0)
        goto out;
      if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP))
        {
          ssize_t k = read(port, r.in + r.in_len, VM_SHARE_FRAME_HEADER + VM_SHARE_FRAME_MAX - r.in_len);
          if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
            {
              result = k == 0 ? -ECONNRESET : -errno;
              goto out;
            }
          if (k > 0)
            {
              r.in_len += (size_t)k;
              if ((result = deliver_replies(&r)) < 0)
                goto out;
            }
        }
      for (i = 0; i < n; i++)
        {
          ssize_t k;
          if (fds[i] < 0 || !(pfd[i + 1].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
          /* One request per read; the buffer must hold the largest (a WRITE of max_write). */
          k = read(fds[i], r.req + VM_SHARE_FRAME_HEADER, VM_SHARE_FRAME_MAX);
          if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
            continue; /* ENOENT: the request was interrupted before we read it */
          if (k <= 0)
            {
              /* ENODEV: unmounted; the share is over. */
              close(fds[i]);
              fds[i] = -1;
              continue;
            }
          if ((result = queue_request(&r, (uint32_t)i, (size_t)k)) < 0)
            goto out;
        }
      if (r.len > r.off && (result = flush_port(&r)) < 0)
        goto out;
      if (sh->wake >= 0 && pfd[n + 1].revents)
        {
          uint64_t v;
          (void)!read(sh->wake, &v, sizeof v);
        }
    }
out:
  /* Closing the devices aborts the connections: whoever waits on a share gets ENOTCONN
   * instead of waiting for ever. */
  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      {
        close(fds[i]);
        fds[i] = -1;
      }
  free(pfd);
  free(on);
  free(r.in);
  free(r.req);
  free(r.out);
  return result;
}

static int relay_port = -1;

static void *
relay_thread(void *p)
{
  int r = agent_share_relay(relay_port, p);

  if (r < 0 && r != -ECONNRESET)
    fprintf(stderr, "isolazi-vm-agent: the share relay stopped: %s\n", agent_strerror(-r));
  close(relay_port);
  return NULL;
}

static bool
is_share(const vm_mount_t *m)
{
  return m->type != NULL && strcmp(m->type, VM_SHARE_MOUNT_TYPE) == 0;
}

int
agent_shares_start(const vm_spec_t *s, agent_shares_t *ret, char *msg, size_t msglen)
{
  pthread_t thread;
  int *fds = NULL, *mounted = NULL, port, wake = -1, e;
  size_t i, n = 0;

  memset(ret, 0, sizeof *ret);
  ret->wake = -1;
  for (i = 0; i < s->mounts_len; i++)
    if (is_share(&s->mounts[i]))
      {
        /* The host numbers them in order: a share's source is its index. */
        char want[32];
        snprintf(want, sizeof want, "%zu", n);
        if (s->mounts[i].source == NULL || strcmp(s->mounts[i].source, want) != 0)
          {
            snprintf(msg, msglen, "mount the share on `%s`: bad share index `%s`", s->mounts[i].destination,
                     s->mounts[i].source != NULL ? s->mounts[i].source : "");
            return -EPROTO;
          }
        n++;
      }
  if (n == 0)
    return 0;
  fds = calloc(n, sizeof *fds);
  mounted = calloc(n, sizeof *mounted);
  wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fds == NULL || mounted == NULL || wake < 0)
    {
      e = fds == NULL || mounted == NULL ? ENOMEM : errno;
      snprintf(msg, msglen, "mount the shares: %s", agent_strerror(e));
      n = 0;
      goto fail;
    }
  /* Every device first: the relay must run before the first mount, whose FUSE_INIT (and the
   * mount points of nested mounts) it carries. */
  for (i = 0, n = 0; i < s->mounts_len; i++)
    {
      const vm_mount_t *m = &s->mounts[i];
      if (!is_share(m))
        continue;
      fds[n] = open("/dev/fuse", O_RDWR | O_CLOEXEC);
      if (fds[n] < 0)
        {
          e = errno;
          snprintf(msg, msglen, "config.json: %s: mount the share on `%s`: open `/dev/fuse`: %s%s",
                   m->data != NULL ? m->data : "mounts", m->destination, agent_strerror(e),
                   e == ENOENT || e == ENODEV ? " (the guest's kernel has no FUSE)" : "");
          goto fail;
        }
      n++;
    }
  port = agent_port_open(VM_SHARE_PORT_NAME, msg, msglen);
  if (port < 0)
    {
      e = -port;
      goto fail;
    }
  *ret = (agent_shares_t){ .fds = fds, .mounted = mounted, .n = n, .wake = wake };
  relay_port = port;
  e = pthread_create(&thread, NULL, relay_thread, ret);
  if (e != 0)
    {
      close(port);
      snprintf(msg, msglen, "start the share relay: %s", agent_strerror(e));
      goto fail;
    }
  (void)pthread_detach(thread);
  return 0;
fail:
  memset(ret, 0, sizeof *ret);
  ret->wake = -1;
  for (i = 0; i < n; i++)
    close(fds[i]);
  free(fds);
  free(mounted);
  if (wake >= 0)
    close(wake);
  return -e;
}
