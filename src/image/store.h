/* SPDX-License-Identifier: Apache-2.0 */
/* The content-addressed image store: /var/lib/isolazi for root, $XDG_DATA_HOME/isolazi (else
 * ~/.local/share/isolazi) otherwise.  Owner: store.c.
 *
 *   blobs/sha256/<hex>        verified content, read-only, written by temp + fsync + rename
 *   tmp/<hex>.partial         downloads in progress (kept for resume), flock'd by the writer
 *   layers/<chain-hex>/       layers unpacked once in overlay form, read-only (the lowerdirs)
 *   images.json              name → manifest digest (+ index digest), written atomically
 *   bundles/                 which bundle directories use which layers (prune keeps those)
 *   images.lock              flock: serialises updates of images.json
 *   lock                     flock: shared while a store is open, exclusive for prune
 *
 * Changed since the contract (store.c's owner): isolazi_store_chain_ids added; blob_commit
 * and blob_abort always free the isolazi_store_blob_t; untag takes images.lock, not the
 * exclusive store lock (it removes no files: prune does).  isolazi_store_layer_dir takes the
 * whole chain (layers 0..n-1) instead of one layer: a layer is unpacked over the lower ones, which
 * give the directories it has no entries for their metadata (unpack.h, `lower_fds`).
 */
#ifndef ISOLAZI_IMAGE_STORE_H
#define ISOLAZI_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

typedef struct isolazi_store isolazi_store_t;

/* root NULL: the default for the caller.  Creates the layout when missing. */
int isolazi_store_open(const char *root, isolazi_store_t **ret, isolazi_error_t *err);
void isolazi_store_close(isolazi_store_t *s);
const char *isolazi_store_root(const isolazi_store_t *s);

/* Blobs */
bool isolazi_store_has_blob(isolazi_store_t *s, const char *digest);
char *isolazi_store_blob_path(isolazi_store_t *s, const char *digest); /* malloc'd; may not exist */
int isolazi_store_read_blob(isolazi_store_t *s, const char *digest, size_t max_size, char **ret, size_t *ret_len,
                            isolazi_error_t *err);
/* Write a small verified blob (manifest, config): the digest of buf must equal `digest` when it
 * is not NULL; ret_digest (may be NULL) receives it. */
int isolazi_store_put_blob(isolazi_store_t *s, const void *buf, size_t len, const char *digest,
                           char ret_digest[ISOLAZI_DIGEST_MAX], isolazi_error_t *err);

/* A download in progress: fd is the partial file (O_RDWR, at offset 0; its size is what earlier
 * attempts downloaded), locked exclusively (a concurrent pull of the same blob waits here, then
 * finds `present`).  The writer hashes the prefix already there and appends the rest. */
typedef struct isolazi_store_blob
{
  char digest[ISOLAZI_DIGEST_MAX];
  int fd;        /* -1 when present */
  bool present;  /* the blob was committed meanwhile: nothing to download */
  char *partial; /* path of the partial file */
} isolazi_store_blob_t;

int isolazi_store_blob_begin(isolazi_store_t *s, const char *digest, isolazi_store_blob_t **ret, isolazi_error_t *err);
/* The fd holds the whole blob: verify its digest (a mismatch empties the partial file and fails),
 * fsync, rename into blobs/, fsync the directory, unlock.  Frees b, on error too; with `present`
 * it only frees. */
int isolazi_store_blob_commit(isolazi_store_t *s, isolazi_store_blob_t *b, isolazi_error_t *err);
/* Unlock and keep the partial file for the next pull to resume; frees b (NULL is fine). */
void isolazi_store_blob_abort(isolazi_store_blob_t *b);

/* Images */
typedef struct isolazi_store_image
{
  char *name;            /* canonical reference, "docker.io/library/alpine:latest" */
  char *manifest_digest; /* the platform manifest the image runs */
  char *index_digest;    /* the index/list it was chosen from, or NULL */
  char *config_digest;
  int64_t size;    /* sum of the layers' compressed sizes */
  int64_t created; /* unix time of the pull */
} isolazi_store_image_t;

int isolazi_store_tag(isolazi_store_t *s, const isolazi_store_image_t *img, isolazi_error_t *err);
/* Find by canonical name, by manifest digest, or by a unique prefix of at least 4 hex digits
 * of the manifest digest. */
int isolazi_store_find(isolazi_store_t *s, const char *name_or_digest, isolazi_store_image_t *ret,
                       isolazi_error_t *err);
int isolazi_store_list(isolazi_store_t *s, isolazi_store_image_t **ret, size_t *ret_n, isolazi_error_t *err);
int isolazi_store_untag(isolazi_store_t *s, const char *name, isolazi_error_t *err);
void isolazi_store_image_release(isolazi_store_image_t *img);
void isolazi_store_images_free(isolazi_store_image_t *imgs, size_t n);

/* The chain IDs of layers 0..i for every i (image-spec config.md "Layer ChainID"), as a
 * NULL-terminated vector of n digests (free each and the vector). */
int isolazi_store_chain_ids(const char *const *diff_ids, size_t n, char ***ret, isolazi_error_t *err);

/* Unpacked layers.  chain_ids[i] is the chain ID of layers 0..i (image-spec config.md),
 * blob_digests[i] the blob of layer i and diff_ids[i] its diff_id, checked against the
 * uncompressed content (diff_ids, or one of them, may be NULL: not checked).  Returns the path of
 * layers/<hex of chain_ids[n-1]> (malloc'd), unpacking layer n-1 from its blob when it is not
 * there yet (into a temp dir, then renamed; a lock serialises concurrent unpackers) over layers
 * 0..n-2, which are unpacked first when missing. */
int isolazi_store_layer_dir(isolazi_store_t *s, const char *const *chain_ids, const char *const *blob_digests,
                            const char *const *diff_ids, size_t n, bool rootless, char **ret_path,
                            isolazi_error_t *err);

/* Bundles: record that `dir` uses these layers; prune keeps them while dir still exists. */
int isolazi_store_bundle_record(isolazi_store_t *s, const char *dir, const char *const *chain_ids, size_t n,
                                isolazi_error_t *err);
int isolazi_store_bundle_forget(isolazi_store_t *s, const char *dir, isolazi_error_t *err);

typedef struct isolazi_store_prune_stats
{
  unsigned long blobs, layers, partials;
  int64_t bytes;
} isolazi_store_prune_stats_t;

/* Remove blobs, layers and stale partials no image or live bundle uses. */
int isolazi_store_prune(isolazi_store_t *s, isolazi_store_prune_stats_t *stats, isolazi_error_t *err);

#endif
