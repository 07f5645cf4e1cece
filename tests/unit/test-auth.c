/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/auth.c: credentials in REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json and
 * ~/.docker/config.json, in a temporary directory (HOME and XDG_RUNTIME_DIR point there). */
#include "config.h"
#include "../unit/tap.h"
#include "auth.h"
#include "cleanup.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/isolazi-test-auth.XXXXXX";

static void
put(const char *path, const char *text)
{
  cleanup_free char *dir = xstrdup(path);
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_close int fd = -1;

  *strrchr(dir, '/') = '\0';
  (void)isolazi_mkdir_p(dir, 0700, &err);
  isolazi_error_release(&err);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || isolazi_write_all(fd, text, strlen(text)) < 0)
    tap_ok(0, "write %s", path);
}

static char *
slurp(const char *path)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *text = NULL;
  size_t len;

  if (isolazi_read_file(path, &text, &len, &err) < 0)
    {
      isolazi_error_release(&err);
      return NULL;
    }
  return text;
}

static char *
p(const char *rel)
{
  return xasprintf("%s/%s", tmpdir, rel);
}

/* No ".<name>.tmp.*" file left in the directory of path. */
static bool
no_temp_files(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  bool clean = true;

  if (d == NULL)
    return false;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".tmp.") != NULL)
      clean = false;
  closedir(d);
  return clean;
}

static void
env_reset(void)
{
  cleanup_free char *home = p("home");
  cleanup_free char *xdg = p("run");

  setenv("HOME", home, 1);
  setenv("XDG_RUNTIME_DIR", xdg, 1);
  unsetenv("REGISTRY_AUTH_FILE");
}

static void
test_lookup(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_credentials_t c;
  cleanup_free char *docker = p("home/.docker/config.json");
  cleanup_free char *xdg = p("run/containers/auth.json");
  cleanup_free char *env = p("env/auth.json");
  int r;

  env_reset();
  /* base64("alice:pw1") etc. */
  put(docker, "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"ZG9jazpodWI=\"},"
              "\"quay.io/org\": {\"auth\": \"bnM6cHc=\"},"
              "\"id.example\": {\"auth\": \"dG9rZW46\", \"identitytoken\": \"refresh-123\"},"
              "\"both.example\": {\"auth\": \"ZG9ja2VyOmQ=\"}}, \"credsStore\": \"desktop\"}");
  put(xdg, "{\"auths\": {\"both.example\": {\"auth\": \"eGRnOng=\"}, \"helper.example\": {}}}");

  r = isolazi_auth_lookup("docker.io", NULL, &c, &err);
  tap_ok(r == 0, "lookup docker.io");
  tap_streq(c.username, "dock", "docker.io finds the old https://index.docker.io/v1/ key");
  tap_streq(c.password, "hub", "its password");
  isolazi_credentials_release(&c);

  r = isolazi_auth_lookup("quay.io", NULL, &c, &err);
  tap_ok(r == 0 && c.username == NULL && c.password == NULL, "a per-namespace key does not stand for the host");

  r = isolazi_auth_lookup("id.example", NULL, &c, &err);
  tap_streq(c.identity_token, "refresh-123", "identitytoken");
  tap_streq(c.username, "token", "its user name");
  tap_ok(c.password == NULL, "no password with an identity token");
  isolazi_credentials_release(&c);

  r = isolazi_auth_lookup("both.example", NULL, &c, &err);
  tap_streq(c.username, "xdg", "$XDG_RUNTIME_DIR/containers/auth.json comes before ~/.docker/config.json");
  isolazi_credentials_release(&c);

  r = isolazi_auth_lookup("helper.example", NULL, &c, &err);
  tap_ok(r == 0 && c.username == NULL, "an empty entry (a credential helper's) gives nothing, without error");

  put(env, "{\"auths\": {\"both.example\": {\"auth\": \"ZW52OmU=\"}}}");
  setenv("REGISTRY_AUTH_FILE", env, 1);
  r = isolazi_auth_lookup("both.example", NULL, &c, &err);
  tap_streq(c.username, "env", "REGISTRY_AUTH_FILE comes first");
  isolazi_credentials_release(&c);
  r = isolazi_auth_lookup("id.example", NULL, &c, &err);
  tap_streq(c.identity_token, "refresh-123", "and the other files are still searched");
  isolazi_credentials_release(&c);

  r = isolazi_auth_lookup("both.example", docker, &c, &err);
  tap_streq(c.username, "docker", "an explicit file is the only one read");
  isolazi_credentials_release(&c);

  r = isolazi_auth_lookup("nobody.example", NULL, &c, &err);
  tap_ok(r == 0 && c.username == NULL && c.identity_token == NULL, "no entry is not an error");

  /* Bad files: the message names the file (and the JSON path), never the secret. */
  put(env, "{\"auths\": {\"x.example\": ");
  r = isolazi_auth_lookup("x.example", NULL, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, env) && strstr(err.msg, "parse credentials file"),
         "bad JSON names the file: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  put(env, "{\"auths\": {\"x.example\": {\"auth\": \"not*base64\"}}}");
  r = isolazi_auth_lookup("x.example", NULL, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "auths.\"x.example\".auth: not valid base64")
             && !strstr(err.msg, "not*base64"),
         "bad base64 names the JSON path, not the value: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  put(env, "{\"auths\": {\"x.example\": {\"auth\": \"bm9jb2xvbg==\"}}}");
  r = isolazi_auth_lookup("x.example", NULL, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "not base64 of \"user:password\"") && !strstr(err.msg, "nocolon"),
         "base64 without a colon: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  put(env, "{\"auths\": []}");
  r = isolazi_auth_lookup("x.example", NULL, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "auths: expected an object"), "auths must be an object");
  isolazi_error_release(&err);
  unsetenv("REGISTRY_AUTH_FILE");
}

static void
check_stored(const char *path, const char *what)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_credentials_t c;
  struct stat st;
  cleanup_free char *dir = xstrdup(path);

  tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "%s: the file is mode 0600", what);
  tap_ok(isolazi_auth_lookup("new.example:5000", path, &c, &err) == 0 && c.username && strcmp(c.username, "bob") == 0
             && c.password && strcmp(c.password, "pa:ss w0rd") == 0,
         "%s: the stored credentials read back", what);
  isolazi_credentials_release(&c);
  *strrchr(dir, '/') = '\0';
  tap_ok(no_temp_files(dir), "%s: no temporary file left", what);
}

static void
test_store_remove(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_credentials_t c;
  cleanup_free char *docker = p("home/.docker/config.json");
  cleanup_free char *xdg = p("run/containers/auth.json");
  cleanup_free char *env = p("env2/sub/auth.json");
  cleanup_free char *text = NULL;
  int r;

  /* 1. REGISTRY_AUTH_FILE, in a directory that does not exist yet. */
  env_reset();
  setenv("REGISTRY_AUTH_FILE", env, 1);
  r = isolazi_auth_store("new.example:5000", "bob", "pa:ss w0rd", NULL, &err);
  tap_ok(r == 0, "store into REGISTRY_AUTH_FILE: %s", err.msg ? err.msg : "ok");
  isolazi_error_release(&err);
  check_stored(env, "REGISTRY_AUTH_FILE");
  text = slurp(env);
  tap_ok(text && strstr(text, "\"new.example:5000\"") && strstr(text, "Ym9iOnBhOnNzIHcwcmQ="),
         "the entry is base64 of user:password");
  free(steal_pointer(&text));

  /* 2. $XDG_RUNTIME_DIR/containers/auth.json: other entries and keys are kept. */
  unsetenv("REGISTRY_AUTH_FILE");
  put(xdg, "{\"auths\": {\"keep.example\": {\"auth\": \"eDp5\"}, \"new.example:5000\": {\"auth\": \"b2xkOm9sZA==\", "
           "\"identitytoken\": \"old\"}}, \"credHelpers\": {\"gcr.io\": \"gcr\"}, \"n\": [1, 2.5, true, null]}");
  chmod(xdg, 0644);
  r = isolazi_auth_store("new.example:5000", "bob", "pa:ss w0rd", NULL, &err);
  tap_ok(r == 0, "store into $XDG_RUNTIME_DIR/containers/auth.json");
  check_stored(xdg, "XDG_RUNTIME_DIR");
  text = slurp(xdg);
  tap_ok(text && strstr(text, "keep.example") && strstr(text, "credHelpers") && strstr(text, "gcr.io")
             && strstr(text, "2.5") && !strstr(text, "b2xkOm9sZA==") && !strstr(text, "\"old\""),
         "other hosts and keys are kept, the old entry (and its identity token) replaced");
  free(steal_pointer(&text));

  /* 3. ~/.docker/config.json when neither is set. */
  unsetenv("XDG_RUNTIME_DIR");
  r = isolazi_auth_store("new.example:5000", "bob", "pa:ss w0rd", NULL, &err);
  tap_ok(r == 0, "store into ~/.docker/config.json");
  check_stored(docker, "~/.docker/config.json");

  /* Remove. */
  r = isolazi_auth_remove("new.example:5000", NULL, &err);
  tap_ok(r == 0, "remove from ~/.docker/config.json");
  tap_ok(isolazi_auth_lookup("new.example:5000", docker, &c, &err) == 0 && c.username == NULL, "the entry is gone");
  text = slurp(docker);
  tap_ok(text && strstr(text, "ZG9jazpodWI="), "the other entries stay");
  free(steal_pointer(&text));
  r = isolazi_auth_remove("new.example:5000", NULL, &err);
  tap_ok(r < 0 && err.code == ENOENT && err.msg && strstr(err.msg, "not logged in") && strstr(err.msg, docker),
         "removing again: not logged in (ENOENT), naming the file: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  /* docker.io removes the old-style key too. */
  r = isolazi_auth_remove("docker.io", NULL, &err);
  tap_ok(r == 0 && isolazi_auth_lookup("docker.io", docker, &c, &err) == 0 && c.username == NULL,
         "logout of docker.io removes https://index.docker.io/v1/");

  /* A file we cannot parse is left alone. */
  put(xdg, "{not json");
  setenv("XDG_RUNTIME_DIR", tmpdir, 1);
  {
    cleanup_free char *run = p("run");
    setenv("XDG_RUNTIME_DIR", run, 1);
  }
  r = isolazi_auth_store("new.example:5000", "bob", "pw", NULL, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, xdg), "store over bad JSON fails naming the file: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  text = slurp(xdg);
  tap_streq(text, "{not json", "and leaves it as it was");

  r = isolazi_auth_store("new.example:5000", "a:b", "pw", xdg, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "without `:`"), "a user name with a colon is refused");
  isolazi_error_release(&err);
}

int
main(void)
{
  if (mkdtemp(tmpdir) == NULL)
    {
      printf("Bail out! mkdtemp: %s\n", strerror(errno));
      return 1;
    }
  test_lookup();
  test_store_remove();
  {
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
      printf("# could not remove %s\n", tmpdir);
  }
  return tap_done();
}
