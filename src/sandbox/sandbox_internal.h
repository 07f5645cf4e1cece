/* SPDX-License-Identifier: Apache-2.0 */
/* What the sandbox library's files share (and the unit tests reach). */
#ifndef ISOLAZI_SANDBOX_INTERNAL_H
#define ISOLAZI_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "sandbox.h"
#include "sbproto.h"
#include "vm_internal.h"

/* Under the root: */
#define SB_DIR_SANDBOXES "sandboxes" /* one directory per sandbox */
#define SB_DIR_POOL      "pool"      /* one directory per warm VM, the same layout */
#define SB_DIR_LAYERS    "layers"    /* qcow2 layers, shared between a sandbox and its forks */
#define SB_DIR_IMAGES    "images"    /* read-only ext4 bases, one per source and disk size */
#define SB_POOL_CONFIG   "pool.json"
#define SB_GLOBAL_LOCK   ".lock"
/* In a sandbox's directory: */
#define SB_STATE       "state.json"
#define SB_RUNTIME     "daemon.json" /* the daemon's and QEMU's pids while it runs */
#define SB_SOCKET      "sandbox.sock"
#define SB_STOP_REASON "stopped" /* why the VM stopped, when it was not asked to */
#define SB_CONSOLE_LOG "console.log"
#define SB_QEMU_LOG    "qemu.log"

typedef struct sb_snapshot
{
  char *name, *layer, *parent, *created; /* parent: the snapshot the layer sits on, or NULL */
} sb_snapshot_t;

/* A link to another sandbox's port (peer.c): reached in this sandbox's guest at addr:port. */
typedef struct sb_peer
{
  char *to, *addr;
  uint16_t port;
} sb_peer_t;

/* Guest addresses of links: SB_PEER_NET SB_PEER_FIRST and up, one per target sandbox, outside
 * slirp's DHCP range (.15-.30), gateway (.2) and DNS (.3). */
#define SB_PEER_NET   "10.0.2."
#define SB_PEER_FIRST 100u
#define SB_PEER_MAX   32u
/* Where a sandbox's daemon binds the host forwards that links connect to: a loopback address
 * other than 127.0.0.1, which slirp maps to 10.0.2.2 for every sandbox with `internet`. */
#define SB_PEER_HOST_ADDR "127.0.0.2"

typedef struct sb_state
{
  char *name;
  char *created;
  char *source; /* "preset:python", "bundle:/path", "image:ref" */
  char *base;   /* the ext4 base image (raw) */
  unsigned cpus, memory_mib, disk_mib;
  char *network; /* "none", "internet" */
  isolazi_sandbox_port_t *ports;
  size_t ports_len;
  char *active; /* the writable layer */
  char *head;   /* the snapshot the active layer sits on, or NULL */
  sb_snapshot_t *snapshots;
  size_t snapshots_len;
  char **layers; /* every layer this sandbox needs (own and inherited), NULL-terminated */
  size_t layers_len;
  sb_peer_t *peers; /* links to other sandboxes' ports */
  size_t peers_len;
  char *forked_from; /* "sandbox@snapshot" */
  char *pool_key;    /* a warm VM not yet given out */
} sb_state_t;

typedef struct sb_runtime
{
  pid_t pid, qemu_pid;
  unsigned long long pid_start;
  char *accel;
  double boot_ms;
} sb_runtime_t;

/* ---- store.c ------------------------------------------------------------------------------- */

char *sb_root(const isolazi_sandbox_ctx_t *c);
/* Open (creating) the root and its subdirectories. */
int sb_root_open(const isolazi_sandbox_ctx_t *c, char **ret_path, isolazi_error_t *err);
void sb_state_release(sb_state_t *s);
sb_state_t *sb_state_parse(const char *text, size_t len, isolazi_error_t *err);
char *sb_state_json(const sb_state_t *s, bool pretty);
int sb_state_load(int dirfd, sb_state_t *ret, isolazi_error_t *err);
int sb_state_save(int dirfd, const sb_state_t *s, isolazi_error_t *err);
void sb_state_add_layer(sb_state_t *s, const char *layer);
void sb_state_remove_layer(sb_state_t *s, const char *layer);
const sb_snapshot_t *sb_state_find_snapshot(const sb_state_t *s, const char *name);
const sb_peer_t *sb_state_find_peer(const sb_state_t *s, const char *to, uint16_t port);
/* flock, blocking. */
int sb_lock(int fd, isolazi_error_t *err);

/* Runtime: 1 running (filled), 0 not running.  Reaping removes the files of a daemon that is gone
 * and returns its cause in *ret_reaped (NULL when nothing was reaped). */
int sb_runtime_get(int dirfd, sb_runtime_t *ret, char **ret_reaped);
void sb_runtime_release(sb_runtime_t *r);
bool sb_alive(pid_t pid, unsigned long long start);
int sb_runtime_save(int dirfd, const sb_runtime_t *r, isolazi_error_t *err);

/* ---- disk.c -------------------------------------------------------------------------------- */

/* The base image of a rootfs directory (made once, keyed by the directory, its stamp and the
 * size).  *ret_path: malloc'd. */
int sb_base_get(const char *root, const char *rootfs, const char *stamp, unsigned disk_mib, char **ret_path,
                isolazi_error_t *err);
/* A new qcow2 layer over backing (raw or qcow2), in root/layers, named after hint. */
int sb_layer_create(const char *root, const char *hint, const char *backing, bool backing_raw, char **ret_path,
                    isolazi_error_t *err);
/* Remove layers that no state under root mentions any more. */
void sb_layers_gc(const char *root, char *const *candidates);
double sb_now_ms(void);
/* Tools (mke2fs, qemu-img) run through src/vm's vm_run_tool. */

/* ---- guest.c ------------------------------------------------------------------------------- */

/* The sandbox initramfs (the agent, plus virtio_net beside isolazi-vm's modules). */
int sb_initramfs_get(const vm_kernel_t *k, char **ret_path, isolazi_error_t *err);

/* ---- daemon.c ------------------------------------------------------------------------------ */

/* Boot the sandbox whose state directory is dir (state.json saved) and return once its
 * daemon serves, or with the boot's error. */
int sb_daemon_start(const isolazi_sandbox_ctx_t *c, const char *dir, const sb_state_t *s, isolazi_error_t *err);
/* Ask the daemon to stop the VM (sync first) and wait for it; SIGKILL after timeout_ms. */
int sb_daemon_stop(int dirfd, unsigned timeout_ms, isolazi_error_t *err);

/* ---- client.c ------------------------------------------------------------------------------ */

/* Connect to a running sandbox's daemon ("sandbox `x` is not running" otherwise). */
int sb_connect(int dirfd, const char *name, isolazi_error_t *err);
/* exec in the sandbox whose directory is dirfd. */
int sb_exec_at(int dirfd, const char *name, const isolazi_sandbox_exec_options_t *o, isolazi_sandbox_exec_result_t *ret,
               isolazi_error_t *err);
/* A control request (JSON object text) and its answer (JSON text, malloc'd; may be NULL). */
int sb_ctl(int dirfd, const char *name, const char *request, char **ret_reply, isolazi_error_t *err);

/* ---- sandbox.c ----------------------------------------------------------------------------- */

typedef struct sb_handle
{
  char *root;
  int rootfd, dirfd;
  char *dir; /* root/sandboxes/name */
  sb_state_t st;
} sb_handle_t;

/* Open and lock a sandbox (an unknown one: "sandbox `x` does not exist", ENOENT). */
int sb_open(const isolazi_sandbox_ctx_t *c, const char *name, sb_handle_t *ret, isolazi_error_t *err);
void sb_close(sb_handle_t *h);

/* ---- pool.c -------------------------------------------------------------------------------- */

/* The pool key of a source and machine. */
char *sb_pool_key(const char *base, unsigned cpus, unsigned memory_mib);
/* Take a warm VM of `key` and make it sandbox `name` (its directory renamed into place).  1: taken,
 * 0: none free, -1: error. */
int sb_pool_take(const isolazi_sandbox_ctx_t *c, const char *key, const char *name, isolazi_error_t *err);
/* Refill in the background (a detached process), when a pool is configured. */
void sb_pool_refill_async(const isolazi_sandbox_ctx_t *c);
/* The rootfs directory and stamp of a source (an image is unpacked under root/images once). */
int sb_source_resolve(const char *root, const char *preset, const char *bundle, const char *image, char **ret_rootfs,
                      char **ret_stamp, char **ret_desc, isolazi_error_t *err);

#endif
