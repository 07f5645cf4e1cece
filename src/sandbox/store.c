/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox store: the root's layout, state.json (written atomically and durably: a crash
 * leaves the old or the new state, and no sandbox is lost), and the daemon's runtime file with
 * reaping of daemons that died. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *
sb_root(const isolazi_sandbox_ctx_t *c)
{
  const char *env = getenv("ISOLAZI_VM_SANDBOX_ROOT");

  if (c != NULL && c->root != NULL && c->root[0] != '\0')
    return xstrdup(c->root);
  return xstrdup(env != NULL && env[0] != '\0' ? env : ISOLAZI_SANDBOX_DEFAULT_ROOT);
}

int
sb_root_open(const isolazi_sandbox_ctx_t *c, char **ret_path, isolazi_error_t *err)
{
  static const char *const subdirs[] = { SB_DIR_SANDBOXES, SB_DIR_POOL, SB_DIR_LAYERS, SB_DIR_IMAGES };
  cleanup_free char *root = sb_root(c);
  size_t i;
  int fd;

  if (isolazi_mkdir_p(root, 0700, err) < 0)
    return isolazi_error_wrap(err, "create the sandbox root");
  fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open the sandbox root `%s`", root);
  for (i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++)
    if (mkdirat(fd, subdirs[i], 0700) < 0 && errno != EEXIST)
      {
        isolazi_error_errno(err, "create `%s/%s`", root, subdirs[i]);
        close(fd);
        return -1;
      }
  if (ret_path != NULL)
    *ret_path = steal_pointer(&root);
  return fd;
}

int
sb_lock(int fd, isolazi_error_t *err)
{
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return isolazi_error_errno(err, "lock the sandbox");
  return 0;
}

void
sb_state_release(sb_state_t *s)
{
  size_t i;

  free(s->name);
  free(s->created);
  free(s->source);
  free(s->base);
  free(s->network);
  free(s->ports);
  free(s->active);
  free(s->head);
  for (i = 0; i < s->snapshots_len; i++)
    {
      free(s->snapshots[i].name);
      free(s->snapshots[i].layer);
      free(s->snapshots[i].parent);
      free(s->snapshots[i].created);
    }
  free(s->snapshots);
  for (i = 0; i < s->layers_len; i++)
    free(s->layers[i]);
  free(s->layers);
  for (i = 0; i < s->peers_len; i++)
    {
      free(s->peers[i].to);
      free(s->peers[i].addr);
    }
  free(s->peers);
  free(s->forked_from);
  free(s->pool_key);
  memset(s, 0, sizeof *s);
}

void
sb_state_add_layer(sb_state_t *s, const char *layer)
{
  size_t i;

  for (i = 0; i < s->layers_len; i++)
    if (strcmp(s->layers[i], layer) == 0)
      return;
  s->layers = xrealloc(s->layers, (s->layers_len + 2) * sizeof *s->layers);
  s->layers[s->layers_len++] = xstrdup(layer);
  s->layers[s->layers_len] = NULL;
}

void
sb_state_remove_layer(sb_state_t *s, const char *layer)
{
  size_t i;

  for (i = 0; i < s->layers_len; i++)
    if (strcmp(s->layers[i], layer) == 0)
      {
        free(s->layers[i]);
        memmove(&s->layers[i], &s->layers[i + 1], (s->layers_len - i) * sizeof *s->layers);
        s->layers_len--;
        return;
      }
}

const sb_snapshot_t *
sb_state_find_snapshot(const sb_state_t *s, const char *name)
{
  size_t i;

  for (i = 0; i < s->snapshots_len; i++)
    if (strcmp(s->snapshots[i].name, name) == 0)
      return &s->snapshots[i];
  return NULL;
}

static char *
opt_string(const json_value *o, const char *key)
{
  const char *s = json_get_string(json_object_get(o, key));
  return s != NULL ? xstrdup(s) : NULL;
}

static unsigned
opt_uint(const json_value *o, const char *key)
{
  uint64_t v = 0;

  if (!json_get_uint64(json_object_get(o, key), &v) || v > 0xffffffffu)
    return 0;
  return (unsigned)v;
}

static void
json_valuep(json_value **v)
{
  json_value_free(*v);
}

sb_state_t *
sb_state_parse(const char *text, size_t len, isolazi_error_t *err)
{
  __attribute__((cleanup(json_valuep))) json_value *v = NULL;
  const json_value *a;
  char *perr = NULL;
  sb_state_t *s;
  size_t i;

  v = json_parse(text, len, &perr);
  if (v == NULL)
    {
      isolazi_error_take(err, EINVAL, perr);
      return NULL;
    }
  if (json_typeof(v) != JSON_OBJECT || json_get_string(json_object_get(v, "name")) == NULL
      || json_get_string(json_object_get(v, "active")) == NULL || json_get_string(json_object_get(v, "base")) == NULL)
    {
      isolazi_error_set(err, 0, "state.json: `name`, `base` and `active` are required");
      return NULL;
    }
  s = xcalloc(1, sizeof *s);
  s->name = opt_string(v, "name");
  s->created = opt_string(v, "created");
  s->source = opt_string(v, "source");
  s->base = opt_string(v, "base");
  s->cpus = opt_uint(v, "cpus");
  s->memory_mib = opt_uint(v, "memory_mib");
  s->disk_mib = opt_uint(v, "disk_mib");
  s->network = opt_string(v, "network");
  if (s->network == NULL)
    s->network = xstrdup("none");
  s->active = opt_string(v, "active");
  s->head = opt_string(v, "head");
  s->forked_from = opt_string(v, "forked_from");
  s->pool_key = opt_string(v, "pool_key");
  a = json_object_get(v, "ports");
  for (i = 0; i < json_array_len(a); i++)
    {
      const json_value *p = json_array_get(a, i);
      s->ports = xrealloc(s->ports, (s->ports_len + 1) * sizeof *s->ports);
      s->ports[s->ports_len].host = (uint16_t)opt_uint(p, "host");
      s->ports[s->ports_len].guest = (uint16_t)opt_uint(p, "guest");
      s->ports_len++;
    }
  a = json_object_get(v, "snapshots");
  for (i = 0; i < json_array_len(a); i++)
    {
      const json_value *p = json_array_get(a, i);
      sb_snapshot_t *sn;
      if (json_get_string(json_object_get(p, "name")) == NULL || json_get_string(json_object_get(p, "layer")) == NULL)
        continue;
      s->snapshots = xrealloc(s->snapshots, (s->snapshots_len + 1) * sizeof *s->snapshots);
      sn = &s->snapshots[s->snapshots_len++];
      sn->name = opt_string(p, "name");
      sn->layer = opt_string(p, "layer");
      sn->parent = opt_string(p, "parent");
      sn->created = opt_string(p, "created");
    }
  a = json_object_get(v, "allow");
  for (i = 0; i < json_array_len(a); i++)
    {
      const json_value *p = json_array_get(a, i);
      unsigned port = opt_uint(p, "port");
      const char *to = json_get_string(json_object_get(p, "to")), *addr = json_get_string(json_object_get(p, "addr"));
      if (to == NULL || addr == NULL || port == 0 || port > 65535)
        continue;
      s->peers = xrealloc(s->peers, (s->peers_len + 1) * sizeof *s->peers);
      s->peers[s->peers_len].to = xstrdup(to);
      s->peers[s->peers_len].addr = xstrdup(addr);
      s->peers[s->peers_len].port = (uint16_t)port;
      s->peers_len++;
    }
  a = json_object_get(v, "layers");
  for (i = 0; i < json_array_len(a); i++)
    if (json_get_string(json_array_get(a, i)) != NULL)
      sb_state_add_layer(s, json_get_string(json_array_get(a, i)));
  return s;
}

static void
gen_opt_string(json_gen *g, const char *key, const char *v)
{
  json_gen_key(g, key);
  json_gen_string(g, v);
}

char *
sb_state_json(const sb_state_t *s, bool pretty)
{
  json_gen *g = json_gen_new(pretty);
  char *out = NULL, *perr = NULL;
  size_t len, i;

  json_gen_object_open(g);
  gen_opt_string(g, "name", s->name);
  gen_opt_string(g, "created", s->created);
  gen_opt_string(g, "source", s->source);
  gen_opt_string(g, "base", s->base);
  json_gen_key(g, "cpus");
  json_gen_uint64(g, s->cpus);
  json_gen_key(g, "memory_mib");
  json_gen_uint64(g, s->memory_mib);
  json_gen_key(g, "disk_mib");
  json_gen_uint64(g, s->disk_mib);
  gen_opt_string(g, "network", s->network);
  json_gen_key(g, "ports");
  json_gen_array_open(g);
  for (i = 0; i < s->ports_len; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "host");
      json_gen_uint64(g, s->ports[i].host);
      json_gen_key(g, "guest");
      json_gen_uint64(g, s->ports[i].guest);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  gen_opt_string(g, "active", s->active);
  gen_opt_string(g, "head", s->head);
  json_gen_key(g, "snapshots");
  json_gen_array_open(g);
  for (i = 0; i < s->snapshots_len; i++)
    {
      json_gen_object_open(g);
      gen_opt_string(g, "name", s->snapshots[i].name);
      gen_opt_string(g, "parent", s->snapshots[i].parent);
      gen_opt_string(g, "created", s->snapshots[i].created);
      gen_opt_string(g, "layer", s->snapshots[i].layer);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  json_gen_key(g, "allow");
  json_gen_array_open(g);
  for (i = 0; i < s->peers_len; i++)
    {
      json_gen_object_open(g);
      gen_opt_string(g, "to", s->peers[i].to);
      json_gen_key(g, "port");
      json_gen_uint64(g, s->peers[i].port);
      gen_opt_string(g, "addr", s->peers[i].addr);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  json_gen_key(g, "layers");
  json_gen_array_open(g);
  for (i = 0; i < s->layers_len; i++)
    json_gen_string(g, s->layers[i]);
  json_gen_array_close(g);
  if (s->forked_from != NULL)
    gen_opt_string(g, "forked_from", s->forked_from);
  if (s->pool_key != NULL)
    gen_opt_string(g, "pool_key", s->pool_key);
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &perr) < 0)
    {
      free(perr);
      out = NULL;
    }
  json_gen_free(g);
  return out;
}

int
sb_state_load(int dirfd, sb_state_t *ret, isolazi_error_t *err)
{
  cleanup_free char *text = NULL;
  sb_state_t *s;
  size_t len;

  if (isolazi_read_file_at(dirfd, SB_STATE, &text, &len, err) < 0)
    return -1;
  s = sb_state_parse(text, len, err);
  if (s == NULL)
    return -1;
  *ret = *s;
  free(s);
  return 0;
}

int
sb_state_save(int dirfd, const sb_state_t *s, isolazi_error_t *err)
{
  cleanup_free char *text = sb_state_json(s, true);

  if (text == NULL)
    return isolazi_error_set(err, ENOMEM, "write the state of sandbox `%s`", s->name);
  return isolazi_write_file_atomic(dirfd, SB_STATE, text, strlen(text), 0600, true, err);
}

/* ---- runtime ------------------------------------------------------------------------------- */

bool
sb_alive(pid_t pid, unsigned long long start)
{
  cleanup_free char *path = xasprintf("/proc/%d/stat", (int)pid), *text = NULL;
  const char *p;
  size_t len;

  if (pid <= 0 || isolazi_process_start_time(pid) != start)
    return false;
  /* A zombie (killed, not yet reaped by whoever inherited it) is as dead as a gone process. */
  if (isolazi_read_file(path, &text, &len, NULL) < 0 || (p = strrchr(text, ')')) == NULL)
    return false;
  return p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

void
sb_runtime_release(sb_runtime_t *r)
{
  free(r->accel);
  memset(r, 0, sizeof *r);
}

int
sb_runtime_save(int dirfd, const sb_runtime_t *r, isolazi_error_t *err)
{
  cleanup_free char *text
      = xasprintf("{\"pid\": %d, \"pid_start\": %llu, \"qemu_pid\": %d, \"accel\": \"%s\", \"boot_ms\": %.1f}\n",
                  (int)r->pid, r->pid_start, (int)r->qemu_pid, r->accel != NULL ? r->accel : "", r->boot_ms);

  return isolazi_write_file_atomic(dirfd, SB_RUNTIME, text, strlen(text), 0600, false, err);
}

int
sb_runtime_get(int dirfd, sb_runtime_t *ret, char **ret_reaped)
{
  __attribute__((cleanup(json_valuep))) json_value *v = NULL;
  cleanup_free char *text = NULL, *perr = NULL;
  uint64_t u;
  size_t len;

  memset(ret, 0, sizeof *ret);
  if (ret_reaped != NULL)
    *ret_reaped = NULL;
  if (isolazi_read_file_at(dirfd, SB_RUNTIME, &text, &len, NULL) < 0)
    return 0;
  v = json_parse(text, len, &perr);
  if (v != NULL)
    {
      if (json_get_uint64(json_object_get(v, "pid"), &u))
        ret->pid = (pid_t)u;
      if (json_get_uint64(json_object_get(v, "pid_start"), &u))
        ret->pid_start = u;
      if (json_get_uint64(json_object_get(v, "qemu_pid"), &u))
        ret->qemu_pid = (pid_t)u;
      if (json_get_string(json_object_get(v, "accel")) != NULL)
        ret->accel = xstrdup(json_get_string(json_object_get(v, "accel")));
      (void)json_get_double(json_object_get(v, "boot_ms"), &ret->boot_ms);
    }
  if (ret->pid > 0 && sb_alive(ret->pid, ret->pid_start))
    return 1;
  /* The daemon is gone without cleaning up (killed): its QEMU died with it (PDEATHSIG).  Reap:
   * the sandbox is stopped, its disk is intact. */
  (void)unlinkat(dirfd, SB_SOCKET, 0);
  (void)unlinkat(dirfd, SB_RUNTIME, 0);
  {
    cleanup_free char *reason = xasprintf("its daemon (pid %d) died", (int)ret->pid);
    (void)isolazi_write_file_atomic(dirfd, SB_STOP_REASON, reason, strlen(reason), 0600, false, NULL);
    if (ret_reaped != NULL)
      *ret_reaped = steal_pointer(&reason);
  }
  sb_runtime_release(ret);
  return 0;
}
