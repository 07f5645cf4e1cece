/* SPDX-License-Identifier: Apache-2.0 */
/* Registry credentials in the files docker and podman share.  The format (docker's
 * config.json, containers-auth.json(5)): {"auths": {"<host>": {"auth": base64("user:pass"),
 * "identitytoken": "..."}}, "credHelpers": {"<host>": "<name>"}, "credsStore": "<name>"}.  Other
 * keys of the file (psFormat, ...) and other hosts' entries are kept as they are when we rewrite
 * it.  A credential helper is docker's: `docker-credential-<name> get` reads the server on stdin
 * and writes {"ServerURL", "Username", "Secret"} (Username "<token>": Secret is an identity
 * token); exit status 1 with "credentials not found" means it has none. */
#include <config.h>

#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "utils.h"

/* An auth file is a few entries; a huge one is a mistake, not something to load. */
#define AUTH_FILE_MAX (4 << 20)
/* What a credential helper may answer, and how long it may take (cloud helpers call an API;
   some ask for a passphrase). */
#define HELPER_OUTPUT_MAX  (64 << 10)
#define HELPER_TIMEOUT_SEC 60

extern char **environ;

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
  static const struct
  {
    const char *key, *what;
    json_type type;
  } typed[] = {
    { "auths", "an object", JSON_OBJECT },
    { "credHelpers", "an object", JSON_OBJECT },
    { "credsStore", "a string", JSON_STRING },
  };
  cleanup_free char *text = NULL;
  cleanup_free char *perr = NULL;
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
  for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++)
    {
      const json_value *f = json_object_get(v, typed[i].key);
      if (f != NULL && json_typeof(f) != typed[i].type)
        {
          const char *type = json_type_name(json_typeof(f)); /* a static string */
          json_value_free(v);
          return isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: %s: expected %s, got %s", path,
                                         typed[i].key, typed[i].what, type);
        }
    }
  /* Every helper name is a string. */
  {
    const json_value *h = json_object_get(v, "credHelpers");
    for (size_t i = 0; i < json_object_len(h); i++)
      if (json_typeof(json_object_value(h, i)) != JSON_STRING)
        {
          isolazi_error_set_plain(err, EINVAL, "parse credentials file `%s`: credHelpers.\"%s\": expected a string",
                                  path, json_object_key(h, i));
          json_value_free(v);
          return -1;
        }
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

/* ---- credential helpers ---------------------------------------------------------------- */

static bool
helper_name_valid(const char *name)
{
  if (name[0] == '\0' || name[0] == '.')
    return false;
  for (const char *c = name; *c != '\0'; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'
          || *c == '.'))
      return false;
  return true;
}

/* Write the whole request to the helper's stdin without dying of SIGPIPE when it exits first:
   SIGPIPE is blocked in this thread for the write, and one it raised is taken back. */
static void
helper_send(int fd, const char *text)
{
  sigset_t pipe_set, old;
  struct timespec zero = { 0, 0 };

  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  if (isolazi_write_all(fd, text, strlen(text)) < 0 && errno == EPIPE)
    (void)sigtimedwait(&pipe_set, NULL, &zero);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Run `docker-credential-<name> get` with `server` on stdin: its stdout (NUL-terminated) and
   its wait status.  stderr stays ours, as docker leaves it: a helper may ask for a passphrase. */
static int
helper_run(const char *prog, const char *server, char **ret_out, int *ret_status, isolazi_error_t *err)
{
  char *argv[] = { (char *)prog, (char *)"get", NULL };
  cleanup_free char *out = xmalloc(HELPER_OUTPUT_MAX + 1);
  cleanup_free char *request = xasprintf("%s\n", server);
  posix_spawn_file_actions_t fa;
  int in[2], outp[2], rc, status = 0;
  size_t len = 0;
  time_t deadline = time(NULL) + HELPER_TIMEOUT_SEC;
  bool timed_out = false;
  pid_t pid;

  if (pipe2(in, O_CLOEXEC) < 0)
    return isolazi_error_errno(err, "run credential helper `%s`: pipe", prog);
  if (pipe2(outp, O_CLOEXEC) < 0)
    {
      rc = isolazi_error_errno(err, "run credential helper `%s`: pipe", prog);
      close(in[0]), close(in[1]);
      return rc;
    }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
  rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(outp[1]);
  if (rc != 0)
    {
      close(in[1]), close(outp[0]);
      if (rc == ENOENT)
        return isolazi_error_set_plain(err, rc, "run credential helper `%s`: not found in $PATH", prog);
      return isolazi_error_set(err, rc, "run credential helper `%s`", prog);
    }
  helper_send(in[1], request);
  close(in[1]);
  for (;;)
    {
      struct pollfd pfd = { outp[0], POLLIN, 0 };
      long left = (long)(deadline - time(NULL));
      ssize_t n;
      int pr;

      if (left <= 0)
        {
          timed_out = true;
          break;
        }
      pr = poll(&pfd, 1, (int)left * 1000);
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr <= 0)
        {
          timed_out = pr == 0;
          break;
        }
      n = read(outp[0], out + len, HELPER_OUTPUT_MAX - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t)n;
      if (len == HELPER_OUTPUT_MAX)
        break;
    }
  close(outp[0]);
  if (timed_out || len == HELPER_OUTPUT_MAX)
    kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (timed_out)
    return isolazi_error_set_plain(err, ETIMEDOUT, "run credential helper `%s`: no answer in %d s", prog,
                                   HELPER_TIMEOUT_SEC);
  if (len == HELPER_OUTPUT_MAX)
    return isolazi_error_set_plain(err, EFBIG, "run credential helper `%s`: more than %d bytes of output", prog,
                                   HELPER_OUTPUT_MAX);
  out[len] = '\0';
  *ret_out = steal_pointer(&out);
  *ret_status = status;
  return 0;
}

/* The server a helper is asked about: Docker Hub by the URL docker stored it under. */
static const char *
helper_server(const char *host)
{
  return is_docker_hub(host, strlen(host)) ? "https://index.docker.io/v1/" : host;
}

/* Credentials from helper `name` (named by `what` in `path`, for messages).  *found false when
   the helper has none, or (missing_ok) is not installed. */
static int
helper_get(const char *path, const char *what, const char *name, const char *host, bool missing_ok,
           isolazi_credentials_t *ret, bool *found, isolazi_error_t *err)
{
  cleanup_free char *prog = NULL;
  cleanup_free char *out = NULL;
  cleanup_json json_value *doc = NULL;
  const char *user, *secret;
  int status = 0;
  size_t len;

  *found = false;
  if (!helper_name_valid(name))
    return isolazi_error_set_plain(err, EINVAL, "credentials file `%s`: %s: invalid helper name `%s`", path, what,
                                   name);
  prog = xasprintf("docker-credential-%s", name);
  if (helper_run(prog, helper_server(host), &out, &status, err) < 0)
    {
      /* A default store left behind by an uninstalled docker (Docker Desktop's "desktop") must
         not break pulls that need no credentials; a helper named for this registry must run. */
      if (missing_ok && err->code == ENOENT)
        {
          isolazi_debug("credentials for `%s`: %s `%s` in `%s`: `%s` is not installed; ignored", host, what, name, path,
                        prog);
          isolazi_error_release(err);
          return 0;
        }
      return isolazi_error_wrap(err, "credentials for `%s` (%s in `%s`)", host, what, path);
    }
  len = strlen(out);
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
    out[--len] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
      /* docker-credential-helpers' ErrCredentialsNotFound: nothing stored, not a failure. */
      if (WIFEXITED(status) && strstr(out, "credentials not found") != NULL)
        return 0;
      if (WIFSIGNALED(status))
        return isolazi_error_set_plain(err, EIO, "credentials for `%s` (%s in `%s`): `%s get` died of signal %d", host,
                                       what, path, prog, WTERMSIG(status));
      return isolazi_error_set_plain(err, EIO, "credentials for `%s` (%s in `%s`): `%s get` failed (status %d)%s%.200s",
                                     host, what, path, prog, WEXITSTATUS(status), len > 0 ? ": " : "", out);
    }
  doc = json_parse(out, len, NULL);
  /* The messages never quote the output: it holds the secret. */
  if (doc == NULL || json_typeof(doc) != JSON_OBJECT)
    return isolazi_error_set_plain(
        err, EINVAL, "credentials for `%s` (%s in `%s`): `%s get` did not print a JSON object", host, what, path, prog);
  user = json_get_string(json_object_get(doc, "Username"));
  secret = json_get_string(json_object_get(doc, "Secret"));
  if (user == NULL || secret == NULL)
    return isolazi_error_set_plain(err, EINVAL,
                                   "credentials for `%s` (%s in `%s`): `%s get` printed no Username or Secret", host,
                                   what, path, prog);
  if (strcmp(user, "<token>") == 0)
    ret->identity_token = xstrdup(secret);
  else
    {
      ret->username = xstrdup(user);
      ret->password = xstrdup(secret);
    }
  /* The secret also sits in the parsed document and the output buffer: wipe both. */
  explicit_bzero(out, len);
  *found = true;
  return 0;
}

/* credHelpers: the helper for this host, if the file names one (an exact key first). */
static const char *
cred_helper_for(const json_value *doc, const char *host, const char **ret_key)
{
  const json_value *helpers = json_object_get(doc, "credHelpers");
  size_t n = json_object_len(helpers);

  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++)
      {
        const char *key = json_object_key(helpers, i);
        const char *name = json_get_string(json_object_value(helpers, i));
        if (name != NULL && (pass == 0 ? strcmp(key, host) == 0 : key_matches(key, host)))
          {
            *ret_key = key;
            return name;
          }
      }
  return NULL;
}

static int
lookup_in(const char *path, const char *host, isolazi_credentials_t *ret, bool *found, isolazi_error_t *err)
{
  cleanup_json json_value *doc = NULL;
  const json_value *auths;
  const char *helper, *helper_key = NULL, *store;
  size_t i, n;

  *found = false;
  if (load_file(path, &doc, err) < 0)
    return -1;
  if (doc == NULL)
    return 0;
  /* A helper named for the host decides alone, as in docker and podman. */
  if ((helper = cred_helper_for(doc, host, &helper_key)) != NULL)
    {
      cleanup_free char *what = xasprintf("credHelpers.\"%s\"", helper_key);
      return helper_get(path, what, helper, host, false, ret, found, err);
    }
  auths = json_object_get(doc, "auths");
  n = auths != NULL ? json_object_len(auths) : 0;
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
  /* The default store holds what "auths" has only placeholders ({}) for. */
  store = json_get_string(json_object_get(doc, "credsStore"));
  if (!*found && store != NULL && store[0] != '\0')
    return helper_get(path, "credsStore", store, host, true, ret, found, err);
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
