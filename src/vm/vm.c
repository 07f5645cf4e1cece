/* SPDX-License-Identifier: Apache-2.0 */
/* The VM lifecycle: one function per verb, on the core's state store (state.h). */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "container_internal.h"
#include "control.h"
#include "log.h"
#include "state.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void
config_freep(oci_config **c)
{
  oci_config_free(*c);
}
#define cleanup_config __attribute__((cleanup(config_freep)))

static void
spec_releasep(vm_spec_t *s)
{
  vm_spec_release(s);
}
#define cleanup_spec __attribute__((cleanup(spec_releasep)))

int
isolazi_vm_backend_parse(const char *s, isolazi_vm_backend_t *ret, isolazi_error_t *err)
{
  if (strcmp(s, "qemu") == 0)
    *ret = ISOLAZI_VM_BACKEND_QEMU;
  else if (strcmp(s, "libkrun") == 0)
    *ret = ISOLAZI_VM_BACKEND_LIBKRUN;
  else
    return isolazi_error_set(err, EINVAL, "invalid backend `%s`: expected `qemu` or `libkrun`", s);
  return 0;
}

int
vm_child_ready(int fd, pid_t *pid, const char *what, isolazi_error_t *err)
{
  char buf[4096];
  size_t len = 0;
  ssize_t n;
  int ws = 0;

  while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      len += (size_t)n;
  buf[len] = '\0';
  if (len > 0 && buf[0] == '0')
    return 0;
  while (waitpid(*pid, &ws, 0) < 0 && errno == EINTR)
    ;
  *pid = -1;
  if (len > 1)
    return isolazi_error_set(err, 0, "%s", buf + 1);
  return isolazi_error_set(err, 0, "%s (status %d)", what, vm_status_to_exit(ws));
}

int
vm_state_publish(int dirfd, const isolazi_create_options_t *o, pid_t pid, const isolazi_bundle_t *b,
                 isolazi_error_t *err)
{
  struct passwd *pw = getpwuid(geteuid());
  isolazi_state_t st;
  int r;

  memset(&st, 0, sizeof st);
  st.id = (char *)o->id;
  st.pid = pid;
  st.pid_start = isolazi_process_start_time(pid);
  st.bundle = b->dir;
  st.rootfs = b->rootfs;
  st.created = isolazi_now_rfc3339();
  st.owner = pw != NULL ? pw->pw_name : (char *)"";
  st.annotations = b->cfg->annotations;
  r = isolazi_state_save(dirfd, &st, err);
  free(st.created);
  if (r < 0)
    return -1;
  if (o->pid_file != NULL && container_write_pid_file(o->pid_file, pid, err) < 0)
    return -1;
  return 0;
}

static unsigned
boot_timeout_s(const isolazi_vm_global_t *g)
{
  const char *env = getenv("ISOLAZI_VM_BOOT_TIMEOUT");

  if (g->boot_timeout > 0)
    return g->boot_timeout;
  if (env != NULL && atoi(env) > 0)
    return (unsigned)atoi(env);
  return 60;
}

/* The core's status, and "paused" while the monitor holds the guest stopped. */
static const char *
vm_status(const opened_t *c)
{
  struct stat st;

  if (strcmp(c->status, "running") == 0 && fstatat(c->dirfd, VM_PAUSED_MARK, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return "paused";
  return c->status;
}

/* create, up to a monitor that reported the guest ready.  *ret_pid: the monitor. */
static int
vm_create(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, pid_t *ret_pid, isolazi_error_t *err)
{
  cleanup_close int rootfd = -1, dirfd = -1;
  cleanup_free char *dir = NULL, *image = NULL, *initrd = NULL, *console = NULL;
  cleanup_free uint8_t *payload = NULL;
  cleanup_strv char **argv = NULL;
  cleanup_spec vm_spec_t spec = { 0 };
  vm_kernel_t kernel = { 0 };
  vm_qemu_config_t q = { 0 };
  vm_machine_t machine;
  isolazi_bundle_t b;
  const char *accel, *fstype = NULL;
  int sp[2] = { -1, -1 }, r = -1;
  size_t payload_len = 0;
  pid_t pid = -1;

  if (isolazi_container_id_validate(o->id, err) < 0)
    return -1;
  if (g->backend == ISOLAZI_VM_BACKEND_LIBKRUN)
    return vm_krun_create(g, o, ret_pid, err);
  if (isolazi_bundle_load(o->bundle, &b, err) < 0)
    {
      isolazi_bundle_release(&b);
      return -1;
    }
  if (b.cfg->process->terminal && o->console_socket == NULL && o->detach)
    {
      isolazi_bundle_release(&b);
      return isolazi_error_set(err, EINVAL, "cannot allocate a tty without --console-socket when detached");
    }
  if (vm_spec_from_config(b.cfg, b.dir, &spec, err) < 0 || vm_kernel_find(g->kernel, &kernel, err) < 0)
    {
      isolazi_bundle_release(&b);
      return -1;
    }
  vm_machine_from_config(b.cfg, (unsigned)sysconf(_SC_NPROCESSORS_ONLN), &machine);

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
      || isolazi_write_file_atomic(dirfd, VM_HANDLER_MARK, "qemu\n", 5, 0644, false, err) < 0)
    goto fail;
  if (vm_initramfs_get(&kernel, &initrd, err) < 0)
    goto fail;
  accel = vm_qemu_pick_accel(g->core.root, g->accel, &kernel, err);
  if (accel == NULL)
    goto fail;
  image = xasprintf("%s/" VM_ROOTFS_IMAGE, dir);
  if (vm_rootfs_image_make(b.rootfs, image, &fstype, err) < 0)
    goto fail;
  spec.rootfs_type = xstrdup(fstype);
  payload = vm_spec_encode(&spec, &payload_len);
  console = xasprintf("%s/" VM_CONSOLE_LOG, dir);
  q = (vm_qemu_config_t){ .kernel = kernel.vmlinuz,
                          .initrd = initrd,
                          .rootfs_image = image,
                          .console_log = console,
                          .accel = accel,
                          .tsc_khz = strcmp(accel, "tcg") == 0 ? vm_host_tsc_khz() : 0,
                          .ram_mib = machine.ram_mib,
                          .vcpus = machine.vcpus,
                          .serial_fd = 3,
                          .qmp_fd = 4,
                          .share_fd = spec.shares_len > 0 ? VM_QEMU_SHARE_FD : 0 };
  argv = vm_qemu_argv(&q);
  if (isolazi_log_debug_enabled())
    {
      size_t i;
      cleanup_free char *line = xstrdup("");
      for (i = 0; argv[i] != NULL; i++)
        {
          char *l = xasprintf("%s%s%s", line, i ? " " : "", argv[i]);
          free(line);
          line = l;
        }
      isolazi_debug("vm %s: accelerator %s%s, %u MiB, %u vCPU(s): %s", o->id, accel,
                    strcmp(accel, "tcg") == 0 ? " (software emulation: KVM cannot boot a guest here)" : "",
                    machine.ram_mib, machine.vcpus, line);
    }

  if (pipe2(sp, O_CLOEXEC) < 0)
    {
      isolazi_error_errno(err, "create a pipe");
      goto fail;
    }
  pid = fork();
  if (pid < 0)
    {
      isolazi_error_errno(err, "fork the VM's monitor");
      goto fail;
    }
  if (pid == 0)
    {
      vm_monitor_config_t mc = { 0 };
      int mdir;
      close(sp[0]);
      /* Our copy of the locked fd would hold the lock for the VM's lifetime. */
      close(dirfd);
      close(rootfd);
      mdir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (mdir < 0)
        _exit(1);
      mc = (vm_monitor_config_t){ .dirfd = mdir,
                                  .dir = dir,
                                  .id = o->id,
                                  .create_payload = payload,
                                  .create_payload_len = payload_len,
                                  .qemu_argv = argv,
                                  .terminal = b.cfg->process->terminal,
                                  .rows = spec.rows,
                                  .cols = spec.cols,
                                  .console_socket = o->console_socket,
                                  .boot_timeout_ms = boot_timeout_s(g) * 1000,
                                  .sync_fd = sp[1],
                                  .shares = spec.shares,
                                  .shares_len = spec.shares_len };
      vm_monitor_main(&mc);
    }
  close(sp[1]);
  sp[1] = -1;
  if (vm_child_ready(sp[0], &pid, "start the VM: its monitor exited", err) < 0
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
  vm_kernel_release(&kernel);
  isolazi_bundle_release(&b);
  return r;
}

int
isolazi_vm_create(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, isolazi_error_t *err)
{
  pid_t pid;

  return vm_create(g, o, &pid, err);
}

int
isolazi_vm_start(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  opened_t c;
  int r = -1;

  if (container_open(&g->core, id, true, &c, err) < 0)
    goto out;
  if (strcmp(c.status, "created") != 0)
    {
      isolazi_error_set(err, 0,
                        strcmp(c.status, "stopped") == 0 ? "cannot start a container that has stopped"
                                                         : "cannot start an already running container");
      goto out;
    }
  fd = vm_client_connect(c.dirfd, VM_START_SOCKET, err);
  if (fd < 0)
    goto out;
  r = vm_client_request(fd, VM_MSG_START, 0, NULL, 0, err);
out:
  container_opened_release(&c);
  return r;
}

static pid_t
qemu_pid(int dirfd)
{
  cleanup_free char *text = NULL, *comm = NULL, *path = NULL;
  size_t len;
  pid_t pid;

  if (isolazi_read_file_at(dirfd, VM_QEMU_PID, &text, &len, NULL) < 0)
    return -1;
  pid = (pid_t)atoi(text);
  if (pid <= 0)
    return -1;
  /* Only if it still is a QEMU: the pid may have been reused. */
  path = xasprintf("/proc/%d/comm", (int)pid);
  if (isolazi_read_file(path, &comm, &len, NULL) < 0 || !isolazi_has_prefix(comm, "qemu"))
    return -1;
  return pid;
}

/* SIGKILL the monitor and QEMU, and wait for the monitor to be gone. */
static void
stop_vm(opened_t *c)
{
  int pidfd = container_pidfd_open(c->state->pid, c->state->pid_start);
  pid_t q = qemu_pid(c->dirfd);

  if (pidfd >= 0)
    {
      (void)container_pidfd_signal(pidfd, SIGKILL);
      (void)container_pidfd_wait_exit(pidfd, 5000);
      close(pidfd);
    }
  if (q > 0)
    (void)kill(q, SIGKILL);
}

int
isolazi_vm_kill(const isolazi_vm_global_t *g, const char *id, int sig, bool all, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  opened_t c;
  uint8_t b[4];
  int r = -1;

  if (container_open(&g->core, id, false, &c, err) < 0)
    goto out;
  if (strcmp(c.status, "stopped") == 0)
    {
      if (all)
        r = 0;
      else
        isolazi_error_set(err, 0, "container not running");
      goto out;
    }
  if (sig == SIGKILL || vm_krun_is(c.dirfd))
    {
      /* The whole VM goes: the workload's status is "killed by SIGKILL" either way.  libkrun's
       * VM is the container's process itself: every signal goes to it. */
      int pidfd = container_pidfd_open(c.state->pid, c.state->pid_start);
      if (pidfd < 0)
        {
          isolazi_error_set(err, 0, "container not running");
          goto out;
        }
      r = container_pidfd_signal(pidfd, sig);
      close(pidfd);
      if (r < 0)
        isolazi_error_errno(err, "kill the VM's monitor");
      goto out;
    }
  fd = vm_client_connect(c.dirfd, VM_CTL_SOCKET, err);
  if (fd < 0)
    goto out;
  vm_put_u32(b, (uint32_t)sig);
  r = vm_frame_write(fd, VM_MSG_SIGNAL, all ? VM_FLAG_ALL : 0, 0, b, 4);
  if (r < 0)
    isolazi_error_set(err, -r, "send the signal to the VM");
out:
  container_opened_release(&c);
  return r;
}

int
isolazi_vm_delete(const isolazi_vm_global_t *g, const char *id, bool force, isolazi_error_t *err)
{
  opened_t c;
  int r;

  if (container_open(&g->core, id, true, &c, err) < 0)
    {
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
    r = isolazi_error_set(err, 0, "cannot delete container `%s` that is not stopped: %s", id, vm_status(&c));
  else
    {
      stop_vm(&c);
      r = isolazi_state_dir_remove(c.rootfd, id, err);
    }
  container_opened_release(&c);
  return r;
}

int
isolazi_vm_ps(const isolazi_vm_global_t *g, const char *id, pid_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  opened_t c;
  pid_t q;

  *ret = NULL;
  *ret_len = 0;
  if (container_open(&g->core, id, false, &c, err) < 0)
    {
      container_opened_release(&c);
      return -1;
    }
  if (strcmp(c.status, "stopped") != 0)
    {
      *ret = xcalloc(2, sizeof **ret);
      (*ret)[(*ret_len)++] = c.state->pid;
      if ((q = qemu_pid(c.dirfd)) > 0)
        (*ret)[(*ret_len)++] = q;
    }
  container_opened_release(&c);
  return 0;
}

/* ---- run --------------------------------------------------------------------------------- */

static struct termios saved_tio;
static bool tio_saved;

static void
raw_mode(int fd)
{
  struct termios t;

  if (tcgetattr(fd, &saved_tio) < 0)
    return;
  tio_saved = true;
  t = saved_tio;
  cfmakeraw(&t);
  (void)tcsetattr(fd, TCSANOW, &t);
}

static void
restore_mode(int fd)
{
  if (tio_saved)
    (void)tcsetattr(fd, TCSANOW, &saved_tio);
  tio_saved = false;
}

int
isolazi_vm_run(const isolazi_vm_global_t *g, const isolazi_create_options_t *o, int *ret_status, isolazi_error_t *err)
{
  pid_t pid;
  int pidfd, r;
  bool interactive = false;

  *ret_status = 0;
  if (vm_create(g, o, &pid, err) < 0)
    return -1;
  if (isolazi_vm_start(g, o->id, err) < 0)
    {
      (void)isolazi_vm_delete(g, o->id, true, NULL);
      return -1;
    }
  if (o->detach)
    return 0;
  {
    /* A terminal with no console socket: our own terminal is the container's. */
    isolazi_error_t e = ISOLAZI_ERROR_INIT;
    isolazi_bundle_t b;
    memset(&b, 0, sizeof b);
    if (o->console_socket == NULL && isatty(0) && isolazi_bundle_load(o->bundle, &b, &e) == 0
        && b.cfg->process->terminal)
      interactive = true;
    isolazi_bundle_release(&b);
    isolazi_error_release(&e);
  }
  if (interactive)
    raw_mode(0);
  pidfd = container_pidfd_open(pid, isolazi_process_start_time(pid));
  r = container_wait_forwarding(pid, pidfd, ret_status, err);
  if (pidfd >= 0)
    close(pidfd);
  if (interactive)
    restore_mode(0);
  (void)isolazi_vm_delete(g, o->id, true, NULL);
  return r;
}

/* ---- exec -------------------------------------------------------------------------------- */

static int
exec_process(const isolazi_vm_exec_options_t *o, int dirfd, oci_process **ret, isolazi_error_t *err)
{
  cleanup_config oci_config *cfg = NULL;
  oci_process *p;
  char *perr = NULL;
  size_t i;

  if (o->process_file != NULL)
    {
      cleanup_free char *text = NULL;
      size_t len;
      if (isolazi_read_file(o->process_file, &text, &len, err) < 0)
        return -1;
      p = oci_process_parse(o->process_file, text, len, &perr);
      if (p == NULL)
        return isolazi_error_take(err, EINVAL, perr);
      *ret = p;
      return 0;
    }
  if (o->args_len == 0)
    return isolazi_error_set(err, EINVAL, "exec: a command is required (or --process)");
  /* As runc: the container's process is the template, the flags override it. */
  cfg = container_load_config_copy(dirfd, err);
  if (cfg == NULL)
    return -1;
  p = steal_pointer(&cfg->process);
  for (i = 0; i < p->args_len; i++)
    free(p->args[i]);
  free(p->args);
  p->args = xcalloc(o->args_len + 1, sizeof *p->args);
  for (i = 0; i < o->args_len; i++)
    p->args[i] = xstrdup(o->args[i]);
  p->args_len = o->args_len;
  for (i = 0; i < o->env_len; i++)
    {
      size_t j, klen = strcspn(o->env[i], "=");
      for (j = 0; j < p->env_len; j++)
        if (strncmp(p->env[j], o->env[i], klen) == 0 && p->env[j][klen] == '=')
          break;
      if (j == p->env_len)
        {
          p->env = xrealloc(p->env, (p->env_len + 2) * sizeof *p->env);
          p->env_len++;
          p->env[p->env_len] = NULL;
        }
      else
        free(p->env[j]);
      p->env[j] = xstrdup(o->env[i]);
    }
  if (o->cwd != NULL)
    {
      free(p->cwd);
      p->cwd = xstrdup(o->cwd);
    }
  if (o->user != NULL)
    {
      char *end;
      unsigned long uid = strtoul(o->user, &end, 10), gid = 0;
      if (end == o->user || (*end != '\0' && *end != ':'))
        {
          oci_process_free(p);
          return isolazi_error_set(err, EINVAL, "invalid value `%s` for `--user`: expected uid[:gid]", o->user);
        }
      if (*end == ':')
        gid = strtoul(end + 1, NULL, 10);
      p->user.uid = (uint32_t)uid;
      p->user.gid = (uint32_t)gid;
    }
  for (i = 0; i < o->additional_gids_len; i++)
    {
      p->user.additional_gids = xrealloc(p->user.additional_gids, (p->user.additional_gids_len + 1) * sizeof(uint32_t));
      p->user.additional_gids[p->user.additional_gids_len++] = (uint32_t)strtoul(o->additional_gids[i], NULL, 10);
    }
  p->terminal = o->tty;
  *ret = p;
  return 0;
}

static void
put_winsize(uint8_t b[4], const struct winsize *ws)
{
  b[0] = ws->ws_row & 0xff;
  b[1] = (uint8_t)(ws->ws_row >> 8);
  b[2] = ws->ws_col & 0xff;
  b[3] = (uint8_t)(ws->ws_col >> 8);
}

static void
sync_report(int *sync_fd, const char *msg)
{
  if (*sync_fd < 0)
    return;
  if (msg == NULL)
    (void)isolazi_write_all(*sync_fd, "0", 1);
  else
    {
      cleanup_free char *m = xasprintf("1%s", msg);
      (void)isolazi_write_all(*sync_fd, m, strlen(m));
    }
  close(*sync_fd);
  *sync_fd = -1;
}

/* The host end of an exec'd process: its terminal first (the console socket's pty, or ours),
 * so that the process is born with the window size; then EXEC; then relay until its EXIT.
 * sync_fd (or -1) hears "0" once it started or "1<message>".  The connection to the monitor
 * is written through a queue and never blocks, for the reason monitor.c gives. */
static int
exec_relay(int dirfd, vm_spec_t *spec, const char *console_socket, int sync_fd, int *ret_status, isolazi_error_t *err)
{
  vm_frame_reader_t r = { NULL, 0, 0 };
  vm_stdio_t io = { .in = 0, .out = 1, .err = 2, .terminal = spec->terminal };
  vm_outq_t q = { NULL, 0, 0, 0 };
  cleanup_close int slave = -1, sfd = -1, conn = -1;
  cleanup_free uint8_t *payload = NULL;
  sigset_t mask, old;
  bool interactive = false;
  size_t len = 0;
  int rc = -1, i, fl;

  /* Signals are ours to forward from the start (runc's exec forwards them all). */
  sigemptyset(&mask);
  for (i = 1; i < SIGRTMIN; i++)
    if (i != SIGKILL && i != SIGSTOP && i != SIGPIPE && i != SIGSEGV && i != SIGBUS && i != SIGILL && i != SIGFPE
        && i != SIGCHLD)
      sigaddset(&mask, i);
  sigprocmask(SIG_BLOCK, &mask, &old);
  signal(SIGPIPE, SIG_IGN);
  if (spec->terminal && console_socket != NULL)
    {
      /* Its controlling terminal when we lead a session: then resizes reach us as SIGWINCH. */
      bool ctty = setsid() >= 0;
      slave = vm_console_open(console_socket, 0, 0, ctty, err);
      if (slave < 0)
        {
          sync_report(&sync_fd, err->msg);
          sigprocmask(SIG_SETMASK, &old, NULL);
          return -1;
        }
      io.in = io.out = io.err = slave;
    }
  else if (spec->terminal && isatty(0))
    interactive = true;
  if (spec->terminal)
    {
      struct winsize ws;
      if (ioctl(io.out, TIOCGWINSZ, &ws) == 0)
        {
          spec->rows = ws.ws_row;
          spec->cols = ws.ws_col;
        }
    }
  payload = vm_spec_encode(spec, &len);
  conn = vm_client_connect(dirfd, VM_CTL_SOCKET, err);
  if (conn < 0 || vm_client_request(conn, VM_MSG_EXEC, 0, payload, len, err) < 0)
    {
      sync_report(&sync_fd, err->msg);
      sigprocmask(SIG_SETMASK, &old, NULL);
      return -1;
    }
  fl = fcntl(conn, F_GETFL);
  if (fl >= 0)
    (void)fcntl(conn, F_SETFL, fl | O_NONBLOCK);
  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  sync_report(&sync_fd, NULL);
  if (interactive)
    raw_mode(0);
  for (;;)
    {
      bool feed = !io.in_done && vm_outq_pending(&q) < VM_OUTQ_HIGH;
      struct pollfd p[3] = { { .fd = conn, .events = POLLIN | (vm_outq_pending(&q) > 0 ? POLLOUT : 0) },
                             { .fd = sfd, .events = POLLIN },
                             { .fd = feed ? io.in : -1, .events = POLLIN } };
      if (poll(p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          isolazi_error_errno(err, "poll");
          break;
        }
      if ((p[0].revents & (POLLOUT | POLLERR | POLLHUP)) && vm_outq_pending(&q) > 0 && vm_outq_flush(&q, conn) < 0)
        vm_outq_release(&q); /* the monitor is gone: the read side says so */
      if (p[1].revents)
        {
          struct signalfd_siginfo si;
          while (read(sfd, &si, sizeof si) == sizeof si)
            {
              uint8_t b[4];
              struct winsize ws;
              if (si.ssi_signo == SIGWINCH)
                {
                  if (spec->terminal && ioctl(io.out, TIOCGWINSZ, &ws) == 0)
                    {
                      put_winsize(b, &ws);
                      (void)vm_outq_frame(&q, VM_MSG_WINSIZE, 0, 0, b, 4);
                    }
                  continue;
                }
              vm_put_u32(b, si.ssi_signo);
              (void)vm_outq_frame(&q, VM_MSG_SIGNAL, 0, 0, b, 4);
            }
        }
      if (p[2].revents)
        {
          uint8_t buf[16384];
          ssize_t n = read(io.in, buf, sizeof buf);
          if (n > 0)
            (void)vm_outq_frame(&q, VM_MSG_STDIN, 0, 0, buf, (size_t)n);
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            {
              io.in_done = true;
              (void)vm_outq_frame(&q, VM_MSG_STDIN, 0, 0, NULL, 0);
            }
        }
      if (vm_outq_pending(&q) > 0 && vm_outq_flush(&q, conn) < 0)
        vm_outq_release(&q);
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          uint8_t buf[65536], *pl;
          vm_frame_header_t h;
          ssize_t n = read(conn, buf, sizeof buf);
          int k;
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n <= 0)
            {
              isolazi_error_set(err, 0, "exec: the VM stopped before the process exited");
              break;
            }
          if (vm_frame_reader_feed(&r, buf, (size_t)n) == 0)
            while ((k = vm_frame_reader_next(&r, &h, &pl)) > 0)
              {
                uint32_t st;
                if (h.type == VM_MSG_STDOUT || h.type == VM_MSG_STDERR)
                  (void)vm_stdio_write(&io, h.type, pl, h.len);
                else if (h.type == VM_MSG_EXIT && vm_payload_u32(pl, h.len, &st) == 0)
                  {
                    *ret_status = (int)st;
                    rc = 0;
                  }
                free(pl);
              }
          if (rc == 0)
            break;
        }
    }
  if (interactive)
    restore_mode(0);
  vm_frame_reader_release(&r);
  vm_outq_release(&q);
  vm_console_detach(slave);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return rc;
}

int
isolazi_vm_exec(const isolazi_vm_global_t *g, const isolazi_vm_exec_options_t *o, int *ret_status, isolazi_error_t *err)
{
  cleanup_spec vm_spec_t spec = { 0 };
  oci_process *p = NULL;
  opened_t c;
  int r = -1, sp[2] = { -1, -1 }, wst = 0;
  const char *status;
  pid_t pid;

  *ret_status = 0;
  if (container_open(&g->core, o->id, false, &c, err) < 0 || vm_krun_refuse(c.dirfd, "exec", err) < 0)
    goto out;
  status = vm_status(&c);
  if (strcmp(status, "running") != 0)
    {
      isolazi_error_set(err, 0, "cannot exec in a %s container", status);
      goto out;
    }
  if (exec_process(o, c.dirfd, &p, err) < 0)
    goto out;
  if (p->terminal && o->detach && o->console_socket == NULL)
    {
      isolazi_error_set(err, EINVAL, "cannot allocate a tty without --console-socket when detached");
      goto out;
    }
  if (vm_spec_set_process(&spec, p, err) < 0)
    goto out;
  if (!o->detach)
    {
      r = exec_relay(c.dirfd, &spec, o->console_socket, -1, &wst, err);
      if (r == 0)
        *ret_status = vm_status_to_exit(wst);
      goto out;
    }
  /* Detached: a relay process stands for the guest's process (its pid goes in the pid file and
   * it exits with the process's status), as conmon and the shims expect. */
  if (pipe2(sp, O_CLOEXEC) < 0)
    {
      isolazi_error_errno(err, "create a pipe");
      goto out;
    }
  pid = fork();
  if (pid < 0)
    {
      isolazi_error_errno(err, "fork");
      goto out;
    }
  if (pid == 0)
    {
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      close(sp[0]);
      if (o->console_socket == NULL)
        (void)setsid();
      if (exec_relay(c.dirfd, &spec, o->console_socket, sp[1], &wst, &e) < 0)
        {
          if (e.msg != NULL)
            isolazi_log(ISOLAZI_LOG_ERROR, "%s", e.msg);
          _exit(255);
        }
      if (WIFSIGNALED(wst))
        {
          sigset_t all;
          signal(WTERMSIG(wst), SIG_DFL);
          sigfillset(&all);
          sigprocmask(SIG_UNBLOCK, &all, NULL);
          raise(WTERMSIG(wst));
        }
      _exit(vm_status_to_exit(wst));
    }
  close(sp[1]);
  sp[1] = -1;
  {
    char buf[4096];
    ssize_t n;
    size_t got = 0;
    while ((n = read(sp[0], buf + got, sizeof buf - 1 - got)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0)
        got += (size_t)n;
    buf[got] = '\0';
    if (got == 0 || buf[0] != '0')
      {
        isolazi_error_set(err, 0, "%s", got > 1 ? buf + 1 : "exec: the relay process failed");
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        goto out;
      }
  }
  if (o->pid_file != NULL && container_write_pid_file(o->pid_file, pid, err) < 0)
    goto out;
  r = 0;
out:
  if (sp[0] >= 0)
    close(sp[0]);
  if (sp[1] >= 0)
    close(sp[1]);
  if (p != NULL)
    oci_process_free(p);
  container_opened_release(&c);
  return r;
}

/* ---- queries and control through the monitor ---------------------------------------------- */

/* Send `type` on a new connection to the monitor's ctl.sock and wait for the same type back
 * (or ERROR).  *ret_payload: malloc'd, NUL-terminated (may be NULL when empty). */
static int
ctl_query(int dirfd, unsigned type, uint8_t **ret_payload, size_t *ret_len, isolazi_error_t *err)
{
  cleanup_close int fd = vm_client_connect(dirfd, VM_CTL_SOCKET, err);
  int r;

  *ret_payload = NULL;
  *ret_len = 0;
  if (vm_krun_refuse(dirfd, type == VM_MSG_PS ? "list the guest's processes" : "read the guest's stats", err) < 0)
    return -1;
  if (fd < 0)
    return -1;
  r = vm_frame_write(fd, type, 0, 0, NULL, 0);
  if (r < 0)
    return isolazi_error_set(err, -r, "send %s to the VM's monitor", vm_msg_type_name(type));
  for (;;)
    {
      vm_frame_header_t h;
      uint8_t *p = NULL;
      r = vm_frame_read(fd, &h, &p);
      if (r < 0)
        return isolazi_error_set(err, r == -ECONNRESET ? 0 : -r, "wait for the VM: %s",
                                 r == -ECONNRESET ? "the monitor went away" : "protocol error");
      if (h.type == type)
        {
          *ret_payload = p;
          *ret_len = h.len;
          return 0;
        }
      if (h.type == VM_MSG_ERROR)
        {
          char *msg = NULL;
          int e = 0, status = 0;
          r = vm_error_decode(p, h.len, &e, &status, &msg);
          free(p);
          if (r < 0)
            return isolazi_error_set(err, EPROTO, "the VM reported a malformed error");
          return isolazi_error_take(err, e, msg);
        }
      free(p);
    }
}

/* Open a VM container that must be running (or paused, with `paused_ok`). */
static int
open_live(const isolazi_vm_global_t *g, const char *id, bool lock, bool paused_ok, opened_t *c, isolazi_error_t *err)
{
  const char *status;

  if (container_open(&g->core, id, lock, c, err) < 0)
    return -1;
  status = vm_status(c);
  if (strcmp(status, "running") == 0 || (paused_ok && strcmp(status, "paused") == 0))
    return 0;
  if (strcmp(status, "stopped") == 0)
    return isolazi_error_set(err, 0, "container not running");
  return isolazi_error_set(err, 0, "container `%s` is %s, not running", id, status);
}

int
isolazi_vm_guest_ps(const isolazi_vm_global_t *g, const char *id, char **ret_text, isolazi_error_t *err)
{
  uint8_t *p = NULL;
  size_t len;
  opened_t c;
  int r = -1;

  *ret_text = NULL;
  if (open_live(g, id, false, false, &c, err) == 0 && ctl_query(c.dirfd, VM_MSG_PS, &p, &len, err) == 0)
    {
      *ret_text = p != NULL ? (char *)p : xstrdup("");
      r = 0;
    }
  container_opened_release(&c);
  if (r < 0)
    isolazi_error_wrap(err, "list the processes of `%s`", id);
  return r;
}

static int
pause_resume(const isolazi_vm_global_t *g, const char *id, bool pause, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  const char *status;
  opened_t c;
  int r = -1;

  if (container_open(&g->core, id, true, &c, err) < 0 || vm_krun_refuse(c.dirfd, pause ? "pause" : "resume", err) < 0)
    goto out;
  status = vm_status(&c);
  if (strcmp(status, pause ? "running" : "paused") != 0)
    {
      if (strcmp(status, "stopped") == 0)
        isolazi_error_set(err, 0, "container not running");
      else
        isolazi_error_set(err, 0, "container `%s` is %s, not %s", id, status, pause ? "running" : "paused");
      goto out;
    }
  fd = vm_client_connect(c.dirfd, VM_CTL_SOCKET, err);
  if (fd < 0)
    goto out;
  r = vm_client_request(fd, pause ? VM_MSG_PAUSE : VM_MSG_RESUME, 0, NULL, 0, err);
out:
  container_opened_release(&c);
  return r;
}

int
isolazi_vm_pause(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err)
{
  return pause_resume(g, id, true, err);
}

int
isolazi_vm_resume(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err)
{
  return pause_resume(g, id, false, err);
}

int
isolazi_vm_update(const isolazi_vm_global_t *g, const char *id, isolazi_error_t *err)
{
  opened_t c;
  int r;

  r = container_open(&g->core, id, false, &c, err);
  container_opened_release(&c);
  if (r < 0)
    return -1;
  /* QEMU is started with its RAM and vCPUs (vm_machine_from_config) and the guest has no cgroup
   * the host could write: nothing in linux.resources can change while it runs.  Say so rather
   * than accept and ignore it. */
  return isolazi_error_set(err, 0,
                           "update container `%s`: not possible for a VM: its memory (the guest's RAM) and cpu "
                           "quota (its vCPUs) are fixed when it boots, and the other resources have no cgroup to "
                           "apply to; recreate the container with the new limits",
                           id);
}

/* "key value" lines of a STATS answer: the value of key, 0 when absent. */
static unsigned long long
stats_value(const char *text, const char *key)
{
  size_t n = strlen(key);
  const char *p;

  for (p = text; p != NULL && *p; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL)
    if (strncmp(p, key, n) == 0 && p[n] == ' ')
      return strtoull(p + n + 1, NULL, 10);
  return 0;
}

static int
stats_json(int dirfd, const char *id, char **ret, isolazi_error_t *err)
{
  cleanup_free uint8_t *p = NULL;
  const char *t;
  size_t len;

  if (ctl_query(dirfd, VM_MSG_STATS, &p, &len, err) < 0)
    return -1;
  t = p != NULL ? (const char *)p : "";
  /* runc's shape (libcontainer's types.Stats), with what a guest can tell: its memory, cpu time
   * and process count. */
  *ret = xasprintf(
      "{\"type\":\"stats\",\"id\":\"%s\",\"data\":{\"cpu\":{\"usage\":{\"total\":%llu,\"kernel\":%llu,"
      "\"user\":%llu}},\"memory\":{\"usage\":{\"limit\":%llu,\"usage\":%llu}},\"pids\":{\"current\":%llu}}}",
      id, stats_value(t, "cpu.total"), stats_value(t, "cpu.system"), stats_value(t, "cpu.user"),
      stats_value(t, "memory.limit"), stats_value(t, "memory.usage"), stats_value(t, "pids.current"));
  return 0;
}

int
isolazi_vm_events(const isolazi_vm_global_t *g, const char *id, const isolazi_events_options_t *o,
                  isolazi_event_fn emit, void *data, isolazi_error_t *err)
{
  unsigned interval = o->interval_ms ? o->interval_ms : 5000;

  for (;;)
    {
      cleanup_free char *line = NULL;
      opened_t c;
      int r = open_live(g, id, false, false, &c, err);
      if (r == 0)
        r = stats_json(c.dirfd, id, &line, err);
      container_opened_release(&c);
      if (r < 0)
        {
          /* A container that stopped between two events ends the stream, as in runc. */
          if (!o->stats_once && err->msg != NULL && strcmp(err->msg, "container not running") == 0)
            {
              isolazi_error_release(err);
              return 0;
            }
          return -1;
        }
      if (emit(line, data) < 0)
        return isolazi_error_errno(err, "write an event");
      if (o->stats_once)
        return 0;
      {
        struct timespec ts = { interval / 1000, (long)(interval % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
          ;
      }
    }
}

/* ---- the front ends' dispatch ------------------------------------------------------------- */

bool
isolazi_vm_bundle_is_vm(const char *bundle)
{
  cleanup_free char *path = xasprintf("%s/config.json", bundle != NULL && bundle[0] ? bundle : ".");
  cleanup_free char *text = NULL;
  const char *handler;
  oci_config *cfg;
  char *perr = NULL;
  size_t len;
  bool vm;

  if (isolazi_read_file(path, &text, &len, NULL) < 0)
    return false;
  /* Most bundles do not mention the handler: no full parse for them. */
  if (strstr(text, ISOLAZI_VM_HANDLER_ANNOTATION) == NULL)
    return false;
  cfg = oci_config_parse("config.json", text, len, &perr);
  free(perr);
  if (cfg == NULL)
    return false;
  handler = oci_string_map_get(&cfg->annotations, ISOLAZI_VM_HANDLER_ANNOTATION);
  vm = handler != NULL && strcmp(handler, ISOLAZI_VM_HANDLER) == 0;
  oci_config_free(cfg);
  return vm;
}

bool
isolazi_vm_container_is_vm(const char *root, const char *id)
{
  cleanup_free char *path = NULL;
  struct stat st;

  if (root == NULL || id == NULL || strchr(id, '/') != NULL || id[0] == '.')
    return false;
  path = xasprintf("%s/%s/" VM_HANDLER_MARK, root, id);
  return stat(path, &st) == 0;
}

void
isolazi_vm_global_init(isolazi_vm_global_t *g, const isolazi_global_t *core)
{
  memset(g, 0, sizeof *g);
  g->core = *core;
  g->backend = ISOLAZI_VM_BACKEND_QEMU;
}

int
isolazi_vm_state(const isolazi_vm_global_t *g, const char *id, char **ret_json, isolazi_error_t *err)
{
  opened_t c;

  if (container_open(&g->core, id, false, &c, err) < 0)
    {
      container_opened_release(&c);
      return -1;
    }
  *ret_json = isolazi_state_oci_json(c.state, vm_status(&c), true);
  container_opened_release(&c);
  return 0;
}

void
isolazi_vm_list_fix(const isolazi_global_t *g, isolazi_container_info_t *list, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    {
      isolazi_error_t e = ISOLAZI_ERROR_INIT;
      opened_t c;
      if (strcmp(list[i].status, "running") != 0 || !isolazi_vm_container_is_vm(g->root, list[i].id))
        continue;
      if (container_open(g, list[i].id, false, &c, &e) == 0 && strcmp(vm_status(&c), "paused") == 0)
        {
          free(list[i].status);
          list[i].status = xstrdup("paused");
          free(list[i].state_json);
          list[i].state_json = isolazi_state_oci_json(c.state, "paused", false);
        }
      container_opened_release(&c);
      isolazi_error_release(&e);
    }
}

char *
isolazi_vm_features_json(void)
{
  return xstrdup("{\n"
                 "  \"ociVersionMin\": \"1.0.0\",\n"
                 "  \"ociVersionMax\": \"" ISOLAZI_OCI_VERSION "\",\n"
                 "  \"hooks\": [],\n"
                 "  \"mountOptions\": [\"ro\", \"rw\", \"nosuid\", \"suid\", \"nodev\", \"dev\", \"noexec\", \"exec\", "
                 "\"relatime\", \"norelatime\", \"strictatime\", \"noatime\", \"private\", \"rprivate\", \"slave\", "
                 "\"rslave\", \"shared\", \"rshared\"],\n"
                 "  \"linux\": {\n"
                 "    \"namespaces\": [],\n"
                 "    \"capabilities\": [],\n"
                 "    \"cgroup\": {\"v1\": false, \"v2\": false},\n"
                 "    \"seccomp\": {\"enabled\": false},\n"
                 "    \"apparmor\": {\"enabled\": false},\n"
                 "    \"selinux\": {\"enabled\": false}\n"
                 "  },\n"
                 "  \"annotations\": {\n"
                 "    \"io.github.isolazi.vm.backends\": \"qemu,libkrun\",\n"
                 "    \"io.github.isolazi.vm.libkrun.unsupported\": \"exec,pause,resume,ps-guest,events,update,"
                 "process.user,hostname,mounts\",\n"
                 "    \"io.github.isolazi.vm.transport\": \"virtio-serial\",\n"
                 "    \"run.oci.handler\": \"vm\"\n"
                 "  }\n"
                 "}\n");
}
