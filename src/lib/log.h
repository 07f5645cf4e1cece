/* SPDX-License-Identifier: Apache-2.0 */
/* Logging.  The front end configures one sink (stderr, or the --log file, text or JSON);
 * the core only ever logs at debug and warning level (its errors travel in isolazi_error_t).
 * The JSON format is one object per line, appended: {"level","msg","time"} with an
 * RFC 3339 UTC time, which is what containerd's shim and podman decode. */
#ifndef ISOLAZI_LOG_H
#define ISOLAZI_LOG_H

#include <stdbool.h>
#include "error.h"

typedef enum
{
  ISOLAZI_LOG_DEBUG,
  ISOLAZI_LOG_INFO,
  ISOLAZI_LOG_WARNING,
  ISOLAZI_LOG_ERROR,
} isolazi_log_level_t;

typedef enum
{
  ISOLAZI_LOG_FORMAT_TEXT,
  ISOLAZI_LOG_FORMAT_JSON,
} isolazi_log_format_t;

/* path NULL: log to stderr.  Opens the file O_APPEND|O_CLOEXEC (created 0600). */
int isolazi_log_init(const char *path, isolazi_log_format_t format, bool debug, isolazi_error_t *err);
/* Parse "text"/"json". */
int isolazi_log_format_parse(const char *s, isolazi_log_format_t *ret, isolazi_error_t *err);
bool isolazi_log_debug_enabled(void);
void isolazi_log(isolazi_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The fd of the log file (or -1), so that a forked child can keep logging into it. */
int isolazi_log_fd(void);
/* Report a final error: one "error" record in the log sink, and the bare message on stderr
 * when the sink is a file (as runc does).  Used by front ends only. */
void isolazi_log_error_final(const char *msg);

#define isolazi_debug(...)                                                                                             \
  do                                                                                                                   \
    {                                                                                                                  \
      if (isolazi_log_debug_enabled())                                                                                 \
        isolazi_log(ISOLAZI_LOG_DEBUG, __VA_ARGS__);                                                                   \
    }                                                                                                                  \
  while (0)
#define isolazi_warning(...) isolazi_log(ISOLAZI_LOG_WARNING, __VA_ARGS__)

#endif
