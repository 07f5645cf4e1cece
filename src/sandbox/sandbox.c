/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox verbs: create, start, stop, destroy, list, info, snapshot, restore, fork, the
 * network policy and port forwards.  Each one locks the sandbox's directory, changes its state
 * (saved atomically and durably) and, when the VM must act, asks its daemon. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "utils.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
isolazi_sandbox_name_validate(const char *name, isolazi_error_t *err)
{
  size_t i, n = name != NULL ? strlen(name) : 0;

  if (n == 0 || n > 63 || !isalnum((unsigned char)name[0]))
    return isolazi_error_set(err, EINVAL,
                             "invalid sandbox name `%s`: expected 1-63 letters, digits, `_`, `.` or `-`, "
                             "starting with a letter or digit",
                             name != NULL ? name : "");
  for (i = 0; i < n; i++)
    if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '.' && name[i] != '-')
      return isolazi_error_set(err, EINVAL,
                               "invalid sandbox name `%s`: expected 1-63 letters, digits, `_`, `.` or `-`, "
                               "starting with a letter or digit",
                               name);
  return 0;
}

int
isolazi_sandbox_port_parse(const char *s, isolazi_sandbox_port_t *ret, isolazi_error_t *err)
{
  char *end;
  unsigned long h, g;

  h = strtoul(s, &end, 10);
  if (end == s || *end != ':')
    goto bad;
  g = strtoul(end + 1, &end, 10);
  if (*end != '\0' || h == 0 || h > 65535 || g == 0 || g > 65535)
    goto bad;
  ret->host = (uint16_t)h;
  ret->guest = (uint16_t)g;
  return 0;
bad:
  return isolazi_error_set(err, 0, "invalid port forward `%s`: expected HOST_PORT:GUEST_PORT (1-65535)", s);
}

static int
network_validate(const char *n, isolazi_error_t *err)
{
  if (strcmp(n, "none") != 0 && strcmp(n, "internet") != 0)
    return isolazi_error_set(err, 0, "invalid network policy `%s`: expected `none` or `internet`", n);
  return 0;
}

void
sb_close(sb_handle_t *h)
{
  if (h->dirfd >= 0)
    close(h->dirfd);
  if (h->rootfd >= 0)
    close(h->rootfd);
  free(h->root);
  free(h->dir);
  sb_state_release(&h->st);
  memset(h, 0, sizeof *h);
  h->dirfd = h->rootfd = -1;
}

int
sb_open(const isolazi_sandbox_ctx_t *c, const char *name, sb_handle_t *h, isolazi_error_t *err)
{
  cleanup_free char *rel = NULL;

  memset(h, 0, sizeof *h);
  h->dirfd = h->rootfd = -1;
  if (isolazi_sandbox_name_validate(name, err) < 0)
    return -1;
  h->rootfd = sb_root_open(c, &h->root, err);
  if (h->rootfd < 0)
    return -1;
  rel = xasprintf(SB_DIR_SANDBOXES "/%s", name);
  h->dir = xasprintf("%s/%s", h->root, rel);
  h->dirfd = openat(h->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (h->dirfd < 0 && errno == ENOENT)
    return isolazi_error_set(err, 0, "sandbox `%s` does not exist", name);
  if (h->dirfd < 0)
    return isolazi_error_errno(err, "open sandbox `%s`", name);
  if (sb_lock(h->dirfd, err) < 0)
    return -1;
  if (sb_state_load(h->dirfd, &h->st, err) < 0)
    return isolazi_error_wrap(err, "load sandbox `%s`", name);
  return 0;
}

static bool
running(sb_handle_t *h)
{
  sb_runtime_t rt;
  int r = sb_runtime_get(h->dirfd, &rt, NULL);

  sb_runtime_release(&rt);
  return r > 0;
}

static void
remove_sandbox_dir(const char *root, const char *name)
{
  cleanup_free char *path = xasprintf("%s/" SB_DIR_SANDBOXES, root);
  cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0)
    (void)isolazi_state_dir_remove(fd, name, NULL);
}

/* Make the directory of a new sandbox and lock it. */
static int
new_dir(const char *root, const char *name, char **ret_dir, isolazi_error_t *err)
{
  cleanup_free char *dir = xasprintf("%s/" SB_DIR_SANDBOXES "/%s", root, name);
  int fd;

  if (mkdir(dir, 0700) < 0)
    {
      if (errno == EEXIST)
        return isolazi_error_set(err, 0, "sandbox `%s` already exists", name);
      return isolazi_error_errno(err, "create `%s`", dir);
    }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", dir);
  (void)sb_lock(fd, NULL);
  *ret_dir = steal_pointer(&dir);
  return fd;
}

int
isolazi_sandbox_create(const isolazi_sandbox_ctx_t *c, const isolazi_sandbox_create_options_t *o, bool *ret_from_pool,
                       isolazi_error_t *err)
{
  cleanup_free char *root = NULL, *rootfs = NULL, *stamp = NULL, *desc = NULL, *base = NULL, *dir = NULL;
  cleanup_free char *key = NULL, *path = NULL;
  cleanup_close int rootfd = -1, dirfd = -1;
  const char *network = o->network != NULL ? o->network : "none";
  sb_state_t st = { 0 };
  struct stat sst;
  size_t i;
  int r;

  if (ret_from_pool != NULL)
    *ret_from_pool = false;
  if (isolazi_sandbox_name_validate(o->name, err) < 0 || network_validate(network, err) < 0)
    return -1;
  for (i = 0; i < o->ports_len; i++)
    if (o->ports[i].host == 0 || o->ports[i].guest == 0)
      return isolazi_error_set(err, 0, "invalid port forward: ports must be 1-65535");
  rootfd = sb_root_open(c, &root, err);
  if (rootfd < 0)
    return -1;
  path = xasprintf("%s/" SB_DIR_SANDBOXES "/%s", root, o->name);
  if (stat(path, &sst) == 0)
    return isolazi_error_set(err, 0, "sandbox `%s` already exists", o->name);
  if (sb_source_resolve(root, o->preset, o->bundle, o->image, &rootfs, &stamp, &desc, err) < 0)
    return -1;
  st.cpus = o->cpus ? o->cpus : 1;
  st.memory_mib = o->memory_mib ? o->memory_mib : VM_DEFAULT_RAM_MIB;
  st.disk_mib = o->disk_mib ? o->disk_mib : 1024;
  if (st.memory_mib < VM_MIN_RAM_MIB)
    return isolazi_error_set(err, 0, "invalid memory %u MiB: at least %u MiB", st.memory_mib, VM_MIN_RAM_MIB);
  if (st.disk_mib < 64)
    return isolazi_error_set(err, 0, "invalid disk size %u MiB: at least 64 MiB", st.disk_mib);
  if (sb_base_get(root, rootfs, stamp, st.disk_mib, &base, err) < 0)
    return -1;

  /* A warm VM of the same base and machine, when the policy is the pool's (no network, no
   * forwards at boot). */
  if (!o->no_pool && strcmp(network, "none") == 0 && o->ports_len == 0)
    {
      key = sb_pool_key(base, st.cpus, st.memory_mib);
      r = sb_pool_take(c, key, o->name, err);
      if (r < 0)
        return -1;
      if (r > 0)
        {
          if (ret_from_pool != NULL)
            *ret_from_pool = true;
          sb_pool_refill_async(c);
          return 0;
        }
    }

  dirfd = new_dir(root, o->name, &dir, err);
  if (dirfd < 0)
    return -1;
  st.name = xstrdup(o->name);
  st.created = isolazi_now_rfc3339();
  st.source = steal_pointer(&desc);
  st.base = xstrdup(base);
  st.network = xstrdup(network);
  if (o->ports_len > 0)
    {
      st.ports = xcalloc(o->ports_len, sizeof *st.ports);
      memcpy(st.ports, o->ports, o->ports_len * sizeof *st.ports);
      st.ports_len = o->ports_len;
    }
  if (sb_layer_create(root, o->name, base, true, &st.active, err) < 0)
    goto fail;
  sb_state_add_layer(&st, st.active);
  if (sb_state_save(dirfd, &st, err) < 0 || sb_daemon_start(c, dir, &st, err) < 0)
    goto fail;
  sb_state_release(&st);
  /* A pool of this source may have been waiting for its first use: keep it full. */
  sb_pool_refill_async(c);
  return 0;
fail:
  if (st.active != NULL)
    (void)unlink(st.active);
  remove_sandbox_dir(root, o->name);
  sb_state_release(&st);
  return isolazi_error_wrap(err, "create sandbox `%s`", o->name);
}

int
isolazi_sandbox_start(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err)
{
  sb_handle_t h;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    goto out;
  if (running(&h))
    {
      isolazi_error_set(err, 0, "sandbox `%s` is already running", name);
      goto out;
    }
  r = sb_daemon_start(c, h.dir, &h.st, err);
  if (r < 0)
    isolazi_error_wrap(err, "start sandbox `%s`", name);
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_stop(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err)
{
  sb_handle_t h;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    goto out;
  r = sb_daemon_stop(h.dirfd, 10000, err);
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_destroy(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err)
{
  cleanup_strv char **layers = NULL;
  sb_handle_t h;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    {
      /* A directory without a readable state is still ours to remove. */
      if (h.dirfd >= 0)
        {
          isolazi_error_release(err);
          (void)sb_daemon_stop(h.dirfd, 3000, NULL);
          remove_sandbox_dir(h.root, name);
          r = 0;
        }
      goto out;
    }
  (void)sb_daemon_stop(h.dirfd, 3000, NULL);
  layers = steal_pointer(&h.st.layers);
  h.st.layers_len = 0;
  remove_sandbox_dir(h.root, name);
  sb_layers_gc(h.root, layers);
  r = 0;
out:
  sb_close(&h);
  return r;
}

/* ---- list and info --------------------------------------------------------------------------- */

void
isolazi_sandbox_summaries_free(isolazi_sandbox_summary_t *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      free(s[i].name);
      free(s[i].status);
      free(s[i].image);
      free(s[i].network);
      free(s[i].reaped);
    }
  free(s);
}

static int
cmp_summary(const void *a, const void *b)
{
  return strcmp(((const isolazi_sandbox_summary_t *)a)->name, ((const isolazi_sandbox_summary_t *)b)->name);
}

int
isolazi_sandbox_list(const isolazi_sandbox_ctx_t *c, isolazi_sandbox_summary_t **ret, size_t *ret_len,
                     isolazi_error_t *err)
{
  cleanup_free char *root = NULL;
  cleanup_close int rootfd = sb_root_open(c, &root, err);
  cleanup_closedir DIR *d = NULL;
  isolazi_sandbox_summary_t *out = NULL;
  struct dirent *de;
  size_t n = 0;

  *ret = NULL;
  *ret_len = 0;
  if (rootfd < 0)
    return -1;
  {
    int fd = openat(rootfd, SB_DIR_SANDBOXES, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (d = fdopendir(fd)) == NULL)
      {
        if (fd >= 0)
          close(fd);
        return isolazi_error_errno(err, "read `%s/" SB_DIR_SANDBOXES "`", root);
      }
  }
  while ((de = readdir(d)) != NULL)
    {
      cleanup_close int fd = -1;
      sb_state_t st;
      sb_runtime_t rt;
      char *reaped = NULL;
      int on;
      if (de->d_name[0] == '.')
        continue;
      fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || sb_state_load(fd, &st, NULL) < 0)
        continue;
      on = sb_runtime_get(fd, &rt, &reaped);
      sb_runtime_release(&rt);
      out = xrealloc(out, (n + 1) * sizeof *out);
      out[n] = (isolazi_sandbox_summary_t){ .name = xstrdup(de->d_name),
                                            .status = xstrdup(on > 0 ? "running" : "stopped"),
                                            .image = xstrdup(st.source),
                                            .network = xstrdup(st.network),
                                            .cpus = st.cpus,
                                            .memory_mib = st.memory_mib,
                                            .snapshots = st.snapshots_len,
                                            .reaped = reaped };
      n++;
      sb_state_release(&st);
    }
  if (n > 0)
    qsort(out, n, sizeof *out, cmp_summary);
  *ret = out;
  *ret_len = n;
  return 0;
}

char *
isolazi_sandbox_info_json(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_error_t *err)
{
  cleanup_free char *reason = NULL, *reaped = NULL, *perr = NULL;
  json_gen *g;
  sb_runtime_t rt;
  sb_handle_t h;
  char *out = NULL;
  size_t len, i;
  int on;

  if (sb_open(c, name, &h, err) < 0)
    {
      sb_close(&h);
      return NULL;
    }
  on = sb_runtime_get(h.dirfd, &rt, &reaped);
  if (on <= 0)
    (void)isolazi_read_file_at(h.dirfd, SB_STOP_REASON, &reason, &len, NULL);
  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, "name");
  json_gen_string(g, h.st.name);
  json_gen_key(g, "status");
  json_gen_string(g, on > 0 ? "running" : "stopped");
  if (on <= 0 && reason != NULL)
    {
      json_gen_key(g, "stopped_reason");
      json_gen_string(g, reason);
    }
  json_gen_key(g, "source");
  json_gen_string(g, h.st.source);
  json_gen_key(g, "created");
  json_gen_string(g, h.st.created);
  json_gen_key(g, "cpus");
  json_gen_uint64(g, h.st.cpus);
  json_gen_key(g, "memory_mib");
  json_gen_uint64(g, h.st.memory_mib);
  json_gen_key(g, "disk_mib");
  json_gen_uint64(g, h.st.disk_mib);
  json_gen_key(g, "network");
  json_gen_string(g, h.st.network);
  json_gen_key(g, "ports");
  json_gen_array_open(g);
  for (i = 0; i < h.st.ports_len; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "host");
      json_gen_uint64(g, h.st.ports[i].host);
      json_gen_key(g, "guest");
      json_gen_uint64(g, h.st.ports[i].guest);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  json_gen_key(g, "allow");
  json_gen_array_open(g);
  for (i = 0; i < h.st.peers_len; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "to");
      json_gen_string(g, h.st.peers[i].to);
      json_gen_key(g, "port");
      json_gen_uint64(g, h.st.peers[i].port);
      json_gen_key(g, "addr");
      json_gen_string(g, h.st.peers[i].addr);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  json_gen_key(g, "head");
  json_gen_string(g, h.st.head);
  json_gen_key(g, "snapshots");
  json_gen_array_open(g);
  for (i = 0; i < h.st.snapshots_len; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "name");
      json_gen_string(g, h.st.snapshots[i].name);
      json_gen_key(g, "parent");
      json_gen_string(g, h.st.snapshots[i].parent);
      json_gen_key(g, "created");
      json_gen_string(g, h.st.snapshots[i].created);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  if (h.st.forked_from != NULL)
    {
      json_gen_key(g, "forked_from");
      json_gen_string(g, h.st.forked_from);
    }
  if (on > 0)
    {
      json_gen_key(g, "pid");
      json_gen_int64(g, rt.pid);
      json_gen_key(g, "qemu_pid");
      json_gen_int64(g, rt.qemu_pid);
      json_gen_key(g, "accel");
      json_gen_string(g, rt.accel);
      json_gen_key(g, "boot_ms");
      json_gen_double(g, rt.boot_ms);
    }
  json_gen_key(g, "disk");
  json_gen_string(g, h.st.active);
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &perr) < 0)
    isolazi_error_set(err, ENOMEM, "describe sandbox `%s`", name);
  json_gen_free(g);
  sb_runtime_release(&rt);
  sb_close(&h);
  return out;
}

/* ---- snapshots ----------------------------------------------------------------------------- */

static int
snapshot_locked(sb_handle_t *h, const char *snapshot, char **ret_name, double *ret_ms, isolazi_error_t *err)
{
  cleanup_free char *snap = NULL, *file = NULL;
  double t0 = sb_now_ms();
  sb_snapshot_t *sn;
  size_t i;

  if (snapshot != NULL)
    {
      if (isolazi_sandbox_name_validate(snapshot, err) < 0)
        return isolazi_error_wrap(err, "snapshot");
      snap = xstrdup(snapshot);
    }
  else
    for (i = h->st.snapshots_len + 1; snap == NULL || sb_state_find_snapshot(&h->st, snap) != NULL; i++)
      {
        free(snap);
        snap = xasprintf("snap-%zu", i);
      }
  if (sb_state_find_snapshot(&h->st, snap) != NULL)
    return isolazi_error_set(err, 0, "sandbox `%s` already has a snapshot `%s`", h->st.name, snap);
  if (running(h))
    {
      cleanup_free char *req = NULL, *reply = NULL;
      struct timespec t;
      clock_gettime(CLOCK_REALTIME, &t);
      /* QEMU makes the new active layer over the current one, which becomes the snapshot. */
      file = xasprintf("%s/" SB_DIR_LAYERS "/%s-%llx%05lx.qcow2", h->root, h->st.name, (unsigned long long)t.tv_sec,
                       (unsigned long)(t.tv_nsec / 10000) & 0xfffff);
      req = xasprintf("{\"op\":\"snapshot\",\"file\":\"%s\"}", file);
      if (sb_ctl(h->dirfd, h->st.name, req, &reply, err) < 0)
        {
          (void)unlink(file);
          return -1;
        }
    }
  else if (sb_layer_create(h->root, h->st.name, h->st.active, false, &file, err) < 0)
    return -1;
  h->st.snapshots = xrealloc(h->st.snapshots, (h->st.snapshots_len + 1) * sizeof *h->st.snapshots);
  sn = &h->st.snapshots[h->st.snapshots_len++];
  sn->name = xstrdup(snap);
  sn->layer = steal_pointer(&h->st.active);
  sn->parent = xstrdup(h->st.head);
  sn->created = isolazi_now_rfc3339();
  h->st.active = xstrdup(file);
  free(h->st.head);
  h->st.head = xstrdup(snap);
  sb_state_add_layer(&h->st, file);
  if (sb_state_save(h->dirfd, &h->st, err) < 0)
    return -1;
  if (ret_ms != NULL)
    *ret_ms = sb_now_ms() - t0;
  if (ret_name != NULL)
    *ret_name = steal_pointer(&snap);
  return 0;
}

int
isolazi_sandbox_snapshot(const isolazi_sandbox_ctx_t *c, const char *name, const char *snapshot, char **ret_snapshot,
                         double *ret_ms, isolazi_error_t *err)
{
  sb_handle_t h;
  int r = -1;

  if (sb_open(c, name, &h, err) == 0)
    r = snapshot_locked(&h, snapshot, ret_snapshot, ret_ms, err);
  sb_close(&h);
  return r;
}

/* The backing file a qcow2 layer names (malloc'd), or NULL (none, not qcow2, unreadable).  The
 * header (QCOW2 spec, "Header"): magic, version, u64 backing_file_offset, u32 backing_file_size,
 * big-endian. */
static char *
layer_backing(const char *path)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  uint8_t h[20];
  uint64_t off = 0;
  uint32_t len = 0;
  char *out;
  int i;

  if (fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "QFI\xfb", 4) != 0)
    return NULL;
  for (i = 0; i < 8; i++)
    off = off << 8 | h[8 + i];
  for (i = 0; i < 4; i++)
    len = len << 8 | h[16 + i];
  if (off == 0 || len == 0 || len > 1023)
    return NULL;
  out = xmalloc(len + 1);
  if (pread(fd, out, len, (off_t)off) != (ssize_t)len)
    {
      free(out);
      return NULL;
    }
  out[len] = '\0';
  return out;
}

/* Whether layer is in the backing chain of top (top itself excluded). */
static bool
chain_has(const char *top, const char *layer)
{
  cleanup_free char *cur = xstrdup(top);
  int depth;

  for (depth = 0; depth < 256; depth++)
    {
      char *next = layer_backing(cur);
      if (next == NULL)
        return false;
      free(cur);
      cur = next;
      if (strcmp(cur, layer) == 0)
        return true;
    }
  return false;
}

/* Another sandbox whose disk (its active layer or a snapshot) sits on layer: a fork's name
 * (malloc'd), or NULL. */
static char *
layer_user(const sb_handle_t *h, const char *layer)
{
  cleanup_free char *path = xasprintf("%s/" SB_DIR_SANDBOXES, h->root);
  cleanup_closedir DIR *d = opendir(path);
  struct dirent *de;

  while (d != NULL && (de = readdir(d)) != NULL)
    {
      cleanup_close int fd = -1;
      sb_state_t st;
      bool uses;
      size_t i;
      if (de->d_name[0] == '.' || strcmp(de->d_name, h->st.name) == 0)
        continue;
      fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || sb_state_load(fd, &st, NULL) < 0)
        continue;
      uses = strcmp(st.active, layer) == 0 || chain_has(st.active, layer);
      for (i = 0; !uses && i < st.snapshots_len; i++)
        uses = strcmp(st.snapshots[i].layer, layer) == 0 || chain_has(st.snapshots[i].layer, layer);
      sb_state_release(&st);
      if (uses)
        return xstrdup(de->d_name);
    }
  return NULL;
}

int
isolazi_sandbox_snapshot_delete(const isolazi_sandbox_ctx_t *c, const char *name, const char *snapshot,
                                isolazi_error_t *err)
{
  cleanup_free char *user = NULL, *layer = NULL, *parent = NULL, *old_active = NULL;
  const sb_snapshot_t *sn;
  bool was_running = false, folded = false;
  sb_handle_t h;
  size_t i;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    goto out;
  sn = sb_state_find_snapshot(&h.st, snapshot);
  if (sn == NULL)
    {
      isolazi_error_set(err, 0, "sandbox `%s` has no snapshot `%s`", name, snapshot);
      goto out;
    }
  for (i = 0; i < h.st.snapshots_len; i++)
    if (h.st.snapshots[i].parent != NULL && strcmp(h.st.snapshots[i].parent, snapshot) == 0)
      {
        isolazi_error_set(err, EBUSY,
                          "delete snapshot `%s` of sandbox `%s`: snapshot `%s` is based on it; delete that first",
                          snapshot, name, h.st.snapshots[i].name);
        goto out;
      }
  user = layer_user(&h, sn->layer);
  if (user != NULL)
    {
      isolazi_error_set(
          err, EBUSY, "delete snapshot `%s` of sandbox `%s`: sandbox `%s` (a fork) is based on it; destroy that first",
          snapshot, name, user);
      goto out;
    }
  layer = xstrdup(sn->layer);
  parent = sn->parent != NULL ? xstrdup(sn->parent) : NULL;
  if (h.st.head != NULL && strcmp(h.st.head, snapshot) == 0)
    {
      /* The disk sits on it: fold what was written since into the snapshot's layer (qemu-img
       * commit writes the active layer's clusters into its backing file), which becomes the
       * active layer.  QEMU must not have the disk open meanwhile. */
      char *argv[]
          = { (char *)"qemu-img", (char *)"commit", (char *)"-q", (char *)"-f", (char *)"qcow2", h.st.active, NULL };
      was_running = running(&h);
      if (was_running && sb_daemon_stop(h.dirfd, 10000, err) < 0)
        goto out;
      if (vm_run_tool(argv, err) < 0)
        {
          isolazi_error_wrap(err, "delete snapshot `%s` of sandbox `%s`: fold the disk into it", snapshot, name);
          if (was_running)
            (void)sb_daemon_start(c, h.dir, &h.st, NULL);
          goto out;
        }
      old_active = steal_pointer(&h.st.active);
      sb_state_remove_layer(&h.st, old_active);
      h.st.active = xstrdup(layer);
      free(h.st.head);
      h.st.head = parent != NULL ? xstrdup(parent) : NULL;
      folded = true;
    }
  else
    sb_state_remove_layer(&h.st, layer);
  i = (size_t)(sn - h.st.snapshots);
  free(h.st.snapshots[i].name);
  free(h.st.snapshots[i].layer);
  free(h.st.snapshots[i].parent);
  free(h.st.snapshots[i].created);
  memmove(&h.st.snapshots[i], &h.st.snapshots[i + 1], (h.st.snapshots_len - i - 1) * sizeof *h.st.snapshots);
  h.st.snapshots_len--;
  if (sb_state_save(h.dirfd, &h.st, err) < 0)
    goto out;
  /* Only now, with the state saved, the file goes: a crash before leaves an unused layer. */
  (void)unlink(folded ? old_active : layer);
  r = 0;
  if (was_running && sb_daemon_start(c, h.dir, &h.st, err) < 0)
    r = isolazi_error_wrap(err, "restart sandbox `%s`", name);
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_restore(const isolazi_sandbox_ctx_t *c, const char *name, const char *snapshot, double *ret_ms,
                        isolazi_error_t *err)
{
  cleanup_free char *layer = NULL, *old = NULL;
  const sb_snapshot_t *sn;
  bool was_running;
  sb_handle_t h;
  double t0;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    goto out;
  sn = sb_state_find_snapshot(&h.st, snapshot);
  if (sn == NULL)
    {
      isolazi_error_set(err, 0, "sandbox `%s` has no snapshot `%s`", name, snapshot);
      goto out;
    }
  was_running = running(&h);
  if (was_running && sb_daemon_stop(h.dirfd, 10000, err) < 0)
    goto out;
  t0 = sb_now_ms();
  if (sb_layer_create(h.root, name, sn->layer, false, &layer, err) < 0)
    goto out;
  if (ret_ms != NULL)
    *ret_ms = sb_now_ms() - t0;
  old = steal_pointer(&h.st.active);
  sb_state_remove_layer(&h.st, old);
  h.st.active = xstrdup(layer);
  sb_state_add_layer(&h.st, layer);
  free(h.st.head);
  h.st.head = xstrdup(snapshot);
  if (sb_state_save(h.dirfd, &h.st, err) < 0)
    goto out;
  /* The old active layer is nobody's backing file: only snapshots are. */
  (void)unlink(old);
  r = 0;
  if (was_running && sb_daemon_start(c, h.dir, &h.st, err) < 0)
    r = isolazi_error_wrap(err, "restart sandbox `%s` on snapshot `%s`", name, snapshot);
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_fork(const isolazi_sandbox_ctx_t *c, const char *source, const char *name, const char *snapshot,
                     double *ret_ms, isolazi_error_t *err)
{
  cleanup_free char *snap = NULL, *dir = NULL, *path = NULL;
  cleanup_close int dirfd = -1;
  const sb_snapshot_t *sn;
  sb_state_t st = { 0 };
  struct stat sst;
  double t0 = sb_now_ms(), ms = 0;
  sb_handle_t h;
  size_t i;
  int r = -1;

  if (isolazi_sandbox_name_validate(name, err) < 0)
    return -1;
  if (sb_open(c, source, &h, err) < 0)
    goto out;
  path = xasprintf("%s/" SB_DIR_SANDBOXES "/%s", h.root, name);
  if (stat(path, &sst) == 0)
    {
      isolazi_error_set(err, 0, "sandbox `%s` already exists", name);
      goto out;
    }
  if (snapshot == NULL)
    {
      cleanup_free char *auto_name = xasprintf("fork-%s", name);
      if (snapshot_locked(&h, auto_name, &snap, NULL, err) < 0)
        goto out;
    }
  else
    snap = xstrdup(snapshot);
  sn = sb_state_find_snapshot(&h.st, snap);
  if (sn == NULL)
    {
      isolazi_error_set(err, 0, "sandbox `%s` has no snapshot `%s`", source, snap);
      goto out;
    }
  dirfd = new_dir(h.root, name, &dir, err);
  if (dirfd < 0)
    goto out;
  st.name = xstrdup(name);
  st.created = isolazi_now_rfc3339();
  st.source = xstrdup(h.st.source);
  st.base = xstrdup(h.st.base);
  st.cpus = h.st.cpus;
  st.memory_mib = h.st.memory_mib;
  st.disk_mib = h.st.disk_mib;
  st.network = xstrdup(h.st.network);
  st.forked_from = xasprintf("%s@%s", source, snap);
  if (sb_layer_create(h.root, name, sn->layer, false, &st.active, err) < 0)
    goto fail;
  ms = sb_now_ms() - t0;
  /* The fork needs the snapshot's chain: the source's layers but its active one. */
  for (i = 0; i < h.st.layers_len; i++)
    if (strcmp(h.st.layers[i], h.st.active) != 0)
      sb_state_add_layer(&st, h.st.layers[i]);
  sb_state_add_layer(&st, st.active);
  if (sb_state_save(dirfd, &st, err) < 0)
    goto fail;
  if (ret_ms != NULL)
    *ret_ms = ms;
  /* The source is free again while the fork boots. */
  sb_close(&h);
  if (sb_daemon_start(c, dir, &st, err) < 0)
    {
      isolazi_error_wrap(err, "start fork `%s`", name);
      /* The fork exists (stopped): `start` may retry, `destroy` removes it. */
      goto out;
    }
  r = 0;
  goto out;
fail:
  if (st.active != NULL)
    (void)unlink(st.active);
  remove_sandbox_dir(h.root, name);
out:
  sb_state_release(&st);
  sb_close(&h);
  return r;
}

/* ---- network ------------------------------------------------------------------------------- */

int
isolazi_sandbox_policy_set(const isolazi_sandbox_ctx_t *c, const char *name, const char *network, bool *ret_restarted,
                           isolazi_error_t *err)
{
  sb_handle_t h;
  int r = -1;

  *ret_restarted = false;
  if (network_validate(network, err) < 0)
    return -1;
  if (sb_open(c, name, &h, err) < 0)
    goto out;
  if (strcmp(h.st.network, network) == 0)
    {
      r = 0;
      goto out;
    }
  free(h.st.network);
  h.st.network = xstrdup(network);
  if (sb_state_save(h.dirfd, &h.st, err) < 0)
    goto out;
  r = 0;
  /* QEMU's user-mode network is fixed at boot: a running sandbox restarts (its disk stays). */
  if (running(&h))
    {
      if (sb_daemon_stop(h.dirfd, 10000, err) < 0 || sb_daemon_start(c, h.dir, &h.st, err) < 0)
        r = isolazi_error_wrap(err, "restart sandbox `%s` with network `%s`", name, network);
      else
        *ret_restarted = true;
    }
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_port_add(const isolazi_sandbox_ctx_t *c, const char *name, isolazi_sandbox_port_t p,
                         isolazi_error_t *err)
{
  sb_handle_t h;
  size_t i;
  int r = -1;

  if (p.host == 0 || p.guest == 0)
    return isolazi_error_set(err, 0, "invalid port forward: ports must be 1-65535");
  if (sb_open(c, name, &h, err) < 0)
    goto out;
  for (i = 0; i < h.st.ports_len; i++)
    if (h.st.ports[i].host == p.host)
      {
        isolazi_error_set(err, 0, "sandbox `%s` already forwards host port %u", name, p.host);
        goto out;
      }
  if (running(&h))
    {
      cleanup_free char *req = xasprintf("{\"op\":\"hostfwd_add\",\"host\":%u,\"guest\":%u}", p.host, p.guest);
      if (sb_ctl(h.dirfd, name, req, NULL, err) < 0)
        goto out;
    }
  h.st.ports = xrealloc(h.st.ports, (h.st.ports_len + 1) * sizeof *h.st.ports);
  h.st.ports[h.st.ports_len++] = p;
  r = sb_state_save(h.dirfd, &h.st, err);
out:
  sb_close(&h);
  return r;
}

int
isolazi_sandbox_port_remove(const isolazi_sandbox_ctx_t *c, const char *name, uint16_t host, isolazi_error_t *err)
{
  sb_handle_t h;
  size_t i;
  int r = -1;

  if (sb_open(c, name, &h, err) < 0)
    goto out;
  for (i = 0; i < h.st.ports_len; i++)
    if (h.st.ports[i].host == host)
      break;
  if (i == h.st.ports_len)
    {
      isolazi_error_set(err, 0, "sandbox `%s` does not forward host port %u", name, host);
      goto out;
    }
  if (running(&h))
    {
      cleanup_free char *req = xasprintf("{\"op\":\"hostfwd_remove\",\"host\":%u}", host);
      if (sb_ctl(h.dirfd, name, req, NULL, err) < 0)
        goto out;
    }
  memmove(&h.st.ports[i], &h.st.ports[i + 1], (h.st.ports_len - i - 1) * sizeof *h.st.ports);
  h.st.ports_len--;
  r = sb_state_save(h.dirfd, &h.st, err);
out:
  sb_close(&h);
  return r;
}
