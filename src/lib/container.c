/* SPDX-License-Identifier: Apache-2.0 */
/* The lifecycle verbs (runtime-spec runtime.md "Lifecycle" and "Operations"). */
#include "config.h"
#include "container.h"
#include "container_internal.h"
#include "cgroup.h"
#include "cleanup.h"
#include "devices.h"
#include "hooks.h"
#include "init.h"
#include "log.h"
#include "namespaces.h"
#include "ocispec.h"
#include "state.h"
#include "sync.h"
#include "userns.h"
#include "terminal.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

static void
cleanup_config_free(oci_config **c)
{
  oci_config_free(*c);
}
#define cleanup_config __attribute__((cleanup(cleanup_config_free)))

int
isolazi_container_id_validate(const char *id, isolazi_error_t *err)
{
  const char *p;

  if (id == NULL || id[0] == '\0')
    return isolazi_error_set(err, 0, "container id is empty");
  if (strlen(id) > 1024)
    return isolazi_error_set(err, 0, "invalid container id `%.32s...`: longer than 1024 bytes", id);
  /* The id names a directory under the state root: no '/', no "." or "..", no control chars. */
  for (p = id; *p; p++)
    {
      char c = *p;
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || ((c == '_' || c == '.' || c == '+' || c == '-') && p != id);
      if (!ok)
        return isolazi_error_set(err, 0, "invalid container id `%s`: use letters, digits and _ . + - (not first)", id);
    }
  return 0;
}

/* ---- loading a bundle ---- */

void
isolazi_bundle_release(isolazi_bundle_t *b)
{
  free(b->dir);
  free(b->rootfs);
  free(b->config_text);
  oci_config_free(b->cfg);
  memset(b, 0, sizeof *b);
}

int
isolazi_bundle_load(const char *dir, isolazi_bundle_t *b, isolazi_error_t *err)
{
  cleanup_free char *config_path = NULL;
  char *perr = NULL;
  struct stat st;

  memset(b, 0, sizeof *b);
  b->dir = isolazi_abspath(dir != NULL && dir[0] ? dir : ".", err);
  if (b->dir == NULL)
    return -1;
  config_path = xasprintf("%s/config.json", b->dir);
  if (isolazi_read_file(config_path, &b->config_text, &b->config_len, err) < 0)
    return -1;
  b->cfg = oci_config_parse("config.json", b->config_text, b->config_len, &perr);
  if (b->cfg == NULL || oci_config_validate("config.json", b->cfg, &perr) < 0)
    return isolazi_error_take(err, EINVAL, perr);
  if (b->cfg->process == NULL)
    return isolazi_error_set(err, 0, "config.json: process: required to create a container");
  if (b->cfg->root == NULL || b->cfg->root->path == NULL)
    return isolazi_error_set(err, 0, "config.json: root.path: required");
  b->rootfs
      = b->cfg->root->path[0] == '/' ? xstrdup(b->cfg->root->path) : xasprintf("%s/%s", b->dir, b->cfg->root->path);
  if (stat(b->rootfs, &st) < 0)
    return isolazi_error_errno(err, "rootfs `%s` (root.path)", b->rootfs);
  if (!S_ISDIR(st.st_mode))
    return isolazi_error_set(err, 0, "rootfs `%s` (root.path): not a directory", b->rootfs);
  return 0;
}

/* Checks that need the namespace plan: done before anything is created. */
static int
config_check(const oci_config *cfg, const isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  size_t i;

  if (cfg->hostname != NULL && cfg->hostname[0] && !isolazi_ns_plan_has(plan, CLONE_NEWUTS))
    return isolazi_error_set(err, 0, "config.json: hostname: setting it needs a uts namespace");
  if (cfg->domainname != NULL && cfg->domainname[0] && !isolazi_ns_plan_has(plan, CLONE_NEWUTS))
    return isolazi_error_set(err, 0, "config.json: domainname: setting it needs a uts namespace");
  for (i = 0; cfg->linux_ != NULL && i < cfg->linux_->sysctl.len; i++)
    if (isolazi_sysctl_check(cfg->linux_->sysctl.keys[i], plan, err) < 0)
      return isolazi_error_wrap(err, "config.json");
  if (isolazi_userns_config_check(cfg, plan, err) < 0)
    return -1;
  return 0;
}

/* ---- small process helpers ---- */

int
container_pidfd_open(pid_t pid, unsigned long long start)
{
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);

  /* With the pidfd held, a matching start time proves it is still our process: pid reuse
     after this point cannot redirect a signal. */
  if (fd >= 0 && isolazi_process_start_time(pid) != start)
    {
      close(fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

int
container_pidfd_signal(int pidfd, int sig)
{
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Wait (bounded) until the process behind pidfd has exited. */
bool
container_pidfd_wait_exit(int pidfd, int timeout_ms)
{
  struct pollfd pfd = { pidfd, POLLIN, 0 };
  int r;

  do
    r = poll(&pfd, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

static pid_t
clone3_init(uint64_t flags, int cgroup_fd, int *pidfd)
{
  struct clone_args args;

  memset(&args, 0, sizeof args);
  args.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = (uint64_t)(uintptr_t)pidfd;
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0;
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

/* The intermediate (init.h) reports the init's pid and exits; the init is our child
   (CLONE_PARENT).  Reaps the intermediate; on success *pidfd is the init's. */
static pid_t
intermediate_wait(pid_t mid, int report_fd, int sync_fd, int *pidfd, isolazi_error_t *err)
{
  struct pollfd pfd = { sync_fd, POLLIN, 0 };
  isolazi_sync_msg_t m = { 0 };
  pid_t pid = -1;
  int status = 0;

  while (waitpid(mid, &status, 0) < 0)
    if (errno != EINTR)
      return isolazi_error_errno(err, "wait for the intermediate process");
  close(*pidfd);
  *pidfd = -1;
  if (isolazi_read_all(report_fd, &pid, sizeof pid) == (ssize_t)sizeof pid && pid > 0)
    {
      /* No one else can reap our child, so its pid cannot be reused before we open it. */
      *pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
      if (*pidfd < 0)
        {
          isolazi_error_errno(err, "open a pidfd for the container init (pid %d)", (int)pid);
          (void)kill(pid, SIGKILL);
          while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
          return -1;
        }
      return pid;
    }
  /* It sent its error before exiting; do not wait on a socket an init may still hold. */
  if (poll(&pfd, 1, 0) > 0 && isolazi_sync_recv(sync_fd, &m, err) > 0 && m.type == SYNC_ERROR)
    return isolazi_error_take(err, m.errnum, steal_pointer(&m.payload));
  isolazi_sync_msg_release(&m);
  isolazi_error_release(err);
  return isolazi_error_set(err, 0, "the intermediate process exited during setup (%s %d)",
                           WIFSIGNALED(status) ? "signal" : "status",
                           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* The start socket is bound through /proc/self/fd/N/: a deep --root must not hit the 108-byte
   sun_path limit. */
static int
start_socket_addr(int dirfd, struct sockaddr_un *addr, isolazi_error_t *err)
{
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if ((size_t)snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", dirfd, ISOLAZI_START_SOCKET)
      >= sizeof addr->sun_path)
    return isolazi_error_set(err, 0, "start socket path");
  return 0;
}

int
container_connect_console(const char *path, isolazi_error_t *err)
{
  struct sockaddr_un addr;
  cleanup_close int fd = -1;

  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path)
    return isolazi_error_set(err, 0, "--console-socket `%s`: path too long", path);
  strcpy(addr.sun_path, path);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return isolazi_error_errno(err, "connect to --console-socket `%s`", path);
  return steal_fd(&fd);
}

/* Fds 3..3+N-1 are the caller's to pass on.  If some are not open, park /dev/null there, so
   that none of our own fds lands in that range and leaks into the container. */
void
container_reserve_preserved_fds(unsigned int n)
{
  int fd;

  for (fd = 3; fd < 3 + (int)n; fd++)
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
      {
        int nfd = open("/dev/null", O_RDWR);
        if (nfd >= 0 && nfd != fd)
          {
            (void)dup2(nfd, fd);
            close(nfd);
          }
      }
}

int
container_write_pid_file(const char *path, pid_t pid, isolazi_error_t *err)
{
  cleanup_free char *abs = isolazi_abspath(path, err);
  cleanup_free char *dir = NULL;
  cleanup_close int dfd = -1;
  char buf[16], *slash;
  int n;

  if (abs == NULL)
    return -1;
  dir = xstrdup(abs);
  slash = strrchr(dir, '/');
  *slash = '\0';
  dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return isolazi_error_errno(err, "open the directory of --pid-file `%s`", path);
  /* No newline: containerd reads it with strconv.Atoi. */
  n = snprintf(buf, sizeof buf, "%d", (int)pid);
  if (isolazi_write_file_atomic(dfd, slash + 1, buf, (size_t)n, 0644, false, err) < 0)
    return isolazi_error_wrap(err, "write --pid-file `%s`", path);
  return 0;
}

static void
copy_annotations(oci_string_map *dst, const oci_string_map *src)
{
  size_t i;

  dst->len = src->len;
  dst->keys = xcalloc(src->len + 1, sizeof(char *));
  dst->values = xcalloc(src->len + 1, sizeof(char *));
  for (i = 0; i < src->len; i++)
    {
      dst->keys[i] = xstrdup(src->keys[i]);
      dst->values[i] = xstrdup(src->values[i]);
    }
}

/* ---- create ---- */

typedef struct created
{
  pid_t pid;
  int pidfd;
  int rootfd;
  int dirfd;
  isolazi_state_t *state;
  bool terminal; /* process.terminal: the pty master went to the console fd */
} created_t;

/* Undo a failed create: nothing may be left behind (process, cgroup, state dir). */
static void
create_rollback(int rootfd, const char *id, pid_t pid, int pidfd, isolazi_cgroup_t *cg)
{
  isolazi_error_t ignored = ISOLAZI_ERROR_INIT;

  if (pid > 0)
    {
      if (pidfd >= 0)
        (void)container_pidfd_signal(pidfd, SIGKILL);
      else
        (void)kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (cg != NULL && isolazi_cgroup_destroy(cg, &ignored) < 0)
    isolazi_warning("%s", ignored.msg);
  isolazi_cgroup_free(cg);
  isolazi_error_release(&ignored);
  if (isolazi_state_dir_remove(rootfd, id, &ignored) < 0)
    isolazi_warning("%s", ignored.msg);
  isolazi_error_release(&ignored);
}

static int
run_runtime_hooks(const oci_config *cfg, const char *state_json, isolazi_error_t *err)
{
  if (cfg->hooks == NULL)
    return 0;
  /* prestart is deprecated but still run, at the createRuntime point (runtime-spec). */
  if (isolazi_hooks_run(cfg->hooks->prestart, cfg->hooks->prestart_len, "prestart", state_json, err) < 0)
    return -1;
  return isolazi_hooks_run(cfg->hooks->create_runtime, cfg->hooks->create_runtime_len, "createRuntime", state_json,
                           err);
}

/* console_in: for `run` without --console-socket, the socket that receives the pty master of
   an interactive session (-1: none). */
static int
do_create(const isolazi_global_t *g, const isolazi_create_options_t *o, int console_in, created_t *out,
          isolazi_error_t *err)
{
  isolazi_bundle_t b = { 0 };
  isolazi_ns_plan_t plan;
  isolazi_ns_restore_t restore = ISOLAZI_NS_RESTORE_INIT;
  isolazi_cgroup_t *cg = NULL;
  isolazi_cgroup_config_t cgc = { 0 };
  isolazi_init_args_t ia = { 0 };
  isolazi_state_t *st = NULL;
  cleanup_close int rootfd = -1, dirfd = -1, listen_fd = -1, console_fd = -1;
  int sync_fds[2] = { -1, -1 }, report[2] = { -1, -1 }, pidfd = -1, cgfd = -1, *cgroup_fds = NULL, *idmap_trees = NULL;
  size_t n_cgroup_fds = 0;
  uint64_t clone_flags;
  oci_resources resources = { 0 };
  cleanup_free oci_device_cgroup *device_rules = NULL;
  struct sockaddr_un addr;
  cleanup_free char *creating = NULL;
  bool cloned_into = false, ready = false, intermediate = false;
  pid_t pid = -1;
  int r = -1;

  memset(&plan, 0, sizeof plan);
  if (isolazi_container_id_validate(o->id, err) < 0)
    return -1;
  container_reserve_preserved_fds(o->preserve_fds);
  if (isolazi_bundle_load(o->bundle, &b, err) < 0)
    goto out_early;
  if (isolazi_ns_plan_build(b.cfg->linux_, &plan, err) < 0)
    {
      isolazi_error_wrap(err, "config.json");
      goto out_early;
    }
  if (config_check(b.cfg, &plan, err) < 0)
    goto out_early;
  if (b.cfg->process->terminal && o->console_socket == NULL && o->detach)
    {
      isolazi_error_set(err, 0, "process.terminal is set: a detached container needs --console-socket");
      goto out_early;
    }
  /* Hooks and relative paths are resolved from the bundle, as runc does. */
  if (chdir(b.dir) < 0)
    {
      isolazi_error_errno(err, "chdir to bundle `%s`", b.dir);
      goto out_early;
    }
  rootfd = isolazi_state_root_open(g->root, true, err);
  if (rootfd < 0)
    goto out_early;
  dirfd = isolazi_state_dir_create(rootfd, o->id, err);
  if (dirfd < 0)
    goto out_early;
  /* From here on, a failure must remove everything made so far. */
  if (isolazi_state_lock(dirfd, err) < 0
      || isolazi_write_file_atomic(dirfd, ISOLAZI_CONFIG_COPY, b.config_text, b.config_len, 0600, false, err) < 0
      || isolazi_ns_open(&plan, err) < 0)
    goto fail;
  if (o->console_socket != NULL)
    {
      console_fd = container_connect_console(o->console_socket, err);
      if (console_fd < 0)
        goto fail;
    }
  else if (console_in >= 0 && b.cfg->process->terminal)
    {
      console_fd = fcntl(console_in, F_DUPFD_CLOEXEC, 3);
      if (console_fd < 0)
        {
          isolazi_error_errno(err, "dup the console socket");
          goto fail;
        }
    }
  cgc.id = o->id;
  cgc.cgroups_path = b.cfg->linux_ != NULL ? b.cfg->linux_->cgroups_path : NULL;
  /* The config's resources with runc's full device rule list (see devices.h). */
  if (b.cfg->linux_ != NULL && b.cfg->linux_->resources != NULL)
    resources = *b.cfg->linux_->resources;
  device_rules = isolazi_devices_cgroup_rules(b.cfg, &resources.devices_len);
  resources.devices = device_rules;
  cgc.resources = &resources;
  cgc.systemd = g->systemd_cgroup;
  if (!g->no_cgroups && isolazi_cgroup_create(&cgc, &cg, err) < 0)
    goto fail;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) < 0)
    {
      isolazi_error_errno(err, "socketpair");
      goto fail;
    }
  listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (listen_fd < 0 || start_socket_addr(dirfd, &addr, err) < 0)
    {
      if (listen_fd < 0)
        isolazi_error_errno(err, "socket");
      goto fail;
    }
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 1) < 0)
    {
      isolazi_error_errno(err, "listen on the start socket");
      goto fail;
    }

  ia.cfg = b.cfg;
  ia.id = o->id;
  ia.rootfs = b.rootfs;
  ia.plan = &plan;
  /* Without a cgroup the cgroup mounts show the cgroup the container inherited. */
  ia.cgroup_path = cg != NULL ? isolazi_cgroup_path(cg) : NULL;
  ia.sync_fd = sync_fds[1];
  ia.start_fd = listen_fd;
  ia.console_fd = console_fd;
  ia.preserve_fds = o->preserve_fds;
  ia.no_pivot = o->no_pivot;
  ia.no_new_keyring = o->no_new_keyring;
  ia.runtime_hooks = b.cfg->hooks != NULL && (b.cfg->hooks->prestart_len > 0 || b.cfg->hooks->create_runtime_len > 0);

  if (cg != NULL && isolazi_cgroup_self_fds(cg, &cgroup_fds, &n_cgroup_fds, err) < 0)
    goto fail;
  ia.cgroup_fds = cgroup_fds;
  ia.n_cgroup_fds = n_cgroup_fds;
  /* Idmapped mounts are made here, by the host's root: see userns.h.  Before parent_enter, so
     the short-lived user-namespace holders are not born in the container's pid namespace. */
  if (isolazi_userns_idmap_trees(b.cfg, &idmap_trees, err) < 0)
    goto fail;
  ia.idmap_trees = idmap_trees;
  /* Only a joined user namespace with a new pid namespace takes the extra process. */
  intermediate = isolazi_ns_needs_intermediate(&plan);
  if (intermediate && pipe2(report, O_CLOEXEC) < 0)
    {
      isolazi_error_errno(err, "pipe");
      goto fail;
    }
  if (isolazi_ns_parent_enter(&plan, b.cfg->linux_, &restore, err) < 0)
    {
      (void)isolazi_ns_parent_leave(&restore, NULL);
      goto fail;
    }
  /* The cgroup namespace is unshared by the init once it is in its cgroups.  The intermediate
     is cloned into the cgroup with no new namespace; the init it clones inherits the cgroup. */
  clone_flags = intermediate ? 0 : isolazi_ns_clone_flags(&plan);
  cgfd = cg != NULL ? isolazi_cgroup_clone_fd(cg) : -1;
  pid = clone3_init(clone_flags, cgfd, &pidfd);
  if (pid < 0 && cgfd >= 0)
    {
      isolazi_debug("clone3 with CLONE_INTO_CGROUP failed (%s); moving the init after clone", strerror(errno));
      pid = clone3_init(clone_flags, -1, &pidfd);
    }
  else
    cloned_into = cgfd >= 0;
  if (pid == 0)
    {
      close(sync_fds[0]);
      if (intermediate)
        {
          close(report[0]);
          isolazi_init_intermediate_main(&ia, report[1]);
        }
      isolazi_init_main(&ia);
    }
  if (pid < 0)
    {
      isolazi_error_errno(err, "create the container %s (clone3)", intermediate ? "intermediate process" : "init");
      (void)isolazi_ns_parent_leave(&restore, NULL);
      goto fail;
    }
  close(sync_fds[1]);
  sync_fds[1] = -1;
  if (isolazi_ns_parent_leave(&restore, err) < 0)
    goto fail;
  if (intermediate)
    {
      close(report[1]);
      report[1] = -1;
      pid = intermediate_wait(pid, report[0], sync_fds[0], &pidfd, err);
      if (pid < 0)
        goto fail;
    }
  isolazi_cgroup_self_fds_close(cgroup_fds, n_cgroup_fds);
  cgroup_fds = NULL;
  isolazi_userns_idmap_trees_close(idmap_trees, b.cfg->mounts_len);
  idmap_trees = NULL;
  /* A new user namespace: map it before the init goes past SYNC_PARENT_READY (until then it
     does nothing that needs its ids mapped). */
  if ((clone_flags & CLONE_NEWUSER) && isolazi_userns_write_maps(pid, b.cfg->linux_, err) < 0)
    goto fail;
  /* Only the cgroup2 part is left, and only when CLONE_INTO_CGROUP could not be used. */
  if (!cloned_into && cgfd >= 0 && isolazi_cgroup_enter(cg, pid, false, err) < 0)
    goto fail;
  /* The init holds the cgroup now (systemd driver: the scope's placeholder goes). */
  isolazi_cgroup_placed(cg);

  st = xcalloc(1, sizeof *st);
  st->id = xstrdup(o->id);
  st->pid = pid;
  st->pid_start = isolazi_process_start_time(pid);
  st->bundle = xstrdup(b.dir);
  st->rootfs = xstrdup(b.rootfs);
  st->created = isolazi_now_rfc3339();
  st->owner = xstrdup("");
  copy_annotations(&st->annotations, &b.cfg->annotations);
  st->poststart_hooks = b.cfg->hooks != NULL && b.cfg->hooks->poststart_len > 0;
  st->poststop_hooks = b.cfg->hooks != NULL && b.cfg->hooks->poststop_len > 0;
  st->cgroup = cg;
  creating = isolazi_state_oci_json(st, "creating", false);
  if (isolazi_sync_send(sync_fds[0], SYNC_PARENT_READY, 0, creating, err) < 0)
    goto fail;
  while (!ready)
    {
      isolazi_sync_msg_t m = { 0 };
      int rr = isolazi_sync_recv(sync_fds[0], &m, err);
      if (rr < 0)
        goto fail;
      if (rr == 0)
        {
          int status = 0;
          if (waitpid(pid, &status, 0) == pid)
            pid = -1;
          isolazi_error_set(err, 0, "the container init exited during setup (%s %d)",
                            WIFSIGNALED(status) ? "signal" : "status",
                            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
          goto fail;
        }
      switch (m.type)
        {
        case SYNC_RUN_HOOKS:
          isolazi_sync_msg_release(&m);
          if (run_runtime_hooks(b.cfg, creating, err) < 0)
            goto fail;
          if (isolazi_sync_send(sync_fds[0], SYNC_HOOKS_DONE, 0, NULL, err) < 0)
            goto fail;
          break;
        case SYNC_READY:
          ready = true;
          break;
        case SYNC_ERROR:
          isolazi_error_take(err, m.errnum, steal_pointer(&m.payload));
          goto fail;
        default:
          isolazi_error_set(err, 0, "unexpected sync message %u from the container init", (unsigned)m.type);
          isolazi_sync_msg_release(&m);
          goto fail;
        }
      isolazi_sync_msg_release(&m);
    }
  if (isolazi_state_save(dirfd, st, err) < 0)
    goto fail;
  if (o->pid_file != NULL && container_write_pid_file(o->pid_file, pid, err) < 0)
    goto fail;

  out->pid = pid;
  out->pidfd = pidfd;
  out->rootfd = steal_fd(&rootfd);
  out->dirfd = steal_fd(&dirfd);
  out->state = st;
  out->terminal = console_fd >= 0;
  r = 0;
  goto out;

fail:
  if (st != NULL)
    st->cgroup = NULL; /* owned by `cg` below */
  create_rollback(rootfd, o->id, pid, pidfd, cg);
  cg = NULL;
  if (pidfd >= 0)
    close(pidfd);
  isolazi_state_free(st);
out:
  isolazi_cgroup_self_fds_close(cgroup_fds, n_cgroup_fds);
  isolazi_userns_idmap_trees_close(idmap_trees, b.cfg != NULL ? b.cfg->mounts_len : 0);
  if (sync_fds[0] >= 0)
    close(sync_fds[0]);
  if (sync_fds[1] >= 0)
    close(sync_fds[1]);
  if (report[0] >= 0)
    close(report[0]);
  if (report[1] >= 0)
    close(report[1]);
  isolazi_ns_close(&plan);
out_early:
  isolazi_bundle_release(&b);
  return r;
}

static void
created_release(created_t *c)
{
  if (c->pidfd >= 0)
    close(c->pidfd);
  if (c->rootfd >= 0)
    close(c->rootfd);
  if (c->dirfd >= 0)
    close(c->dirfd);
  isolazi_state_free(c->state);
  memset(c, 0, sizeof *c);
  c->pidfd = c->rootfd = c->dirfd = -1;
}

int
isolazi_container_create(const isolazi_global_t *g, const isolazi_create_options_t *o, isolazi_error_t *err)
{
  created_t c = { 0, -1, -1, -1, NULL };

  if (do_create(g, o, -1, &c, err) < 0)
    return -1;
  created_release(&c);
  return 0;
}

/* ---- the other verbs ---- */

void
container_opened_release(opened_t *c)
{
  if (c->rootfd >= 0)
    close(c->rootfd);
  if (c->dirfd >= 0)
    close(c->dirfd);
  isolazi_state_free(c->state);
  c->rootfd = c->dirfd = -1;
  c->state = NULL;
}

/* Open a container's state; `lock` serialises against other mutating verbs. */
int
container_open(const isolazi_global_t *g, const char *id, bool lock, opened_t *c, isolazi_error_t *err)
{
  c->rootfd = c->dirfd = -1;
  c->state = NULL;
  if (isolazi_container_id_validate(id, err) < 0)
    return -1;
  c->rootfd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0)
    {
      if (errno == ENOENT)
        return isolazi_error_take(err, ENOENT, xasprintf("container `%s` does not exist", id));
      return isolazi_error_errno(err, "open state root `%s`", g->root);
    }
  c->dirfd = isolazi_state_dir_open(c->rootfd, id, err);
  if (c->dirfd < 0 || (lock && isolazi_state_lock(c->dirfd, err) < 0)
      || isolazi_state_load(c->dirfd, id, &c->state, err) < 0)
    return -1;
  c->status = isolazi_state_status(c->state, c->dirfd);
  return 0;
}

oci_config *
container_load_config_copy(int dirfd, isolazi_error_t *err)
{
  cleanup_free char *text = NULL;
  oci_config *cfg;
  char *perr = NULL;
  size_t len;

  if (isolazi_read_file_at(dirfd, ISOLAZI_CONFIG_COPY, &text, &len, err) < 0)
    return NULL;
  cfg = oci_config_parse("config.json", text, len, &perr);
  if (cfg == NULL)
    isolazi_error_take(err, EINVAL, perr);
  return cfg;
}

/* Connect to the waiting init, hand it the go, and wait until it has exec'd the process. */
static int
do_start(opened_t *c, isolazi_error_t *err)
{
  struct sockaddr_un addr;
  cleanup_close int fd = -1;
  cleanup_free char *created = NULL;
  isolazi_sync_msg_t m = { 0 };
  int r;

  if (strcmp(c->status, "running") == 0)
    return isolazi_error_set(err, 0, "cannot start an already running container");
  if (strcmp(c->status, "stopped") == 0)
    return isolazi_error_set(err, 0, "cannot start a container that has stopped");
  if (start_socket_addr(c->dirfd, &addr, err) < 0)
    return -1;
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return isolazi_error_errno(err, "connect to the container init");
  /* From now on the container is running (or stopped): no second start can get in. */
  (void)unlinkat(c->dirfd, ISOLAZI_START_SOCKET, 0);
  created = isolazi_state_oci_json(c->state, "created", false);
  if (isolazi_sync_send(fd, SYNC_START, 0, created, err) < 0)
    return -1;
  if (isolazi_sync_expect(fd, SYNC_EXECING, "start the container process", NULL, err) < 0)
    return -1;
  /* The connection closes on a successful exec (close-on-exec); an exec failure is sent. */
  r = isolazi_sync_recv(fd, &m, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      if (m.type == SYNC_ERROR)
        return isolazi_error_take(err, m.errnum, steal_pointer(&m.payload));
      isolazi_sync_msg_release(&m);
    }
  return 0;
}

static void
run_poststart(opened_t *c)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  cleanup_config oci_config *cfg = NULL;
  cleanup_free char *running = NULL;

  if (!c->state->poststart_hooks)
    return;
  cfg = container_load_config_copy(c->dirfd, &e);
  running = isolazi_state_oci_json(c->state, "running", false);
  /* runtime-spec: a failing poststart hook is a warning; the container keeps running. */
  if (cfg == NULL || isolazi_hooks_run(cfg->hooks->poststart, cfg->hooks->poststart_len, "poststart", running, &e) < 0)
    isolazi_warning("%s", e.msg);
  isolazi_error_release(&e);
}

int
isolazi_container_start(const isolazi_global_t *g, const char *id, isolazi_error_t *err)
{
  opened_t c;
  int r;

  if (container_open(g, id, true, &c, err) < 0)
    {
      container_opened_release(&c);
      return -1;
    }
  r = do_start(&c, err);
  if (r == 0)
    run_poststart(&c);
  container_opened_release(&c);
  return r;
}

static int
signal_init(const isolazi_state_t *s, int sig, isolazi_error_t *err)
{
  cleanup_close int pidfd = container_pidfd_open(s->pid, s->pid_start);

  if (pidfd < 0 || container_pidfd_signal(pidfd, sig) < 0)
    {
      if (errno == ESRCH)
        return isolazi_error_set(err, 0, "container not running");
      return isolazi_error_errno(err, "signal the container init (pid %d)", (int)s->pid);
    }
  return 0;
}

int
isolazi_container_kill(const isolazi_global_t *g, const char *id, int sig, bool all, isolazi_error_t *err)
{
  opened_t c;
  int r;

  if (container_open(g, id, false, &c, err) < 0)
    {
      container_opened_release(&c);
      return -1;
    }
  if (all)
    {
      /* Every process in the cgroup, like runc; a stopped container's empty cgroup is fine. */
      r = c.state->cgroup != NULL ? isolazi_cgroup_kill(c.state->cgroup, sig, err) : signal_init(c.state, sig, err);
      if (r < 0 && strcmp(c.status, "stopped") == 0)
        {
          isolazi_error_release(err);
          r = 0;
        }
    }
  else if (strcmp(c.status, "stopped") == 0)
    r = isolazi_error_set(err, 0, "container not running");
  else
    {
      r = signal_init(c.state, sig, err);
      /* runc: a signal to a paused container waits for resume (frozen v1 tasks act on nothing),
       * except SIGKILL, for which the cgroup is thawed so that it takes effect now. */
      if (r == 0 && sig == SIGKILL && strcmp(c.status, "paused") == 0)
        (void)isolazi_cgroup_freeze(c.state->cgroup, false, NULL);
    }
  container_opened_release(&c);
  return r;
}

/* Kill what is left, remove the cgroup, run poststop hooks, remove the state. */
static int
destroy(opened_t *c, isolazi_error_t *err)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  int pidfd = container_pidfd_open(c->state->pid, c->state->pid_start);

  if (pidfd >= 0)
    {
      (void)container_pidfd_signal(pidfd, SIGKILL);
      /* delete --force of a paused container: thaw, or a frozen v1 init never dies. */
      if (c->state->cgroup != NULL && strcmp(c->status, "paused") == 0)
        (void)isolazi_cgroup_freeze(c->state->cgroup, false, NULL);
      if (!container_pidfd_wait_exit(pidfd, 5000))
        isolazi_warning("container init (pid %d) did not exit after SIGKILL", (int)c->state->pid);
      close(pidfd);
    }
  if (c->state->cgroup != NULL && isolazi_cgroup_destroy(c->state->cgroup, err) < 0)
    return isolazi_error_wrap(err, "delete container `%s`", c->state->id);
  if (c->state->poststop_hooks)
    {
      cleanup_config oci_config *cfg = container_load_config_copy(c->dirfd, &e);
      cleanup_free char *stopped = isolazi_state_oci_json(c->state, "stopped", false);
      /* runtime-spec: a failing poststop hook is a warning; deletion goes on. */
      if (cfg == NULL || isolazi_hooks_run(cfg->hooks->poststop, cfg->hooks->poststop_len, "poststop", stopped, &e) < 0)
        isolazi_warning("%s", e.msg);
      isolazi_error_release(&e);
    }
  return isolazi_state_dir_remove(c->rootfd, c->state->id, err);
}

int
isolazi_container_delete(const isolazi_global_t *g, const char *id, bool force, isolazi_error_t *err)
{
  opened_t c;
  int r;

  if (container_open(g, id, true, &c, err) < 0)
    {
      /* --force on a container that does not exist (or never finished create) is success. */
      if (force && err->code == ENOENT)
        {
          if (c.rootfd >= 0 && c.dirfd >= 0)
            (void)isolazi_state_dir_remove(c.rootfd, id, NULL);
          isolazi_error_release(err);
          container_opened_release(&c);
          return 0;
        }
      container_opened_release(&c);
      return -1;
    }
  if (!force && strcmp(c.status, "stopped") != 0 && strcmp(c.status, "created") != 0)
    r = isolazi_error_set(err, 0, "cannot delete container `%s` that is not stopped: %s", id, c.status);
  else
    r = destroy(&c, err);
  container_opened_release(&c);
  return r;
}

int
isolazi_container_state(const isolazi_global_t *g, const char *id, char **ret_json, isolazi_error_t *err)
{
  opened_t c;

  if (container_open(g, id, false, &c, err) < 0)
    {
      container_opened_release(&c);
      return -1;
    }
  *ret_json = isolazi_state_oci_json(c.state, c.status, true);
  container_opened_release(&c);
  return 0;
}

static int
info_cmp(const void *a, const void *b)
{
  return strcmp(((const isolazi_container_info_t *)a)->id, ((const isolazi_container_info_t *)b)->id);
}

int
isolazi_container_list(const isolazi_global_t *g, isolazi_container_info_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  isolazi_container_info_t *list = NULL;
  size_t n = 0;
  struct dirent *de;

  *ret = NULL;
  *ret_len = 0;
  d = opendir(g->root);
  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return isolazi_error_errno(err, "open state root `%s`", g->root);
    }
  while ((de = readdir(d)) != NULL)
    {
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      isolazi_state_t *s = NULL;
      const char *status;
      struct passwd *pw;
      struct stat st;
      int dfd;

      if (de->d_name[0] == '.')
        continue;
      dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (dfd < 0)
        continue;
      /* A container still being created (or a stray directory) is skipped, as runc does. */
      if (isolazi_state_load(dfd, de->d_name, &s, &e) < 0)
        {
          isolazi_debug("list: skipping `%s`: %s", de->d_name, e.msg);
          isolazi_error_release(&e);
          close(dfd);
          continue;
        }
      status = isolazi_state_status(s, dfd);
      /* runc's list names the user who owns the state directory. */
      if (fstat(dfd, &st) == 0 && (pw = getpwuid(st.st_uid)) != NULL)
        {
          free(s->owner);
          s->owner = xstrdup(pw->pw_name);
        }
      close(dfd);
      list = xrealloc(list, (n + 1) * sizeof *list);
      list[n].id = xstrdup(s->id);
      list[n].pid = strcmp(status, "stopped") == 0 ? 0 : s->pid;
      list[n].status = xstrdup(status);
      list[n].bundle = xstrdup(s->bundle);
      list[n].created = xstrdup(s->created);
      list[n].owner = xstrdup(s->owner != NULL ? s->owner : "");
      list[n].state_json = isolazi_state_oci_json(s, status, false);
      n++;
      isolazi_state_free(s);
    }
  if (n > 1)
    qsort(list, n, sizeof *list, info_cmp);
  *ret = list;
  *ret_len = n;
  return 0;
}

void
isolazi_container_info_free(isolazi_container_info_t *list, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    {
      free(list[i].id);
      free(list[i].status);
      free(list[i].bundle);
      free(list[i].created);
      free(list[i].owner);
      free(list[i].state_json);
    }
  free(list);
}

/* ---- run ---- */

/* Forward every signal `run` receives to the container, until the init exits. */
int
container_wait_forwarding(pid_t pid, int pidfd, int *ret_status, isolazi_error_t *err)
{
  sigset_t old;
  cleanup_close int sfd = -1;
  int status = 0;

  sfd = isolazi_signalfd_forwarding(&old, err);
  if (sfd < 0)
    return -1;
  for (;;)
    {
      struct pollfd pfds[2] = { { pidfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
      if (poll(pfds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (pfds[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
            (void)container_pidfd_signal(pidfd, (int)si.ssi_signo);
        }
      if (pfds[0].revents & POLLIN)
        break;
    }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return isolazi_error_errno(err, "wait for the container init");
      }
  sigprocmask(SIG_SETMASK, &old, NULL);
  *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}

int
isolazi_container_run(const isolazi_global_t *g, const isolazi_create_options_t *o, int *ret_status,
                      isolazi_error_t *err)
{
  created_t c = { 0, -1, -1, -1, NULL, false };
  cleanup_close int relay_fd = -1, console_in = -1, master = -1;
  opened_t oc;
  int r = 0;

  *ret_status = 0;
  /* An interactive session (process.terminal, no --console-socket): the init sends the pty
     master to us, and we relay it to our own terminal. */
  if (!o->detach && o->console_socket == NULL)
    {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return isolazi_error_errno(err, "socketpair");
      relay_fd = sv[0];
      console_in = sv[1];
    }
  if (do_create(g, o, console_in, &c, err) < 0)
    return -1;
  oc.rootfd = c.rootfd;
  oc.dirfd = c.dirfd;
  oc.state = c.state;
  oc.status = "created";
  if (c.terminal && relay_fd >= 0)
    {
      master = isolazi_terminal_recv_master(relay_fd, err);
      if (master < 0)
        r = -1;
      else
        {
          /* Our size, before the process starts and asks for it. */
          struct winsize ws;
          if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
            (void)ioctl(master, TIOCSWINSZ, &ws);
        }
    }
  if (r == 0)
    r = do_start(&oc, err);
  if (r == 0)
    {
      oc.status = "running";
      run_poststart(&oc);
      if (!o->detach)
        r = master >= 0 ? isolazi_terminal_relay(steal_fd(&master), c.pid, c.pidfd, ret_status, err)
                        : container_wait_forwarding(c.pid, c.pidfd, ret_status, err);
    }
  if (r < 0 || !o->detach)
    {
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      /* The init is our child: reap it so that `destroy` does not wait on a zombie. */
      if (r < 0)
        {
          (void)container_pidfd_signal(c.pidfd, SIGKILL);
          while (waitpid(c.pid, NULL, 0) < 0 && errno == EINTR)
            ;
        }
      if (destroy(&oc, &e) < 0)
        {
          if (r == 0)
            {
              *err = e;
              r = -1;
            }
          else
            isolazi_error_release(&e);
        }
    }
  created_release(&c);
  return r;
}
