/* SPDX-License-Identifier: Apache-2.0 */
/* linux.seccomp: the OCI profile turned into a libseccomp filter.
 *
 * Deciding (pure, unit-tested without loading): isolazi_seccomp_plan_build() maps the profile to
 * a flat rule list (names, actions, architectures, flags and argument comparisons checked, each
 * error naming its JSON path).  Doing: isolazi_seccomp_prepare() compiles the plan into a
 * libseccomp context (and connects to listenerPath for SCMP_ACT_NOTIFY); isolazi_seccomp_load()
 * loads it as the last step before execve.
 *
 * Callers:
 *   init.c  (container init) prepare in setup(), before pivot_root, so that a bad profile fails
 *           `create` and listenerPath is resolved on the host; load right before execve
 *           (after set_user with noNewPrivileges, before it otherwise: see
 *           isolazi_seccomp_load_before_set_user).
 *   exec.c  (`isolazi exec`, NAME=exec) the same two calls: prepare before joining the
 *           container's mount namespace, load in the exec child right before execve, with the
 *           child's host pid and the container's state JSON. */
#ifndef ISOLAZI_SECCOMP_FILTER_H
#define ISOLAZI_SECCOMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "ocispec.h"

#define ISOLAZI_SECCOMP_MAX_ARGS 6

/* Filter flags (linux.seccomp.flags). */
enum
{
  ISOLAZI_SECCOMP_FLAG_TSYNC = 1 << 0,
  ISOLAZI_SECCOMP_FLAG_LOG = 1 << 1,
  ISOLAZI_SECCOMP_FLAG_SPEC_ALLOW = 1 << 2,
  ISOLAZI_SECCOMP_FLAG_WAIT_KILLABLE_RECV = 1 << 3,
};

typedef struct isolazi_seccomp_cmp
{
  unsigned int index; /* argument 0..5 */
  int op;             /* enum scmp_compare */
  uint64_t a, b;      /* libseccomp's datum_a/datum_b: for SCMP_CMP_MASKED_EQ a = mask (value), b = valueTwo */
} isolazi_seccomp_cmp_t;

typedef struct isolazi_seccomp_rule
{
  char *name;      /* syscall name */
  int nr;          /* native number (negative: a pseudo number libseccomp maps per architecture) */
  uint32_t action; /* SCMP_ACT_* */
  size_t n_cmps;   /* the comparisons AND together */
  isolazi_seccomp_cmp_t cmps[ISOLAZI_SECCOMP_MAX_ARGS];
} isolazi_seccomp_rule_t;

typedef struct isolazi_seccomp_plan
{
  uint32_t default_action;
  uint32_t *arches; /* SCMP_ARCH_* besides the native one */
  size_t n_arches;
  unsigned int flags; /* ISOLAZI_SECCOMP_FLAG_* */
  isolazi_seccomp_rule_t *rules;
  size_t n_rules;
  size_t n_skipped; /* names libseccomp does not know (logged at debug level) */
  bool notify;      /* some rule is SCMP_ACT_NOTIFY: the listener gets the notify fd */
} isolazi_seccomp_plan_t;

/* -- deciding, unit-tested -- */

/* "SCMP_ACT_ERRNO" + errnoRet → an SCMP_ACT_* value.  errnoRet only goes with ERRNO and TRACE
 * (default EPERM, runtime-spec config-linux.md "Seccomp"). `where` names the JSON path. */
int isolazi_seccomp_action_parse(const char *name, bool errno_present, uint32_t errno_ret, const char *where,
                                 uint32_t *ret, isolazi_error_t *err);
int isolazi_seccomp_arch_parse(const char *name, uint32_t *ret);          /* -1: unknown */
int isolazi_seccomp_op_parse(const char *name, int *ret);                 /* -1: unknown */
int isolazi_seccomp_flag_parse(const char *name, unsigned int *ret_flag); /* -1: unknown */

/* The profile as a flat rule list.  Rules whose action equals the default are dropped (libseccomp
 * refuses them); a rule naming the same argument twice becomes one rule per comparison (OR, as
 * runc does: docker profiles rely on it); syscalls newer than the profile get ENOSYS (see
 * seccomp_filter.c, "ENOSYS for syscalls the profile does not know"). */
int isolazi_seccomp_plan_build(const oci_seccomp *s, isolazi_seccomp_plan_t *ret, isolazi_error_t *err);
void isolazi_seccomp_plan_release(isolazi_seccomp_plan_t *p);

/* The containerProcessState document sent with the notify fd (runtime-spec config-linux.md,
 * "The Container Process State"): state_json is the container's state document, embedded. */
char *isolazi_seccomp_process_state_json(pid_t pid, const char *metadata, const char *state_json);

/* -- doing -- */

typedef struct isolazi_seccomp isolazi_seccomp_t;

/* s == NULL: *ret = NULL (no filter).  Compiles the filter, and for SCMP_ACT_NOTIFY connects to
 * linux.seccomp.listenerPath (so call it while the host's paths are visible). */
int isolazi_seccomp_prepare(const oci_seccomp *s, isolazi_seccomp_t **ret, isolazi_error_t *err);

/* runc's rule: loading a filter needs no_new_privs or CAP_SYS_ADMIN.  Without
 * process.noNewPrivileges the filter goes in before set_user drops the capabilities; with it, as
 * late as possible (right before execve), so that the runtime's own syscalls are not filtered. */
bool isolazi_seccomp_load_before_set_user(const oci_process *p);

/* Load into the calling process (sc NULL: nothing).  With a listener: send it the notify fd with
 * SCM_RIGHTS and the containerProcessState JSON (pid: the process's host pid, 0 = the "pid" of
 * state_json), then close the fd and the connection. */
int isolazi_seccomp_load(isolazi_seccomp_t *sc, pid_t pid, const char *state_json, isolazi_error_t *err);

void isolazi_seccomp_free(isolazi_seccomp_t *sc);

/* The names libseccomp knows for `features` (NAME=exec): NULL-terminated static arrays. */
extern const char *const isolazi_seccomp_actions[];
extern const char *const isolazi_seccomp_operators[];
extern const char *const isolazi_seccomp_archs[];
extern const char *const isolazi_seccomp_flags[]; /* known and supported by the linked libseccomp */

/* Profiles for `isolazi spec --seccomp NAME` (seccomp_profiles.c): "default", "minimal",
 * "strict"; "none" or NULL → *ret = NULL.  Unknown → -1 with an error. */
int isolazi_seccomp_profile(const char *name, oci_seccomp **ret, isolazi_error_t *err);
void isolazi_seccomp_profile_free(oci_seccomp *s);

#endif
