/* SPDX-License-Identifier: Apache-2.0 */
/* Registry credentials in the files docker and podman share.  The format (docker's
 * config.json, containers-auth.json(5)): {"auths": {"<host>": {"auth": base64("user:pass"),
 * "identitytoken": "..."}}, ...}.  Other keys of the file (credHelpers, psFormat, ...) and other
 * hosts' entries are kept as they are when we rewrite it. */
#include <config.h>

#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "utils.h"

/* An auth file is a few entries; a huge one is a mistake, not something to load. */
#define AUTH_FILE_MAX (4 << 20)

static char *
xdg_auth_path(void)
{
  const char *xdg = getenv("XDG_RUNTIME_DIR");

  if (xdg == NULL || xdg[0] == '\0')
    return NULL;
  return xasprintf("%s/containers/auth.json", xdg);
}

static char *
docker_config_path(void)
{
  cleanup_free char *home = isolazi_home_dir();

  if (home == NULL)
    return NULL;
  return xasprintf("%s/.docker/config.json", home);
}

/* The file login writes to and logout edits. */
static char *
default_store_path(isolazi_error_t *err)
{
  const char *env = getenv("REGISTRY_AUTH_FILE");
  char *p;

  if (env != NULL && env[0] != '\0')
    return xstrdup(env);
  p = xdg_auth_path();
  if (p == NULL)
    p = docker_config_path();
  if (p == NULL)
    isolazi_error_set(err, 0,
                      "find a credentials file: neither REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR nor a home "
                      "directory is set");
  return p;
}

/* Docker Hub is known by several names; an entry under any of them serves all. */
static bool
is_docker_hub(const char *h, size_t n)
{
  static const char *const names[] = { "docker.io", "index.docker.io", "registry-1.docker.io" };
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i]) == n && strncmp(names[i], h, n) == 0)
      return true;
  return false;
}

/* Does the key of an "auths" entry name this host?  Keys are a bare host ("localhost:5000"), or
 * a URL as old docker wrote them ("https://index.docker.io/v1/"); a bare key with a path
 * ("quay.io/org") is podman's per-namespace entry and does not stand for the whole host. */
static bool
key_matches(const char *key, const char *host)
{
  const char *k = key;
  size_t n, hn = strlen(host);
  bool url = false;

  if (isolazi_has_prefix(k, "https://"))
    {
      k += 8;
      url = true;
    }
  else if (isolazi_has_prefix(k, "http://"))
    {
      k += 7;
      url = true;
    }
  n = strcspn(k, "/");
  if (!url && k[n] != '\0')
    return false;
  if (n == hn && strncmp(k, host, n) == 0)
    return true;
  return is_docker_hub(k, n) && is_docker_hub(host, hn);
}

char *
isolazi_auth_base64(const char *s)
{
  size_t len = strlen(s);
  char *out = xmalloc(4 * ((len + 2) / 3) + 1);

  (void)EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
  return out;
}

/* Decode standard base64 (with padding).  NULL when the text is not base64. */
static char *
base64_decode(const char *s, size_t *ret_len)
{
  size_t len = strlen(s), pad = 0;
  char *out;
  int n;

  if (len == 0 || len % 4 != 0 || len > INT_MAX)
    return NULL;
  if (s[len - 1] == '=')
    pad++;
  if (s[len - 2] == '=')
    pad++;
  out = xmalloc(len / 4 * 3 + 1);
  n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
  if (n < 0 || (size_t)n < pad)
    {
      free(out);
      return NULL;
    }
  n -= (int)pad;
  out[n] = '\0';
  *ret_len = (size_t)n;
  return out;
}

/* Read and parse an auth file.  A missing file gives *ret NULL and returns 0. */
static int
load_file(const char *path, json_value **ret, isolazi_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_free char *perr = NULL;
  const json_value *auths;
  size_t len = 0;
  struct stat st;
  json_value *v;

  *ret = NULL;
  if (stat(path, &st) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return isolazi_error_errno(err, "read credentials file `%s`", path);
    }
  if (S_ISREG(st.st_mode) && st.st_size > AUTH_FILE_MAX)
    return isolazi_error_set_plain(err, EFBIG, "read credentials file `%s`: larger than %d bytes", path, AUTH_FILE_MAX);
  if (isolazi_read_file(path, &text, &len, err) < 0)
    return isolazi_error_wrap(err, "read credentials file `%s`", path);
  v = json_parse(text, len, &perr);
  if (v == NULL)
    {
      /* The parser quotes the text near the error: it may be a secret. */
      char *near = perr ? strstr(perr, " near") : NULL;
      if (near != NULL)
        *near = '\0';
      return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: %s", path,
                                     perr ? perr : "invalid JSON");
    }
  if (json_typeof(v) != JSON_OBJECT)
    {
      json_value_free(v);
      return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: the document is not a JSON object",
                                     path);
    }
  auths = json_object_get(v, "auths");
  if (auths != NULL && json_typeof(auths) != JSON_OBJECT)
    {
      const char *type = json_type_name(json_typeof(auths)); /* a static string */
      json_value_free(v);
      return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: auths: expected an object, got %s",
                                     path, type);
    }
  *ret = v;
  return 0;
}

/* Fill ret from one "auths" entry.  An entry without "auth" or "identitytoken" (docker writes
 * `{}` when a credential helper holds the secret) yields nothing: returns 0 with ret empty. */
static int
parse_entry(const char *path, const char *key, const json_value *e, isolazi_credentials_t *ret, isolazi_error_t *err)
{
  const json_value *auth = json_object_get(e, "auth");
  const json_value *tok = json_object_get(e, "identitytoken");
  cleanup_free char *plain = NULL;
  const char *colon;
  size_t len = 0;

  if (json_typeof(e) != JSON_OBJECT)
    return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: auths.\"%s\": expected an object", path,
                                   key);
  if (tok != NULL && json_typeof(tok) != JSON_NULL)
    {
      if (json_get_string(tok) == NULL)
        return isolazi_error_set_plain(
            err, EINVAL, "parse credentials file `%s`: auths.\"%s\".identitytoken: expected a string", path, key);
      if (json_get_string(tok)[0] != '\0')
        ret->identity_token = xstrdup(json_get_string(tok));
    }
  if (auth != NULL && json_typeof(auth) != JSON_NULL)
    {
      if (json_get_string(auth) == NULL)
        return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: auths.\"%s\".auth: expected a string",
                                       path, key);
      if (json_get_string(auth)[0] == '\0')
        return 0;
      plain = base64_decode(json_get_string(auth), &len);
      /* The message never quotes the value: it is the secret. */
      if (plain == NULL || strlen(plain) != len)
        return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: auths.\"%s\".auth: not valid base64",
                                       path, key);
      colon = strchr(plain, ':');
      if (colon == NULL)
        return isolazi_error_set_plain(
            err, EINVAL, "parse credentials file `%s`: auths.\"%s\".auth: not base64 of \"user:password\"", path, key);
      ret->username = xasprintf("%.*s", (int)(colon - plain), plain);
      /* With an identity token the password half is empty (docker writes "<token>:"). */
      if (ret->identity_token == NULL || colon[1] != '\0')
        ret->password = xstrdup(colon + 1);
      explicit_bzero(plain, len);
    }
  return 0;
}

static int
lookup_in(const char *path, const char *host, isolazi_credentials_t *ret, bool *found, isolazi_error_t *err)
{
  cleanup_json json_value *doc = NULL;
  const json_value *auths;
  size_t i, n;

  *found = false;
  if (load_file(path, &doc, err) < 0)
    return -1;
  if (doc == NULL || (auths = json_object_get(doc, "auths")) == NULL)
    return 0;
  n = json_object_len(auths);
  /* An exact key wins over an equivalent one ("docker.io" over "https://index.docker.io/v1/"). */
  for (int pass = 0; pass < 2 && !*found; pass++)
    for (i = 0; i < n && !*found; i++)
      {
        const char *key = json_object_key(auths, i);
        if (pass == 0 ? strcmp(key, host) != 0 : !key_matches(key, host))
          continue;
        if (parse_entry(path, key, json_object_value(auths, i), ret, err) < 0)
          {
            isolazi_credentials_release(ret);
            return -1;
          }
        *found = ret->username != NULL || ret->identity_token != NULL;
      }
  return 0;
}

int
isolazi_auth_lookup(const char *host, const char *auth_file, isolazi_credentials_t *ret, isolazi_error_t *err)
{
  cleanup_free char *xdg = NULL;
  cleanup_free char *docker = NULL;
  const char *paths[3];
  size_t n = 0, i;
  bool found = false;

  memset(ret, 0, sizeof(*ret));
  if (auth_file != NULL)
    paths[n++] = auth_file;
  else
    {
      const char *env = getenv("REGISTRY_AUTH_FILE");
      if (env != NULL && env[0] != '\0')
        paths[n++] = env;
      if ((xdg = xdg_auth_path()) != NULL)
        paths[n++] = xdg;
      if ((docker = docker_config_path()) != NULL)
        paths[n++] = docker;
    }
  for (i = 0; i < n && !found; i++)
    if (lookup_in(paths[i], host, ret, &found, err) < 0)
      return -1;
  return 0;
}

/* Rewrite `path` with the host's entries replaced by `auth` (NULL: removed).  *removed tells
 * whether there was an entry for the host. */
static int
rewrite(const char *path, const char *host, const char *auth, bool *removed, isolazi_error_t *err)
{
  cleanup_json json_value *doc = NULL;
  cleanup_json_gen json_gen *g = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *gerr = NULL;
  cleanup_free char *dir = NULL;
  cleanup_close int dirfd = -1;
  const json_value *auths = NULL;
  const char *slash, *base;
  size_t i, len = 0;

  *removed = false;
  if (load_file(path, &doc, err) < 0)
    return -1;
  if (doc != NULL)
    auths = json_object_get(doc, "auths");

  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, "auths");
  json_gen_object_open(g);
  for (i = 0; i < json_object_len(auths); i++)
    {
      const char *key = json_object_key(auths, i);
      if (key_matches(key, host))
        {
          *removed = true;
          continue;
        }
      json_gen_key(g, key);
      json_gen_value(g, json_object_value(auths, i));
    }
  if (auth != NULL)
    {
      json_gen_key(g, host);
      json_gen_object_open(g);
      json_gen_key(g, "auth");
      json_gen_string(g, auth);
      json_gen_object_close(g);
    }
  json_gen_object_close(g);
  for (i = 0; i < json_object_len(doc); i++)
    {
      if (strcmp(json_object_key(doc, i), "auths") == 0)
        continue;
      json_gen_key(g, json_object_key(doc, i));
      json_gen_value(g, json_object_value(doc, i));
    }
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &gerr) < 0)
    return isolazi_error_set_plain(err, EINVAL, "write credentials file `%s`: %s", path,
                                   gerr ? gerr : "JSON writer failed");
  if (auth == NULL && !*removed)
    return 0;

  slash = strrchr(path, '/');
  dir = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") : xasprintf("%.*s", (int)(slash - path), path);
  base = slash == NULL ? path : slash + 1;
  if (base[0] == '\0')
    return isolazi_error_set(err, EISDIR, "write credentials file `%s`", path);
  if (isolazi_mkdir_p(dir, 0700, err) < 0)
    return isolazi_error_wrap(err, "write credentials file `%s`", path);
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return isolazi_error_errno(err, "write credentials file `%s`: open `%s`", path, dir);
  /* Temp file, fsync, rename: a crash leaves the old file or the new one.  0600: secrets. */
  if (isolazi_write_file_atomic(dirfd, base, out, len, 0600, true, err) < 0)
    return isolazi_error_wrap(err, "write credentials file `%s`", path);
  if (fsync(dirfd) < 0)
    return isolazi_error_errno(err, "write credentials file `%s`: fsync `%s`", path, dir);
  return 0;
}

int
isolazi_auth_store(const char *host, const char *username, const char *password, const char *auth_file,
                   isolazi_error_t *err)
{
  cleanup_free char *path = auth_file ? xstrdup(auth_file) : default_store_path(err);
  cleanup_free char *plain = NULL;
  cleanup_free char *b64 = NULL;
  bool removed;
  int r;

  if (path == NULL)
    return -1;
  if (host == NULL || host[0] == '\0')
    return isolazi_error_set_plain(err, EINVAL, "store credentials: empty registry name");
  if (username == NULL || username[0] == '\0' || strchr(username, ':') != NULL)
    return isolazi_error_set_plain(err, EINVAL,
                                   "store credentials for `%s`: the user name must be non-empty and without `:`", host);
  plain = xasprintf("%s:%s", username, password ? password : "");
  b64 = isolazi_auth_base64(plain);
  r = rewrite(path, host, b64, &removed, err);
  explicit_bzero(plain, strlen(plain));
  explicit_bzero(b64, strlen(b64));
  return r;
}

int
isolazi_auth_remove(const char *host, const char *auth_file, isolazi_error_t *err)
{
  cleanup_free char *path = auth_file ? xstrdup(auth_file) : default_store_path(err);
  bool removed = false;

  if (path == NULL)
    return -1;
  if (rewrite(path, host, NULL, &removed, err) < 0)
    return -1;
  if (!removed)
    return isolazi_error_set_plain(err, ENOENT, "remove credentials of `%s` from `%s`: not logged in", host, path);
  return 0;
}

void
isolazi_credentials_release(isolazi_credentials_t *c)
{
  if (c == NULL)
    return;
  if (c->password != NULL)
    explicit_bzero(c->password, strlen(c->password));
  if (c->identity_token != NULL)
    explicit_bzero(c->identity_token, strlen(c->identity_token));
  free(c->username);
  free(c->password);
  free(c->identity_token);
  c->username = c->password = c->identity_token = NULL;
}
