/* SPDX-License-Identifier: Apache-2.0 */
/* SELinux and AppArmor labels, and safe writes under /proc.
 *
 * Callers:
 *   init.c   isolazi_lsm_check() in setup() (before READY, so `create` reports it);
 *            isolazi_lsm_apply_exec() after startContainer hooks and before set_user (the
 *            /proc/thread-self/attr files are no longer ours to open once the uid changes);
 *            isolazi_proc_write() for linux.sysctl.
 *   process.c isolazi_proc_write() for process.oomScoreAdj.
 *   rootfs.c isolazi_lsm_mount_data() for linux.mountLabel.
 *   exec.c   (`isolazi exec`, NAME=exec) isolazi_lsm_check() early, isolazi_lsm_apply_exec() in
 *            the exec child after joining the namespaces and before set_user. */
#ifndef ISOLAZI_LSM_H
#define ISOLAZI_LSM_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "ocispec.h"

/* Fail early when the process asks for what the host cannot give: an AppArmor profile on a host
 * without AppArmor (runc ignores it silently; a profile that is not applied is a security bug,
 * so we refuse, as crun does).  An SELinux label with SELinux disabled is a no-op (debug line),
 * as runc and crun do. */
int isolazi_lsm_check(const oci_process *p, isolazi_error_t *err);

/* process.selinuxLabel → the SELinux exec context; process.apparmorProfile → "exec PROFILE" in
 * attr/apparmor/exec (attr/exec before Linux 5.8).  Both take effect at the next execve; both
 * are written through isolazi_proc_write. */
int isolazi_lsm_apply_exec(const oci_process *p, isolazi_error_t *err);

bool isolazi_selinux_enabled(void);
bool isolazi_apparmor_enabled(void);

/* Deciding: mount data with SELinux's context="LABEL" for file systems that take one (tmpfs,
 * ramfs, devpts, mqueue; not proc, sysfs or binds, whose labels come from the policy or the
 * source).  NULL label, another type, or a context already in data: a copy of data.  Returns
 * malloc'd text, or NULL when data is NULL and nothing is added. */
char *isolazi_lsm_mount_data(const char *fstype, const char *data, const char *label);

/* Write buf to a file under /proc ("sys/net/ipv4/ip_forward", "self/oom_score_adj",
 * "thread-self/attr/exec"), so that nothing in the container can redirect the write
 * (CVE-2025-52881, CVE-2019-16884): the procfs root is a private clone of the /proc mount
 * (open_tree(OPEN_TREE_CLONE), so mounts over /proc/sys or /proc/self/attr are not in it), or
 * /proc itself when cloning is refused; it must be a procfs root (fstatfs PROC_SUPER_MAGIC,
 * inode 1); "self" and "thread-self" are read from it; the path is resolved with openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV, and the file
 * opened must be on procfs. */
int isolazi_proc_write(const char *path, const char *buf, size_t len, isolazi_error_t *err);

/* The open half of isolazi_proc_write (O_WRONLY or O_RDONLY): an fd, or -1 with err set. */
int isolazi_proc_open(const char *path, int oflags, isolazi_error_t *err);

/* Deciding: is a statfs f_type / root inode a procfs root? (unit-tested) */
bool isolazi_procfs_root_ok(unsigned long f_type, unsigned long ino);

#endif
