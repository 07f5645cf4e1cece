/* SPDX-License-Identifier: Apache-2.0 */
/* Device nodes in the container's /dev: runc's defaults plus linux.devices, created with
 * mknod (or bind-mounted from the host inside a user namespace), and the /dev symlinks. */
#ifndef ISOLAZI_DEVICES_H
#define ISOLAZI_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "ocispec.h"

typedef struct isolazi_device
{
  char *path; /* clean absolute path inside the container ("/dev/null") */
  char type;  /* 'c', 'b' or 'p' ("u", unbuffered char, is 'c') */
  uint32_t major;
  uint32_t minor;
  mode_t mode; /* permission bits only (fileMode without the type bits) */
  uid_t uid;
  gid_t gid;
} isolazi_device_t;

/* -- deciding, unit-tested without root -- */

/* runc's default devices (null zero full random urandom tty, 0666 root) followed by `devs`
 * (linux.devices); an entry of `devs` replaces the default with the same path.  Validates
 * types, required major/minor and absolute paths. */
int isolazi_devices_plan(const oci_device *devs, size_t n, isolazi_device_t **ret, size_t *ret_len,
                         isolazi_error_t *err);
void isolazi_devices_free(isolazi_device_t *d, size_t n);

/* mknod(2) mode for a device: S_IFCHR/S_IFBLK/S_IFIFO | permission bits. */
mode_t isolazi_device_mknod_mode(const isolazi_device_t *d);

/* -- doing: rootfd is an fd of the container's root (before pivot_root) -- */

/* Create every device inside rootfd (parents with mkdir -p, existing nodes kept as runc does).
 * With `bind` (user namespace) or when mknod is refused, an empty file is created and the
 * host's node at the same path is bind-mounted onto it. The caller sets umask 0. */
int isolazi_devices_create(int rootfd, const isolazi_device_t *d, size_t n, bool bind, isolazi_error_t *err);

/* /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr (and /dev/core when the host has /proc/kcore);
 * with `ptmx`, /dev/ptmx -> pts/ptmx replacing whatever is there. */
int isolazi_devices_create_links(int rootfd, bool ptmx, isolazi_error_t *err);

/* The device cgroup rules to apply, as runc builds them: linux.resources.devices in order, then
 * the devices every container may use (mknod of any node; null, zero, full, random, urandom,
 * tty, ptmx, any pty, tun), then an allow rule for each linux.devices node.  The array is
 * malloc'd; its strings point into the config or static storage (free the array only). */
oci_device_cgroup *isolazi_devices_cgroup_rules(const oci_config *cfg, size_t *ret_len);

#endif
