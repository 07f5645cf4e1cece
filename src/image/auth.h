/* SPDX-License-Identifier: Apache-2.0 */
/* Registry credentials, read from and written to the files docker and podman use:
 * REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json
 * ("auths": {"host": {"auth": base64(user:pass)} | {"identitytoken": ...}}), or asked of the
 * docker credential helper the file names ("credHelpers": {"host": "name"}, "credsStore":
 * "name": `docker-credential-name get`).  Owner: auth.c. */
#ifndef ISOLAZI_IMAGE_AUTH_H
#define ISOLAZI_IMAGE_AUTH_H

#include "error.h"

typedef struct isolazi_credentials
{
  char *username;
  char *password;
  char *identity_token; /* OAuth2 refresh token instead of a password */
} isolazi_credentials_t;

/* Look the host ("localhost:5000", "docker.io") up.  auth_file NULL: the default search order
 * above; in each file a credHelpers entry for the host decides alone, else the auths entry,
 * else credsStore.  No entry is not an error: returns 0 with every field NULL.  A helper that
 * fails, is missing or answers nonsense is an error naming it, the file and the key. */
int isolazi_auth_lookup(const char *host, const char *auth_file, isolazi_credentials_t *ret, isolazi_error_t *err);

/* Store (login) or remove (logout) the host's entry, atomically (temp + fsync + rename, mode
 * 0600).  auth_file NULL: REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json,
 * else ~/.docker/config.json. */
int isolazi_auth_store(const char *host, const char *username, const char *password, const char *auth_file,
                       isolazi_error_t *err);
int isolazi_auth_remove(const char *host, const char *auth_file, isolazi_error_t *err);

void isolazi_credentials_release(isolazi_credentials_t *c);

/* Standard base64 with padding (the "auth" field, HTTP Basic): a malloc'd string. */
char *isolazi_auth_base64(const char *s);

#endif
