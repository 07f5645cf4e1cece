/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "sync.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct wire_header
{
  uint32_t type;
  int32_t errnum;
  uint32_t len;
};

int
isolazi_sync_send(int fd, isolazi_sync_type_t type, int errnum, const char *payload, isolazi_error_t *err)
{
  struct wire_header h = { (uint32_t)type, errnum, 0 };
  struct iovec iov[2];
  struct msghdr mh = { 0 };
  ssize_t r;

  h.len = payload != NULL ? (uint32_t)strnlen(payload, ISOLAZI_SYNC_MAX_PAYLOAD) : 0;
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  iov[1].iov_base = (void *)payload;
  iov[1].iov_len = h.len;
  mh.msg_iov = iov;
  mh.msg_iovlen = h.len > 0 ? 2 : 1;
  do
    r = sendmsg(fd, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return isolazi_error_errno(err, "send sync message %u", (unsigned)type);
  return 0;
}

void
isolazi_sync_send_error(int fd, const isolazi_error_t *e)
{
  (void)isolazi_sync_send(fd, SYNC_ERROR, e->code, e->msg != NULL ? e->msg : "unknown error", NULL);
}

int
isolazi_sync_recv(int fd, isolazi_sync_msg_t *ret, isolazi_error_t *err)
{
  cleanup_free char *buf = xmalloc(sizeof(struct wire_header) + ISOLAZI_SYNC_MAX_PAYLOAD + 1);
  struct wire_header h;
  ssize_t r;

  do
    r = recv(fd, buf, sizeof(struct wire_header) + ISOLAZI_SYNC_MAX_PAYLOAD, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      if (errno == ECONNRESET)
        return 0;
      return isolazi_error_errno(err, "receive sync message");
    }
  if (r == 0)
    return 0;
  if ((size_t)r < sizeof h)
    return isolazi_error_set(err, 0, "receive sync message: short message (%zd bytes)", r);
  memcpy(&h, buf, sizeof h);
  if (h.len != (size_t)r - sizeof h)
    return isolazi_error_set(err, 0, "receive sync message: bad length %u", h.len);
  ret->type = (isolazi_sync_type_t)h.type;
  ret->errnum = h.errnum;
  ret->len = h.len;
  ret->payload = NULL;
  if (h.len > 0)
    {
      ret->payload = xmalloc(h.len + 1);
      memcpy(ret->payload, buf + sizeof h, h.len);
      ret->payload[h.len] = '\0';
    }
  return 1;
}

int
isolazi_sync_expect(int fd, isolazi_sync_type_t type, const char *what, isolazi_sync_msg_t *ret, isolazi_error_t *err)
{
  isolazi_sync_msg_t m = { 0 };
  int r;

  r = isolazi_sync_recv(fd, &m, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return isolazi_error_set(err, 0, "%s: the container init exited unexpectedly", what);
  if (m.type == SYNC_ERROR)
    {
      /* The init's message is complete: pass it on as is. */
      isolazi_error_take(err, m.errnum, steal_pointer(&m.payload));
      return -1;
    }
  if (m.type != type)
    {
      isolazi_sync_msg_release(&m);
      return isolazi_error_set(err, 0, "%s: unexpected sync message %u (wanted %u)", what, (unsigned)m.type,
                               (unsigned)type);
    }
  if (ret != NULL)
    *ret = m;
  else
    isolazi_sync_msg_release(&m);
  return 0;
}

void
isolazi_sync_msg_release(isolazi_sync_msg_t *m)
{
  if (m == NULL)
    return;
  free(m->payload);
  m->payload = NULL;
  m->len = 0;
}
