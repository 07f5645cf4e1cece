/* SPDX-License-Identifier: Apache-2.0 */
/* The starter config.json of `isolazi spec`: the document `runc spec` (1.1) writes, with our
 * hostname and a cgroup namespace, as runc 1.2 adds.  Built as libocispec's model so that
 * isolazi-pull starts its bundles' configs from the same defaults; written by libocispec in
 * specs-go's key order, which is runc's, so a diff against runc's output stays readable. */
#include "config.h"
#include "spec.h"
#include "cleanup.h"
#include "seccomp_filter.h"
#include "utils.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A malloc'd, NULL-terminated copy of v; *ret_len gets its length. */
static char **
strv_dup(const char *const *v, size_t *ret_len)
{
  size_t n = 0, i;
  char **r;

  while (v[n] != NULL)
    n++;
  r = xcalloc(n + 1, sizeof(char *));
  for (i = 0; i < n; i++)
    r[i] = xstrdup(v[i]);
  *ret_len = n;
  return r;
}

static oci_process *
new_process(const isolazi_spec_options_t *o)
{
  static const char *const default_args[] = { "sh", NULL };
  static const char *const env[]
      = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL };
  static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
  oci_process *p = xcalloc(1, sizeof(*p));
  oci_capabilities *c = xcalloc(1, sizeof(*c));

  p->terminal = true;
  p->args = strv_dup(o->args != NULL ? o->args : (const char *const *)default_args, &p->args_len);
  p->env = strv_dup(env, &p->env_len);
  p->cwd = xstrdup("/");
  c->bounding = strv_dup(caps, &c->bounding_len);
  c->effective = strv_dup(caps, &c->effective_len);
  c->permitted = strv_dup(caps, &c->permitted_len);
  c->ambient = strv_dup(caps, &c->ambient_len);
  p->capabilities = c;
  p->rlimits = xcalloc(1, sizeof(oci_rlimit));
  p->rlimits_len = 1;
  p->rlimits[0].type = xstrdup("RLIMIT_NOFILE");
  p->rlimits[0].hard = 1024;
  p->rlimits[0].soft = 1024;
  p->no_new_privileges = true;
  return p;
}

static void
add_mount(oci_config *c, const char *destination, const char *type, const char *source, const char *const *options)
{
  oci_mount *m;

  c->mounts = xrealloc(c->mounts, (c->mounts_len + 1) * sizeof(oci_mount));
  m = &c->mounts[c->mounts_len++];
  memset(m, 0, sizeof(*m));
  m->destination = xstrdup(destination);
  m->type = xstrdup(type);
  m->source = xstrdup(source);
  if (options != NULL)
    m->options = strv_dup(options, &m->options_len);
}

static void
add_mounts(oci_config *c, const isolazi_spec_options_t *o)
{
  static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
  static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
  /* Rootless: gid 5 (tty) is not mapped in the user namespace, so devpts cannot use it. */
  static const char *const pts_rootless[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
  static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
  static const char *const mqueue[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
  /* Rootless: a new sysfs needs a network namespace owned by our user namespace; bind the
     host's instead. */
  static const char *const sys_rootless[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const cgroup[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };

  add_mount(c, "/proc", "proc", "proc", NULL);
  add_mount(c, "/dev", "tmpfs", "tmpfs", dev);
  add_mount(c, "/dev/pts", "devpts", "devpts", o->rootless ? pts_rootless : pts);
  add_mount(c, "/dev/shm", "tmpfs", "shm", shm);
  add_mount(c, "/dev/mqueue", "mqueue", "mqueue", mqueue);
  if (o->rootless)
    add_mount(c, "/sys", "none", "/sys", sys_rootless);
  else
    add_mount(c, "/sys", "sysfs", "sysfs", sys);
  add_mount(c, "/sys/fs/cgroup", "cgroup", "cgroup", cgroup);
}

static oci_id_mapping *
one_mapping(uint32_t host_id, size_t *ret_len)
{
  oci_id_mapping *m = xcalloc(1, sizeof(*m));

  m->container_id = 0;
  m->host_id = host_id;
  m->size = 1;
  *ret_len = 1;
  return m;
}

static oci_linux *
new_linux(const isolazi_spec_options_t *o, oci_seccomp *seccomp)
{
  static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", NULL };
  static const char *const ns_rootless[] = { "pid", "ipc", "uts", "mount", "cgroup", "user", NULL };
  static const char *const masked[] = { "/proc/acpi",
                                        "/proc/asound",
                                        "/proc/kcore",
                                        "/proc/keys",
                                        "/proc/latency_stats",
                                        "/proc/timer_list",
                                        "/proc/timer_stats",
                                        "/proc/sched_debug",
                                        "/sys/firmware",
                                        "/proc/scsi",
                                        NULL };
  static const char *const readonly[]
      = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };
  oci_linux *l = xcalloc(1, sizeof(*l));
  const char *const *types = o->rootless ? ns_rootless : ns;
  size_t i, n = 0;

  if (o->rootless)
    {
      l->uid_mappings = one_mapping((uint32_t)geteuid(), &l->uid_mappings_len);
      l->gid_mappings = one_mapping((uint32_t)getegid(), &l->gid_mappings_len);
    }
  else
    {
      /* Deny every device; the runtime adds the default allow-list (null, zero, tty, ...). */
      l->resources = xcalloc(1, sizeof(oci_resources));
      l->resources->devices = xcalloc(1, sizeof(oci_device_cgroup));
      l->resources->devices_len = 1;
      l->resources->devices[0].allow = false;
      l->resources->devices[0].access = xstrdup("rwm");
    }
  while (types[n] != NULL)
    n++;
  l->namespaces = xcalloc(n + 1, sizeof(oci_namespace));
  for (i = 0; i < n; i++)
    l->namespaces[i].type = xstrdup(types[i]);
  l->namespaces_len = n;
  l->masked_paths = strv_dup(masked, &l->masked_paths_len);
  l->readonly_paths = strv_dup(readonly, &l->readonly_paths_len);
  l->seccomp = seccomp;
  return l;
}

int
isolazi_spec_new(const isolazi_spec_options_t *o, oci_config **ret, isolazi_error_t *err)
{
  oci_seccomp *seccomp = NULL;
  oci_config *c;

  if (o->args != NULL && o->args[0] == NULL)
    return isolazi_error_set(err, 0, "generate config: process.args must not be empty");
  if (isolazi_seccomp_profile(o->seccomp, &seccomp, err) < 0)
    return -1;
  c = xcalloc(1, sizeof(*c));
  c->oci_version = xstrdup(ISOLAZI_SPEC_VERSION);
  c->process = new_process(o);
  c->root = xcalloc(1, sizeof(oci_root));
  c->root->path = xstrdup("rootfs");
  c->root->readonly = true;
  c->hostname = xstrdup("isolazi");
  add_mounts(c, o);
  /* The profile is built with the model's conventions (malloc'd members), so oci_config_free
     releases it with the rest. */
  c->linux_ = new_linux(o, seccomp);
  *ret = c;
  return 0;
}

int
isolazi_spec_write(const oci_config *c, char **ret_json, isolazi_error_t *err)
{
  cleanup_free char *gen_err = NULL;
  char *out = oci_config_write(c, true, &gen_err);
  size_t len;

  if (out == NULL)
    return isolazi_error_take(err, 0, xasprintf("generate config: %s", gen_err != NULL ? gen_err : "unknown error"));
  /* A text file ends with a newline (yajl's beautifier may or may not add one). */
  len = strlen(out);
  if (len == 0 || out[len - 1] != '\n')
    {
      char *nl = xasprintf("%s\n", out);
      free(out);
      out = nl;
    }
  *ret_json = out;
  return 0;
}

int
isolazi_spec_generate(const isolazi_spec_options_t *o, char **ret_json, isolazi_error_t *err)
{
  oci_config *c = NULL;
  int r;

  if (isolazi_spec_new(o, &c, err) < 0)
    return -1;
  r = isolazi_spec_write(c, ret_json, err);
  oci_config_free(c);
  return r;
}
