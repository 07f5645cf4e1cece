/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal TAP producer for the unit tests (automake's tap-driver reads it). */
#ifndef ISOLAZI_TAP_H
#define ISOLAZI_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

static inline void tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void
tap_ok(int cond, const char *fmt, ...)
{
  va_list ap;

  tap_count++;
  if (!cond)
    tap_failed++;
  printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

/* Compare strings, printing both on mismatch. */
#define tap_streq(got, want, ...)                                                                                      \
  do                                                                                                                   \
    {                                                                                                                  \
      const char *tap_g_ = (got), *tap_w_ = (want);                                                                    \
      int tap_c_ = (tap_g_ == NULL && tap_w_ == NULL) || (tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0);            \
      tap_ok(tap_c_, __VA_ARGS__);                                                                                     \
      if (!tap_c_)                                                                                                     \
        printf("#   got:  %s\n#   want: %s\n", tap_g_ ? tap_g_ : "(null)", tap_w_ ? tap_w_ : "(null)");                \
    }                                                                                                                  \
  while (0)

/* The whole of tests/unit/data/<name> (under $srcdir), NUL-terminated and malloc'd; NULL when
 * it cannot be read. */
static inline char *
tap_read_data(const char *name, size_t *len)
{
  const char *srcdir = getenv("srcdir");
  char path[4096], *buf = NULL;
  FILE *f;
  long n;

  snprintf(path, sizeof path, "%s/tests/unit/data/%s", srcdir ? srcdir : ".", name);
  f = fopen(path, "re");
  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
      && (buf = malloc((size_t)n + 1)) != NULL)
    {
      *len = fread(buf, 1, (size_t)n, f);
      buf[*len] = '\0';
    }
  fclose(f);
  return buf;
}

static inline int
tap_done(void)
{
  printf("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}

#endif
