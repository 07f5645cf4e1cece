/* SPDX-License-Identifier: Apache-2.0 */
/* Content digests ("sha256:<hex>", "sha512:<hex>") computed with libcrypto, streaming. */
#ifndef ISOLAZI_IMAGE_DIGEST_H
#define ISOLAZI_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* "sha512:" + 128 hex digits + NUL */
#define ISOLAZI_DIGEST_MAX 136

typedef struct isolazi_hasher isolazi_hasher_t;

/* algorithm: "sha256" or "sha512"; NULL means sha256. */
isolazi_hasher_t *isolazi_hasher_new(const char *algorithm, isolazi_error_t *err);
/* A hasher for the algorithm a digest names ("sha512:..." → sha512). */
isolazi_hasher_t *isolazi_hasher_for(const char *digest, isolazi_error_t *err);
void isolazi_hasher_update(isolazi_hasher_t *h, const void *buf, size_t len);
/* Writes "<algorithm>:<hex>" into out; the hasher may not be updated afterwards. */
void isolazi_hasher_final(isolazi_hasher_t *h, char out[ISOLAZI_DIGEST_MAX]);
void isolazi_hasher_free(isolazi_hasher_t *h);

/* Check the syntax of a digest: a supported algorithm and the right number of lower-case hex
 * digits.  `what` names the field for the message ("manifest: layers[1].digest"). */
int isolazi_digest_check(const char *digest, const char *what, isolazi_error_t *err);
bool isolazi_digest_valid(const char *digest);

/* The hex part of a valid digest (pointer into the argument). */
const char *isolazi_digest_hex(const char *digest);

/* Digest of a buffer. */
int isolazi_digest_buffer(const char *algorithm, const void *buf, size_t len, char out[ISOLAZI_DIGEST_MAX],
                          isolazi_error_t *err);
/* Digest of an fd's content from its current offset to EOF. */
int isolazi_digest_fd(const char *algorithm, int fd, char out[ISOLAZI_DIGEST_MAX], isolazi_error_t *err);

#endif
