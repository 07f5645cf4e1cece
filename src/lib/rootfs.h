/* SPDX-License-Identifier: Apache-2.0 */
/* The container's filesystem view: rootfs, config mounts, /dev, pivot_root, masked and
 * read-only paths.  Runs in the container's init, in its own mount namespace. */
#ifndef ISOLAZI_ROOTFS_H
#define ISOLAZI_ROOTFS_H

#include <stdbool.h>
#include "error.h"
#include "ocispec.h"

typedef struct isolazi_rootfs_options
{
  const char *rootfs; /* absolute host path of root.path */
  bool no_pivot; /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
  bool new_userns; /* devices are bind-mounted instead of created with mknod */
  bool new_cgroupns; /* the cgroup mount shows the container's own cgroup */
  const char *cgroup_path; /* the container's cgroup path, for cgroup mounts without cgroupns */
} isolazi_rootfs_options_t;

/* Before pivot_root: propagation of / (rootfsPropagation, default rprivate... as runc: rslave
 * for the host side), the rootfs bind onto itself, every config mount in order (destinations
 * resolved inside the rootfs, never through a symlink that leads out), /dev (default devices,
 * linux.devices, /dev/fd, stdin/stdout/stderr links, ptmx, shm) . */
int isolazi_rootfs_prepare (const oci_config *cfg, const isolazi_rootfs_options_t *o, isolazi_error_t *err);

/* Switch root into the rootfs (pivot_root, or MS_MOVE + chroot when no_pivot) and drop the
 * old root. The cwd is "/" afterwards. */
int isolazi_rootfs_pivot (const isolazi_rootfs_options_t *o, isolazi_error_t *err);

/* After pivot_root: maskedPaths, readonlyPaths, readonly root, rootfsPropagation. */
int isolazi_rootfs_finalize (const oci_config *cfg, const isolazi_rootfs_options_t *o, isolazi_error_t *err);

/* -- deciding, unit-tested without root -- */

typedef struct isolazi_mount_flags
{
  unsigned long flags; /* MS_* for mount(2) */
  unsigned long clear; /* flags explicitly cleared ("rw", "suid", ...) */
  unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (| MS_REC) or 0 */
  bool bind;
  bool recursive; /* rbind, or r* propagation */
  char *data; /* the options mount(2) passes as data ("mode=755,size=65536k"), or NULL */
  bool idmap; /* "idmap"/"ridmap" (applied by the user-namespace code) */
} isolazi_mount_flags_t;

/* Turn a mount's options into flags and data. Unknown options go to data, as runc does. */
int isolazi_mount_flags_parse (char *const *options, size_t n, isolazi_mount_flags_t *ret, isolazi_error_t *err);
void isolazi_mount_flags_release (isolazi_mount_flags_t *f);

#endif
