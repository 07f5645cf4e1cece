/* SPDX-License-Identifier: Apache-2.0 */
/* Image config → runtime config (decides only; no mounts).  Owner: bundle.c. */
#ifndef ISOLAZI_IMAGE_BUNDLE_H
#define ISOLAZI_IMAGE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "ocispec_image.h"

typedef struct isolazi_bundle_opts
{
  const char *const *args; /* replace Cmd (Entrypoint kept), NULL: the image's */
  size_t nargs;
  const char *entrypoint;  /* --entrypoint: replaces Entrypoint (and clears Cmd unless args) */
  const char *const *env;  /* "KEY=V", override the image's */
  size_t nenv;
  const char *const *volumes; /* "SRC:DST[:ro]" */
  size_t nvolumes;
  const char *hostname;
  const char *cwd;
  const char *user;         /* overrides the image's User */
  int64_t memory;           /* bytes, 0: none */
  double cpus;              /* 0: none */
  int64_t pids_limit;       /* 0: none */
  bool rootless;
  const char *seccomp;      /* NULL/"default", "minimal", "strict", "none" */
  bool terminal;
} isolazi_bundle_opts_t;

/* The config.json text.  rootfs_fd: the bundle's rootfs, read for /etc/passwd and /etc/group
 * (inside the root, never following links out) to resolve User names. */
int isolazi_bundle_config(const oci_image_config *image, int rootfs_fd, const isolazi_bundle_opts_t *opts,
                          char **ret_json, isolazi_error_t *err);

#endif
