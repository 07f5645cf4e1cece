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
/* Open every path to join and check it is a namespace of the right type. */
int isolazi_ns_open(isolazi_ns_plan_t *plan, isolazi_error_t *err);
void isolazi_ns_close(isolazi_ns_plan_t *plan);

/* In the runtime, right before clone: join the pid namespace for children, and unshare a new
 * time namespace with its offsets.  *restore gets fds to undo it afterwards (so that hooks the
 * runtime runs later stay in its own namespaces). */
typedef struct isolazi_ns_restore
{
  int pid_fd;
  int time_fd;
} isolazi_ns_restore_t;
int isolazi_ns_parent_enter(const isolazi_ns_plan_t *plan, const oci_linux *l, isolazi_ns_restore_t *restore,
                            isolazi_error_t *err);
int isolazi_ns_parent_leave(isolazi_ns_restore_t *restore, isolazi_error_t *err);

/* In the init, right after clone: setns into every joined namespace except pid and time
 * (already done by the parent), in plan order. */
int isolazi_ns_child_join(const isolazi_ns_plan_t *plan, isolazi_error_t *err);

bool isolazi_ns_plan_has(const isolazi_ns_plan_t *plan, int flag); /* new or joined */

/* Which new namespaces clone3 creates and which the init unshares after its joins.  A
 * namespace is owned by the user namespace of its creator (user_namespaces(7)): with a
 * joined user namespace the others must be created after setns(CLONE_NEWUSER), or the
 * container's root could not mount or set the hostname in them.  The pid namespace can only
 * come from clone; the cgroup namespace is always unshared by the init (see init.c). */
uint64_t isolazi_ns_clone_flags(const isolazi_ns_plan_t *plan);
uint64_t isolazi_ns_unshare_flags(const isolazi_ns_plan_t *plan);

#endif
