/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "namespaces.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NS_GET_USERNS
#define NS_GET_USERNS _IO(0xb7, 0x1)
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
      plan->joins[j] = (isolazi_ns_join_t){ ns_types[t].flag, ns_types[t].name, ns->path, i, -1, false };
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

bool
isolazi_ns_needs_intermediate(const isolazi_ns_plan_t *plan)
{
  return joins_user(plan) && (plan->clone_flags & CLONE_NEWPID);
}

/* pid and time are joined by the runtime for its children; the user namespace has its own step. */
static bool
joined_by_child(const isolazi_ns_join_t *j)
{
  return j->flag != CLONE_NEWPID && j->flag != CLONE_NEWTIME && j->flag != CLONE_NEWUSER;
}

void
isolazi_ns_plan_order(isolazi_ns_plan_t *plan, const bool *owned_by_user)
{
  bool new_userns = (plan->clone_flags & CLONE_NEWUSER) != 0, joined = joins_user(plan);
  size_t i;

  for (i = 0; i < plan->n_joins; i++)
    {
      isolazi_ns_join_t *j = &plan->joins[i];
      if (!joined_by_child(j))
        j->early = false;
      else if (new_userns)
        j->early = true;
      else if (joined)
        j->early = owned_by_user == NULL || !owned_by_user[i];
      else
        j->early = false;
    }
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

/* Whether the joined user namespace (joins[0]) owns each join: ioctl(NS_GET_USERNS) gives the
   owner, which is compared with it by inode.  EPERM means the owner is above our own user
   namespace: not the joined one. */
static int
find_owners(const isolazi_ns_plan_t *plan, bool *owned_by_user, isolazi_error_t *err)
{
  struct stat user, owner;
  size_t i;

  if (fstat(plan->joins[0].fd, &user) < 0)
    return isolazi_error_errno(err, "stat user namespace `%s`", plan->joins[0].path);
  for (i = 1; i < plan->n_joins; i++)
    {
      const isolazi_ns_join_t *j = &plan->joins[i];
      cleanup_close int fd = -1;

      owned_by_user[i] = false;
      if (!joined_by_child(j))
        continue;
      fd = ioctl(j->fd, NS_GET_USERNS);
      if (fd < 0 && errno == EPERM)
        continue;
      if (fd < 0 || fstat(fd, &owner) < 0)
        return isolazi_error_errno(err, "find the user namespace that owns `%s` (linux.namespaces[%zu].path)", j->path,
                                   j->index);
      owned_by_user[i] = owner.st_dev == user.st_dev && owner.st_ino == user.st_ino;
    }
  return 0;
}

int
isolazi_ns_open(isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  bool owned_by_user[ISOLAZI_NS_MAX] = { false };
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
  if (joins_user(plan) && find_owners(plan, owned_by_user, err) < 0)
    return -1;
  isolazi_ns_plan_order(plan, owned_by_user);
  for (i = 0; i < plan->n_joins; i++)
    if (plan->joins[i].early)
      isolazi_debug("linux.namespaces[%zu]: %s namespace `%s` is joined before the user namespace",
                    plan->joins[i].index, plan->joins[i].type, plan->joins[i].path);
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

static const char *
proc_ns_name(int flag)
{
  switch (flag)
    {
    case CLONE_NEWIPC:
      return "ipc";
    case CLONE_NEWUTS:
      return "uts";
    case CLONE_NEWNET:
      return "net";
    case CLONE_NEWCGROUP:
      return "cgroup";
    case CLONE_NEWNS:
      return "mnt";
    default:
      return NULL;
    }
}

/* With a new user namespace: the early joins (every join but pid and time), in plan order, each
   after keeping a way back.  clone3(CLONE_NEWUSER) then puts the init in them, and the
   namespaces it creates are owned by the new user namespace. */
static int
parent_join_early(const isolazi_ns_plan_t *plan, isolazi_ns_restore_t *restore, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < plan->n_joins; i++)
    {
      const isolazi_ns_join_t *j = &plan->joins[i];
      char path[32];
      int fd;

      if (!j->early)
        continue;
      if (j->flag == CLONE_NEWNS && restore->cwd_fd < 0)
        {
          restore->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
          if (restore->cwd_fd < 0)
            return isolazi_error_errno(err, "open the current directory");
        }
      snprintf(path, sizeof path, "/proc/self/ns/%s", proc_ns_name(j->flag));
      fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return isolazi_error_errno(err, "open `%s`", path);
      restore->fds[restore->n] = fd;
      restore->flags[restore->n] = j->flag;
      restore->n++;
      if (setns(j->fd, j->flag) < 0)
        return isolazi_error_errno(err, "join %s namespace `%s` (linux.namespaces[%zu].path)", j->type, j->path,
                                   j->index);
    }
  return 0;
}

int
isolazi_ns_parent_enter(const isolazi_ns_plan_t *plan, const oci_linux *l, isolazi_ns_restore_t *restore,
                        isolazi_error_t *err)
{
  const isolazi_ns_join_t *pid = find_join(plan, CLONE_NEWPID);
  const isolazi_ns_join_t *time_ns = find_join(plan, CLONE_NEWTIME);

  *restore = (isolazi_ns_restore_t)ISOLAZI_NS_RESTORE_INIT;
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
  if ((plan->clone_flags & CLONE_NEWUSER) && parent_join_early(plan, restore, err) < 0)
    return -1;
  return 0;
}

int
isolazi_ns_parent_leave(isolazi_ns_restore_t *restore, isolazi_error_t *err)
{
  int r = 0;
  size_t i;

  /* Back in reverse order: a namespace joined later may have hidden the way to an earlier one. */
  for (i = restore->n; i > 0; i--)
    {
      if (setns(restore->fds[i - 1], restore->flags[i - 1]) < 0 && r == 0)
        r = isolazi_error_errno(err, "return to the runtime's %s namespace", proc_ns_name(restore->flags[i - 1]));
      close(restore->fds[i - 1]);
    }
  restore->n = 0;
  if (restore->cwd_fd >= 0)
    {
      if (fchdir(restore->cwd_fd) < 0 && r == 0)
        r = isolazi_error_errno(err, "return to the runtime's working directory");
      close(restore->cwd_fd);
      restore->cwd_fd = -1;
    }
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

static int
join_one(const isolazi_ns_join_t *j, isolazi_error_t *err)
{
  if (setns(j->fd, j->flag) < 0)
    return isolazi_error_errno(err, "join %s namespace `%s` (linux.namespaces[%zu].path)", j->type, j->path, j->index);
  return 0;
}

int
isolazi_ns_intermediate_join(const isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < plan->n_joins; i++)
    if (plan->joins[i].early && join_one(&plan->joins[i], err) < 0)
      return -1;
  /* The user namespace last: it gives us every capability in it, and none outside. */
  if (joins_user(plan) && join_one(&plan->joins[0], err) < 0)
    return -1;
  return 0;
}

int
isolazi_ns_child_join(const isolazi_ns_plan_t *plan, isolazi_error_t *err)
{
  /* Early joins done before the clone: by the runtime (a new user namespace) or the
     intermediate. */
  bool early_done = (plan->clone_flags & CLONE_NEWUSER) || isolazi_ns_needs_intermediate(plan);
  size_t i;

  if (!early_done && isolazi_ns_intermediate_join(plan, err) < 0)
    return -1;
  for (i = 0; i < plan->n_joins; i++)
    {
      const isolazi_ns_join_t *j = &plan->joins[i];
      if (joined_by_child(j) && !j->early && join_one(j, err) < 0)
        return -1;
    }
  return 0;
}
