/* SPDX-License-Identifier: Apache-2.0 */
/* src/lib/lsm.c: mount label options, the AppArmor check, and the checked /proc opener. */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "lsm.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_mount_data(void)
{
  static const struct
  {
    const char *type, *data, *label, *want;
  } cases[] = {
    { "tmpfs", NULL, "system_u:object_r:container_file_t:s0:c1,c2",
      "context=\"system_u:object_r:container_file_t:s0:c1,c2\"" },
    { "tmpfs", "mode=755,size=65536k", "l:t", "mode=755,size=65536k,context=\"l:t\"" },
    { "tmpfs", "", "l:t", "context=\"l:t\"" },
    { "devpts", "newinstance,ptmxmode=0666", "l:t", "newinstance,ptmxmode=0666,context=\"l:t\"" },
    { "mqueue", NULL, "l:t", "context=\"l:t\"" },
    { "ramfs", NULL, "l:t", "context=\"l:t\"" },
    { "proc", NULL, "l:t", NULL },
    { "sysfs", "x", "l:t", "x" },
    { "bind", "x", "l:t", "x" },
    { "cgroup", NULL, "l:t", NULL },
    { "tmpfs", "mode=755", NULL, "mode=755" },
    { "tmpfs", "mode=755", "", "mode=755" },
    { "tmpfs", "context=\"a:b\"", "l:t", "context=\"a:b\"" },
    { "tmpfs", "mode=1,context=a", "l:t", "mode=1,context=a" },
    { "tmpfs", "fscontext=a", "l:t", "fscontext=a,context=\"l:t\"" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_free char *got = isolazi_lsm_mount_data(cases[i].type, cases[i].data, cases[i].label);
      tap_streq(got, cases[i].want, "mount data %s `%s` + label `%s`", cases[i].type,
                cases[i].data ? cases[i].data : "(null)", cases[i].label ? cases[i].label : "(null)");
    }
}

static void
test_procfs_root(void)
{
  tap_ok(isolazi_procfs_root_ok(PROC_SUPER_MAGIC, 1), "procfs root: proc magic, inode 1");
  tap_ok(!isolazi_procfs_root_ok(TMPFS_MAGIC, 1), "a tmpfs over /proc is refused");
  tap_ok(!isolazi_procfs_root_ok(PROC_SUPER_MAGIC, 4026531840UL), "a directory inside procfs is not its root");
}

static void
test_proc_open(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char buf[64];
  int fd;
  ssize_t n;

  fd = isolazi_proc_open("self/stat", O_RDONLY, &err);
  tap_ok(fd >= 0, "open /proc/self/stat through the checked procfs: %s", err.msg ? err.msg : "");
  if (fd >= 0)
    {
      cleanup_free char *want = xasprintf("%d ", (int)getpid());
      n = read(fd, buf, sizeof buf - 1);
      buf[n > 0 ? n : 0] = '\0';
      tap_ok(strncmp(buf, want, strlen(want)) == 0, "... it is our own process (self expanded from procfs)");
      close(fd);
    }
  fd = isolazi_proc_open("/proc/thread-self/comm", O_RDONLY, &err);
  tap_ok(fd >= 0, "/proc/thread-self/comm (the /proc/ prefix is accepted)");
  if (fd >= 0)
    close(fd);
  fd = isolazi_proc_open("self/exe", O_RDONLY, &err);
  tap_ok(fd < 0 && err.code == ELOOP, "a magic link (/proc/self/exe) is refused");
  fd = isolazi_proc_open("self/root/etc/passwd", O_RDONLY, &err);
  tap_ok(fd < 0, "nothing is reached through /proc/self/root");
  fd = isolazi_proc_open("self/../../etc/passwd", O_RDONLY, &err);
  tap_ok(fd < 0 && err.code == EXDEV, "`..` out of procfs is refused (RESOLVE_BENEATH)");
  fd = isolazi_proc_open("mounts", O_RDONLY, &err);
  tap_ok(fd < 0 && err.code == ELOOP, "a symlink in the path (/proc/mounts → self/mounts) is refused");
  tap_ok(isolazi_proc_write("self/nonexistent-file", "1", 1, &err) < 0 && err.code == ENOENT,
         "write to a missing /proc file fails with ENOENT");
  tap_streq(err.msg, "open `/proc/self/nonexistent-file`: no such file or directory", "... and names the path");
  isolazi_error_release(&err);
}

static void
test_check(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  oci_process p;
  char profile[] = "isolazi-test", label[] = "system_u:system_r:container_t:s0";

  memset(&p, 0, sizeof p);
  tap_ok(isolazi_lsm_check(&p, &err) == 0, "no labels: nothing to check");
  p.selinux_label = label;
  if (!isolazi_selinux_enabled())
    tap_ok(isolazi_lsm_check(&p, &err) == 0 && isolazi_lsm_apply_exec(&p, &err) == 0,
           "selinuxLabel with SELinux disabled: a no-op");
  p.selinux_label = NULL;
  p.apparmor_profile = profile;
  if (!isolazi_apparmor_enabled())
    {
      tap_ok(isolazi_lsm_check(&p, &err) < 0, "apparmorProfile without AppArmor: refused");
      tap_streq(err.msg, "process.apparmorProfile: AppArmor is not enabled on this host", "... with a clear message");
      tap_ok(isolazi_lsm_apply_exec(&p, &err) < 0, "... at exec too");
    }
  else
    tap_ok(isolazi_lsm_check(&p, &err) == 0, "apparmorProfile with AppArmor enabled: accepted");
  isolazi_error_release(&err);
}

int
main(void)
{
  test_mount_data();
  test_procfs_root();
  test_proc_open();
  test_check();
  return tap_done();
}
