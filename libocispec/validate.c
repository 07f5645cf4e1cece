/* SPDX-License-Identifier: Apache-2.0 */
/* Semantic checks on a parsed config beyond JSON types: the spec's REQUIRED fields and its closed
 * enumerations.  Messages name the JSON path:
 *   config.json: linux.namespaces[2].type: unknown namespace type "foo" */
#include "config.h"
#include "ocispec.h"
#include "schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For messages that quote a value: the caller frees the result. */
static char *
quoted(const char *what, const char *value)
{
  char *s = NULL;

  if (asprintf(&s, "%s \"%s\"", what, value) < 0)
    return NULL;
  return s;
}

#define FAIL_VALUE(v, what, value, ...)                                                                                \
  do                                                                                                                   \
    {                                                                                                                  \
      char *msg_ = quoted(what, value);                                                                                \
      schema_verr(v, msg_ ? msg_ : "invalid value", __VA_ARGS__);                                                      \
      free(msg_);                                                                                                      \
      return -1;                                                                                                       \
    }                                                                                                                  \
  while (0)

static bool
in_set(const char *s, const char *const *set)
{
  for (; *set; set++)
    if (strcmp(s, *set) == 0)
      return true;
  return false;
}

static bool
empty(const char *s)
{
  return s == NULL || *s == '\0';
}

/* config-linux.md "Namespaces" */
static const char *const namespace_types[]
    = { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", NULL };
/* config-linux.md "Rootfs Mount Propagation" */
static const char *const propagations[]
    = { "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable", NULL };
/* config.md "POSIX process": getrlimit(2) resources, as named in <sys/resource.h> */
static const char *const rlimit_types[] = { "RLIMIT_AS",
                                            "RLIMIT_CORE",
                                            "RLIMIT_CPU",
                                            "RLIMIT_DATA",
                                            "RLIMIT_FSIZE",
                                            "RLIMIT_LOCKS",
                                            "RLIMIT_MEMLOCK",
                                            "RLIMIT_MSGQUEUE",
                                            "RLIMIT_NICE",
                                            "RLIMIT_NOFILE",
                                            "RLIMIT_NPROC",
                                            "RLIMIT_RSS",
                                            "RLIMIT_RTPRIO",
                                            "RLIMIT_RTTIME",
                                            "RLIMIT_SIGPENDING",
                                            "RLIMIT_STACK",
                                            NULL };
/* config-linux.md "Seccomp" */
static const char *const seccomp_actions[]
    = { "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY", NULL };
static const char *const seccomp_operators[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
                                                 "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL };
/* config.md "Scheduler" and "IO Priority" */
static const char *const sched_policies[]
    = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE", NULL };
static const char *const ioprio_classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL };
/* config-linux.md "Personality" */
static const char *const personality_domains[] = { "LINUX", "LINUX32", NULL };
/* config-linux.md "Offset for Time Namespace" */
static const char *const time_clocks[] = { "monotonic", "boottime", NULL };

static int
check_process(schema_vctx *v, const char *prefix, const oci_process *p)
{
  size_t i, j;

  if (p->args_len == 0 || empty(p->args[0]))
    return schema_verr(v, "must not be empty", "%sargs", prefix);
  if (empty(p->cwd))
    return schema_verr(v, "missing required field", "%scwd", prefix);
  if (p->cwd[0] != '/')
    FAIL_VALUE(v, "not an absolute path:", p->cwd, "%scwd", prefix);
  for (i = 0; i < p->rlimits_len; i++)
    {
      const oci_rlimit *rl = &p->rlimits[i];

      if (empty(rl->type))
        return schema_verr(v, "missing required field", "%srlimits[%zu].type", prefix, i);
      if (!in_set(rl->type, rlimit_types))
        FAIL_VALUE(v, "unknown rlimit type", rl->type, "%srlimits[%zu].type", prefix, i);
      /* config.md: "the runtime MUST generate an error for any duplicated entries" */
      for (j = 0; j < i; j++)
        if (strcmp(p->rlimits[j].type, rl->type) == 0)
          FAIL_VALUE(v, "duplicate rlimit type", rl->type, "%srlimits[%zu].type", prefix, i);
      if (rl->soft > rl->hard)
        {
          char msg[96];
          snprintf(msg, sizeof msg, "soft limit %llu is greater than hard limit %llu", (unsigned long long)rl->soft,
                   (unsigned long long)rl->hard);
          return schema_verr(v, msg, "%srlimits[%zu]", prefix, i);
        }
    }
  if (p->scheduler != NULL)
    {
      if (empty(p->scheduler->policy))
        return schema_verr(v, "missing required field", "%sscheduler.policy", prefix);
      if (!in_set(p->scheduler->policy, sched_policies))
        FAIL_VALUE(v, "unknown scheduler policy", p->scheduler->policy, "%sscheduler.policy", prefix);
    }
  if (p->io_priority != NULL)
    {
      if (empty(p->io_priority->klass))
        return schema_verr(v, "missing required field", "%sioPriority.class", prefix);
      if (!in_set(p->io_priority->klass, ioprio_classes))
        FAIL_VALUE(v, "unknown I/O priority class", p->io_priority->klass, "%sioPriority.class", prefix);
    }
  return 0;
}

static int
check_hooks(schema_vctx *v, const oci_hooks *h)
{
  const struct
  {
    const char *name;
    const oci_hook *hooks;
    size_t len;
  } lists[] = { { "prestart", h->prestart, h->prestart_len },
                { "createRuntime", h->create_runtime, h->create_runtime_len },
                { "createContainer", h->create_container, h->create_container_len },
                { "startContainer", h->start_container, h->start_container_len },
                { "poststart", h->poststart, h->poststart_len },
                { "poststop", h->poststop, h->poststop_len } };
  size_t i, j;

  for (i = 0; i < sizeof lists / sizeof lists[0]; i++)
    for (j = 0; j < lists[i].len; j++)
      {
        const oci_hook *hk = &lists[i].hooks[j];

        /* config.md "POSIX-platform Hooks": path is REQUIRED and absolute; timeout > 0 */
        if (empty(hk->path))
          return schema_verr(v, "missing required field", "hooks.%s[%zu].path", lists[i].name, j);
        if (hk->path[0] != '/')
          FAIL_VALUE(v, "not an absolute path:", hk->path, "hooks.%s[%zu].path", lists[i].name, j);
        if (hk->timeout_present && hk->timeout <= 0)
          return schema_verr(v, "must be greater than zero", "hooks.%s[%zu].timeout", lists[i].name, j);
      }
  return 0;
}

static int
check_seccomp(schema_vctx *v, const oci_seccomp *s)
{
  size_t i, j;

  if (empty(s->default_action))
    return schema_verr(v, "missing required field", "linux.seccomp.defaultAction");
  if (!in_set(s->default_action, seccomp_actions))
    FAIL_VALUE(v, "unknown seccomp action", s->default_action, "linux.seccomp.defaultAction");
  for (i = 0; i < s->syscalls_len; i++)
    {
      const oci_seccomp_syscall *sc = &s->syscalls[i];

      if (sc->names_len == 0)
        return schema_verr(v, "must not be empty", "linux.seccomp.syscalls[%zu].names", i);
      if (empty(sc->action))
        return schema_verr(v, "missing required field", "linux.seccomp.syscalls[%zu].action", i);
      if (!in_set(sc->action, seccomp_actions))
        FAIL_VALUE(v, "unknown seccomp action", sc->action, "linux.seccomp.syscalls[%zu].action", i);
      for (j = 0; j < sc->args_len; j++)
        {
          if (empty(sc->args[j].op))
            return schema_verr(v, "missing required field", "linux.seccomp.syscalls[%zu].args[%zu].op", i, j);
          if (!in_set(sc->args[j].op, seccomp_operators))
            FAIL_VALUE(v, "unknown seccomp operator", sc->args[j].op, "linux.seccomp.syscalls[%zu].args[%zu].op", i, j);
        }
    }
  return 0;
}

static int
check_linux(schema_vctx *v, const oci_linux *l)
{
  size_t i, j;

  for (i = 0; i < l->namespaces_len; i++)
    {
      const char *t = l->namespaces[i].type;

      if (empty(t))
        return schema_verr(v, "missing required field", "linux.namespaces[%zu].type", i);
      if (!in_set(t, namespace_types))
        FAIL_VALUE(v, "unknown namespace type", t, "linux.namespaces[%zu].type", i);
      /* config-linux.md: "If a namespace type is repeated, the runtime MUST generate an error" */
      for (j = 0; j < i; j++)
        if (strcmp(l->namespaces[j].type, t) == 0)
          FAIL_VALUE(v, "duplicate namespace type", t, "linux.namespaces[%zu].type", i);
    }
  for (i = 0; i < l->devices_len; i++)
    {
      const oci_device *d = &l->devices[i];

      if (empty(d->path))
        return schema_verr(v, "missing required field", "linux.devices[%zu].path", i);
      if (empty(d->type))
        return schema_verr(v, "missing required field", "linux.devices[%zu].type", i);
      if (strlen(d->type) != 1 || strchr("cbup", d->type[0]) == NULL)
        FAIL_VALUE(v, "unknown device type", d->type, "linux.devices[%zu].type", i);
      /* config-linux.md "Devices": major and minor are REQUIRED unless type is p */
      if (d->type[0] != 'p' && !d->major_present)
        return schema_verr(v, "missing required field", "linux.devices[%zu].major", i);
      if (d->type[0] != 'p' && !d->minor_present)
        return schema_verr(v, "missing required field", "linux.devices[%zu].minor", i);
    }
  if (l->rootfs_propagation != NULL && !in_set(l->rootfs_propagation, propagations))
    FAIL_VALUE(v, "unknown rootfs propagation", l->rootfs_propagation, "linux.rootfsPropagation");
  if (l->resources != NULL)
    for (i = 0; i < l->resources->devices_len; i++)
      {
        const oci_device_cgroup *d = &l->resources->devices[i];

        if (d->type != NULL && (strlen(d->type) != 1 || strchr("abc", d->type[0]) == NULL))
          FAIL_VALUE(v, "unknown device type", d->type, "linux.resources.devices[%zu].type", i);
        if (d->access != NULL && strspn(d->access, "rwm") != strlen(d->access))
          FAIL_VALUE(v, "invalid device access", d->access, "linux.resources.devices[%zu].access", i);
      }
  if (l->seccomp != NULL && check_seccomp(v, l->seccomp) < 0)
    return -1;
  for (i = 0; i < l->time_offsets_len; i++)
    if (!in_set(l->time_offsets[i].clock, time_clocks))
      FAIL_VALUE(v, "unknown clock", l->time_offsets[i].clock, "linux.timeOffsets.%s", l->time_offsets[i].clock);
  if (l->personality != NULL)
    {
      if (empty(l->personality->domain))
        return schema_verr(v, "missing required field", "linux.personality.domain");
      if (!in_set(l->personality->domain, personality_domains))
        FAIL_VALUE(v, "unknown personality domain", l->personality->domain, "linux.personality.domain");
    }
  return 0;
}

int
oci_config_validate(const char *source, const oci_config *c, char **err)
{
  schema_vctx v = { source ? source : "config.json", err };
  size_t i;

  if (c == NULL)
    {
      if (err != NULL)
        *err = strdup("no configuration");
      return -1;
    }
  if (empty(c->oci_version))
    return schema_verr(&v, "missing required field", "ociVersion");
  if (c->root == NULL)
    return schema_verr(&v, "missing required field", "root");
  if (empty(c->root->path))
    return schema_verr(&v, "missing required field", "root.path");
  if (c->process != NULL && check_process(&v, "process.", c->process) < 0)
    return -1;
  /* config.md "Mounts": destination is REQUIRED.  runc accepts relative destinations (resolved
     against the rootfs), so we do not insist on an absolute path here. */
  for (i = 0; i < c->mounts_len; i++)
    if (empty(c->mounts[i].destination))
      return schema_verr(&v, "missing required field", "mounts[%zu].destination", i);
  if (c->hooks != NULL && check_hooks(&v, c->hooks) < 0)
    return -1;
  if (c->linux_ != NULL && check_linux(&v, c->linux_) < 0)
    return -1;
  return 0;
}

int
oci_process_validate(const char *source, const oci_process *p, char **err)
{
  schema_vctx v = { source ? source : "process.json", err };

  if (p == NULL)
    {
      if (err != NULL)
        *err = strdup("no process");
      return -1;
    }
  return check_process(&v, "", p);
}
