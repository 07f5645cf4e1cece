/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/registry.c without a network: WWW-Authenticate parsing, backoff, media types, and
 * the errors a client gives before any request. */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "registry.h"
#include "utils.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
test_challenges(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_auth_challenge_t *c = NULL;
  size_t n = 0;
  int r;

  r = isolazi_registry_parse_challenges(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/"
      "alpine:pull\"",
      &c, &n, &err);
  tap_ok(r == 1 && n == 1, "one Bearer challenge");
  if (n == 1)
    {
      tap_streq(c[0].scheme, "bearer", "scheme lower-cased");
      tap_streq(c[0].realm, "https://auth.docker.io/token", "realm");
      tap_streq(c[0].service, "registry.docker.io", "service");
      tap_streq(c[0].scope, "repository:library/alpine:pull", "scope");
      tap_ok(c[0].error == NULL, "no error parameter");
    }
  isolazi_auth_challenges_free(c, n);

  /* Commas inside quotes, spaces around '=', an escaped quote, an unknown parameter, a second
     challenge after the parameters of the first. */
  r = isolazi_registry_parse_challenges("bearer realm = \"http://h/t?a=1,b=2\" , scope=\"repository:a:pull,push "
                                        "repository:b:pull\",error=\"invalid_token\",x=\"y\\\"z\", Basic "
                                        "realm=\"Registry Realm\"",
                                        &c, &n, &err);
  tap_ok(r == 2 && n == 2, "two challenges (got %d)", r);
  if (n == 2)
    {
      tap_streq(c[0].realm, "http://h/t?a=1,b=2", "a comma inside a quoted realm");
      tap_streq(c[0].scope, "repository:a:pull,push repository:b:pull", "a scope with commas and spaces");
      tap_streq(c[0].error, "invalid_token", "error parameter");
      tap_streq(c[1].scheme, "basic", "second challenge: Basic");
      tap_streq(c[1].realm, "Registry Realm", "its realm with a space");
      tap_ok(c[1].scope == NULL && c[1].service == NULL, "the second challenge has only its own parameters");
    }
  isolazi_auth_challenges_free(c, n);

  /* Unquoted (token) values, a token68 challenge before, and case-insensitive names. */
  r = isolazi_registry_parse_challenges("Negotiate abc123==, Bearer REALM=http://x/token,Service=svc", &c, &n, &err);
  tap_ok(r == 2 && n == 2, "token68 challenge then Bearer with token values (got %d)", r);
  if (n == 2)
    {
      tap_streq(c[0].scheme, "negotiate", "token68 challenge's scheme");
      tap_ok(c[0].realm == NULL, "token68 is not taken for a parameter");
      tap_streq(c[1].realm, "http://x/token", "unquoted realm");
      tap_streq(c[1].service, "svc", "parameter names are case-insensitive");
    }
  isolazi_auth_challenges_free(c, n);

  r = isolazi_registry_parse_challenges("Basic", &c, &n, &err);
  tap_ok(r == 1 && n == 1 && strcmp(c[0].scheme, "basic") == 0, "a bare scheme");
  isolazi_auth_challenges_free(c, n);

  r = isolazi_registry_parse_challenges("", &c, &n, &err);
  tap_ok(r == 0 && n == 0 && c == NULL, "an empty header has no challenges");

  r = isolazi_registry_parse_challenges("Bearer realm=\"http://x", &c, &n, &err);
  tap_ok(r < 0 && err.msg != NULL && strstr(err.msg, "unterminated quoted string") != NULL,
         "an unterminated quoted string is an error: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  r = isolazi_registry_parse_challenges("Bearer realm=\"x\", @", &c, &n, &err);
  tap_ok(r < 0 && err.msg != NULL && strstr(err.msg, "WWW-Authenticate") != NULL, "a stray character is an error");
  isolazi_error_release(&err);
}

static void
test_backoff(void)
{
  isolazi_registry_opts_t o = { .retry_base_ms = 100 };
  long long now = (long long)curl_getdate("Sun, 06 Nov 1994 08:49:37 GMT", NULL);

  tap_ok(isolazi_registry_backoff_ms(&o, 0, NULL, 0) == 100, "first retry waits the base");
  tap_ok(isolazi_registry_backoff_ms(&o, 1, NULL, 0) == 200, "then doubles");
  tap_ok(isolazi_registry_backoff_ms(&o, 3, NULL, 0) == 800, "and doubles again");
  tap_ok(isolazi_registry_backoff_ms(&o, 30, NULL, 0) == 30000, "capped at 30 s");
  tap_ok(isolazi_registry_backoff_ms(NULL, 0, NULL, 0) == 200, "default base 200 ms");
  tap_ok(isolazi_registry_backoff_ms(&o, 0, "3", 0) == 3000, "Retry-After in seconds wins");
  tap_ok(isolazi_registry_backoff_ms(&o, 5, "0", 0) == 0, "Retry-After 0 means now");
  tap_ok(isolazi_registry_backoff_ms(&o, 0, "86400", 0) == 60000, "Retry-After capped at 60 s");
  tap_ok(isolazi_registry_backoff_ms(&o, 0, "Sun, 06 Nov 1994 08:49:47 GMT", now) == 10000,
         "Retry-After as an HTTP date");
  tap_ok(isolazi_registry_backoff_ms(&o, 0, "Sun, 06 Nov 1994 08:49:00 GMT", now) == 0, "a date in the past: now");
  tap_ok(isolazi_registry_backoff_ms(&o, 2, "soon", now) == 400, "an unreadable Retry-After is ignored");
}

static void
test_media_types(void)
{
  tap_ok(isolazi_registry_manifest_kind(ISOLAZI_MEDIA_OCI_INDEX) == ISOLAZI_MANIFEST_INDEX, "OCI index");
  tap_ok(isolazi_registry_manifest_kind(ISOLAZI_MEDIA_DOCKER_LIST) == ISOLAZI_MANIFEST_INDEX, "Docker manifest list");
  tap_ok(isolazi_registry_manifest_kind(ISOLAZI_MEDIA_OCI_MANIFEST) == ISOLAZI_MANIFEST_IMAGE, "OCI manifest");
  tap_ok(isolazi_registry_manifest_kind(ISOLAZI_MEDIA_DOCKER_MANIFEST) == ISOLAZI_MANIFEST_IMAGE,
         "Docker schema2 manifest");
  tap_ok(isolazi_registry_manifest_kind("application/vnd.oci.image.manifest.v1+json; charset=utf-8")
             == ISOLAZI_MANIFEST_IMAGE,
         "a Content-Type with parameters");
  tap_ok(isolazi_registry_manifest_kind("Application/VND.OCI.Image.Index.v1+JSON") == ISOLAZI_MANIFEST_INDEX,
         "media types are case-insensitive");
  tap_ok(isolazi_registry_manifest_kind(ISOLAZI_MEDIA_DOCKER_SCHEMA1_SIGNED) == ISOLAZI_MANIFEST_UNKNOWN,
         "Docker schema1 is not supported");
  tap_ok(isolazi_registry_manifest_kind("application/vnd.oci.image.manifest.v1+jsonx") == ISOLAZI_MANIFEST_UNKNOWN,
         "no prefix matches");
  tap_ok(isolazi_registry_manifest_kind("application/json") == ISOLAZI_MANIFEST_UNKNOWN, "plain JSON is unknown");
  tap_ok(isolazi_registry_manifest_kind(NULL) == ISOLAZI_MANIFEST_UNKNOWN, "NULL is unknown");
}

/* What fails before any request: bad references, tags, digests and descriptors. */
static void
test_offline_errors(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_registry_opts_t o = { .auth_file = "/nonexistent/auth.json" };
  isolazi_image_ref_t ref = { .domain = (char *)"127.0.0.1:1", .path = (char *)"Upper/Case", .tag = (char *)"x" };
  isolazi_registry_t *r;
  char *body = NULL;
  isolazi_blob_fetch_t item = { .digest = "sha256:abc", .size = 3, .fd = -1 };
  int rc;

  r = isolazi_registry_new(&ref, &o, &err);
  tap_ok(r == NULL && err.msg && strstr(err.msg, "invalid repository `Upper/Case`"), "an invalid repository: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  ref.path = (char *)"isolazi/busybox";
  r = isolazi_registry_new(&ref, &o, &err);
  tap_ok(r != NULL, "a client needs no network");
  if (r == NULL)
    return;
  rc = isolazi_registry_get_manifest(r, "bad/tag", 0, &body, NULL, NULL, NULL, &err);
  tap_ok(rc < 0 && err.msg
             && strstr(err.msg, "get manifest `bad/tag` of `127.0.0.1:1/isolazi/busybox`: not a valid tag or digest"),
         "a tag with a slash is refused: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  tap_ok(isolazi_registry_get_manifest(r, "sha256:1234", 0, &body, NULL, NULL, NULL, &err) < 0 && err.msg
             && strstr(err.msg, "not a valid tag or digest"),
         "a short digest is refused");
  isolazi_error_release(&err);
  rc = isolazi_registry_get_blob(r, "md5:abc", 0, &body, NULL, &err);
  tap_ok(rc < 0 && err.msg && strstr(err.msg, "invalid digest `md5:abc`"),
         "a blob digest of an unknown algorithm is refused: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  tap_ok(body == NULL, "nothing returned on error");
  /* Port 1 refuses connections: one quick failure (no retries), naming the registry. */
  isolazi_registry_free(r);
  o.max_retries = -1;
  r = isolazi_registry_new(&ref, &o, &err);
  rc = isolazi_registry_fetch_blobs(r, &item, 1, &err);
  tap_ok(rc < 0 && item.result < 0 && err.msg && strstr(err.msg, "127.0.0.1:1"),
         "an unreachable registry fails every item: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  isolazi_error_release(&item.error);
  isolazi_registry_free(r);
}

int
main(void)
{
  test_challenges();
  test_backoff();
  test_media_types();
  test_offline_errors();
  return tap_done();
}
