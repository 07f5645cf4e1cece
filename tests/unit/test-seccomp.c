/* SPDX-License-Identifier: Apache-2.0 */
/* src/lib/seccomp_filter.c (the deciding half: profile → rule list; nothing is loaded) and
 * src/lib/seccomp_profiles.c (`isolazi spec --seccomp`). */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "json.h"
#include "ocispec.h"
#include "seccomp_filter.h"
#include "spec.h"
#include "utils.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

static oci_config *
parse_linux(const char *linux_json)
{
  cleanup_free char *doc = xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
                                     "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"linux\":%s}",
                                     linux_json);
  cleanup_free char *perr = NULL;
  oci_config *c = oci_config_parse("config.json", doc, strlen(doc), &perr);

  if (c == NULL)
    printf("# parse: %s\n", perr);
  return c;
}

/* Build a plan from linux JSON; returns 0/-1 and the error text in *msg (malloc'd). */
static int
plan_of(const char *linux_json, isolazi_seccomp_plan_t *plan, char **msg)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  oci_config *c = parse_linux(linux_json);
  int r;

  memset(plan, 0, sizeof *plan);
  *msg = NULL;
  if (c == NULL || c->linux_ == NULL || c->linux_->seccomp == NULL)
    {
      oci_config_free(c);
      *msg = xstrdup("no seccomp");
      return -1;
    }
  r = isolazi_seccomp_plan_build(c->linux_->seccomp, plan, &err);
  if (r < 0)
    *msg = steal_pointer(&err.msg);
  isolazi_error_release(&err);
  oci_config_free(c);
  return r;
}

static const isolazi_seccomp_rule_t *
find_rule(const isolazi_seccomp_plan_t *p, const char *name, size_t nth)
{
  size_t i;

  for (i = 0; i < p->n_rules; i++)
    if (strcmp(p->rules[i].name, name) == 0 && nth-- == 0)
      return &p->rules[i];
  return NULL;
}

static size_t
count_rules(const isolazi_seccomp_plan_t *p, const char *name)
{
  size_t i, n = 0;

  for (i = 0; i < p->n_rules; i++)
    n += strcmp(p->rules[i].name, name) == 0;
  return n;
}

static void
test_names(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  uint32_t a = 0;
  unsigned int f = 0;
  int op = -1;

  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_ERRNO", false, 0, "x", &a, &err) == 0 && a == SCMP_ACT_ERRNO(EPERM),
         "SCMP_ACT_ERRNO without errnoRet is EPERM");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_ERRNO", true, 38, "x", &a, &err) == 0 && a == SCMP_ACT_ERRNO(38),
         "SCMP_ACT_ERRNO with errnoRet 38");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_TRACE", true, 7, "x", &a, &err) == 0 && a == SCMP_ACT_TRACE(7),
         "SCMP_ACT_TRACE carries errnoRet");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_KILL", false, 0, "x", &a, &err) == 0 && a == SCMP_ACT_KILL_THREAD,
         "SCMP_ACT_KILL is KILL_THREAD");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_KILL_PROCESS", false, 0, "x", &a, &err) == 0
             && a == SCMP_ACT_KILL_PROCESS,
         "SCMP_ACT_KILL_PROCESS");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_NOTIFY", false, 0, "x", &a, &err) == 0 && a == SCMP_ACT_NOTIFY,
         "SCMP_ACT_NOTIFY");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_LOG", false, 0, "x", &a, &err) == 0 && a == SCMP_ACT_LOG,
         "SCMP_ACT_LOG");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_TRAP", false, 0, "x", &a, &err) == 0 && a == SCMP_ACT_TRAP,
         "SCMP_ACT_TRAP");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_ALLOW", true, 1, "linux.seccomp.syscalls[3]", &a, &err) < 0,
         "errnoRet with SCMP_ACT_ALLOW is refused");
  tap_streq(err.msg,
            "linux.seccomp.syscalls[3]: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not "
            "`SCMP_ACT_ALLOW`",
            "... naming the JSON path");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_X", false, 0, "linux.seccomp.syscalls[3].action", &a, &err) < 0,
         "unknown action refused");
  tap_streq(err.msg, "linux.seccomp.syscalls[3].action: unknown action `SCMP_ACT_X`", "... with its path");
  tap_ok(isolazi_seccomp_action_parse("SCMP_ACT_ERRNO", true, 70000, "x", &a, &err) < 0,
         "errnoRet above 16 bits refused");
  isolazi_error_release(&err);

  tap_ok(isolazi_seccomp_arch_parse("SCMP_ARCH_X86_64", &a) == 0 && a == SCMP_ARCH_X86_64, "arch X86_64");
  tap_ok(isolazi_seccomp_arch_parse("SCMP_ARCH_AARCH64", &a) == 0 && a == SCMP_ARCH_AARCH64, "arch AARCH64");
  tap_ok(isolazi_seccomp_arch_parse("SCMP_ARCH_X32", &a) == 0 && a == SCMP_ARCH_X32, "arch X32");
  tap_ok(isolazi_seccomp_arch_parse("SCMP_ARCH_VAX", &a) < 0, "unknown arch");
  tap_ok(isolazi_seccomp_op_parse("SCMP_CMP_MASKED_EQ", &op) == 0 && op == SCMP_CMP_MASKED_EQ, "op MASKED_EQ");
  tap_ok(isolazi_seccomp_op_parse("SCMP_CMP_NE", &op) == 0 && op == SCMP_CMP_NE, "op NE");
  tap_ok(isolazi_seccomp_op_parse("SCMP_CMP_XX", &op) < 0, "unknown op");
  tap_ok(isolazi_seccomp_flag_parse("SECCOMP_FILTER_FLAG_LOG", &f) == 0 && f == ISOLAZI_SECCOMP_FLAG_LOG, "flag LOG");
  tap_ok(isolazi_seccomp_flag_parse("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &f) == 0 && f == ISOLAZI_SECCOMP_FLAG_SPEC_ALLOW,
         "flag SPEC_ALLOW");
  tap_ok(isolazi_seccomp_flag_parse("SECCOMP_FILTER_FLAG_NOPE", &f) == -1, "unknown flag");
}

static void
test_plan(void)
{
  isolazi_seccomp_plan_t p;
  const isolazi_seccomp_rule_t *r;
  cleanup_free char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;

  tap_ok(plan_of("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"mkdir\",\"no_such_syscall_xyz\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18},"
                 "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}}",
                 &p, &m1)
             == 0,
         "allow-by-default profile builds");
  r = find_rule(&p, "mkdir", 0);
  tap_ok(r != NULL && r->action == SCMP_ACT_ERRNO(18) && r->n_cmps == 0
             && r->nr == seccomp_syscall_resolve_name("mkdir"),
         "mkdir → ERRNO(18), no comparison");
  tap_ok(p.n_skipped == 1 && find_rule(&p, "no_such_syscall_xyz", 0) == NULL, "unknown syscall name skipped");
  tap_ok(find_rule(&p, "getpid", 0) == NULL, "a rule with the default action is dropped");
  tap_ok(find_rule(&p, "clone3", 0) == NULL, "no ENOSYS stubs when the default allows");
  tap_ok(p.default_action == SCMP_ACT_ALLOW && !p.notify, "default action ALLOW, no notify");
  isolazi_seccomp_plan_release(&p);

  /* Arguments: different indexes AND in one rule; MASKED_EQ's mask is `value`. */
  tap_ok(plan_of("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86\"],"
                 "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],\"syscalls\":["
                 "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                 "{\"index\":0,\"value\":255,\"valueTwo\":8,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
                 "{\"index\":2,\"value\":1,\"op\":\"SCMP_CMP_GE\"}]},"
                 "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                 "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                 "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]},"
                 "{\"names\":[\"faccessat2\"],\"action\":\"SCMP_ACT_ALLOW\"}]}}",
                 &p, &m2)
             == 0,
         "block-by-default profile builds");
  r = find_rule(&p, "personality", 0);
  tap_ok(r != NULL && r->n_cmps == 2 && r->cmps[0].index == 0 && r->cmps[0].op == SCMP_CMP_MASKED_EQ
             && r->cmps[0].a == 255 && r->cmps[0].b == 8 && r->cmps[1].index == 2 && r->cmps[1].op == SCMP_CMP_GE
             && r->cmps[1].a == 1,
         "two arguments → one rule, AND; MASKED_EQ: a = value (mask), b = valueTwo");
  tap_ok(count_rules(&p, "socket") == 2 && find_rule(&p, "socket", 0)->n_cmps == 1
             && find_rule(&p, "socket", 0)->cmps[0].a == 1 && find_rule(&p, "socket", 1)->cmps[0].a == 2,
         "the same argument twice → one rule per comparison (OR)");
  tap_ok(p.n_arches == 1 && p.arches[0] == SCMP_ARCH_X86, "architectures");
  tap_ok(p.flags == ISOLAZI_SECCOMP_FLAG_LOG, "flags");
  r = find_rule(&p, "clone3", 0);
  tap_ok(r != NULL && r->action == SCMP_ACT_ERRNO(ENOSYS), "clone3 → ENOSYS when blocked by default and not named");
  tap_ok(find_rule(&p, "openat2", 0) == NULL, "openat2 (older than faccessat2, which is named): no stub");
  if (seccomp_syscall_resolve_name("epoll_pwait2") > seccomp_syscall_resolve_name("faccessat2"))
    tap_ok(find_rule(&p, "epoll_pwait2", 0) != NULL
               && find_rule(&p, "epoll_pwait2", 0)->action == SCMP_ACT_ERRNO(ENOSYS),
           "epoll_pwait2 (newer than anything named) → ENOSYS");
  isolazi_seccomp_plan_release(&p);

  tap_ok(plan_of("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":["
                 "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}}",
                 &p, &m3)
             == 0,
         "a profile naming clone3");
  tap_ok(count_rules(&p, "clone3") == 1 && find_rule(&p, "clone3", 0)->action == SCMP_ACT_ERRNO(1),
         "clone3 keeps the profile's action");
  isolazi_seccomp_plan_release(&p);

  tap_ok(plan_of("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/l.sock\","
                 "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}}",
                 &p, &m4)
                 == 0
             && p.notify,
         "NOTIFY with a listenerPath");
  isolazi_seccomp_plan_release(&p);
  (void)m5;
}

static void
expect_error(const char *linux_json, const char *want, const char *what)
{
  isolazi_seccomp_plan_t p;
  cleanup_free char *msg = NULL;
  int r = plan_of(linux_json, &p, &msg);

  tap_ok(r < 0, "refused: %s", what);
  tap_streq(msg, want, "... message of: %s", what);
  if (r == 0)
    isolazi_seccomp_plan_release(&p);
}

static void
test_errors(void)
{
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
               "\"SCMP_ARCH_PDP11\"]}}",
               "linux.seccomp.architectures[1]: unknown architecture `SCMP_ARCH_PDP11`", "unknown architecture");
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_X\"]}}",
               "linux.seccomp.flags[0]: unknown flag `SECCOMP_FILTER_FLAG_X`", "unknown flag");
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
               "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"},"
               "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,"
               "\"op\":\"SCMP_CMP_EQ\"}]}]}}",
               "linux.seccomp.syscalls[1].args[0].index: 6 is not an argument index (0-5)", "argument index 6");
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
               "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}}",
               "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY", "NOTIFY without listenerPath");
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/x\"}}",
               "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", "default NOTIFY");
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/x\",\"syscalls\":["
               "{\"names\":[\"sendmsg\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}}",
               "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY on `sendmsg` is not supported: the runtime sends the "
               "notify fd with it",
               "NOTIFY on sendmsg");
  expect_error("{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
               "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_LOG\",\"errnoRet\":1}]}}",
               "linux.seccomp.syscalls[0]: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not "
               "`SCMP_ACT_LOG`",
               "errnoRet with LOG");
}

static void
test_process_state(void)
{
  cleanup_free char *doc = isolazi_seccomp_process_state_json(4242, "meta \"x\"",
                                                              "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\","
                                                              "\"status\":\"created\",\"pid\":4242,"
                                                              "\"bundle\":\"/b\"}\n");
  cleanup_free char *perr = NULL;
  json_value *v = doc != NULL ? json_parse(doc, strlen(doc), &perr) : NULL;
  const json_value *fds, *st;

  tap_ok(v != NULL, "containerProcessState is JSON: %s", doc ? doc : "(null)");
  if (v == NULL)
    return;
  fds = json_object_get(v, "fds");
  tap_ok(fds != NULL && json_array_len(fds) == 1 && strcmp(json_get_string(json_array_get(fds, 0)), "seccompFd") == 0,
         "fds is [\"seccompFd\"]");
  {
    int64_t pid = 0;
    tap_ok(json_get_int64(json_object_get(v, "pid"), &pid) && pid == 4242, "pid");
  }
  tap_streq(json_get_string(json_object_get(v, "metadata")), "meta \"x\"", "metadata");
  tap_streq(json_get_string(json_object_get(v, "ociVersion")), ISOLAZI_SPEC_VERSION, "ociVersion");
  st = json_object_get(v, "state");
  tap_ok(st != NULL && strcmp(json_get_string(json_object_get(st, "id")), "c1") == 0, "state embedded");
  json_value_free(v);
}

static void
test_profiles(void)
{
  static const char *const names[] = { "default", "minimal", "strict" };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  size_t i;

  for (i = 0; i < 3; i++)
    {
      oci_seccomp *s = NULL;
      isolazi_seccomp_plan_t p;
      const isolazi_seccomp_rule_t *r;

      tap_ok(isolazi_seccomp_profile(names[i], &s, &err) == 0 && s != NULL, "profile %s", names[i]);
      if (s == NULL)
        continue;
      tap_ok(isolazi_seccomp_plan_build(s, &p, &err) == 0, "profile %s builds: %s", names[i], err.msg ? err.msg : "");
      r = find_rule(&p, "kexec_load", 0);
      if (strcmp(names[i], "strict") == 0)
        tap_ok(r == NULL && p.default_action == SCMP_ACT_ERRNO(EPERM) && find_rule(&p, "execve", 0) != NULL
                   && find_rule(&p, "mount", 0) == NULL && find_rule(&p, "clone", 0) != NULL
                   && find_rule(&p, "clone", 0)->n_cmps == 1,
               "strict: an allowlist (execve allowed, mount not, clone without namespace flags)");
      else
        tap_ok(r != NULL && r->action == SCMP_ACT_ERRNO(EPERM) && p.default_action == SCMP_ACT_ALLOW,
               "%s: kexec_load → EPERM", names[i]);
      if (strcmp(names[i], "default") == 0)
        tap_ok(find_rule(&p, "mount", 0) != NULL && find_rule(&p, "ptrace", 0) != NULL
                   && find_rule(&p, "unshare", 0) != NULL && find_rule(&p, "bpf", 0) != NULL
                   && find_rule(&p, "keyctl", 0) != NULL && find_rule(&p, "sethostname", 0) != NULL
                   && find_rule(&p, "open_by_handle_at", 0) != NULL && count_rules(&p, "clone") == 7
                   && find_rule(&p, "clone3", 0)->action == SCMP_ACT_ERRNO(ENOSYS),
               "default: mount, ptrace, unshare, bpf, keyctl, sethostname, open_by_handle_at, clone with "
               "CLONE_NEW* (7 rules), clone3 ENOSYS");
      if (strcmp(names[i], "minimal") == 0)
        tap_ok(find_rule(&p, "mount", 0) == NULL && find_rule(&p, "reboot", 0) != NULL
                   && find_rule(&p, "init_module", 0) != NULL && find_rule(&p, "clock_settime", 0) != NULL,
               "minimal: reboot, modules, clock; mount left to capabilities");
      isolazi_seccomp_plan_release(&p);
      isolazi_seccomp_profile_free(s);
    }
  {
    oci_seccomp *s = (oci_seccomp *)1;
    tap_ok(isolazi_seccomp_profile("none", &s, &err) == 0 && s == NULL, "profile none: no seccomp");
    tap_ok(isolazi_seccomp_profile("lax", &s, &err) < 0, "unknown profile refused");
    tap_streq(err.msg, "unknown seccomp profile `lax` (default, minimal, strict or none)", "... message");
  }
  isolazi_error_release(&err);
}

static void
test_spec(void)
{
  isolazi_spec_options_t o;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *json = NULL, *perr = NULL;
  oci_config *c;

  memset(&o, 0, sizeof o);
  o.seccomp = "default";
  tap_ok(isolazi_spec_generate(&o, &json, &err) == 0, "spec --seccomp default");
  c = json != NULL ? oci_config_parse("config.json", json, strlen(json), &perr) : NULL;
  tap_ok(c != NULL && c->linux_ != NULL && c->linux_->seccomp != NULL
             && strcmp(c->linux_->seccomp->default_action, "SCMP_ACT_ALLOW") == 0
             && c->linux_->seccomp->syscalls_len == 4,
         "config.json carries linux.seccomp");
  tap_ok(c != NULL && oci_config_validate("config.json", c, &perr) == 0, "and validates");
  oci_config_free(c);
  free(json);
  json = NULL;
  o.seccomp = NULL;
  tap_ok(isolazi_spec_generate(&o, &json, &err) == 0 && strstr(json, "seccomp") == NULL,
         "spec without --seccomp: no profile (as runc)");
  isolazi_error_release(&err);
}

static void
test_real_profile(void)
{
  const char *srcdir = getenv("srcdir");
  cleanup_free char *path
      = xasprintf("%s/tests/unit/data/containerd-seccomp-config.json", srcdir != NULL ? srcdir : ".");
  cleanup_free char *perr = NULL;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_seccomp_plan_t p;
  oci_config *c = oci_config_parse_file(path, &perr);

  tap_ok(c != NULL && c->linux_ != NULL && c->linux_->seccomp != NULL, "containerd's default profile parses");
  if (c == NULL || c->linux_ == NULL || c->linux_->seccomp == NULL)
    {
      oci_config_free(c);
      return;
    }
  tap_ok(isolazi_seccomp_plan_build(c->linux_->seccomp, &p, &err) == 0, "containerd's profile builds: %s",
         err.msg ? err.msg : "");
  tap_ok(p.n_rules > 100 && find_rule(&p, "clone3", 0) != NULL, "with its allowlist and a clone3 rule");
  isolazi_seccomp_plan_release(&p);
  isolazi_error_release(&err);
  oci_config_free(c);
}

int
main(void)
{
  test_names();
  test_plan();
  test_errors();
  test_process_state();
  test_profiles();
  test_spec();
  test_real_profile();
  return tap_done();
}
