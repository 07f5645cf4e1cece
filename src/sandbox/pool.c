/* SPDX-License-Identifier: Apache-2.0 */
/* Sources (presets, bundles) and the warm pool.
 *
 * A preset is a Debian-based rootfs that contrib/sandbox-preset.sh assembles from the apt
 * mirror into the cache (presets/NAME/rootfs, with a stamp of the package versions).
 *
 * The pool keeps booted VMs of one source (pool.json) in root/pool/ID, each a sandbox without
 * a name.  `create` of a sandbox with the same base and machine takes one: its directory is
 * renamed into root/sandboxes/NAME and its daemon told (adopt), so the first exec pays no
 * boot; a background fill then boots replacements up to the target, within the memory budget.
 * A VM being booted is locked (flock on its directory), so `take` skips it. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "utils.h"

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_FILL_LOCK ".pool-fill.lock"

static void
json_valuep(json_value **v)
{
  json_value_free(*v);
}

static const char *
presets_dir(void)
{
  const char *env = getenv("ISOLAZI_VM_PRESETS");
  return env != NULL && env[0] != '\0' ? env : ISOLAZI_VM_DEFAULT_CACHE "/presets";
}

static char *
mtime_stamp(const char *a, const char *b)
{
  struct stat sa, sb;

  if (stat(a, &sa) < 0)
    memset(&sa, 0, sizeof sa);
  if (b == NULL || stat(b, &sb) < 0)
    memset(&sb, 0, sizeof sb);
  return xasprintf("%lld.%ld/%lld.%ld", (long long)sa.st_mtim.tv_sec, sa.st_mtim.tv_nsec, (long long)sb.st_mtim.tv_sec,
                   sb.st_mtim.tv_nsec);
}

/* isolazi-pull: $ISOLAZI_VM_PULL, the build tree next to our binary, else on PATH. */
static char *
pull_path(void)
{
  const char *env = getenv("ISOLAZI_VM_PULL");
  char exe[PATH_MAX];
  ssize_t n;

  if (env != NULL && env[0] != '\0')
    return xstrdup(env);
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      char *p;
      exe[n] = '\0';
      p = xasprintf("%s/../isolazi-pull/isolazi-pull", dirname(exe));
      if (access(p, X_OK) == 0)
        return p;
      free(p);
    }
  return xstrdup("isolazi-pull");
}

/* An image reference: unpacked once (isolazi-pull bundle --copy, into the store named by
 * $ISOLAZI_PULL_STORE when set; $ISOLAZI_VM_PULL_TLS_VERIFY=false for a plain-HTTP registry)
 * into root/images/bundle-KEY, reused after. */
static int
image_bundle(const char *root, const char *image, char **ret_dir, isolazi_error_t *err)
{
  cleanup_free char *dir = NULL, *tmp = NULL, *pull = pull_path(), *check = NULL;
  const char *store = getenv("ISOLAZI_PULL_STORE"), *tls = getenv("ISOLAZI_VM_PULL_TLS_VERIFY");
  uint64_t h = 0xcbf29ce484222325ULL;
  struct stat st;
  const char *p;
  char *argv[10];
  int n = 0;

  for (p = image; *p != '\0'; p++)
    {
      h ^= (unsigned char)*p;
      h *= 0x100000001b3ULL;
    }
  dir = xasprintf("%s/" SB_DIR_IMAGES "/bundle-%016llx", root, (unsigned long long)h);
  check = xasprintf("%s/rootfs", dir);
  if (stat(check, &st) == 0 && S_ISDIR(st.st_mode))
    {
      *ret_dir = steal_pointer(&dir);
      return 0;
    }
  tmp = xasprintf("%s.tmp.%d", dir, (int)getpid());
  argv[n++] = pull;
  if (store != NULL && store[0] != '\0')
    {
      argv[n++] = (char *)"--store";
      argv[n++] = (char *)store;
    }
  argv[n++] = (char *)"bundle";
  argv[n++] = (char *)"--copy";
  /* A plain-HTTP (or self-signed) registry, as `isolazi-pull --tls-verify=false`. */
  if (tls != NULL && strcmp(tls, "false") == 0)
    argv[n++] = (char *)"--tls-verify=false";
  argv[n++] = (char *)image;
  argv[n++] = tmp;
  argv[n] = NULL;
  if (vm_run_tool(argv, err) < 0)
    {
      char *rm[] = { (char *)"rm", (char *)"-rf", tmp, NULL };
      (void)vm_run_tool(rm, NULL);
      return isolazi_error_wrap(err, "unpack image `%s`", image);
    }
  if (rename(tmp, dir) < 0)
    return isolazi_error_errno(err, "rename `%s`", tmp);
  *ret_dir = steal_pointer(&dir);
  return 0;
}

int
sb_source_resolve(const char *root, const char *preset, const char *bundle, const char *image, char **ret_rootfs,
                  char **ret_stamp, char **ret_desc, isolazi_error_t *err)
{
  cleanup_free char *image_dir = NULL;

  struct stat st;
  int n = (preset != NULL) + (bundle != NULL) + (image != NULL);

  if (n != 1)
    return isolazi_error_set(err, 0, "a sandbox needs exactly one source: --preset, --bundle or --image");
  if (preset != NULL)
    {
      static const char *const known[] = { "python", "node", "ruby", "go", NULL };
      cleanup_free char *rootfs = xasprintf("%s/%s/rootfs", presets_dir(), preset);
      cleanup_free char *stamp_path = xasprintf("%s/%s/stamp", presets_dir(), preset), *stamp = NULL;
      size_t i, len;
      for (i = 0; known[i] != NULL && strcmp(known[i], preset) != 0; i++)
        ;
      if (known[i] == NULL)
        return isolazi_error_set(err, 0, "unknown preset `%s`: expected python, node, ruby or go", preset);
      if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)
          || isolazi_read_file_at(AT_FDCWD, stamp_path, &stamp, &len, NULL) < 0)
        return isolazi_error_set(err, ENOENT,
                                 "preset `%s` is not built: run `contrib/sandbox-preset.sh %s` (it assembles the "
                                 "rootfs from Debian packages into `%s`)",
                                 preset, preset, presets_dir());
      *ret_rootfs = steal_pointer(&rootfs);
      *ret_stamp = steal_pointer(&stamp);
      *ret_desc = xasprintf("preset:%s", preset);
      return 0;
    }
  if (image != NULL)
    {
      if (image_bundle(root, image, &image_dir, err) < 0)
        return -1;
      bundle = image_dir;
    }
  if (bundle != NULL)
    {
      __attribute__((cleanup(json_valuep))) json_value *v = NULL;
      cleanup_free char *dir = isolazi_abspath(bundle, err), *config = NULL, *text = NULL, *perr = NULL;
      cleanup_free char *rootfs = NULL;
      const char *path = "rootfs";
      size_t len;
      if (dir == NULL)
        return -1;
      config = xasprintf("%s/config.json", dir);
      if (isolazi_read_file(config, &text, &len, NULL) == 0)
        {
          v = json_parse(text, len, &perr);
          if (v == NULL)
            return isolazi_error_set(err, 0, "%s: %s", config, perr);
          if (json_get_string(json_object_get(json_object_get(v, "root"), "path")) != NULL)
            path = json_get_string(json_object_get(json_object_get(v, "root"), "path"));
        }
      rootfs = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", dir, path);
      if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
        return isolazi_error_set(err, 0, "use bundle `%s`: its rootfs `%s` is not a directory", dir, rootfs);
      *ret_stamp = mtime_stamp(rootfs, config);
      *ret_rootfs = steal_pointer(&rootfs);
      *ret_desc = image != NULL ? xasprintf("image:%s", image) : xasprintf("bundle:%s", dir);
      return 0;
    }
  return isolazi_error_set(err, 0, "a sandbox needs a source");
}

char *
sb_pool_key(const char *base, unsigned cpus, unsigned memory_mib)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  cleanup_free char *s = xasprintf("%s/%u/%u", base, cpus, memory_mib);
  const char *p;

  for (p = s; *p != '\0'; p++)
    {
      h ^= (unsigned char)*p;
      h *= 0x100000001b3ULL;
    }
  return xasprintf("%016llx", (unsigned long long)h);
}

static int
global_lock(const char *root, const char *name, bool wait)
{
  cleanup_free char *path = xasprintf("%s/%s", root, name);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    return -1;
  while (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0)
    if (errno != EINTR)
      {
        close(fd);
        return -1;
      }
  return fd;
}

typedef enum
{
  ENTRY_READY,
  ENTRY_BOOTING,
  ENTRY_DEAD,
} entry_status_t;

/* The status of one pool entry; its key in *ret_key (malloc'd). */
static entry_status_t
entry_status(int dirfd, char **ret_key)
{
  sb_state_t st;
  sb_runtime_t rt;
  int on;

  *ret_key = NULL;
  /* The filler holds the directory's lock while the VM boots. */
  if (flock(dirfd, LOCK_EX | LOCK_NB) < 0)
    return ENTRY_BOOTING;
  if (sb_state_load(dirfd, &st, NULL) < 0)
    {
      (void)flock(dirfd, LOCK_UN);
      return ENTRY_DEAD;
    }
  *ret_key = xstrdup(st.pool_key);
  sb_state_release(&st);
  on = sb_runtime_get(dirfd, &rt, NULL);
  sb_runtime_release(&rt);
  (void)flock(dirfd, LOCK_UN);
  return on > 0 ? ENTRY_READY : ENTRY_DEAD;
}

static void
remove_entry(const char *root, int pooldirfd, const char *id)
{
  cleanup_strv char **layers = NULL;
  cleanup_close int fd = openat(pooldirfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  sb_state_t st;

  if (fd < 0)
    return;
  (void)sb_daemon_stop(fd, 3000, NULL);
  if (sb_state_load(fd, &st, NULL) == 0)
    {
      layers = steal_pointer(&st.layers);
      st.layers_len = 0;
      sb_state_release(&st);
    }
  (void)isolazi_state_dir_remove(pooldirfd, id, NULL);
  sb_layers_gc(root, layers);
}

int
sb_pool_take(const isolazi_sandbox_ctx_t *c, const char *key, const char *name, isolazi_error_t *err)
{
  cleanup_free char *root = sb_root(c), *pool = NULL, *from = NULL, *to = NULL, *req = NULL, *reply = NULL;
  cleanup_closedir DIR *d = NULL;
  cleanup_close int lockfd = -1, sbfd = -1;
  struct dirent *de;
  sb_state_t st;
  char *found = NULL;

  pool = xasprintf("%s/" SB_DIR_POOL, root);
  lockfd = global_lock(root, SB_GLOBAL_LOCK, true);
  d = opendir(pool);
  if (d == NULL)
    return 0;
  while (found == NULL && (de = readdir(d)) != NULL)
    {
      cleanup_free char *k = NULL;
      cleanup_close int fd = -1;
      if (de->d_name[0] == '.')
        continue;
      fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0 && entry_status(fd, &k) == ENTRY_READY && k != NULL && strcmp(k, key) == 0)
        found = xstrdup(de->d_name);
    }
  if (found == NULL)
    return 0;
  from = xasprintf("%s/%s", pool, found);
  to = xasprintf("%s/" SB_DIR_SANDBOXES "/%s", root, name);
  free(found);
  /* RENAME_NOREPLACE: a sandbox created meanwhile under that name is not overwritten. */
  if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
    {
      if (errno == EEXIST)
        return isolazi_error_set(err, 0, "sandbox `%s` already exists", name);
      return isolazi_error_errno(err, "take a warm VM `%s`", from);
    }
  sbfd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sbfd < 0 || sb_lock(sbfd, err) < 0 || sb_state_load(sbfd, &st, err) < 0)
    return isolazi_error_wrap(err, "take a warm VM for sandbox `%s`", name);
  free(st.name);
  st.name = xstrdup(name);
  free(st.pool_key);
  st.pool_key = NULL;
  free(st.created);
  st.created = isolazi_now_rfc3339();
  if (sb_state_save(sbfd, &st, err) < 0)
    {
      sb_state_release(&st);
      return -1;
    }
  sb_state_release(&st);
  req = xasprintf("{\"op\":\"adopt\",\"name\":\"%s\",\"dir\":\"%s\"}", name, to);
  if (sb_ctl(sbfd, name, req, &reply, err) < 0)
    return isolazi_error_wrap(err, "take a warm VM for sandbox `%s`", name);
  isolazi_debug("sandbox %s: took a warm VM from the pool", name);
  return 1;
}

/* ---- configuration ------------------------------------------------------------------------- */

typedef struct pool_cfg
{
  char *preset, *bundle;
  unsigned cpus, memory_mib, disk_mib, min, max, target, budget;
} pool_cfg_t;

static void
pool_cfg_release(pool_cfg_t *p)
{
  free(p->preset);
  free(p->bundle);
  memset(p, 0, sizeof *p);
}

static unsigned
get_uint(const json_value *v, const char *key)
{
  uint64_t u = 0;
  return json_get_uint64(json_object_get(v, key), &u) && u < 0x100000000ULL ? (unsigned)u : 0;
}

/* 1 with a config, 0 without one. */
static int
pool_cfg_load(const char *root, pool_cfg_t *ret, isolazi_error_t *err)
{
  __attribute__((cleanup(json_valuep))) json_value *v = NULL;
  cleanup_free char *path = xasprintf("%s/" SB_POOL_CONFIG, root), *text = NULL, *perr = NULL;
  const char *s;
  size_t len;

  memset(ret, 0, sizeof *ret);
  if (isolazi_read_file(path, &text, &len, NULL) < 0)
    return 0;
  v = json_parse(text, len, &perr);
  if (v == NULL)
    return isolazi_error_set(err, 0, "%s: %s", path, perr);
  if ((s = json_get_string(json_object_get(v, "preset"))) != NULL)
    ret->preset = xstrdup(s);
  if ((s = json_get_string(json_object_get(v, "bundle"))) != NULL)
    ret->bundle = xstrdup(s);
  ret->cpus = get_uint(v, "cpus");
  ret->memory_mib = get_uint(v, "memory_mib");
  ret->disk_mib = get_uint(v, "disk_mib");
  ret->min = get_uint(v, "min");
  ret->max = get_uint(v, "max");
  ret->target = get_uint(v, "target");
  ret->budget = get_uint(v, "memory_budget_mib");
  return 1;
}

int
isolazi_sandbox_pool_configure(const isolazi_sandbox_ctx_t *c, const isolazi_sandbox_pool_config_t *p,
                               isolazi_error_t *err)
{
  cleanup_free char *root = NULL, *rootfs = NULL, *stamp = NULL, *desc = NULL, *text = NULL, *perr = NULL;
  cleanup_close int rootfd = sb_root_open(c, &root, err);
  unsigned mem = p->memory_mib ? p->memory_mib : VM_DEFAULT_RAM_MIB;
  json_gen *g;
  size_t len;

  if (rootfd < 0)
    return -1;
  if (sb_source_resolve(root, p->preset, p->bundle, NULL, &rootfs, &stamp, &desc, err) < 0)
    return isolazi_error_wrap(err, "configure the pool");
  if (p->max == 0 || p->min > p->max || p->target < p->min || p->target > p->max)
    return isolazi_error_set(err, 0, "configure the pool: expected min <= target <= max and max >= 1 (got %u, %u, %u)",
                             p->min, p->target, p->max);
  if (p->memory_budget_mib != 0 && (unsigned long)p->min * mem > p->memory_budget_mib)
    return isolazi_error_set(err, 0, "configure the pool: %u VMs of %u MiB exceed the memory budget of %u MiB", p->min,
                             mem, p->memory_budget_mib);
  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, p->preset != NULL ? "preset" : "bundle");
  if (p->preset != NULL)
    json_gen_string(g, p->preset);
  else
    {
      cleanup_free char *abs = isolazi_abspath(p->bundle, NULL);
      json_gen_string(g, abs != NULL ? abs : p->bundle);
    }
  json_gen_key(g, "cpus");
  json_gen_uint64(g, p->cpus ? p->cpus : 1);
  json_gen_key(g, "memory_mib");
  json_gen_uint64(g, mem);
  json_gen_key(g, "disk_mib");
  json_gen_uint64(g, p->disk_mib ? p->disk_mib : 1024);
  json_gen_key(g, "min");
  json_gen_uint64(g, p->min);
  json_gen_key(g, "max");
  json_gen_uint64(g, p->max);
  json_gen_key(g, "target");
  json_gen_uint64(g, p->target);
  json_gen_key(g, "memory_budget_mib");
  json_gen_uint64(g, p->memory_budget_mib);
  json_gen_object_close(g);
  if (json_gen_finish(g, &text, &len, &perr) < 0)
    {
      json_gen_free(g);
      return isolazi_error_set(err, ENOMEM, "configure the pool");
    }
  json_gen_free(g);
  return isolazi_write_file_atomic(rootfd, SB_POOL_CONFIG, text, len, 0600, true, err);
}

/* Count the pool's entries of `key` (removing dead ones). */
static void
pool_count(const char *root, const char *key, unsigned *ret_ready, unsigned *ret_booting, unsigned *ret_other)
{
  cleanup_free char *pool = xasprintf("%s/" SB_DIR_POOL, root);
  cleanup_closedir DIR *d = opendir(pool);
  struct dirent *de;

  *ret_ready = *ret_booting = *ret_other = 0;
  while (d != NULL && (de = readdir(d)) != NULL)
    {
      cleanup_free char *k = NULL;
      cleanup_close int fd = -1;
      entry_status_t s;
      if (de->d_name[0] == '.')
        continue;
      fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        continue;
      s = entry_status(fd, &k);
      if (s == ENTRY_DEAD)
        {
          remove_entry(root, dirfd(d), de->d_name);
          continue;
        }
      if (s == ENTRY_BOOTING)
        (*ret_booting)++;
      else if (k != NULL && strcmp(k, key) == 0)
        (*ret_ready)++;
      else
        (*ret_other)++;
    }
}

/* Boot one warm VM. */
static int
pool_boot_one(const isolazi_sandbox_ctx_t *c, const char *root, const pool_cfg_t *p, const char *base, const char *key,
              const char *desc, isolazi_error_t *err)
{
  cleanup_free char *id = NULL, *dir = NULL;
  cleanup_close int fd = -1;
  sb_state_t st = { 0 };
  struct timespec t;
  int r = -1;

  clock_gettime(CLOCK_REALTIME, &t);
  id = xasprintf("warm-%llx%05lx", (unsigned long long)t.tv_sec, (unsigned long)(t.tv_nsec / 10000) & 0xfffff);
  dir = xasprintf("%s/" SB_DIR_POOL "/%s", root, id);
  if (mkdir(dir, 0700) < 0)
    return isolazi_error_errno(err, "create `%s`", dir);
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || sb_lock(fd, err) < 0)
    goto fail;
  st.name = xstrdup(id);
  st.created = isolazi_now_rfc3339();
  st.source = xstrdup(desc);
  st.base = xstrdup(base);
  st.cpus = p->cpus;
  st.memory_mib = p->memory_mib;
  st.disk_mib = p->disk_mib;
  st.network = xstrdup("none");
  st.pool_key = xstrdup(key);
  if (sb_layer_create(root, id, base, true, &st.active, err) < 0)
    goto fail;
  sb_state_add_layer(&st, st.active);
  if (sb_state_save(fd, &st, err) < 0 || sb_daemon_start(c, dir, &st, err) < 0)
    goto fail;
  {
    /* Warm the VM up: the shell and the loader come into the guest's page cache now rather than
     * at the first exec of whoever takes it. */
    char *warm[] = { (char *)"/bin/sh", (char *)"-c", (char *)"true", NULL };
    isolazi_sandbox_exec_options_t o = { .args = warm, .in_fd = -1, .out_fd = -1, .err_fd = -1 };
    isolazi_sandbox_exec_result_t res;
    isolazi_error_t e = ISOLAZI_ERROR_INIT;
    (void)sb_exec_at(fd, id, &o, &res, &e);
    isolazi_sandbox_exec_result_release(&res);
    isolazi_error_release(&e);
  }
  r = 0;
  goto out;
fail:
  if (st.active != NULL)
    (void)unlink(st.active);
  {
    cleanup_free char *pool = xasprintf("%s/" SB_DIR_POOL, root);
    cleanup_close int pfd = open(pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd >= 0)
      (void)isolazi_state_dir_remove(pfd, id, NULL);
  }
  isolazi_error_wrap(err, "boot a warm VM");
out:
  sb_state_release(&st);
  return r;
}

int
isolazi_sandbox_pool_fill(const isolazi_sandbox_ctx_t *c, isolazi_error_t *err)
{
  cleanup_free char *root = NULL, *rootfs = NULL, *stamp = NULL, *desc = NULL, *base = NULL, *key = NULL;
  cleanup_close int rootfd = sb_root_open(c, &root, err), fill_lock = -1;
  pool_cfg_t p;
  int booted = 0, r;

  if (rootfd < 0)
    return -1;
  r = pool_cfg_load(root, &p, err);
  if (r <= 0)
    return r < 0 ? -1
                 : isolazi_error_set(err, 0,
                                     "fill the pool: no pool is configured (isolazi-vm sandbox pool "
                                     "config)");
  fill_lock = global_lock(root, POOL_FILL_LOCK, true);
  if (sb_source_resolve(root, p.preset, p.bundle, NULL, &rootfs, &stamp, &desc, err) < 0
      || sb_base_get(root, rootfs, stamp, p.disk_mib, &base, err) < 0)
    {
      pool_cfg_release(&p);
      return isolazi_error_wrap(err, "fill the pool");
    }
  key = sb_pool_key(base, p.cpus, p.memory_mib);
  for (;;)
    {
      unsigned ready, booting, other, total;
      {
        cleanup_close int l = global_lock(root, SB_GLOBAL_LOCK, true);
        pool_count(root, key, &ready, &booting, &other);
      }
      total = ready + booting + other;
      if (ready + booting >= p.target || total >= p.max)
        break;
      if (p.budget != 0 && (unsigned long)(total + 1) * p.memory_mib > p.budget && ready + booting >= p.min)
        break;
      if (pool_boot_one(c, root, &p, base, key, desc, err) < 0)
        {
          pool_cfg_release(&p);
          return -1;
        }
      booted++;
    }
  pool_cfg_release(&p);
  return booted;
}

void
sb_pool_refill_async(const isolazi_sandbox_ctx_t *c)
{
  cleanup_free char *root = sb_root(c), *cfg = xasprintf("%s/" SB_POOL_CONFIG, root);
  pid_t pid;

  if (access(cfg, F_OK) != 0)
    return;
  pid = fork();
  if (pid != 0)
    {
      if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
          ;
      return;
    }
  (void)setsid();
  if (fork() != 0)
    _exit(0);
  {
    isolazi_error_t e = ISOLAZI_ERROR_INIT;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0)
      {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
    (void)isolazi_close_fds_from(3, NULL, 0, NULL);
    (void)isolazi_sandbox_pool_fill(c, &e);
    _exit(e.msg != NULL ? 1 : 0);
  }
}

int
isolazi_sandbox_pool_drain(const isolazi_sandbox_ctx_t *c, isolazi_error_t *err)
{
  cleanup_free char *root = NULL, *pool = NULL;
  cleanup_close int rootfd = sb_root_open(c, &root, err), lockfd = -1, pfd = -1;
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int n = 0;

  if (rootfd < 0)
    return -1;
  lockfd = global_lock(root, SB_GLOBAL_LOCK, true);
  pool = xasprintf("%s/" SB_DIR_POOL, root);
  d = opendir(pool);
  if (d == NULL)
    return 0;
  while ((de = readdir(d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      remove_entry(root, dirfd(d), de->d_name);
      n++;
    }
  return n;
}

char *
isolazi_sandbox_pool_status_json(const isolazi_sandbox_ctx_t *c, isolazi_error_t *err)
{
  cleanup_free char *root = NULL, *rootfs = NULL, *stamp = NULL, *desc = NULL, *base = NULL, *key = NULL;
  cleanup_free char *perr = NULL;
  cleanup_close int rootfd = sb_root_open(c, &root, err);
  unsigned ready = 0, booting = 0, other = 0;
  json_gen *g;
  pool_cfg_t p;
  char *out = NULL;
  size_t len;
  int r;

  if (rootfd < 0)
    return NULL;
  r = pool_cfg_load(root, &p, err);
  if (r < 0)
    return NULL;
  if (r > 0 && sb_source_resolve(root, p.preset, p.bundle, NULL, &rootfs, &stamp, &desc, NULL) == 0
      && sb_base_get(root, rootfs, stamp, p.disk_mib, &base, NULL) == 0)
    key = sb_pool_key(base, p.cpus, p.memory_mib);
  {
    cleanup_close int l = global_lock(root, SB_GLOBAL_LOCK, true);
    pool_count(root, key != NULL ? key : "", &ready, &booting, &other);
  }
  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, "configured");
  json_gen_bool(g, r > 0);
  if (r > 0)
    {
      json_gen_key(g, "source");
      json_gen_string(g, desc);
      json_gen_key(g, "cpus");
      json_gen_uint64(g, p.cpus);
      json_gen_key(g, "memory_mib");
      json_gen_uint64(g, p.memory_mib);
      json_gen_key(g, "min");
      json_gen_uint64(g, p.min);
      json_gen_key(g, "max");
      json_gen_uint64(g, p.max);
      json_gen_key(g, "target");
      json_gen_uint64(g, p.target);
      json_gen_key(g, "memory_budget_mib");
      json_gen_uint64(g, p.budget);
    }
  json_gen_key(g, "ready");
  json_gen_uint64(g, ready);
  json_gen_key(g, "booting");
  json_gen_uint64(g, booting);
  json_gen_key(g, "other");
  json_gen_uint64(g, other);
  json_gen_key(g, "memory_in_use_mib");
  json_gen_uint64(g, (uint64_t)(ready + booting) * (r > 0 ? p.memory_mib : 0));
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &perr) < 0)
    isolazi_error_set(err, ENOMEM, "describe the pool");
  json_gen_free(g);
  pool_cfg_release(&p);
  return out;
}
