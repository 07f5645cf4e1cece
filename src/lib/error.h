/* SPDX-License-Identifier: Apache-2.0 */
/* Errors: every fallible core function returns a negative value (or NULL) and fills an
 * isolazi_error_t with the errno and a message.  Callers add context with
 * isolazi_error_wrap() on the way up; the front end reports the error once, at the top. */
#ifndef ISOLAZI_ERROR_H
#define ISOLAZI_ERROR_H

#include <stdarg.h>

typedef struct isolazi_error
{
  int code;  /* errno of the cause, 0 when the cause is not a system error */
  char *msg; /* complete message, NULL while no error is set */
} isolazi_error_t;

#define ISOLAZI_ERROR_INIT                                                                                             \
  {                                                                                                                    \
    0, NULL                                                                                                            \
  }

/* Set the error.  With errnum != 0 the message ends in ": <strerror(errnum)>", lower-cased as Go
 * writes it ("no such file or directory").
 * Always returns -1 so that callers can write `return isolazi_error_set (...)`.
 * If an error is already set it is replaced. */
int isolazi_error_set(isolazi_error_t *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int isolazi_error_setv(isolazi_error_t *err, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* The same for a message that says it all: errnum is kept for callers, no strerror text added. */
int isolazi_error_set_plain(isolazi_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shorthand for isolazi_error_set (err, errno, ...). */
#define isolazi_error_errno(err, ...) isolazi_error_set((err), errno, __VA_ARGS__)

/* Prefix the message with context: "<context>: <old message>".  Returns -1. */
int isolazi_error_wrap(isolazi_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set from a message that already carries its text (e.g. a parser's message). Takes ownership
 * of msg (may be NULL: then "unknown error"). Returns -1. */
int isolazi_error_take(isolazi_error_t *err, int errnum, char *msg);

/* Free the message and reset; accepts an unset error. */
void isolazi_error_release(isolazi_error_t *err);

#endif
