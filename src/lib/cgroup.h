/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups: one interface, drivers for v1, hybrid (v1 controllers + cgroup2 at
 * /sys/fs/cgroup/unified) and pure v2 behind it. */
#ifndef ISOLAZI_CGROUP_H
#define ISOLAZI_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"
#include "json.h"
#include "ocispec.h"

typedef enum
{
  ISOLAZI_CGROUP_V1,
  ISOLAZI_CGROUP_HYBRID,
  ISOLAZI_CGROUP_V2,
} isolazi_cgroup_mode_t;

/* Detect the host's layout from statfs of /sys/fs/cgroup (and .../unified); cached. */
int isolazi_cgroup_mode(isolazi_cgroup_mode_t *ret, isolazi_error_t *err);
const char *isolazi_cgroup_mode_name(isolazi_cgroup_mode_t mode); /* "v1" "hybrid" "v2" */

typedef struct isolazi_cgroup isolazi_cgroup_t;

typedef struct isolazi_cgroup_config
{
  const char *id;                 /* container id (default path) */
  const char *cgroups_path;       /* linux.cgroupsPath, may be NULL or "" */
  const oci_resources *resources; /* may be NULL */
  bool systemd;                   /* --systemd-cgroup */
  pid_t init_pid;                 /* for relative paths: resolved against this process's cgroup (0: self) */
} isolazi_cgroup_config_t;

/* Create the container's cgroup in every hierarchy in use and apply the resources.  On failure
 * nothing is left behind.  With `systemd` (cgroup_systemd.c): a transient unit from
 * linux.cgroupsPath ("slice:prefix:name"), or a clear error when systemd cannot be reached. */
int isolazi_cgroup_create(const isolazi_cgroup_config_t *cfg, isolazi_cgroup_t **ret, isolazi_error_t *err);

/* The container's first process is in the cgroup: under the systemd driver the process that
 * held the new scope until then goes.  Call it right after the clone; nothing to do otherwise,
 * and accepts NULL. */
void isolazi_cgroup_placed(isolazi_cgroup_t *cg);

/* An O_DIRECTORY fd of the cgroup2 directory for clone3(CLONE_INTO_CGROUP), or -1 when there is
 * none (pure v1).  Owned by the cgroup object. */
int isolazi_cgroup_clone_fd(const isolazi_cgroup_t *cg);

/* Put pid into the cgroup in every hierarchy; with `cloned_into` the cgroup2 part is already
 * done by CLONE_INTO_CGROUP and only v1 hierarchies are written. */
int isolazi_cgroup_enter(const isolazi_cgroup_t *cg, pid_t pid, bool cloned_into, isolazi_error_t *err);

/* Faster v1 entry for a single-threaded child (the container init before it starts threads).
 * Writing a pid to a v1 cgroup.procs takes the global cgroup_threadgroup_rwsem for writing,
 * whose first writer after a quiet spell waits for an RCU grace period (measured here: 4-14 ms
 * for the first `enter`).  A thread moving itself through a v1 `tasks` file ("0") skips that
 * lock (Linux 6.0, "cgroup: Optimize single thread migration"): 0.05 ms for all hierarchies.
 * Use: the parent calls isolazi_cgroup_self_fds() before clone (fds O_CLOEXEC, opened with the
 * runtime's credentials, which is what the kernel checks), the child calls
 * isolazi_cgroup_enter_self() first thing (before unshare(CLONE_NEWCGROUP), which must follow
 * it so that the namespace root is the container's cgroup), the parent then closes its copies
 * with isolazi_cgroup_self_fds_close().  The cgroup2 part still needs CLONE_INTO_CGROUP (or
 * enter); with no v1 hierarchy the list is empty. */
int isolazi_cgroup_self_fds(const isolazi_cgroup_t *cg, int **ret_fds, size_t *ret_len, isolazi_error_t *err);
int isolazi_cgroup_enter_self(const int *fds, size_t len, isolazi_error_t *err);
void isolazi_cgroup_self_fds_close(int *fds, size_t len); /* closes and frees; accepts NULL */

/* Every pid in the cgroup (host pids, sorted). */
int isolazi_cgroup_pids(const isolazi_cgroup_t *cg, pid_t **ret, size_t *ret_len, isolazi_error_t *err);

/* Signal every process in the cgroup, including ones forked meanwhile (freeze, signal, thaw
 * where a freezer exists; cgroup.kill on v2 for SIGKILL). */
int isolazi_cgroup_kill(const isolazi_cgroup_t *cg, int sig, isolazi_error_t *err);

/* pause/resume: freeze every process (waiting, bounded, until all are frozen) or thaw them.
 * The v1 freezer on v1 and hybrid hosts, cgroup.freeze on v2. */
int isolazi_cgroup_freeze(const isolazi_cgroup_t *cg, bool freeze, isolazi_error_t *err);
/* Frozen or being frozen.  One small read: `state` and `list` ask it for every container. */
bool isolazi_cgroup_is_frozen(const isolazi_cgroup_t *cg);

/* `update`: write new resources to the live cgroup with the same plans as create (device rules
 * excepted).  With memory.checkBeforeUpdate a limit below the current usage is refused. */
int isolazi_cgroup_update(const isolazi_cgroup_t *cg, const oci_resources *r, isolazi_error_t *err);

/* The "data" object of `events --stats` (cpu, memory, pids, blkio, hugetlb in runc's names). */
int isolazi_cgroup_stats(const isolazi_cgroup_t *cg, json_gen *g, isolazi_error_t *err);

/* OOM notification: an fd to poll (readable when something happened) and a check that says how
 * many OOM kills happened since the last call and whether the cgroup is gone. */
typedef struct isolazi_cgroup_oom isolazi_cgroup_oom_t;
int isolazi_cgroup_oom_watch(const isolazi_cgroup_t *cg, isolazi_cgroup_oom_t **ret, isolazi_error_t *err);
int isolazi_cgroup_oom_fd(const isolazi_cgroup_oom_t *o);
int isolazi_cgroup_oom_check(isolazi_cgroup_oom_t *o, unsigned int *ret_kills, bool *ret_gone);
void isolazi_cgroup_oom_free(isolazi_cgroup_oom_t *o);

/* Remove the cgroup directories; processes still inside are killed first (SIGKILL) and waited
 * for, bounded.  A cgroup already gone is not an error.  Under systemd: stop the unit (systemd
 * removes its cgroup), then remove what we made ourselves. */
int isolazi_cgroup_destroy(isolazi_cgroup_t *cg, isolazi_error_t *err);

/* The path the container sees as its cgroup (e.g. "/isolazi/ID"): the cgroup2 one on hybrid
 * and v2 hosts, the first v1 hierarchy's on v1 (a relative cgroupsPath can differ per
 * hierarchy, see isolazi_cgroup_dir). */
const char *isolazi_cgroup_path(const isolazi_cgroup_t *cg);

/* The host directory of the container's cgroup in the hierarchy holding `controller`
 * ("memory", "name=systemd"; "" for the cgroup2 one), or NULL when there is none. */
const char *isolazi_cgroup_dir(const isolazi_cgroup_t *cg, const char *controller);
isolazi_cgroup_mode_t isolazi_cgroup_get_mode(const isolazi_cgroup_t *cg);

/* Persist in the state file and load back (the value is an object). */
void isolazi_cgroup_to_json(const isolazi_cgroup_t *cg, json_gen *g);
int isolazi_cgroup_from_json(const json_value *v, isolazi_cgroup_t **ret, isolazi_error_t *err);
void isolazi_cgroup_free(isolazi_cgroup_t *cg);

#endif
