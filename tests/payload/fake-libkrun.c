/* SPDX-License-Identifier: Apache-2.0 */
/* A stand-in for libkrun.so.1, for the test suite only (libkrun is not packaged in Debian 12
 * and cannot be built here).  It has the krun_* calls isolazi-vm resolves, with libkrun.h's
 * signatures and return conventions (0 or a negative errno; krun_create_ctx: the context id),
 * records every call and its arguments as lines in $FAKE_KRUN_LOG, and in krun_start_enter
 * runs the workload without a VM: chroot into the root, chdir to the workdir, set the rlimits
 * and exec the program with exactly the configured environment (as libkrun's init would do in
 * the guest).  $FAKE_KRUN_FAIL=NAME[:ERRNO] makes the call NAME fail (default ERRNO: EACCES).
 *
 * The log's lines:  krun_set_vm_config CTX VCPUS RAM_MIB / krun_set_root CTX PATH /
 * krun_set_workdir CTX PATH / krun_set_rlimits CTX LIMIT... / krun_set_exec CTX PATH, then
 * `arg ARG` and `env K=V` lines / krun_start_enter CTX / and so on. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* libkrun.h's prototypes, for the calls this stand-in has. */
int32_t krun_set_log_level(uint32_t level);
int32_t krun_create_ctx(void);
int32_t krun_free_ctx(uint32_t ctx);
int32_t krun_set_vm_config(uint32_t ctx, uint8_t vcpus, uint32_t ram_mib);
int32_t krun_set_root(uint32_t ctx, const char *path);
int32_t krun_set_workdir(uint32_t ctx, const char *path);
int32_t krun_set_rlimits(uint32_t ctx, const char *const limits[]);
int32_t krun_set_exec(uint32_t ctx, const char *path, const char *const argv[], const char *const envp[]);
int32_t krun_start_enter(uint32_t ctx);

static int next_ctx;
static char *root, *workdir, *exec_path;
static char **exec_argv, **exec_envp, **rlimits;

static void __attribute__((format(printf, 1, 2))) record(const char *fmt, ...)
{
  const char *path = getenv("FAKE_KRUN_LOG");
  char line[8192];
  va_list ap;
  int fd, n;

  if (path == NULL)
    return;
  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n > sizeof line - 2)
    n = sizeof line - 2;
  line[n++] = '\n';
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  if (write(fd, line, (size_t)n) < 0)
    (void)0;
  close(fd);
}

/* The injected failure for `name`: 0, or a negative errno. */
static int
injected(const char *name)
{
  const char *f = getenv("FAKE_KRUN_FAIL");
  size_t len = strlen(name);

  if (f == NULL || strncmp(f, name, len) != 0 || (f[len] != '\0' && f[len] != ':'))
    return 0;
  return f[len] == ':' ? -atoi(f + len + 1) : -EACCES;
}

static char **
copy_strv(const char *const v[])
{
  size_t n = 0, i;
  char **r;

  while (v != NULL && v[n] != NULL)
    n++;
  r = calloc(n + 1, sizeof *r);
  if (r == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    r[i] = strdup(v[i]);
  return r;
}

EXPORT int32_t
krun_set_log_level(uint32_t level)
{
  record("krun_set_log_level %u", level);
  return injected("krun_set_log_level");
}

EXPORT int32_t
krun_create_ctx(void)
{
  int r = injected("krun_create_ctx");

  record("krun_create_ctx");
  return r < 0 ? r : next_ctx++;
}

EXPORT int32_t
krun_free_ctx(uint32_t ctx)
{
  record("krun_free_ctx %u", ctx);
  return injected("krun_free_ctx");
}

EXPORT int32_t
krun_set_vm_config(uint32_t ctx, uint8_t vcpus, uint32_t ram_mib)
{
  record("krun_set_vm_config %u %u %u", ctx, (unsigned)vcpus, ram_mib);
  return injected("krun_set_vm_config");
}

EXPORT int32_t
krun_set_root(uint32_t ctx, const char *path)
{
  record("krun_set_root %u %s", ctx, path);
  free(root);
  root = strdup(path);
  return injected("krun_set_root");
}

EXPORT int32_t
krun_set_workdir(uint32_t ctx, const char *path)
{
  record("krun_set_workdir %u %s", ctx, path);
  free(workdir);
  workdir = strdup(path);
  return injected("krun_set_workdir");
}

EXPORT int32_t
krun_set_rlimits(uint32_t ctx, const char *const limits[])
{
  char line[4096] = "";
  size_t i, used = 0;

  for (i = 0; limits != NULL && limits[i] != NULL; i++)
    {
      int n = snprintf(line + used, sizeof line - used, " %s", limits[i]);
      if (n < 0 || (size_t)n >= sizeof line - used)
        break;
      used += (size_t)n;
    }
  record("krun_set_rlimits %u%s", ctx, line);
  rlimits = copy_strv(limits);
  return injected("krun_set_rlimits");
}

EXPORT int32_t
krun_set_exec(uint32_t ctx, const char *path, const char *const argv[], const char *const envp[])
{
  size_t i;

  record("krun_set_exec %u %s", ctx, path);
  for (i = 0; argv != NULL && argv[i] != NULL; i++)
    record("arg %s", argv[i]);
  for (i = 0; envp != NULL && envp[i] != NULL; i++)
    record("env %s", envp[i]);
  free(exec_path);
  exec_path = strdup(path);
  exec_argv = copy_strv(argv);
  exec_envp = copy_strv(envp);
  return injected("krun_set_exec");
}

EXPORT int32_t
krun_start_enter(uint32_t ctx)
{
  size_t n = 0, i;
  char **argv;
  int r = injected("krun_start_enter");

  record("krun_start_enter %u", ctx);
  if (r < 0)
    return r;
  if (root == NULL || exec_path == NULL)
    return -EINVAL;
  /* What libkrun's init does in the guest, done here on the host. */
  if (chroot(root) < 0 || chdir(workdir != NULL ? workdir : "/") < 0)
    _exit(125);
  for (i = 0; rlimits != NULL && rlimits[i] != NULL; i++)
    {
      unsigned long long res, soft, hard;
      struct rlimit rl;
      if (sscanf(rlimits[i], "%llu=%llu:%llu", &res, &soft, &hard) != 3)
        _exit(125);
      rl.rlim_cur = (rlim_t)soft;
      rl.rlim_max = (rlim_t)hard;
      if (setrlimit((int)res, &rl) < 0)
        _exit(125);
    }
  while (exec_argv != NULL && exec_argv[n] != NULL)
    n++;
  argv = calloc(n + 2, sizeof *argv);
  if (argv == NULL)
    _exit(125);
  argv[0] = exec_path;
  for (i = 0; i < n; i++)
    argv[i + 1] = exec_argv[i];
  /* execvp searches the PATH of the workload's environment, as the guest's init would. */
  clearenv();
  for (i = 0; exec_envp != NULL && exec_envp[i] != NULL; i++)
    putenv(exec_envp[i]);
  execvp(exec_path, argv);
  _exit(errno == ENOENT ? 127 : 126);
}
