/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the core's deciding code and of the pieces that need no root: errors, the
 * namespace plan, sysctl rules, container ids, the sync protocol, the state store, hooks and
 * executable lookup. */
#include "config.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "hooks.h"
#include "init.h"
#include "namespaces.h"
#include "process.h"
#include "state.h"
#include "sync.h"
#include "utils.h"

static void
test_error(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;

  tap_ok(isolazi_error_set(&e, ENOENT, "open `%s`", "/x") == -1, "error_set returns -1");
  tap_streq(e.msg, "open `/x`: no such file or directory", "errno text is lower-cased like Go's");
  tap_ok(e.code == ENOENT, "errno is kept");
  isolazi_error_wrap(&e, "load `%s`", "cfg");
  tap_streq(e.msg, "load `cfg`: open `/x`: no such file or directory", "wrap prefixes context");
  isolazi_error_set(&e, 0, "plain");
  tap_streq(e.msg, "plain", "no errno, no suffix");
  isolazi_error_release(&e);
  tap_ok(e.msg == NULL && e.code == 0, "release resets");
}

static oci_linux *
linux_with(const char *const *types, const char *const *paths, size_t n)
{
  oci_linux *l = xcalloc(1, sizeof *l);
  size_t i;

  l->namespaces = xcalloc(n, sizeof *l->namespaces);
  l->namespaces_len = n;
  for (i = 0; i < n; i++)
    {
      l->namespaces[i].type = (char *)types[i];
      l->namespaces[i].path = (char *)paths[i];
    }
  return l;
}

static void
test_ns_plan(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  isolazi_ns_plan_t plan;
  int r;
  const char *types[] = { "mount", "network", "pid", "user", "uts", "ipc" };
  const char *paths[] = { NULL, "/proc/1/ns/net", NULL, "/proc/1/ns/user", "", NULL };
  oci_linux *l = linux_with(types, paths, 6);

  tap_ok(isolazi_ns_plan_build(l, &plan, &e) == 0, "plan builds");
  tap_ok(plan.clone_flags == (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC),
         "new namespaces become clone flags (empty path = new)");
  tap_ok(plan.n_joins == 2 && strcmp(plan.joins[0].type, "user") == 0 && strcmp(plan.joins[1].type, "network") == 0,
         "joins are ordered user first");
  tap_ok(plan.joins[1].index == 1, "join remembers its index for messages");
  tap_ok(isolazi_ns_plan_has(&plan, CLONE_NEWNET) && !isolazi_ns_plan_has(&plan, CLONE_NEWCGROUP),
         "plan_has sees joined and absent namespaces");
  free(l->namespaces);
  free(l);

  {
    const char *t2[] = { "pid" };
    const char *p2[] = { NULL };
    l = linux_with(t2, p2, 1);
    tap_ok(isolazi_ns_plan_build(l, &plan, &e) < 0 && strstr(e.msg, "mount namespace is required") != NULL,
           "a mount namespace is required");
    free(l->namespaces);
    free(l);
  }
  {
    const char *t3[] = { "mount", "network" };
    const char *p3[] = { NULL, "relative/ns" };
    l = linux_with(t3, p3, 2);
    tap_ok(isolazi_ns_plan_build(l, &plan, &e) < 0
               && strcmp(e.msg, "linux.namespaces[1].path: `relative/ns` is not an absolute path") == 0,
           "relative namespace path is refused with its JSON path");
    free(l->namespaces);
    free(l);
  }
  {
    const char *t4[] = { "mount", "network" };
    const char *p4[] = { NULL, "/etc/hostname" };
    l = linux_with(t4, p4, 2);
    tap_ok(isolazi_ns_plan_build(l, &plan, &e) == 0, "plan with a non-namespace file builds");
    r = isolazi_ns_open(&plan, &e);
    tap_ok(r < 0 && strstr(e.msg, "is not a namespace") != NULL,
           "opening a file that is not a namespace fails clearly: %s", e.msg);
    isolazi_ns_close(&plan);
    free(l->namespaces);
    free(l);
  }
  {
    const char *t5[] = { "mount", "network" };
    const char *p5[] = { NULL, "/proc/self/ns/ipc" };
    l = linux_with(t5, p5, 2);
    isolazi_ns_plan_build(l, &plan, &e);
    r = isolazi_ns_open(&plan, &e);
    tap_ok(r < 0 && strstr(e.msg, "is not a network namespace") != NULL, "a namespace of the wrong type is refused: %s",
           e.msg);
    isolazi_ns_close(&plan);
    free(l->namespaces);
    free(l);
  }
  isolazi_error_release(&e);
}

static void
test_sysctl(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  isolazi_ns_plan_t plan;

  memset(&plan, 0, sizeof plan);
  plan.clone_flags = CLONE_NEWNS | CLONE_NEWIPC;
  tap_ok(isolazi_sysctl_check("kernel.shmmax", &plan, &e) == 0, "ipc sysctl allowed with an ipc namespace");
  tap_ok(isolazi_sysctl_check("fs.mqueue.msg_max", &plan, &e) == 0, "mqueue sysctl allowed with ipc");
  tap_ok(isolazi_sysctl_check("net.ipv4.ip_forward", &plan, &e) < 0
             && strcmp(e.msg, "linux.sysctl: `net.ipv4.ip_forward` needs a network namespace") == 0,
         "net sysctl needs a netns");
  tap_ok(isolazi_sysctl_check("kernel.panic", &plan, &e) < 0 && strstr(e.msg, "not isolated") != NULL,
         "host-wide sysctl refused");
  tap_ok(isolazi_sysctl_check("net/../../kernel/panic", &plan, &e) < 0, "path traversal in a key refused");
  plan.clone_flags |= CLONE_NEWUTS | CLONE_NEWNET;
  tap_ok(isolazi_sysctl_check("kernel.domainname", &plan, &e) == 0, "uts sysctl allowed with uts ns");
  tap_ok(isolazi_sysctl_check("net.ipv4.ip_forward", &plan, &e) == 0, "net sysctl allowed with a netns");
  isolazi_error_release(&e);
}

static void
test_ids(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  char long_id[1100];

  tap_ok(isolazi_container_id_validate("abc-1.2_x+y", &e) == 0, "ordinary id accepted");
  tap_ok(isolazi_container_id_validate("../etc", &e) < 0, "path-like id refused");
  tap_ok(isolazi_container_id_validate("a/b", &e) < 0, "slash refused");
  tap_ok(isolazi_container_id_validate("", &e) < 0 && strcmp(e.msg, "container id is empty") == 0, "empty refused");
  tap_ok(isolazi_container_id_validate("-x", &e) < 0, "leading dash refused (it would look like a flag)");
  memset(long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  tap_ok(isolazi_container_id_validate(long_id, &e) < 0, "over-long id refused");
  isolazi_error_release(&e);
}

static void
test_sync(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT, sent = ISOLAZI_ERROR_INIT;
  isolazi_sync_msg_t m = { 0 };
  int sv[2];

  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      tap_ok(0, "socketpair");
      return;
    }
  tap_ok(isolazi_sync_send(sv[0], SYNC_PARENT_READY, 0, "{\"id\":\"x\"}", &e) == 0, "send with payload");
  tap_ok(isolazi_sync_recv(sv[1], &m, &e) == 1 && m.type == SYNC_PARENT_READY
             && strcmp(m.payload, "{\"id\":\"x\"}") == 0,
         "payload arrives whole");
  isolazi_sync_msg_release(&m);
  isolazi_error_set(&sent, ENOENT, "exec `%s`", "/nope");
  isolazi_sync_send_error(sv[0], &sent);
  tap_ok(isolazi_sync_expect(sv[1], SYNC_READY, "wait", NULL, &e) < 0
             && strcmp(e.msg, "exec `/nope`: no such file or directory") == 0 && e.code == ENOENT,
         "an init error travels with errno and text");
  close(sv[0]);
  tap_ok(isolazi_sync_expect(sv[1], SYNC_READY, "wait for the init", NULL, &e) < 0
             && strcmp(e.msg, "wait for the init: the container init exited unexpectedly") == 0,
         "EOF becomes a sentence, not a bare EOF");
  close(sv[1]);
  isolazi_error_release(&e);
  isolazi_error_release(&sent);
}

/* Field 22 of /proc/self/stat, read independently of the code under test. */
static unsigned long long
starttime_by_sscanf(void)
{
  char buf[1024], *p;
  unsigned long long v = 0;
  FILE *f = fopen("/proc/self/stat", "re");
  size_t n = fread(buf, 1, sizeof buf - 1, f);

  fclose(f);
  buf[n] = '\0';
  p = strrchr(buf, ')') + 2;
  sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v);
  return v;
}

static void
test_start_time(void)
{
  tap_ok(isolazi_process_start_time(getpid()) == starttime_by_sscanf(),
         "process start time is field 22 of /proc/PID/stat");
  tap_ok(isolazi_process_start_time(0x3fffffff) == 0, "a missing process has start time 0");
}

static void
test_state(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  char dir[] = "/tmp/isolazi-test-state-XXXXXX";
  isolazi_state_t s = { 0 }, *back = NULL;
  char *keys[] = { (char *)"org.example/a", NULL }, *values[] = { (char *)"1", NULL };
  cleanup_free char *doc = NULL;
  int rootfd, dirfd;

  if (mkdtemp(dir) == NULL)
    {
      tap_ok(0, "mkdtemp");
      return;
    }
  rootfd = isolazi_state_root_open(dir, true, &e);
  dirfd = isolazi_state_dir_create(rootfd, "c1", &e);
  tap_ok(dirfd >= 0, "state dir created");
  tap_ok(isolazi_state_dir_create(rootfd, "c1", &e) < 0 && strcmp(e.msg, "container `c1` already exists") == 0,
         "duplicate id refused");
  tap_ok(isolazi_state_dir_open(rootfd, "nope", &e) < 0 && strcmp(e.msg, "container `nope` does not exist") == 0
             && e.code == ENOENT,
         "unknown id: runc-compatible text, errno kept");
  tap_ok(isolazi_state_load(dirfd, "c1", &back, &e) < 0 && strstr(e.msg, "still being created") != NULL,
         "a state dir without state.json is a container being created");
  s.id = (char *)"c1";
  s.pid = getpid();
  s.pid_start = isolazi_process_start_time(getpid());
  s.bundle = (char *)"/b";
  s.rootfs = (char *)"/b/rootfs";
  s.created = (char *)"2026-01-01T00:00:00.000000000Z";
  s.owner = (char *)"";
  s.annotations.keys = keys;
  s.annotations.values = values;
  s.annotations.len = 1;
  s.poststop_hooks = true;
  tap_ok(isolazi_state_save(dirfd, &s, &e) == 0, "state saved");
  tap_ok(isolazi_state_load(dirfd, "c1", &back, &e) == 0 && back->pid == s.pid && back->pid_start == s.pid_start
             && strcmp(back->bundle, "/b") == 0 && back->annotations.len == 1 && back->poststop_hooks
             && !back->poststart_hooks,
         "state round-trips");
  tap_ok(s.pid_start != 0 && strcmp(isolazi_state_status(back, dirfd), "running") == 0,
         "a live pid without start socket is running");
  back->pid_start++;
  tap_ok(strcmp(isolazi_state_status(back, dirfd), "stopped") == 0, "a reused pid (other start time) is stopped");
  doc = isolazi_state_oci_json(back, "stopped", false);
  tap_ok(strstr(doc, "\"pid\":0") != NULL && strstr(doc, "\"status\":\"stopped\"") != NULL
             && strstr(doc, "\"annotations\":{\"org.example/a\":\"1\"}") != NULL,
         "OCI state: stopped has pid 0, annotations kept: %s", doc);
  isolazi_state_free(back);
  tap_ok(isolazi_state_dir_remove(rootfd, "c1", &e) == 0 && faccessat(rootfd, "c1", F_OK, 0) < 0,
         "state dir removed with its files");
  close(dirfd);
  close(rootfd);
  rmdir(dir);
  isolazi_error_release(&e);
}

static void
test_hooks(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  char dir[] = "/tmp/isolazi-test-hooks-XXXXXX";
  cleanup_free char *script = NULL, *out = NULL, *text = NULL;
  char *args[] = { (char *)"hook", (char *)"one", NULL };
  char *env[] = { (char *)"K=V", NULL };
  oci_hook h = { 0 };
  FILE *f;
  int r;

  if (mkdtemp(dir) == NULL)
    return;
  script = xasprintf("%s/hook.sh", dir);
  out = xasprintf("%s/out", dir);
  f = fopen(script, "w");
  fprintf(f,
          "#!/bin/sh\necho \"$0 $1 $K $(cat)\" > %s\n[ -z \"$FAIL\" ] || { echo boom >&2; exit 3; }\n"
          "[ -z \"$SLOW\" ] || sleep 5\n",
          out);
  fclose(f);
  chmod(script, 0755);
  h.path = script;
  h.args = args;
  h.args_len = 2;
  h.env = env;
  h.env_len = 1;
  tap_ok(isolazi_hooks_run(&h, 1, "prestart", "{\"id\":\"c\"}", &e) == 0, "hook runs");
  isolazi_read_file(out, &text, NULL, &e);
  {
    cleanup_free char *want = xasprintf("%s one V {\"id\":\"c\"}\n", script);
    tap_streq(text, want, "hook gets args, env and the state on stdin");
  }
  env[0] = (char *)"FAIL=1";
  r = isolazi_hooks_run(&h, 1, "createRuntime", "{}", &e);
  tap_ok(r < 0 && strstr(e.msg, "hooks.createRuntime[0]") != NULL && strstr(e.msg, "exit status 3: boom") != NULL,
         "a failing hook names itself, its status and output: %s", e.msg);
  env[0] = (char *)"SLOW=1";
  h.timeout = 1;
  h.timeout_present = true;
  r = isolazi_hooks_run(&h, 1, "poststop", "{}", &e);
  tap_ok(r < 0 && strstr(e.msg, "timed out after 1 s") != NULL, "a hook past its timeout is killed: %s", e.msg);
  unlink(out);
  unlink(script);
  rmdir(dir);
  isolazi_error_release(&e);
}

static void
test_find_executable(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  char *env[] = { (char *)"PATH=/nonexistent:/bin:/usr/bin", NULL };
  char *args[] = { (char *)"sh", NULL };
  oci_process p = { 0 };
  char *path = NULL;

  p.args = args;
  p.args_len = 1;
  p.env = env;
  p.env_len = 1;
  tap_ok(isolazi_process_find_executable(&p, &path, &e) == 0 && strcmp(path, "/bin/sh") == 0, "found on PATH");
  free(path);
  args[0] = (char *)"no-such-binary-here";
  tap_ok(isolazi_process_find_executable(&p, &path, &e) < 0
             && strcmp(e.msg, "exec `no-such-binary-here`: executable file not found in $PATH") == 0,
         "not found on PATH: podman's wording");
  args[0] = (char *)"/nope";
  tap_ok(isolazi_process_find_executable(&p, &path, &e) < 0
             && strcmp(e.msg, "exec `/nope`: no such file or directory") == 0,
         "missing absolute path");
  {
    char plain[] = "/tmp/isolazi-test-noexec-XXXXXX";
    int fd = mkstemp(plain);
    close(fd);
    chmod(plain, 0644);
    args[0] = plain;
    tap_ok(isolazi_process_find_executable(&p, &path, &e) < 0 && strstr(e.msg, "permission denied") != NULL,
           "not executable: permission denied");
    unlink(plain);
  }
  isolazi_error_release(&e);
}

int
main(void)
{
  test_error();
  test_ns_plan();
  test_sysctl();
  test_ids();
  test_sync();
  test_start_time();
  test_state();
  test_hooks();
  test_find_executable();
  return tap_done();
}
