/* SPDX-License-Identifier: Apache-2.0 */
/* `exec`: start one more process in a running container (runtime-spec does not define it; runc's
 * command line and behaviour are the contract podman, conmon and containerd rely on). */
#ifndef ISOLAZI_EXEC_H
#define ISOLAZI_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "container.h"
#include "error.h"
#include "ocispec.h"

typedef struct isolazi_exec_options
{
  const char *id;
  /* --process FILE: a runtime-spec Process.  As with runc, the flags that describe the process
   * (args, --tty, --cwd, --env, --user, --additional-gids, --cap, --no-new-privs, --apparmor,
   * --process-label) are then ignored; the others still apply. */
  const char *process_path;
  char *const *args; /* without --process: the command, replacing process.args of config.json */
  size_t args_len;
  bool tty;
  const char *cwd;
  char *const *env; /* KEY=VALUE, appended; a later KEY replaces an earlier one */
  size_t env_len;
  const char *user; /* uid[:gid] */
  const uint32_t *additional_gids;
  size_t additional_gids_len;
  char *const *caps; /* added to the bounding, effective and permitted sets */
  size_t caps_len;
  bool no_new_privs; /* true: set it; false: keep config.json's */
  const char *apparmor;
  const char *process_label;

  bool detach;
  const char *pid_file;       /* written with no trailing newline */
  const char *console_socket; /* receives the pty master with process.terminal */
  unsigned int preserve_fds;
  bool ignore_paused;
} isolazi_exec_options_t;

/* Deciding, no system calls: apply the flags of `o` to the process taken from config.json
 * (args replaced, env appended with later keys winning, user, gids, caps, ...). */
int isolazi_exec_process_apply(oci_process *p, const isolazi_exec_options_t *o, isolazi_error_t *err);
/* "uid[:gid]", both decimal. */
int isolazi_exec_parse_user(const char *s, uint32_t *ret_uid, uint32_t *ret_gid, bool *ret_gid_set,
                            isolazi_error_t *err);
/* Add or replace KEY=VALUE in a NULL-terminated malloc'd env array. */
void isolazi_exec_env_set(char ***env, size_t *len, const char *kv);

/* Run the process in the container's namespaces and cgroup.  Detached: return once it has
 * exec'd (pid file written).  Otherwise wait for it, forwarding signals (and relaying the
 * terminal when there is one and no console socket), and store its status as a shell would. */
int isolazi_container_exec(const isolazi_global_t *g, const isolazi_exec_options_t *o, int *ret_status,
                           isolazi_error_t *err);

#endif
