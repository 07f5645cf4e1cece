/* SPDX-License-Identifier: Apache-2.0 */
/* The deciding half of the filesystem view: mount options, propagation, path cleaning, the
 * /proc rule, the cgroup mount plan, mountinfo lookup and the device plan.  No root needed. */
#include "config.h"
#include "../unit/tap.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "devices.h"
#include "rootfs.h"

static isolazi_mount_flags_t
parse(const char *const *opts, size_t n)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_mount_flags_t f;

  if (isolazi_mount_flags_parse((char *const *)opts, n, &f, &err) < 0)
    {
      printf("# parse failed: %s\n", err.msg);
      isolazi_error_release(&err);
      abort();
    }
  return f;
}

#define PARSE(...)                                                                                                     \
  ({                                                                                                                   \
    static const char *const o_[] = { __VA_ARGS__ };                                                                   \
    parse(o_, sizeof(o_) / sizeof(o_[0]));                                                                             \
  })

static void
test_flag_table(void)
{
  static const struct
  {
    const char *opt;
    unsigned long set, clear;
  } t[] = {
    { "ro", MS_RDONLY, 0 },
    { "rw", 0, MS_RDONLY },
    { "nosuid", MS_NOSUID, 0 },
    { "suid", 0, MS_NOSUID },
    { "nodev", MS_NODEV, 0 },
    { "dev", 0, MS_NODEV },
    { "noexec", MS_NOEXEC, 0 },
    { "exec", 0, MS_NOEXEC },
    { "sync", MS_SYNCHRONOUS, 0 },
    { "async", 0, MS_SYNCHRONOUS },
    { "dirsync", MS_DIRSYNC, 0 },
    { "remount", MS_REMOUNT, 0 },
    { "mand", MS_MANDLOCK, 0 },
    { "nomand", 0, MS_MANDLOCK },
    { "noatime", MS_NOATIME, 0 },
    { "atime", 0, MS_NOATIME },
    { "nodiratime", MS_NODIRATIME, 0 },
    { "diratime", 0, MS_NODIRATIME },
    { "relatime", MS_RELATIME, 0 },
    { "norelatime", 0, MS_RELATIME },
    { "strictatime", MS_STRICTATIME, 0 },
    { "nostrictatime", 0, MS_STRICTATIME },
    { "defaults", 0, 0 },
  };
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    {
      const char *o[] = { t[i].opt };
      isolazi_mount_flags_t f = parse(o, 1);
      tap_ok(f.flags == t[i].set && f.clear == t[i].clear && f.data == NULL && !f.bind && f.propagation == 0,
             "option %s -> flags %#lx clear %#lx", t[i].opt, f.flags, f.clear);
      isolazi_mount_flags_release(&f);
    }
}

static void
test_last_wins(void)
{
  isolazi_mount_flags_t f = PARSE("ro", "rw");
  tap_ok(!(f.flags & MS_RDONLY) && (f.clear & MS_RDONLY), "ro then rw: rw");
  isolazi_mount_flags_release(&f);
  f = PARSE("rw", "ro");
  tap_ok((f.flags & MS_RDONLY) && !(f.clear & MS_RDONLY), "rw then ro: ro");
  isolazi_mount_flags_release(&f);
}

static void
test_data(void)
{
  isolazi_mount_flags_t f = PARSE("nosuid", "strictatime", "mode=755", "size=65536k");
  tap_ok(f.flags == (MS_NOSUID | MS_STRICTATIME), "tmpfs /dev flags");
  tap_streq(f.data, "mode=755,size=65536k", "tmpfs /dev data");
  isolazi_mount_flags_release(&f);

  f = PARSE("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
  tap_ok(f.flags == (MS_NOSUID | MS_NOEXEC), "devpts flags");
  tap_streq(f.data, "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts data keeps order");
  isolazi_mount_flags_release(&f);

  f = PARSE("", "ro");
  tap_ok(f.flags == MS_RDONLY && f.data == NULL, "empty option skipped");
  isolazi_mount_flags_release(&f);

  f = parse(NULL, 0);
  tap_ok(f.flags == 0 && f.clear == 0 && f.data == NULL && !f.bind && !f.recursive, "no options");
  isolazi_mount_flags_release(&f);
  isolazi_mount_flags_release(&f);
  isolazi_mount_flags_release(NULL);
  tap_ok(1, "release is idempotent and accepts NULL");
}

static void
test_bind(void)
{
  isolazi_mount_flags_t f = PARSE("bind");
  tap_ok(f.bind && !f.recursive && f.flags == MS_BIND, "bind");
  isolazi_mount_flags_release(&f);
  f = PARSE("rbind", "ro", "nosuid");
  tap_ok(f.bind && f.recursive && f.flags == (MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID), "rbind,ro,nosuid");
  isolazi_mount_flags_release(&f);
}

static void
test_propagation(void)
{
  static const struct
  {
    const char *opt;
    unsigned long prop;
    bool rec;
  } t[] = {
    { "private", MS_PRIVATE, false },       { "rprivate", MS_PRIVATE | MS_REC, true },
    { "shared", MS_SHARED, false },         { "rshared", MS_SHARED | MS_REC, true },
    { "slave", MS_SLAVE, false },           { "rslave", MS_SLAVE | MS_REC, true },
    { "unbindable", MS_UNBINDABLE, false }, { "runbindable", MS_UNBINDABLE | MS_REC, true },
  };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  unsigned long p;
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    {
      const char *o[] = { t[i].opt };
      isolazi_mount_flags_t f = parse(o, 1);
      tap_ok(f.propagation == t[i].prop && f.recursive == t[i].rec && f.flags == 0, "option %s -> propagation %#lx",
             t[i].opt, f.propagation);
      isolazi_mount_flags_release(&f);
      tap_ok(isolazi_mount_propagation_parse(t[i].opt, &p, &err) == 0 && p == t[i].prop, "rootfsPropagation %s",
             t[i].opt);
    }
  tap_ok(isolazi_mount_propagation_parse(NULL, &p, &err) == 0 && p == 0, "propagation NULL -> 0");
  tap_ok(isolazi_mount_propagation_parse("", &p, &err) == 0 && p == 0, "propagation \"\" -> 0");
  tap_ok(isolazi_mount_propagation_parse("bogus", &p, &err) < 0, "propagation bogus rejected");
  tap_streq(err.msg, "parse propagation `bogus`: unknown propagation mode", "propagation error message");
  isolazi_error_release(&err);

  {
    isolazi_mount_flags_t f = PARSE("rbind", "rslave", "private");
    tap_ok(f.propagation == MS_PRIVATE, "last propagation wins");
    isolazi_mount_flags_release(&f);
  }
}

static void
test_extensions(void)
{
  isolazi_mount_flags_t f = PARSE("idmap");
  tap_ok(f.idmap && !f.recursive && f.data == NULL, "idmap");
  isolazi_mount_flags_release(&f);
  f = PARSE("ridmap");
  tap_ok(f.idmap && f.recursive, "ridmap");
  isolazi_mount_flags_release(&f);
  f = PARSE("tmpcopyup", "mode=1777");
  tap_ok(f.tmpcopyup, "tmpcopyup accepted");
  tap_streq(f.data, "mode=1777", "tmpcopyup not in data");
  isolazi_mount_flags_release(&f);
  f = PARSE("rbind", "rro", "rnosuid", "rnoatime");
  tap_ok(f.rec_attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME)
             && f.rec_attr_clr == MOUNT_ATTR__ATIME && !(f.flags & MS_RDONLY),
         "rro,rnosuid,rnoatime -> recursive attrs");
  isolazi_mount_flags_release(&f);
  f = PARSE("rro", "rrw");
  tap_ok(f.rec_attr_set == 0 && f.rec_attr_clr == MOUNT_ATTR_RDONLY, "rro then rrw");
  isolazi_mount_flags_release(&f);
}

static void
test_to_attr(void)
{
  uint64_t set, clr;

  isolazi_mount_flags_to_attr(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, &set, &clr);
  tap_ok(set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) && clr == 0,
         "ro,nosuid,nodev,noexec -> attr");
  isolazi_mount_flags_to_attr(0, MS_RDONLY | MS_NOSUID, &set, &clr);
  tap_ok(set == 0 && clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID), "rw,suid -> clear attr");
  isolazi_mount_flags_to_attr(MS_RELATIME, 0, &set, &clr);
  tap_ok(set == MOUNT_ATTR_RELATIME && clr == MOUNT_ATTR__ATIME, "relatime replaces the atime field");
  isolazi_mount_flags_to_attr(MS_STRICTATIME | MS_NODIRATIME, 0, &set, &clr);
  tap_ok(set == (MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NODIRATIME) && clr == MOUNT_ATTR__ATIME, "strictatime");
  isolazi_mount_flags_to_attr(MS_NOATIME | MS_RELATIME, 0, &set, &clr);
  tap_ok(set == MOUNT_ATTR_NOATIME, "noatime wins over relatime");
  isolazi_mount_flags_to_attr(0, MS_NOATIME, &set, &clr);
  tap_ok(set == 0 && clr == 0, "atime alone leaves the atime field");
}

static void
test_clean_path(void)
{
  static const char *const t[][2] = {
    { "/", "/" },
    { "", "/" },
    { "/dev", "/dev" },
    { "dev/pts/", "/dev/pts" },
    { "//a//b/", "/a/b" },
    { "/a/./b/../c", "/a/c" },
    { "/../../etc", "/etc" },
    { "/a/b/../../..", "/" },
    { "/proc/../proc/sys", "/proc/sys" },
  };
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    {
      char *c = isolazi_rootfs_clean_path(t[i][0]);
      tap_streq(c, t[i][1], "clean `%s`", t[i][0]);
      free(c);
    }
}

static void
test_proc_rule(void)
{
  tap_ok(isolazi_rootfs_proc_mount_allowed("/proc", true), "proc on /proc");
  tap_ok(!isolazi_rootfs_proc_mount_allowed("/proc", false), "non-proc on /proc refused");
  tap_ok(isolazi_rootfs_proc_mount_allowed("/proc/cpuinfo", false), "lxcfs /proc/cpuinfo allowed");
  tap_ok(isolazi_rootfs_proc_mount_allowed("/proc/sys/kernel/ns_last_pid", false), "ns_last_pid allowed");
  tap_ok(!isolazi_rootfs_proc_mount_allowed("/proc/self/attr/exec", false), "/proc/self/attr refused");
  tap_ok(!isolazi_rootfs_proc_mount_allowed("/proc/sys", true), "/proc/sys refused");
  tap_ok(isolazi_rootfs_proc_mount_allowed("/procfoo", false), "/procfoo is not /proc");
  tap_ok(isolazi_rootfs_proc_mount_allowed("/sys", false), "/sys fine");
}

/* This host's layout (hybrid: v1 controllers, cgroup2 at unified), plus a co-mounted pair and a
 * hierarchy mounted from a non-root directory. */
static const char hybrid_mountinfo[]
    = "23 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 master:2 - cgroup cgroup rw,cpu,cpuacct\n"
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children\n"
      "35 31 0:32 /outer /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
      "37 31 0:33 / /mnt/devices\\040copy rw,relatime - cgroup cgroup rw,devices\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "42 31 0:39 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";

static const char hybrid_self[] = "9:name=systemd:/c1\n"
                                  "5:devices:/c1\n"
                                  "4:memory:/outer/c1\n"
                                  "3:cpuset:/\n"
                                  "2:cpu,cpuacct:/c1\n"
                                  "0::/c1\n";

static void
test_cgroup_plan(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_cgroup_mount_plan_t p;
  size_t i;

  tap_ok(isolazi_cgroup_mount_plan(hybrid_mountinfo, hybrid_self, &p, &err) == 0, "hybrid plan");
  tap_ok(!p.v2, "hybrid is not v2");
  /* pids: we are not in that hierarchy per /proc/self/cgroup -> skipped. */
  tap_ok(p.binds_len == 5, "five hierarchies bound (got %zu)", p.binds_len);
  if (p.binds_len == 5)
    {
      tap_streq(p.binds[0].name, "cpu,cpuacct", "co-mounted name");
      tap_streq(p.binds[0].source, "/sys/fs/cgroup/cpu,cpuacct/c1", "co-mounted source");
      tap_streq(p.binds[0].data, "cpu,cpuacct", "co-mounted data");
      tap_streq(p.binds[1].source, "/sys/fs/cgroup/cpuset", "root cgroup binds the mount point");
      tap_streq(p.binds[2].source, "/sys/fs/cgroup/memory/c1", "source relative to the mount root");
      tap_streq(p.binds[3].source, "/sys/fs/cgroup/devices/c1", "first mount of a hierarchy wins");
      tap_streq(p.binds[4].name, "systemd", "named hierarchy name");
      tap_streq(p.binds[4].data, "none,name=systemd", "named hierarchy data");
    }
  if (p.binds_len == 5)
    {
      char *d = isolazi_cgroup_bind_dir(&p.binds[2], "/outer/isolazi/x");
      tap_streq(d, "/sys/fs/cgroup/memory/isolazi/x", "bind_dir strips the mount root");
      free(d);
      d = isolazi_cgroup_bind_dir(&p.binds[2], "/isolazi/x");
      tap_ok(d == NULL, "bind_dir: path outside the mount root");
      d = isolazi_cgroup_bind_dir(&p.binds[0], "isolazi//x/");
      tap_streq(d, "/sys/fs/cgroup/cpu,cpuacct/isolazi/x", "bind_dir cleans the path");
      free(d);
    }
  tap_ok(p.links_len == 2, "two symlinks for cpu,cpuacct");
  if (p.links_len == 2)
    {
      tap_streq(p.link_names[0], "cpu", "link cpu");
      tap_streq(p.link_targets[0], "cpu,cpuacct", "link cpu target");
      tap_streq(p.link_names[1], "cpuacct", "link cpuacct");
    }
  for (i = 0; i < p.binds_len; i++)
    tap_ok(p.binds[i].name[0] != '\0', "bind %zu named", i);
  isolazi_cgroup_mount_plan_release(&p);
  isolazi_cgroup_mount_plan_release(&p);

  /* Inside a cgroup namespace the host's memory mount root is outside ours. */
  tap_ok(isolazi_cgroup_mount_plan("35 31 0:32 /.. /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                                   "36 31 0:33 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
                                   "4:memory:/\n5:pids:/\n", &p, &err)
                 == 0
             && p.binds_len == 2,
         "cgroupns plan keeps unreachable hierarchies");
  if (p.binds_len == 2)
    {
      tap_ok(p.binds[0].source == NULL, "unreachable hierarchy has no bind source");
      tap_streq(p.binds[0].data, "memory", "but can be mounted");
      tap_streq(p.binds[1].source, "/sys/fs/cgroup/pids", "reachable one binds");
    }
  isolazi_cgroup_mount_plan_release(&p);

  tap_ok(isolazi_cgroup_mount_plan("23 1 254:0 / / rw - ext4 /dev/vda rw\n"
                                   "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
                                   "0::/user.slice\n", &p, &err)
                 == 0
             && p.v2 && p.binds_len == 0,
         "pure v2 host");
  isolazi_cgroup_mount_plan_release(&p);
}

static void
test_mountinfo_find(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char *mp = NULL;
  bool shared = false;
  const char *mi = "23 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
                   "50 23 0:40 / /tmp rw - tmpfs tmpfs rw\n"
                   "51 23 0:41 / /tmp/a\\040b rw shared:7 master:3 - tmpfs tmpfs rw\n"
                   "garbage line\n";

  tap_ok(isolazi_mountinfo_find(mi, "/tmp/rootfs", &mp, &shared, &err) == 0, "find /tmp/rootfs");
  tap_streq(mp, "/tmp", "parent mount of /tmp/rootfs");
  tap_ok(!shared, "/tmp is private");
  free(mp);
  tap_ok(isolazi_mountinfo_find(mi, "/tmp/a b/r", &mp, &shared, &err) == 0, "find escaped mount point");
  tap_streq(mp, "/tmp/a b", "octal escape decoded");
  tap_ok(shared, "shared among several optional fields");
  free(mp);
  tap_ok(isolazi_mountinfo_find(mi, "/tmpx", &mp, &shared, &err) == 0, "find /tmpx");
  tap_streq(mp, "/", "/tmpx is on /");
  tap_ok(shared, "/ is shared");
  free(mp);
}

static void
test_devices_plan(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_device_t *d = NULL;
  size_t n = 0;
  oci_device devs[3];

  tap_ok(isolazi_devices_plan(NULL, 0, &d, &n, &err) == 0 && n == 6, "six default devices");
  if (n == 6)
    {
      tap_streq(d[0].path, "/dev/null", "first default is /dev/null");
      tap_ok(d[0].type == 'c' && d[0].major == 1 && d[0].minor == 3 && d[0].mode == 0666 && d[0].uid == 0,
             "/dev/null 1:3 0666 root");
      tap_ok(isolazi_device_mknod_mode(&d[0]) == (S_IFCHR | 0666), "mknod mode of /dev/null");
      tap_streq(d[5].path, "/dev/tty", "/dev/tty is a default (runc)");
      tap_ok(d[5].major == 5 && d[5].minor == 0, "/dev/tty 5:0");
    }
  isolazi_devices_free(d, n);

  memset(devs, 0, sizeof devs);
  devs[0].path = (char *)"/dev/fuse";
  devs[0].type = (char *)"c";
  devs[0].major = 10, devs[0].major_present = true;
  devs[0].minor = 229, devs[0].minor_present = true;
  devs[0].file_mode = 020640, devs[0].file_mode_present = true;
  devs[0].uid = 1000, devs[0].uid_present = true;
  devs[0].gid = 1001, devs[0].gid_present = true;
  devs[1].path = (char *)"/dev//null";
  devs[1].type = (char *)"u";
  devs[1].major = 1, devs[1].major_present = true;
  devs[1].minor = 3, devs[1].minor_present = true;
  devs[2].path = (char *)"/dev/sda";
  devs[2].type = (char *)"b";
  devs[2].major = 8, devs[2].major_present = true;
  devs[2].minor = 0, devs[2].minor_present = true;
  tap_ok(isolazi_devices_plan(devs, 3, &d, &n, &err) == 0 && n == 8, "defaults minus overridden + 3");
  if (n == 8)
    {
      tap_streq(d[0].path, "/dev/zero", "/dev/null default replaced by the config's");
      tap_streq(d[5].path, "/dev/fuse", "config devices follow");
      tap_ok(d[5].mode == 0640 && d[5].uid == 1000 && d[5].gid == 1001, "fileMode permission bits, uid, gid");
      tap_ok(d[6].type == 'c' && strcmp(d[6].path, "/dev/null") == 0, "type u is a char device, path cleaned");
      tap_ok(isolazi_device_mknod_mode(&d[7]) == (S_IFBLK | 0666), "block device default mode 0666");
    }
  isolazi_devices_free(d, n);

  memset(devs, 0, sizeof devs);
  devs[0].path = (char *)"/dev/p";
  devs[0].type = (char *)"p";
  tap_ok(isolazi_devices_plan(devs, 1, &d, &n, &err) == 0 && d[n - 1].type == 'p', "fifo needs no numbers");
  tap_ok(isolazi_device_mknod_mode(&d[n - 1]) == (S_IFIFO | 0666), "fifo mknod mode");
  isolazi_devices_free(d, n);

  devs[0].type = (char *)"c";
  tap_ok(isolazi_devices_plan(devs, 1, &d, &n, &err) < 0, "char device without numbers refused");
  tap_streq(err.msg, "linux.devices[0]: device `/dev/p` needs major and minor", "error names the entry");
  devs[0].type = (char *)"x";
  tap_ok(isolazi_devices_plan(devs, 1, &d, &n, &err) < 0, "unknown type refused");
  devs[0].type = (char *)"c";
  devs[0].path = (char *)"dev/rel";
  tap_ok(isolazi_devices_plan(devs, 1, &d, &n, &err) < 0, "relative path refused");
  isolazi_error_release(&err);
}

int
main(void)
{
  test_flag_table();
  test_last_wins();
  test_data();
  test_bind();
  test_propagation();
  test_extensions();
  test_to_attr();
  test_clean_path();
  test_proc_rule();
  test_cgroup_plan();
  test_mountinfo_find();
  test_devices_plan();
  return tap_done();
}
