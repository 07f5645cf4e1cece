/* SPDX-License-Identifier: Apache-2.0 */
/* The container's filesystem view: rootfs, config mounts, /dev, pivot_root, masked and
 * read-only paths.  Runs in the container's init, in its own mount namespace. */
#ifndef ISOLAZI_ROOTFS_H
#define ISOLAZI_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "ocispec.h"

typedef struct isolazi_rootfs_options
{
  const char *rootfs;      /* absolute host path of root.path */
  bool no_pivot;           /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
  bool new_userns;         /* devices are bind-mounted instead of created with mknod */
  bool new_cgroupns;       /* the cgroup mount shows the container's own cgroup */
  const char *cgroup_path; /* the container's cgroup path, for cgroup mounts without cgroupns */
  const int *idmap_trees;  /* per mounts[i]: a detached idmapped tree made by the runtime, or -1 (NULL: none) */
} isolazi_rootfs_options_t;

/* Before pivot_root: propagation of / (rootfsPropagation, default rprivate... as runc: rslave
 * for the host side), the rootfs bind onto itself, every config mount in order (destinations
 * resolved inside the rootfs, never through a symlink that leads out), /dev (default devices,
 * linux.devices, /dev/fd, stdin/stdout/stderr links, ptmx, shm) . */
int isolazi_rootfs_prepare(const oci_config *cfg, const isolazi_rootfs_options_t *o, isolazi_error_t *err);

/* Switch root into the rootfs (pivot_root, or MS_MOVE + chroot when no_pivot) and drop the
 * old root. The cwd is "/" afterwards. */
int isolazi_rootfs_pivot(const isolazi_rootfs_options_t *o, isolazi_error_t *err);

/* After pivot_root: maskedPaths, readonlyPaths, readonly root, rootfsPropagation. */
int isolazi_rootfs_finalize(const oci_config *cfg, const isolazi_rootfs_options_t *o, isolazi_error_t *err);

/* -- deciding, unit-tested without root -- */

typedef struct isolazi_mount_flags
{
  unsigned long flags;       /* MS_* for mount(2) */
  unsigned long clear;       /* flags explicitly cleared ("rw", "suid", ...) */
  unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (| MS_REC) or 0 */
  bool bind;
  bool recursive; /* rbind, or r* propagation */
  char *data;     /* the options mount(2) passes as data ("mode=755,size=65536k"), or NULL */
  bool idmap;     /* "idmap"/"ridmap" (applied by the user-namespace code) */
  /* runc's recursive attributes ("rro", "rnosuid", "rnoatime", ...): MOUNT_ATTR_* bits that
   * mount_setattr(2) applies with AT_RECURSIVE to a bind mount and everything under it. */
  uint64_t rec_attr_set;
  uint64_t rec_attr_clr;
  bool tmpcopyup; /* crun/runc extension; accepted and ignored (the tmpfs starts empty) */
} isolazi_mount_flags_t;

/* Turn a mount's options into flags and data. Unknown options go to data, as runc does. */
int isolazi_mount_flags_parse(char *const *options, size_t n, isolazi_mount_flags_t *ret, isolazi_error_t *err);
void isolazi_mount_flags_release(isolazi_mount_flags_t *f);

/* A propagation name as linux.rootfsPropagation and mount options spell it ("rslave", "private",
 * ...) to MS_* (| MS_REC).  NULL or "" gives 0. */
int isolazi_mount_propagation_parse(const char *s, unsigned long *ret, isolazi_error_t *err);

/* MS_* flags to set / clear into MOUNT_ATTR_* for mount_setattr(2).  Any atime mode in `flags`
 * replaces the whole atime field (MOUNT_ATTR__ATIME goes into *clr, as the kernel requires). */
void isolazi_mount_flags_to_attr(unsigned long flags, unsigned long clear, uint64_t *set, uint64_t *clr);

/* Lexically clean a container path: absolute, no "." / ".." / duplicate slashes, never above
 * "/" ("a//b/../c" -> "/a/c").  Symlinks are not looked at (that happens inside the rootfs). */
char *isolazi_rootfs_clean_path(const char *path);

/* runc's rule for mounts that land in /proc (CVE-2019-16884, CVE-2019-19921): anything outside
 * /proc is fine, /proc itself only from a procfs source, inside /proc only the files that
 * LXCFS-style tools emulate.  `dest` must be clean. */
bool isolazi_rootfs_proc_mount_allowed(const char *dest, bool source_is_proc);

/* A mount of type "cgroup" on a cgroup v1 or hybrid host becomes a tmpfs with one entry per v1
 * hierarchy (as runc does): a bind of the container's own cgroup directory, or with a cgroup
 * namespace a fresh cgroup mount of that hierarchy; co-mounted controllers get symlinks
 * ("cpu" -> "cpu,cpuacct").  On a pure v2 host it is a cgroup2 mount. */
typedef struct isolazi_cgroup_bind
{
  char *name;       /* entry under the destination: basename of the host mount point ("cpu,cpuacct") */
  char *source;     /* host directory to bind (mount point + own cgroup relative to the mount root), NULL
                      when the own cgroup is outside what the mount shows (only a direct mount works) */
  char *data;       /* mount data for a direct cgroup mount ("cpu,cpuacct", "none,name=systemd") */
  char *mountpoint; /* the host's mount of the hierarchy ("/sys/fs/cgroup/cpu,cpuacct") */
  char *root;       /* the cgroup that mount shows ("/" unless the host is itself nested) */
} isolazi_cgroup_bind_t;

/* The host directory of cgroup `path` (as the runtime names it, "/isolazi/ID") in the
 * hierarchy of `b`, or NULL when the mount does not show it. */
char *isolazi_cgroup_bind_dir(const isolazi_cgroup_bind_t *b, const char *path);

typedef struct isolazi_cgroup_mount_plan
{
  bool v2; /* /sys/fs/cgroup is cgroup2: mount cgroup2 directly */
  isolazi_cgroup_bind_t *binds;
  size_t binds_len;
  char **link_names; /* symlinks link_names[i] -> link_targets[i] under the destination */
  char **link_targets;
  size_t links_len;
} isolazi_cgroup_mount_plan_t;

/* Decide from the text of /proc/self/mountinfo and /proc/self/cgroup. */
int isolazi_cgroup_mount_plan(const char *mountinfo, const char *self_cgroup, isolazi_cgroup_mount_plan_t *ret,
                              isolazi_error_t *err);
void isolazi_cgroup_mount_plan_release(isolazi_cgroup_mount_plan_t *p);

/* Find the mount that contains `path` (longest mount point prefix) in mountinfo text: its mount
 * point (malloc'd) and whether it is shared ("shared:N" optional field). */
int isolazi_mountinfo_find(const char *mountinfo, const char *path, char **ret_mountpoint, bool *ret_shared,
                           isolazi_error_t *err);

/* -- resolution inside a root, shared with devices.c -- */

/* openat2(rootfd, path, oflags|O_CLOEXEC, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS [|RESOLVE_NO_SYMLINKS]):
 * symlinks (absolute or "..") can never lead out of rootfd.  Returns the fd, or -1 with errno
 * set and err filled. */
int isolazi_rootfs_open_in_root(int rootfd, const char *path, int oflags, bool no_symlinks, isolazi_error_t *err);

/* mkdir -p inside rootfd: each missing component is created with mkdirat() relative to the fd of
 * its resolved parent, never through a host path.  Returns an O_PATH fd of the directory. */
int isolazi_rootfs_mkdir_in_root(int rootfd, const char *path, mode_t mode, isolazi_error_t *err);

#endif
