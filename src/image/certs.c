/* SPDX-License-Identifier: Apache-2.0 */
/* Per-registry CA certificates and client certificates from certs.d directories.  See certs.h. */
#include "config.h"
#include "certs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "utils.h"

/* A CA file is a few certificates; anything bigger is not one. */
#define CERT_FILE_MAX (1 << 20)

char **
isolazi_registry_certs_search_path(const char *host, unsigned euid, const char *xdg_config_home, const char *home)
{
  char **v = xcalloc(4, sizeof *v);
  size_t n = 0;

  if (euid != 0)
    {
      /* XDG Base Directory: a relative $XDG_CONFIG_HOME is invalid and ignored. */
      if (xdg_config_home != NULL && xdg_config_home[0] == '/')
        v[n++] = xasprintf("%s/containers/certs.d/%s", xdg_config_home, host);
      else if (home != NULL && home[0] == '/')
        v[n++] = xasprintf("%s/.config/containers/certs.d/%s", home, host);
    }
  v[n++] = xasprintf("/etc/containers/certs.d/%s", host);
  v[n++] = xasprintf("/etc/docker/certs.d/%s", host);
  return v;
}

static void
strv_free(char **v)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    free(v[i]);
  free(v);
}

/* The first directory of the search that exists; NULL (not an error) when none does. */
static int
find_dir(const char *host, char **ret, isolazi_error_t *err)
{
  cleanup_free char *home = NULL;
  char **v;
  int r = 0;

  *ret = NULL;
  if (host[0] == '\0' || host[0] == '.' || strchr(host, '/') != NULL)
    return isolazi_error_set_plain(err, EINVAL, "find certificates for registry `%s`: not a host name", host);
  if (geteuid() != 0)
    home = isolazi_home_dir();
  v = isolazi_registry_certs_search_path(host, geteuid(), getenv("XDG_CONFIG_HOME"), home);
  for (size_t i = 0; v[i] != NULL && *ret == NULL; i++)
    {
      struct stat st;
      if (stat(v[i], &st) == 0)
        {
          if (!S_ISDIR(st.st_mode))
            {
              r = isolazi_error_set_plain(err, ENOTDIR, "certificates for registry `%s`: `%s` is not a directory", host,
                                          v[i]);
              break;
            }
          *ret = xstrdup(v[i]);
        }
      else if (errno != ENOENT && errno != ENOTDIR)
        {
          r = isolazi_error_errno(err, "certificates for registry `%s`: stat `%s`", host, v[i]);
          break;
        }
    }
  strv_free(v);
  return r;
}

/* Why OpenSSL read no certificate, for messages; clears its error queue. */
static void
pem_reason(char buf[256])
{
  const char *why = ERR_reason_error_string(ERR_peek_last_error());

  if (why == NULL || strcmp(why, "no start line") == 0)
    snprintf(buf, 256, "no PEM certificate in it");
  else
    snprintf(buf, 256, "not a valid PEM certificate (%s)", why);
  ERR_clear_error();
}

/* Every certificate of one PEM file onto c->cas. */
static int
load_ca_file(isolazi_registry_certs_t *c, int dfd, const char *name, isolazi_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0, before = c->ncas;
  char reason[256];
  struct stat st;
  BIO *bio;
  X509 *x;

  if (fstatat(dfd, name, &st, 0) == 0 && st.st_size > CERT_FILE_MAX)
    return isolazi_error_set_plain(err, EFBIG, "read CA certificates `%s/%s`: larger than %d bytes", c->dir, name,
                                   CERT_FILE_MAX);
  if (isolazi_read_file_at(dfd, name, &text, &len, err) < 0)
    return isolazi_error_wrap(err, "read CA certificates in `%s`", c->dir);
  bio = BIO_new_mem_buf(text, (int)len);
  if (bio == NULL)
    return isolazi_error_set(err, ENOMEM, "read CA certificates `%s/%s`: out of memory", c->dir, name);
  ERR_clear_error();
  while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
    {
      c->cas = xrealloc(c->cas, (c->ncas + 1) * sizeof *c->cas);
      c->cas[c->ncas++] = x;
    }
  BIO_free(bio);
  /* The end of the file is "no start line" once at least one certificate was read. */
  if (c->ncas == before)
    {
      pem_reason(reason);
      return isolazi_error_set_plain(err, EINVAL, "read CA certificates `%s/%s`: %s", c->dir, name, reason);
    }
  ERR_clear_error();
  return 0;
}

static bool
regular_at(int dfd, const char *name)
{
  struct stat st;
  return fstatat(dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* A NAME.cert and its NAME.key (podman's rule); the first pair by name is the one offered. */
static int
load_client_pair(isolazi_registry_certs_t *c, int dfd, const char *name, bool is_key, isolazi_error_t *err)
{
  size_t stem = strlen(name) - (is_key ? 4 : 5);
  cleanup_free char *other = xasprintf("%.*s%s", (int)stem, name, is_key ? ".cert" : ".key");

  if (!regular_at(dfd, other))
    return isolazi_error_set_plain(err, ENOENT, "client certificate in `%s`: `%s` has no `%s` beside it", c->dir, name,
                                   other);
  if (is_key || c->client_cert != NULL)
    return 0;
  c->client_cert = xasprintf("%s/%s", c->dir, name);
  c->client_key = xasprintf("%s/%s", c->dir, other);
  return 0;
}

static int
cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int
isolazi_registry_certs_load(const char *host, const char *cert_dir, isolazi_registry_certs_t *ret, isolazi_error_t *err)
{
  isolazi_registry_certs_t c = { 0 };
  cleanup_close int dfd = -1;
  char **names = NULL;
  size_t n = 0;
  DIR *d;
  struct dirent *de;
  int r = 0;

  memset(ret, 0, sizeof *ret);
  if (cert_dir != NULL)
    c.dir = xstrdup(cert_dir);
  else if (find_dir(host, &c.dir, err) < 0)
    return -1;
  if (c.dir == NULL)
    return 0;
  dfd = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      r = isolazi_error_errno(err, "open the certificate directory `%s`", c.dir);
      isolazi_registry_certs_release(&c);
      return r;
    }
  d = fdopendir(dup(dfd));
  if (d == NULL)
    {
      r = isolazi_error_errno(err, "read the certificate directory `%s`", c.dir);
      isolazi_registry_certs_release(&c);
      return r;
    }
  while ((de = readdir(d)) != NULL)
    {
      if (isolazi_has_suffix(de->d_name, ".crt") || isolazi_has_suffix(de->d_name, ".cert")
          || isolazi_has_suffix(de->d_name, ".key"))
        {
          names = xrealloc(names, (n + 1) * sizeof *names);
          names[n++] = xstrdup(de->d_name);
        }
    }
  closedir(d);
  if (n > 0)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n && r == 0; i++)
    {
      if (!regular_at(dfd, names[i]))
        continue;
      if (isolazi_has_suffix(names[i], ".crt"))
        r = load_ca_file(&c, dfd, names[i], err);
      else
        r = load_client_pair(&c, dfd, names[i], isolazi_has_suffix(names[i], ".key"), err);
    }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (r < 0)
    {
      isolazi_registry_certs_release(&c);
      return -1;
    }
  *ret = c;
  return 0;
}

void
isolazi_registry_certs_release(isolazi_registry_certs_t *c)
{
  for (size_t i = 0; i < c->ncas; i++)
    X509_free(c->cas[i]);
  free(c->cas);
  free(c->dir);
  free(c->client_cert);
  free(c->client_key);
  memset(c, 0, sizeof *c);
}

int
isolazi_registry_certs_trust(const isolazi_registry_certs_t *c, void *ssl_ctx)
{
  X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);

  if (store == NULL)
    return -1;
  for (size_t i = 0; i < c->ncas; i++)
    if (X509_STORE_add_cert(store, (X509 *)c->cas[i]) != 1)
      {
        ERR_clear_error();
        return -1;
      }
  return 0;
}
