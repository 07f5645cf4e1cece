/* SPDX-License-Identifier: Apache-2.0 */
/* The container's init: the child the runtime creates with clone3.  It finishes the setup from
 * inside the new namespaces, reports READY, waits for `start`, and execs the user process.
 * Every error goes back to the runtime over the sync socket (or to `start` over its
 * connection) with errno and text. */
#ifndef ISOLAZI_INIT_H
#define ISOLAZI_INIT_H

#include <stdbool.h>
#include "namespaces.h"
#include "ocispec.h"

typedef struct isolazi_init_args
{
  const oci_config *cfg;
  const char *id;
  const char *rootfs; /* absolute host path */
  const isolazi_ns_plan_t *plan;
  const char *cgroup_path; /* the container's cgroup, for cgroup mounts */
  int sync_fd;             /* SOCK_SEQPACKET to the runtime */
  int start_fd;            /* listening socket `start` connects to */
  int console_fd;          /* connected --console-socket, or -1 */
  const int *cgroup_fds;   /* v1 `tasks` files the init writes itself into (isolazi_cgroup_self_fds) */
  size_t n_cgroup_fds;
  const int *idmap_trees; /* per mounts[i]: detached idmapped tree or -1 (isolazi_userns_idmap_trees), or NULL */
  unsigned int preserve_fds;
  bool no_pivot;
  bool no_new_keyring;
  bool runtime_hooks; /* prestart or createRuntime hooks exist: ask the runtime to run them */
} isolazi_init_args_t;

void isolazi_init_main(const isolazi_init_args_t *a) __attribute__((noreturn));

/* The intermediate process, for a joined user namespace with a new pid namespace
 * (isolazi_ns_needs_intermediate): cloned by the runtime into the container's cgroup, it joins
 * the early namespaces and the user namespace, clones the init with CLONE_NEWPID|CLONE_PARENT
 * (so the init is the runtime's child, and `run` waits for it as for any init), writes the
 * init's pid (a pid_t, in the runtime's pid namespace) to report_fd and exits 0.  A failure
 * goes to the runtime as a SYNC_ERROR on a->sync_fd, with exit status 1. */
void isolazi_init_intermediate_main(const isolazi_init_args_t *a, int report_fd) __attribute__((noreturn));

/* Deciding, unit-testable: is this sysctl isolated by a namespace the container has?
 * Returns 0, or -1 naming the key and the namespace it needs. */
int isolazi_sysctl_check(const char *key, const isolazi_ns_plan_t *plan, isolazi_error_t *err);

#endif
