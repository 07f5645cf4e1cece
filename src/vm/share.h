/* SPDX-License-Identifier: Apache-2.0 */
/* Host directories shared with a guest: the bind mounts of directories in config.json.
 *
 * The guest has no virtiofs daemon to talk to here (Debian 12 ships no virtiofsd and its cloud
 * kernel has no 9p), so the share speaks FUSE itself: the agent mounts a FUSE file system at
 * the mount's destination and relays the kernel's requests, untouched, over a second
 * virtio-serial port (VM_SHARE_PORT_NAME); on the host a share server answers them from the
 * directory.  This is virtiofs's design (FUSE messages over a virtio transport) with the
 * transport we have.
 *
 * Wire format, both ways, little-endian: an 8-byte frame header, then one FUSE message:
 *
 *   u32 share   u32 len   |  len bytes: struct fuse_in_header + body (guest→host)
 *                         |             struct fuse_out_header + body (host→guest)
 *
 * `share` is the index of the share (the order of the spec's share mounts); `len` equals the
 * length field of the FUSE header that follows.  Requests without an answer (FORGET,
 * BATCH_FORGET, INTERRUPT) get none.
 *
 * The server never follows a symlink of the guest's and never resolves a path: every inode is
 * an O_PATH fd, every lookup one name (no "/", ".", "..") under its parent's fd, opened with
 * O_NOFOLLOW; a file is reopened through its own fd.  Nothing the guest does reaches outside
 * the shared directory.  A read-only share refuses every change with EROFS (the guest also
 * mounts it read-only).  New files belong to the uid and gid the request carries, as on a bind
 * mount.  Owner: share.c.
 *
 * The guest mounts with `fd=N,rootmode=40000,user_id=0,group_id=0,allow_other,
 * default_permissions,max_read=VM_SHARE_MAX_WRITE`: permission checks are the guest kernel's,
 * from the attributes the server returns, and no READ reply outgrows a frame.  It reads
 * /dev/fuse with a buffer of VM_SHARE_FRAME_MAX bytes (the kernel refuses a read buffer that
 * cannot hold a whole WRITE).  The server speaks FUSE 7.12 and later (guests have 7.36+) and
 * negotiates only what it implements (share.c lists it).  A name that is not one component
 * ("", ".", "..", or with "/") is an EINVAL reply; FORGET of an unknown node is ignored. */
#ifndef ISOLAZI_VM_SHARE_H
#define ISOLAZI_VM_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define VM_SHARE_PORT_NAME    "isolazi.fs"
#define VM_SHARE_FRAME_HEADER 8
/* The largest write the server accepts (negotiated in FUSE_INIT) and so the largest frame:
 * a WRITE request is a header, a fuse_write_in and the data. */
#define VM_SHARE_MAX_WRITE (128 * 1024)
#define VM_SHARE_FRAME_MAX (VM_SHARE_MAX_WRITE + 4096)
/* The mount type the spec's mounts carry for a share (source: the share's index in decimal). */
#define VM_SHARE_MOUNT_TYPE "isolazi.share"

typedef struct vm_share vm_share_t;

/* Serve the host directory `path` (resolved now, once; it must be a directory). */
vm_share_t *vm_share_open(const char *path, bool readonly, isolazi_error_t *err);
void vm_share_free(vm_share_t *s);

/* Answer one FUSE request (`req`, `len` bytes: fuse_in_header and body).  On success returns 0
 * with *ret a malloc'd reply of *ret_len bytes (fuse_out_header and body), or *ret NULL and
 * *ret_len 0 for a request that takes no reply.  A request that fails in the file system is a
 * successful call whose reply carries the -errno.  -1 (err set) only for a malformed request
 * (short, a length that disagrees, an unknown node id): the caller ends the share. */
int vm_share_handle(vm_share_t *s, const void *req, size_t len, void **ret, size_t *ret_len, isolazi_error_t *err);

/* Serve frames on fd (the host end of the share port) for shares[0..n) until end of file:
 * read a frame, answer it, write the reply frame.  Returns 0 at end of file, -1 on a read or
 * write error or a malformed frame (an unknown share index, a length over VM_SHARE_FRAME_MAX). */
int vm_share_serve(int fd, vm_share_t *const *shares, size_t n, isolazi_error_t *err);

#endif
