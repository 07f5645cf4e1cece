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
  bool copy; /* a plain rootfs directory instead of an overlay over store layers */
  isolazi_bundle_opts_t config;
} isolazi_assemble_opts_t;

/* Make dir a runnable bundle of a stored image: dir/rootfs (overlay of the store's layers with
 * dir/upper, or a copy) and dir/config.json.  On error nothing is left in dir (a dir it
 * created is removed, a mount it made is undone). */
int isolazi_image_bundle(isolazi_store_t *s, const char *image, const char *dir, const isolazi_assemble_opts_t *opts,
                         isolazi_error_t *err);

/* A stored image by the name a user writes: a reference ("busybox" is
 * docker.io/library/busybox:latest), a manifest digest or a unique prefix of its hex. */
int isolazi_image_lookup(isolazi_store_t *s, const char *text, isolazi_store_image_t *ret, isolazi_error_t *err);

/* `inspect`: {"record": {...}, "manifest": {...}, "config": {...}} (malloc'd, pretty). */
int isolazi_image_inspect(isolazi_store_t *s, const char *text, char **ret_json, isolazi_error_t *err);

/* An overlay bundle's rootfs is a mount: these read what `bundle` recorded in
 * dir/isolazi-bundle.json.  mount: mount it again (after a reboot; the layers are unpacked
 * again if they were pruned); umount: unmount it; remove: unmount, delete dir and forget it in
 * the store (a copy bundle is deleted too).  remove refuses a directory `bundle` did not make. */
int isolazi_image_bundle_mount(isolazi_store_t *s, const char *dir, isolazi_error_t *err);
int isolazi_image_bundle_umount(const char *dir, isolazi_error_t *err);
int isolazi_image_bundle_remove(isolazi_store_t *s, const char *dir, isolazi_error_t *err);

#endif
