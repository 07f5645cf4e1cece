/* SPDX-License-Identifier: Apache-2.0 */
/* The guest protocol: what the host (src/vm) and the guest agent (src/vm-agent, pid 1 of the
 * VM) say to each other over one byte stream (a virtio-serial port here, vsock where the host
 * has vhost-vsock).
 *
 * A frame is a 12-byte header, little-endian, then `len` bytes of payload:
 *
 *   u32 len   u16 type   u16 flags   u32 proc
 *
 * `proc` names the process a frame is about: 0 is the container's process (config.json's),
 * 1.. are exec'd processes, numbered by the host.  The standard streams are frame types
 * (STDIN host→guest, STDOUT and STDERR guest→host); an empty payload is end of file.
 *
 * A process is described by a "spec": a list of tagged fields (u16 tag, u32 len, bytes) that
 * the host builds from config.json (or exec's process.json), so that the static agent needs no
 * JSON parser and every decision about the config is made, and unit-tested, on the host.
 *
 * This file and protocol.c are shared by the host library and the static agent: they use only
 * libc and report errors as negative errno values. */
#ifndef ISOLAZI_VM_PROTOCOL_H
#define ISOLAZI_VM_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_PROTO_VERSION     1
#define VM_FRAME_HEADER_SIZE 12
#define VM_FRAME_MAX_PAYLOAD (1024 * 1024)
/* The name of the virtio-serial port the agent talks on (/sys/class/virtio-ports/ * /name). */
#define VM_PORT_NAME "isolazi.0"
/* The vsock port, where vsock is the transport. */
#define VM_VSOCK_PORT 1024

typedef enum vm_msg_type
{
  VM_MSG_HELLO = 1, /* guest→host, proc 0: the agent is up; payload: u32 protocol version */
  VM_MSG_CREATE,    /* host→guest, proc 0: spec of the container (rootfs, mounts, process) */
  VM_MSG_CREATED,   /* guest→host, proc 0: rootfs and mounts ready, executable found */
  VM_MSG_START,     /* host→guest, proc 0: run the container's process */
  VM_MSG_EXEC,      /* host→guest, proc N: spec of a process to run now */
  VM_MSG_STARTED,   /* guest→host: the process was exec'd; payload: u32 guest pid */
  VM_MSG_ERROR,     /* guest→host: payload: i32 errno, i32 exit status, message (not NUL-terminated) */
  VM_MSG_STDIN,     /* host→guest: bytes for the process's stdin; empty: EOF */
  VM_MSG_STDOUT,    /* guest→host: bytes the process wrote on stdout (the terminal, with one) */
  VM_MSG_STDERR,    /* guest→host */
  VM_MSG_SIGNAL,    /* host→guest: payload: i32 signal; flags VM_FLAG_ALL: every process */
  VM_MSG_WINSIZE,   /* host→guest: payload: u16 rows, u16 cols */
  VM_MSG_EXIT,      /* guest→host: payload: i32 wait status (as waitpid stores it) */
  /* Sandboxes (src/sandbox/sbproto.h describes the payloads; sandbox_ops.c in the agent). */
  VM_MSG_SB_SETUP,  /* host→guest, proc 0: mount the sandbox's disk as the root, hostname, network */
  VM_MSG_SB_DONE,   /* guest→host (and daemon→client): an operation succeeded; payload per operation */
  VM_MSG_SB_WRITE,  /* host→guest: write (or append to) a file inside the root */
  VM_MSG_SB_READ,   /* host→guest: read a file inside the root, from an offset */
  VM_MSG_SB_FREEZE, /* host→guest: u32 1: sync and freeze the root file system, 0: thaw it */
  VM_MSG_SB_CTL,    /* client→sandbox daemon only: a control request (JSON) */
  /* Lifecycle requests of isolazi-vm (ps, events --stats, pause, resume). */
  VM_MSG_PS,     /* host→guest, proc N: list the guest's processes; the answer is a PS frame back: one
                    line per process, "pid ppid uid state comm\targs" */
  VM_MSG_STATS,  /* host→guest, proc N: resource usage; answered by a STATS frame: "key value" lines */
  VM_MSG_PAUSE,  /* client→monitor only: stop the guest's vCPUs (QMP stop); answered STARTED or ERROR */
  VM_MSG_RESUME, /* client→monitor only: let them run again (QMP cont) */
  VM_MSG_TYPE_MAX,
} vm_msg_type_t;

#define VM_FLAG_ALL 1u /* SIGNAL: every process of the container, not only `proc` */

typedef struct vm_frame_header
{
  uint32_t len;
  uint16_t type;
  uint16_t flags;
  uint32_t proc;
} vm_frame_header_t;

/* The name of a message type, for logs ("STDOUT"); "?" when unknown. */
const char *vm_msg_type_name(unsigned type);

void vm_frame_header_encode(const vm_frame_header_t *h, uint8_t out[VM_FRAME_HEADER_SIZE]);
/* -EPROTO for an unknown type or a payload over VM_FRAME_MAX_PAYLOAD. */
int vm_frame_header_decode(const uint8_t in[VM_FRAME_HEADER_SIZE], vm_frame_header_t *ret);

/* Write one frame (header and payload) with as many write()s as it takes; a blocking fd.
 * Returns 0 or -errno (-EPIPE when the peer went away). */
int vm_frame_write(int fd, unsigned type, unsigned flags, uint32_t proc, const void *payload, size_t len);
/* Read one whole frame from a blocking fd; *ret_payload is malloc'd (NULL for an empty one) and
 * NUL-terminated for convenience.  Returns 0, -ECONNRESET at a clean end of stream between
 * frames, -EPROTO on a malformed frame or a stream cut inside one, or -errno. */
int vm_frame_read(int fd, vm_frame_header_t *ret, uint8_t **ret_payload);

/* Frames waiting for a non-blocking fd: whoever relays two ways must never block on a write,
 * or two peers each waiting for the other to read would stop for good under heavy traffic
 * (a `cat` fed a few MB: its stdout fills while its stdin is being written). */
typedef struct vm_outq
{
  uint8_t *buf;
  size_t off, len, cap; /* pending bytes are buf[off .. len) */
} vm_outq_t;

/* Append one frame (-ENOMEM, -EMSGSIZE). */
int vm_outq_frame(vm_outq_t *q, unsigned type, unsigned flags, uint32_t proc, const void *payload, size_t len);
/* Write what the fd takes now; 0 when done or when it would block, -errno on an error
 * (-EPIPE: the peer went away). */
int vm_outq_flush(vm_outq_t *q, int fd);
size_t vm_outq_pending(const vm_outq_t *q);
void vm_outq_release(vm_outq_t *q);
/* Past this many pending bytes, stop reading what feeds the queue. */
#define VM_OUTQ_HIGH (256 * 1024)

/* Incremental decoding for poll loops: feed what read() returned, then take whole frames. */
typedef struct vm_frame_reader
{
  uint8_t *buf;
  size_t len, cap;
} vm_frame_reader_t;

int vm_frame_reader_feed(vm_frame_reader_t *r, const void *data, size_t len);
/* 1 with the next frame (payload malloc'd and NUL-terminated, NULL when empty), 0 when no whole
 * frame is buffered, -EPROTO on a malformed header. */
int vm_frame_reader_next(vm_frame_reader_t *r, vm_frame_header_t *ret, uint8_t **ret_payload);
void vm_frame_reader_release(vm_frame_reader_t *r);

/* Fixed payloads. */
int vm_payload_u32(const uint8_t *p, size_t len, uint32_t *ret);
/* Little-endian u32 at p (frame headers, payloads, the share port's frames). */
void vm_put_u32(uint8_t *p, uint32_t v);
uint32_t vm_get_u32(const uint8_t *p);
/* ERROR: errno, the exit status the host should report (127: not found, 126: not executable),
 * and a message.  Encoding returns a malloc'd buffer and its length in *ret_len (NULL: ENOMEM). */
uint8_t *vm_error_encode(int errnum, int status, const char *msg, size_t *ret_len);
/* The message is malloc'd and NUL-terminated. */
int vm_error_decode(const uint8_t *p, size_t len, int *ret_errnum, int *ret_status, char **ret_msg);

/* ---- specs ------------------------------------------------------------------------------- */

typedef struct vm_rlimit
{
  uint32_t resource; /* RLIMIT_* */
  uint64_t soft, hard;
} vm_rlimit_t;

/* A mount in the guest, already decided: flags for mount(2), the rest as data. */
typedef struct vm_mount
{
  char *destination; /* absolute, inside the container's root */
  char *type;
  char *source;
  char *data; /* NULL: none */
  uint64_t flags;
  uint64_t propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED (| MS_REC), applied after; 0: none */
} vm_mount_t;

/* A small file the host copies into the container's filesystem (e.g. a bind-mounted
 * /etc/resolv.conf: the host's paths are not visible in the guest). */
typedef struct vm_file
{
  char *path; /* absolute, inside the container's root */
  char *content;
  size_t content_len;
  uint32_t mode;
} vm_file_t;

/* A host directory shared with the guest (share.h), in the order of the spec's share mounts.
 * Host only: vm_spec_encode does not send it (the guest knows a share by its index). */
typedef struct vm_share_dir
{
  char *path;
  bool readonly;
  size_t mount_index; /* its place in config.json's mounts, for errors */
} vm_share_dir_t;

typedef struct vm_spec
{
  /* process */
  char **args; /* NULL-terminated */
  size_t args_len;
  char **env;
  size_t env_len;
  char *cwd;
  uint32_t uid, gid, umask;
  bool umask_present;
  uint32_t *gids;
  size_t gids_len;
  vm_rlimit_t *rlimits;
  size_t rlimits_len;
  bool terminal;
  uint16_t rows, cols; /* initial window size, 0: unset */
  bool no_new_privileges;
  /* container (CREATE only) */
  char *hostname;
  char *domainname;
  char *rootfs_device; /* "/dev/vda" */
  char *rootfs_type;   /* "erofs", "ext4" */
  bool rootfs_readonly;
  vm_mount_t *mounts;
  size_t mounts_len;
  vm_file_t *files;
  size_t files_len;
  /* host only, not encoded */
  vm_share_dir_t *shares;
  size_t shares_len;
} vm_spec_t;

/* Encode a spec; returns a malloc'd buffer and its length, NULL on ENOMEM. */
uint8_t *vm_spec_encode(const vm_spec_t *s, size_t *ret_len);
/* Decode into *ret (zeroed first); -EPROTO for a malformed field. Release with vm_spec_release. */
int vm_spec_decode(const uint8_t *p, size_t len, vm_spec_t *ret);
void vm_spec_release(vm_spec_t *s);

/* Helpers for building one: append a copy of the string (false on ENOMEM). */
bool vm_spec_add_arg(vm_spec_t *s, const char *arg);
bool vm_spec_add_env(vm_spec_t *s, const char *kv);

#endif
