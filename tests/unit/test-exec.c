/* SPDX-License-Identifier: Apache-2.0 */
/* exec's deciding part (the process from config.json and the flags) and the features document
 * built for made-up hosts. */
#include "config.h"
#include "../unit/tap.h"
#include "exec.h"
#include "runtime_features.h"

#include <stdlib.h>
#include <string.h>

static const char base_json[]
    = "{\"terminal\":true,\"consoleSize\":{\"height\":10,\"width\":20},\"user\":{\"uid\":0,\"gid\":5},"
      "\"args\":[\"sleep\",\"100\"],\"env\":[\"PATH=/bin\",\"TERM=xterm\"],\"cwd\":\"/\","
      "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\"]},"
      "\"noNewPrivileges\":false}";

static oci_process *
base(const char *json)
{
  char *perr = NULL;
  oci_process *p = oci_process_parse("test", json, strlen(json), &perr);

  if (p == NULL)
    {
      printf("# %s\n", perr);
      abort();
    }
  return p;
}

static bool
has(char **v, size_t n, const char *s)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

static void
test_parse_user(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  uint32_t uid = 7, gid = 7;
  bool gid_set = true;

  tap_ok(isolazi_exec_parse_user("1000", &uid, &gid, &gid_set, &err) == 0 && uid == 1000 && !gid_set,
         "--user 1000: uid only");
  tap_ok(isolazi_exec_parse_user("1000:1001", &uid, &gid, &gid_set, &err) == 0 && uid == 1000 && gid == 1001 && gid_set,
         "--user 1000:1001");
  tap_ok(isolazi_exec_parse_user("4294967295:0", &uid, &gid, &gid_set, &err) == 0 && uid == 4294967295u,
         "--user takes the largest uid");
  tap_ok(isolazi_exec_parse_user("4294967296", &uid, &gid, &gid_set, &err) < 0, "--user rejects 2^32");
  isolazi_error_release(&err);
  tap_ok(isolazi_exec_parse_user("root", &uid, &gid, &gid_set, &err) < 0, "--user rejects a name");
  tap_streq(err.msg, "invalid value `root` for `--user`: expected uid[:gid] (numbers)", "--user error text");
  isolazi_error_release(&err);
  tap_ok(isolazi_exec_parse_user("1:", &uid, &gid, &gid_set, &err) < 0, "--user rejects an empty gid");
  isolazi_error_release(&err);
  tap_ok(isolazi_exec_parse_user(":1", &uid, &gid, &gid_set, &err) < 0, "--user rejects an empty uid");
  isolazi_error_release(&err);
}

static void
test_env_set(void)
{
  char **env = calloc(1, sizeof(char *));
  size_t len = 0;

  isolazi_exec_env_set(&env, &len, "A=1");
  isolazi_exec_env_set(&env, &len, "AB=2");
  isolazi_exec_env_set(&env, &len, "A=3");
  tap_ok(len == 2 && env[2] == NULL, "env: a repeated key replaces, a longer key is another");
  tap_streq(env[0], "A=3", "env: A replaced in place");
  tap_streq(env[1], "AB=2", "env: AB kept");
  for (size_t i = 0; i < len; i++)
    free(env[i]);
  free(env);
}

static void
test_apply(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *args[] = { "sh", "-c", "true" };
  char *envs[] = { "TERM=dumb", "FOO=bar" };
  char *caps[] = { "CAP_SYS_ADMIN" };
  uint32_t gids[] = { 10, 20 };
  isolazi_exec_options_t o;
  oci_process *p = base(base_json);

  memset(&o, 0, sizeof o);
  o.args = args;
  o.args_len = 3;
  o.env = envs;
  o.env_len = 2;
  o.caps = caps;
  o.caps_len = 1;
  o.additional_gids = gids;
  o.additional_gids_len = 2;
  o.user = "1000";
  o.cwd = "/tmp";
  o.no_new_privs = true;
  o.apparmor = "prof";
  o.process_label = "system_u:system_r:container_t:s0";
  tap_ok(isolazi_exec_process_apply(p, &o, &err) == 0, "apply the flags");
  tap_ok(p->args_len == 3 && p->args[3] == NULL, "args replaced, NULL-terminated");
  tap_streq(p->args[0], "sh", "args[0]");
  tap_ok(!p->terminal && p->console_size == NULL, "terminal is --tty's (off), not config.json's");
  tap_streq(p->cwd, "/tmp", "--cwd");
  tap_ok(p->env_len == 3 && has(p->env, p->env_len, "TERM=dumb") && !has(p->env, p->env_len, "TERM=xterm")
             && has(p->env, p->env_len, "FOO=bar") && has(p->env, p->env_len, "PATH=/bin"),
         "--env appends and replaces");
  tap_ok(p->user.uid == 1000 && p->user.gid == 5, "--user uid keeps the config's gid");
  tap_ok(p->user.additional_gids_len == 2 && p->user.additional_gids[1] == 20, "--additional-gids");
  tap_ok(has(p->capabilities->bounding, p->capabilities->bounding_len, "CAP_SYS_ADMIN")
             && has(p->capabilities->effective, p->capabilities->effective_len, "CAP_SYS_ADMIN")
             && has(p->capabilities->permitted, p->capabilities->permitted_len, "CAP_SYS_ADMIN")
             && has(p->capabilities->bounding, p->capabilities->bounding_len, "CAP_KILL"),
         "--cap adds to bounding, effective, permitted");
  tap_ok(p->capabilities->ambient_len == 0 && p->capabilities->inheritable_len == 0,
         "--cap adds no ambient capability without inheritable ones (runc)");
  tap_ok(p->no_new_privileges, "--no-new-privs");
  tap_streq(p->apparmor_profile, "prof", "--apparmor");
  tap_streq(p->selinux_label, "system_u:system_r:container_t:s0", "--process-label");
  oci_process_free(p);

  /* with inheritable capabilities, --cap also goes to inheritable and ambient */
  p = base("{\"args\":[\"x\"],\"cwd\":\"/\",\"capabilities\":{\"inheritable\":[\"CAP_KILL\"]}}");
  memset(&o, 0, sizeof o);
  o.args = args;
  o.args_len = 1;
  o.caps = caps;
  o.caps_len = 1;
  o.tty = true;
  tap_ok(isolazi_exec_process_apply(p, &o, &err) == 0, "apply --cap to a process with inheritable caps");
  tap_ok(has(p->capabilities->ambient, p->capabilities->ambient_len, "CAP_SYS_ADMIN")
             && has(p->capabilities->inheritable, p->capabilities->inheritable_len, "CAP_SYS_ADMIN"),
         "--cap goes to ambient when inheritable is set");
  tap_ok(p->terminal, "--tty sets terminal");
  oci_process_free(p);

  p = base(base_json);
  memset(&o, 0, sizeof o);
  o.args = args;
  o.args_len = 1;
  o.cwd = "tmp";
  tap_ok(isolazi_exec_process_apply(p, &o, &err) < 0, "a relative --cwd is refused");
  tap_streq(err.msg, "invalid value `tmp` for `--cwd`: not an absolute path", "--cwd error text");
  isolazi_error_release(&err);
  o.cwd = NULL;
  envs[0] = "NOEQUALS";
  o.env = envs;
  o.env_len = 1;
  tap_ok(isolazi_exec_process_apply(p, &o, &err) < 0, "--env without = is refused");
  isolazi_error_release(&err);
  o.env_len = 0;
  o.args_len = 0;
  tap_ok(isolazi_exec_process_apply(p, &o, &err) < 0, "no command is refused");
  isolazi_error_release(&err);
  oci_process_free(p);
}

static void
test_features(void)
{
  isolazi_features_probe_t probe;
  oci_features *f;
  char *json, *perr = NULL;
  size_t i;
  bool all_known = true;

  memset(&probe, 0, sizeof probe);
  probe.namespaces = (1u << 2) | (1u << 4); /* mount, pid */
  probe.cap_last = 21;
  probe.seccomp_api = 2;
  probe.seccomp_flags = 1u << 1; /* LOG */
  probe.idmap = false;
  f = isolazi_features_build(&probe);
  tap_ok(f->linux_->namespaces_len == 2, "namespaces: only those of the host");
  tap_streq(f->linux_->namespaces[0], "mount", "namespaces[0]");
  tap_streq(f->linux_->namespaces[1], "pid", "namespaces[1]");
  tap_ok(f->linux_->capabilities_len == 22, "capabilities 0..cap_last");
  tap_streq(f->linux_->capabilities[21], "CAP_SYS_ADMIN", "capability 21 by its spec name");
  tap_ok(!has(f->linux_->seccomp->actions, f->linux_->seccomp->actions_len, "SCMP_ACT_LOG")
             && !has(f->linux_->seccomp->actions, f->linux_->seccomp->actions_len, "SCMP_ACT_NOTIFY")
             && has(f->linux_->seccomp->actions, f->linux_->seccomp->actions_len, "SCMP_ACT_ERRNO"),
         "seccomp actions follow the libseccomp API level");
  tap_ok(f->linux_->seccomp->supported_flags_len == 1, "one supported seccomp flag");
  tap_streq(f->linux_->seccomp->supported_flags[0], "SECCOMP_FILTER_FLAG_LOG", "supported flag");
  tap_ok(f->linux_->seccomp->known_flags_len == ISOLAZI_FEATURES_SECCOMP_FLAGS_COUNT, "every known flag");
  tap_ok(!f->linux_->mount_extensions->idmap->enabled, "idmap off when the kernel lacks it");
  tap_ok(f->linux_->cgroup->systemd_present && f->linux_->cgroup->systemd, "systemd cgroup driver: true");
  tap_ok(has(f->mount_options, f->mount_options_len, "rro") && has(f->mount_options, f->mount_options_len, "nosuid")
             && !has(f->mount_options, f->mount_options_len, "size=1k"),
         "mount options: flags the parser knows");
  for (i = 0; i < f->mount_options_len; i++)
    all_known = all_known && strchr(f->mount_options[i], '=') == NULL;
  tap_ok(all_known, "no filesystem data among mount options");
  json = oci_features_write(f, true, &perr);
  tap_ok(json != NULL && strstr(json, "\"potentiallyUnsafeConfigAnnotations\": []") != NULL,
         "written with an empty potentiallyUnsafeConfigAnnotations");
  tap_ok(json != NULL && strncmp(json, "{\n  \"ociVersionMin\": \"1.0.0\",\n  \"", 33) == 0, "2-space indent");
  free(json);
  free(perr);
  oci_features_free(f);

  probe.seccomp_api = 6;
  probe.idmap = true;
  f = isolazi_features_build(&probe);
  tap_ok(has(f->linux_->seccomp->actions, f->linux_->seccomp->actions_len, "SCMP_ACT_NOTIFY")
             && has(f->linux_->seccomp->actions, f->linux_->seccomp->actions_len, "SCMP_ACT_KILL_PROCESS"),
         "API level 6: NOTIFY and KILL_PROCESS");
  tap_ok(f->linux_->mount_extensions->idmap->enabled, "idmap on");
  oci_features_free(f);
}

int
main(void)
{
  test_parse_user();
  test_env_set();
  test_apply();
  test_features();
  return tap_done();
}
