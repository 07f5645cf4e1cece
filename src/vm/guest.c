/* SPDX-License-Identifier: Apache-2.0 */
/* What the guest boots: the kernel (Debian's cloud kernel from the cache by default), an
 * initramfs holding the agent as /init and the modules the kernel does not build in (made once
 * per kernel and agent, cached), and the bundle's rootfs as an erofs image. */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef ISOLAZI_PKGLIBEXECDIR
#define ISOLAZI_PKGLIBEXECDIR "/usr/local/libexec/isolazi"
#endif

/* The modules an isolazi-vm guest needs; those built into a kernel are skipped. */
static const char *const guest_modules[]
    = { "virtio_mmio", "virtio_blk", "virtio_console", "erofs", "overlay", "fuse", NULL };

static const char *
cache_dir(void)
{
  const char *c = getenv("ISOLAZI_VM_CACHE");
  return c != NULL && c[0] != '\0' ? c : ISOLAZI_VM_DEFAULT_CACHE;
}

void
vm_kernel_release(vm_kernel_t *k)
{
  free(k->vmlinuz);
  free(k->release);
  free(k->modules_dir);
  memset(k, 0, sizeof *k);
}

static int
kernel_from_path(const char *path, vm_kernel_t *ret, isolazi_error_t *err)
{
  cleanup_free char *copy = xstrdup(path), *mods = NULL;
  const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
  struct stat st;

  if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
    return isolazi_error_set(err, errno ? errno : EINVAL, "use kernel `%s`: not a readable file", path);
  memset(ret, 0, sizeof *ret);
  ret->vmlinuz = xstrdup(path);
  ret->release = xstrdup(isolazi_has_prefix(base, "vmlinuz-") ? base + strlen("vmlinuz-") : "");
  /* Debian's layout, extracted: ROOT/boot/vmlinuz-R and ROOT/lib/modules/R. */
  mods = xasprintf("%s/../lib/modules/%s", dirname(copy), ret->release);
  if (ret->release[0] != '\0' && stat(mods, &st) == 0 && S_ISDIR(st.st_mode))
    ret->modules_dir = steal_pointer(&mods);
  return 0;
}

int
vm_kernel_find(const char *explicit_path, vm_kernel_t *ret, isolazi_error_t *err)
{
  const char *env = getenv("ISOLAZI_VM_KERNEL");
  cleanup_free char *pattern = NULL;
  glob_t gl;
  int r;

  if (explicit_path != NULL)
    return kernel_from_path(explicit_path, ret, err);
  if (env != NULL && env[0] != '\0')
    return kernel_from_path(env, ret, err);
  pattern = xasprintf("%s/linux-image-*-cloud-amd64/boot/vmlinuz-*", cache_dir());
  if (glob(pattern, 0, NULL, &gl) != 0 || gl.gl_pathc == 0)
    return isolazi_error_set(err, ENOENT,
                             "find a guest kernel: none in `%s` (extract Debian's linux-image-cloud-amd64 there: "
                             "tests/vm/v2-lane.sh or contrib/build-guest-kernel.sh; or pass --kernel)",
                             cache_dir());
  /* glob sorts: the last is the newest release. */
  r = kernel_from_path(gl.gl_pathv[gl.gl_pathc - 1], ret, err);
  globfree(&gl);
  return r;
}

int
vm_modules_closure(const char *modules_dep, const char *const *names, char ***ret, isolazi_error_t *err)
{
  char **out = NULL;
  size_t n = 0, i;

  for (; *names != NULL; names++)
    {
      cleanup_free char *needle = xasprintf("/%s.ko", *names);
      const char *line = modules_dep, *found = NULL;
      char *copy, *tok, *save = NULL, *list[64];
      size_t k = 0;

      /* The line "kernel/.../NAME.ko: dep1.ko dep2.ko" (or .ko.xz and friends). */
      while (line != NULL && *line != '\0')
        {
          const char *eol = strchrnul(line, '\n'), *colon = memchr(line, ':', (size_t)(eol - line));
          if (colon != NULL)
            {
              const char *ext = colon;
              while (ext > line && *ext != '/')
                ext--;
              if ((size_t)(colon - ext) >= strlen(needle) && strncmp(ext, needle, strlen(needle)) == 0
                  && (ext[strlen(needle)] == ':' || ext[strlen(needle)] == '.'))
                {
                  found = line;
                  break;
                }
            }
          line = *eol ? eol + 1 : NULL;
        }
      if (found == NULL)
        continue; /* built in, or absent: the guest finds out */
      copy = strndup(found, (size_t)(strchrnul(found, '\n') - found));
      for (tok = strtok_r(copy, ": \t", &save); tok != NULL && k < 64; tok = strtok_r(NULL, ": \t", &save))
        list[k++] = tok;
      /* modules.dep lists the module, then its dependencies, deepest last: load in reverse. */
      while (k > 0)
        {
          const char *m = list[--k];
          bool dup = false;
          for (i = 0; i < n; i++)
            if (strcmp(out[i], m) == 0)
              dup = true;
          if (dup)
            continue;
          out = xrealloc(out, (n + 2) * sizeof *out);
          out[n++] = xstrdup(m);
          out[n] = NULL;
        }
      free(copy);
    }
  if (out == NULL)
    out = xcalloc(1, sizeof *out);
  *ret = out;
  (void)err;
  return 0;
}

/* ---- newc cpio ---------------------------------------------------------------------------- */

struct vm_cpio
{
  int fd;
  unsigned ino;
  int error;
};

vm_cpio_t *
vm_cpio_new(int fd)
{
  vm_cpio_t *c = xcalloc(1, sizeof *c);
  c->fd = fd;
  c->ino = 1;
  return c;
}

static void
cpio_write(vm_cpio_t *c, const void *p, size_t len)
{
  static const char zeros[4] = { 0 };

  if (c->error == 0 && isolazi_write_all(c->fd, p, len) < 0)
    c->error = errno ? errno : EIO;
  /* every header+name and every data block ends 4-aligned */
  if (c->error == 0 && (len & 3) != 0 && isolazi_write_all(c->fd, zeros, 4 - (len & 3)) < 0)
    c->error = errno ? errno : EIO;
}

int
vm_cpio_add(vm_cpio_t *c, const char *name, mode_t mode, const void *data, size_t len)
{
  char hdr[110 + PATH_MAX + 1];
  size_t namelen = strlen(name) + 1;
  int n;

  if (namelen > PATH_MAX)
    return -ENAMETOOLONG;
  n = snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X%s", c->ino++,
               (unsigned)mode, 0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, namelen, 0u, name);
  /* the name's NUL is part of it */
  cpio_write(c, hdr, (size_t)n + 1);
  if (len > 0)
    cpio_write(c, data, len);
  return c->error ? -c->error : 0;
}

int
vm_cpio_finish(vm_cpio_t *c)
{
  int r;

  (void)vm_cpio_add(c, "TRAILER!!!", 0, NULL, 0);
  r = c->error ? -c->error : 0;
  free(c);
  return r;
}

/* ---- the initramfs ----------------------------------------------------------------------- */

static char *
agent_path(isolazi_error_t *err)
{
  const char *env = getenv("ISOLAZI_VM_AGENT");
  char exe[PATH_MAX];
  ssize_t n;
  char *p;

  if (env != NULL && env[0] != '\0')
    return xstrdup(env);
  /* From a build tree: src/isolazi-vm/isolazi-vm next to src/vm-agent/isolazi-vm-agent. */
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
  isolazi_error_set(err, ENOENT, "find the guest agent `isolazi-vm-agent` (set ISOLAZI_VM_AGENT)");
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
build_initramfs(const vm_kernel_t *k, const char *kind, const char *const *modules, const char *agent, const char *out,
                isolazi_error_t *err)
{
  static const char *const dirs[] = { "dev", "proc", "sys", "run", "tmp", "lib", "lib/modules", NULL };
  cleanup_free char *tmp = xasprintf("%s.tmp.%d", out, (int)getpid());
  cleanup_free char *dep_text = NULL, *list = xstrdup("");
  cleanup_strv char **mods = NULL;
  cleanup_close int fd = -1;
  vm_cpio_t *c;
  size_t i;

  if (k->modules_dir != NULL)
    {
      cleanup_free char *dep = xasprintf("%s/modules.dep", k->modules_dir);
      size_t len;
      if (isolazi_read_file_at(AT_FDCWD, dep, &dep_text, &len, err) < 0)
        return isolazi_error_wrap(err, "build the %s initramfs (run depmod for the kernel's modules)",
                                  kind != NULL ? kind : "guest");
      if (vm_modules_closure(dep_text, modules, &mods, err) < 0)
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
      cleanup_free char *src = xasprintf("%s/%s", k->modules_dir, mods[i]);
      const char *base = strrchr(mods[i], '/') != NULL ? strrchr(mods[i], '/') + 1 : mods[i];
      cleanup_free char *name = xasprintf("lib/modules/%s", base);
      char *nl = xasprintf("%s/%s\n", list, name);
      free(list);
      list = nl;
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

/* FNV-1a of the module names, for the initramfs's cache key. */
static uint32_t
modules_hash(const char *const *modules)
{
  uint32_t h = 2166136261u;
  size_t i;
  const char *p;

  for (i = 0; modules != NULL && modules[i] != NULL; i++)
    for (p = modules[i];; p++)
      {
        h = (h ^ (uint8_t)*p) * 16777619u;
        if (*p == '\0')
          break;
      }
  return h;
}

int
vm_initramfs_get(const vm_kernel_t *k, char **ret_path, isolazi_error_t *err)
{
  return vm_initramfs_get_kind(k, NULL, guest_modules, ret_path, err);
}

int
vm_initramfs_get_kind(const vm_kernel_t *k, const char *kind, const char *const *modules, char **ret_path,
                      isolazi_error_t *err)
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
  /* Keyed by kernel, agent and module list: a rebuilt agent, or a module added, gets a new
   * initramfs. */
  out = xasprintf("%s/%s%s%s-%llx-%llx-%08x.cpio", dir, kind != NULL ? kind : "", kind != NULL ? "-" : "",
                  k->release[0] ? k->release : "custom", (unsigned long long)st.st_size,
                  (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec,
                  modules_hash(modules));
  if (access(out, R_OK) != 0)
    {
      isolazi_debug("%s: building the initramfs `%s`", kind != NULL ? kind : "vm", out);
      if (build_initramfs(k, kind, modules, agent, out, err) < 0)
        return -1;
    }
  *ret_path = steal_pointer(&out);
  return 0;
}

/* ---- the rootfs image -------------------------------------------------------------------- */

int
vm_run_tool(char *const *argv, isolazi_error_t *err)
{
  int p[2], status;
  char out[1024];
  size_t len = 0;
  ssize_t n;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    return isolazi_error_errno(err, "create a pipe");
  pid = fork();
  if (pid < 0)
    {
      close(p[0]);
      close(p[1]);
      return isolazi_error_errno(err, "fork");
    }
  if (pid == 0)
    {
      int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (devnull >= 0)
        dup2(devnull, 0);
      dup2(p[1], 1);
      dup2(p[1], 2);
      execvp(argv[0], argv);
      _exit(errno == ENOENT ? 127 : 126);
    }
  close(p[1]);
  /* Read all of it (a tool writing into a closed pipe would die of SIGPIPE); keep the end. */
  for (;;)
    {
      char chunk[4096];
      n = read(p[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if ((size_t)n >= sizeof out - 1)
        {
          memcpy(out, chunk + n - (sizeof out - 1), sizeof out - 1);
          len = sizeof out - 1;
        }
      else
        {
          if (len + (size_t)n > sizeof out - 1)
            {
              size_t drop = len + (size_t)n - (sizeof out - 1);
              memmove(out, out + drop, len - drop);
              len -= drop;
            }
          memcpy(out + len, chunk, (size_t)n);
          len += (size_t)n;
        }
    }
  out[len] = '\0';
  close(p[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return isolazi_error_set(err, ENOENT, "run `%s`: not found", argv[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
      while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = '\0';
      return isolazi_error_set(err, 0, "run `%s`: exit status %d: %s", argv[0],
                               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out);
    }
  return 0;
}

int
vm_rootfs_image_make(const char *dir, const char *image, const char **ret_type, isolazi_error_t *err)
{
  /* -E noinline_data keeps small files out of inodes: no gain under a tmpfs overlay, and faster
   * to make.  All files owned as in the directory (the bundle's ids are kept). */
  char *argv[] = { (char *)"mkfs.erofs", (char *)"-d0", (char *)image, (char *)dir, NULL };
  struct stat st;

  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return isolazi_error_set(err, errno ? errno : ENOTDIR, "use the rootfs `%s`: not a directory", dir);
  if (vm_run_tool(argv, err) < 0)
    {
      (void)unlink(image);
      if (err->code == ENOENT)
        return isolazi_error_wrap(err, "make the rootfs image (apt-get install erofs-utils)");
      return isolazi_error_wrap(err, "make the rootfs image of `%s`", dir);
    }
  *ret_type = "erofs";
  return 0;
}
