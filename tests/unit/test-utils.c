/* SPDX-License-Identifier: Apache-2.0 */
/* src/lib/utils.c and the default state root (src/lib/paths.c). */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "container.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The testable half of isolazi_default_root (src/lib/paths.c, deliberately not in a header). */
char *isolazi_default_root_for(uid_t euid, const char *xdg_runtime_dir);

/* A known bug, reported but not fixed yet: TAP's "# TODO" makes it an expected failure.
 * (tap_ok would count it as a failure in the exit status.) */
static void
tap_todo(const char *what, const char *why)
{
  tap_count++;
  printf("not ok %d - %s # TODO %s\n", tap_count, what, why);
  fflush(stdout);
}

static char tmpdir[] = "/tmp/isolazi-test-utils.XXXXXX";

static void
test_abspath(void)
{
  static const struct
  {
    const char *in, *want;
  } cases[] = {
    { "/", "/" },           { "/a/b", "/a/b" }, { "//a///b//", "/a/b" },
    { "/a/./b/.", "/a/b" }, { "/./", "/" },     { "/a/.hidden/..x", "/a/.hidden/..x" },
  };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *cwd = getcwd(NULL, 0);
  cleanup_free char *want = NULL;
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_free char *got = isolazi_abspath(cases[i].in, &err);
      tap_streq(got, cases[i].want, "abspath `%s`", cases[i].in);
    }
  if (chdir(tmpdir) == 0)
    {
      cleanup_free char *got1 = isolazi_abspath("x/./y", &err);
      cleanup_free char *got2 = isolazi_abspath(".", &err);
      cleanup_free char *got3 = isolazi_abspath("./", &err);
      want = xasprintf("%s/x/y", tmpdir);
      tap_streq(got1, want, "abspath of a relative path joins the current directory");
      tap_streq(got2, tmpdir, "abspath `.` is the current directory");
      tap_streq(got3, tmpdir, "abspath `./` is the current directory");
      (void)chdir(cwd);
    }
  else
    tap_ok(0, "chdir to the temp dir");
}

static void
test_prefix_suffix(void)
{
  tap_ok(isolazi_has_prefix("SIGKILL", "SIG"), "has_prefix yes");
  tap_ok(!isolazi_has_prefix("KILL", "SIG"), "has_prefix no");
  tap_ok(isolazi_has_prefix("abc", ""), "has_prefix empty prefix");
  tap_ok(!isolazi_has_prefix("ab", "abc"), "has_prefix longer prefix");
  tap_ok(isolazi_has_prefix("abc", "abc"), "has_prefix equal");
  tap_ok(isolazi_has_suffix("config.json", ".json"), "has_suffix yes");
  tap_ok(!isolazi_has_suffix("config.json", ".yaml"), "has_suffix no");
  tap_ok(isolazi_has_suffix("x", ""), "has_suffix empty suffix");
  tap_ok(!isolazi_has_suffix("on", "json"), "has_suffix longer suffix");
  tap_ok(isolazi_has_suffix("json", "json"), "has_suffix equal");
}

static bool
all_digits(const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* YYYY-MM-DDTHH:MM:SS then `frac` fraction digits (0: none) then Z. */
static bool
is_rfc3339(const char *s, size_t frac)
{
  size_t len = strlen(s);
  struct tm tm;
  const char *end;

  if (len != 20 + (frac ? frac + 1 : 0))
    return false;
  if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2) || s[10] != 'T'
      || !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' || !all_digits(s + 17, 2))
    return false;
  if (frac && (s[19] != '.' || !all_digits(s + 20, frac)))
    return false;
  if (s[len - 1] != 'Z')
    return false;
  memset(&tm, 0, sizeof tm);
  end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  return end != NULL && end == s + 19;
}

static void
test_time(void)
{
  cleanup_free char *now = isolazi_now_rfc3339();
  char buf[32];
  time_t t0 = time(NULL), t1;
  struct tm tm;

  tap_ok(is_rfc3339(now, 9), "now_rfc3339 `%s` has nanoseconds and Z", now);
  isolazi_format_rfc3339_seconds(buf);
  tap_ok(is_rfc3339(buf, 0), "format_rfc3339_seconds `%s` is seconds and Z", buf);
  memset(&tm, 0, sizeof tm);
  strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
  t1 = timegm(&tm);
  tap_ok(t1 >= t0 - 1 && t1 <= t0 + 2, "format_rfc3339_seconds is UTC now (%lld vs %lld)", (long long)t1,
         (long long)t0);
}

static void
test_files(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_close int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *path = xasprintf("%s/state.json", tmpdir);
  cleanup_free char *missing = xasprintf("%s/missing", tmpdir);
  cleanup_free char *want = NULL;
  char *content = NULL;
  size_t len = 0;
  struct stat st;
  int r;

  tap_ok(dfd >= 0, "open the temp dir");
  r = isolazi_write_file_atomic(dfd, "state.json", "{\"a\":1}", 7, 0600, true, &err);
  tap_ok(r == 0, "write_file_atomic creates a file (%s)", err.msg ? err.msg : "ok");
  r = isolazi_read_file(path, &content, &len, &err);
  tap_ok(r == 0 && len == 7, "read_file reads it back (len %zu)", len);
  tap_streq(content, "{\"a\":1}", "content");
  free(content);
  content = NULL;
  {
    mode_t mask = umask(0);
    umask(mask);
    memset(&st, 0, sizeof st);
    r = stat(path, &st);
    tap_ok(r == 0 && (st.st_mode & 07777) == (0600 & ~mask), "mode 0600 (%o)", (unsigned)(st.st_mode & 07777));
  }

  r = isolazi_write_file_atomic(dfd, "state.json", "{}", 2, 0600, false, &err);
  tap_ok(r == 0, "write_file_atomic replaces it");
  r = isolazi_read_file(path, &content, &len, &err);
  tap_streq(r == 0 ? content : NULL, "{}", "replaced content");
  free(content);
  content = NULL;
  {
    cleanup_free char *tmp = xasprintf("%s/.state.json.tmp.%d", tmpdir, (int)getpid());
    tap_ok(access(tmp, F_OK) < 0 && errno == ENOENT, "no temporary file is left behind");
  }
  r = isolazi_write_file_atomic(dfd, "no/such/dir", "x", 1, 0600, false, &err);
  tap_ok(r < 0 && err.code == ENOENT, "write_file_atomic into a missing dir fails with ENOENT");
  isolazi_error_release(&err);

  r = isolazi_read_file(missing, &content, &len, &err);
  want = xasprintf("open `%s`: no such file or directory", missing);
  tap_ok(r < 0 && content == NULL, "read_file of a missing file fails");
  tap_ok(err.code == ENOENT, "read_file error code is ENOENT");
  tap_streq(err.msg, want, "read_file error message");
  isolazi_error_release(&err);
  r = isolazi_read_file(tmpdir, &content, &len, &err);
  tap_ok(r < 0 && err.code == EISDIR, "read_file of a directory fails with EISDIR (%s)", err.msg ? err.msg : "");
  isolazi_error_release(&err);

  r = isolazi_read_file("/proc/self/stat", &content, &len, &err);
  tap_ok(r == 0 && len > 0 && strlen(content) == len, "read_file of a proc file (size 0 in stat)");
  free(content);
  content = NULL;
}

static void
test_mkdir_p(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *deep = xasprintf("%s/a/b/c", tmpdir);
  cleanup_free char *slash = xasprintf("%s/x//y/", tmpdir);
  cleanup_free char *file = xasprintf("%s/plain", tmpdir);
  cleanup_free char *under_file = xasprintf("%s/plain/sub", tmpdir);
  struct stat st;
  int r;

  r = isolazi_mkdir_p(deep, 0700, &err);
  tap_ok(r == 0 && stat(deep, &st) == 0 && S_ISDIR(st.st_mode), "mkdir_p creates nested directories");
  r = isolazi_mkdir_p(deep, 0700, &err);
  tap_ok(r == 0, "mkdir_p on an existing directory is fine");
  r = isolazi_mkdir_p(slash, 0700, &err);
  tap_ok(r == 0 && stat(slash, &st) == 0 && S_ISDIR(st.st_mode), "mkdir_p with doubled and trailing slashes");
  r = isolazi_mkdir_p("/", 0700, &err);
  tap_ok(r == 0, "mkdir_p `/`");

  close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  r = isolazi_mkdir_p(under_file, 0700, &err);
  tap_ok(r < 0 && err.code == ENOTDIR, "mkdir_p below a regular file fails with ENOTDIR (%s)",
         err.msg ? err.msg : "no error");
  isolazi_error_release(&err);
  /* utils.c takes EEXIST as success without checking that the thing is a directory.  Marked TODO
     (an expected failure for automake's TAP driver) until utils.c is fixed. */
  r = isolazi_mkdir_p(file, 0700, &err);
  if (r < 0)
    tap_ok(1, "mkdir_p on an existing regular file fails (%s)", err.msg);
  else
    tap_todo("mkdir_p on an existing regular file fails (returned 0)", "utils.c: mkdir_p accepts a non-directory");
  isolazi_error_release(&err);
}

static void
test_default_root(void)
{
  cleanup_free char *r1 = isolazi_default_root_for(0, NULL);
  cleanup_free char *r2 = isolazi_default_root_for(0, "/run/user/0");
  cleanup_free char *r3 = isolazi_default_root_for(0, "");
  cleanup_free char *u1 = isolazi_default_root_for(1000, NULL);
  cleanup_free char *u2 = isolazi_default_root_for(1000, "");
  cleanup_free char *u3 = isolazi_default_root_for(1000, "/run/user/1000");
  cleanup_free char *u4 = isolazi_default_root_for(1000, "/tmp/xdg");
  cleanup_free char *actual = NULL, *want = NULL;
  const char *saved = getenv("XDG_RUNTIME_DIR");
  cleanup_free char *saved_copy = xstrdup(saved);

  tap_streq(r1, "/run/isolazi", "root, XDG_RUNTIME_DIR unset");
  tap_streq(r2, "/run/isolazi", "root, XDG_RUNTIME_DIR set: still /run/isolazi");
  tap_streq(r3, "/run/isolazi", "root, XDG_RUNTIME_DIR empty");
  tap_streq(u1, "/run/user/1000/isolazi", "user, XDG_RUNTIME_DIR unset");
  tap_streq(u2, "/run/user/1000/isolazi", "user, XDG_RUNTIME_DIR empty counts as unset");
  tap_streq(u3, "/run/user/1000/isolazi", "user, XDG_RUNTIME_DIR set");
  tap_streq(u4, "/tmp/xdg/isolazi", "user, XDG_RUNTIME_DIR elsewhere");

  /* The real function, through the environment, for whoever runs the tests. */
  setenv("XDG_RUNTIME_DIR", "", 1);
  actual = isolazi_default_root();
  want = geteuid() == 0 ? xstrdup("/run/isolazi") : xasprintf("/run/user/%u/isolazi", (unsigned)geteuid());
  tap_streq(actual, want, "isolazi_default_root with an empty XDG_RUNTIME_DIR");
  free(actual);
  free(want);
  setenv("XDG_RUNTIME_DIR", "/tmp/xdg", 1);
  actual = isolazi_default_root();
  want = geteuid() == 0 ? xstrdup("/run/isolazi") : xstrdup("/tmp/xdg/isolazi");
  tap_streq(actual, want, "isolazi_default_root with XDG_RUNTIME_DIR set");
  free(actual);
  free(want);
  unsetenv("XDG_RUNTIME_DIR");
  actual = isolazi_default_root();
  want = geteuid() == 0 ? xstrdup("/run/isolazi") : xasprintf("/run/user/%u/isolazi", (unsigned)geteuid());
  tap_streq(actual, want, "isolazi_default_root with XDG_RUNTIME_DIR unset");
  free(actual);
  actual = NULL;
  if (saved_copy != NULL)
    setenv("XDG_RUNTIME_DIR", saved_copy, 1);
}

static void
remove_tree(const char *path)
{
  cleanup_free char *cmd = xasprintf("rm -rf '%s'", path);
  (void)system(cmd);
}

int
main(void)
{
  if (mkdtemp(tmpdir) == NULL)
    {
      tap_ok(0, "mkdtemp");
      return tap_done();
    }
  test_abspath();
  test_prefix_suffix();
  test_time();
  test_files();
  test_mkdir_p();
  test_default_root();
  remove_tree(tmpdir);
  return tap_done();
}
