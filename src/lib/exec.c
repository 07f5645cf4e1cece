/* SPDX-License-Identifier: Apache-2.0 */
/* `exec`: one more process in a running container.
 *
 * The process must be a child created after the runtime has joined the container's pid (and
 * time) namespace for its children: setns(CLONE_NEWPID) never moves the caller itself
 * (pid_namespaces(7)).  So the runtime points pid_for_children/time_for_children at the init's,
 * clone3()s the child straight into the container's cgroup2 cgroup (CLONE_INTO_CGROUP), and
 * returns to its own namespaces.  The child joins the v1 hierarchies itself, then every other
 * namespace of the init with one setns() on its pidfd, and sets the process up in the
 * container's root as the init does.  Errors travel back over a SOCK_SEQPACKET socket; success
 * is SYNC_EXECING followed by EOF (the socket is close-on-exec). */
#include "config.h"
#include "exec.h"
#include "cgroup.h"
#include "cleanup.h"
#include "container_internal.h"
#include "log.h"
#include "process.h"
#include "lsm.h"
#include "seccomp_filter.h"
#include "sync.h"
#include "terminal.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- deciding ---- */

static int
parse_u32(const char *s, size_t len, uint32_t *ret)
{
  uint64_t v = 0;
  size_t i;

  if (len == 0 || len > 10)
    return -1;
  for (i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (uint64_t)(s[i] - '0');
    }
  if (v > UINT32_MAX)
    return -1;
  *ret = (uint32_t)v;
  return 0;
}

int
isolazi_exec_parse_user(const char *s, uint32_t *ret_uid, uint32_t *ret_gid, bool *ret_gid_set, isolazi_error_t *err)
{
  const char *colon = strchr(s, ':');
  size_t ulen = colon != NULL ? (size_t)(colon - s) : strlen(s);
  uint32_t uid, gid = 0;

  if (parse_u32(s, ulen, &uid) < 0 || (colon != NULL && parse_u32(colon + 1, strlen(colon + 1), &gid) < 0))
    return isolazi_error_set(err, 0, "invalid value `%s` for `--user`: expected uid[:gid] (numbers)", s);
  *ret_uid = uid;
  *ret_gid = gid;
  *ret_gid_set = colon != NULL;
  return 0;
}

void
isolazi_exec_env_set(char ***env, size_t *len, const char *kv)
{
  const char *eq = strchr(kv, '=');
  size_t klen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
  size_t i;

  for (i = 0; i < *len; i++)
    if (strncmp((*env)[i], kv, klen) == 0 && ((*env)[i][klen] == '=' || (*env)[i][klen] == '\0'))
      {
        free((*env)[i]);
        (*env)[i] = xstrdup(kv);
        return;
      }
  *env = xrealloc(*env, (*len + 2) * sizeof(char *));
  (*env)[(*len)++] = xstrdup(kv);
  (*env)[*len] = NULL;
}

static void
strv_replace(char ***dst, size_t *dst_len, char *const *src, size_t n)
{
  size_t i;

  for (i = 0; i < *dst_len; i++)
    free((*dst)[i]);
  free(*dst);
  *dst = xcalloc(n + 1, sizeof(char *));
  for (i = 0; i < n; i++)
    (*dst)[i] = xstrdup(src[i]);
  *dst_len = n;
}

static void
strv_append(char ***v, size_t *len, const char *s)
{
  *v = xrealloc(*v, (*len + 2) * sizeof(char *));
  (*v)[(*len)++] = xstrdup(s);
  (*v)[*len] = NULL;
}

int
isolazi_exec_process_apply(oci_process *p, const isolazi_exec_options_t *o, isolazi_error_t *err)
{
  size_t i;

  if (o->args_len == 0)
    return isolazi_error_set(err, 0, "exec: a command is required (or --process FILE)");
  strv_replace(&p->args, &p->args_len, o->args, o->args_len);
  /* runc: the terminal is what --tty says, not config.json's. */
  p->terminal = o->tty;
  free(p->console_size);
  p->console_size = NULL;
  if (o->cwd != NULL)
    {
      if (o->cwd[0] != '/')
        return isolazi_error_set(err, 0, "invalid value `%s` for `--cwd`: not an absolute path", o->cwd);
      free(p->cwd);
      p->cwd = xstrdup(o->cwd);
    }
  for (i = 0; i < o->env_len; i++)
    {
      if (strchr(o->env[i], '=') == NULL)
        return isolazi_error_set(err, 0, "invalid value `%s` for `--env`: expected KEY=VALUE", o->env[i]);
      isolazi_exec_env_set(&p->env, &p->env_len, o->env[i]);
    }
  if (o->user != NULL && o->user[0])
    {
      uint32_t uid, gid;
      bool gid_set;
      if (isolazi_exec_parse_user(o->user, &uid, &gid, &gid_set, err) < 0)
        return -1;
      p->user.uid = uid;
      if (gid_set)
        p->user.gid = gid;
    }
  if (o->additional_gids_len > 0)
    {
      p->user.additional_gids = xrealloc(p->user.additional_gids,
                                         (p->user.additional_gids_len + o->additional_gids_len) * sizeof(uint32_t));
      memcpy(p->user.additional_gids + p->user.additional_gids_len, o->additional_gids,
             o->additional_gids_len * sizeof(uint32_t));
      p->user.additional_gids_len += o->additional_gids_len;
    }
  if (o->caps_len > 0)
    {
      oci_capabilities *c = p->capabilities;
      if (c == NULL)
        c = p->capabilities = xcalloc(1, sizeof *c);
      for (i = 0; i < o->caps_len; i++)
        {
          strv_append(&c->bounding, &c->bounding_len, o->caps[i]);
          strv_append(&c->effective, &c->effective_len, o->caps[i]);
          strv_append(&c->permitted, &c->permitted_len, o->caps[i]);
          /* An ambient capability needs an inheritable one; as runc, only when the config
             already has inheritable capabilities. */
          if (c->inheritable_len > 0)
            {
              strv_append(&c->inheritable, &c->inheritable_len, o->caps[i]);
              strv_append(&c->ambient, &c->ambient_len, o->caps[i]);
            }
        }
    }
  if (o->no_new_privs)
    p->no_new_privileges = true;
  if (o->apparmor != NULL)
    {
      free(p->apparmor_profile);
      p->apparmor_profile = xstrdup(o->apparmor);
    }
  if (o->process_label != NULL)
    {
      free(p->selinux_label);
      p->selinux_label = xstrdup(o->process_label);
    }
  return 0;
}

/* ---- doing ---- */

static void
cleanup_process_free(oci_process **p)
{
  oci_process_free(*p);
}
#define cleanup_process __attribute__((cleanup(cleanup_process_free)))

static void
cleanup_config_free(oci_config **c)
{
  oci_config_free(*c);
}
#define cleanup_config __attribute__((cleanup(cleanup_config_free)))

static int
load_process(const isolazi_exec_options_t *o, int dirfd, oci_config **ret_cfg, oci_process **ret, isolazi_error_t *err)
{
  char *perr = NULL;

  *ret_cfg = container_load_config_copy(dirfd, err);
  if (*ret_cfg == NULL)
    return -1;
  if (o->process_path != NULL)
    {
      cleanup_free char *text = NULL;
      size_t len;
      if (isolazi_read_file_at(AT_FDCWD, o->process_path, &text, &len, err) < 0)
        return isolazi_error_wrap(err, "read --process");
      *ret = oci_process_parse(o->process_path, text, len, &perr);
      if (*ret == NULL || oci_process_validate(o->process_path, *ret, &perr) < 0)
        return isolazi_error_take(err, EINVAL, perr);
      return 0;
    }
  if ((*ret_cfg)->process == NULL)
    return isolazi_error_set(err, 0, "config.json: process: missing in the container's config");
  *ret = steal_pointer(&(*ret_cfg)->process);
  return isolazi_exec_process_apply(*ret, o, err);
}

/* The namespaces of the init that we are not in.  pid and time only apply to children, so
   they are joined by the runtime before clone; the rest by the child. */
static const struct
{
  const char *name;
  int flag;
} ns_types[] = {
  { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },        { "net", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC },
  { "uts", CLONE_NEWUTS },   { "cgroup", CLONE_NEWCGROUP }, { "pid", CLONE_NEWPID }, { "time", CLONE_NEWTIME },
};

static int
ns_differ(pid_t pid, int *ret_flags, isolazi_error_t *err)
{
  size_t i;

  *ret_flags = 0;
  for (i = 0; i < sizeof ns_types / sizeof ns_types[0]; i++)
    {
      char path[64];
      struct stat theirs, ours;
      snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns_types[i].name);
      if (stat(path, &theirs) < 0)
        {
          if (errno == ENOENT)
            continue; /* a kernel without this namespace type */
          return isolazi_error_errno(err, "stat `%s`", path);
        }
      snprintf(path, sizeof path, "/proc/self/ns/%s", ns_types[i].name);
      if (stat(path, &ours) < 0)
        return isolazi_error_errno(err, "stat `%s`", path);
      if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
        *ret_flags |= ns_types[i].flag;
    }
  return 0;
}

typedef struct child_args
{
  const oci_process *p;
  int sync_fd;
  int pidfd;
  int console_fd;
  int ns_flags; /* to join in the child */
  const int *cgroup_fds;
  size_t n_cgroup_fds;
  unsigned int preserve_fds;
  const oci_seccomp *seccomp; /* the container's linux.seccomp, NULL for none */
  const char *state_json;     /* the container's state, for a seccomp listener */
} child_args_t;

static void __attribute__((noreturn)) child_fail(int fd, isolazi_error_t *err)
{
  isolazi_sync_send_error(fd, err);
  _exit(1);
}

static void __attribute__((noreturn)) child_main(const child_args_t *a)
{
  const oci_process *p = a->p;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *exe = NULL;
  isolazi_seccomp_t *sc = NULL;
  pid_t host_pid = 0;
  char **env;
  int fd;

  /* Die with the runtime until we exec: nobody else would reap or report us. */
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Not dumpable: the container's processes cannot ptrace us or open our /proc/PID/exe (the
     runtime binary) while we still run it (CVE-2019-5736). */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* v1 hierarchies: the cgroup2 part was done by CLONE_INTO_CGROUP. */
  if (isolazi_cgroup_enter_self(a->cgroup_fds, a->n_cgroup_fds, &err) < 0)
    child_fail(a->sync_fd, &err);
  {
    int keep[3];
    size_t n = 0;
    keep[n++] = a->sync_fd;
    keep[n++] = a->pidfd;
    if (a->console_fd >= 0)
      keep[n++] = a->console_fd;
    /* Nothing the caller leaked (conmon's pipes) and none of our host fds may reach the
       container: close all but the --preserve-fds range, which is passed on. */
    if (isolazi_close_fds_from(3 + (int)a->preserve_fds, keep, n, &err) < 0
        || isolazi_cloexec_fds_from(3 + (int)a->preserve_fds, &err) < 0)
      child_fail(a->sync_fd, &err);
  }
  /* Wait until the runtime has placed us in the cgroup (when CLONE_INTO_CGROUP could not). */
  if (isolazi_sync_expect(a->sync_fd, SYNC_PARENT_READY, "wait for the runtime", NULL, &err) < 0)
    _exit(1);
  /* While the host's paths are visible: check the LSM label can be applied, compile the
     container's seccomp filter (a NOTIFY listener is a host path), and learn our host pid
     (/proc/self resolves in the host's pid namespace) for that listener. */
  {
    char self[32] = "";
    ssize_t n = readlink("/proc/self", self, sizeof self - 1);
    host_pid = n > 0 ? (pid_t)strtol(self, NULL, 10) : 0;
  }
  if (isolazi_lsm_check(p, &err) < 0 || isolazi_seccomp_prepare(a->seccomp, &sc, &err) < 0)
    child_fail(a->sync_fd, &err);
  /* One setns on the pidfd joins them all, user namespace first (setns(2), Linux 5.8).  The
     rights to join each one are checked with our own credentials before any is entered, so a
     namespace that the container's user namespace does not own (a CNI network namespace) is
     joined as well (userns.bats). */
  if (a->ns_flags != 0 && setns(a->pidfd, a->ns_flags) < 0)
    {
      isolazi_error_errno(&err, "join the container's namespaces");
      child_fail(a->sync_fd, &err);
    }
  close(a->pidfd);
  /* Joining the mount namespace put our root and cwd at its root: the container's rootfs. */
  if (p->terminal && isolazi_terminal_setup_console(a->console_fd, p, &err) < 0)
    child_fail(a->sync_fd, &err);
  if (a->console_fd >= 0)
    close(a->console_fd);
  if (isolazi_process_chdir(p, &err) < 0 || isolazi_process_find_executable(p, &exe, &err) < 0
      || isolazi_process_set_rlimits(p, &err) < 0 || isolazi_process_set_oom_score_adj(p, &err) < 0)
    child_fail(a->sync_fd, &err);
  /* The same order as the container's init: the LSM label for the exec, and the seccomp filter
     before the capabilities go when there is no no_new_privs (loading needs CAP_SYS_ADMIN). */
  if (isolazi_lsm_apply_exec(p, &err) < 0
      || (isolazi_seccomp_load_before_set_user(p) && isolazi_seccomp_load(sc, host_pid, a->state_json, &err) < 0))
    child_fail(a->sync_fd, &err);
  if (isolazi_process_set_user(p, &err) < 0)
    child_fail(a->sync_fd, &err);
  umask(p->user.umask_present ? (mode_t)p->user.umask : 022);
  env = isolazi_process_environ(p);
  isolazi_process_reset_signals();
  for (fd = 3; fd < 3 + (int)a->preserve_fds; fd++)
    {
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0)
        (void)fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
  /* With no_new_privs: as late as possible, so that our own calls are not filtered. */
  if (!isolazi_seccomp_load_before_set_user(p) && isolazi_seccomp_load(sc, host_pid, a->state_json, &err) < 0)
    child_fail(a->sync_fd, &err);
  if (isolazi_sync_send(a->sync_fd, SYNC_EXECING, 0, NULL, &err) < 0)
    _exit(1);
  (void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  execve(exe, p->args, env);
  isolazi_error_errno(&err, "exec `%s`", p->args[0]);
  child_fail(a->sync_fd, &err);
}

static pid_t
clone3_child(int cgroup_fd, int *pidfd)
{
  struct clone_args args;

  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = (uint64_t)(uintptr_t)pidfd;
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0;
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

/* Point pid_for_children and time_for_children at the init's; *ret_restore gets fds to undo it. */
static int
enter_for_children(int init_pidfd, int flags, int ret_restore[2], isolazi_error_t *err)
{
  ret_restore[0] = ret_restore[1] = -1;
  if (flags & CLONE_NEWPID)
    {
      ret_restore[0] = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
      if (ret_restore[0] < 0)
        return isolazi_error_errno(err, "open `/proc/self/ns/pid_for_children`");
    }
  if (flags & CLONE_NEWTIME)
    {
      ret_restore[1] = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
      if (ret_restore[1] < 0)
        return isolazi_error_errno(err, "open `/proc/self/ns/time_for_children`");
    }
  if (flags != 0 && setns(init_pidfd, flags) < 0)
    return isolazi_error_errno(err, "join the container's pid namespace");
  return 0;
}

static int
leave_for_children(int restore[2], isolazi_error_t *err)
{
  int r = 0;

  if (restore[0] >= 0 && setns(restore[0], CLONE_NEWPID) < 0)
    r = isolazi_error_errno(err, "return to the runtime's pid namespace");
  if (restore[1] >= 0 && setns(restore[1], CLONE_NEWTIME) < 0 && r == 0)
    r = isolazi_error_errno(err, "return to the runtime's time namespace");
  if (restore[0] >= 0)
    close(restore[0]);
  if (restore[1] >= 0)
    close(restore[1]);
  restore[0] = restore[1] = -1;
  return r;
}

typedef struct started
{
  pid_t pid;
  int pidfd;
} started_t;

/* Start the process; returns once it has exec'd (or with the reason it could not). */
static int
start_process(opened_t *c, int init_pidfd, const oci_process *p, const oci_seccomp *seccomp, int console_fd,
              unsigned int preserve_fds, started_t *out, isolazi_error_t *err)
{
  isolazi_cgroup_t *cg = c->state->cgroup;
  int sync_fds[2] = { -1, -1 }, restore[2] = { -1, -1 }, pidfd = -1, cgfd = -1, ns_flags, *cgroup_fds = NULL;
  size_t n_cgroup_fds = 0;
  isolazi_sync_msg_t m = { 0 };
  cleanup_free char *state_json = NULL;
  child_args_t a;
  bool cloned_into = false;
  pid_t pid = -1;
  int r;

  if (ns_differ(c->state->pid, &ns_flags, err) < 0)
    return -1;
  /* The /proc reads above are about the init only if it is still the process behind the pidfd. */
  if (container_pidfd_signal(init_pidfd, 0) < 0)
    return isolazi_error_set(err, 0, "cannot exec in a stopped container");
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) < 0)
    return isolazi_error_errno(err, "socketpair");
  if (cg != NULL && isolazi_cgroup_self_fds(cg, &cgroup_fds, &n_cgroup_fds, err) < 0)
    goto fail;
  memset(&a, 0, sizeof a);
  a.p = p;
  a.sync_fd = sync_fds[1];
  a.pidfd = init_pidfd;
  a.console_fd = console_fd;
  a.ns_flags = ns_flags & ~(CLONE_NEWPID | CLONE_NEWTIME);
  a.cgroup_fds = cgroup_fds;
  a.n_cgroup_fds = n_cgroup_fds;
  a.preserve_fds = preserve_fds;
  a.seccomp = seccomp;
  a.state_json = state_json = isolazi_state_oci_json(c->state, c->status, false);
  if (enter_for_children(init_pidfd, ns_flags & (CLONE_NEWPID | CLONE_NEWTIME), restore, err) < 0)
    {
      (void)leave_for_children(restore, NULL);
      goto fail;
    }
  cgfd = cg != NULL ? isolazi_cgroup_clone_fd(cg) : -1;
  pid = clone3_child(cgfd, &pidfd);
  if (pid < 0 && cgfd >= 0)
    {
      isolazi_debug("clone3 with CLONE_INTO_CGROUP failed (%s); moving the process after clone", strerror(errno));
      pid = clone3_child(-1, &pidfd);
    }
  else
    cloned_into = cgfd >= 0;
  if (pid == 0)
    {
      close(sync_fds[0]);
      child_main(&a);
    }
  if (pid < 0)
    {
      isolazi_error_errno(err, "create the process (clone3)");
      (void)leave_for_children(restore, NULL);
      goto fail;
    }
  close(sync_fds[1]);
  sync_fds[1] = -1;
  if (leave_for_children(restore, err) < 0)
    goto fail;
  isolazi_cgroup_self_fds_close(cgroup_fds, n_cgroup_fds);
  cgroup_fds = NULL;
  if (!cloned_into && cgfd >= 0 && isolazi_cgroup_enter(cg, pid, false, err) < 0)
    goto fail;
  if (isolazi_sync_send(sync_fds[0], SYNC_PARENT_READY, 0, NULL, err) < 0)
    goto fail;
  if (isolazi_sync_expect(sync_fds[0], SYNC_EXECING, "start the process", NULL, err) < 0)
    goto fail;
  /* The socket closes on a successful exec (close-on-exec); an exec failure is sent. */
  r = isolazi_sync_recv(sync_fds[0], &m, err);
  if (r < 0)
    goto fail;
  if (r > 0)
    {
      if (m.type == SYNC_ERROR)
        {
          isolazi_error_take(err, m.errnum, steal_pointer(&m.payload));
          goto fail;
        }
      isolazi_sync_msg_release(&m);
    }
  close(sync_fds[0]);
  out->pid = pid;
  out->pidfd = pidfd;
  return 0;

fail:
  /* The child has reported its error and is exiting; in any other state it is ended here. */
  if (pid > 0)
    {
      (void)container_pidfd_signal(pidfd, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (pidfd >= 0)
    close(pidfd);
  isolazi_cgroup_self_fds_close(cgroup_fds, n_cgroup_fds);
  if (sync_fds[0] >= 0)
    close(sync_fds[0]);
  if (sync_fds[1] >= 0)
    close(sync_fds[1]);
  return -1;
}

int
isolazi_container_exec(const isolazi_global_t *g, const isolazi_exec_options_t *o, int *ret_status,
                       isolazi_error_t *err)
{
  cleanup_config oci_config *cfg = NULL;
  cleanup_process oci_process *p = NULL;
  cleanup_close int init_pidfd = -1, console_fd = -1, relay_fd = -1, master = -1;
  started_t s = { -1, -1 };
  bool interactive = false;
  opened_t c;
  int r = -1;

  *ret_status = 0;
  container_reserve_preserved_fds(o->preserve_fds);
  /* No lock: the process may run for long, and other verbs must not wait for it. */
  if (container_open(g, o->id, false, &c, err) < 0)
    goto out;
  if (strcmp(c.status, "stopped") == 0)
    {
      isolazi_error_set(err, 0, "cannot exec in a stopped container");
      goto out;
    }
  if (strcmp(c.status, "paused") == 0 && !o->ignore_paused)
    {
      isolazi_error_set(err, 0, "cannot exec in a paused container");
      goto out;
    }
  if (load_process(o, c.dirfd, &cfg, &p, err) < 0)
    goto out;
  if (p->terminal && o->console_socket == NULL)
    {
      if (o->detach)
        {
          isolazi_error_set(err, 0, "cannot allocate a tty for a detached process without --console-socket");
          goto out;
        }
      interactive = true;
    }
  init_pidfd = container_pidfd_open(c.state->pid, c.state->pid_start);
  if (init_pidfd < 0)
    {
      if (errno == ESRCH)
        isolazi_error_set(err, 0, "cannot exec in a stopped container");
      else
        isolazi_error_errno(err, "open a pidfd for the container init (pid %d)", (int)c.state->pid);
      goto out;
    }
  if (p->terminal && o->console_socket != NULL)
    {
      console_fd = container_connect_console(o->console_socket, err);
      if (console_fd < 0)
        goto out;
    }
  else if (interactive)
    {
      int sv[2];
      struct winsize ws;
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        {
          isolazi_error_errno(err, "socketpair");
          goto out;
        }
      relay_fd = sv[0];
      console_fd = sv[1];
      /* The pty starts with our terminal's size, before the process can ask for it. */
      if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        {
          free(p->console_size);
          p->console_size = xcalloc(1, sizeof *p->console_size);
          p->console_size->height = ws.ws_row;
          p->console_size->width = ws.ws_col;
        }
    }
  if (start_process(&c, init_pidfd, p, cfg->linux_ != NULL ? cfg->linux_->seccomp : NULL, console_fd, o->preserve_fds,
                    &s, err)
      < 0)
    goto out;
  if (console_fd >= 0)
    {
      close(console_fd);
      console_fd = -1;
    }
  if (o->pid_file != NULL && container_write_pid_file(o->pid_file, s.pid, err) < 0)
    {
      (void)container_pidfd_signal(s.pidfd, SIGKILL);
      while (waitpid(s.pid, NULL, 0) < 0 && errno == EINTR)
        ;
      goto out;
    }
  if (o->detach)
    {
      r = 0;
      goto out;
    }
  if (interactive)
    {
      master = isolazi_terminal_recv_master(relay_fd, err);
      if (master < 0)
        {
          (void)container_pidfd_signal(s.pidfd, SIGKILL);
          while (waitpid(s.pid, NULL, 0) < 0 && errno == EINTR)
            ;
          goto out;
        }
      r = isolazi_terminal_relay(steal_fd(&master), s.pid, s.pidfd, ret_status, err);
    }
  else
    r = container_wait_forwarding(s.pid, s.pidfd, ret_status, err);
out:
  if (s.pidfd >= 0)
    close(s.pidfd);
  container_opened_release(&c);
  return r;
}
