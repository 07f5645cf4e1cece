/* SPDX-License-Identifier: Apache-2.0 */
/* The state store: one directory per container under the root (--root), holding state.json
 * (written atomically), a copy of config.json, and start.sock while the container is created.
 * Mutating verbs hold an exclusive flock on the directory, so concurrent calls on one id are
 * serialised. */
#ifndef ISOLAZI_STATE_H
#define ISOLAZI_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "cgroup.h"
#include "error.h"
#include "ocispec.h"

#define ISOLAZI_OCI_VERSION  "1.2.0"
#define ISOLAZI_STATE_FILE   "state.json"
#define ISOLAZI_CONFIG_COPY  "config.json"
#define ISOLAZI_START_SOCKET "start.sock"

typedef struct isolazi_state
{
  char *id;
  pid_t pid;                    /* host pid of the container's init */
  unsigned long long pid_start; /* its start time, to detect pid reuse */
  char *bundle;
  char *rootfs;
  char *created;
  char *owner;
  oci_string_map annotations;
  isolazi_cgroup_t *cgroup; /* NULL when the container has none */
  bool poststart_hooks;     /* config.json has poststart / poststop hooks: later verbs load the */
  bool poststop_hooks;      /* config copy only then */
} isolazi_state_t;

/* Open (and with `create`, make, mode 0700) the state root. Returns an O_DIRECTORY fd. */
int isolazi_state_root_open(const char *root, bool create, isolazi_error_t *err);
/* Make the container's directory; an existing one is "container `ID` already exists". */
int isolazi_state_dir_create(int rootfd, const char *id, isolazi_error_t *err);
/* Open it; a missing one is "container `ID` does not exist" with errno ENOENT. */
int isolazi_state_dir_open(int rootfd, const char *id, isolazi_error_t *err);
int isolazi_state_lock(int dirfd, isolazi_error_t *err);
int isolazi_state_save(int dirfd, const isolazi_state_t *s, isolazi_error_t *err);
int isolazi_state_load(int dirfd, const char *id, isolazi_state_t **ret, isolazi_error_t *err);
void isolazi_state_free(isolazi_state_t *s);
/* Remove the container's directory and everything in it. */
int isolazi_state_dir_remove(int rootfd, const char *id, isolazi_error_t *err);

/* created / running / stopped, from the init's liveness and the start socket. */
const char *isolazi_state_status(const isolazi_state_t *s, int dirfd);

/* The OCI state document (runtime-spec "State", with runc's rootfs/created/owner additions). */
char *isolazi_state_oci_json(const isolazi_state_t *s, const char *status, bool pretty);

#endif
