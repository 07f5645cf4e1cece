/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "runtime_features.h"
#include "cleanup.h"
#include "rootfs.h"
#include "utils.h"

#include <ctype.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* runtime-spec config-linux.md namespace types, and their /proc/self/ns names. */
const char *const ISOLAZI_FEATURES_NS[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" };
const unsigned int ISOLAZI_FEATURES_NS_COUNT = N_ELEMENTS(ISOLAZI_FEATURES_NS);
static const char *const ns_proc_names[] = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts" };

/* runtime-spec config-linux.md "seccomp" flags, with their values from linux/seccomp.h. */
const char *const ISOLAZI_FEATURES_SECCOMP_FLAGS[]
    = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" };
const unsigned int ISOLAZI_FEATURES_SECCOMP_FLAGS_COUNT = N_ELEMENTS(ISOLAZI_FEATURES_SECCOMP_FLAGS);
/* WAIT_KILLABLE_RECV (Linux 5.19) is only valid with NEW_LISTENER (8): probe them together. */
static const unsigned int seccomp_flag_values[] = { 1, 2, 4, 32 | 8 };

/* Every option runc 1.1 lists, plus the idmapped-mount ones; each is printed only if our
   parser takes it as a flag (not as filesystem data), so the list cannot drift from it. */
static const char *const mount_option_candidates[] = {
  "acl",
  "async",
  "atime",
  "bind",
  "defaults",
  "dev",
  "diratime",
  "dirsync",
  "exec",
  "idmap",
  "iversion",
  "lazytime",
  "loud",
  "mand",
  "noacl",
  "noatime",
  "nodev",
  "nodiratime",
  "noexec",
  "noiversion",
  "nolazytime",
  "nomand",
  "norelatime",
  "nostrictatime",
  "nosuid",
  "nosymfollow",
  "private",
  "ratime",
  "rbind",
  "rdev",
  "rdiratime",
  "relatime",
  "remount",
  "rexec",
  "ridmap",
  "rnoatime",
  "rnodev",
  "rnodiratime",
  "rnoexec",
  "rnorelatime",
  "rnostrictatime",
  "rnosuid",
  "rnosymfollow",
  "ro",
  "rprivate",
  "rrelatime",
  "rro",
  "rrw",
  "rshared",
  "rslave",
  "rstrictatime",
  "rsuid",
  "rsymfollow",
  "runbindable",
  "rw",
  "shared",
  "silent",
  "slave",
  "strictatime",
  "suid",
  "symfollow",
  "sync",
  "tmpcopyup",
  "unbindable",
};

/* libseccomp's architecture names; SCMP_ARCH_<upper case> in the spec. */
static const char *const seccomp_archs[] = {
  "aarch64",  "arm",         "loongarch64", "m68k",     "mips", "mips64", "mips64n32", "mipsel",
  "mipsel64", "mipsel64n32", "parisc",      "parisc64", "ppc",  "ppc64",  "ppc64le",   "riscv64",
  "s390",     "s390x",       "sh",          "sheb",     "x32",  "x86",    "x86_64",
};

static const char *const seccomp_operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
                                                 "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE" };

static const char *const hooks[]
    = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };

static void
push(char ***v, size_t *len, char *s)
{
  *v = xrealloc(*v, (*len + 2) * sizeof(char *));
  (*v)[(*len)++] = s;
  (*v)[*len] = NULL;
}

/* An empty, present array (written as []). */
static char **
empty_strv(void)
{
  return xcalloc(1, sizeof(char *));
}

static char *
upper(const char *prefix, const char *s)
{
  char *r = xasprintf("%s%s", prefix, s), *p;

  for (p = r; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  return r;
}

static oci_features_enabled *
enabled(bool on)
{
  oci_features_enabled *e = xcalloc(1, sizeof *e);

  e->enabled = on;
  e->enabled_present = true;
  return e;
}

static bool
mount_option_is_flag(const char *opt)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_mount_flags_t f;
  char *opts[] = { (char *)opt, NULL };
  bool ok;

  memset(&f, 0, sizeof f);
  ok = isolazi_mount_flags_parse(opts, 1, &f, &err) == 0 && f.data == NULL;
  isolazi_mount_flags_release(&f);
  isolazi_error_release(&err);
  return ok;
}

static oci_features_seccomp *
build_seccomp(const isolazi_features_probe_t *probe)
{
  oci_features_seccomp *s = xcalloc(1, sizeof *s);
  size_t i;

  s->enabled = true;
  s->enabled_present = true;
  s->actions = empty_strv();
  push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_ALLOW"));
  push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_ERRNO"));
  push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_KILL"));
  /* libseccomp API levels (seccomp_api_get(3)): 3 brings KILL_PROCESS and LOG, 5 NOTIFY. */
  if (probe->seccomp_api >= 3)
    push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_KILL_PROCESS"));
  push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_KILL_THREAD"));
  if (probe->seccomp_api >= 3)
    push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_LOG"));
  if (probe->seccomp_api >= 5)
    push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_NOTIFY"));
  push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_TRACE"));
  push(&s->actions, &s->actions_len, xstrdup("SCMP_ACT_TRAP"));
  s->operators = empty_strv();
  for (i = 0; i < N_ELEMENTS(seccomp_operators); i++)
    push(&s->operators, &s->operators_len, xstrdup(seccomp_operators[i]));
  s->archs = empty_strv();
  for (i = 0; i < N_ELEMENTS(seccomp_archs); i++)
    if (seccomp_arch_resolve_name(seccomp_archs[i]) != 0)
      push(&s->archs, &s->archs_len, upper("SCMP_ARCH_", seccomp_archs[i]));
  s->known_flags = empty_strv();
  s->supported_flags = empty_strv();
  for (i = 0; i < ISOLAZI_FEATURES_SECCOMP_FLAGS_COUNT; i++)
    {
      push(&s->known_flags, &s->known_flags_len, xstrdup(ISOLAZI_FEATURES_SECCOMP_FLAGS[i]));
      if (probe->seccomp_flags & (1u << i))
        push(&s->supported_flags, &s->supported_flags_len, xstrdup(ISOLAZI_FEATURES_SECCOMP_FLAGS[i]));
    }
  return s;
}

oci_features *
isolazi_features_build(const isolazi_features_probe_t *probe)
{
  oci_features *f = xcalloc(1, sizeof *f);
  oci_features_linux *l;
  size_t i;

  f->oci_version_min = xstrdup("1.0.0");
  f->oci_version_max = xstrdup(ISOLAZI_SPEC_VERSION);
  f->hooks = empty_strv();
  for (i = 0; i < N_ELEMENTS(hooks); i++)
    push(&f->hooks, &f->hooks_len, xstrdup(hooks[i]));
  f->mount_options = empty_strv();
  for (i = 0; i < N_ELEMENTS(mount_option_candidates); i++)
    if (mount_option_is_flag(mount_option_candidates[i]))
      push(&f->mount_options, &f->mount_options_len, xstrdup(mount_option_candidates[i]));

  l = f->linux_ = xcalloc(1, sizeof *l);
  l->namespaces = empty_strv();
  for (i = 0; i < ISOLAZI_FEATURES_NS_COUNT; i++)
    if (probe->namespaces & (1u << i))
      push(&l->namespaces, &l->namespaces_len, xstrdup(ISOLAZI_FEATURES_NS[i]));
  l->capabilities = empty_strv();
  for (i = 0; i <= probe->cap_last; i++)
    {
      char *name = cap_to_name((cap_value_t)i);
      /* libcap names the capabilities it knows; a newer kernel's extra bits come back as
         numbers, which no config can spell. */
      if (name != NULL && !isdigit((unsigned char)name[0]))
        push(&l->capabilities, &l->capabilities_len, upper("", name));
      cap_free(name);
    }
  l->cgroup = xcalloc(1, sizeof *l->cgroup);
  l->cgroup->v1 = true;
  l->cgroup->v1_present = true;
  l->cgroup->v2 = true;
  l->cgroup->v2_present = true;
  /* The systemd driver (cgroup_systemd.c) talks to the system manager, or to the user manager
     for rootless containers; the file drivers write rdma.max. */
  l->cgroup->systemd = true;
  l->cgroup->systemd_present = true;
  l->cgroup->systemd_user = true;
  l->cgroup->systemd_user_present = true;
  l->cgroup->rdma = true;
  l->cgroup->rdma_present = true;
  l->seccomp = build_seccomp(probe);
  /* Built in: libselinux is linked, and AppArmor needs only /proc/self/attr. */
  l->apparmor = enabled(true);
  l->selinux = enabled(true);
  l->intel_rdt = enabled(false);
  l->mount_extensions = xcalloc(1, sizeof *l->mount_extensions);
  l->mount_extensions->idmap = enabled(probe->idmap);

  f->annotations.keys = xcalloc(4, sizeof(char *));
  f->annotations.values = xcalloc(4, sizeof(char *));
  f->annotations.keys[0] = xstrdup("io.github.isolazi.commit");
  f->annotations.values[0] = xstrdup(ISOLAZI_COMMIT);
  f->annotations.keys[1] = xstrdup("io.github.isolazi.version");
  f->annotations.values[1] = xstrdup(PACKAGE_VERSION);
  f->annotations.len = 2;
  if (probe->libseccomp_version != NULL)
    {
      f->annotations.keys[2] = xstrdup("io.github.seccomp.libseccomp.version");
      f->annotations.values[2] = xstrdup(probe->libseccomp_version);
      f->annotations.len = 3;
    }
  f->potentially_unsafe_config_annotations = empty_strv();
  return f;
}

void
isolazi_features_probe_host(isolazi_features_probe_t *ret)
{
  static char version[32];
  const struct scmp_version *v = seccomp_version();
  unsigned int i;

  memset(ret, 0, sizeof *ret);
  for (i = 0; i < ISOLAZI_FEATURES_NS_COUNT; i++)
    {
      char path[32];
      struct stat st;
      snprintf(path, sizeof path, "/proc/self/ns/%s", ns_proc_names[i]);
      if (stat(path, &st) == 0)
        ret->namespaces |= 1u << i;
    }
  ret->cap_last = (unsigned int)cap_max_bits() - 1;
  ret->seccomp_api = seccomp_api_get();
  /* A flag the kernel knows gets as far as reading the (NULL) filter: EFAULT; an unknown flag
     is EINVAL.  The probe installs nothing. */
  for (i = 0; i < ISOLAZI_FEATURES_SECCOMP_FLAGS_COUNT; i++)
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flag_values[i], NULL) < 0 && errno == EFAULT)
      ret->seccomp_flags |= 1u << i;
  /* mount_setattr(2) with MOUNT_ATTR_IDMAP came in Linux 5.12: EBADF for a bad fd, ENOSYS before. */
  ret->idmap = !(syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno == ENOSYS);
  if (v != NULL)
    {
      snprintf(version, sizeof version, "%u.%u.%u", v->major, v->minor, v->micro);
      ret->libseccomp_version = version;
    }
}

char *
isolazi_features_json(isolazi_error_t *err)
{
  isolazi_features_probe_t probe;
  oci_features *f;
  char *perr = NULL, *json;

  isolazi_features_probe_host(&probe);
  f = isolazi_features_build(&probe);
  json = oci_features_write(f, true, &perr);
  oci_features_free(f);
  if (json == NULL)
    isolazi_error_take(err, EINVAL, perr);
  return json;
}
