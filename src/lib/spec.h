/* SPDX-License-Identifier: Apache-2.0 */
/* The default config.json that `isolazi spec` writes. */
#ifndef ISOLAZI_SPEC_H
#define ISOLAZI_SPEC_H

#include <stdbool.h>
#include "error.h"

typedef struct isolazi_spec_options
{
  bool rootless;       /* user namespace mapping the caller's uid/gid to 0, no network ns, bind /sys */
  const char *seccomp; /* NULL or "none" (no linux.seccomp), "default", "minimal", "strict" (seccomp_profiles.c) */
  const char **args;   /* NULL: ["sh"] */
} isolazi_spec_options_t;

/* A pretty-printed config.json document (malloc'd). */
int isolazi_spec_generate(const isolazi_spec_options_t *o, char **ret_json, isolazi_error_t *err);

#endif
