/* SPDX-License-Identifier: Apache-2.0 */
/* A small QMP client: one JSON object per line each way.  The monitor only needs the greeting,
 * qmp_capabilities, query-status, system_powerdown and quit, so replies are matched by their
 * top-level key ("return", "error") rather than parsed; asynchronous events are skipped. */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long
now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The next line (malloc'd, without the line end) within the deadline. */
static int
read_line(vm_qmp_t *q, long deadline, char **ret, isolazi_error_t *err)
{
  for (;;)
    {
      char *nl = memchr(q->buf, '\n', q->len);
      struct pollfd p = { .fd = q->fd, .events = POLLIN };
      long left;
      ssize_t n;

      if (nl != NULL)
        {
          size_t l = (size_t)(nl - q->buf);
          *ret = strndup(q->buf, l > 0 && q->buf[l - 1] == '\r' ? l - 1 : l);
          memmove(q->buf, nl + 1, q->len - l - 1);
          q->len -= l + 1;
          return 0;
        }
      if (q->len == sizeof q->buf)
        return isolazi_error_set(err, EPROTO, "read from QMP: line too long");
      left = deadline - now_ms();
      if (left <= 0)
        return isolazi_error_set(err, ETIMEDOUT, "read from QMP: no answer in time");
      if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
        return isolazi_error_errno(err, "poll QMP");
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      n = read(q->fd, q->buf + q->len, sizeof q->buf - q->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return isolazi_error_errno(err, "read from QMP");
      if (n == 0)
        return isolazi_error_set(err, ECONNRESET, "read from QMP: QEMU closed the connection");
      q->len += (size_t)n;
    }
}

/* Wait for the reply to the command just sent: a "return" (0) or an "error" (-1). */
static int
read_reply(vm_qmp_t *q, long deadline, char **ret_reply, isolazi_error_t *err)
{
  for (;;)
    {
      cleanup_free char *line = NULL;
      if (read_line(q, deadline, &line, err) < 0)
        return -1;
      if (strstr(line, "\"return\"") != NULL)
        {
          if (ret_reply != NULL)
            *ret_reply = steal_pointer(&line);
          return 0;
        }
      if (strstr(line, "\"error\"") != NULL)
        return isolazi_error_set(err, EIO, "QMP: %s", line);
      /* {"event": ...}: not what we wait for */
    }
}

int
vm_qmp_handshake(vm_qmp_t *q, int timeout_ms, isolazi_error_t *err)
{
  long deadline = now_ms() + timeout_ms;
  cleanup_free char *greeting = NULL;
  static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";

  if (read_line(q, deadline, &greeting, err) < 0)
    return isolazi_error_wrap(err, "connect to QEMU's QMP");
  if (strstr(greeting, "\"QMP\"") == NULL)
    return isolazi_error_set(err, EPROTO, "connect to QEMU's QMP: unexpected greeting `%s`", greeting);
  if (isolazi_write_all(q->fd, caps, sizeof caps - 1) < 0)
    return isolazi_error_errno(err, "write to QMP");
  return read_reply(q, deadline, NULL, err);
}

int
vm_qmp_command(vm_qmp_t *q, const char *command, int timeout_ms, char **ret_reply, isolazi_error_t *err)
{
  cleanup_free char *msg = xasprintf("{\"execute\":\"%s\"}\n", command);

  if (isolazi_write_all(q->fd, msg, strlen(msg)) < 0)
    return isolazi_error_errno(err, "write `%s` to QMP", command);
  if (read_reply(q, now_ms() + timeout_ms, ret_reply, err) < 0)
    return isolazi_error_wrap(err, "QMP `%s`", command);
  return 0;
}
