/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of the VM library its files share (and the unit tests reach). */
#ifndef ISOLAZI_VM_INTERNAL_H
#define ISOLAZI_VM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "ocispec.h"
#include "protocol.h"
#include "vm.h"

#define VM_START_SOCKET "start.sock" /* = ISOLAZI_START_SOCKET: its presence means "created" */
#define VM_CTL_SOCKET   "ctl.sock"
#define VM_ROOTFS_IMAGE "rootfs.img"
#define VM_CONSOLE_LOG  "console.log"
#define VM_QEMU_LOG     "qemu.log"
#define VM_QEMU_PID     "qemu.pid"
#define VM_PAUSED_MARK  "paused" /* present while the guest's vCPUs are stopped (QMP stop) */
#define VM_HANDLER_MARK                                                                                                \
  "vm" /* present in a VM container's state directory: the front ends                                                  \
          dispatch its verbs to this library */
#define VM_MIN_RAM_MIB     128
#define VM_DEFAULT_RAM_MIB 256

/* ---- deciding: config → guest spec and machine size (vmspec.c) --------------------------- */

/* The container's spec for CREATE: process, hostname, mounts (flags decided here), small bind-
 * mounted files copied in (the host's paths do not exist in the guest), rootfs.  A bind mount
 * of a directory becomes a share (share.h): a VM_SHARE_MOUNT_TYPE mount in its place, and the
 * directory in s->shares for the host's share server.  A bind mount whose source is missing is
 * an error naming mounts[i].source; other sources (devices, sockets) are skipped, with a debug
 * note. */
int vm_spec_from_config(const oci_config *c, const char *bundle, vm_spec_t *ret, isolazi_error_t *err);
/* A process (config.json's or exec's) into the process half of a spec. */
int vm_spec_set_process(vm_spec_t *s, const oci_process *p, isolazi_error_t *err);

typedef struct vm_machine
{
  unsigned ram_mib;
  unsigned vcpus;
} vm_machine_t;

/* Memory limit → RAM (at least VM_MIN_RAM_MIB), cpu quota/period → vCPUs (rounded up, at most
 * host_cpus); defaults without them. */
void vm_machine_from_config(const oci_config *c, unsigned host_cpus, vm_machine_t *ret);

/* ---- the guest's kernel, initramfs and rootfs image (guest.c) ---------------------------- */

typedef struct vm_kernel
{
  char *vmlinuz;
  char *release;     /* "6.1.0-56-cloud-amd64" */
  char *modules_dir; /* .../lib/modules/RELEASE, or NULL */
} vm_kernel_t;

int vm_kernel_find(const char *explicit_path, vm_kernel_t *ret, isolazi_error_t *err);
void vm_kernel_release(vm_kernel_t *k);

/* The modules to load, dependencies first, as paths relative to modules_dir, from modules.dep
 * text.  Modules built in (absent from modules.dep) are skipped. */
int vm_modules_closure(const char *modules_dep, const char *const *names, char ***ret, isolazi_error_t *err);

/* The agent's initramfs for this kernel, built once into the cache and reused (its name carries
 * the kernel release and the agent's size and mtime).  Returns its path. */
int vm_initramfs_get(const vm_kernel_t *k, char **ret_path, isolazi_error_t *err);
/* The same for another kind of guest ("sandbox") that needs other `modules`: the kind names its
 * file in the cache ("sandbox-<release>-...") and its errors. */
int vm_initramfs_get_kind(const vm_kernel_t *k, const char *kind, const char *const *modules, char **ret_path,
                          isolazi_error_t *err);

/* Run a tool (argv[0] on PATH) with stdin from /dev/null; on failure the error names the command
 * and carries the end of its output. */
int vm_run_tool(char *const *argv, isolazi_error_t *err);

/* newc cpio writing, for the initramfs. */
typedef struct vm_cpio vm_cpio_t;
vm_cpio_t *vm_cpio_new(int fd);
int vm_cpio_add(vm_cpio_t *c, const char *name, mode_t mode, const void *data, size_t len);
int vm_cpio_finish(vm_cpio_t *c); /* writes the trailer and frees c; returns 0 or -errno */

/* An erofs image (ext4 when mkfs.erofs is missing) of dir at image.  *ret_type: "erofs"/"ext4". */
int vm_rootfs_image_make(const char *dir, const char *image, const char **ret_type, isolazi_error_t *err);

/* ---- QEMU (qemu.c) and QMP (qmp.c) ------------------------------------------------------- */

typedef struct vm_qemu_config
{
  const char *kernel, *initrd, *rootfs_image, *console_log;
  const char *accel;     /* "kvm" or "tcg" */
  unsigned long tsc_khz; /* for tcg; 0: unknown */
  unsigned ram_mib, vcpus;
  int serial_fd, qmp_fd; /* the fd numbers QEMU will have them at */
  /* The fd number QEMU will have the share port's socket at (share.h); 0 (the default of a
   * designated initialiser, and QEMU's stdin): no share port. */
  int share_fd;
} vm_qemu_config_t;

/* The QEMU command line (NULL-terminated, malloc'd strings). */
char **vm_qemu_argv(const vm_qemu_config_t *q);
/* The accelerator: "kvm" when a probe guest boots with it, else "tcg"; cached in the state root
 * for the host's uptime.  Explains itself with debug logs. */
const char *vm_qemu_pick_accel(const char *root, const char *wanted, const vm_kernel_t *k, isolazi_error_t *err);
unsigned long vm_host_tsc_khz(void);
/* Start QEMU with serial_fd and qmp_fd moved to 3 and 4, stdout and stderr to logfd.  It dies
 * with the calling process (PR_SET_PDEATHSIG). */
pid_t vm_qemu_spawn(char **argv, int serial_fd, int qmp_fd, int logfd, isolazi_error_t *err);
/* The same with share_fd (-1: none) moved to 5 as well. */
pid_t vm_qemu_spawn_shared(char **argv, int serial_fd, int qmp_fd, int share_fd, int logfd, isolazi_error_t *err);

typedef struct vm_qmp
{
  int fd;
  char buf[8192];
  size_t len;
} vm_qmp_t;

/* Read the greeting and negotiate capabilities, within timeout_ms. */
int vm_qmp_handshake(vm_qmp_t *q, int timeout_ms, isolazi_error_t *err);
/* Run a command ("quit", "system_powerdown", "query-status"); *ret_reply (may be NULL) gets the
 * reply line. */
int vm_qmp_command(vm_qmp_t *q, const char *command, int timeout_ms, char **ret_reply, isolazi_error_t *err);

/* ---- the monitor (monitor.c) -------------------------------------------------------------- */

typedef struct vm_monitor_config
{
  int dirfd;       /* the state directory */
  const char *dir; /* its path */
  const char *id;
  uint8_t *create_payload; /* the encoded spec */
  size_t create_payload_len;
  char **qemu_argv;
  bool terminal;
  uint16_t rows, cols;
  const char *console_socket; /* NULL: relay fds 0-2 */
  unsigned boot_timeout_ms;
  int sync_fd; /* the monitor writes "0" or "1<message>" once the guest is created or failed */
  /* The host directories the guest mounts (the spec's shares): served by a child of the
   * monitor on the share port, which QEMU gets at fd VM_QEMU_SHARE_FD (qemu_argv names it). */
  const vm_share_dir_t *shares;
  size_t shares_len;
} vm_monitor_config_t;

/* Where QEMU has the share port's socket when a VM has shares (vm_qemu_spawn_shared). */
#define VM_QEMU_SHARE_FD 5

/* The monitor's body (in the child create forks): never returns. */
void vm_monitor_main(const vm_monitor_config_t *c) __attribute__((noreturn));

/* ---- clients of a monitor (client.c) ------------------------------------------------------ */

/* Connect to a socket in the state directory. */
int vm_client_connect(int dirfd, const char *name, isolazi_error_t *err);
/* Send one frame and wait for STARTED (0) or ERROR (-1 with its message). */
int vm_client_request(int fd, unsigned type, uint32_t proc, const void *payload, size_t len, isolazi_error_t *err);

/* A pty on the host for a terminal: the master goes to the console socket, the slave (raw mode)
 * is returned, made our controlling terminal when `ctty`. */
int vm_console_open(const char *console_socket, uint16_t rows, uint16_t cols, bool ctty, isolazi_error_t *err);
/* Before the end of a process that made the pty slave its controlling terminal (with SIGHUP
 * and SIGCONT blocked): give it up, so that the master's holder closing it later does not kill
 * us with SIGHUP. */
void vm_console_detach(int slave);

/* The host end of one process's stdio: bytes from `in` go to the guest as STDIN frames, STDOUT
 * and STDERR frames go to `out` and `err`. Used by the monitor (process 0) and exec relays. */
typedef struct vm_stdio
{
  int in, out, err;
  bool terminal;
  bool in_done;
} vm_stdio_t;

int vm_stdio_write(const vm_stdio_t *s, unsigned type, const uint8_t *p, size_t len);

/* Encode a wait status the way a shell reports it. */
int vm_status_to_exit(int wait_status);

/* The report of a VM's host process on fd once it is ready: "0", or "1<message>" (nothing when
 * it died).  When not ready, the process is reaped, *pid set to -1, and err says why (`what`
 * and the exit status when it left no message). */
int vm_child_ready(int fd, pid_t *pid, const char *what, isolazi_error_t *err);
/* Write the container's state (pid, bundle, annotations) and the --pid-file. */
int vm_state_publish(int dirfd, const isolazi_create_options_t *o, pid_t pid, const isolazi_bundle_t *b,
                     isolazi_error_t *err);

/* libkrun (krun.c): dlopen("libkrun.so.1") and its krun_* calls; a clear error when it is not
 * installed. */
int vm_krun_check(isolazi_error_t *err);
/* create with the libkrun backend: *ret_pid is the process that becomes the VM on `start`. */
int vm_krun_create(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, pid_t *ret_pid,
                   isolazi_error_t *err);
/* Whether the container in dirfd runs on libkrun; and an error saying `what` is not possible
 * there (0 for other containers). */
bool vm_krun_is(int dirfd);
int vm_krun_refuse(int dirfd, const char *what, isolazi_error_t *err);

#endif
