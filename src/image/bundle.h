/* SPDX-License-Identifier: Apache-2.0 */
/* Image config → runtime config (decides only; no mounts).  Owner: bundle.c.
 *
 * What it does with the image config (image-spec conversion.md): Entrypoint + Cmd → args, Env
 * (then `env` overrides; PATH added when missing, HOME from the user's passwd entry, TERM with a
 * terminal), WorkingDir → cwd, User resolved in the image's /etc/passwd and /etc/group,
 * StopSignal, ExposedPorts, os/architecture/author/created and Labels → annotations, Volumes →
 * the ISOLAZI_BUNDLE_ANNOTATION_VOLUMES annotation (no mounts: the bundle's rootfs holds the
 * data). */
#ifndef ISOLAZI_IMAGE_BUNDLE_H
#define ISOLAZI_IMAGE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "ocispec_image.h"

/* A comma-separated list of the image's Volumes (the org.opencontainers.image prefix is
 * reserved to the spec, which defines no annotation for them). */
#define ISOLAZI_BUNDLE_ANNOTATION_VOLUMES "io.isolazi.image.volumes"

typedef struct isolazi_bundle_opts
{
  const char *const *args; /* replace Cmd (Entrypoint kept), NULL: the image's */
  size_t nargs;
  const char *entrypoint; /* --entrypoint: replaces Entrypoint (and clears Cmd unless args) */
  const char *const *env; /* "KEY=V", override the image's */
  size_t nenv;
  const char *const *volumes; /* "SRC:DST[:ro]" */
  size_t nvolumes;
  const char *hostname;
  const char *cwd;
  const char *user;   /* overrides the image's User */
  int64_t memory;     /* bytes, 0: none */
  double cpus;        /* 0: none */
  int64_t pids_limit; /* 0: none, -1: unlimited */
  bool rootless;
  const char *seccomp; /* NULL/"default", "minimal", "strict", "none" */
  bool terminal;
} isolazi_bundle_opts_t;

/* The config.json text.  rootfs_fd: the bundle's rootfs, read for /etc/passwd and /etc/group
 * (inside the root, never following links out) to resolve User names. */
int isolazi_bundle_config(const oci_image_config *image, int rootfs_fd, const isolazi_bundle_opts_t *opts,
                          char **ret_json, isolazi_error_t *err);

#endif
