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

/* A credential helper of the test's own on $PATH: docker-credential-fake answers as $FAKE_MODE
   says and records the server it was asked about in $FAKE_ASKED. */
static void
helpers_setup(void)
{
  cleanup_free char *bin = p("bin");
  cleanup_free char *helper = p("bin/docker-credential-fake");
  cleanup_free char *path = xasprintf("%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
  cleanup_free char *asked = p("asked");

  put(helper, "#!/bin/sh\n"
              "[ \"$1\" = get ] || exit 9\n"
              "read -r server\n"
              "printf '%s' \"$server\" >\"$FAKE_ASKED\"\n"
              "case \"$FAKE_MODE\" in\n"
              "ok) echo '{\"ServerURL\":\"x\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}' ;;\n"
              "token) echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"tok-1\"}' ;;\n"
              "notfound) echo 'credentials not found in native keychain'; exit 1 ;;\n"
              "fail) echo 'boom: the keychain is locked'; exit 3 ;;\n"
              "garbage) echo 'not json, secret-in-here' ;;\n"
              "nosecret) echo '{\"Username\":\"alice\"}' ;;\n"
              "esac\n");
  (void)chmod(helper, 0755);
  setenv("PATH", path, 1);
  setenv("FAKE_ASKED", asked, 1);
}

static void
test_helpers(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_credentials_t c;
  cleanup_free char *file = p("helpers/config.json");
  cleanup_free char *asked_path = p("asked");
  int r;

  helpers_setup();
  put(file, "{\"auths\": {\"reg.example:5000\": {\"auth\": \"Ym9iOnB3\"}, \"store.example\": {}, \"both.example\": "
            "{\"auth\": \"Ym9iOnB3\"}}, \"credHelpers\": {\"reg.example:5000\": \"fake\", \"docker.io\": \"fake\", "
            "\"bad.example\": \"../evil\", \"gone.example\": \"isolazi-no-such-helper\"}, \"credsStore\": \"fake\"}");

  setenv("FAKE_MODE", "ok", 1);
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r == 0, "credHelpers: looked up: %s", err.msg ? err.msg : "ok");
  tap_streq(c.username, "alice", "credHelpers: the helper's user, not the auths entry's");
  tap_streq(c.password, "s3cret", "credHelpers: the helper's secret");
  {
    cleanup_free char *asked = slurp(asked_path);
    tap_streq(asked, "reg.example:5000", "the helper is asked about the host");
  }
  isolazi_credentials_release(&c);

  r = isolazi_auth_lookup("docker.io", file, &c, &err);
  {
    cleanup_free char *asked = slurp(asked_path);
    tap_streq(asked, "https://index.docker.io/v1/", "Docker Hub is asked about by docker's URL");
  }
  isolazi_credentials_release(&c);

  setenv("FAKE_MODE", "token", 1);
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r == 0 && c.username == NULL && c.identity_token && strcmp(c.identity_token, "tok-1") == 0,
         "Username <token>: the secret is an identity token");
  isolazi_credentials_release(&c);

  setenv("FAKE_MODE", "notfound", 1);
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r == 0 && c.username == NULL && c.identity_token == NULL,
         "credentials not found: none, no error, and the auths entry is not used");

  setenv("FAKE_MODE", "fail", 1);
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r < 0 && err.msg
             && strstr(err.msg, "`docker-credential-fake get` failed (status 3): boom: the keychain is locked")
             && strstr(err.msg, "credHelpers.\"reg.example:5000\"") && strstr(err.msg, file),
         "a failing helper: its status and message, the file and the key: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  setenv("FAKE_MODE", "garbage", 1);
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "did not print a JSON object") && !strstr(err.msg, "secret-in-here"),
         "output that is not JSON is an error that does not quote it: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  setenv("FAKE_MODE", "nosecret", 1);
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "no Username or Secret"), "an answer without a Secret: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  r = isolazi_auth_lookup("gone.example", file, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "`docker-credential-isolazi-no-such-helper`: not found in $PATH"),
         "a helper that is not installed: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  r = isolazi_auth_lookup("bad.example", file, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "invalid helper name `../evil`"), "a helper name with a slash: %s",
         err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);

  /* credsStore: for a host whose auths entry is a placeholder, not for one with credentials. */
  setenv("FAKE_MODE", "ok", 1);
  r = isolazi_auth_lookup("store.example", file, &c, &err);
  tap_ok(r == 0 && c.username && strcmp(c.username, "alice") == 0, "credsStore serves a placeholder entry");
  isolazi_credentials_release(&c);
  r = isolazi_auth_lookup("both.example", file, &c, &err);
  tap_ok(r == 0 && c.username && strcmp(c.username, "bob") == 0,
         "an auths entry with credentials wins over credsStore");
  isolazi_credentials_release(&c);

  /* A default store that is not installed (Docker Desktop uninstalled) is ignored; a helper
     named for the registry is not (above). */
  put(file, "{\"auths\": {\"store.example\": {}}, \"credsStore\": \"isolazi-no-such-helper\"}");
  r = isolazi_auth_lookup("store.example", file, &c, &err);
  tap_ok(r == 0 && c.username == NULL && c.identity_token == NULL,
         "a credsStore helper that is not installed: no credentials, no error: %s", err.msg ? err.msg : "ok");
  isolazi_error_release(&err);

  put(file, "{\"credHelpers\": [\"fake\"]}");
  r = isolazi_auth_lookup("reg.example:5000", file, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "credHelpers: expected an object, got an array"),
         "credHelpers must be an object: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  put(file, "{\"credHelpers\": {\"h\": 1}}");
  r = isolazi_auth_lookup("h", file, &c, &err);
  tap_ok(r < 0 && err.msg && strstr(err.msg, "credHelpers.\"h\": expected a string"),
         "a helper name must be a string: %s", err.msg ? err.msg : "(none)");
  isolazi_error_release(&err);
  unsetenv("FAKE_MODE");
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
  test_helpers();
  {
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
      printf("# could not remove %s\n", tmpdir);
  }
  return tap_done();
}
