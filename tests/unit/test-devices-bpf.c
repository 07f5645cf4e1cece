/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 device filter: instruction generation, and (as root, where a cgroup2 hierarchy
 * is mounted) a real load + attach that lets a child open /dev/null and not /dev/zero. */
#include "config.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "utils.h"

#define RULE(allow, t, maj, min, acc)                                                                                  \
  {                                                                                                                    \
    (allow), (char *)(t), (maj), (maj) >= 0, (min), (min) >= 0, (char *)(acc)                                          \
  }

static void
test_program(void)
{
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  oci_device_cgroup rules[] = {
    RULE(false, "a", -1, -1, "rwm"),
    RULE(true, "c", 1, 3, "rwm"),
    RULE(true, "c", 136, -1, "rw"),
  };
  struct bpf_insn *p = NULL;
  size_t n = 0;
  int r;

  tap_ok(cgroup_v2_devices_program(rules, 3, &p, &n, &e) == 0, "program generated");
  /* 6 header + rule 3 (type, access x3, major, ret x2 = 7) + rule 2 (type, major, minor, ret x2 = 5)
     + rule 1, unconditional (ret x2 = 2): nothing after it, the verifier refuses dead code */
  tap_ok(n == 6 + 7 + 5 + 2, "instruction count: %zu", n);
  tap_ok(p[n - 1].code == (BPF_JMP | BPF_EXIT) && p[n - 2].imm == 0, "the leading deny-all ends the program");
  /* the last rule is checked first: its type test jumps over its 7-instruction block */
  tap_ok(p[6].code == (BPF_JMP | BPF_JNE | BPF_K) && p[6].imm == BPF_DEVCG_DEV_CHAR && p[6].off == 6,
         "the last rule is tested first and a mismatch skips its block");
  tap_ok(p[8].imm == (int32_t)BPF_DEVCG_ACC_MKNOD, "\"rw\" refuses requests that include mknod");
  tap_ok(p[6 + 7 + 3].imm == 1 && p[6 + 7 + 5 + 0].imm == 0, "allow returns 1, deny returns 0");
  free(p);
  {
    oci_device_cgroup only[] = { RULE(true, "c", 1, 3, "rwm") };
    cgroup_v2_devices_program(only, 1, &p, &n, &e);
    tap_ok(n == 6 + 5 + 2 && p[n - 2].imm == 0, "without a catch-all rule, no match denies");
  }
  free(p);
  {
    oci_device_cgroup bad[] = { RULE(true, "c", 1, 3, "rwx") };
    r = cgroup_v2_devices_program(bad, 1, &p, &n, &e);
    tap_ok(r < 0 && strcmp(e.msg, "linux.resources.devices[0].access: `rwx` is not made of r, w and m") == 0,
           "bad access names the rule");
  }
  {
    oci_device_cgroup bad[] = { RULE(true, "x", 1, 3, "r") };
    r = cgroup_v2_devices_program(bad, 1, &p, &n, &e);
    tap_ok(r < 0 && strstr(e.msg, "devices[0].type") != NULL, "bad type names the rule");
  }
  isolazi_error_release(&e);
}

/* A cgroup2 directory to play in, or NULL. */
static const char *
cgroup2_root(void)
{
  static const char *const cands[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
  struct statfs sf;
  size_t i;

  for (i = 0; i < 2; i++)
    if (statfs(cands[i], &sf) == 0 && sf.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */)
      return cands[i];
  return NULL;
}

static void
test_attach(void)
{
  const char *root = cgroup2_root();
  oci_device_cgroup rules[] = {
    RULE(false, "a", -1, -1, "rwm"),
    RULE(true, "c", 1, 3, "rw"),
  };
  isolazi_error_t e = ISOLAZI_ERROR_INIT;
  char dir[256];
  int fd, status = 0;
  pid_t pid;

  if (geteuid() != 0 || root == NULL)
    {
      tap_ok(1, "# SKIP attach needs root and a cgroup2 hierarchy");
      return;
    }
  snprintf(dir, sizeof dir, "%s/isolazi-test-bpf-%d", root, (int)getpid());
  if (mkdir(dir, 0755) < 0)
    {
      tap_ok(0, "mkdir %s: %s", dir, strerror(errno));
      return;
    }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  status = cgroup_v2_devices_attach(fd, rules, 2, &e);
  tap_ok(status == 0, "program loaded and attached: %s", e.msg ? e.msg : "ok");
  status = 0;
  pid = fork();
  if (pid == 0)
    {
      char procs[300], me[16];
      int pf, n1, n2;
      snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
      pf = open(procs, O_WRONLY);
      snprintf(me, sizeof me, "%d", (int)getpid());
      if (pf < 0 || write(pf, me, strlen(me)) < 0)
        _exit(3);
      close(pf);
      n1 = open("/dev/null", O_RDWR);
      n2 = open("/dev/zero", O_RDONLY);
      _exit((n1 >= 0 ? 0 : 1) | (n2 < 0 && errno == EPERM ? 0 : 2));
    }
  waitpid(pid, &status, 0);
  tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
         "in the cgroup: /dev/null opens, /dev/zero is refused (status %d)", WEXITSTATUS(status));
  close(fd);
  rmdir(dir);
  isolazi_error_release(&e);
}

int
main(void)
{
  test_program();
  test_attach();
  return tap_done();
}
