/* SPDX-License-Identifier: Apache-2.0 */
/* Image config → runtime config, following image-spec conversion.md: start from the defaults
 * `isolazi spec` writes (spec.c), then apply the image's Entrypoint, Cmd, Env, WorkingDir,
 * User, StopSignal, ExposedPorts, Volumes and Labels, then the user's options.  Decides only:
 * the one thing it reads is the image's /etc/passwd and /etc/group, inside the rootfs. */
#include <config.h>

#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootfs.h"
#include "spec.h"
#include "utils.h"

#define DEFAULT_PATH  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ETC_MAX_SIZE  (16 * 1024 * 1024)
#define CPU_PERIOD_US 100000 /* the kernel's default CFS period, as docker's --cpus uses */

static char **
strv_new(size_t n)
{
  return xcalloc(n + 1, sizeof(char *));
}

static void
strv_free_n(char **v, size_t n)
{
  size_t i;

  if (v == NULL)
    return;
  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* ---- process.args ---- */

static int
set_args(oci_process *p, const oci_image_exec_config *x, const isolazi_bundle_opts_t *o, isolazi_error_t *err)
{
  const char *const *ep = NULL, *const *cmd = NULL;
  size_t nep = 0, ncmd = 0, i, n = 0;
  const char *one[1];
  char **args;

  if (o->entrypoint != NULL)
    {
      /* --entrypoint "" clears the image's, as with docker; an overridden entrypoint drops the
         image's Cmd, which was written for the old one. */
      if (o->entrypoint[0] != '\0')
        {
          one[0] = o->entrypoint;
          ep = one;
          nep = 1;
        }
    }
  else if (x != NULL)
    {
      ep = (const char *const *)x->entrypoint;
      nep = x->entrypoint_len;
    }
  if (o->args != NULL && o->nargs > 0)
    {
      cmd = o->args;
      ncmd = o->nargs;
    }
  else if (o->entrypoint == NULL && x != NULL)
    {
      cmd = (const char *const *)x->cmd;
      ncmd = x->cmd_len;
    }
  if (nep + ncmd == 0)
    return isolazi_error_set(err, 0, "the image has no Entrypoint or Cmd: give a command to run");
  args = strv_new(nep + ncmd);
  for (i = 0; i < nep; i++)
    args[n++] = xstrdup(ep[i]);
  for (i = 0; i < ncmd; i++)
    args[n++] = xstrdup(cmd[i]);
  strv_free_n(p->args, p->args_len);
  p->args = args;
  p->args_len = n;
  return 0;
}

/* ---- process.env ---- */

static size_t
key_len(const char *kv)
{
  const char *eq = strchr(kv, '=');
  return eq ? (size_t)(eq - kv) : strlen(kv);
}

static ssize_t
env_find(char **env, size_t n, const char *kv)
{
  size_t i, k = key_len(kv);

  for (i = 0; i < n; i++)
    if (key_len(env[i]) == k && strncmp(env[i], kv, k) == 0)
      return (ssize_t)i;
  return -1;
}

/* Set or replace KEY=V. */
static void
env_set(oci_process *p, const char *kv)
{
  ssize_t i = env_find(p->env, p->env_len, kv);

  if (i >= 0)
    {
      free(p->env[i]);
      p->env[i] = xstrdup(kv);
      return;
    }
  p->env = xrealloc(p->env, (p->env_len + 2) * sizeof(char *));
  p->env[p->env_len++] = xstrdup(kv);
  p->env[p->env_len] = NULL;
}

static int
set_env(oci_process *p, const oci_image_exec_config *x, const isolazi_bundle_opts_t *o, const char *home,
        isolazi_error_t *err)
{
  size_t i;

  /* Validate the user's first: nothing is built from bad input. */
  for (i = 0; i < o->nenv; i++)
    if (o->env[i] == NULL || strchr(o->env[i], '=') == NULL || o->env[i][0] == '=')
      return isolazi_error_set(err, 0, "environment `%s`: want KEY=VALUE", o->env[i] ? o->env[i] : "");

  /* The image's environment replaces the defaults (it has its own PATH, or should). */
  strv_free_n(p->env, p->env_len);
  p->env = strv_new(0);
  p->env_len = 0;
  if (x != NULL)
    for (i = 0; i < x->env_len; i++)
      if (x->env[i] != NULL && x->env[i][0] != '=' && x->env[i][0] != '\0')
        env_set(p, x->env[i]);
  for (i = 0; i < o->nenv; i++)
    env_set(p, o->env[i]);
  if (env_find(p->env, p->env_len, "PATH") < 0)
    env_set(p, DEFAULT_PATH);
  if (o->terminal && env_find(p->env, p->env_len, "TERM") < 0)
    env_set(p, "TERM=xterm");
  if (env_find(p->env, p->env_len, "HOME") < 0)
    {
      cleanup_free char *kv = xasprintf("HOME=%s", home != NULL && home[0] == '/' ? home : "/");
      env_set(p, kv);
    }
  return 0;
}

/* ---- process.user ---- */

/* The file etc/<name> of the image, resolved inside the rootfs (a symlink in the image cannot
   lead to the host's).  0 with *ret, 1 when the image has no such file, -1 on error. */
static int
read_etc(int rootfs_fd, const char *name, char **ret, isolazi_error_t *err)
{
  cleanup_free char *rel = xasprintf("etc/%s", name);
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  isolazi_error_t open_err = ISOLAZI_ERROR_INIT;
  size_t len = 0;
  ssize_t n;

  if (rootfs_fd < 0)
    return 1;
  fd = isolazi_rootfs_open_in_root(rootfs_fd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, false, &open_err);
  if (fd < 0)
    {
      if (open_err.code == ENOENT)
        {
          isolazi_error_release(&open_err);
          return 1;
        }
      isolazi_error_set(err, open_err.code, "read the image's /etc/%s", name);
      isolazi_error_release(&open_err);
      return -1;
    }
  buf = xmalloc(ETC_MAX_SIZE + 1);
  n = isolazi_read_all(fd, buf, ETC_MAX_SIZE + 1);
  if (n < 0)
    return isolazi_error_errno(err, "read the image's /etc/%s", name);
  len = (size_t)n;
  if (len > ETC_MAX_SIZE)
    return isolazi_error_set(err, EFBIG, "read the image's /etc/%s", name);
  buf[len] = '\0';
  *ret = steal_pointer(&buf);
  return 0;
}

/* Split a passwd/group line into at most max fields at ':' (in place).  Returns the count. */
static size_t
split_fields(char *line, char **fields, size_t max)
{
  size_t n = 0;

  fields[n++] = line;
  while (n < max && (line = strchr(line, ':')) != NULL)
    {
      *line++ = '\0';
      fields[n++] = line;
    }
  return n;
}

/* A decimal id in [0, 2^32-2] (2^32-1 is the kernel's "no id"). */
static bool
parse_id(const char *s, uint32_t *ret)
{
  unsigned long long v;
  char *end;

  if (s == NULL || *s < '0' || *s > '9')
    return false;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
    return false;
  *ret = (uint32_t)v;
  return true;
}

typedef struct
{
  bool found;
  uint32_t uid, gid;
  char *name, *home;
} passwd_entry;

/* The passwd entry of a name (by_name) or of a uid.  The first match wins, as with getpwnam. */
static void
passwd_lookup(char *text, const char *name, uint32_t uid, bool by_name, passwd_entry *ret)
{
  char *save = NULL, *line;

  for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    {
      char *f[7] = { NULL };
      uint32_t u, g;

      if (line[0] == '#' || line[0] == '+' || line[0] == '-' || split_fields(line, f, 7) < 4)
        continue;
      if (!parse_id(f[2], &u) || !parse_id(f[3], &g))
        continue;
      if (by_name ? strcmp(f[0], name) != 0 : u != uid)
        continue;
      ret->found = true;
      ret->uid = u;
      ret->gid = g;
      ret->name = xstrdup(f[0]);
      ret->home = xstrdup(f[5]);
      return;
    }
}

/* A group's gid by name; with member != NULL, instead collect the gids of every group listing
   member (except `except`). */
static int
group_scan(char *text, const char *name, uint32_t *ret_gid, const char *member, uint32_t except, uint32_t **gids,
           size_t *ngids)
{
  char *save = NULL, *line;

  for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    {
      char *f[4] = { NULL }, *m, *msave = NULL;
      uint32_t g;

      if (line[0] == '#' || split_fields(line, f, 4) < 3 || !parse_id(f[2], &g))
        continue;
      if (name != NULL)
        {
          if (strcmp(f[0], name) == 0)
            {
              *ret_gid = g;
              return 1;
            }
          continue;
        }
      if (f[3] == NULL || g == except)
        continue;
      for (m = strtok_r(f[3], ",", &msave); m != NULL; m = strtok_r(NULL, ",", &msave))
        if (strcmp(m, member) == 0)
          {
            size_t i;
            for (i = 0; i < *ngids && (*gids)[i] != g; i++)
              ;
            if (i == *ngids)
              {
                *gids = xrealloc(*gids, (*ngids + 1) * sizeof(uint32_t));
                (*gids)[(*ngids)++] = g;
              }
            break;
          }
    }
  return 0;
}

/* "user", "user:group", "uid", "uid:gid" (conversion.md "Config.User"): names are looked up in
   the image's files; a named user without a group gets the groups that list it as a member. */
static int
set_user(oci_process *p, int rootfs_fd, const char *spec, char **ret_home, isolazi_error_t *err)
{
  cleanup_free char *copy = xstrdup(spec != NULL ? spec : "");
  cleanup_free char *passwd = NULL, *group = NULL;
  passwd_entry pw = { 0 };
  const char *user = copy;
  char *grp = strchr(copy, ':');
  uint32_t uid = 0, gid = 0, *gids = NULL;
  size_t ngids = 0;
  bool user_numeric, have_passwd = false, have_group = false;
  int r;

  if (grp != NULL)
    *grp++ = '\0';
  /* No User: root, as runtimes run images that say nothing (with root's HOME). */
  if (user[0] == '\0' && grp == NULL)
    user = "0";
  if (user[0] == '\0' || (grp != NULL && grp[0] == '\0'))
    return isolazi_error_set(err, 0, "user `%s`: want USER, USER:GROUP, UID or UID:GID", spec);

  r = read_etc(rootfs_fd, "passwd", &passwd, err);
  if (r < 0)
    return isolazi_error_wrap(err, "resolve user `%s`", spec);
  have_passwd = r == 0;
  user_numeric = parse_id(user, &uid);
  if (have_passwd)
    {
      cleanup_free char *scratch = xstrdup(passwd);
      passwd_lookup(scratch, user, uid, !user_numeric, &pw);
    }
  if (!user_numeric)
    {
      if (!pw.found)
        {
          free(pw.name);
          free(pw.home);
          return isolazi_error_set(err, ENOENT, "user `%s`: no user `%s` in the image's /etc/passwd%s", spec, user,
                                   have_passwd ? "" : " (the image has none)");
        }
      uid = pw.uid;
    }
  gid = pw.found ? pw.gid : 0;

  if (grp != NULL || !user_numeric)
    {
      r = read_etc(rootfs_fd, "group", &group, err);
      if (r < 0)
        {
          free(pw.name);
          free(pw.home);
          return isolazi_error_wrap(err, "resolve user `%s`", spec);
        }
      have_group = r == 0;
    }
  if (grp != NULL && !parse_id(grp, &gid))
    {
      cleanup_free char *scratch = have_group ? xstrdup(group) : NULL;

      if (scratch == NULL || group_scan(scratch, grp, &gid, NULL, 0, NULL, NULL) != 1)
        {
          free(pw.name);
          free(pw.home);
          return isolazi_error_set(err, ENOENT, "user `%s`: no group `%s` in the image's /etc/group%s", spec, grp,
                                   have_group ? "" : " (the image has none)");
        }
    }
  /* conversion.md: a numeric user leaves additionalGids alone; an explicit group is all the
     user asked for. */
  if (!user_numeric && grp == NULL && have_group)
    group_scan(group, NULL, NULL, pw.name, gid, &gids, &ngids);

  p->user.uid = uid;
  p->user.gid = gid;
  free(p->user.additional_gids);
  p->user.additional_gids = gids;
  p->user.additional_gids_len = ngids;
  *ret_home = pw.found ? steal_pointer(&pw.home) : NULL;
  free(pw.name);
  free(pw.home);
  return 0;
}

/* ---- mounts and annotations ---- */

static int
add_volume(oci_config *c, const char *spec, isolazi_error_t *err)
{
  cleanup_free char *copy = xstrdup(spec);
  char *src = copy, *dst, *mode = NULL;
  const char *opts[3];
  oci_mount *m;
  size_t i;

  dst = strchr(src, ':');
  if (dst != NULL)
    {
      *dst++ = '\0';
      mode = strchr(dst, ':');
      if (mode != NULL)
        *mode++ = '\0';
    }
  if (dst == NULL || src[0] == '\0' || dst[0] == '\0')
    return isolazi_error_set(err, 0, "volume `%s`: want SRC:DST[:ro]", spec);
  if (src[0] != '/')
    return isolazi_error_set(err, 0, "volume `%s`: the source `%s` must be an absolute path", spec, src);
  if (dst[0] != '/')
    return isolazi_error_set(err, 0, "volume `%s`: the destination `%s` must be an absolute path", spec, dst);
  if (mode != NULL && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
    return isolazi_error_set(err, 0, "volume `%s`: unknown mode `%s` (want ro or rw)", spec, mode);
  opts[0] = "rbind";
  opts[1] = mode != NULL && strcmp(mode, "ro") == 0 ? "ro" : "rw";
  opts[2] = NULL;

  c->mounts = xrealloc(c->mounts, (c->mounts_len + 1) * sizeof(oci_mount));
  m = &c->mounts[c->mounts_len++];
  memset(m, 0, sizeof(*m));
  m->destination = xstrdup(dst);
  m->type = xstrdup("bind");
  m->source = xstrdup(src);
  m->options = strv_new(2);
  for (i = 0; i < 2; i++)
    m->options[i] = xstrdup(opts[i]);
  m->options_len = 2;
  return 0;
}

static void
annotate(oci_config *c, const char *key, const char *value)
{
  oci_string_map *a = &c->annotations;
  size_t i;

  if (value == NULL)
    return;
  for (i = 0; i < a->len; i++)
    if (strcmp(a->keys[i], key) == 0)
      {
        free(a->values[i]);
        a->values[i] = xstrdup(value);
        return;
      }
  a->keys = xrealloc(a->keys, (a->len + 2) * sizeof(char *));
  a->values = xrealloc(a->values, (a->len + 2) * sizeof(char *));
  a->keys[a->len] = xstrdup(key);
  a->values[a->len] = xstrdup(value);
  a->len++;
  a->keys[a->len] = a->values[a->len] = NULL;
}

static char *
join_set(const oci_image_set_entry *v, size_t n)
{
  size_t i, len = 1;
  char *s;

  for (i = 0; i < n; i++)
    len += strlen(v[i].name) + 1;
  s = xcalloc(1, len);
  for (i = 0; i < n; i++)
    {
      if (i > 0)
        strcat(s, ",");
      strcat(s, v[i].name);
    }
  return s;
}

static char *
join_strv(char **v, size_t n)
{
  size_t i, len = 1;
  char *s;

  for (i = 0; i < n; i++)
    len += strlen(v[i]) + 1;
  s = xcalloc(1, len);
  for (i = 0; i < n; i++)
    {
      if (i > 0)
        strcat(s, ",");
      strcat(s, v[i]);
    }
  return s;
}

/* conversion.md "Annotation Fields": the implicit ones first, then Labels, which win. */
static void
set_annotations(oci_config *c, const oci_image_config *image)
{
  const oci_image_exec_config *x = image->config;
  size_t i;

  annotate(c, OCI_IMAGE_ANNOTATION_OS, image->os);
  annotate(c, OCI_IMAGE_ANNOTATION_ARCHITECTURE, image->architecture);
  annotate(c, OCI_IMAGE_ANNOTATION_VARIANT, image->variant);
  annotate(c, OCI_IMAGE_ANNOTATION_OS_VERSION, image->os_version);
  if (image->os_features_len > 0)
    {
      cleanup_free char *f = join_strv(image->os_features, image->os_features_len);
      annotate(c, OCI_IMAGE_ANNOTATION_OS_FEATURES, f);
    }
  annotate(c, OCI_IMAGE_ANNOTATION_AUTHOR, image->author);
  annotate(c, OCI_IMAGE_ANNOTATION_CREATED, image->created);
  if (x == NULL)
    return;
  annotate(c, OCI_IMAGE_ANNOTATION_STOP_SIGNAL, x->stop_signal);
  if (x->exposed_ports_len > 0)
    {
      cleanup_free char *ports = join_set(x->exposed_ports, x->exposed_ports_len);
      annotate(c, OCI_IMAGE_ANNOTATION_EXPOSED_PORTS, ports);
    }
  if (x->volumes_len > 0)
    {
      cleanup_free char *vols = join_set(x->volumes, x->volumes_len);
      annotate(c, ISOLAZI_BUNDLE_ANNOTATION_VOLUMES, vols);
    }
  for (i = 0; i < x->labels.len; i++)
    annotate(c, x->labels.keys[i], x->labels.values[i]);
}

/* ---- resources ---- */

static int
set_resources(oci_config *c, const isolazi_bundle_opts_t *o, isolazi_error_t *err)
{
  oci_resources *r;

  if (o->memory < 0)
    return isolazi_error_set(err, 0, "memory limit %lld: must not be negative", (long long)o->memory);
  if (!(o->cpus >= 0) || o->cpus > 1e6)
    return isolazi_error_set(err, 0, "cpus %g: want a positive number of CPUs", o->cpus);
  if (o->pids_limit < -1)
    return isolazi_error_set(err, 0, "pids limit %lld: want a positive number (or -1: unlimited)",
                             (long long)o->pids_limit);
  if (o->memory == 0 && o->cpus == 0 && o->pids_limit == 0)
    return 0;
  if (c->linux_->resources == NULL)
    c->linux_->resources = xcalloc(1, sizeof(oci_resources));
  r = c->linux_->resources;
  if (o->memory > 0)
    {
      r->memory = xcalloc(1, sizeof(oci_memory));
      r->memory->limit = o->memory;
      r->memory->limit_present = true;
    }
  if (o->cpus > 0)
    {
      long long quota = (long long)(o->cpus * CPU_PERIOD_US + 0.5);

      /* The kernel refuses a quota under 1ms. */
      if (quota < 1000)
        return isolazi_error_set(err, 0, "cpus %g: at least 0.01 CPU", o->cpus);
      r->cpu = xcalloc(1, sizeof(oci_cpu));
      r->cpu->quota = quota;
      r->cpu->quota_present = true;
      r->cpu->period = CPU_PERIOD_US;
      r->cpu->period_present = true;
    }
  if (o->pids_limit != 0)
    {
      r->pids = xcalloc(1, sizeof(oci_pids));
      r->pids->limit = o->pids_limit;
      r->pids->limit_present = true;
    }
  return 0;
}

/* ---- the whole ---- */

static int
build(oci_config *c, const oci_image_config *image, int rootfs_fd, const isolazi_bundle_opts_t *o, isolazi_error_t *err)
{
  const oci_image_exec_config *x = image->config;
  cleanup_free char *home = NULL;
  const char *user = o->user != NULL ? o->user : (x != NULL ? x->user : NULL);
  oci_process *p = c->process;
  size_t i;

  if (set_args(p, x, o, err) < 0)
    return -1;
  if (o->cwd != NULL)
    {
      if (o->cwd[0] != '/')
        return isolazi_error_set(err, 0, "working directory `%s`: must be an absolute path", o->cwd);
      free(p->cwd);
      p->cwd = xstrdup(o->cwd);
    }
  else if (x != NULL && x->working_dir != NULL && x->working_dir[0] != '\0')
    {
      free(p->cwd);
      /* Docker resolves a relative WorkingDir against "/". */
      p->cwd = x->working_dir[0] == '/' ? xstrdup(x->working_dir) : xasprintf("/%s", x->working_dir);
    }
  for (i = 0; i < o->nvolumes; i++)
    if (add_volume(c, o->volumes[i], err) < 0)
      return -1;
  if (o->hostname != NULL)
    {
      if (o->hostname[0] == '\0' || strlen(o->hostname) > 64 || strchr(o->hostname, '/') != NULL)
        return isolazi_error_set(err, 0, "hostname `%s`: want 1 to 64 characters, no `/`", o->hostname);
      free(c->hostname);
      c->hostname = xstrdup(o->hostname);
    }
  if (set_resources(c, o, err) < 0)
    return -1;
  if (set_user(p, rootfs_fd, user, &home, err) < 0)
    return -1;
  if (set_env(p, x, o, home, err) < 0)
    return -1;
  p->terminal = o->terminal;
  set_annotations(c, image);
  return 0;
}

int
isolazi_bundle_config(const oci_image_config *image, int rootfs_fd, const isolazi_bundle_opts_t *opts, char **ret_json,
                      isolazi_error_t *err)
{
  isolazi_spec_options_t so;
  oci_config *c = NULL;
  cleanup_free char *verr = NULL;
  int r;

  memset(&so, 0, sizeof so);
  so.rootless = opts->rootless;
  so.seccomp = opts->seccomp != NULL ? opts->seccomp : "default";
  if (isolazi_spec_new(&so, &c, err) < 0)
    return -1;
  r = build(c, image, rootfs_fd, opts, err);
  /* Whatever we built must be a config the runtime accepts; a failure here is our bug or input
     we did not check, reported by JSON path. */
  if (r == 0 && oci_config_validate("config.json", c, &verr) < 0)
    r = isolazi_error_take(err, 0, steal_pointer(&verr));
  if (r == 0)
    r = isolazi_spec_write(c, ret_json, err);
  oci_config_free(c);
  return r;
}
