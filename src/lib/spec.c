/* SPDX-License-Identifier: Apache-2.0 */
/* The starter config.json of `isolazi spec`: the document `runc spec` (1.1) writes, with our
 * hostname and a cgroup namespace, as runc 1.2 adds.  Written with json_gen so that the key
 * order matches runc's and a diff against it stays readable. */
#include "config.h"
#include "spec.h"
#include "cleanup.h"
#include "json.h"
#include "seccomp_filter.h"
#include "utils.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
gen_strings(json_gen *g, const char *key, const char *const *v)
{
  json_gen_key(g, key);
  json_gen_array_open(g);
  for (; *v != NULL; v++)
    json_gen_string(g, *v);
  json_gen_array_close(g);
}

static void
gen_process(json_gen *g, const isolazi_spec_options_t *o)
{
  static const char *const default_args[] = { "sh", NULL };
  static const char *const env[]
      = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL };
  static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
  static const char *const cap_sets[] = { "bounding", "effective", "permitted", "ambient", NULL };
  const char *const *set;

  json_gen_key(g, "process");
  json_gen_object_open(g);
  json_gen_key(g, "terminal");
  json_gen_bool(g, true);
  json_gen_key(g, "user");
  json_gen_object_open(g);
  json_gen_key(g, "uid");
  json_gen_uint64(g, 0);
  json_gen_key(g, "gid");
  json_gen_uint64(g, 0);
  json_gen_object_close(g);
  gen_strings(g, "args", o->args != NULL ? o->args : (const char **)default_args);
  gen_strings(g, "env", env);
  json_gen_key(g, "cwd");
  json_gen_string(g, "/");
  json_gen_key(g, "capabilities");
  json_gen_object_open(g);
  for (set = cap_sets; *set != NULL; set++)
    gen_strings(g, *set, caps);
  json_gen_object_close(g);
  json_gen_key(g, "rlimits");
  json_gen_array_open(g);
  json_gen_object_open(g);
  json_gen_key(g, "type");
  json_gen_string(g, "RLIMIT_NOFILE");
  json_gen_key(g, "hard");
  json_gen_uint64(g, 1024);
  json_gen_key(g, "soft");
  json_gen_uint64(g, 1024);
  json_gen_object_close(g);
  json_gen_array_close(g);
  json_gen_key(g, "noNewPrivileges");
  json_gen_bool(g, true);
  json_gen_object_close(g);
}

static void
gen_mount(json_gen *g, const char *destination, const char *type, const char *source, const char *const *options)
{
  json_gen_object_open(g);
  json_gen_key(g, "destination");
  json_gen_string(g, destination);
  json_gen_key(g, "type");
  json_gen_string(g, type);
  json_gen_key(g, "source");
  json_gen_string(g, source);
  if (options != NULL)
    gen_strings(g, "options", options);
  json_gen_object_close(g);
}

static void
gen_mounts(json_gen *g, const isolazi_spec_options_t *o)
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

  json_gen_key(g, "mounts");
  json_gen_array_open(g);
  gen_mount(g, "/proc", "proc", "proc", NULL);
  gen_mount(g, "/dev", "tmpfs", "tmpfs", dev);
  gen_mount(g, "/dev/pts", "devpts", "devpts", o->rootless ? pts_rootless : pts);
  gen_mount(g, "/dev/shm", "tmpfs", "shm", shm);
  gen_mount(g, "/dev/mqueue", "mqueue", "mqueue", mqueue);
  if (o->rootless)
    gen_mount(g, "/sys", "none", "/sys", sys_rootless);
  else
    gen_mount(g, "/sys", "sysfs", "sysfs", sys);
  gen_mount(g, "/sys/fs/cgroup", "cgroup", "cgroup", cgroup);
  json_gen_array_close(g);
}

static void
gen_id_mapping(json_gen *g, const char *key, unsigned int host_id)
{
  json_gen_key(g, key);
  json_gen_array_open(g);
  json_gen_object_open(g);
  json_gen_key(g, "containerID");
  json_gen_uint64(g, 0);
  json_gen_key(g, "hostID");
  json_gen_uint64(g, host_id);
  json_gen_key(g, "size");
  json_gen_uint64(g, 1);
  json_gen_object_close(g);
  json_gen_array_close(g);
}

static void
gen_seccomp(json_gen *g, const oci_seccomp *s)
{
  size_t i, j, k;

  json_gen_key(g, "seccomp");
  json_gen_object_open(g);
  json_gen_key(g, "defaultAction");
  json_gen_string(g, s->default_action);
  if (s->default_errno_ret_present)
    {
      json_gen_key(g, "defaultErrnoRet");
      json_gen_uint64(g, s->default_errno_ret);
    }
  if (s->architectures_len > 0)
    {
      json_gen_key(g, "architectures");
      json_gen_array_open(g);
      for (i = 0; i < s->architectures_len; i++)
        json_gen_string(g, s->architectures[i]);
      json_gen_array_close(g);
    }
  json_gen_key(g, "syscalls");
  json_gen_array_open(g);
  for (i = 0; i < s->syscalls_len; i++)
    {
      const oci_seccomp_syscall *sc = &s->syscalls[i];
      json_gen_object_open(g);
      json_gen_key(g, "names");
      json_gen_array_open(g);
      for (j = 0; j < sc->names_len; j++)
        json_gen_string(g, sc->names[j]);
      json_gen_array_close(g);
      json_gen_key(g, "action");
      json_gen_string(g, sc->action);
      if (sc->errno_ret_present)
        {
          json_gen_key(g, "errnoRet");
          json_gen_uint64(g, sc->errno_ret);
        }
      if (sc->args_len > 0)
        {
          json_gen_key(g, "args");
          json_gen_array_open(g);
          for (k = 0; k < sc->args_len; k++)
            {
              json_gen_object_open(g);
              json_gen_key(g, "index");
              json_gen_uint64(g, sc->args[k].index);
              json_gen_key(g, "value");
              json_gen_uint64(g, sc->args[k].value);
              if (sc->args[k].value_two_present)
                {
                  json_gen_key(g, "valueTwo");
                  json_gen_uint64(g, sc->args[k].value_two);
                }
              json_gen_key(g, "op");
              json_gen_string(g, sc->args[k].op);
              json_gen_object_close(g);
            }
          json_gen_array_close(g);
        }
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  json_gen_object_close(g);
}

static void
gen_linux(json_gen *g, const isolazi_spec_options_t *o, const oci_seccomp *seccomp)
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
  const char *const *p;

  json_gen_key(g, "linux");
  json_gen_object_open(g);
  if (o->rootless)
    {
      gen_id_mapping(g, "uidMappings", (unsigned int)geteuid());
      gen_id_mapping(g, "gidMappings", (unsigned int)getegid());
    }
  else
    {
      /* Deny every device; the runtime adds the default allow-list (null, zero, tty, ...). */
      json_gen_key(g, "resources");
      json_gen_object_open(g);
      json_gen_key(g, "devices");
      json_gen_array_open(g);
      json_gen_object_open(g);
      json_gen_key(g, "allow");
      json_gen_bool(g, false);
      json_gen_key(g, "access");
      json_gen_string(g, "rwm");
      json_gen_object_close(g);
      json_gen_array_close(g);
      json_gen_object_close(g);
    }
  json_gen_key(g, "namespaces");
  json_gen_array_open(g);
  for (p = o->rootless ? ns_rootless : ns; *p != NULL; p++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "type");
      json_gen_string(g, *p);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  gen_strings(g, "maskedPaths", masked);
  gen_strings(g, "readonlyPaths", readonly);
  if (seccomp != NULL)
    gen_seccomp(g, seccomp);
  json_gen_object_close(g);
}

int
isolazi_spec_generate(const isolazi_spec_options_t *o, char **ret_json, isolazi_error_t *err)
{
  json_gen *g;
  cleanup_free char *gen_err = NULL;
  oci_seccomp *seccomp = NULL;
  char *out = NULL;
  size_t len = 0;
  int r;

  if (o->args != NULL && o->args[0] == NULL)
    return isolazi_error_set(err, 0, "generate config: process.args must not be empty");
  if (isolazi_seccomp_profile(o->seccomp, &seccomp, err) < 0)
    return -1;

  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, "ociVersion");
  json_gen_string(g, ISOLAZI_SPEC_VERSION);
  gen_process(g, o);
  json_gen_key(g, "root");
  json_gen_object_open(g);
  json_gen_key(g, "path");
  json_gen_string(g, "rootfs");
  json_gen_key(g, "readonly");
  json_gen_bool(g, true);
  json_gen_object_close(g);
  json_gen_key(g, "hostname");
  json_gen_string(g, "isolazi");
  gen_mounts(g, o);
  gen_linux(g, o, seccomp);
  json_gen_object_close(g);
  r = json_gen_finish(g, &out, &len, &gen_err);
  json_gen_free(g);
  isolazi_seccomp_profile_free(seccomp);
  if (r < 0)
    return isolazi_error_take(err, 0, xasprintf("generate config: %s", gen_err != NULL ? gen_err : "unknown error"));
  /* A text file ends with a newline (yajl's beautifier may or may not add one). */
  if (len == 0 || out[len - 1] != '\n')
    {
      char *nl = xasprintf("%s\n", out);
      free(out);
      out = nl;
    }
  *ret_json = out;
  return 0;
}
