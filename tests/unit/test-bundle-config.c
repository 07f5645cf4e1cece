/* SPDX-License-Identifier: Apache-2.0 */
/* Image config → config.json (src/image/bundle.c), with a fake rootfs holding /etc/passwd and
 * /etc/group; and the refactored `isolazi spec` defaults it starts from (src/lib/spec.c). */
#include "config.h"
#include "../unit/tap.h"
#include "bundle.h"
#include "cleanup.h"
#include "ocispec.h"
#include "spec.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/isolazi-test-bundle.XXXXXX";
static int rootfs_fd = -1;

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "broken line without enough fields\n"
                             "user:x:1000:1000:A User:/home/user:/bin/sh\n"
                             "nohome:x:1001:1001\n"
                             "app:x:2000:2000::/srv/app:/bin/false\n";
static const char group[] = "root:x:0:\n"
                            "tty:x:5:user\n"
                            "user:x:1000:\n"
                            "wheel:x:10:root,user\n"
                            "audio:x:29:app,user\n"
                            "staff:x:50:\n"
                            "appgrp:x:2000:app\n";

static void
write_file(const char *rel, const char *content)
{
  char p[4096];
  int fd;

  snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || isolazi_write_all(fd, content, strlen(content)) < 0)
    abort();
  close(fd);
}

static oci_image_config *
image(const char *exec_config)
{
  char *text = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"author\":\"me\","
                         "\"created\":\"2024-01-01T00:00:00Z\",\"config\":%s,"
                         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                         exec_config);
  char *err = NULL;
  oci_image_config *c = oci_image_config_parse("config", text, strlen(text), &err);

  if (c == NULL)
    {
      printf("# bad test image: %s\n", err);
      abort();
    }
  free(text);
  return c;
}

/* Runs the conversion; returns the parsed result (NULL on error, with *ret_err). */
static oci_config *
convert(const char *exec_config, const isolazi_bundle_opts_t *o, char **ret_err)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_bundle_opts_t none;
  oci_image_config *img = image(exec_config);
  char *json = NULL, *perr = NULL;
  oci_config *c = NULL;

  memset(&none, 0, sizeof none);
  if (isolazi_bundle_config(img, rootfs_fd, o ? o : &none, &json, &err) == 0)
    {
      c = oci_config_parse("config.json", json, strlen(json), &perr);
      if (c == NULL)
        printf("# written config does not parse: %s\n", perr);
      else if (oci_config_validate("config.json", c, &perr) < 0)
        printf("# written config does not validate: %s\n", perr);
    }
  if (ret_err != NULL)
    *ret_err = err.msg ? xstrdup(err.msg) : NULL;
  isolazi_error_release(&err);
  free(json);
  free(perr);
  oci_image_config_free(img);
  return c;
}

static bool
strv_is(char **v, size_t n, const char *const *want)
{
  size_t i;

  for (i = 0; want[i] != NULL; i++)
    if (i >= n || strcmp(v[i], want[i]) != 0)
      return false;
  return i == n;
}

static const char *
env_get(const oci_config *c, const char *key)
{
  size_t i, k = strlen(key);

  for (i = 0; i < c->process->env_len; i++)
    if (strncmp(c->process->env[i], key, k) == 0 && c->process->env[i][k] == '=')
      return c->process->env[i] + k + 1;
  return NULL;
}

static size_t
env_count(const oci_config *c, const char *key)
{
  size_t i, k = strlen(key), n = 0;

  for (i = 0; i < c->process->env_len; i++)
    if (strncmp(c->process->env[i], key, k) == 0 && c->process->env[i][k] == '=')
      n++;
  return n;
}

static void
test_spec_model(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_spec_options_t so;
  oci_config *c = NULL, *again;
  char *json = NULL, *json2 = NULL, *perr = NULL;

  memset(&so, 0, sizeof so);
  tap_ok(isolazi_spec_new(&so, &c, &err) == 0 && c != NULL, "isolazi_spec_new");
  tap_ok(c->process->terminal && strcmp(c->process->args[0], "sh") == 0 && c->process->args_len == 1,
         "spec defaults: terminal, [sh]");
  tap_ok(c->linux_->namespaces_len == 6 && c->linux_->resources != NULL && c->linux_->seccomp == NULL,
         "spec defaults: six namespaces, a device deny-all, no seccomp");
  tap_ok(oci_config_validate("config.json", c, &perr) == 0, "the default model validates");
  tap_ok(isolazi_spec_write(c, &json, &err) == 0 && json[strlen(json) - 1] == '\n', "written, ending in a newline");
  tap_ok(isolazi_spec_generate(&so, &json2, &err) == 0 && strcmp(json, json2) == 0,
         "isolazi_spec_generate writes the same text");
  again = oci_config_parse("config.json", json, strlen(json), &perr);
  tap_ok(again != NULL && oci_config_equal(c, again), "and it parses back to the same model");
  oci_config_free(again);
  oci_config_free(c);
  free(json);
  free(json2);
  so.rootless = true;
  so.seccomp = "strict";
  c = NULL;
  tap_ok(isolazi_spec_new(&so, &c, &err) == 0 && c->linux_->uid_mappings_len == 1 && c->linux_->seccomp != NULL
             && c->linux_->resources == NULL,
         "rootless + strict: id mappings, a profile, no device cgroup");
  oci_config_free(c);
  so.seccomp = "bogus";
  c = NULL;
  tap_ok(isolazi_spec_new(&so, &c, &err) < 0 && c == NULL, "an unknown seccomp profile: %s", err.msg);
  isolazi_error_release(&err);
  free(perr);
}

static void
test_args(void)
{
  isolazi_bundle_opts_t o;
  const char *args[] = { "echo", "hi", NULL };
  char *err = NULL;
  oci_config *c;

  memset(&o, 0, sizeof o);
  c = convert("{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo default\"]}", NULL, NULL);
  tap_ok(
      c && strv_is(c->process->args, c->process->args_len, (const char *[]){ "/bin/sh", "-c", "echo default", NULL }),
      "Entrypoint + Cmd");
  oci_config_free(c);

  o.args = args;
  o.nargs = 2;
  c = convert("{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo default\"]}", &o, NULL);
  tap_ok(c && strv_is(c->process->args, c->process->args_len, (const char *[]){ "/bin/sh", "-c", "echo", "hi", NULL }),
         "args replace Cmd, Entrypoint kept");
  oci_config_free(c);

  c = convert("{\"Cmd\":[\"sh\"]}", &o, NULL);
  tap_ok(c && strv_is(c->process->args, c->process->args_len, (const char *[]){ "echo", "hi", NULL }),
         "args replace Cmd without an Entrypoint");
  oci_config_free(c);

  memset(&o, 0, sizeof o);
  o.entrypoint = "/bin/true";
  c = convert("{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo default\"]}", &o, NULL);
  tap_ok(c && strv_is(c->process->args, c->process->args_len, (const char *[]){ "/bin/true", NULL }),
         "--entrypoint replaces Entrypoint and drops Cmd");
  oci_config_free(c);

  o.args = args;
  o.nargs = 2;
  c = convert("{\"Entrypoint\":[\"/bin/sh\"],\"Cmd\":[\"x\"]}", &o, NULL);
  tap_ok(c && strv_is(c->process->args, c->process->args_len, (const char *[]){ "/bin/true", "echo", "hi", NULL }),
         "--entrypoint with args");
  oci_config_free(c);

  memset(&o, 0, sizeof o);
  o.entrypoint = "";
  c = convert("{\"Entrypoint\":[\"/bin/sh\"],\"Cmd\":[\"x\"]}", &o, &err);
  tap_ok(c == NULL && err != NULL && strstr(err, "no Entrypoint or Cmd") != NULL,
         "--entrypoint \"\" with no args leaves nothing to run: %s", err ? err : "(accepted)");
  free(err);

  c = convert("{}", NULL, &err);
  tap_ok(c == NULL && err != NULL && strstr(err, "give a command") != NULL, "an image without a command: %s",
         err ? err : "(accepted)");
  free(err);
  c = convert("null", NULL, &err);
  tap_ok(c == NULL && err != NULL, "an image without a config section: %s", err ? err : "(accepted)");
  free(err);
}

static void
test_env_cwd(void)
{
  isolazi_bundle_opts_t o;
  const char *env[] = { "FOO=override", "NEW=1", "EMPTY=" };
  char *err = NULL;
  oci_config *c;

  c = convert("{\"Cmd\":[\"sh\"],\"Env\":[\"FOO=bar\",\"PATH=/custom/bin\"],\"WorkingDir\":\"/srv\"}", NULL, NULL);
  tap_ok(c != NULL, "convert with Env and WorkingDir");
  if (c != NULL)
    {
      tap_streq(env_get(c, "FOO"), "bar", "the image's Env");
      tap_streq(env_get(c, "PATH"), "/custom/bin", "the image's PATH is kept");
      tap_ok(env_get(c, "TERM") == NULL, "no TERM without a terminal");
      tap_streq(env_get(c, "HOME"), "/root", "HOME from root's passwd entry");
      tap_streq(c->process->cwd, "/srv", "WorkingDir");
      tap_ok(!c->process->terminal, "no terminal by default");
    }
  oci_config_free(c);

  memset(&o, 0, sizeof o);
  o.env = env;
  o.nenv = 3;
  o.cwd = "/tmp";
  o.terminal = true;
  c = convert("{\"Cmd\":[\"sh\"],\"Env\":[\"FOO=bar\",\"HOME=/data\"],\"WorkingDir\":\"rel\"}", &o, NULL);
  tap_ok(c != NULL, "convert with -e, --cwd and a terminal");
  if (c != NULL)
    {
      tap_streq(env_get(c, "FOO"), "override", "-e overrides the image's Env");
      tap_ok(env_count(c, "FOO") == 1, "once");
      tap_streq(env_get(c, "NEW"), "1", "-e adds");
      tap_streq(env_get(c, "EMPTY"), "", "-e with an empty value");
      tap_ok(env_get(c, "PATH") != NULL && strstr(env_get(c, "PATH"), "/usr/bin") != NULL,
             "a default PATH when the image has none");
      tap_streq(env_get(c, "TERM"), "xterm", "TERM with a terminal");
      tap_streq(env_get(c, "HOME"), "/data", "the image's HOME wins over passwd");
      tap_streq(c->process->cwd, "/tmp", "--cwd overrides WorkingDir");
      tap_ok(c->process->terminal, "terminal");
    }
  oci_config_free(c);

  c = convert("{\"Cmd\":[\"sh\"],\"WorkingDir\":\"rel/dir\"}", NULL, NULL);
  tap_ok(c && strcmp(c->process->cwd, "/rel/dir") == 0, "a relative WorkingDir is taken from /");
  oci_config_free(c);

  {
    const char *bad[] = { "NOEQUALS" };
    memset(&o, 0, sizeof o);
    o.env = bad;
    o.nenv = 1;
    c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
    tap_ok(c == NULL && err && strstr(err, "environment `NOEQUALS`: want KEY=VALUE"), "-e without `=`: %s",
           err ? err : "(accepted)");
    free(err);
    bad[0] = "=value";
    c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
    tap_ok(c == NULL && err != NULL, "-e with an empty name: %s", err ? err : "(accepted)");
    free(err);
  }
  memset(&o, 0, sizeof o);
  o.cwd = "relative";
  c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
  tap_ok(c == NULL && err && strstr(err, "must be an absolute path"), "--cwd relative: %s", err ? err : "(accepted)");
  free(err);
}

typedef struct
{
  const char *user;
  uint32_t uid, gid;
  const uint32_t *gids;
  size_t ngids;
  const char *home;
} user_case;

static void
test_users(void)
{
  static const uint32_t user_groups[] = { 5, 10, 29 };
  static const uint32_t app_groups[] = { 29 };
  static const uint32_t root_groups[] = { 10 };
  static const user_case cases[] = {
    { "", 0, 0, NULL, 0, "/root" },
    { "root", 0, 0, root_groups, 1, "/root" }, /* named: wheel lists root */
    { "user", 1000, 1000, user_groups, 3, "/home/user" },
    { "user:staff", 1000, 50, NULL, 0, "/home/user" },
    { "user:7", 1000, 7, NULL, 0, "/home/user" },
    { "1000", 1000, 1000, NULL, 0, "/home/user" },
    { "1000:50", 1000, 50, NULL, 0, "/home/user" },
    { "1000:wheel", 1000, 10, NULL, 0, "/home/user" },
    { "4242", 4242, 0, NULL, 0, "/" },
    { "4242:4343", 4242, 4343, NULL, 0, "/" },
    { "app", 2000, 2000, app_groups, 1, "/srv/app" }, /* its primary group is not repeated */
    { "nohome", 1001, 1001, NULL, 0, "/" },
    { "daemon", 1, 1, NULL, 0, "/usr/sbin" },
  };
  size_t i, j;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      isolazi_bundle_opts_t o;
      char *err = NULL;
      oci_config *c;
      char *cfg = xasprintf("{\"Cmd\":[\"sh\"],\"User\":\"%s\"}", cases[i].user);
      bool gids_ok;

      memset(&o, 0, sizeof o);
      c = convert(cfg, &o, &err);
      free(cfg);
      tap_ok(c != NULL, "User `%s`%s%s", cases[i].user, err ? ": " : "", err ? err : "");
      free(err);
      if (c == NULL)
        continue;
      tap_ok(c->process->user.uid == cases[i].uid && c->process->user.gid == cases[i].gid,
             "User `%s`: %u:%u (got %u:%u)", cases[i].user, cases[i].uid, cases[i].gid, c->process->user.uid,
             c->process->user.gid);
      gids_ok = c->process->user.additional_gids_len == cases[i].ngids;
      for (j = 0; gids_ok && j < cases[i].ngids; j++)
        gids_ok = c->process->user.additional_gids[j] == cases[i].gids[j];
      tap_ok(gids_ok, "User `%s`: %zu additionalGids (got %zu)", cases[i].user, cases[i].ngids,
             c->process->user.additional_gids_len);
      tap_streq(env_get(c, "HOME"), cases[i].home, "User `%s`: HOME", cases[i].user);
      oci_config_free(c);
    }

  {
    /* --user overrides the image's User. */
    isolazi_bundle_opts_t o;
    oci_config *c;

    memset(&o, 0, sizeof o);
    o.user = "app";
    c = convert("{\"Cmd\":[\"sh\"],\"User\":\"user\"}", &o, NULL);
    tap_ok(c && c->process->user.uid == 2000, "--user overrides the image's User");
    oci_config_free(c);
  }

  {
    static const struct
    {
      const char *user, *msg;
    } bad[] = {
      { "nobody", "user `nobody`: no user `nobody` in the image's /etc/passwd" },
      { "user:nogroup", "user `user:nogroup`: no group `nogroup` in the image's /etc/group" },
      { "1000:nogroup", "no group `nogroup`" },
      { ":5", "want USER, USER:GROUP, UID or UID:GID" },
      { "user:", "want USER, USER:GROUP, UID or UID:GID" },
      { "4294967295", "no user `4294967295`" },
    };

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
      {
        char *err = NULL, *cfg = xasprintf("{\"Cmd\":[\"sh\"],\"User\":\"%s\"}", bad[i].user);
        oci_config *c = convert(cfg, NULL, &err);

        tap_ok(c == NULL && err != NULL && strstr(err, bad[i].msg) != NULL, "User `%s` is refused: %s", bad[i].user,
               err ? err : "(accepted)");
        oci_config_free(c);
        free(err);
        free(cfg);
      }
  }
}

/* No /etc/passwd, or one that is a symlink out of the rootfs. */
static void
test_users_missing_files(void)
{
  char p[4096], *err = NULL, *target = NULL;
  oci_config *c;

  snprintf(p, sizeof p, "%s/etc/passwd", tmpdir);
  unlink(p);
  c = convert("{\"Cmd\":[\"sh\"],\"User\":\"user\"}", NULL, &err);
  tap_ok(c == NULL && err && strstr(err, "(the image has none)"), "a name without /etc/passwd: %s",
         err ? err : "(accepted)");
  free(err);
  c = convert("{\"Cmd\":[\"sh\"],\"User\":\"1000:1000\"}", NULL, &err);
  tap_ok(c && c->process->user.uid == 1000 && c->process->user.gid == 1000 && strcmp(env_get(c, "HOME"), "/") == 0,
         "numeric ids need no /etc/passwd");
  oci_config_free(c);

  /* A symlink planted in the image: /etc/passwd → the host's /etc/passwd.  Resolved inside the
     rootfs it is the rootfs's own (absent) /etc/passwd, never the host's. */
  target = xasprintf("%s/host-passwd", tmpdir);
  write_file("host-passwd", "hostonly:x:4000:4000::/hostonly:/bin/sh\n");
  if (symlink(target, p) < 0)
    abort();
  c = convert("{\"Cmd\":[\"sh\"],\"User\":\"hostonly\"}", NULL, &err);
  tap_ok(c == NULL && err != NULL, "an absolute symlink does not reach the host's file: %s", err ? err : "(accepted)");
  free(err);
  unlink(p);
  /* A relative symlink inside the image is fine. */
  write_file("etc/passwd.real", passwd);
  if (symlink("passwd.real", p) < 0)
    abort();
  c = convert("{\"Cmd\":[\"sh\"],\"User\":\"user\"}", NULL, &err);
  tap_ok(c && c->process->user.uid == 1000, "a symlink inside the image is followed");
  oci_config_free(c);
  free(err);
  free(target);
}

static void
test_annotations(void)
{
  oci_config *c;

  c = convert("{\"Cmd\":[\"sh\"],\"StopSignal\":\"SIGQUIT\",\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
              "\"Volumes\":{\"/data\":{},\"/var/log\":{}},"
              "\"Labels\":{\"org.example\":\"x\",\"org.opencontainers.image.author\":\"label wins\"}}",
              NULL, NULL);
  tap_ok(c != NULL, "convert with StopSignal, ExposedPorts, Volumes, Labels");
  if (c == NULL)
    return;
  tap_streq(oci_string_map_get(&c->annotations, "org.opencontainers.image.stopSignal"), "SIGQUIT", "stopSignal");
  tap_streq(oci_string_map_get(&c->annotations, "org.opencontainers.image.exposedPorts"), "80/tcp,53/udp",
            "exposedPorts");
  tap_streq(oci_string_map_get(&c->annotations, ISOLAZI_BUNDLE_ANNOTATION_VOLUMES), "/data,/var/log", "volumes");
  tap_streq(oci_string_map_get(&c->annotations, "org.example"), "x", "a label");
  tap_streq(oci_string_map_get(&c->annotations, "org.opencontainers.image.author"), "label wins",
            "a label wins over an implicit annotation");
  tap_streq(oci_string_map_get(&c->annotations, "org.opencontainers.image.os"), "linux", "os");
  tap_streq(oci_string_map_get(&c->annotations, "org.opencontainers.image.architecture"), "amd64", "architecture");
  tap_streq(oci_string_map_get(&c->annotations, "org.opencontainers.image.created"), "2024-01-01T00:00:00Z", "created");
  tap_ok(c->mounts_len == 7, "Volumes add no mounts");
  oci_config_free(c);
}

static void
test_options(void)
{
  isolazi_bundle_opts_t o;
  const char *vols[] = { "/host/a:/a", "/host/b:/b:ro", "/host/c:/c:rw" };
  char *err = NULL;
  oci_config *c;
  size_t i;

  memset(&o, 0, sizeof o);
  o.volumes = vols;
  o.nvolumes = 3;
  o.hostname = "web1";
  o.memory = 64 << 20;
  o.cpus = 1.5;
  o.pids_limit = 100;
  c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
  tap_ok(c != NULL, "convert with volumes, hostname and limits%s%s", err ? ": " : "", err ? err : "");
  free(err);
  if (c != NULL)
    {
      oci_mount *m = &c->mounts[c->mounts_len - 3];

      tap_ok(c->mounts_len == 10, "three bind mounts after the defaults");
      for (i = 0; i < 3; i++)
        tap_ok(strcmp(m[i].type, "bind") == 0 && m[i].options_len == 2 && strcmp(m[i].options[0], "rbind") == 0,
               "mount %zu is an rbind", i);
      tap_ok(strcmp(m[0].source, "/host/a") == 0 && strcmp(m[0].destination, "/a") == 0
                 && strcmp(m[0].options[1], "rw") == 0,
             "SRC:DST is read-write");
      tap_ok(strcmp(m[1].options[1], "ro") == 0, "SRC:DST:ro is read-only");
      tap_ok(strcmp(m[2].options[1], "rw") == 0, "SRC:DST:rw is read-write");
      tap_streq(c->hostname, "web1", "--hostname");
      tap_ok(c->linux_->resources->memory && c->linux_->resources->memory->limit == 64 << 20, "--memory");
      tap_ok(c->linux_->resources->cpu && c->linux_->resources->cpu->quota == 150000
                 && c->linux_->resources->cpu->period == 100000,
             "--cpus 1.5 → quota 150000 / period 100000");
      tap_ok(c->linux_->resources->pids && c->linux_->resources->pids->limit == 100, "--pids-limit");
      tap_ok(c->linux_->resources->devices_len == 1, "the device deny-all stays");
      tap_ok(c->linux_->seccomp != NULL && strcmp(c->linux_->seccomp->default_action, "SCMP_ACT_ALLOW") == 0,
             "the default seccomp profile");
    }
  oci_config_free(c);

  memset(&o, 0, sizeof o);
  o.rootless = true;
  o.seccomp = "none";
  o.memory = 1 << 20;
  c = convert("{\"Cmd\":[\"sh\"]}", &o, NULL);
  tap_ok(c && c->linux_->uid_mappings_len == 1 && c->linux_->seccomp == NULL && c->linux_->resources
             && c->linux_->resources->memory,
         "--rootless --seccomp none with a memory limit");
  oci_config_free(c);

  {
    static const struct
    {
      const char *vol, *msg;
    } bad[] = {
      { "/only", "want SRC:DST[:ro]" },
      { ":/dst", "want SRC:DST[:ro]" },
      { "/src:", "want SRC:DST[:ro]" },
      { "rel:/dst", "the source `rel` must be an absolute path" },
      { "/src:dst", "the destination `dst` must be an absolute path" },
      { "/src:/dst:rx", "unknown mode `rx`" },
    };

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
      {
        memset(&o, 0, sizeof o);
        o.volumes = &bad[i].vol;
        o.nvolumes = 1;
        c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
        tap_ok(c == NULL && err && strstr(err, bad[i].msg) && strstr(err, bad[i].vol), "-v `%s` is refused: %s",
               bad[i].vol, err ? err : "(accepted)");
        oci_config_free(c);
        free(err);
      }
  }
  memset(&o, 0, sizeof o);
  o.seccomp = "bogus";
  c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
  tap_ok(c == NULL && err != NULL, "--seccomp bogus: %s", err ? err : "(accepted)");
  free(err);
  memset(&o, 0, sizeof o);
  o.cpus = 0.001;
  c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
  tap_ok(c == NULL && err && strstr(err, "0.01"), "--cpus 0.001: %s", err ? err : "(accepted)");
  free(err);
  memset(&o, 0, sizeof o);
  o.memory = -5;
  c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
  tap_ok(c == NULL && err != NULL, "--memory -5: %s", err ? err : "(accepted)");
  free(err);
  memset(&o, 0, sizeof o);
  o.hostname = "a/b";
  c = convert("{\"Cmd\":[\"sh\"]}", &o, &err);
  tap_ok(c == NULL && err && strstr(err, "hostname"), "--hostname a/b: %s", err ? err : "(accepted)");
  free(err);
}

int
main(void)
{
  char cmd[256];

  if (mkdtemp(tmpdir) == NULL)
    return 1;
  snprintf(cmd, sizeof cmd, "%s/etc", tmpdir);
  if (mkdir(cmd, 0755) < 0)
    return 1;
  write_file("etc/passwd", passwd);
  write_file("etc/group", group);
  rootfs_fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  test_spec_model();
  test_args();
  test_env_cwd();
  test_users();
  test_annotations();
  test_options();
  test_users_missing_files();

  close(rootfs_fd);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  (void)system(cmd);
  return tap_done();
}
