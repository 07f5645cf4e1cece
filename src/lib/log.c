/* SPDX-License-Identifier: Apache-2.0 */
/* The log sink: stderr or the --log file, in logrus's text format or one JSON object per line.
 * Several isolazi processes may append to the same file (containerd shares bundle/log.json
 * between every call for a container), so each record is built in memory and written with a
 * single write() on an O_APPEND fd. */
#include "config.h"
#include "log.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1; /* the --log file; -1: stderr */
static isolazi_log_format_t log_format = ISOLAZI_LOG_FORMAT_TEXT;
static bool log_debug;

static const char *
level_name(isolazi_log_level_t level)
{
  switch (level)
    {
    case ISOLAZI_LOG_DEBUG:
      return "debug";
    case ISOLAZI_LOG_INFO:
      return "info";
    case ISOLAZI_LOG_WARNING:
      return "warning";
    case ISOLAZI_LOG_ERROR:
      return "error";
    }
  return "error";
}

int
isolazi_log_init(const char *path, isolazi_log_format_t format, bool debug, isolazi_error_t *err)
{
  log_format = format;
  log_debug = debug;
  if (log_fd >= 0)
    {
      (void)close(log_fd);
      log_fd = -1;
    }
  if (path == NULL)
    return 0;
  log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (log_fd < 0)
    return isolazi_error_errno(err, "open log file `%s`", path);
  return 0;
}

int
isolazi_log_format_parse(const char *s, isolazi_log_format_t *ret, isolazi_error_t *err)
{
  if (strcmp(s, "text") == 0)
    *ret = ISOLAZI_LOG_FORMAT_TEXT;
  else if (strcmp(s, "json") == 0)
    *ret = ISOLAZI_LOG_FORMAT_JSON;
  else
    return isolazi_error_set(err, 0, "invalid log format `%s`: expected `text` or `json`", s);
  return 0;
}

bool
isolazi_log_debug_enabled(void)
{
  return log_debug;
}

int
isolazi_log_fd(void)
{
  return log_fd;
}

/* logrus quotes a value unless every byte is in [A-Za-z0-9-._/@^+]. */
static bool
needs_quoting(const char *s)
{
  const char *p;

  if (*s == '\0')
    return true;
  for (p = s; *p; p++)
    {
      char c = *p;
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._/@^+", c)))
        return true;
    }
  return false;
}

/* Append s to the record as Go's %q would: \" \\ \n \t \r and \xNN for other control bytes.
 * Bytes >= 0x80 are copied: messages are UTF-8. */
static void
append_quoted(char **buf, size_t *len, size_t *cap, const char *s)
{
  const char *p;

  for (p = s; *p; p++)
    {
      unsigned char c = (unsigned char)*p;
      char esc[8];
      size_t n;

      if (c == '"' || c == '\\')
        n = (size_t)snprintf(esc, sizeof esc, "\\%c", c);
      else if (c == '\n')
        n = (size_t)snprintf(esc, sizeof esc, "\\n");
      else if (c == '\t')
        n = (size_t)snprintf(esc, sizeof esc, "\\t");
      else if (c == '\r')
        n = (size_t)snprintf(esc, sizeof esc, "\\r");
      else if (c < 0x20 || c == 0x7f)
        n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
      else
        {
          esc[0] = (char)c;
          n = 1;
        }
      if (*len + n + 1 > *cap)
        {
          *cap = (*cap + n) * 2;
          *buf = xrealloc(*buf, *cap);
        }
      memcpy(*buf + *len, esc, n);
      *len += n;
    }
  (*buf)[*len] = '\0';
}

static char *
format_text(const char *level, const char *msg, const char *time)
{
  size_t cap = strlen(msg) + 80, len;
  char *buf = xmalloc(cap);

  len = (size_t)snprintf(buf, cap, "time=\"%s\" level=%s msg=", time, level);
  if (needs_quoting(msg))
    {
      buf[len++] = '"';
      append_quoted(&buf, &len, &cap, msg);
      buf = xrealloc(buf, len + 3);
      buf[len++] = '"';
    }
  else
    {
      buf = xrealloc(buf, len + strlen(msg) + 2);
      memcpy(buf + len, msg, strlen(msg));
      len += strlen(msg);
    }
  buf[len++] = '\n';
  buf[len] = '\0';
  return buf;
}

static char *
try_json(const char *level, const char *msg, const char *time)
{
  json_gen *g = json_gen_new(false);
  char *out = NULL, *gen_err = NULL, *line;
  size_t len = 0;

  json_gen_object_open(g);
  json_gen_key(g, "level");
  json_gen_string(g, level);
  json_gen_key(g, "msg");
  json_gen_string(g, msg);
  json_gen_key(g, "time");
  json_gen_string(g, time);
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &gen_err) < 0)
    {
      free(gen_err);
      json_gen_free(g);
      return NULL;
    }
  json_gen_free(g);
  line = xasprintf("%s\n", out);
  free(out);
  return line;
}

static char *
format_json(const char *level, const char *msg, const char *time)
{
  cleanup_free char *safe = NULL;
  char *line, *p;

  line = try_json(level, msg, time);
  if (line != NULL)
    return line;
  /* The message is not valid UTF-8 (a path from a broken image, say): keep the record readable
     for the decoders rather than lose it. */
  safe = xstrdup(msg);
  for (p = safe; *p; p++)
    if ((unsigned char)*p >= 0x80)
      *p = '?';
  line = try_json(level, safe, time);
  if (line != NULL)
    return line;
  return xasprintf("{\"level\":\"%s\",\"msg\":\"unprintable message\",\"time\":\"%s\"}\n", level, time);
}

static void
write_record(int fd, isolazi_log_format_t format, isolazi_log_level_t level, const char *msg)
{
  cleanup_free char *line = NULL;
  char time[32];
  int saved = errno;

  isolazi_format_rfc3339_seconds(time);
  if (format == ISOLAZI_LOG_FORMAT_JSON)
    line = format_json(level_name(level), msg, time);
  else
    line = format_text(level_name(level), msg, time);
  /* One write: O_APPEND makes it land whole even with other writers. */
  (void)isolazi_write_all(fd, line, strlen(line));
  errno = saved;
}

void
isolazi_log(isolazi_log_level_t level, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;
  int saved = errno;

  if (level == ISOLAZI_LOG_DEBUG && !log_debug)
    return;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  errno = saved;
  write_record(log_fd >= 0 ? log_fd : STDERR_FILENO, log_format, level, msg != NULL ? msg : fmt);
}

void
isolazi_log_error_final(const char *msg)
{
  cleanup_free char *bare = NULL;

  if (log_fd >= 0)
    write_record(log_fd, log_format, ISOLAZI_LOG_ERROR, msg);
  else if (log_format == ISOLAZI_LOG_FORMAT_JSON)
    {
      /* --log-format json without --log: the JSON record is what the caller asked for. */
      write_record(STDERR_FILENO, log_format, ISOLAZI_LOG_ERROR, msg);
      return;
    }
  /* The bare message on stderr: conmon shows what it reads there, and a person reads it too. */
  bare = xasprintf("%s\n", msg);
  (void)isolazi_write_all(STDERR_FILENO, bare, strlen(bare));
}
