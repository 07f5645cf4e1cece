/* SPDX-License-Identifier: Apache-2.0 */
/* Image references (src/image/reference.c): docker's normalisation and the distribution
 * grammar, good and bad. */
#include "config.h"
#include "../unit/tap.h"
#include "reference.h"

#include <stdlib.h>
#include <string.h>

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_good(void)
{
  static const struct
  {
    const char *in, *domain, *path, *tag, *digest, *canonical;
  } cases[] = {
    { "alpine", "docker.io", "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
    { "alpine:3.19", "docker.io", "library/alpine", "3.19", NULL, "docker.io/library/alpine:3.19" },
    { "library/alpine", "docker.io", "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
    { "user/repo", "docker.io", "user/repo", "latest", NULL, "docker.io/user/repo:latest" },
    { "user/repo/sub:v1", "docker.io", "user/repo/sub", "v1", NULL, "docker.io/user/repo/sub:v1" },
    { "docker.io/alpine", "docker.io", "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
    { "index.docker.io/alpine", "docker.io", "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
    { "docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
      "docker.io/library/busybox:1.36" },
    { "ghcr.io/o/r:t", "ghcr.io", "o/r", "t", NULL, "ghcr.io/o/r:t" },
    { "ghcr.io/r", "ghcr.io", "r", "latest", NULL, "ghcr.io/r:latest" },
    { "localhost/x", "localhost", "x", "latest", NULL, "localhost/x:latest" },
    { "localhost:5000/x:y", "localhost:5000", "x", "y", NULL, "localhost:5000/x:y" },
    { "127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "latest", NULL, "127.0.0.1:5000/a/b:latest" },
    { "[::1]:5000/img", "[::1]:5000", "img", "latest", NULL, "[::1]:5000/img:latest" },
    { "[fe80::1]/img", "[fe80::1]", "img", "latest", NULL, "[fe80::1]/img:latest" },
    /* An upper-case first component can only be a host. */
    { "Registry/img", "Registry", "img", "latest", NULL, "Registry/img:latest" },
    { "my-registry.example.com:443/team/app:1.0.0-rc.1", "my-registry.example.com:443", "team/app", "1.0.0-rc.1", NULL,
      "my-registry.example.com:443/team/app:1.0.0-rc.1" },
    { "alpine@" D64, "docker.io", "library/alpine", NULL, D64, "docker.io/library/alpine@" D64 },
    { "alpine:3.19@" D64, "docker.io", "library/alpine", "3.19", D64, "docker.io/library/alpine:3.19@" D64 },
    { "localhost:5000/x@" D64, "localhost:5000", "x", NULL, D64, "localhost:5000/x@" D64 },
    { "a_b__c-d---e/f.g", "docker.io", "a_b__c-d---e/f.g", "latest", NULL, "docker.io/a_b__c-d---e/f.g:latest" },
    { "x:_TAG.v-1", "docker.io", "library/x", "_TAG.v-1", NULL, "docker.io/library/x:_TAG.v-1" },
    /* "localhost:5000" alone is a repository "localhost" with tag "5000", as docker reads it. */
    { "localhost:5000", "docker.io", "library/localhost", "5000", NULL, "docker.io/library/localhost:5000" },
    { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:t", "docker.io",
      "library/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "t", NULL,
      "docker.io/library/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:t" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      isolazi_image_ref_t ref = { 0 };
      isolazi_error_t err = ISOLAZI_ERROR_INIT;
      int r = isolazi_image_ref_parse(cases[i].in, &ref, &err);
      char *s;

      tap_ok(r == 0, "parse `%s`%s%s", cases[i].in, err.msg ? ": " : "", err.msg ? err.msg : "");
      if (r != 0)
        {
          isolazi_error_release(&err);
          continue;
        }
      tap_streq(ref.domain, cases[i].domain, "`%s`: domain", cases[i].in);
      tap_streq(ref.path, cases[i].path, "`%s`: path", cases[i].in);
      tap_streq(ref.tag, cases[i].tag, "`%s`: tag", cases[i].in);
      tap_streq(ref.digest, cases[i].digest, "`%s`: digest", cases[i].in);
      s = isolazi_image_ref_string(&ref);
      tap_streq(s, cases[i].canonical, "`%s`: canonical", cases[i].in);
      {
        /* The canonical form parses back to itself. */
        isolazi_image_ref_t again = { 0 };
        char *s2 = NULL;

        if (isolazi_image_ref_parse(s, &again, &err) == 0)
          s2 = isolazi_image_ref_string(&again);
        tap_streq(s2, s, "`%s`: canonical form is a fixed point", cases[i].in);
        free(s2);
        isolazi_image_ref_release(&again);
        isolazi_error_release(&err);
      }
      free(s);
      isolazi_image_ref_release(&ref);
    }
}

static void
test_bad(void)
{
  static const struct
  {
    const char *in, *msg;
  } cases[] = {
    { "", "empty image reference" },
    { "Alpine", "must be lower-case" },
    { "user/Repo", "must be lower-case" },
    { "ghcr.io/Org/repo", "must be lower-case" },
    { "alpine:", "invalid tag" },
    { "alpine:-x", "invalid tag" },
    { "alpine:a/b", "invalid registry domain" },
    { "alpine:t@sha256:abc", "invalid digest" },
    { "alpine@md5:0123456789abcdef0123456789abcdef", "invalid digest" },
    { "alpine@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "invalid digest" },
    { "alpine@", "invalid digest" },
    { "a@" D64 "@" D64, "more than one" },
    { ":tag", "missing repository name" },
    { "@" D64, "missing repository name" },
    { "/alpine", "invalid repository name" },
    { "alpine/", "invalid repository name" },
    { "a//b", "invalid repository name" },
    { "-a", "invalid repository name" },
    { "a-", "invalid repository name" },
    { "a..b", "invalid repository name" },
    { "a___b", "invalid repository name" },
    { "a b", "invalid repository name" },
    { "a.b/c d", "invalid repository name" },
    { "-bad.io/x", "invalid registry domain" },
    { "a_b.io/x", "invalid registry domain" },
    { "bad-.io/x", "invalid registry domain" },
    { "a..io/x", "invalid registry domain" },
    { "host:port/x", "invalid registry domain" },
    { "host:/x", "invalid registry domain" },
    { "[zz::1]/x", "invalid registry domain" },
    { "[::1/x", "invalid registry domain" },
    { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image ID" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      isolazi_image_ref_t ref = { 0 };
      isolazi_error_t err = ISOLAZI_ERROR_INIT;
      int r = isolazi_image_ref_parse(cases[i].in, &ref, &err);

      tap_ok(r < 0 && err.msg != NULL && strstr(err.msg, cases[i].msg) != NULL, "`%s` is refused: %s", cases[i].in,
             err.msg ? err.msg : "(accepted)");
      tap_ok(ref.domain == NULL && ref.path == NULL, "`%s`: nothing returned on error", cases[i].in);
      if (r < 0)
        tap_ok(strncmp(err.msg, "reference `", 11) == 0, "`%s`: message names the reference", cases[i].in);
      isolazi_image_ref_release(&ref);
      isolazi_error_release(&err);
    }
}

static void
test_limits(void)
{
  char name[300], tag[140];
  isolazi_image_ref_t ref = { 0 };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  /* 128-character tags are the longest allowed. */
  memset(tag, 'a', 128);
  tag[128] = '\0';
  snprintf(name, sizeof name, "x:%s", tag);
  tap_ok(isolazi_image_ref_parse(name, &ref, &err) == 0, "a 128-character tag is accepted");
  isolazi_image_ref_release(&ref);
  isolazi_error_release(&err);
  tag[128] = 'a';
  tag[129] = '\0';
  snprintf(name, sizeof name, "x:%s", tag);
  tap_ok(isolazi_image_ref_parse(name, &ref, &err) < 0 && strstr(err.msg, "invalid tag"),
         "a 129-character tag is refused");
  isolazi_error_release(&err);

  /* The whole name, domain included, is at most 255 characters. */
  memset(name, 'a', sizeof name);
  memcpy(name, "example.com/", 12);
  name[255] = '\0';
  tap_ok(isolazi_image_ref_parse(name, &ref, &err) == 0, "a 255-character name is accepted");
  isolazi_image_ref_release(&ref);
  isolazi_error_release(&err);
  name[255] = 'a';
  name[256] = '\0';
  tap_ok(isolazi_image_ref_parse(name, &ref, &err) < 0 && strstr(err.msg, "longer than 255"),
         "a 256-character name is refused");
  isolazi_error_release(&err);
  /* "library/" counts: 247 characters of short name become 265. */
  memset(name, 'a', 250);
  name[250] = '\0';
  tap_ok(isolazi_image_ref_parse(name, &ref, &err) < 0 && strstr(err.msg, "longer than 255"),
         "a short name too long once normalised is refused");
  isolazi_error_release(&err);
}

static void
test_helpers(void)
{
  static const struct
  {
    const char *in, *api, *repo;
    int local;
  } cases[] = {
    { "alpine", "registry-1.docker.io", "docker.io/library/alpine", 0 },
    { "ghcr.io/o/r", "ghcr.io", "ghcr.io/o/r", 0 },
    { "localhost/x", "localhost", "localhost/x", 1 },
    { "localhost:5000/x", "localhost:5000", "localhost:5000/x", 1 },
    { "127.0.0.1:5000/x", "127.0.0.1:5000", "127.0.0.1:5000/x", 1 },
    { "127.9.8.7/x", "127.9.8.7", "127.9.8.7/x", 1 },
    { "127.example.com/x", "127.example.com", "127.example.com/x", 0 },
    { "[::1]:5000/x", "[::1]:5000", "[::1]:5000/x", 1 },
    { "[::1]/x", "[::1]", "[::1]/x", 1 },
    { "[::12]/x", "[::12]", "[::12]/x", 0 },
    { "localhost.example.com/x", "localhost.example.com", "localhost.example.com/x", 0 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      isolazi_image_ref_t ref = { 0 };
      isolazi_error_t err = ISOLAZI_ERROR_INIT;
      char *repo;

      if (isolazi_image_ref_parse(cases[i].in, &ref, &err) < 0)
        {
          tap_ok(0, "parse `%s`: %s", cases[i].in, err.msg);
          isolazi_error_release(&err);
          continue;
        }
      tap_streq(isolazi_image_ref_api_host(&ref), cases[i].api, "`%s`: API host", cases[i].in);
      repo = isolazi_image_ref_repository(&ref);
      tap_streq(repo, cases[i].repo, "`%s`: repository", cases[i].in);
      free(repo);
      tap_ok(isolazi_image_ref_is_local(&ref) == cases[i].local, "`%s`: local is %d", cases[i].in, cases[i].local);
      isolazi_image_ref_release(&ref);
    }
  isolazi_image_ref_release(NULL);
  tap_ok(1, "release accepts NULL");
}

int
main(void)
{
  test_good();
  test_bad();
  test_limits();
  test_helpers();
  return tap_done();
}
