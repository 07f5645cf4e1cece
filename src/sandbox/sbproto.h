/* SPDX-License-Identifier: Apache-2.0 */
/* Payloads of the sandbox messages of the guest protocol (VM_MSG_SB_* in src/vm/protocol.h).
 * Shared by the host (src/sandbox) and the static agent (src/vm-agent/sandbox_ops.c): libc
 * only, errors as negative errno values, little-endian integers as in the rest of the protocol.
 *
 *   SB_SETUP   u32 flags (SB_SETUP_*), u16 hostname length, hostname
 *   SB_WRITE   u32 mode, u32 flags (SB_WRITE_*), u16 path length, path, data
 *   SB_READ    u64 offset, u32 max bytes, u16 path length, path
 *   SB_DONE    after SB_READ: u64 the file's size, then the bytes read; otherwise empty
 *   SB_FREEZE  u32 1 (sync and freeze the root) or 0 (thaw)
 *
 * A failure is an ERROR frame (errno, status 1, message) on the request's `proc`. */
#ifndef ISOLAZI_SANDBOX_SBPROTO_H
#define ISOLAZI_SANDBOX_SBPROTO_H

#include <stddef.h>
#include <stdint.h>

#define SB_SETUP_NETWORK 1u /* configure eth0 for QEMU's user-mode network (10.0.2.15/24) */

#define SB_WRITE_APPEND 1u /* append instead of truncating */
#define SB_WRITE_MKDIRS 2u /* create missing parent directories */

/* The guest's disk and how it is mounted as the sandbox's root. */
#define SB_DISK_DEVICE "/dev/vda"
#define SB_DISK_FSTYPE "ext4"

/* The most one SB_READ answers with (a frame carries at most VM_FRAME_MAX_PAYLOAD). */
#define SB_CHUNK (512 * 1024)

typedef struct sb_file_req
{
  char *path; /* malloc'd, NUL-terminated */
  uint32_t mode, flags;
  uint64_t offset;
  uint32_t max;
  const uint8_t *data; /* SB_WRITE: points into the decoded payload */
  size_t data_len;
} sb_file_req_t;

uint64_t sb_get_u64(const uint8_t *p);
void sb_put_u64(uint8_t *p, uint64_t v);

/* Encoders return a malloc'd payload and its length (NULL: ENOMEM or a path over 64 KiB). */
uint8_t *sb_setup_encode(uint32_t flags, const char *hostname, size_t *ret_len);
uint8_t *sb_write_encode(const char *path, uint32_t mode, uint32_t flags, const void *data, size_t len,
                         size_t *ret_len);
uint8_t *sb_read_encode(const char *path, uint64_t offset, uint32_t max, size_t *ret_len);

/* Decoders return 0 or -EPROTO.  sb_setup_decode's hostname is malloc'd (NULL when empty). */
int sb_setup_decode(const uint8_t *p, size_t len, uint32_t *ret_flags, char **ret_hostname);
int sb_write_decode(const uint8_t *p, size_t len, sb_file_req_t *ret);
int sb_read_decode(const uint8_t *p, size_t len, sb_file_req_t *ret);

#endif
