/* SPDX-License-Identifier: Apache-2.0 */
/* The libkrun backend: loaded with dlopen when libkrun.so.1 is installed (Debian 12 does not
 * package it), so that isolazi-vm neither links nor needs it.
 *
 * libkrun's model is "this process becomes the VM": a context is configured (vCPUs and RAM, a
 * host directory as the guest's virtio-fs root, the program, its environment, working
 * directory and rlimits) and krun_start_enter() does not return on success: the calling
 * process runs the VMM and exit()s with the workload's status.  So the container's pid is one
 * host process that create forks: it configures the context (a failing krun_* call fails
 * create, leaving nothing), listens on start.sock as the QEMU monitor does, and on `start`
 * answers STARTED and enters the VM with its own stdio (or the console socket's pty).  kill
 * signals that process; exec, pause, resume, the guest's ps and stats need an agent in the
 * guest, which libkrun does not have: they are refused with the reason.  Every krun_* call
 * returns 0 (krun_create_ctx: the context id) or a negative errno (libkrun.h). */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "container_internal.h"
#include "log.h"
#include "process.h"
#include "state.h"
#include "utils.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define KRUN_LIBRARY "libkrun.so.1"
#define KRUN_MARK    "libkrun\n" /* the content of VM_HANDLER_MARK for this backend */

/* ---- the library ---------------------------------------------------------------------------- */

typedef struct krun_api
{
  void *handle;
  int32_t (*set_log_level)(uint32_t level);
  int32_t (*create_ctx)(void);
  int32_t (*free_ctx)(uint32_t ctx);
  int32_t (*set_vm_config)(uint32_t ctx, uint8_t vcpus, uint32_t ram_mib);
  int32_t (*set_root)(uint32_t ctx, const char *path);
  int32_t (*set_workdir)(uint32_t ctx, const char *path);
  int32_t (*set_exec)(uint32_t ctx, const char *path, const char *const argv[], const char *const envp[]);
  int32_t (*set_rlimits)(uint32_t ctx, const char *const rlimits[]);
  int32_t (*start_enter)(uint32_t ctx);
} krun_api_t;

static int
krun_load(krun_api_t *api, isolazi_error_t *err)
{
  static const struct
  {
    const char *name;
    size_t offset;
  } syms[] = {
    { "krun_set_log_level", offsetof(krun_api_t, set_log_level) },
    { "krun_create_ctx", offsetof(krun_api_t, create_ctx) },
    { "krun_free_ctx", offsetof(krun_api_t, free_ctx) },
    { "krun_set_vm_config", offsetof(krun_api_t, set_vm_config) },
    { "krun_set_root", offsetof(krun_api_t, set_root) },
    { "krun_set_workdir", offsetof(krun_api_t, set_workdir) },
    { "krun_set_exec", offsetof(krun_api_t, set_exec) },
    { "krun_set_rlimits", offsetof(krun_api_t, set_rlimits) },
    { "krun_start_enter", offsetof(krun_api_t, start_enter) },
  };
  size_t i;

  memset(api, 0, sizeof *api);
  /* dlopen searches LD_LIBRARY_PATH first: the test suite's stand-in is found that way. */
  api->handle = dlopen(KRUN_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (api->handle == NULL)
    return isolazi_error_set_plain(err, ENOENT, "use the libkrun backend: `" KRUN_LIBRARY "` is not installed (%s)",
                                   dlerror());
  for (i = 0; i < sizeof syms / sizeof syms[0]; i++)
    {
      void *p = dlsym(api->handle, syms[i].name);
      if (p == NULL)
        {
          dlclose(api->handle);
          api->handle = NULL;
          return isolazi_error_set_plain(err, ENOSYS, "use the libkrun backend: `" KRUN_LIBRARY "` has no `%s`",
                                         syms[i].name);
        }
      memcpy((char *)api + syms[i].offset, &p, sizeof p);
    }
  return 0;
}

int
vm_krun_check(isolazi_error_t *err)
{
  krun_api_t api;

  if (krun_load(&api, err) < 0)
    return -1;
  dlclose(api.handle);
  return 0;
}

/* A krun_* call's negative errno as an error that names the call. */
static int
krun_fail(isolazi_error_t *err, const char *call, int32_t r)
{
  return isolazi_error_set(err, (int)-r, "configure the VM: `%s` returned %d", call, (int)r);
}

/* ---- deciding: config.json → what the context gets ----------------------------------------- */

typedef struct krun_plan
{
  unsigned vcpus, ram_mib;
  char *root;     /* the host directory: the guest's root */
  char *workdir;  /* process.cwd */
  char *path;     /* process.args[0] */
  char **argv;    /* process.args[1..], NULL-terminated */
  char **envp;    /* process.env, NULL-terminated (never NULL: libkrun would copy ours) */
  char **rlimits; /* "RESOURCE=SOFT:HARD", RESOURCE a number, NULL-terminated */
  bool terminal;
  uint16_t rows, cols;
} krun_plan_t;

static void
krun_plan_release(krun_plan_t *p)
{
  free(p->root);
  free(p->workdir);
  free(p->path);
  cleanup_strvp(&p->argv);
  cleanup_strvp(&p->envp);
  cleanup_strvp(&p->rlimits);
  memset(p, 0, sizeof *p);
}

static char **
strv_copy(char *const *v, size_t n)
{
  char **r = xcalloc(n + 1, sizeof *r);
  size_t i;

  for (i = 0; i < n; i++)
    r[i] = xstrdup(v[i]);
  return r;
}

static int
krun_plan_from_config(const oci_config *c, const char *rootfs, krun_plan_t *ret, isolazi_error_t *err)
{
  const oci_process *p = c->process;
  vm_machine_t m;
  size_t i;

  memset(ret, 0, sizeof *ret);
  if (p->args_len == 0 || p->args[0] == NULL || p->args[0][0] == '\0')
    return isolazi_error_set(err, EINVAL, "config.json: process.args: required");
  /* libkrun runs the workload as root in the guest: it has no call for the process's user. */
  if (p->user.uid != 0 || p->user.gid != 0 || p->user.additional_gids_len > 0)
    return isolazi_error_set_plain(
        err, ENOTSUP,
        "config.json: process.user: the libkrun backend runs the process as root (uid 0, gid 0, "
        "no additional groups) and cannot change it; use --backend qemu");
  vm_machine_from_config(c, (unsigned)sysconf(_SC_NPROCESSORS_ONLN), &m);
  ret->vcpus = m.vcpus > 255 ? 255 : m.vcpus; /* krun_set_vm_config takes a uint8_t */
  ret->ram_mib = m.ram_mib;
  ret->root = xstrdup(rootfs);
  ret->workdir = xstrdup(p->cwd != NULL && p->cwd[0] ? p->cwd : "/");
  ret->path = xstrdup(p->args[0]);
  ret->argv = strv_copy(p->args + 1, p->args_len - 1);
  ret->envp = strv_copy(p->env, p->env_len);
  ret->rlimits = xcalloc(p->rlimits_len + 1, sizeof *ret->rlimits);
  for (i = 0; i < p->rlimits_len; i++)
    {
      int n = isolazi_rlimit_resource(p->rlimits[i].type);
      if (n < 0)
        {
          isolazi_error_set(err, EINVAL, "config.json: process.rlimits[%zu].type: unknown rlimit `%s`", i,
                            p->rlimits[i].type);
          krun_plan_release(ret);
          return -1;
        }
      ret->rlimits[i] = xasprintf("%d=%llu:%llu", n, (unsigned long long)p->rlimits[i].soft,
                                  (unsigned long long)p->rlimits[i].hard);
    }
  ret->terminal = p->terminal;
  if (p->console_size != NULL)
    {
      ret->rows = (uint16_t)p->console_size->height;
      ret->cols = (uint16_t)p->console_size->width;
    }
  isolazi_debug("libkrun: %u vCPU(s), %u MiB, root `%s`, workdir `%s`, exec `%s`", ret->vcpus, ret->ram_mib, ret->root,
                ret->workdir, ret->path);
  if (c->hostname != NULL && c->hostname[0])
    isolazi_debug("libkrun: hostname `%s` is not applied (libkrun has no call for it)", c->hostname);
  if (c->mounts_len > 0)
    isolazi_debug("libkrun: the %zu mounts of config.json are not applied (libkrun's init mounts its own)",
                  c->mounts_len);
  return 0;
}

/* Create a context and configure it from the plan; *ret_ctx: its id. */
static int
krun_configure(const krun_api_t *api, const krun_plan_t *p, uint32_t *ret_ctx, isolazi_error_t *err)
{
  int32_t r, ctx;

  /* The VMM's own messages go to our stderr: errors only, everything with --debug. */
  r = api->set_log_level(isolazi_log_debug_enabled() ? 4 : 1);
  if (r < 0)
    return krun_fail(err, "krun_set_log_level", r);
  ctx = api->create_ctx();
  if (ctx < 0)
    return krun_fail(err, "krun_create_ctx", ctx);
  if ((r = api->set_vm_config((uint32_t)ctx, (uint8_t)p->vcpus, p->ram_mib)) < 0)
    krun_fail(err, "krun_set_vm_config", r);
  else if ((r = api->set_root((uint32_t)ctx, p->root)) < 0)
    krun_fail(err, "krun_set_root", r);
  else if ((r = api->set_workdir((uint32_t)ctx, p->workdir)) < 0)
    krun_fail(err, "krun_set_workdir", r);
  else if ((r = api->set_rlimits((uint32_t)ctx, (const char *const *)p->rlimits)) < 0)
    krun_fail(err, "krun_set_rlimits", r);
  else if ((r = api->set_exec((uint32_t)ctx, p->path, (const char *const *)p->argv, (const char *const *)p->envp)) < 0)
    krun_fail(err, "krun_set_exec", r);
  if (r < 0)
    {
      (void)api->free_ctx((uint32_t)ctx);
      return -1;
    }
  *ret_ctx = (uint32_t)ctx;
  return 0;
}

/* ---- the container's process ---------------------------------------------------------------- */

typedef struct krun_child
{
  int dirfd;
  const char *id;
  const krun_plan_t *plan;
  const char *console_socket;
  int sync_fd;
} krun_child_t;

static void __attribute__((noreturn)) child_fail(const krun_child_t *k, isolazi_error_t *err)
{
  cleanup_free char *msg = xasprintf("1%s", err->msg != NULL ? err->msg : "unknown error");

  (void)unlinkat(k->dirfd, VM_START_SOCKET, 0);
  (void)isolazi_write_all(k->sync_fd, msg, strlen(msg));
  _exit(1);
}

static int
listen_start(int dirfd, isolazi_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  /* Through /proc/self/fd, as the QEMU monitor: a deep --root must not hit sun_path's limit. */
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/" VM_START_SOCKET, dirfd);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "create a socket");
  (void)unlinkat(dirfd, VM_START_SOCKET, 0);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 4) < 0)
    return isolazi_error_errno(err, "listen on `" VM_START_SOCKET "`");
  return steal_fd(&fd);
}

/* Wait for one START on the start socket; answer STARTED once "running" shows (the socket is
 * gone).  Other requests get an ERROR and the wait goes on. */
static void
wait_start(int dirfd, int lfd)
{
  for (;;)
    {
      cleanup_free uint8_t *p = NULL;
      cleanup_close int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      vm_frame_header_t h;

      if (fd < 0)
        continue;
      if (vm_frame_read(fd, &h, &p) < 0)
        continue;
      if (h.type == VM_MSG_START)
        {
          (void)unlinkat(dirfd, VM_START_SOCKET, 0);
          (void)vm_frame_write(fd, VM_MSG_STARTED, 0, 0, NULL, 0);
          return;
        }
      {
        size_t len;
        cleanup_free uint8_t *e = vm_error_encode(EINVAL, 1, "the libkrun backend takes only `start` here", &len);
        if (e != NULL)
          (void)vm_frame_write(fd, VM_MSG_ERROR, 0, 0, e, len);
      }
    }
}

static void __attribute__((noreturn)) krun_main(const krun_child_t *k)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigset_t all;
  krun_api_t api;
  uint32_t ctx = 0;
  int lfd, r;

  /* A start client that went away is an EPIPE here, not our death. */
  signal(SIGPIPE, SIG_IGN);
  /* Out of the caller's session: its terminal's signals are not the workload's (run forwards
   * them). */
  (void)setsid();
  if (k->plan->terminal && k->console_socket != NULL)
    {
      int slave = vm_console_open(k->console_socket, k->plan->rows, k->plan->cols, true, &err);
      if (slave < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
        {
          if (slave >= 0)
            isolazi_error_errno(&err, "set up the terminal");
          child_fail(k, &err);
        }
      if (slave > 2)
        close(slave);
    }
  if (krun_load(&api, &err) < 0 || krun_configure(&api, k->plan, &ctx, &err) < 0)
    child_fail(k, &err);
  lfd = listen_start(k->dirfd, &err);
  if (lfd < 0)
    {
      (void)api.free_ctx(ctx);
      child_fail(k, &err);
    }
  (void)isolazi_write_all(k->sync_fd, "0", 1);
  close(k->sync_fd);

  wait_start(k->dirfd, lfd);
  close(lfd);
  close(k->dirfd);
  /* The workload gets a clean slate: default dispositions, nothing blocked. */
  (void)sigaction(SIGPIPE, &dfl, NULL);
  sigfillset(&all);
  sigprocmask(SIG_UNBLOCK, &all, NULL);
  r = api.start_enter(ctx);
  /* Only an error returns; `start` has answered already, so the log and the status say it. */
  isolazi_error_set(&err, (int)-r, "start the VM: `krun_start_enter` returned %d", (int)r);
  isolazi_log(ISOLAZI_LOG_ERROR, "vm %s: %s", k->id, err.msg);
  _exit(255);
}

/* ---- create ----------------------------------------------------------------------------------- */

int
vm_krun_create(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, pid_t *ret_pid, isolazi_error_t *err)
{
  __attribute__((cleanup(isolazi_bundle_release))) isolazi_bundle_t b = { 0 };
  cleanup_free char *dir = NULL;
  cleanup_close int rootfd = -1, dirfd = -1;
  krun_plan_t plan = { 0 };
  int sp[2] = { -1, -1 }, r = -1;
  pid_t pid = -1;

  /* Everything that can be checked before the state directory exists is: a failure leaves
   * nothing. */
  if (isolazi_bundle_load(o->bundle, &b, err) < 0)
    return -1;
  if (b.cfg->process->terminal && o->console_socket == NULL && o->detach)
    return isolazi_error_set(err, EINVAL, "cannot allocate a tty without --console-socket when detached");
  if (vm_krun_check(err) < 0)
    return -1;
  if (krun_plan_from_config(b.cfg, b.rootfs, &plan, err) < 0)
    return -1;

  rootfd = isolazi_state_root_open(g->core.root, true, err);
  if (rootfd < 0)
    goto out;
  dirfd = isolazi_state_dir_create(rootfd, o->id, err);
  if (dirfd < 0)
    goto out;
  if (isolazi_state_lock(dirfd, err) < 0)
    goto fail;
  dir = xasprintf("%s/%s", g->core.root, o->id);
  if (isolazi_write_file_atomic(dirfd, ISOLAZI_CONFIG_COPY, b.config_text, b.config_len, 0600, false, err) < 0
      || isolazi_write_file_atomic(dirfd, VM_HANDLER_MARK, KRUN_MARK, strlen(KRUN_MARK), 0644, false, err) < 0)
    goto fail;
  if (pipe2(sp, O_CLOEXEC) < 0)
    {
      isolazi_error_errno(err, "create a pipe");
      goto fail;
    }
  pid = fork();
  if (pid < 0)
    {
      isolazi_error_errno(err, "fork the container's process");
      goto fail;
    }
  if (pid == 0)
    {
      krun_child_t k = { .id = o->id, .plan = &plan, .console_socket = o->console_socket, .sync_fd = sp[1] };
      close(sp[0]);
      /* Our copy of the locked fd would hold the lock for the VM's lifetime. */
      close(dirfd);
      close(rootfd);
      k.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (k.dirfd < 0)
        _exit(1);
      krun_main(&k);
    }
  close(sp[1]);
  sp[1] = -1;
  if (vm_child_ready(sp[0], &pid, "create the VM: its process exited", err) < 0
      || vm_state_publish(dirfd, o, pid, &b, err) < 0)
    goto fail;
  *ret_pid = pid;
  r = 0;
  goto out;

fail:
  r = -1;
  if (pid > 0)
    {
      (void)kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (dirfd >= 0)
    (void)isolazi_state_dir_remove(rootfd, o->id, NULL);
out:
  if (sp[0] >= 0)
    close(sp[0]);
  if (sp[1] >= 0)
    close(sp[1]);
  krun_plan_release(&plan);
  return r;
}

/* ---- the other verbs ------------------------------------------------------------------------ */

bool
vm_krun_is(int dirfd)
{
  cleanup_free char *text = NULL;
  size_t len;

  return isolazi_read_file_at(dirfd, VM_HANDLER_MARK, &text, &len, NULL) == 0 && strcmp(text, KRUN_MARK) == 0;
}

int
vm_krun_refuse(int dirfd, const char *what, isolazi_error_t *err)
{
  if (!vm_krun_is(dirfd))
    return 0;
  return isolazi_error_set_plain(
      err, ENOTSUP,
      "%s: not possible with the libkrun backend: libkrun runs only the container's process and "
      "has no agent in the guest (no exec, pause, resume, guest process list or stats); use "
      "--backend qemu",
      what);
}
