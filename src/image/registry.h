/* SPDX-License-Identifier: Apache-2.0 */
/* The registry API v2 client (libcurl): token and Basic auth, manifests, blobs with resume,
 * retries and parallel downloads.  It never prints: progress goes to a callback.
 * Owner: registry.c.
 *
 * Changes to the first contract (every function others call is unchanged):
 *   - added the media-type names, isolazi_registry_manifest_kind, and the helpers exposed for
 *     unit tests (challenge parsing, backoff) at the end;
 *   - ISOLAZI_REGISTRY_MANIFEST_MAX / _BLOB_MAX: what max_size 0 means.
 *
 * Transport, as podman and skopeo do it: https, with certificates checked, unless tls_insecure is
 * set; then https without checks is tried first and plain HTTP after it.  localhost is not
 * special (docker treats 127.0.0.0/8 as insecure, podman does not): a plain-HTTP registry needs
 * tls_insecure, and the error for "the server gave an HTTP response to an HTTPS client"
 * says so.  CA certificates from the registry's certs.d directory are trusted besides the
 * system's, and a client certificate found there is offered (certs.h). */
#ifndef ISOLAZI_IMAGE_REGISTRY_H
#define ISOLAZI_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "reference.h"

/* Progress of one blob: done and total bytes (total -1 when unknown); called often, from the
 * calling thread. */
typedef void (*isolazi_registry_progress_fn)(void *data, const char *digest, int64_t done, int64_t total);

typedef struct isolazi_registry_opts
{
  bool tls_insecure;     /* --tls-verify=false: accept any certificate, and plain HTTP; a zeroed
                            struct checks certificates */
  const char *cert_dir;  /* --cert-dir: CA (*.crt) and client (*.cert, *.key) certificates; NULL:
                            the registry's certs.d directory, if any (certs.h) */
  const char *auth_file; /* NULL: isolazi_auth_lookup's default search */
  const char *username;  /* explicit --creds; NULL: from the auth file */
  const char *password;
  int parallel;       /* concurrent blob downloads (0: 4) */
  int max_retries;    /* per request, for 429, 5xx and cut transfers (0: 5; -1: none) */
  long retry_base_ms; /* first backoff (0: 200 ms), doubled each time, Retry-After honoured */
  isolazi_registry_progress_fn progress;
  void *progress_data;
} isolazi_registry_opts_t;

typedef struct isolazi_registry isolazi_registry_t;

/* A client for the reference's registry and repository.  No network traffic yet. */
isolazi_registry_t *isolazi_registry_new(const isolazi_image_ref_t *ref, const isolazi_registry_opts_t *opts,
                                         isolazi_error_t *err);
void isolazi_registry_free(isolazi_registry_t *r);

/* GET /v2/<path>/manifests/<reference> (a tag or a digest), accepting OCI index and manifest
 * and Docker manifest list and schema2.  ret_media_type: the document's mediaType, else the
 * Content-Type.  ret_digest: the digest of the bytes received; when `reference` is a digest the
 * body must match it (else an error).  Bodies over max_size are refused. */
int isolazi_registry_get_manifest(isolazi_registry_t *r, const char *reference, size_t max_size, char **ret_body,
                                  size_t *ret_len, char **ret_media_type, char **ret_digest, isolazi_error_t *err);

/* One blob to download into fd (opened read-write by the store, locked, positioned anywhere).
 * The bytes already in fd are kept when they are a prefix of the blob: they are hashed and the
 * download resumes with a Range request.  On success fd holds exactly the blob, whose size and
 * digest were checked.  On a digest or size mismatch fd is truncated to 0. */
typedef struct isolazi_blob_fetch
{
  const char *digest;
  int64_t size; /* from the descriptor; -1 when unknown */
  int fd;
  int result;            /* out: 0 or -1 */
  isolazi_error_t error; /* out: set when result is -1 (start it zeroed: it is released first) */
} isolazi_blob_fetch_t;

/* Download every item, `parallel` at a time (curl multi).  Returns 0 when all succeeded, else
 * -1 with err describing the first failure (each item has its own result and error). */
int isolazi_registry_fetch_blobs(isolazi_registry_t *r, isolazi_blob_fetch_t *items, size_t n, isolazi_error_t *err);

/* Small blobs (image configs) into memory, verified. */
int isolazi_registry_get_blob(isolazi_registry_t *r, const char *digest, size_t max_size, char **ret_body,
                              size_t *ret_len, isolazi_error_t *err);

/* Check credentials against the registry host (GET /v2/, following the token flow): what
 * `login` does before it stores them. */
int isolazi_registry_check_login(const char *host, const char *username, const char *password,
                                 const isolazi_registry_opts_t *opts, isolazi_error_t *err);

/* ---- media types -------------------------------------------------------------------------- */
#define ISOLAZI_MEDIA_OCI_INDEX             "application/vnd.oci.image.index.v1+json"
#define ISOLAZI_MEDIA_OCI_MANIFEST          "application/vnd.oci.image.manifest.v1+json"
#define ISOLAZI_MEDIA_DOCKER_LIST           "application/vnd.docker.distribution.manifest.list.v2+json"
#define ISOLAZI_MEDIA_DOCKER_MANIFEST       "application/vnd.docker.distribution.manifest.v2+json"
#define ISOLAZI_MEDIA_DOCKER_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define ISOLAZI_MEDIA_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* max_size 0 for get_manifest and get_blob. */
#define ISOLAZI_REGISTRY_MANIFEST_MAX (4 << 20)
#define ISOLAZI_REGISTRY_BLOB_MAX     (16 << 20)

typedef enum
{
  ISOLAZI_MANIFEST_UNKNOWN = 0,
  ISOLAZI_MANIFEST_INDEX, /* OCI image index, Docker manifest list */
  ISOLAZI_MANIFEST_IMAGE, /* OCI image manifest, Docker schema2 manifest */
} isolazi_manifest_kind_t;

/* What a media type names; parameters ("; charset=utf-8") and case are ignored. */
isolazi_manifest_kind_t isolazi_registry_manifest_kind(const char *media_type);

/* ---- exposed for the unit tests ------------------------------------------------------------ */
/* One challenge of a WWW-Authenticate header (RFC 7235 section 4.1; the registry token spec). */
typedef struct isolazi_auth_challenge
{
  char *scheme;                          /* "bearer", "basic": lower-cased */
  char *realm, *service, *scope, *error; /* NULL when absent */
} isolazi_auth_challenge_t;

/* Parse a header value that may hold several challenges ("Bearer realm=\"x\",scope=\"a,b\",
 * Basic realm=\"y\"").  Returns the number of challenges (0 is possible) or -1. */
int isolazi_registry_parse_challenges(const char *header, isolazi_auth_challenge_t **ret, size_t *ret_n,
                                      isolazi_error_t *err);
void isolazi_auth_challenges_free(isolazi_auth_challenge_t *c, size_t n);

/* The wait before retry number `attempt` (0-based): retry_base_ms doubled per attempt, at most
 * 30 s; a Retry-After header (seconds or an HTTP date, relative to `now`) wins, capped at 60 s. */
long isolazi_registry_backoff_ms(const isolazi_registry_opts_t *opts, int attempt, const char *retry_after,
                                 long long now);

#endif
