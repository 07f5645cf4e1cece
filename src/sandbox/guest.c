/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox guest's initramfs: isolazi-vm's agent as /init with the modules a sandbox needs
 * (its disk on virtio-blk, the agent's channel on virtio-console, and virtio-net for the
 * network policy), built once per kernel and agent with src/vm's cpio writer, beside
 * isolazi-vm's own initramfs in the cache. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ISOLAZI_PKGLIBEXECDIR
#define ISOLAZI_PKGLIBEXECDIR "/usr/local/libexec/isolazi"
#endif

static const char *const sandbox_modules[] = { "virtio_mmio", "virtio_blk", "virtio_console", "virtio_net", NULL };

static const char *
cache_dir(void)
{
  const char *c = getenv("ISOLAZI_VM_CACHE");
  return c != NULL && c[0] != '\0' ? c : ISOLAZI_VM_DEFAULT_CACHE;
}

/* As src/vm finds it: $ISOLAZI_VM_AGENT, the build tree next to our binary, the install. */
static char *
agent_path(isolazi_error_t *err)
{
  const char *env = getenv("ISOLAZI_VM_AGENT");
  char exe[PATH_MAX];
  ssize_t n;
  char *p;

  if (env != NULL && env[0] != '\0')
    return xstrdup(env);
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      p = xasprintf("%s/../vm-agent/isolazi-vm-agent", dirname(exe));
      if (access(p, X_OK) == 0)
        return p;
      free(p);
    }
  p = xstrdup(ISOLAZI_PKGLIBEXECDIR "/isolazi-vm-agent");
  if (access(p, X_OK) == 0)
    return p;
  free(p);
  isolazi_error_set(err, 0, "find the guest agent `isolazi-vm-agent` (set ISOLAZI_VM_AGENT)");
  return NULL;
}

static int
add_file(vm_cpio_t *c, const char *name, const char *path, mode_t mode, isolazi_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;

  if (isolazi_read_file_at(AT_FDCWD, path, &data, &len, err) < 0)
    return -1;
  if (vm_cpio_add(c, name, mode, data, len) < 0)
    return isolazi_error_errno(err, "write the initramfs");
  return 0;
}

static int
build(const vm_kernel_t *k, const char *agent, const char *out, isolazi_error_t *err)
{
  static const char *const dirs[] = { "dev", "proc", "sys", "run", "tmp", "lib", "lib/modules", NULL };
  cleanup_free char *tmp = xasprintf("%s.tmp.%d", out, (int)getpid()), *dep = NULL, *list = xstrdup("");
  cleanup_strv char **mods = NULL;
  cleanup_close int fd = -1;
  vm_cpio_t *c;
  size_t i, len;

  if (k->modules_dir != NULL)
    {
      cleanup_free char *path = xasprintf("%s/modules.dep", k->modules_dir);
      if (isolazi_read_file_at(AT_FDCWD, path, &dep, &len, err) < 0)
        return isolazi_error_wrap(err, "build the sandbox initramfs (run depmod for the kernel's modules)");
      if (vm_modules_closure(dep, sandbox_modules, &mods, err) < 0)
        return -1;
    }
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return isolazi_error_errno(err, "create `%s`", tmp);
  c = vm_cpio_new(fd);
  for (i = 0; dirs[i] != NULL; i++)
    (void)vm_cpio_add(c, dirs[i], S_IFDIR | 0755, NULL, 0);
  if (add_file(c, "init", agent, S_IFREG | 0755, err) < 0)
    goto fail;
  for (i = 0; mods != NULL && mods[i] != NULL; i++)
    {
      const char *base = strrchr(mods[i], '/') != NULL ? strrchr(mods[i], '/') + 1 : mods[i];
      cleanup_free char *src = xasprintf("%s/%s", k->modules_dir, mods[i]);
      cleanup_free char *name = xasprintf("lib/modules/%s", base);
      char *l = xasprintf("%s/%s\n", list, name);
      free(list);
      list = l;
      if (add_file(c, name, src, S_IFREG | 0644, err) < 0)
        goto fail;
    }
  if (vm_cpio_add(c, "modules", S_IFREG | 0644, list, strlen(list)) < 0)
    {
      isolazi_error_errno(err, "write `%s`", tmp);
      goto fail;
    }
  if (vm_cpio_finish(c) < 0)
    {
      (void)unlink(tmp);
      return isolazi_error_set(err, EIO, "write `%s`", tmp);
    }
  if (rename(tmp, out) < 0)
    {
      (void)unlink(tmp);
      return isolazi_error_errno(err, "rename `%s`", tmp);
    }
  return 0;
fail:
  (void)vm_cpio_finish(c);
  (void)unlink(tmp);
  return -1;
}

int
sb_initramfs_get(const vm_kernel_t *k, char **ret_path, isolazi_error_t *err)
{
  cleanup_free char *agent = agent_path(err), *dir = NULL, *out = NULL;
  struct stat st;

  if (agent == NULL)
    return -1;
  if (stat(agent, &st) < 0)
    return isolazi_error_errno(err, "stat `%s`", agent);
  dir = xasprintf("%s/initramfs", cache_dir());
  if (isolazi_mkdir_p(dir, 0755, err) < 0)
    return -1;
  out = xasprintf("%s/sandbox-%s-%llx-%llx.cpio", dir, k->release[0] ? k->release : "custom",
                  (unsigned long long)st.st_size,
                  (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec);
  if (access(out, R_OK) != 0)
    {
      isolazi_debug("sandbox: building the initramfs `%s`", out);
      if (build(k, agent, out, err) < 0)
        return -1;
    }
  *ret_path = steal_pointer(&out);
  return 0;
}
