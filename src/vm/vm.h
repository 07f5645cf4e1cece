/* SPDX-License-Identifier: Apache-2.0 */
/* isolazi-vm: OCI bundles in microVMs, behind the same lifecycle as containers.
 *
 * A VM "container" is a monitor process on the host (its pid is the container's pid, as runc's
 * init is) that owns QEMU, talks to the guest agent over the guest protocol (protocol.h),
 * relays the container's stdio between its own fds 0-2 (or a console socket's pty) and the
 * guest, and exits with the workload's status.  The state store is the one containers use
 * (state.h), so `state` and `list` are the core's; the monitor's start.sock marks "created" as
 * the container init's does, and its ctl.sock takes exec and kill. */
#ifndef ISOLAZI_VM_H
#define ISOLAZI_VM_H

#include <stdbool.h>
#include <sys/types.h>
#include "container.h"
#include "control.h"
#include "error.h"

#define ISOLAZI_VM_DEFAULT_ROOT  "/run/isolazi-vm"
#define ISOLAZI_VM_DEFAULT_CACHE "/var/cache/isolazi-vm"

typedef enum isolazi_vm_backend
{
  ISOLAZI_VM_BACKEND_QEMU = 0,
  ISOLAZI_VM_BACKEND_LIBKRUN,
} isolazi_vm_backend_t;

typedef struct isolazi_vm_global
{
  isolazi_global_t core; /* root; the rest is ignored */
  isolazi_vm_backend_t backend;
  const char *kernel;    /* NULL: $ISOLAZI_VM_KERNEL, else the newest cloud kernel in the cache */
  const char *accel;     /* "auto" (NULL), "kvm" or "tcg" */
  unsigned boot_timeout; /* seconds; 0: $ISOLAZI_VM_BOOT_TIMEOUT, else 60 */
} isolazi_vm_global_t;

/* A backend name ("qemu", "libkrun") to the enum. */
int isolazi_vm_backend_parse(const char *s, isolazi_vm_backend_t *ret, isolazi_error_t *err);

int isolazi_vm_create(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, isolazi_error_t *err);
int isolazi_vm_start(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err);
/* create + start; unless detached, wait, forward signals, delete, and store the status as a shell
 * would (exit code, or 128+signal). */
int isolazi_vm_run(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, int *ret_status,
                   isolazi_error_t *err);
/* SIGKILL stops the VM at once; other signals go to the workload in the guest (`all`: to every
 * process in the guest). */
int isolazi_vm_kill(const isolazi_vm_global_t *g, const char *id, int sig, bool all, isolazi_error_t *err);
int isolazi_vm_delete(const isolazi_vm_global_t *g, const char *id, bool force, isolazi_error_t *err);
/* The host processes of the VM: the monitor and QEMU (what `ps --format json` reports: the pids
 * a shim can watch and signal). */
int isolazi_vm_ps(const isolazi_vm_global_t *g, const char *id, pid_t **ret, size_t *ret_len, isolazi_error_t *err);
/* The guest's processes as the agent reports them: one line each, "pid ppid uid state comm\targs"
 * (malloc'd text). */
int isolazi_vm_guest_ps(const isolazi_vm_global_t *g, const char *id, char **ret_text, isolazi_error_t *err);
/* Stop the guest's vCPUs (QMP stop) and let them run again; `state` says "paused" in between. */
int isolazi_vm_pause(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err);
int isolazi_vm_resume(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err);
/* Always an error that says why: a VM's resources are fixed when it boots. */
int isolazi_vm_update(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err);
/* runc's events for a VM: stats (the guest's memory, cpu time and process count) every interval,
 * or once. */
int isolazi_vm_events(const isolazi_vm_global_t *g, const char *id, const isolazi_events_options_t *o,
                      isolazi_event_fn emit, void *data, isolazi_error_t *err);

/* ---- for front ends that run containers and VMs (isolazi) ---------------------------------- */

/* crun's precedent: config.json's annotation run.oci.handler names the handler (crun: "krun",
 * "wasm"); "vm" runs the bundle here. */
#define ISOLAZI_VM_HANDLER_ANNOTATION "run.oci.handler"
#define ISOLAZI_VM_HANDLER            "vm"

/* Whether the bundle's (NULL: the current directory's) config.json carries run.oci.handler=vm.
 * An unreadable or invalid one is not (create then reports why). */
bool isolazi_vm_bundle_is_vm(const char *bundle);
/* Whether `id` under the state root is a VM container (created by this library). */
bool isolazi_vm_container_is_vm(const char *root, const char *id);
/* VM options for a front end that has only the core's: QEMU, with the kernel, accelerator and
 * boot timeout from the environment ($ISOLAZI_VM_KERNEL, $ISOLAZI_VM_BOOT_TIMEOUT). */
void isolazi_vm_global_init(isolazi_vm_global_t *g, const isolazi_global_t *core);
/* `state` of a VM container: the core's document, with "paused" while the guest is stopped. */
int isolazi_vm_state(const isolazi_vm_global_t *g, const char *id, char **ret_json, isolazi_error_t *err);
/* The same correction for `list`: VM containers whose guest is stopped are "paused". */
void isolazi_vm_list_fix(const isolazi_global_t *g, isolazi_container_info_t *list, size_t len);

typedef struct isolazi_vm_exec_options
{
  const char *id;
  const char *process_file; /* --process: a process.json; otherwise the fields below */
  char **args;
  size_t args_len;
  char **env; /* added to / overriding the container's */
  size_t env_len;
  const char *cwd;
  const char *user; /* "uid[:gid]" */
  char **additional_gids;
  size_t additional_gids_len;
  bool tty;
  bool detach;
  const char *pid_file;
  const char *console_socket;
} isolazi_vm_exec_options_t;

/* Run a process in a running VM.  Detached: returns once it started (the pid file holds a host
 * process that relays its stdio and exits with its status).  Otherwise waits and stores its
 * status in *ret_status as a shell would. */
int isolazi_vm_exec(const isolazi_vm_global_t *g, const isolazi_vm_exec_options_t *o, int *ret_status,
                    isolazi_error_t *err);

/* The features document of isolazi-vm (malloc'd JSON). */
char *isolazi_vm_features_json(void);

#endif
