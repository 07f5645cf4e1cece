/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi features`: what this runtime supports, as runtime-spec features.md describes it
 * (containerd >= 1.7 reads it).  Probing the host is kept apart from building the document so
 * that the document is unit-tested with made-up hosts. */
#ifndef ISOLAZI_RUNTIME_FEATURES_H
#define ISOLAZI_RUNTIME_FEATURES_H

#include <stdbool.h>
#include "error.h"
#include "ocispec.h"

/* What the kernel and libseccomp offer. */
typedef struct isolazi_features_probe
{
  unsigned int namespaces;    /* bit i: ISOLAZI_FEATURES_NS[i] exists (/proc/self/ns) */
  unsigned int cap_last;      /* highest capability number of the kernel */
  unsigned int seccomp_api;   /* seccomp_api_get() */
  unsigned int seccomp_flags; /* bit i: ISOLAZI_FEATURES_SECCOMP_FLAGS[i] is accepted by the kernel */
  bool idmap;                 /* mount_setattr(2) exists (Linux 5.12): idmapped mounts */
  const char *libseccomp_version;
} isolazi_features_probe_t;

/* runtime-spec names in features order; the probe's bit masks index these. */
extern const char *const ISOLAZI_FEATURES_NS[];
extern const unsigned int ISOLAZI_FEATURES_NS_COUNT;
extern const char *const ISOLAZI_FEATURES_SECCOMP_FLAGS[];
extern const unsigned int ISOLAZI_FEATURES_SECCOMP_FLAGS_COUNT;

/* Doing: look at this host. */
void isolazi_features_probe_host(isolazi_features_probe_t *ret);
/* Deciding: the document for a host. */
oci_features *isolazi_features_build(const isolazi_features_probe_t *probe);
/* Both, written as `isolazi features` prints it (2-space indent). Malloc'd. */
char *isolazi_features_json(isolazi_error_t *err);

#endif
