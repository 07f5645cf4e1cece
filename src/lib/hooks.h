/* SPDX-License-Identifier: Apache-2.0 */
/* OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): each hook runs with the container
 * state on stdin, its own args and env, and an optional timeout. */
#ifndef ISOLAZI_HOOKS_H
#define ISOLAZI_HOOKS_H

#include <stddef.h>
#include "error.h"
#include "ocispec.h"

/* Run hooks[0..n) in order; the first failure stops the run and is reported as
 * "hooks.<kind>[i] `path`: exit status 1: <output tail>". */
int isolazi_hooks_run(const oci_hook *hooks, size_t n, const char *kind, const char *state_json, isolazi_error_t *err);

#endif
