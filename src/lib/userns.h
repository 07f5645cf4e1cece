/* SPDX-License-Identifier: Apache-2.0 */
/* User namespaces: linux.uidMappings/gidMappings for the container's own user namespace
 * (written by the runtime, directly or through newuidmap/newgidmap), and the user namespaces
 * that carry a mount's mapping for idmapped mounts (mount_setattr(2) MOUNT_ATTR_IDMAP). */
#ifndef ISOLAZI_USERNS_H
#define ISOLAZI_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "namespaces.h"
#include "ocispec.h"

/* The kernel's limit on lines in uid_map/gid_map (Linux 4.15, user_namespaces(7)). */
#define ISOLAZI_USERNS_MAX_EXTENTS 340

/* -- deciding, unit-tested without root -- */

/* Sizes > 0, no range wrapping past 2^32 - 1, no overlap on either side (the kernel refuses
 * all three with a bare EINVAL).  `what` is the JSON path ("linux.uidMappings"). */
int isolazi_userns_mappings_check(const oci_id_mapping *m, size_t n, const char *what, isolazi_error_t *err);

/* The uid_map/gid_map text: one "containerID hostID size\n" line per mapping. */
char *isolazi_userns_map_text(const oci_id_mapping *m, size_t n);

typedef enum
{
  ISOLAZI_USERNS_MAP_DIRECT, /* the runtime writes /proc/PID/[ug]id_map itself */
  ISOLAZI_USERNS_MAP_HELPER, /* newuidmap/newgidmap (setuid, checks /etc/subuid, /etc/subgid) */
} isolazi_userns_map_method_t;

/* user_namespaces(7) "Defining user and group ID mappings": a writer with CAP_SETUID
 * (CAP_SETGID) in the parent namespace may write any mapping; anyone else only one line
 * mapping its own effective id with size 1.  Everything else needs the setuid helper. */
isolazi_userns_map_method_t isolazi_userns_map_method(bool privileged, uint32_t own_id, const oci_id_mapping *m,
                                                      size_t n);

/* user_namespaces(7) "Interaction with system calls that change process UIDs or GIDs" (Linux
 * 3.19): an unprivileged writer of gid_map must first write "deny" to /proc/PID/setgroups.
 * A privileged writer or the helper (newgidmap decides itself) leave it "allow". */
bool isolazi_userns_setgroups_deny(bool privileged, isolazi_userns_map_method_t gid_method);

/* { helper, "PID", "c0", "h0", "s0", ..., NULL } as newuidmap(1)/newgidmap(1) take it.
 * Free with isolazi_userns_argv_free. */
char **isolazi_userns_helper_argv(const char *helper, pid_t pid, const oci_id_mapping *m, size_t n);
void isolazi_userns_argv_free(char **argv);

/* The user-namespace part of config.json: mappings are checked and need a new user
 * namespace (and a new one needs them); mount mappings and idmap/ridmap only on bind mounts,
 * idmap without mappings takes linux.uidMappings/gidMappings. */
int isolazi_userns_config_check(const oci_config *cfg, const isolazi_ns_plan_t *plan, isolazi_error_t *err);

/* Does mounts[i] ask for an idmapped mount (idmap/ridmap option or its own mappings)?
 * *recursive is set for ridmap. */
bool isolazi_userns_mount_is_idmapped(const oci_mount *m, bool *recursive);

/* -- doing -- */

/* Right after clone, before the init goes on: write the init's uid_map, setgroups, gid_map. */
int isolazi_userns_write_maps(pid_t pid, const oci_linux *l, isolazi_error_t *err);

/* In the init, once its user namespace is mapped: become that namespace's root.  The init was
 * cloned with the caller's ids (the host's root), which the new namespace does not map, so
 * files it created would fail with EOVERFLOW.  Changing to uid 0 of the namespace keeps the
 * capabilities (capabilities(7), "Effect of user ID changes on capabilities").  Supplementary
 * groups are dropped unless /proc/self/setgroups says "deny". */
int isolazi_userns_become_root(isolazi_error_t *err);

/* /proc/self/setgroups says "deny". */
bool isolazi_userns_setgroups_denied(void);

/* A user namespace fd carrying these mappings: a short-lived child unshares it, the maps are
 * written, /proc/CHILD/ns/user is opened, the child is reaped. */
int isolazi_userns_open_mapped(const oci_id_mapping *uids, size_t n_uids, const oci_id_mapping *gids, size_t n_gids,
                               isolazi_error_t *err);

/* In the runtime, before clone: for every idmapped mount, a detached clone of its source
 * (open_tree(OPEN_TREE_CLONE), AT_RECURSIVE for rbind) with MOUNT_ATTR_IDMAP set.  Creating
 * one needs CAP_SYS_ADMIN over the source's filesystem (the host's user namespace), which
 * the init in a new user namespace does not have; it inherits the fds and only moves them.
 * *ret has cfg->mounts_len entries, -1 where the mount is not idmapped (NULL when none). */
int isolazi_userns_idmap_trees(const oci_config *cfg, int **ret, isolazi_error_t *err);
void isolazi_userns_idmap_trees_close(int *fds, size_t n);

#endif
