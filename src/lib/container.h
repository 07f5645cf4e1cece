/* SPDX-License-Identifier: Apache-2.0 */
/* Container lifecycle: the one entry point per CLI verb.  Front ends parse flags into these
 * option structs, call exactly one function, and decide what to print and how to exit. */
#ifndef ISOLAZI_CONTAINER_H
#define ISOLAZI_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"

/* Options shared by every verb (runc's global flags). */
typedef struct isolazi_global
{
  const char *root; /* state directory root, already defaulted (see isolazi_default_root) */
  bool systemd_cgroup;
  bool no_cgroups; /* --cgroup-manager disabled: containers get no cgroup (podman --cgroups=disabled) */
} isolazi_global_t;

/* The default state root: /run/isolazi for root; $XDG_RUNTIME_DIR/isolazi otherwise
 * (an empty XDG_RUNTIME_DIR counts as unset; then /run/user/UID/isolazi). Malloc'd. */
char *isolazi_default_root(void);

typedef struct isolazi_create_options
{
  const char *id;
  const char *bundle;   /* NULL: the current directory */
  const char *pid_file; /* NULL: none; written with no trailing newline */
  const char *console_socket;
  unsigned int preserve_fds; /* fds 3 .. 3+N-1 are passed on */
  bool no_pivot;
  bool no_new_keyring;
  bool detach; /* `run --detach` */
} isolazi_create_options_t;

/* The id must be a valid container id: [A-Za-z0-9][A-Za-z0-9_.+-]* , at most 1024 bytes. */
int isolazi_container_id_validate(const char *id, isolazi_error_t *err);

/* A bundle's config.json, parsed and validated, with its process and a root.path that is a
 * directory.  What every backend (native, VM) loads first. */
typedef struct isolazi_bundle
{
  char *dir;    /* absolute */
  char *rootfs; /* absolute */
  char *config_text;
  size_t config_len;
  struct oci_config *cfg;
} isolazi_bundle_t;

/* Load the bundle in dir (NULL or "": the current directory) into *b, which is zeroed first.
 * Release *b with isolazi_bundle_release whether this fails or not. */
int isolazi_bundle_load(const char *dir, isolazi_bundle_t *b, isolazi_error_t *err);
void isolazi_bundle_release(isolazi_bundle_t *b);

int isolazi_container_create(const isolazi_global_t *g, const isolazi_create_options_t *o, isolazi_error_t *err);
int isolazi_container_start(const isolazi_global_t *g, const char *id, isolazi_error_t *err);
/* create + start; without detach, waits for the container, forwards signals to it, deletes it
 * and stores its status in *ret_status as a shell would (exit code, or 128+signal). */
int isolazi_container_run(const isolazi_global_t *g, const isolazi_create_options_t *o, int *ret_status,
                          isolazi_error_t *err);
int isolazi_container_kill(const isolazi_global_t *g, const char *id, int sig, bool all, isolazi_error_t *err);
/* force: kill a running container first; an unknown id is then not an error. */
int isolazi_container_delete(const isolazi_global_t *g, const char *id, bool force, isolazi_error_t *err);

/* The state document runc prints for `state` (2-space indented JSON, malloc'd). */
int isolazi_container_state(const isolazi_global_t *g, const char *id, char **ret_json, isolazi_error_t *err);

typedef struct isolazi_container_info
{
  char *id;
  pid_t pid;    /* 0 when stopped */
  char *status; /* created running paused stopped */
  char *bundle;
  char *created; /* RFC 3339 */
  char *owner;
  char *state_json; /* the same document as `state` prints, compact */
} isolazi_container_info_t;

/* Every container under the root, sorted by id. An absent root is an empty list. */
int isolazi_container_list(const isolazi_global_t *g, isolazi_container_info_t **ret, size_t *ret_len,
                           isolazi_error_t *err);
void isolazi_container_info_free(isolazi_container_info_t *list, size_t len);

#endif
