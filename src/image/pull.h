/* SPDX-License-Identifier: Apache-2.0 */
/* What the isolazi-pull commands do: registry → store, store → bundle.  Owner: pull.c and
 * assemble.c. */
#ifndef ISOLAZI_IMAGE_PULL_H
#define ISOLAZI_IMAGE_PULL_H

#include <stdbool.h>
#include "bundle.h"
#include "registry.h"
#include "store.h"

typedef struct isolazi_pull_opts
{
  isolazi_registry_opts_t registry;
  const char *platform; /* "os/arch[/variant]", NULL: the host */
} isolazi_pull_opts_t;

/* Resolve, choose the platform, download and verify manifest, config and layers into the
 * store, and tag.  ret (may be NULL) receives the image record. */
int isolazi_image_pull(isolazi_store_t *s, const char *reference, const isolazi_pull_opts_t *opts,
                       isolazi_store_image_t *ret, isolazi_error_t *err);

typedef struct isolazi_assemble_opts
{
  bool copy;            /* a plain rootfs directory instead of an overlay over store layers */
  isolazi_bundle_opts_t config;
} isolazi_assemble_opts_t;

/* Make dir a runnable bundle of a stored image: dir/rootfs (overlay of the store's layers with
 * dir/upper, or a copy) and dir/config.json.  On error nothing is left in dir (a dir it
 * created is removed, a mount it made is undone). */
int isolazi_image_bundle(isolazi_store_t *s, const char *image, const char *dir, const isolazi_assemble_opts_t *opts,
                         isolazi_error_t *err);

#endif
