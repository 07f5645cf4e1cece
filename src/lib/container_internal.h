/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the lifecycle verbs (container.c) and the verbs that act on an existing
 * container (exec.c, control.c): opening its state, signalling its init safely, waiting. */
#ifndef ISOLAZI_CONTAINER_INTERNAL_H
#define ISOLAZI_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include "container.h"
#include "error.h"
#include "ocispec.h"
#include "state.h"

/* An existing container: its state, loaded under the state root. */
typedef struct opened
{
  int rootfd;
  int dirfd;
  isolazi_state_t *state;
  const char *status; /* created running paused stopped */
} opened_t;

/* Open a container's state; `lock` serialises against other mutating verbs.  On failure the
 * caller still calls container_opened_release.  Unknown id: "container `ID` does not exist"
 * with code ENOENT. */
int container_open(const isolazi_global_t *g, const char *id, bool lock, opened_t *c, isolazi_error_t *err);
void container_opened_release(opened_t *c);
/* The copy of config.json kept in the state directory. */
oci_config *container_load_config_copy(int dirfd, isolazi_error_t *err);

/* A pidfd for pid that is checked to be the process started at `start` (pid-reuse safe);
 * -1 with errno ESRCH when it is gone. */
int container_pidfd_open(pid_t pid, unsigned long long start);
int container_pidfd_signal(int pidfd, int sig);
bool container_pidfd_wait_exit(int pidfd, int timeout_ms);

/* Forward every signal we receive to the process behind pidfd until it exits; reap it (it
 * must be our child) and store its status as a shell would (code, or 128+signal). */
int container_wait_forwarding(pid_t pid, int pidfd, int *ret_status, isolazi_error_t *err);

/* Connect to a --console-socket (AF_UNIX SOCK_STREAM). */
int container_connect_console(const char *path, isolazi_error_t *err);
/* Park /dev/null on the unopened fds of 3..3+n-1 so none of our own fds lands there. */
void container_reserve_preserved_fds(unsigned int n);
/* Write a pid file atomically, with no trailing newline (containerd reads it with Atoi). */
int container_write_pid_file(const char *path, pid_t pid, isolazi_error_t *err);

#endif
