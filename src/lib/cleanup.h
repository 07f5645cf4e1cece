/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup (GCC/Clang cleanup attribute) and ownership hand-off helpers.
 * Every destructor accepts "nothing to free" (NULL, -1). */
#ifndef ISOLAZI_CLEANUP_H
#define ISOLAZI_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_freep(void *p)
{
  free(*(void **)p);
}

static inline void
cleanup_closep(int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      (void)close(*fd);
      errno = saved;
    }
}

static inline void
cleanup_fclosep(FILE **f)
{
  if (*f != NULL)
    (void)fclose(*f);
}

static inline void
cleanup_closedirp(DIR **d)
{
  if (*d != NULL)
    (void)closedir(*d);
}

/* Free a NULL-terminated vector of strings and the vector. */
static inline void
cleanup_strvp(char ***v)
{
  char **p;

  if (*v == NULL)
    return;
  for (p = *v; *p != NULL; p++)
    free(*p);
  free(*v);
}

#define cleanup_free     __attribute__((cleanup(cleanup_freep)))
#define cleanup_close    __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose   __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))
#define cleanup_strv     __attribute__((cleanup(cleanup_strvp)))

/* Take the value out of a cleanup-managed variable so that it is not released at scope end. */
#define steal_pointer(pp)                                                                                              \
  ({                                                                                                                   \
    __typeof__(*(pp)) steal_tmp_ = *(pp);                                                                              \
    *(pp) = NULL;                                                                                                      \
    steal_tmp_;                                                                                                        \
  })

static inline int
steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

#endif
