/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's sandbox operations (VM_MSG_SB_*, payloads in src/sandbox/sbproto.h).  A sandbox
 * has no container process: SB_SETUP mounts its disk (ext4, read-write: the disk is a qcow2
 * overlay on the host, so writes persist and snapshots capture them) as the root that EXEC'd
 * processes are chrooted into, with the API file systems, the hostname and, when the sandbox
 * has a network, eth0 configured for QEMU's user-mode network.  Files are read and written
 * inside that root through openat2(RESOLVE_IN_ROOT), so a symlink in the sandbox cannot point
 * the agent at the guest's own initramfs.  SB_FREEZE syncs and freezes the root around a
 * snapshot of the disk. */
#define _GNU_SOURCE
#include "config.h"
#include "agent.h"
#include "sbproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/openat2.h>

static int
reply_error(int fd, uint32_t proc, int e, const char *msg)
{
  size_t len;
  uint8_t *p = vm_error_encode(e, 1, msg, &len);
  int r;

  if (p == NULL)
    return -ENOMEM;
  r = vm_frame_write(fd, VM_MSG_ERROR, 0, proc, p, len);
  free(p);
  return r;
}

static int
reply_errno(int fd, uint32_t proc, int e, const char *what, const char *object)
{
  char msg[PATH_MAX + 128];

  snprintf(msg, sizeof msg, "%s `%s`: %s", what, object, agent_strerror(e));
  return reply_error(fd, proc, e, msg);
}

static int
open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how
      = { .flags = (uint64_t)flags | O_CLOEXEC, .mode = mode, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* mkdir -p of the parent directories of path, inside the root. */
static int
mkparents_in_root(int rootfd, const char *path)
{
  char buf[PATH_MAX], *p;

  if (strlen(path) >= sizeof buf)
    return -ENAMETOOLONG;
  strcpy(buf, path);
  for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++)
    {
      char *slash;
      int parent, fd;
      *p = '\0';
      fd = open_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
      if (fd >= 0)
        {
          close(fd);
          *p = '/';
          continue;
        }
      slash = strrchr(buf, '/');
      *slash = '\0';
      parent = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, 0);
      *slash = '/';
      if (parent < 0)
        return -errno;
      if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST)
        {
          int e = errno;
          close(parent);
          return -e;
        }
      close(parent);
      *p = '/';
    }
  return 0;
}

static int
wait_for(const char *path, int ms)
{
  struct timespec ts = { 0, 10 * 1000 * 1000 };
  int i;

  for (i = 0; i < ms / 10; i++)
    {
      if (access(path, F_OK) == 0)
        return 0;
      nanosleep(&ts, NULL);
    }
  return -ENOENT;
}

static int
ifreq_ioctl(int s, const char *name, unsigned long req, struct ifreq *ifr)
{
  snprintf(ifr->ifr_name, sizeof ifr->ifr_name, "%s", name);
  return ioctl(s, req, ifr);
}

static int
set_up(int s, const char *name)
{
  struct ifreq ifr;

  memset(&ifr, 0, sizeof ifr);
  if (ifreq_ioctl(s, name, SIOCGIFFLAGS, &ifr) < 0)
    return -errno;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ifreq_ioctl(s, name, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int
set_inet(int s, const char *name, unsigned long req, const char *addr)
{
  struct ifreq ifr;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

  memset(&ifr, 0, sizeof ifr);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, addr, &sin->sin_addr);
  return ifreq_ioctl(s, name, req, &ifr) < 0 ? -errno : 0;
}

/* QEMU's user-mode network: the guest is 10.0.2.15/24, the gateway (the host) 10.0.2.2, the
 * DNS relay 10.0.2.3 (QEMU's documented defaults). */
static int
setup_network(int rootfd, bool eth0, char *msg, size_t msglen)
{
  struct rtentry rt;
  struct sockaddr_in *sin;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;
  static const char resolv[] = "nameserver 10.0.2.3\n";

  if (s < 0)
    {
      snprintf(msg, msglen, "create a socket: %s", agent_strerror(errno));
      return -1;
    }
  r = set_up(s, "lo");
  if (r == 0 && eth0)
    {
      if (wait_for("/sys/class/net/eth0", 3000) < 0)
        {
          close(s);
          snprintf(msg, msglen, "configure the network: no `eth0` in the guest");
          return -1;
        }
      r = set_inet(s, "eth0", SIOCSIFADDR, "10.0.2.15");
      if (r == 0)
        r = set_inet(s, "eth0", SIOCSIFNETMASK, "255.255.255.0");
      if (r == 0)
        r = set_up(s, "eth0");
      if (r == 0)
        {
          memset(&rt, 0, sizeof rt);
          sin = (struct sockaddr_in *)&rt.rt_dst;
          sin->sin_family = AF_INET;
          sin = (struct sockaddr_in *)&rt.rt_genmask;
          sin->sin_family = AF_INET;
          sin = (struct sockaddr_in *)&rt.rt_gateway;
          sin->sin_family = AF_INET;
          inet_pton(AF_INET, "10.0.2.2", &sin->sin_addr);
          rt.rt_flags = RTF_UP | RTF_GATEWAY;
          rt.rt_dev = (char *)"eth0";
          if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
            r = -errno;
        }
      if (r == 0)
        {
          int fd;
          (void)unlinkat(rootfd, "etc/resolv.conf", 0);
          fd = open_in_root(rootfd, "/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
          if (fd >= 0)
            {
              (void)!write(fd, resolv, sizeof resolv - 1);
              close(fd);
            }
        }
    }
  close(s);
  if (r < 0)
    {
      snprintf(msg, msglen, "configure the network: %s", agent_strerror(-r));
      return -1;
    }
  return 0;
}

static int
mount_in_root(int rootfd, const char *dst, const char *src, const char *type, unsigned long flags, const char *data,
              char *msg, size_t msglen)
{
  char fdpath[64];
  int fd, r;

  (void)mkparents_in_root(rootfd, dst);
  fd = open_in_root(rootfd, dst, O_PATH | O_DIRECTORY, 0);
  if (fd < 0 && errno == ENOENT)
    {
      char parent[PATH_MAX];
      char *slash;
      int pfd;
      snprintf(parent, sizeof parent, "%s", dst);
      slash = strrchr(parent, '/');
      *slash = '\0';
      pfd = open_in_root(rootfd, parent[0] ? parent : "/", O_PATH | O_DIRECTORY, 0);
      if (pfd >= 0)
        {
          (void)mkdirat(pfd, slash + 1, 0755);
          close(pfd);
        }
      fd = open_in_root(rootfd, dst, O_PATH | O_DIRECTORY, 0);
    }
  if (fd < 0)
    {
      snprintf(msg, msglen, "create mount point `%s`: %s", dst, agent_strerror(errno));
      return -1;
    }
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  r = mount(src, fdpath, type, flags, data);
  if (r < 0)
    snprintf(msg, msglen, "mount `%s` on `%s`: %s", type, dst, agent_strerror(errno));
  close(fd);
  return r;
}

static int
do_setup(int fd, const agent_options_t *o, uint32_t proc, const uint8_t *payload, size_t len)
{
  char msg[512] = "";
  char *hostname = NULL;
  uint32_t flags;
  int rootfd = -1, r;

  if (sb_setup_decode(payload, len, &flags, &hostname) < 0)
    return reply_error(fd, proc, EPROTO, "set up the sandbox: malformed request");
  if (!o->guest)
    {
      /* On the host (tests): the root is o->root as it is. */
      free(hostname);
      return vm_frame_write(fd, VM_MSG_SB_DONE, 0, proc, NULL, 0);
    }
  (void)mkdir("/run/isolazi", 0700);
  (void)mkdir(o->root, 0755);
  if (wait_for(SB_DISK_DEVICE, 3000) < 0)
    {
      free(hostname);
      return reply_errno(fd, proc, ENODEV, "find the sandbox's disk", SB_DISK_DEVICE);
    }
  if (mount(SB_DISK_DEVICE, o->root, SB_DISK_FSTYPE, MS_NOATIME, NULL) < 0)
    {
      int e = errno;
      free(hostname);
      return reply_errno(fd, proc, e, "mount the sandbox's disk", SB_DISK_DEVICE);
    }
  rootfd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  r = rootfd < 0 ? -1 : 0;
  if (r == 0)
    r = mount_in_root(rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, msg, sizeof msg);
  if (r == 0)
    r = mount_in_root(rootfd, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, msg, sizeof msg);
  if (r == 0)
    r = mount_in_root(rootfd, "/dev", "devtmpfs", "devtmpfs", MS_NOSUID, "mode=0755", msg, sizeof msg);
  if (r == 0)
    r = mount_in_root(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                      "newinstance,ptmxmode=0666,mode=0620", msg, sizeof msg);
  if (r == 0)
    r = mount_in_root(rootfd, "/dev/shm", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", msg, sizeof msg);
  if (r == 0)
    r = mount_in_root(rootfd, "/run", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", msg, sizeof msg);
  if (r == 0)
    {
      char p[PATH_MAX];
      snprintf(p, sizeof p, "%s/dev/ptmx", o->root);
      (void)unlink(p);
      (void)symlink("pts/ptmx", p);
      snprintf(p, sizeof p, "%s/dev/fd", o->root);
      (void)symlink("/proc/self/fd", p);
    }
  if (r == 0 && hostname != NULL && sethostname(hostname, strlen(hostname)) < 0)
    {
      snprintf(msg, sizeof msg, "set the hostname `%s`: %s", hostname, agent_strerror(errno));
      r = -1;
    }
  if (r == 0)
    r = setup_network(rootfd, (flags & SB_SETUP_NETWORK) != 0, msg, sizeof msg);
  if (rootfd >= 0)
    close(rootfd);
  free(hostname);
  if (r < 0)
    return reply_error(fd, proc, EIO, msg[0] ? msg : "set up the sandbox: failed");
  return vm_frame_write(fd, VM_MSG_SB_DONE, 0, proc, NULL, 0);
}

static int
root_open(const agent_options_t *o)
{
  return open(o->root != NULL ? o->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int
do_write(int fd, const agent_options_t *o, uint32_t proc, const uint8_t *payload, size_t len)
{
  sb_file_req_t q;
  int rootfd, f, r, e;
  size_t off = 0;

  if (sb_write_decode(payload, len, &q) < 0)
    return reply_error(fd, proc, EPROTO, "write a file: malformed request");
  rootfd = root_open(o);
  if (rootfd < 0)
    {
      r = reply_errno(fd, proc, errno, "open the sandbox's root", o->root);
      free(q.path);
      return r;
    }
  if (q.flags & SB_WRITE_MKDIRS)
    (void)mkparents_in_root(rootfd, q.path);
  f = open_in_root(rootfd, q.path, O_WRONLY | O_CREAT | O_NOFOLLOW | ((q.flags & SB_WRITE_APPEND) ? O_APPEND : O_TRUNC),
                   q.mode & 07777);
  if (f < 0)
    {
      r = reply_errno(fd, proc, errno, "open", q.path);
      goto out;
    }
  while (off < q.data_len)
    {
      ssize_t n = write(f, q.data + off, q.data_len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      off += (size_t)n;
    }
  /* Durable before the host says "written": a snapshot or a killed VM right after keeps it. */
  if (off < q.data_len || fsync(f) < 0)
    {
      e = errno;
      close(f);
      r = reply_errno(fd, proc, e, "write", q.path);
      goto out;
    }
  if (!(q.flags & SB_WRITE_APPEND))
    (void)fchmod(f, q.mode & 07777);
  close(f);
  r = vm_frame_write(fd, VM_MSG_SB_DONE, 0, proc, NULL, 0);
out:
  close(rootfd);
  free(q.path);
  return r;
}

static int
do_read(int fd, const agent_options_t *o, uint32_t proc, const uint8_t *payload, size_t len)
{
  sb_file_req_t q;
  struct stat st;
  uint8_t *buf = NULL;
  size_t max, got = 0;
  int rootfd, f = -1, r;

  if (sb_read_decode(payload, len, &q) < 0)
    return reply_error(fd, proc, EPROTO, "read a file: malformed request");
  rootfd = root_open(o);
  if (rootfd < 0)
    {
      r = reply_errno(fd, proc, errno, "open the sandbox's root", o->root);
      goto out;
    }
  f = open_in_root(rootfd, q.path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  if (f < 0 || fstat(f, &st) < 0)
    {
      r = reply_errno(fd, proc, errno, "open", q.path);
      goto out;
    }
  if (!S_ISREG(st.st_mode))
    {
      r = reply_errno(fd, proc, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "read", q.path);
      goto out;
    }
  max = q.max < SB_CHUNK ? q.max : SB_CHUNK;
  buf = malloc(8 + max);
  if (buf == NULL)
    {
      r = reply_errno(fd, proc, ENOMEM, "read", q.path);
      goto out;
    }
  while (got < max)
    {
      ssize_t n = pread(f, buf + 8 + got, max - got, (off_t)(q.offset + got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          r = reply_errno(fd, proc, errno, "read", q.path);
          goto out;
        }
      if (n == 0)
        break;
      got += (size_t)n;
    }
  sb_put_u64(buf, (uint64_t)st.st_size);
  r = vm_frame_write(fd, VM_MSG_SB_DONE, 0, proc, buf, 8 + got);
out:
  free(buf);
  if (f >= 0)
    close(f);
  if (rootfd >= 0)
    close(rootfd);
  free(q.path);
  return r;
}

static int
do_freeze(int fd, const agent_options_t *o, uint32_t proc, const uint8_t *payload, size_t len)
{
  uint32_t v;
  int rootfd;

  if (vm_payload_u32(payload, len, &v) < 0)
    return reply_error(fd, proc, EPROTO, "freeze: malformed request");
  sync();
  if (!o->guest)
    return vm_frame_write(fd, VM_MSG_SB_DONE, 0, proc, NULL, 0);
  rootfd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return reply_errno(fd, proc, errno, "open", o->root);
  /* FIFREEZE flushes the journal too: the disk is consistent while the host copies its state.
   * Thawing a file system that is not frozen is EINVAL: fine. */
  if (ioctl(rootfd, v ? FIFREEZE : FITHAW, 0) < 0 && !(v == 0 && errno == EINVAL))
    {
      int e = errno;
      close(rootfd);
      return reply_errno(fd, proc, e, v ? "freeze" : "thaw", o->root);
    }
  close(rootfd);
  return vm_frame_write(fd, VM_MSG_SB_DONE, 0, proc, NULL, 0);
}

int
agent_sandbox_frame(int fd, const agent_options_t *o, const vm_frame_header_t *h, const uint8_t *payload)
{
  switch (h->type)
    {
    case VM_MSG_SB_SETUP:
      return do_setup(fd, o, h->proc, payload, h->len);
    case VM_MSG_SB_WRITE:
      return do_write(fd, o, h->proc, payload, h->len);
    case VM_MSG_SB_READ:
      return do_read(fd, o, h->proc, payload, h->len);
    case VM_MSG_SB_FREEZE:
      return do_freeze(fd, o, h->proc, payload, h->len);
    default:
      return 0;
    }
}
