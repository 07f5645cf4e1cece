/* SPDX-License-Identifier: Apache-2.0 */
/* Per-registry TLS material, from the directories podman, skopeo and docker read
 * (containers-certs.d(5)): in a registry's directory, every `*.crt` holds CA certificates
 * trusted in addition to the system's, and a `NAME.cert` with its `NAME.key` is the client
 * certificate and key offered to a registry that asks for one.  Owner: certs.c.
 *
 * The directory of a registry host ("127.0.0.1:5000", "docker.io") is, the first that exists:
 *   $XDG_CONFIG_HOME/containers/certs.d/HOST (else ~/.config/...), for non-root callers only;
 *   /etc/containers/certs.d/HOST;
 *   /etc/docker/certs.d/HOST.
 * An explicit directory (--cert-dir) replaces that search and must exist. */
#ifndef ISOLAZI_IMAGE_CERTS_H
#define ISOLAZI_IMAGE_CERTS_H

#include <stddef.h>
#include "error.h"

typedef struct isolazi_registry_certs
{
  char *dir;  /* the directory read; NULL when there was none */
  void **cas; /* X509 *: the CA certificates of every *.crt, in file name order */
  size_t ncas;
  char *client_cert; /* the first NAME.cert (by name) and its NAME.key; NULL without */
  char *client_key;
} isolazi_registry_certs_t;

/* Read the directory for `host` (or `cert_dir` when not NULL).  No directory is not an error
 * (every field NULL).  A *.crt without a PEM certificate, a *.cert without its *.key or a *.key
 * without its *.cert is an error naming the file. */
int isolazi_registry_certs_load(const char *host, const char *cert_dir, isolazi_registry_certs_t *ret,
                                isolazi_error_t *err);
void isolazi_registry_certs_release(isolazi_registry_certs_t *c);

/* Add the CA certificates to an OpenSSL SSL_CTX's trust store (libcurl's SSL context callback
 * calls it for every new connection).  Returns 0 or -1. */
int isolazi_registry_certs_trust(const isolazi_registry_certs_t *c, void *ssl_ctx);

/* The search above for one host, for unit tests: the directories in order (a NULL-terminated
 * malloc'd vector of malloc'd strings). */
char **isolazi_registry_certs_search_path(const char *host, unsigned euid, const char *xdg_config_home,
                                          const char *home);

#endif
