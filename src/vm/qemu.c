/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU backend: `qemu-system-x86_64 -M microvm` with the agent's initramfs, the rootfs
 * image on virtio-blk, the agent's channel on a virtio-serial port and QMP, both on sockets
 * QEMU inherits (no paths to race for), and the accelerator chosen by booting a probe. */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "log.h"
#include "share.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCEL_CACHE      ".accel"
#define PROBE_TIMEOUT_MS 8000

static void
argv_add(char ***v, size_t *n, char *s)
{
  *v = xrealloc(*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

char **
vm_qemu_argv(const vm_qemu_config_t *q)
{
  const char *qemu = getenv("ISOLAZI_VM_QEMU");
  bool tcg = strcmp(q->accel, "tcg") == 0;
  char **v = NULL, *append;
  size_t n = 0;

  argv_add(&v, &n, xstrdup(qemu != NULL && qemu[0] ? qemu : "qemu-system-x86_64"));
  /* microvm with ACPI: the cloud kernel finds the virtio-mmio devices through it; the legacy
   * PIC and PIT are not needed by a kernel with the LAPIC timer, and skipping them saves
   * emulation work. */
  argv_add(&v, &n, xstrdup("-M"));
  argv_add(&v, &n, xstrdup("microvm,acpi=on,pic=off,pit=off,rtc=on,isa-serial=on"));
  argv_add(&v, &n, xstrdup("-accel"));
  argv_add(&v, &n, xstrdup(q->accel));
  argv_add(&v, &n, xstrdup("-cpu"));
  argv_add(&v, &n, xstrdup("max"));
  argv_add(&v, &n, xstrdup("-m"));
  argv_add(&v, &n, xasprintf("%u", q->ram_mib));
  argv_add(&v, &n, xstrdup("-smp"));
  argv_add(&v, &n, xasprintf("%u", q->vcpus));
  argv_add(&v, &n, xstrdup("-nodefaults"));
  argv_add(&v, &n, xstrdup("-no-user-config"));
  argv_add(&v, &n, xstrdup("-nographic"));
  argv_add(&v, &n, xstrdup("-no-reboot"));
  argv_add(&v, &n, xstrdup("-monitor"));
  argv_add(&v, &n, xstrdup("none"));
  argv_add(&v, &n, xstrdup("-serial"));
  argv_add(&v, &n, q->console_log != NULL ? xasprintf("file:%s", q->console_log) : xstrdup("null"));
  argv_add(&v, &n, xstrdup("-kernel"));
  argv_add(&v, &n, xstrdup(q->kernel));
  argv_add(&v, &n, xstrdup("-initrd"));
  argv_add(&v, &n, xstrdup(q->initrd));
  /* Under TCG the emulated clocks would be calibrated slowly and badly: trust the TSC at the
   * host's rate instead.  panic=-1 with -no-reboot makes a dying guest end QEMU at once. */
  if (tcg && q->tsc_khz > 0)
    append = xasprintf("console=ttyS0 panic=-1 quiet loglevel=1 rdinit=/init tsc_early_khz=%lu tsc=reliable "
                       "mitigations=off isolazi.transport=virtio-serial",
                       q->tsc_khz);
  else
    append = xstrdup("console=ttyS0 panic=-1 quiet loglevel=1 rdinit=/init mitigations=off "
                     "isolazi.transport=virtio-serial");
  argv_add(&v, &n, xstrdup("-append"));
  argv_add(&v, &n, append);
  if (q->rootfs_image != NULL)
    {
      argv_add(&v, &n, xstrdup("-drive"));
      argv_add(&v, &n, xasprintf("id=rootfs,file=%s,format=raw,if=none,readonly=on", q->rootfs_image));
      argv_add(&v, &n, xstrdup("-device"));
      argv_add(&v, &n, xstrdup("virtio-blk-device,drive=rootfs"));
    }
  argv_add(&v, &n, xstrdup("-device"));
  /* Port 0 is reserved for a console by virtio-serial; the agent's port and the share port
   * (share.h) come after it. */
  argv_add(&v, &n, xstrdup("virtio-serial-device,max_ports=3"));
  argv_add(&v, &n, xstrdup("-chardev"));
  argv_add(&v, &n, xasprintf("socket,id=agent,fd=%d", q->serial_fd));
  argv_add(&v, &n, xstrdup("-device"));
  argv_add(&v, &n, xstrdup("virtserialport,chardev=agent,name=" VM_PORT_NAME));
  if (q->share_fd > 0)
    {
      argv_add(&v, &n, xstrdup("-chardev"));
      argv_add(&v, &n, xasprintf("socket,id=shares,fd=%d", q->share_fd));
      argv_add(&v, &n, xstrdup("-device"));
      argv_add(&v, &n, xstrdup("virtserialport,chardev=shares,name=" VM_SHARE_PORT_NAME));
    }
  if (q->qmp_fd >= 0)
    {
      argv_add(&v, &n, xstrdup("-chardev"));
      argv_add(&v, &n, xasprintf("socket,id=qmp,fd=%d", q->qmp_fd));
      argv_add(&v, &n, xstrdup("-mon"));
      argv_add(&v, &n, xstrdup("chardev=qmp,mode=control"));
    }
  return v;
}

unsigned long
vm_host_tsc_khz(void)
{
  const char *needle = "tsc: Detected ";
  cleanup_free char *buf = NULL, *cpuinfo = NULL;
  size_t len;
  int n;
  char *p;

  /* The kernel's calibration, from the ring buffer; then cpuinfo's MHz. */
  n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
  if (n > 0)
    {
      buf = xmalloc((size_t)n + 1);
      n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, n);
      if (n > 0)
        {
          buf[n] = '\0';
          p = strstr(buf, needle);
          if (p != NULL)
            {
              double mhz = strtod(p + strlen(needle), NULL);
              if (mhz > 0)
                return (unsigned long)(mhz * 1000 + 0.5);
            }
        }
    }
  if (isolazi_read_file_at(AT_FDCWD, "/proc/cpuinfo", &cpuinfo, &len, NULL) == 0
      && (p = strstr(cpuinfo, "cpu MHz")) != NULL && (p = strchr(p, ':')) != NULL)
    {
      double mhz = strtod(p + 1, NULL);
      if (mhz > 0)
        return (unsigned long)(mhz * 1000 + 0.5);
    }
  return 0;
}

pid_t
vm_qemu_spawn(char **argv, int serial_fd, int qmp_fd, int logfd, isolazi_error_t *err)
{
  return vm_qemu_spawn_shared(argv, serial_fd, qmp_fd, -1, logfd, err);
}

pid_t
vm_qemu_spawn_shared(char **argv, int serial_fd, int qmp_fd, int share_fd, int logfd, isolazi_error_t *err)
{
  int ep[2];
  pid_t pid, parent = getpid();
  ssize_t n;
  int e = 0;

  if (pipe2(ep, O_CLOEXEC) < 0)
    return isolazi_error_errno(err, "create a pipe");
  pid = fork();
  if (pid < 0)
    {
      close(ep[0]);
      close(ep[1]);
      return isolazi_error_errno(err, "fork");
    }
  if (pid == 0)
    {
      int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
      sigset_t none;
      /* QEMU must not outlive whoever owns it (the monitor): no VM without a monitor. */
      (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent)
        _exit(1);
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      /* fds 3, 4 and 5 are what the command line names; move them there without clobbering.
       * (With a share fd there is always a qmp fd: the monitor makes both.) */
      serial_fd = fcntl(serial_fd, F_DUPFD_CLOEXEC, 10);
      qmp_fd = qmp_fd >= 0 ? fcntl(qmp_fd, F_DUPFD_CLOEXEC, 10) : -1;
      share_fd = share_fd >= 0 ? fcntl(share_fd, F_DUPFD_CLOEXEC, 10) : -1;
      if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || dup2(serial_fd, 3) < 0
          || (qmp_fd >= 0 && dup2(qmp_fd, 4) < 0) || (share_fd >= 0 && dup2(share_fd, VM_QEMU_SHARE_FD) < 0))
        goto child_fail;
      if (isolazi_close_fds_from(share_fd >= 0 ? VM_QEMU_SHARE_FD + 1 : qmp_fd >= 0 ? 5 : 4, &ep[1], 1, NULL) < 0)
        goto child_fail;
      execvp(argv[0], argv);
    child_fail:
      e = errno;
      (void)!write(ep[1], &e, sizeof e);
      _exit(127);
    }
  close(ep[1]);
  n = read(ep[0], &e, sizeof e);
  close(ep[0]);
  if (n == sizeof e)
    {
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
      return isolazi_error_set(err, e, "run `%s`", argv[0]);
    }
  return pid;
}

/* Boot the agent with `accel` and wait for its HELLO. */
static bool
probe(const char *accel, const vm_kernel_t *k, const char *initrd)
{
  vm_qemu_config_t q = { .kernel = k->vmlinuz,
                         .initrd = initrd,
                         .accel = accel,
                         .ram_mib = VM_MIN_RAM_MIB,
                         .vcpus = 1,
                         .serial_fd = 3,
                         .qmp_fd = -1 };
  cleanup_strv char **argv = NULL;
  int sv[2], devnull, st;
  bool ok = false;
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return false;
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  argv = vm_qemu_argv(&q);
  pid = vm_qemu_spawn(argv, sv[1], -1, devnull, NULL);
  close(sv[1]);
  if (devnull >= 0)
    close(devnull);
  if (pid > 0)
    {
      struct pollfd p = { .fd = sv[0], .events = POLLIN };
      uint8_t hdr[VM_FRAME_HEADER_SIZE];
      vm_frame_header_t h;
      if (poll(&p, 1, PROBE_TIMEOUT_MS) == 1 && read(sv[0], hdr, sizeof hdr) == (ssize_t)sizeof hdr
          && vm_frame_header_decode(hdr, &h) == 0 && h.type == VM_MSG_HELLO)
        ok = true;
      (void)kill(pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    }
  close(sv[0]);
  return ok;
}

const char *
vm_qemu_pick_accel(const char *root, const char *wanted, const vm_kernel_t *k, isolazi_error_t *err)
{
  cleanup_free char *text = NULL, *initrd = NULL;
  const char *cache = ISOLAZI_VM_DEFAULT_ROOT "/" ACCEL_CACHE;
  cleanup_close int cachedir = -1;
  const char *accel;
  size_t len;

  if (wanted != NULL && strcmp(wanted, "auto") != 0)
    {
      if (strcmp(wanted, "kvm") != 0 && strcmp(wanted, "tcg") != 0)
        {
          isolazi_error_set(err, EINVAL, "invalid accelerator `%s`: expected `auto`, `kvm` or `tcg`", wanted);
          return NULL;
        }
      return strcmp(wanted, "kvm") == 0 ? "kvm" : "tcg";
    }
  /* In the default state root whatever --root is (tests use one per test), on a tmpfs: the
   * answer lasts until the host reboots. */
  (void)root;
  if (isolazi_read_file_at(AT_FDCWD, cache, &text, &len, NULL) == 0)
    {
      accel = strncmp(text, "kvm", 3) == 0 ? "kvm" : "tcg";
      isolazi_debug("vm: accelerator %s (probed earlier, cached in `%s`)", accel, cache);
      return accel;
    }
  accel = "tcg";
  if (access("/dev/kvm", R_OK | W_OK) != 0)
    isolazi_debug("vm: no usable /dev/kvm: using TCG (software emulation, slower)");
  else if (vm_initramfs_get(k, &initrd, err) < 0)
    return NULL;
  else if (probe("kvm", k, initrd))
    accel = "kvm";
  else
    /* /dev/kvm can be there and still not run an ordinary guest (a PVM host, nested setups):
     * only a guest that boots proves it. */
    isolazi_debug("vm: a probe guest did not boot with KVM within %d ms: using TCG (software emulation, slower)",
                  PROBE_TIMEOUT_MS);
  if (strcmp(accel, "kvm") == 0)
    isolazi_debug("vm: a probe guest booted with KVM: using it");
  if (isolazi_mkdir_p(ISOLAZI_VM_DEFAULT_ROOT, 0700, NULL) == 0
      && (cachedir = open(ISOLAZI_VM_DEFAULT_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
    (void)isolazi_write_file_atomic(cachedir, ACCEL_CACHE, accel, strlen(accel), 0644, false, NULL);
  return accel;
}
