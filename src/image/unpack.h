/* SPDX-License-Identifier: Apache-2.0 */
/* Unpacking image layers (libarchive) without ever writing outside the root.  Owner: unpack.c. */
#ifndef ISOLAZI_IMAGE_UNPACK_H
#define ISOLAZI_IMAGE_UNPACK_H

#include <stdbool.h>
#include "digest.h"
#include "error.h"

typedef enum isolazi_unpack_mode
{
  /* Apply the layer onto the tree already in root (earlier layers): whiteouts delete. */
  ISOLAZI_UNPACK_APPLY,
  /* The layer alone, in overlayfs form: a whiteout becomes a 0:0 character device, an opaque
   * directory gets trusted.overlay.opaque=y (user.overlay.* when `rootless`). */
  ISOLAZI_UNPACK_OVERLAY,
} isolazi_unpack_mode_t;

typedef struct isolazi_unpack_opts
{
  isolazi_unpack_mode_t mode;
  bool rootless;            /* no chown failures, no device nodes (skipped with a count) */
  const char *what;         /* names the layer in errors ("layer sha256:ab12…") */
} isolazi_unpack_opts_t;

typedef struct isolazi_unpack_stats
{
  unsigned long entries;
  unsigned long skipped; /* entries a rootless unpack could not create */
  char diff_id[ISOLAZI_DIGEST_MAX]; /* sha256 of the uncompressed tar stream */
} isolazi_unpack_stats_t;

/* Unpack the layer read from layer_fd (gzip, zstd or plain tar, detected) under root_fd.  Every
 * path is resolved inside root_fd; an entry that would land or write outside is an error naming
 * the entry.  stats may be NULL. */
int isolazi_unpack_layer(int root_fd, int layer_fd, const isolazi_unpack_opts_t *opts, isolazi_unpack_stats_t *stats,
                         isolazi_error_t *err);

#endif
