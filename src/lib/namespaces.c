/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "namespaces.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

static const struct
{
  const char *name;
  int flag;
  int order; /* setns order: user first (it grants the rights for the rest), mount last */
} ns_types[] = {
  { "user", CLONE_NEWUSER, 0 },     { "pid", CLONE_NEWPID, 1 },  { "time", CLONE_NEWTIME, 2 },
  { "ipc", CLONE_NEWIPC, 3 },       { "uts", CLONE_NEWUTS, 4 },  { "network", CLONE_NEWNET, 5 },
  { "cgroup", CLONE_NEWCGROUP, 6 }, { "mount", CLONE_NEWNS, 7 },
};

static int
ns_lookup(const char *name)
{
  size_t i;
  for (i = 0; i < sizeof ns_types / sizeof ns_types[0]; i++)
    if (strcmp(ns_types[i].name, name) == 0)
      return (int)i;
  return -1;
}

int
isolazi_ns_plan_build(const oci_linux *l, isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  size_t i, j;

  memset(plan, 0, sizeof *plan);
  for (i = 0; l != NULL && i < l->namespaces_len; i++)
    {
      const oci_namespace *ns = &l->namespaces[i];
      int t = ns_lookup(ns->type);
      if (t < 0)
        return isolazi_error_set(err, 0, "linux.namespaces[%zu].type: unknown namespace type \"%s\"", i, ns->type);
      if (ns->path == NULL || ns->path[0] == '\0')
        {
          if (ns_types[t].flag == CLONE_NEWTIME)
            plan->new_time = true;
          else
            plan->clone_flags |= (uint64_t)ns_types[t].flag;
          continue;
        }
      if (ns->path[0] != '/')
        return isolazi_error_set(err, 0, "linux.namespaces[%zu].path: `%s` is not an absolute path", i, ns->path);
      if (plan->n_joins >= ISOLAZI_NS_MAX)
        return isolazi_error_set(err, 0, "linux.namespaces: too many namespaces");
      /* insertion sort by setns order */
      for (j = plan->n_joins; j > 0 && ns_types[ns_lookup(plan->joins[j - 1].type)].order > ns_types[t].order; j--)
        plan->joins[j] = plan->joins[j - 1];
      plan->joins[j] = (isolazi_ns_join_t){ ns_types[t].flag, ns_types[t].name, ns->path, i, -1 };
      plan->n_joins++;
    }
  if (!isolazi_ns_plan_has(plan, CLONE_NEWNS))
    return isolazi_error_set(err, 0,
                             "linux.namespaces: a mount namespace is required (the rootfs is set up inside it)");
  return 0;
}

bool
isolazi_ns_plan_has(const isolazi_ns_plan_t *plan, int flag)
{
  size_t i;

  if (flag == CLONE_NEWTIME && plan->new_time)
    return true;
  if (flag != CLONE_NEWTIME && (plan->clone_flags & (uint64_t)flag))
    return true;
  for (i = 0; i < plan->n_joins; i++)
    if (plan->joins[i].flag == flag)
      return true;
  return false;
}

static bool
joins_user(const isolazi_ns_plan_t *plan)
{
  return plan->n_joins > 0 && plan->joins[0].flag == CLONE_NEWUSER; /* user sorts first */
}

uint64_t
isolazi_ns_clone_flags(const isolazi_ns_plan_t *plan)
{
  uint64_t f = plan->clone_flags & ~(uint64_t)CLONE_NEWCGROUP;

  return joins_user(plan) ? f & (uint64_t)CLONE_NEWPID : f;
}

uint64_t
isolazi_ns_unshare_flags(const isolazi_ns_plan_t *plan)
{
  return plan->clone_flags & ~isolazi_ns_clone_flags(plan) & ~(uint64_t)CLONE_NEWCGROUP;
}

int
isolazi_ns_open(isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < plan->n_joins; i++)
    {
      isolazi_ns_join_t *j = &plan->joins[i];
      int type;

      j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
      if (j->fd < 0)
        return isolazi_error_errno(err, "open %s namespace `%s` (linux.namespaces[%zu].path)", j->type, j->path,
                                   j->index);
      type = ioctl(j->fd, NS_GET_NSTYPE);
      if (type < 0)
        return isolazi_error_errno(err, "`%s` (linux.namespaces[%zu].path) is not a namespace", j->path, j->index);
      if (type != j->flag)
        return isolazi_error_set(err, 0, "`%s` (linux.namespaces[%zu].path) is not a %s namespace", j->path, j->index,
                                 j->type);
    }
  return 0;
}

void
isolazi_ns_close(isolazi_ns_plan_t *plan)
{
  size_t i;

  for (i = 0; i < plan->n_joins; i++)
    if (plan->joins[i].fd >= 0)
      {
        (void)close(plan->joins[i].fd);
        plan->joins[i].fd = -1;
      }
}

static const isolazi_ns_join_t *
find_join(const isolazi_ns_plan_t *plan, int flag)
{
  size_t i;
  for (i = 0; i < plan->n_joins; i++)
    if (plan->joins[i].flag == flag)
      return &plan->joins[i];
  return NULL;
}

static int
write_time_offsets(const oci_linux *l, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < l->time_offsets_len; i++)
    {
      const oci_time_offset *o = &l->time_offsets[i];
      char line[96];
      int n = snprintf(line, sizeof line, "%s %lld %u\n", o->clock, (long long)o->secs, o->nanosecs);
      if (isolazi_write_file_at(AT_FDCWD, "/proc/self/timens_offsets", line, (size_t)n, err) < 0)
        return isolazi_error_wrap(err, "linux.timeOffsets.%s", o->clock);
    }
  return 0;
}

int
isolazi_ns_parent_enter(const isolazi_ns_plan_t *plan, const oci_linux *l, isolazi_ns_restore_t *restore,
                        isolazi_error_t *err)
{
  const isolazi_ns_join_t *pid = find_join(plan, CLONE_NEWPID);
  const isolazi_ns_join_t *time_ns = find_join(plan, CLONE_NEWTIME);

  restore->pid_fd = -1;
  restore->time_fd = -1;
  /* setns(CLONE_NEWPID) and unshare(CLONE_NEWTIME) only affect children: the runtime's own
     pid and clocks stay, and the init is born in the right namespaces. */
  if (pid != NULL)
    {
      restore->pid_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
      if (restore->pid_fd < 0)
        return isolazi_error_errno(err, "open `/proc/self/ns/pid`");
      if (setns(pid->fd, CLONE_NEWPID) < 0)
        return isolazi_error_errno(err, "join pid namespace `%s` (linux.namespaces[%zu].path)", pid->path, pid->index);
    }
  if (time_ns != NULL || plan->new_time)
    {
      restore->time_fd = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
      if (restore->time_fd < 0)
        return isolazi_error_errno(err, "open `/proc/self/ns/time`");
      if (time_ns != NULL)
        {
          if (setns(time_ns->fd, CLONE_NEWTIME) < 0)
            return isolazi_error_errno(err, "join time namespace `%s` (linux.namespaces[%zu].path)", time_ns->path,
                                       time_ns->index);
        }
      else
        {
          if (unshare(CLONE_NEWTIME) < 0)
            return isolazi_error_errno(err, "create time namespace");
          /* Offsets can only be written before the first process enters the namespace. */
          if (l != NULL && write_time_offsets(l, err) < 0)
            return -1;
        }
    }
  return 0;
}

int
isolazi_ns_parent_leave(isolazi_ns_restore_t *restore, isolazi_error_t *err)
{
  int r = 0;

  if (restore->pid_fd >= 0)
    {
      if (setns(restore->pid_fd, CLONE_NEWPID) < 0)
        r = isolazi_error_errno(err, "return to the runtime's pid namespace");
      close(restore->pid_fd);
      restore->pid_fd = -1;
    }
  if (restore->time_fd >= 0)
    {
      if (setns(restore->time_fd, CLONE_NEWTIME) < 0 && r == 0)
        r = isolazi_error_errno(err, "return to the runtime's time namespace");
      close(restore->time_fd);
      restore->time_fd = -1;
    }
  return r;
}

int
isolazi_ns_child_join(const isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < plan->n_joins; i++)
    {
      const isolazi_ns_join_t *j = &plan->joins[i];
      if (j->flag == CLONE_NEWPID || j->flag == CLONE_NEWTIME)
        continue;
      if (setns(j->fd, j->flag) < 0)
        return isolazi_error_errno(err, "join %s namespace `%s` (linux.namespaces[%zu].path)", j->type, j->path,
                                   j->index);
    }
  return 0;
}
