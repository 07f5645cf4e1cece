/* SPDX-License-Identifier: Apache-2.0 */
/* Image references as users write them: "alpine", "alpine:3.19", "library/alpine@sha256:...",
 * "localhost:5000/x:y", "ghcr.io/o/r:t".  Owner: reference.c. */
#ifndef ISOLAZI_IMAGE_REFERENCE_H
#define ISOLAZI_IMAGE_REFERENCE_H

#include "error.h"

typedef struct isolazi_image_ref
{
  char *domain; /* "docker.io", "localhost:5000", "ghcr.io" */
  char *path;   /* "library/alpine" (docker.io short names get "library/") */
  char *tag;    /* "latest" when neither tag nor digest was given; NULL when only a digest was */
  char *digest; /* "sha256:..." or NULL */
} isolazi_image_ref_t;

/* Parse and normalise.  Errors say what is wrong with the text ("reference `A:b`: repository
 * name must be lower-case"). */
int isolazi_image_ref_parse(const char *text, isolazi_image_ref_t *ret, isolazi_error_t *err);

/* Canonical text: "docker.io/library/alpine:latest", "...@sha256:..." or
 * "...:tag@sha256:..." (malloc'd). */
char *isolazi_image_ref_string(const isolazi_image_ref_t *ref);

/* "domain/path" (malloc'd): the repository, without tag or digest. */
char *isolazi_image_ref_repository(const isolazi_image_ref_t *ref);

/* The host the registry API is served from: "registry-1.docker.io" for docker.io, else the
 * domain. */
const char *isolazi_image_ref_api_host(const isolazi_image_ref_t *ref);

/* True for localhost, 127.0.0.0/8 and ::1 registries, which may be plain HTTP. */
int isolazi_image_ref_is_local(const isolazi_image_ref_t *ref);

void isolazi_image_ref_release(isolazi_image_ref_t *ref);

#endif
