/* SPDX-License-Identifier: Apache-2.0 */
/* Namespaces: from linux.namespaces to clone flags and an ordered list of namespaces to join. */
#ifndef ISOLAZI_NAMESPACES_H
#define ISOLAZI_NAMESPACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "ocispec.h"

#define ISOLAZI_NS_MAX 8

typedef struct isolazi_ns_join
{
  int flag;         /* CLONE_NEW* */
  const char *type; /* spec name */
  const char *path;
  size_t index; /* in linux.namespaces, for messages */
  int fd;       /* opened by isolazi_ns_open, -1 before */
  bool early;   /* joined before the user namespace step (isolazi_ns_plan_order) */
} isolazi_ns_join_t;

typedef struct isolazi_ns_plan
{
  uint64_t clone_flags; /* new namespaces created by clone3 (time excluded, see new_time) */
  bool new_time;        /* unshared by the runtime so the offsets can be written before the init exists */
  isolazi_ns_join_t joins[ISOLAZI_NS_MAX]; /* user first, mount last: the order setns needs */
  size_t n_joins;
} isolazi_ns_plan_t;

/* Deciding: no system calls.  Namespace types were validated by libocispec. */
int isolazi_ns_plan_build(const oci_linux *l, isolazi_ns_plan_t *plan, isolazi_error_t *err);
/* Order of the joins with a user namespace (new or joined).  setns(2) needs CAP_SYS_ADMIN over
 * the user namespace that owns the target; the runtime has it over every namespace below its
 * own user namespace, but once in the container's user namespace only over the namespaces that
 * namespace owns.  So a namespace that the container's (joined) user namespace does not own
 * (a CNI network namespace made by `ip netns add` is owned by the host's) is joined *early*,
 * before the user namespace step; with a new user namespace that is every join, since nothing
 * can be owned by a namespace that does not exist yet.  Without a user namespace the order is
 * plan order and nothing is early.  Deciding: owned_by_user[i] says whether the joined user
 * namespace owns joins[i] (ioctl(NS_GET_USERNS)); NULL for none. */
void isolazi_ns_plan_order(isolazi_ns_plan_t *plan, const bool *owned_by_user);

/* Open every path to join, check it is a namespace of the right type, and order the joins
 * (isolazi_ns_plan_order, with the owners the kernel reports). */
int isolazi_ns_open(isolazi_ns_plan_t *plan, isolazi_error_t *err);
void isolazi_ns_close(isolazi_ns_plan_t *plan);

/* A joined user namespace with a new pid namespace: the pid namespace is owned by the user
 * namespace of the process that clones it, so it must be cloned from inside the joined one.
 * The runtime cannot enter it (there is no way back), so an intermediate process does: it
 * joins the early namespaces and the user namespace and clones the init with CLONE_NEWPID
 * (init.h).  Every other plan clones the init straight from the runtime. */
bool isolazi_ns_needs_intermediate(const isolazi_ns_plan_t *plan);

/* In the runtime, right before clone: join the pid namespace for children, unshare a new time
 * namespace with its offsets and, with a new user namespace, join the early namespaces, so
 * that the init is born in them and clone3(CLONE_NEWUSER) makes the new ones owned by its user
 * namespace.  *restore gets fds to undo it afterwards (so that hooks the runtime runs later
 * stay in its own namespaces); start from ISOLAZI_NS_RESTORE_INIT. */
typedef struct isolazi_ns_restore
{
  int pid_fd;
  int time_fd;
  int cwd_fd;                /* joining a mount namespace moves our root and cwd */
  int fds[ISOLAZI_NS_MAX];   /* the runtime's own namespaces left for early joins */
  int flags[ISOLAZI_NS_MAX]; /* their CLONE_NEW* */
  size_t n;
} isolazi_ns_restore_t;
#define ISOLAZI_NS_RESTORE_INIT                                                                                        \
  {                                                                                                                    \
    -1, -1, -1, { 0 }, { 0 }, 0                                                                                        \
  }
int isolazi_ns_parent_enter(const isolazi_ns_plan_t *plan, const oci_linux *l, isolazi_ns_restore_t *restore,
                            isolazi_error_t *err);
int isolazi_ns_parent_leave(isolazi_ns_restore_t *restore, isolazi_error_t *err);

/* In the intermediate process: the early joins, then the user namespace. */
int isolazi_ns_intermediate_join(const isolazi_ns_plan_t *plan, isolazi_error_t *err);

/* In the init, right after clone: setns into every joined namespace that nobody joined for it
 * (pid and time: the runtime; early ones: the runtime with a new user namespace, the
 * intermediate with one), early ones and the user namespace first. */
int isolazi_ns_child_join(const isolazi_ns_plan_t *plan, isolazi_error_t *err);

bool isolazi_ns_plan_has(const isolazi_ns_plan_t *plan, int flag); /* new or joined */

/* Which new namespaces the clone that makes the init creates (from the runtime, or from the
 * intermediate) and which the init unshares after its joins.  A namespace is owned by the
 * user namespace of its creator (user_namespaces(7)): with a joined user namespace the others
 * must be created after setns(CLONE_NEWUSER), or the container's root could not mount or set
 * the hostname in them.  The pid namespace can only come from clone; the cgroup namespace is
 * always unshared by the init (see init.c). */
uint64_t isolazi_ns_clone_flags(const isolazi_ns_plan_t *plan);
uint64_t isolazi_ns_unshare_flags(const isolazi_ns_plan_t *plan);

#endif
