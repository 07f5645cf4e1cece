/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "init.h"
#include "cgroup.h"
#include "cleanup.h"
#include "hooks.h"
#include "lsm.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp_filter.h"
#include "sync.h"
#include "terminal.h"
#include "userns.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1

/* Sysctls that a namespace isolates (runc's list, kernel's ipc/uts/net namespacing). */
int
isolazi_sysctl_check(const char *key, const isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  static const char *const ipc_keys[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",          "kernel.sem",
                                          "kernel.shmall", "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.shmmni" };
  size_t i;

  if (strstr(key, "..") != NULL || key[0] == '/' || key[0] == '.')
    return isolazi_error_set(err, 0, "linux.sysctl: invalid key `%s`", key);
  for (i = 0; i < sizeof ipc_keys / sizeof ipc_keys[0]; i++)
    if (strcmp(key, ipc_keys[i]) == 0)
      goto ipc;
  if (isolazi_has_prefix(key, "fs.mqueue."))
    goto ipc;
  if (isolazi_has_prefix(key, "net."))
    {
      if (!isolazi_ns_plan_has(plan, CLONE_NEWNET))
        return isolazi_error_set(err, 0, "linux.sysctl: `%s` needs a network namespace", key);
      return 0;
    }
  if (strcmp(key, "kernel.domainname") == 0 || strcmp(key, "kernel.hostname") == 0)
    {
      if (!isolazi_ns_plan_has(plan, CLONE_NEWUTS))
        return isolazi_error_set(err, 0, "linux.sysctl: `%s` needs a uts namespace", key);
      return 0;
    }
  return isolazi_error_set(err, 0, "linux.sysctl: `%s` is not isolated by any namespace", key);
ipc:
  if (!isolazi_ns_plan_has(plan, CLONE_NEWIPC))
    return isolazi_error_set(err, 0, "linux.sysctl: `%s` needs an ipc namespace", key);
  return 0;
}

static int
apply_sysctls(const oci_config *cfg, isolazi_error_t *err)
{
  const oci_string_map *m = cfg->linux_ != NULL ? &cfg->linux_->sysctl : NULL;
  size_t i;

  for (i = 0; m != NULL && i < m->len; i++)
    {
      cleanup_free char *path = xasprintf("/proc/sys/%s", m->keys[i]);
      char *p;
      for (p = path + strlen("/proc/sys/"); *p; p++)
        if (*p == '.')
          *p = '/';
      /* Through the checked procfs: nothing mounted over /proc/sys can take the write
         (CVE-2025-52881). */
      if (isolazi_proc_write(path, m->values[i], strlen(m->values[i]), err) < 0)
        return isolazi_error_wrap(err, "set sysctl `%s` to `%s` (linux.sysctl)", m->keys[i], m->values[i]);
    }
  return 0;
}

static int
set_names(const oci_config *cfg, isolazi_error_t *err)
{
  if (cfg->hostname != NULL && cfg->hostname[0] && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    return isolazi_error_errno(err, "set hostname `%s`", cfg->hostname);
  if (cfg->domainname != NULL && cfg->domainname[0] && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
    return isolazi_error_errno(err, "set domainname `%s`", cfg->domainname);
  return 0;
}

static int
set_personality(const oci_config *cfg, isolazi_error_t *err)
{
  const oci_personality *p = cfg->linux_ != NULL ? cfg->linux_->personality : NULL;
  unsigned long persona;

  if (p == NULL || p->domain == NULL)
    return 0;
  if (strcmp(p->domain, "LINUX") == 0)
    persona = PER_LINUX;
  else if (strcmp(p->domain, "LINUX32") == 0)
    persona = PER_LINUX32;
  else
    return isolazi_error_set(err, 0, "linux.personality.domain: unknown domain `%s`", p->domain);
  if (personality(persona) < 0)
    return isolazi_error_errno(err, "set personality `%s`", p->domain);
  return 0;
}

/* Until the user process runs, the init is pid 1 of its namespace, and the kernel drops
   signals to it for which it has no handler (pid_namespaces(7)).  `kill` of a created
   container must still work, as it does with runc, so each terminating signal ends it. */
static void
on_signal_exit(int sig)
{
  _exit(128 + sig);
}

static void
catch_terminating_signals(void)
{
  static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE };
  struct sigaction sa;
  size_t i;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal_exit;
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    (void)sigaction(sigs[i], &sa, NULL);
}

/* Close every fd >= first except keep[], then mark the rest close-on-exec. */
static int
close_inherited(int first, const int *keep, size_t n, isolazi_error_t *err)
{
  if (isolazi_close_fds_from(first, keep, n, err) < 0)
    return -1;
  return isolazi_cloexec_fds_from(first, err);
}

static void __attribute__((noreturn)) fail(int fd, isolazi_error_t *err)
{
  isolazi_sync_send_error(fd, err);
  _exit(1);
}

/* linux.seccomp, compiled in setup() and loaded right before execve. */
static isolazi_seccomp_t *seccomp_filter;

/* Before READY: everything that can fail is checked here, so that `create` reports it. */
static void
setup(const isolazi_init_args_t *a, char **ret_exe)
{
  const oci_config *cfg = a->cfg;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_rootfs_options_t ro = { 0 };
  isolazi_sync_msg_t msg = { 0 };

  ro.rootfs = a->rootfs;
  ro.no_pivot = a->no_pivot;
  ro.new_userns = isolazi_ns_plan_has(a->plan, CLONE_NEWUSER);
  ro.new_cgroupns = (a->plan->clone_flags & CLONE_NEWCGROUP) != 0;
  ro.cgroup_path = a->cgroup_path;
  ro.idmap_trees = a->idmap_trees;

  if (isolazi_ns_child_join(a->plan, &err) < 0)
    fail(a->sync_fd, &err);
  /* With a joined user namespace: the new namespaces, now owned by it (namespaces.h). */
  if (isolazi_ns_unshare_flags(a->plan) != 0 && unshare((int)isolazi_ns_unshare_flags(a->plan)) < 0)
    {
      isolazi_error_errno(&err, "create namespaces in the joined user namespace");
      fail(a->sync_fd, &err);
    }
  /* A new cgroup namespace only now that we are in our cgroups: its root is the cgroup the
     process is in when it unshares, in every hierarchy. */
  if ((a->plan->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    {
      isolazi_error_errno(&err, "create cgroup namespace");
      fail(a->sync_fd, &err);
    }
  if (set_names(cfg, &err) < 0)
    fail(a->sync_fd, &err);
  /* Wait until the runtime has put us in every cgroup hierarchy: the cgroup mounts bind the
     cgroup we are in. */
  if (isolazi_sync_expect(a->sync_fd, SYNC_PARENT_READY, "wait for the runtime", &msg, &err) < 0)
    _exit(1);
  /* The runtime has written our uid_map/gid_map by now (user_namespaces(7)); until then we
     stayed dumpable, or /proc/PID/uid_map would belong to the unmapped (host) root and an
     unprivileged runtime or newuidmap could not write it. */
  if (a->plan->clone_flags & CLONE_NEWUSER)
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (isolazi_ns_plan_has(a->plan, CLONE_NEWUSER) && isolazi_userns_become_root(&err) < 0)
    fail(a->sync_fd, &err);
  if (isolazi_rootfs_prepare(cfg, &ro, &err) < 0)
    fail(a->sync_fd, &err);
  if (a->runtime_hooks)
    {
      if (isolazi_sync_send(a->sync_fd, SYNC_RUN_HOOKS, 0, NULL, &err) < 0
          || isolazi_sync_expect(a->sync_fd, SYNC_HOOKS_DONE, "wait for the runtime hooks", NULL, &err) < 0)
        _exit(1);
    }
  /* createContainer hooks: in the container's namespaces, before pivot_root (runtime-spec
     config.md "createContainer Hooks"). */
  if (cfg->hooks != NULL
      && isolazi_hooks_run(cfg->hooks->create_container, cfg->hooks->create_container_len, "createContainer",
                           msg.payload != NULL ? msg.payload : "{}", &err)
             < 0)
    fail(a->sync_fd, &err);
  isolazi_sync_msg_release(&msg);
  /* A bad seccomp profile or an LSM label the host cannot apply fails `create`.  Before
     pivot_root: linux.seccomp.listenerPath is a host path. */
  if (isolazi_lsm_check(cfg->process, &err) < 0
      || isolazi_seccomp_prepare(cfg->linux_ != NULL ? cfg->linux_->seccomp : NULL, &seccomp_filter, &err) < 0)
    fail(a->sync_fd, &err);
  /* Sysctls go in before readonlyPaths makes /proc/sys read-only (runc's order). */
  if (isolazi_rootfs_pivot(&ro, &err) < 0 || apply_sysctls(cfg, &err) < 0 || isolazi_rootfs_finalize(cfg, &ro, &err) < 0
      || set_personality(cfg, &err) < 0)
    fail(a->sync_fd, &err);
  if (!a->no_new_keyring)
    {
      cleanup_free char *name = xasprintf("_ses.%s", a->id);
      /* A fresh session keyring, so the container cannot read the caller's keys. ENOSYS and
         EACCES (keyrings off or denied by policy) are not fatal, as with runc. */
      if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0) < 0 && errno != ENOSYS && errno != EACCES
          && errno != EPERM)
        {
          isolazi_error_errno(&err, "join a new session keyring");
          fail(a->sync_fd, &err);
        }
    }
  if (cfg->process->terminal)
    {
      if (a->console_fd < 0)
        {
          isolazi_error_set(&err, 0, "process.terminal is set but no --console-socket was given");
          fail(a->sync_fd, &err);
        }
      if (isolazi_terminal_setup_console(a->console_fd, cfg->process, &err) < 0)
        fail(a->sync_fd, &err);
    }
  if (isolazi_process_chdir(cfg->process, &err) < 0 || isolazi_process_find_executable(cfg->process, ret_exe, &err) < 0
      || isolazi_process_set_rlimits(cfg->process, &err) < 0
      || isolazi_process_set_oom_score_adj(cfg->process, &err) < 0)
    fail(a->sync_fd, &err);
}

void
isolazi_init_main(const isolazi_init_args_t *a)
{
  const oci_process *p = a->cfg->process;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_sync_msg_t msg = { 0 };
  cleanup_free char *exe = NULL;
  char **env;
  int conn, fd;

  /* Die with the runtime while it still supervises us; nobody else would clean up. */
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Not dumpable: processes in the container cannot ptrace us or open our /proc/PID/exe
     (CVE-2019-5736) before we exec.  In a new user namespace, after the runtime wrote the
     maps (setup): no container process exists before that. */
  if (!(a->plan->clone_flags & CLONE_NEWUSER))
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* Join the v1 hierarchies ourselves: a task moving itself does not wait for an RCU grace
     period as a move by another process does (up to ~10 ms on an idle machine).  The cgroup2
     part was done by clone3(CLONE_INTO_CGROUP). */
  if (isolazi_cgroup_enter_self(a->cgroup_fds, a->n_cgroup_fds, &err) < 0)
    fail(a->sync_fd, &err);
  /* Close what we inherited from the runtime and do not need: above all the locked state
     directory (a flock belongs to the open file, so our copy would hold the lock that `start`
     and `delete` wait for) and directory fds on the host.  Anything the caller leaked
     (conmon's sync pipe, containerd's sockets) is closed at exec unless it is in the
     --preserve-fds range. */
  {
    size_t n_mounts = a->idmap_trees != NULL ? a->cfg->mounts_len : 0;
    cleanup_free int *keep = xcalloc(3 + ISOLAZI_NS_MAX + n_mounts, sizeof *keep);
    size_t n = 0, i;
    keep[n++] = a->sync_fd;
    keep[n++] = a->start_fd;
    if (a->console_fd >= 0)
      keep[n++] = a->console_fd;
    for (i = 0; i < a->plan->n_joins; i++)
      keep[n++] = a->plan->joins[i].fd;
    for (i = 0; i < n_mounts; i++)
      if (a->idmap_trees[i] >= 0)
        keep[n++] = a->idmap_trees[i];
    if (close_inherited(3 + (int)a->preserve_fds, keep, n, &err) < 0)
      fail(a->sync_fd, &err);
  }

  setup(a, &exe);

  catch_terminating_signals();
  (void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (isolazi_sync_send(a->sync_fd, SYNC_READY, 0, NULL, &err) < 0)
    _exit(1);
  close(a->sync_fd);
  if (a->console_fd >= 0)
    close(a->console_fd);

  do
    conn = accept4(a->start_fd, NULL, NULL, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0)
    _exit(1);
  close(a->start_fd);
  if (isolazi_sync_expect(conn, SYNC_START, "wait for start", &msg, &err) < 0)
    _exit(1);
  if (a->cfg->hooks != NULL
      && isolazi_hooks_run(a->cfg->hooks->start_container, a->cfg->hooks->start_container_len, "startContainer",
                           msg.payload != NULL ? msg.payload : "{}", &err)
             < 0)
    fail(conn, &err);
  /* LSM labels take effect at execve; set before set_user, while /proc/thread-self/attr is
     still ours to open.  A seccomp listener gets msg.payload, the "created" state. */
  if (isolazi_lsm_apply_exec(p, &err) < 0
      || (isolazi_seccomp_load_before_set_user(p) && isolazi_seccomp_load(seccomp_filter, 0, msg.payload, &err) < 0))
    fail(conn, &err);
  if (isolazi_process_set_user(p, &err) < 0)
    fail(conn, &err);
  umask(p->user.umask_present ? (mode_t)p->user.umask : 022);
  env = isolazi_process_environ(p);
  isolazi_process_reset_signals();
  /* The preserved fds are the caller's to pass on: inherited as they are, without CLOEXEC. */
  for (fd = 3; fd < 3 + (int)a->preserve_fds; fd++)
    {
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0)
        (void)fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
  if (isolazi_sync_send(conn, SYNC_EXECING, 0, NULL, &err) < 0)
    _exit(1);
  /* With no_new_privs the filter goes in last: it filters the user process, not our setup. */
  if (!isolazi_seccomp_load_before_set_user(p) && isolazi_seccomp_load(seccomp_filter, 0, msg.payload, &err) < 0)
    fail(conn, &err);
  execve(exe, p->args, env);
  isolazi_error_errno(&err, "exec `%s`", p->args[0]);
  fail(conn, &err);
}

void
isolazi_init_intermediate_main(const isolazi_init_args_t *a, int report_fd)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  struct clone_args args;
  pid_t pid;

  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Not dumpable before we enter the container's user namespace: its root, with
     CAP_SYS_PTRACE there, could otherwise attach to us (ptrace_may_access() checks a
     non-dumpable task against the user namespace of its mm, the host's). */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (isolazi_ns_intermediate_join(a->plan, &err) < 0)
    fail(a->sync_fd, &err);
  memset(&args, 0, sizeof args);
  /* exit_signal must be 0 with CLONE_PARENT (clone3 refuses anything else): the init gets ours,
     SIGCHLD, as if the runtime had cloned it. */
  args.flags = CLONE_PARENT | isolazi_ns_clone_flags(a->plan);
  pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0)
    {
      close(report_fd);
      isolazi_init_main(a);
    }
  if (pid < 0)
    {
      isolazi_error_errno(&err, "create the container init in the joined user namespace (clone3)");
      fail(a->sync_fd, &err);
    }
  if (isolazi_write_all(report_fd, &pid, sizeof pid) < 0)
    _exit(2);
  _exit(0);
}
