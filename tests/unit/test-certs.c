/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/certs.c: where a registry's certs.d directory is, what is read from it, the errors
 * for a broken one, and the CA certificates reaching an OpenSSL trust store. */
#include "config.h"
#include "../unit/tap.h"
#include "certs.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/isolazi-test-certs.XXXXXX";

/* The two CA certificates of tests/unit/data, as PEM text. */
static char *ca1, *ca2;

static char *
data_file(const char *name)
{
  const char *srcdir = getenv("srcdir");
  cleanup_free char *path = xasprintf("%s/tests/unit/data/%s", srcdir != NULL ? srcdir : ".", name);
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *text = NULL;

  if (isolazi_read_file(path, &text, NULL, &err) < 0)
    {
      printf("Bail out! %s\n", err.msg);
      exit(1);
    }
  return text;
}

/* A fresh directory DIR under tmpdir holding the given files (name, content; NULL ends). */
static char *
make_dir(const char *dir, ...)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *path = xasprintf("%s/%s", tmpdir, dir);
  const char *name;
  va_list ap;

  if (isolazi_mkdir_p(path, 0755, &err) < 0)
    {
      printf("Bail out! %s\n", err.msg);
      exit(1);
    }
  va_start(ap, dir);
  while ((name = va_arg(ap, const char *)) != NULL)
    {
      const char *content = va_arg(ap, const char *);
      cleanup_close int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (isolazi_write_file_atomic(dfd, name, content, strlen(content), 0644, false, &err) < 0)
        {
          printf("Bail out! %s\n", err.msg);
          exit(1);
        }
    }
  va_end(ap);
  return path;
}

static void
test_search_path(void)
{
  char **v;

  v = isolazi_registry_certs_search_path("127.0.0.1:5000", 0, "/xdg", "/home/u");
  tap_ok(v[0] && v[1] && !v[2], "root: two directories");
  tap_streq(v[0], "/etc/containers/certs.d/127.0.0.1:5000", "root: /etc/containers first");
  tap_streq(v[1], "/etc/docker/certs.d/127.0.0.1:5000", "root: then /etc/docker");
  for (size_t i = 0; v[i]; i++)
    free(v[i]);
  free(v);

  v = isolazi_registry_certs_search_path("ghcr.io", 1000, "/xdg", "/home/u");
  tap_streq(v[0], "/xdg/containers/certs.d/ghcr.io", "non-root: $XDG_CONFIG_HOME first");
  tap_streq(v[1], "/etc/containers/certs.d/ghcr.io", "non-root: then /etc/containers");
  tap_ok(v[2] && !v[3], "non-root: three directories");
  for (size_t i = 0; v[i]; i++)
    free(v[i]);
  free(v);

  v = isolazi_registry_certs_search_path("ghcr.io", 1000, "relative", "/home/u");
  tap_streq(v[0], "/home/u/.config/containers/certs.d/ghcr.io", "a relative $XDG_CONFIG_HOME is ignored");
  for (size_t i = 0; v[i]; i++)
    free(v[i]);
  free(v);
}

static void
test_load(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_registry_certs_t c;
  cleanup_free char *both = xasprintf("%s%s", ca1, ca2);
  cleanup_free char *dir = NULL;
  int r;

  /* Two CA files (one with two certificates), two client pairs, and files that are not ours. */
  dir = make_dir("full", "b.crt", ca1, "a.crt", both, "z.cert", "Z", "z.key", "Z", "client.cert", "C", "client.key",
                 "K", "README", "not a certificate", NULL);
  r = isolazi_registry_certs_load("ignored", dir, &c, &err);
  tap_ok(r == 0, "a certs directory loads: %s", err.msg ? err.msg : "ok");
  tap_streq(c.dir, dir, "the directory given is the one read");
  tap_ok(c.ncas == 3, "every certificate of every *.crt (got %zu)", c.ncas);
  if (c.ncas == 3)
    {
      char name[128];
      X509_NAME_oneline(X509_get_subject_name((X509 *)c.cas[2]), name, sizeof name);
      tap_streq(name, "/CN=isolazi unit test CA", "in file name order: b.crt's comes last");
    }
  {
    cleanup_free char *cert = xasprintf("%s/client.cert", dir);
    cleanup_free char *key = xasprintf("%s/client.key", dir);
    tap_streq(c.client_cert, cert, "the first client certificate by name");
    tap_streq(c.client_key, key, "with its key");
  }

  /* The CA certificates reach an OpenSSL trust store. */
  {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int before = sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)));
    tap_ok(isolazi_registry_certs_trust(&c, ctx) == 0, "trust: added");
    tap_ok(sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))) == before + 2,
           "trust: two distinct certificates in the store");
    SSL_CTX_free(ctx);
  }
  isolazi_registry_certs_release(&c);
  tap_ok(c.ncas == 0 && c.dir == NULL && c.client_cert == NULL, "release resets");
}

static void
test_errors(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_registry_certs_t c;
  cleanup_free char *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL, *missing = NULL;
  int r;

  d1 = make_dir("bad-crt", "ca.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
                NULL);
  r = isolazi_registry_certs_load("h", d1, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "ca.crt") && strstr(err.msg, d1), "a broken *.crt is named: %s",
         err.msg ? err.msg : "(none)");
  tap_ok(c.dir == NULL && c.ncas == 0, "and nothing is returned");
  isolazi_error_release(&err);

  d2 = make_dir("empty-crt", "ca.crt", "", NULL);
  r = isolazi_registry_certs_load("h", d2, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "ca.crt"), "an empty *.crt is an error: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  d3 = make_dir("lonely-cert", "client.cert", "C", NULL);
  r = isolazi_registry_certs_load("h", d3, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "`client.cert` has no `client.key`"), "a *.cert without its key: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  d4 = make_dir("lonely-key", "client.key", "K", NULL);
  r = isolazi_registry_certs_load("h", d4, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "`client.key` has no `client.cert`"),
         "a *.key without its certificate: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  missing = xasprintf("%s/missing", tmpdir);
  r = isolazi_registry_certs_load("h", missing, &c, &err);
  tap_ok(r < 0 && err.code == ENOENT && err.msg && strstr(err.msg, missing), "an explicit directory must exist: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  r = isolazi_registry_certs_load("../../etc", NULL, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "not a host name"), "a host with a slash is refused: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  /* No directory for the host anywhere: no certificates, no error. */
  r = isolazi_registry_certs_load("isolazi-no-such-registry.invalid:1", NULL, &c, &err);
  tap_ok(r == 0 && c.dir == NULL && c.ncas == 0 && c.client_cert == NULL, "no certs.d directory: nothing, no error");
  isolazi_registry_certs_release(&c);
}

int
main(void)
{
  if (mkdtemp(tmpdir) == NULL)
    {
      printf("Bail out! mkdtemp: %s\n", strerror(errno));
      return 1;
    }
  ca1 = data_file("ca-1.crt");
  ca2 = data_file("ca-2.crt");
  test_search_path();
  test_load();
  test_errors();
  free(ca1);
  free(ca2);
  {
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
      printf("# could not remove %s\n", tmpdir);
  }
  return tap_done();
}
