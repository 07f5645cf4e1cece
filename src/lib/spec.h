/* SPDX-License-Identifier: Apache-2.0 */
/* The default config.json that `isolazi spec` writes, also the starting point of the bundles
 * isolazi-pull makes (src/image/bundle.c). */
#ifndef ISOLAZI_SPEC_H
#define ISOLAZI_SPEC_H

#include <stdbool.h>
#include "error.h"
#include "ocispec.h"

typedef struct isolazi_spec_options
{
  bool rootless;       /* user namespace mapping the caller's uid/gid to 0, no network ns, bind /sys */
  const char *seccomp; /* NULL or "none" (no linux.seccomp), "default", "minimal", "strict" (seccomp_profiles.c) */
  const char **args;   /* NULL: ["sh"] */
} isolazi_spec_options_t;

/* The default config as a model (free with oci_config_free). */
int isolazi_spec_new(const isolazi_spec_options_t *o, oci_config **ret, isolazi_error_t *err);

/* A model as config.json text: pretty-printed, ending in a newline (malloc'd). */
int isolazi_spec_write(const oci_config *c, char **ret_json, isolazi_error_t *err);

/* isolazi_spec_new + isolazi_spec_write. */
int isolazi_spec_generate(const isolazi_spec_options_t *o, char **ret_json, isolazi_error_t *err);

#endif
