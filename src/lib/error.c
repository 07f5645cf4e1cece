/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory while building an error message: keep a static text rather than lose the error. */
static char oom_msg[] = "out of memory while reporting an error";

static void
error_store(isolazi_error_t *err, int errnum, char *msg)
{
  if (err->msg != NULL && err->msg != oom_msg)
    free(err->msg);
  err->code = errnum;
  err->msg = msg != NULL ? msg : oom_msg;
}

int
isolazi_error_setv(isolazi_error_t *err, int errnum, const char *fmt, va_list ap)
{
  char *text = NULL, *msg = NULL;

  if (err == NULL)
    return -1;
  if (vasprintf(&text, fmt, ap) < 0)
    text = NULL;
  if (text != NULL && errnum != 0)
    {
      char cause[256];
      /* Lower-case errno text, as Go (and so runc) writes it: clients match on it, e.g. podman
         maps "no such file or directory" to exit code 127. */
      snprintf(cause, sizeof cause, "%s", strerror(errnum));
      if (cause[0] >= 'A' && cause[0] <= 'Z' && !(cause[1] >= 'A' && cause[1] <= 'Z'))
        cause[0] = (char)(cause[0] - 'A' + 'a');
      if (asprintf(&msg, "%s: %s", text, cause) < 0)
        msg = NULL;
      free(text);
    }
  else
    msg = text;
  error_store(err, errnum, msg);
  return -1;
}

int
isolazi_error_set(isolazi_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  isolazi_error_setv(err, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int
isolazi_error_set_plain(isolazi_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  if (err == NULL)
    return -1;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  return isolazi_error_take(err, errnum, msg);
}

int
isolazi_error_wrap(isolazi_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx = NULL, *msg = NULL;
  int r;

  if (err == NULL)
    return -1;
  va_start(ap, fmt);
  r = vasprintf(&ctx, fmt, ap);
  va_end(ap);
  if (r < 0)
    return -1; /* keep the original message: it is the more useful half */
  if (asprintf(&msg, "%s: %s", ctx, err->msg != NULL ? err->msg : "unknown error") < 0)
    msg = NULL;
  free(ctx);
  if (msg != NULL)
    error_store(err, err->code, msg);
  return -1;
}

int
isolazi_error_take(isolazi_error_t *err, int errnum, char *msg)
{
  if (err == NULL)
    {
      free(msg);
      return -1;
    }
  if (msg == NULL)
    msg = strdup("unknown error");
  error_store(err, errnum, msg);
  return -1;
}

void
isolazi_error_release(isolazi_error_t *err)
{
  if (err == NULL)
    return;
  if (err->msg != NULL && err->msg != oom_msg)
    free(err->msg);
  err->msg = NULL;
  err->code = 0;
}
