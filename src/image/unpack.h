/* SPDX-License-Identifier: Apache-2.0 */
/* Unpacking image layers (libarchive) without ever writing outside the root.  Owner: unpack.c.
 *
 * Changed since the contract: opts gained `max_entries` and stats gained `unowned` and
 * `xattrs_skipped` (fields added at the end; the function's signature is unchanged).  opts then
 * gained `lower_fds`/`n_lowers` (at the end): in overlay form, a directory the layer has no entry
 * for takes its metadata from the lower layers (it hides theirs in the merged view). */
#ifndef ISOLAZI_IMAGE_UNPACK_H
#define ISOLAZI_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
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
  bool rootless;             /* no chown failures, no device nodes (skipped with a count) */
  const char *what;          /* names the layer in errors ("layer sha256:ab12…") */
  unsigned long max_entries; /* refuse a layer with more entries; 0: ISOLAZI_UNPACK_MAX_ENTRIES */
  /* OVERLAY only: the layers below this one, unpacked in the same form, as directory fds (O_PATH
   * is enough), topmost first.  A parent directory the layer has no entry for (it writes `tmp/x`
   * without `tmp/`) takes the mode, owner, times and xattrs (but overlayfs's own) of the same
   * path in the nearest lower layer that shows a directory there, as overlayfs would look it up
   * (an opaque directory or a non-directory, a whiteout among them, hides the layers below); with
   * none, it stays 0755 and owned by the caller.  Lookups never leave a layer or follow a
   * symlink.  NULL/0: no lower layers (a base layer). */
  const int *lower_fds;
  size_t n_lowers;
} isolazi_unpack_opts_t;

/* A cap on entries per layer against archives built to exhaust inodes or time (the largest
 * distribution images hold a few hundred thousand files in all their layers together). */
#define ISOLAZI_UNPACK_MAX_ENTRIES 4000000UL

typedef struct isolazi_unpack_stats
{
  unsigned long entries;
  unsigned long skipped;            /* entries a rootless unpack could not create */
  char diff_id[ISOLAZI_DIGEST_MAX]; /* sha256 of the uncompressed tar stream */
  unsigned long unowned;            /* rootless: entries left with our ids (chown refused: id not mapped) */
  unsigned long xattrs_skipped;     /* xattrs not set: overlayfs's own (never taken from a layer),
                                       unsupported by the filesystem, or refused to a rootless caller */
} isolazi_unpack_stats_t;

/* Unpack the layer read from layer_fd (gzip, zstd or plain tar, detected) under root_fd.  Every
 * path is resolved inside root_fd; an entry that would land or write outside is an error naming
 * the entry.  Leading "/" is dropped (absolute names are relative to the root), a ".." component
 * is an error, symlinks in a parent path are followed but only inside the root (RESOLVE_IN_ROOT),
 * and the last component is never followed.  On error the root may hold part of the layer: the
 * caller unpacks into a fresh directory and discards it.  stats may be NULL; it is filled only on
 * success. */
int isolazi_unpack_layer(int root_fd, int layer_fd, const isolazi_unpack_opts_t *opts, isolazi_unpack_stats_t *stats,
                         isolazi_error_t *err);

#endif
