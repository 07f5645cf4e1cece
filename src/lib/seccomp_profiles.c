/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp profiles of `isolazi spec --seccomp NAME`, as OCI linux.seccomp objects:
 *   minimal  allow everything but what acts on the whole machine: kernel modules, kexec, reboot,
 *            setting the clock (all EPERM).
 *   default  minimal, plus what a container has no business doing with or without capabilities:
 *            mounts, namespaces, ptrace, keyrings, bpf, perf, handles, swap, accounting, quotas,
 *            host and domain names; clone with a CLONE_NEW* flag; clone3 gets ENOSYS (its flags
 *            sit in memory a filter cannot read, so libc falls back to clone, as with docker).
 *   strict   an allowlist (default EPERM): files, memory, signals, processes without new
 *            namespaces, time, sockets, xattrs reads: enough for a shell, coreutils-style tools
 *            and the test payload.
 * Docker's profile is the model for the names; capabilities still apply on top. */
#include "config.h"
#include "seccomp_filter.h"
#include "utils.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Every namespace flag clone(2) takes (CLONE_NEWTIME only goes through clone3/unshare). */
#define CLONE_NS_FLAGS                                                                                                 \
  ((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET                  \
              | CLONE_NEWCGROUP))

static const char *const machine_calls[] = {
  "init_module",  "finit_module",  "delete_module",   "create_module", "kexec_load",      "kexec_file_load", "reboot",
  "settimeofday", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "stime",           NULL
};

static const char *const container_calls[] = { "mount",
                                               "umount",
                                               "umount2",
                                               "pivot_root",
                                               "chroot",
                                               "ptrace",
                                               "process_vm_readv",
                                               "process_vm_writev",
                                               "kcmp",
                                               "bpf",
                                               "perf_event_open",
                                               "setns",
                                               "unshare",
                                               "open_by_handle_at",
                                               "name_to_handle_at",
                                               "keyctl",
                                               "add_key",
                                               "request_key",
                                               "sethostname",
                                               "setdomainname",
                                               "swapon",
                                               "swapoff",
                                               "acct",
                                               "quotactl",
                                               "quotactl_fd",
                                               "lookup_dcookie",
                                               "userfaultfd",
                                               "fsopen",
                                               "fsconfig",
                                               "fsmount",
                                               "fspick",
                                               "move_mount",
                                               "open_tree",
                                               "mount_setattr",
                                               "iopl",
                                               "ioperm",
                                               "get_kernel_syms",
                                               "query_module",
                                               "nfsservctl",
                                               "uselib",
                                               "vm86",
                                               "vm86old",
                                               "_sysctl",
                                               "syslog",
                                               "vhangup",
                                               "fanotify_init",
                                               NULL };

static const char *const strict_allow[] = {
  /* files */
  "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "open",
  "openat", "creat", "close", "close_range", "stat", "fstat", "lstat", "newfstatat", "fstatat64", "stat64", "fstat64",
  "lstat64", "statx", "statfs", "fstatfs", "statfs64", "fstatfs64", "access", "faccessat", "faccessat2", "lseek",
  "_llseek", "ioctl", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync", "fdatasync", "sync", "syncfs",
  "truncate", "ftruncate", "truncate64", "ftruncate64", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "rename",
  "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "unlink", "unlinkat", "symlink", "symlinkat",
  "readlink", "readlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat", "umask", "utime",
  "utimes", "utimensat", "futimesat", "sendfile", "sendfile64", "splice", "tee", "copy_file_range", "fadvise64",
  "fallocate", "readahead", "memfd_create", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
  "flistxattr", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "pipe", "pipe2", "select",
  "_newselect", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
  "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
  "timerfd_gettime",
  /* memory */
  "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore", "mlock", "munlock",
  "membarrier",
  /* signals */
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
  "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "sigreturn", "kill", "tkill", "tgkill", "pause", "alarm",
  "getitimer", "setitimer",
  /* processes and identity */
  "execve", "execveat", "fork", "vfork", "wait4", "waitid", "exit", "exit_group", "getpid", "getppid", "gettid",
  "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "getuid32", "geteuid32", "getgid32",
  "getegid32", "getgroups32", "setuid", "setgid", "setresuid", "setresgid", "setreuid", "setregid", "setgroups",
  "setfsuid", "setfsgid", "capget", "capset", "getpgrp", "getpgid", "setpgid", "getsid", "setsid", "getpriority",
  "setpriority", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "prctl", "arch_prctl",
  "set_tid_address", "set_robust_list", "get_robust_list", "futex", "futex_time64", "rseq", "sched_yield",
  "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler", "sched_get_priority_max",
  "sched_get_priority_min", "getrandom", "uname", "sysinfo", "times", "personality", "getcpu",
  /* time */
  "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_nanosleep",
  "clock_nanosleep_time64", "nanosleep",
  /* sockets */
  "socket", "socketpair", "connect", "accept", "accept4", "bind", "listen", "sendto", "recvfrom", "sendmsg", "recvmsg",
  "sendmmsg", "recvmmsg", "shutdown", "getsockname", "getpeername", "setsockopt", "getsockopt", NULL
};

/* Syscalls newer than the strict list that libc may try first: ENOSYS, so that it falls back
   (the automatic stubs only cover numbers above the highest named one). */
static const char *const strict_enosys[]
    = { "openat2", "pidfd_getfd", "process_madvise", "pidfd_open", "pidfd_send_signal", NULL };

static char **
strv_dup(const char *const *v, size_t *ret_len)
{
  size_t n = 0, i;
  char **out;

  while (v[n] != NULL)
    n++;
  out = xcalloc(n + 1, sizeof *out);
  for (i = 0; i < n; i++)
    out[i] = xstrdup(v[i]);
  *ret_len = n;
  return out;
}

static oci_seccomp_syscall *
add_syscall(oci_seccomp *s, const char *const *names, const char *action, int errno_ret)
{
  oci_seccomp_syscall *sc;

  s->syscalls = xrealloc(s->syscalls, (s->syscalls_len + 1) * sizeof *s->syscalls);
  sc = &s->syscalls[s->syscalls_len++];
  memset(sc, 0, sizeof *sc);
  sc->names = strv_dup(names, &sc->names_len);
  sc->action = xstrdup(action);
  if (errno_ret >= 0)
    {
      sc->errno_ret = (uint32_t)errno_ret;
      sc->errno_ret_present = true;
    }
  return sc;
}

static void
add_arg(oci_seccomp_syscall *sc, uint32_t index, uint64_t value, uint64_t value_two, const char *op)
{
  oci_seccomp_arg *a;

  sc->args = xrealloc(sc->args, (sc->args_len + 1) * sizeof *sc->args);
  a = &sc->args[sc->args_len++];
  memset(a, 0, sizeof *a);
  a->index = index;
  a->value = value;
  a->value_two = value_two;
  a->value_two_present = true;
  a->op = xstrdup(op);
}

static oci_seccomp *
new_profile(const char *default_action)
{
#if defined(__x86_64__)
  static const char *const archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
#elif defined(__aarch64__)
  static const char *const archs[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL };
#endif
  oci_seccomp *s = xcalloc(1, sizeof *s);

  s->default_action = xstrdup(default_action);
  if (strcmp(default_action, "SCMP_ACT_ERRNO") == 0)
    {
      s->default_errno_ret = EPERM;
      s->default_errno_ret_present = true;
    }
    /* The compat architectures of the host, as docker lists them: a 32-bit binary must not slip
       past a filter written for 64-bit syscall numbers. */
#if defined(__x86_64__) || defined(__aarch64__)
  s->architectures = strv_dup(archs, &s->architectures_len);
#endif
  return s;
}

int
isolazi_seccomp_profile(const char *name, oci_seccomp **ret, isolazi_error_t *err)
{
  static const char *const clone3[] = { "clone3", NULL };
  static const char *const clone[] = { "clone", NULL };
  static const uint64_t ns_flags[]
      = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };
  oci_seccomp *s;
  oci_seccomp_syscall *sc;
  size_t i;

  *ret = NULL;
  if (name == NULL || strcmp(name, "none") == 0)
    return 0;
  if (strcmp(name, "minimal") == 0)
    {
      s = new_profile("SCMP_ACT_ALLOW");
      add_syscall(s, machine_calls, "SCMP_ACT_ERRNO", EPERM);
    }
  else if (strcmp(name, "default") == 0)
    {
      s = new_profile("SCMP_ACT_ALLOW");
      add_syscall(s, machine_calls, "SCMP_ACT_ERRNO", EPERM);
      add_syscall(s, container_calls, "SCMP_ACT_ERRNO", EPERM);
      /* One comparison per flag on the same argument: each is its own rule, so they combine
         with OR (see isolazi_seccomp_plan_build). */
      sc = add_syscall(s, clone, "SCMP_ACT_ERRNO", EPERM);
      for (i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++)
        add_arg(sc, 0, ns_flags[i], ns_flags[i], "SCMP_CMP_MASKED_EQ");
      add_syscall(s, clone3, "SCMP_ACT_ERRNO", ENOSYS);
    }
  else if (strcmp(name, "strict") == 0)
    {
      s = new_profile("SCMP_ACT_ERRNO");
      add_syscall(s, strict_allow, "SCMP_ACT_ALLOW", -1);
      /* clone without namespace flags: (flags & CLONE_NS_FLAGS) == 0. */
      sc = add_syscall(s, clone, "SCMP_ACT_ALLOW", -1);
      add_arg(sc, 0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ");
      add_syscall(s, strict_enosys, "SCMP_ACT_ERRNO", ENOSYS);
      add_syscall(s, clone3, "SCMP_ACT_ERRNO", ENOSYS);
    }
  else
    return isolazi_error_set(err, 0, "unknown seccomp profile `%s` (default, minimal, strict or none)", name);
  *ret = s;
  return 0;
}

static void
strv_free(char **v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void
isolazi_seccomp_profile_free(oci_seccomp *s)
{
  size_t i, j;

  if (s == NULL)
    return;
  for (i = 0; i < s->syscalls_len; i++)
    {
      oci_seccomp_syscall *sc = &s->syscalls[i];
      strv_free(sc->names, sc->names_len);
      free(sc->action);
      for (j = 0; j < sc->args_len; j++)
        free(sc->args[j].op);
      free(sc->args);
    }
  free(s->syscalls);
  free(s->default_action);
  strv_free(s->architectures, s->architectures_len);
  strv_free(s->flags, s->flags_len);
  free(s->listener_path);
  free(s->listener_metadata);
  free(s);
}
