/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "userns.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* ---- deciding ---- */

static bool
ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
  return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

int
isolazi_userns_mappings_check(const oci_id_mapping *m, size_t n, const char *what, isolazi_error_t *err)
{
  size_t i, j;

  if (n > ISOLAZI_USERNS_MAX_EXTENTS)
    return isolazi_error_set(err, 0, "%s: %zu mappings, the kernel takes at most %d", what, n,
                             ISOLAZI_USERNS_MAX_EXTENTS);
  for (i = 0; i < n; i++)
    {
      if (m[i].size == 0)
        return isolazi_error_set(err, 0, "%s[%zu].size: must be greater than 0", what, i);
      /* The kernel wants first + count to stay below 2^32 (map_write: "extent.first +
         extent.count <= extent.first" is rejected as wrapping). */
      if ((uint64_t)m[i].container_id + m[i].size > UINT32_MAX)
        return isolazi_error_set(err, 0, "%s[%zu]: containerID %" PRIu32 " + size %" PRIu32 " passes 4294967295", what,
                                 i, m[i].container_id, m[i].size);
      if ((uint64_t)m[i].host_id + m[i].size > UINT32_MAX)
        return isolazi_error_set(err, 0, "%s[%zu]: hostID %" PRIu32 " + size %" PRIu32 " passes 4294967295", what, i,
                                 m[i].host_id, m[i].size);
      for (j = 0; j < i; j++)
        {
          if (ranges_overlap(m[i].container_id, m[i].size, m[j].container_id, m[j].size))
            return isolazi_error_set(err, 0, "%s[%zu]: containerID range overlaps %s[%zu]", what, i, what, j);
          if (ranges_overlap(m[i].host_id, m[i].size, m[j].host_id, m[j].size))
            return isolazi_error_set(err, 0, "%s[%zu]: hostID range overlaps %s[%zu]", what, i, what, j);
        }
    }
  return 0;
}

char *
isolazi_userns_map_text(const oci_id_mapping *m, size_t n)
{
  char *s = xstrdup("");
  size_t i;

  for (i = 0; i < n; i++)
    {
      char *t = xasprintf("%s%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", s, m[i].container_id, m[i].host_id, m[i].size);
      free(s);
      s = t;
    }
  return s;
}

isolazi_userns_map_method_t
isolazi_userns_map_method(bool privileged, uint32_t own_id, const oci_id_mapping *m, size_t n)
{
  if (privileged)
    return ISOLAZI_USERNS_MAP_DIRECT;
  if (n == 1 && m[0].host_id == own_id && m[0].size == 1)
    return ISOLAZI_USERNS_MAP_DIRECT;
  return ISOLAZI_USERNS_MAP_HELPER;
}

bool
isolazi_userns_setgroups_deny(bool privileged, isolazi_userns_map_method_t gid_method)
{
  return !privileged && gid_method == ISOLAZI_USERNS_MAP_DIRECT;
}

char **
isolazi_userns_helper_argv(const char *helper, pid_t pid, const oci_id_mapping *m, size_t n)
{
  char **argv = xcalloc(3 + 3 * n, sizeof *argv);
  size_t i, k = 0;

  argv[k++] = xstrdup(helper);
  argv[k++] = xasprintf("%d", (int)pid);
  for (i = 0; i < n; i++)
    {
      argv[k++] = xasprintf("%" PRIu32, m[i].container_id);
      argv[k++] = xasprintf("%" PRIu32, m[i].host_id);
      argv[k++] = xasprintf("%" PRIu32, m[i].size);
    }
  argv[k] = NULL;
  return argv;
}

void
isolazi_userns_argv_free(char **argv)
{
  char **p;

  if (argv == NULL)
    return;
  for (p = argv; *p != NULL; p++)
    free(*p);
  free(argv);
}

static bool
has_option(const oci_mount *m, const char *opt)
{
  size_t i;

  for (i = 0; i < m->options_len; i++)
    if (strcmp(m->options[i], opt) == 0)
      return true;
  return false;
}

bool
isolazi_userns_mount_is_idmapped(const oci_mount *m, bool *recursive)
{
  bool ridmap = has_option(m, "ridmap");

  if (recursive != NULL)
    *recursive = ridmap;
  return ridmap || has_option(m, "idmap") || m->uid_mappings_len > 0 || m->gid_mappings_len > 0;
}

static bool
is_bind(const oci_mount *m)
{
  return (m->type != NULL && strcmp(m->type, "bind") == 0) || has_option(m, "bind") || has_option(m, "rbind");
}

int
isolazi_userns_config_check(const oci_config *cfg, const isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  const oci_linux *l = cfg->linux_;
  bool new_userns = (plan->clone_flags & CLONE_NEWUSER) != 0;
  bool any_userns = isolazi_ns_plan_has(plan, CLONE_NEWUSER);
  size_t n_uid = l != NULL ? l->uid_mappings_len : 0, n_gid = l != NULL ? l->gid_mappings_len : 0;
  size_t i;

  if ((n_uid > 0 || n_gid > 0) && !any_userns)
    return isolazi_error_set(err, 0, "config.json: linux.%s: mappings need a user namespace in linux.namespaces",
                             n_uid > 0 ? "uidMappings" : "gidMappings");
  if (new_userns && (n_uid == 0 || n_gid == 0))
    return isolazi_error_set(err, 0, "config.json: linux.%s: a new user namespace needs mappings",
                             n_uid == 0 ? "uidMappings" : "gidMappings");
  if (new_userns
      && (isolazi_userns_mappings_check(l->uid_mappings, n_uid, "linux.uidMappings", err) < 0
          || isolazi_userns_mappings_check(l->gid_mappings, n_gid, "linux.gidMappings", err) < 0))
    return isolazi_error_wrap(err, "config.json");
  for (i = 0; i < cfg->mounts_len; i++)
    {
      const oci_mount *m = &cfg->mounts[i];
      char what[64];

      if (!isolazi_userns_mount_is_idmapped(m, NULL))
        continue;
      if (!is_bind(m))
        return isolazi_error_set(err, 0,
                                 "config.json: mounts[%zu]: idmapped mounts are only supported for bind "
                                 "mounts",
                                 i);
      if (m->uid_mappings_len == 0 && m->gid_mappings_len == 0)
        {
          if (!new_userns)
            return isolazi_error_set(err, 0,
                                     "config.json: mounts[%zu]: `idmap` without uidMappings/gidMappings takes the "
                                     "container's, but there is no new user namespace",
                                     i);
          continue;
        }
      if (m->uid_mappings_len == 0 || m->gid_mappings_len == 0)
        return isolazi_error_set(err, 0,
                                 "config.json: mounts[%zu].%s: an idmapped mount needs both uid and "
                                 "gid mappings",
                                 i, m->uid_mappings_len == 0 ? "uidMappings" : "gidMappings");
      snprintf(what, sizeof what, "mounts[%zu].uidMappings", i);
      if (isolazi_userns_mappings_check(m->uid_mappings, m->uid_mappings_len, what, err) < 0)
        return isolazi_error_wrap(err, "config.json");
      snprintf(what, sizeof what, "mounts[%zu].gidMappings", i);
      if (isolazi_userns_mappings_check(m->gid_mappings, m->gid_mappings_len, what, err) < 0)
        return isolazi_error_wrap(err, "config.json");
    }
  return 0;
}

/* ---- doing ---- */

/* CapEff from /proc/self/status: the runtime may be root without CAP_SETUID (or a user with
   it), so the uid alone does not decide. */
static bool
has_cap(int cap)
{
  cleanup_free char *status = NULL;
  const char *p;
  unsigned long long eff;

  if (isolazi_read_file("/proc/self/status", &status, NULL, NULL) < 0)
    return geteuid() == 0;
  p = strstr(status, "\nCapEff:");
  if (p == NULL || sscanf(p + strlen("\nCapEff:"), "%llx", &eff) != 1)
    return geteuid() == 0;
  return (eff >> cap) & 1;
}

/* Run newuidmap/newgidmap; its complaint (it prints why it refused) becomes the error. */
static int
run_helper(const char *helper, pid_t pid, const oci_id_mapping *m, size_t n, const char *what, isolazi_error_t *err)
{
  char **argv = isolazi_userns_helper_argv(helper, pid, m, n);
  char out[512];
  size_t len = 0;
  int pipefd[2], status = 0;
  ssize_t r;
  pid_t child;

  if (pipe2(pipefd, O_CLOEXEC) < 0)
    {
      isolazi_userns_argv_free(argv);
      return isolazi_error_errno(err, "pipe");
    }
  child = fork();
  if (child < 0)
    {
      isolazi_userns_argv_free(argv);
      close(pipefd[0]);
      close(pipefd[1]);
      return isolazi_error_errno(err, "fork `%s`", helper);
    }
  if (child == 0)
    {
      int e;
      (void)dup2(pipefd[1], STDOUT_FILENO);
      (void)dup2(pipefd[1], STDERR_FILENO);
      execvp(helper, argv);
      e = errno;
      dprintf(STDERR_FILENO, "\x01%d", e);
      _exit(127);
    }
  isolazi_userns_argv_free(argv);
  close(pipefd[1]);
  while (len < sizeof out - 1
         && ((r = read(pipefd[0], out + len, sizeof out - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
    if (r > 0)
      len += (size_t)r;
  out[len] = '\0';
  close(pipefd[0]);
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (out[0] == '\x01')
    {
      int e = atoi(out + 1);
      if (e == ENOENT)
        return isolazi_error_set(err, ENOENT,
                                 "%s: mapping more than your own id needs `%s` (Debian package uidmap), which is not "
                                 "installed",
                                 what, helper);
      return isolazi_error_set(err, e, "%s: exec `%s`", what, helper);
    }
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = '\0';
  return isolazi_error_set(err, EPERM, "%s: `%s` refused the mapping (%s); check /etc/subuid and /etc/subgid", what,
                           helper, len > 0 ? out : "no message");
}

static int
write_map(pid_t pid, const char *file, const oci_id_mapping *m, size_t n, const char *what, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("/proc/%d/%s", (int)pid, file);
  cleanup_free char *text = isolazi_userns_map_text(m, n);

  if (isolazi_write_file_at(AT_FDCWD, path, text, strlen(text), err) < 0)
    return isolazi_error_wrap(err, "%s", what);
  return 0;
}

static int
write_one(pid_t pid, bool is_uid, const oci_id_mapping *m, size_t n, isolazi_error_t *err)
{
  const char *what = is_uid ? "linux.uidMappings" : "linux.gidMappings";
  bool priv = has_cap(is_uid ? CAP_SETUID : CAP_SETGID);
  isolazi_userns_map_method_t how
      = isolazi_userns_map_method(priv, is_uid ? (uint32_t)geteuid() : (uint32_t)getegid(), m, n);

  if (how == ISOLAZI_USERNS_MAP_HELPER)
    {
      isolazi_debug("%s: through %s", what, is_uid ? "newuidmap" : "newgidmap");
      return run_helper(is_uid ? "newuidmap" : "newgidmap", pid, m, n, what, err);
    }
  if (!is_uid && isolazi_userns_setgroups_deny(priv, how))
    {
      cleanup_free char *path = xasprintf("/proc/%d/setgroups", (int)pid);
      if (isolazi_write_file_at(AT_FDCWD, path, "deny", 4, err) < 0)
        return isolazi_error_wrap(err, "%s", what);
    }
  return write_map(pid, is_uid ? "uid_map" : "gid_map", m, n, what, err);
}

int
isolazi_userns_write_maps(pid_t pid, const oci_linux *l, isolazi_error_t *err)
{
  if (write_one(pid, true, l->uid_mappings, l->uid_mappings_len, err) < 0)
    return -1;
  return write_one(pid, false, l->gid_mappings, l->gid_mappings_len, err);
}

bool
isolazi_userns_setgroups_denied(void)
{
  cleanup_free char *sg = NULL;

  return isolazi_read_file("/proc/self/setgroups", &sg, NULL, NULL) == 0 && strncmp(sg, "deny", 4) == 0;
}

int
isolazi_userns_become_root(isolazi_error_t *err)
{
  if (!isolazi_userns_setgroups_denied())
    {
      if (setgroups(0, NULL) < 0)
        return isolazi_error_errno(err, "drop supplementary groups in the user namespace");
    }
  if (setresgid(0, 0, 0) < 0)
    return isolazi_error_errno(err, "become gid 0 in the user namespace (is it in linux.gidMappings?)");
  if (setresuid(0, 0, 0) < 0)
    return isolazi_error_errno(err, "become uid 0 in the user namespace (is it in linux.uidMappings?)");
  return 0;
}

int
isolazi_userns_open_mapped(const oci_id_mapping *uids, size_t n_uids, const oci_id_mapping *gids, size_t n_gids,
                           isolazi_error_t *err)
{
  cleanup_free char *path = NULL;
  int hold[2], fd = -1, r = -1, status;
  pid_t child;
  char c;

  if (pipe2(hold, O_CLOEXEC) < 0)
    return isolazi_error_errno(err, "pipe");
  /* A raw clone with CLONE_NEWUSER: the child is born in its user namespace, so there is
     nothing to wait for before writing its maps. */
  child = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
  if (child < 0)
    {
      isolazi_error_errno(err, "create a user namespace for an idmapped mount");
      close(hold[0]);
      close(hold[1]);
      return -1;
    }
  if (child == 0)
    {
      close(hold[1]);
      /* Hold the namespace until the runtime has opened it: EOF when it closes its end. */
      while (read(hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit(0);
    }
  close(hold[0]);
  if (write_map(child, "uid_map", uids, n_uids, "uidMappings", err) < 0
      || write_map(child, "gid_map", gids, n_gids, "gidMappings", err) < 0)
    goto out;
  path = xasprintf("/proc/%d/ns/user", (int)child);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      isolazi_error_errno(err, "open `%s`", path);
      goto out;
    }
  r = fd;
out:
  close(hold[1]);
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  return r;
}

static int
make_tree(const oci_config *cfg, size_t i, isolazi_error_t *err)
{
  const oci_mount *m = &cfg->mounts[i];
  const oci_linux *l = cfg->linux_;
  const char *dest = m->destination != NULL ? m->destination : "";
  struct mount_attr attr;
  bool rec_idmap = false;
  cleanup_close int userns = -1;
  cleanup_close int tree = -1;

  (void)isolazi_userns_mount_is_idmapped(m, &rec_idmap);
  if (m->source == NULL)
    return isolazi_error_set(err, EINVAL, "mounts[%zu]: bind mount on `%s` needs a source", i, dest);
  if (m->uid_mappings_len > 0)
    userns
        = isolazi_userns_open_mapped(m->uid_mappings, m->uid_mappings_len, m->gid_mappings, m->gid_mappings_len, err);
  else
    userns
        = isolazi_userns_open_mapped(l->uid_mappings, l->uid_mappings_len, l->gid_mappings, l->gid_mappings_len, err);
  if (userns < 0)
    return isolazi_error_wrap(err, "mount `%s` on `%s` (mounts[%zu])", m->source, dest, i);
  tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (has_option(m, "rbind") || rec_idmap ? AT_RECURSIVE : 0));
  if (tree < 0)
    return isolazi_error_errno(err, "mount `%s` on `%s` (mounts[%zu]): clone source", m->source, dest, i);
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (uint64_t)userns;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (rec_idmap ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
    {
      /* can_idmap_mount(): EINVAL when the filesystem lacks FS_ALLOW_IDMAP (or the kernel lacks
         the attribute), ENOSYS before Linux 5.12; EPERM without CAP_SYS_ADMIN over it. */
      if (errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)
        return isolazi_error_errno(err,
                                   "mount `%s` on `%s` (mounts[%zu]): idmapped mounts are not supported by this "
                                   "filesystem or kernel",
                                   m->source, dest, i);
      return isolazi_error_errno(err, "mount `%s` on `%s` (mounts[%zu]): make an idmapped mount", m->source, dest, i);
    }
  isolazi_debug("mounts[%zu]: idmapped tree of `%s` ready", i, m->source);
  return steal_fd(&tree);
}

int
isolazi_userns_idmap_trees(const oci_config *cfg, int **ret, isolazi_error_t *err)
{
  int *fds = NULL;
  size_t i;

  *ret = NULL;
  for (i = 0; i < cfg->mounts_len; i++)
    {
      if (!isolazi_userns_mount_is_idmapped(&cfg->mounts[i], NULL))
        continue;
      if (fds == NULL)
        {
          size_t k;
          fds = xcalloc(cfg->mounts_len, sizeof *fds);
          for (k = 0; k < cfg->mounts_len; k++)
            fds[k] = -1;
        }
      fds[i] = make_tree(cfg, i, err);
      if (fds[i] < 0)
        {
          isolazi_userns_idmap_trees_close(fds, cfg->mounts_len);
          return -1;
        }
    }
  *ret = fds;
  return 0;
}

void
isolazi_userns_idmap_trees_close(int *fds, size_t n)
{
  size_t i;

  if (fds == NULL)
    return;
  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      (void)close(fds[i]);
  free(fds);
}
