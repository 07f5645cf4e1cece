/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "state.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
isolazi_state_root_open(const char *root, bool create, isolazi_error_t *err)
{
  int fd;

  if (create && isolazi_mkdir_p(root, 0700, err) < 0)
    return isolazi_error_wrap(err, "create state root");
  fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open state root `%s`", root);
  return fd;
}

int
isolazi_state_dir_create(int rootfd, const char *id, isolazi_error_t *err)
{
  int fd;

  if (mkdirat(rootfd, id, 0700) < 0)
    {
      if (errno == EEXIST)
        return isolazi_error_set(err, 0, "container `%s` already exists", id);
      return isolazi_error_errno(err, "create state directory for `%s`", id);
    }
  fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return isolazi_error_errno(err, "open state directory for `%s`", id);
  return fd;
}

int
isolazi_state_dir_open(int rootfd, const char *id, isolazi_error_t *err)
{
  int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    {
      if (errno == ENOENT)
        /* errno is kept for callers (delete --force) but not spelled out: clients match this text. */
        return isolazi_error_take(err, ENOENT, xasprintf("container `%s` does not exist", id));
      return isolazi_error_errno(err, "open state directory for `%s`", id);
    }
  return fd;
}

int
isolazi_state_lock(int dirfd, isolazi_error_t *err)
{
  while (flock(dirfd, LOCK_EX) < 0)
    if (errno != EINTR)
      return isolazi_error_errno(err, "lock the container state");
  return 0;
}

static void
gen_string_map(json_gen *g, const oci_string_map *m)
{
  size_t i;

  json_gen_object_open(g);
  for (i = 0; i < m->len; i++)
    {
      json_gen_key(g, m->keys[i]);
      json_gen_string(g, m->values[i]);
    }
  json_gen_object_close(g);
}

int
isolazi_state_save(int dirfd, const isolazi_state_t *s, isolazi_error_t *err)
{
  json_gen *g = json_gen_new(false);
  cleanup_free char *doc = NULL;
  char *gerr = NULL;
  size_t len;
  int r;

  json_gen_object_open(g);
  json_gen_key(g, "id");
  json_gen_string(g, s->id);
  json_gen_key(g, "pid");
  json_gen_int64(g, s->pid);
  json_gen_key(g, "pidStart");
  json_gen_uint64(g, s->pid_start);
  json_gen_key(g, "bundle");
  json_gen_string(g, s->bundle);
  json_gen_key(g, "rootfs");
  json_gen_string(g, s->rootfs);
  json_gen_key(g, "created");
  json_gen_string(g, s->created);
  json_gen_key(g, "owner");
  json_gen_string(g, s->owner != NULL ? s->owner : "");
  json_gen_key(g, "annotations");
  gen_string_map(g, &s->annotations);
  json_gen_key(g, "poststartHooks");
  json_gen_bool(g, s->poststart_hooks);
  json_gen_key(g, "poststopHooks");
  json_gen_bool(g, s->poststop_hooks);
  if (s->cgroup != NULL)
    {
      json_gen_key(g, "cgroup");
      isolazi_cgroup_to_json(s->cgroup, g);
    }
  json_gen_object_close(g);
  r = json_gen_finish(g, &doc, &len, &gerr);
  json_gen_free(g);
  if (r < 0)
    return isolazi_error_take(err, 0, gerr), isolazi_error_wrap(err, "write container state");
  return isolazi_write_file_atomic(dirfd, ISOLAZI_STATE_FILE, doc, len, 0600, false, err);
}

static char *
dup_member(const json_value *v, const char *key)
{
  return xstrdup(json_get_string(json_object_get(v, key)));
}

int
isolazi_state_load(int dirfd, const char *id, isolazi_state_t **ret, isolazi_error_t *err)
{
  cleanup_free char *text = NULL;
  const json_value *a, *cg;
  json_value *doc;
  isolazi_state_t *s;
  char *perr = NULL;
  int64_t pid = 0;
  uint64_t start = 0;
  size_t len, i, n;

  if (isolazi_read_file_at(dirfd, ISOLAZI_STATE_FILE, &text, &len, err) < 0)
    {
      /* A directory without state.json is a container whose create has not finished. */
      if (err->code == ENOENT)
        return isolazi_error_take(err, ENOENT, xasprintf("container `%s` is still being created", id));
      return isolazi_error_wrap(err, "load state of container `%s`", id);
    }
  doc = json_parse(text, len, &perr);
  if (doc == NULL)
    return isolazi_error_take(err, 0, perr), isolazi_error_wrap(err, "load state of container `%s`", id);
  s = xcalloc(1, sizeof *s);
  s->id = dup_member(doc, "id");
  (void)json_get_int64(json_object_get(doc, "pid"), &pid);
  (void)json_get_uint64(json_object_get(doc, "pidStart"), &start);
  s->pid = (pid_t)pid;
  s->pid_start = start;
  s->bundle = dup_member(doc, "bundle");
  s->rootfs = dup_member(doc, "rootfs");
  s->created = dup_member(doc, "created");
  s->owner = dup_member(doc, "owner");
  (void)json_get_bool(json_object_get(doc, "poststartHooks"), &s->poststart_hooks);
  (void)json_get_bool(json_object_get(doc, "poststopHooks"), &s->poststop_hooks);
  a = json_object_get(doc, "annotations");
  n = json_object_len(a);
  if (n > 0)
    {
      s->annotations.keys = xcalloc(n + 1, sizeof(char *));
      s->annotations.values = xcalloc(n + 1, sizeof(char *));
      for (i = 0; i < n; i++)
        {
          s->annotations.keys[i] = xstrdup(json_object_key(a, i));
          s->annotations.values[i] = xstrdup(json_get_string(json_object_value(a, i)));
        }
      s->annotations.len = n;
    }
  cg = json_object_get(doc, "cgroup");
  if (cg != NULL && isolazi_cgroup_from_json(cg, &s->cgroup, err) < 0)
    {
      json_value_free(doc);
      isolazi_state_free(s);
      return isolazi_error_wrap(err, "load state of container `%s`", id);
    }
  json_value_free(doc);
  if (s->id == NULL || s->bundle == NULL)
    {
      isolazi_state_free(s);
      return isolazi_error_set(err, 0, "load state of container `%s`: state file is incomplete", id);
    }
  *ret = s;
  return 0;
}

void
isolazi_state_free(isolazi_state_t *s)
{
  size_t i;

  if (s == NULL)
    return;
  free(s->id);
  free(s->bundle);
  free(s->rootfs);
  free(s->created);
  free(s->owner);
  for (i = 0; i < s->annotations.len; i++)
    {
      free(s->annotations.keys[i]);
      free(s->annotations.values[i]);
    }
  free(s->annotations.keys);
  free(s->annotations.values);
  isolazi_cgroup_free(s->cgroup);
  free(s);
}

int
isolazi_state_dir_remove(int rootfd, const char *id, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int fd;

  fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return isolazi_error_errno(err, "open state directory for `%s`", id);
    }
  d = fdopendir(fd);
  if (d == NULL)
    {
      (void)close(fd);
      return isolazi_error_errno(err, "read state directory for `%s`", id);
    }
  while ((de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
        return isolazi_error_errno(err, "remove `%s` from the state of `%s`", de->d_name, id);
    }
  if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return isolazi_error_errno(err, "remove state directory for `%s`", id);
  return 0;
}

const char *
isolazi_state_status(const isolazi_state_t *s, int dirfd)
{
  struct stat st;

  if (s->pid <= 0 || isolazi_process_start_time(s->pid) != s->pid_start)
    return "stopped";
  /* A frozen cgroup wins over created/running, as in runc (one small read of freezer.state or
   * cgroup.freeze). */
  if (s->cgroup != NULL && isolazi_cgroup_is_frozen(s->cgroup))
    return "paused";
  if (fstatat(dirfd, ISOLAZI_START_SOCKET, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return "created";
  return "running";
}

char *
isolazi_state_oci_json(const isolazi_state_t *s, const char *status, bool pretty)
{
  json_gen *g = json_gen_new(pretty);
  char *doc = NULL, *gerr = NULL;
  bool stopped = strcmp(status, "stopped") == 0;

  json_gen_object_open(g);
  json_gen_key(g, "ociVersion");
  json_gen_string(g, ISOLAZI_OCI_VERSION);
  json_gen_key(g, "id");
  json_gen_string(g, s->id);
  json_gen_key(g, "pid");
  json_gen_int64(g, stopped ? 0 : s->pid);
  json_gen_key(g, "status");
  json_gen_string(g, status);
  json_gen_key(g, "bundle");
  json_gen_string(g, s->bundle);
  json_gen_key(g, "rootfs");
  json_gen_string(g, s->rootfs);
  json_gen_key(g, "created");
  json_gen_string(g, s->created);
  if (s->annotations.len > 0)
    {
      json_gen_key(g, "annotations");
      gen_string_map(g, &s->annotations);
    }
  json_gen_key(g, "owner");
  json_gen_string(g, s->owner != NULL ? s->owner : "");
  json_gen_object_close(g);
  if (json_gen_finish(g, &doc, NULL, &gerr) < 0)
    {
      free(gerr);
      doc = NULL;
    }
  json_gen_free(g);
  if (doc == NULL)
    abort(); /* the writer does not validate UTF-8 (paths are bytes): only OOM gets here */
  return doc;
}
