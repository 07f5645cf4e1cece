/* SPDX-License-Identifier: Apache-2.0 */
/* Setting up the user process (config.json "process", or exec's process.json) in its final
 * root: rlimits, oom score, working directory, executable lookup, environment, user and
 * capabilities.  Used by the container init and by exec. */
#ifndef ISOLAZI_PROCESS_H
#define ISOLAZI_PROCESS_H

#include "error.h"
#include "ocispec.h"

/* The resource number of an rlimit name ("RLIMIT_NOFILE" → RLIMIT_NOFILE); -1 when unknown
 * (or NULL). */
int isolazi_rlimit_resource(const char *name);
int isolazi_process_set_rlimits(const oci_process *p, isolazi_error_t *err);
int isolazi_process_set_oom_score_adj(const oci_process *p, isolazi_error_t *err);
/* chdir into process.cwd; it must exist, as with runc 1.1. */
int isolazi_process_chdir(const oci_process *p, isolazi_error_t *err);
/* args[0] → a path to execve: with a '/', it must exist and be executable; otherwise it is
 * searched on the process's PATH.  Errors: "exec `nope`: executable file not found in $PATH". */
int isolazi_process_find_executable(const oci_process *p, char **ret, isolazi_error_t *err);
/* The environment to exec with: process.env plus HOME from the container's /etc/passwd when
 * process.env has none (runc does the same). NULL-terminated, malloc'd. */
char **isolazi_process_environ(const oci_process *p);
/* setgroups/setresgid/setresuid, the capability sets, ambient caps and no_new_privs. */
int isolazi_process_set_user(const oci_process *p, isolazi_error_t *err);
/* Restore default signal dispositions and an empty mask: the user process starts clean. */
void isolazi_process_reset_signals(void);

#endif
