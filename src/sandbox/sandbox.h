/* SPDX-License-Identifier: Apache-2.0 */
/* Sandboxes for agents: long-lived microVMs (isolazi-vm's QEMU backend and guest agent) with
 * a persistent writable disk, named and driven by many short client calls (the CLI's
 * `isolazi-vm sandbox ...`, the MCP server).
 *
 * Each running sandbox has a daemon on the host (daemon.c) that owns its QEMU, its QMP
 * connection and the agent's channel, and serves clients on `sandbox.sock` in the sandbox's
 * directory.  The durable part is on disk: state.json (written atomically) and a chain of qcow2
 * layers over a read-only ext4 base made once per image, so snapshot, restore and fork are
 * layer operations, and a sandbox whose VM died is only stopped: `start` boots it again on
 * its disk.  A warm pool of booted, unassigned VMs makes a new sandbox's first exec skip the
 * boot.  Like src/lib, this library never prints or exits. */
#ifndef ISOLAZI_SANDBOX_H
#define ISOLAZI_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "vm.h"

#define ISOLAZI_SANDBOX_DEFAULT_ROOT "/var/lib/isolazi-vm"
/* The largest file write/read/upload/download moves. */
#define ISOLAZI_SANDBOX_FILE_MAX (16 * 1024 * 1024)

typedef struct isolazi_sandbox_ctx
{
  const char *root;              /* NULL: $ISOLAZI_VM_SANDBOX_ROOT, else the default */
  const isolazi_vm_global_t *vm; /* kernel, accelerator, boot timeout; may be NULL */
} isolazi_sandbox_ctx_t;

typedef struct isolazi_sandbox_port
{
  uint16_t host, guest;
} isolazi_sandbox_port_t;

typedef struct isolazi_sandbox_create_options
{
  const char *name;
  /* One source: a preset (python, node, ruby, go), a bundle directory, or an image reference
   * (pulled with isolazi-pull's library into its store). */
  const char *preset, *bundle, *image;
  unsigned cpus, memory_mib, disk_mib; /* 0: 1 vCPU, 256 MiB, 1024 MiB */
  const char *network;                 /* "none" (NULL) or "internet" */
  const isolazi_sandbox_port_t *ports;
  size_t ports_len;
  bool no_pool; /* boot a new VM even when the warm pool has one */
} isolazi_sandbox_create_options_t;

/* Create a sandbox and have it running.  *ret_from_pool (may be NULL): it took a warm VM. */
int isolazi_sandbox_create(const isolazi_sandbox_ctx_t *c, const isolazi_sandbox_create_options_t *o,
                           bool *ret_from_pool, isolazi_error_t *err);
int isolazi_sandbox_start(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err);
int isolazi_sandbox_stop(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err);
int isolazi_sandbox_destroy(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err);

typedef struct isolazi_sandbox_summary
{
  char *name, *status, *image, *network;
  unsigned cpus, memory_mib;
  size_t snapshots;
  char *reaped; /* non-NULL: this call found its VM dead and marked it stopped; the cause */
} isolazi_sandbox_summary_t;

/* Every sandbox, by name; sandboxes whose VM died are reaped on the way (see `reaped`). */
int isolazi_sandbox_list(const isolazi_sandbox_ctx_t *c, isolazi_sandbox_summary_t **ret, size_t *ret_len,
                         isolazi_error_t *err);
void isolazi_sandbox_summaries_free(isolazi_sandbox_summary_t *s, size_t n);
/* The sandbox's state, status, processes and snapshot tree as a JSON object (malloc'd). */
char *isolazi_sandbox_info_json(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err);

typedef struct isolazi_sandbox_exec_options
{
  char **args; /* NULL-terminated */
  char **env;  /* KEY=VALUE, NULL-terminated, may be NULL */
  const char *cwd;
  unsigned timeout_ms; /* 0: none.  On expiry the process is killed and the exit code is 124. */
  int in_fd;           /* stdin from this fd, or -1 for an empty stdin */
  int out_fd, err_fd;  /* -1: capture into the result (up to capture_max bytes each) */
  size_t capture_max;
} isolazi_sandbox_exec_options_t;

typedef struct isolazi_sandbox_exec_result
{
  int exit_code; /* as a shell reports it: 128+N for signal N, 124 on timeout */
  bool timed_out;
  char *out, *err; /* captured output (NUL-terminated), when captured */
  size_t out_len, err_len;
  bool truncated;
} isolazi_sandbox_exec_result_t;

int isolazi_sandbox_exec(const isolazi_sandbox_ctx_t *c, const char *name, const isolazi_sandbox_exec_options_t *o,
                         isolazi_sandbox_exec_result_t *ret, isolazi_error_t *err);
void isolazi_sandbox_exec_result_release(isolazi_sandbox_exec_result_t *r);

/* Files inside the guest (at most ISOLAZI_SANDBOX_FILE_MAX bytes). */
int isolazi_sandbox_write(const isolazi_sandbox_ctx_t *c, const char *name, const char *path, const void *data,
                          size_t len, unsigned mode, isolazi_error_t *err);
int isolazi_sandbox_read(const isolazi_sandbox_ctx_t *c, const char *name, const char *path, char **ret,
                         size_t *ret_len, isolazi_error_t *err);
/* Between the guest and files under files_root on the host; host paths are resolved beneath
 * files_root (openat2 RESOLVE_BENEATH): `..` and symlinks cannot leave it. */
int isolazi_sandbox_upload(const isolazi_sandbox_ctx_t *c, const char *name, const char *files_root,
                           const char *host_path, const char *guest_path, isolazi_error_t *err);
int isolazi_sandbox_download(const isolazi_sandbox_ctx_t *c, const char *name, const char *files_root,
                             const char *guest_path, const char *host_path, isolazi_error_t *err);

/* Snapshots: *ret_ms (may be NULL) gets the time the layer operation took. */
int isolazi_sandbox_snapshot(const isolazi_sandbox_ctx_t *c, const char *name, const char *snapshot,
                             char **ret_snapshot, double *ret_ms, isolazi_error_t *err);
int isolazi_sandbox_restore(const isolazi_sandbox_ctx_t *c, const char *name, const char *snapshot, double *ret_ms,
                            isolazi_error_t *err);
/* Delete a snapshot.  Refused (EBUSY) while another snapshot or a fork is based on it; when
 * the disk sits on it, the active layer is folded into it (a running sandbox restarts). */
int isolazi_sandbox_snapshot_delete(const isolazi_sandbox_ctx_t *c, const char *name, const char *snapshot,
                                    isolazi_error_t *err);
/* A new sandbox `name` whose disk starts as `source`'s snapshot (NULL: one taken now). */
int isolazi_sandbox_fork(const isolazi_sandbox_ctx_t *c, const char *source, const char *name, const char *snapshot,
                         double *ret_ms, isolazi_error_t *err);

/* Network policy "none" or "internet": saved, and applied by restarting a running sandbox
 * (*ret_restarted). */
int isolazi_sandbox_policy_set(const isolazi_sandbox_ctx_t *c, const char *name, const char *network,
                               bool *ret_restarted, isolazi_error_t *err);
/* Links between sandboxes (whatever their network policy): let `name` connect to `to`'s guest
 * port, reached inside `name` at *ret_addr (malloc'd, may be NULL):port.  Saved, and applied by
 * restarting a running `name` (*ret_restarted).  Deny takes effect at once, without a restart. */
int isolazi_sandbox_allow(const isolazi_sandbox_ctx_t *c, const char *name, const char *to, uint16_t port,
                          char **ret_addr, bool *ret_restarted, isolazi_error_t *err);
int isolazi_sandbox_deny(const isolazi_sandbox_ctx_t *c, const char *name, const char *to, uint16_t port,
                         isolazi_error_t *err);
/* One connection of a link, from QEMU's guestfwd: fd (a socket) to `to`'s port, when `from` is
 * still allowed; returns when the connection ends. */
int isolazi_sandbox_relay(const isolazi_sandbox_ctx_t *c, const char *from, const char *to, uint16_t port, int fd,
                          isolazi_error_t *err);
/* Forward 127.0.0.1:host to the guest's port (live when running, and at every boot). */
int isolazi_sandbox_port_add(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_sandbox_port_t p,
                             isolazi_error_t *err);
int isolazi_sandbox_port_remove(const isolazi_sandbox_ctx_t *c, const char *name, uint16_t host, isolazi_error_t *err);

/* The warm pool: booted VMs of one source kept free so that `create` takes one. */
typedef struct isolazi_sandbox_pool_config
{
  const char *preset, *bundle; /* the source the pool's VMs are made from */
  unsigned cpus, memory_mib, disk_mib;
  unsigned min, max, target;  /* free VMs: never fewer than min, refilled to target, at most max */
  unsigned memory_budget_mib; /* the free VMs' RAM together; 0: no limit */
} isolazi_sandbox_pool_config_t;

int isolazi_sandbox_pool_configure(const isolazi_sandbox_ctx_t *c, const isolazi_sandbox_pool_config_t *p,
                                   isolazi_error_t *err);
/* Boot VMs until the pool holds its target.  Returns how many were booted. */
int isolazi_sandbox_pool_fill(const isolazi_sandbox_ctx_t *c, isolazi_error_t *err);
int isolazi_sandbox_pool_drain(const isolazi_sandbox_ctx_t *c, isolazi_error_t *err);
char *isolazi_sandbox_pool_status_json(const isolazi_sandbox_ctx_t *c, isolazi_error_t *err);

/* Check a sandbox name: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
int isolazi_sandbox_name_validate(const char *name, isolazi_error_t *err);
/* "8080:80" → a port pair. */
int isolazi_sandbox_port_parse(const char *s, isolazi_sandbox_port_t *ret, isolazi_error_t *err);

#endif
