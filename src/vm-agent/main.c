/* SPDX-License-Identifier: Apache-2.0 */
/* isolazi-vm-agent: pid 1 of an isolazi-vm guest (the initramfs's /init).
 *
 * It mounts the API file systems, loads the kernel modules listed in /modules (in order; the
 * host computed them from modules.dep), opens the channel to the host and serves it
 * (serve.c), then powers the guest off.  Anything that goes wrong before the channel is open
 * goes to the serial console, which the host keeps for its error message.
 *
 * Kernel command line: isolazi.transport=virtio-serial|vsock (default virtio-serial). */
#define _GNU_SOURCE
#include "config.h"
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROOT "/run/isolazi/root"

static void __attribute__((noreturn)) power_off(void)
{
  sync();
  (void)reboot(RB_POWER_OFF);
  for (;;)
    pause();
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
  va_list ap;

  fprintf(stderr, "isolazi-vm-agent: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  power_off();
}

static void
mount_api(void)
{
  static const struct
  {
    const char *src, *dst, *type, *data;
    unsigned long flags;
  } m[] = {
    { "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
    { "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
    { "devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID },
    { "devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620", MS_NOSUID | MS_NOEXEC },
    { "tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV },
    { "tmpfs", "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV },
  };
  size_t i;

  for (i = 0; i < sizeof m / sizeof m[0]; i++)
    {
      (void)mkdir(m[i].dst, 0755);
      if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, m[i].data) < 0 && errno != EBUSY)
        die("mount `%s` on `%s`: %s", m[i].type, m[i].dst, agent_strerror(errno));
    }
  (void)unlink("/dev/ptmx");
  (void)symlink("pts/ptmx", "/dev/ptmx");
}

/* /modules: one path per line, dependencies first. */
static void
load_modules(void)
{
  char line[512];
  FILE *f = fopen("/modules", "re");

  if (f == NULL)
    return;
  while (fgets(line, sizeof line, f) != NULL)
    {
      int fd;
      line[strcspn(line, "\n")] = '\0';
      if (line[0] == '\0')
        continue;
      fd = open(line, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        die("open module `%s`: %s", line, agent_strerror(errno));
      if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
        die("load module `%s`: %s", line, agent_strerror(errno));
      close(fd);
    }
  fclose(f);
}

/* The value of `key=` on the kernel command line, malloc'd, or NULL. */
static char *
cmdline_value(const char *key)
{
  char buf[4096], *p, *tok, *save = NULL;
  size_t klen = strlen(key);
  ssize_t n;
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return NULL;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  for (p = buf; (tok = strtok_r(p, " \n", &save)) != NULL; p = NULL)
    if (strncmp(tok, key, klen) == 0 && tok[klen] == '=')
      return strdup(tok + klen + 1);
  return NULL;
}

int
main(int argc, char **argv)
{
  agent_options_t o = { .guest = true, .root = ROOT, .shares_start = agent_shares_start };
  char msg[256], *transport;
  int fd, status;

  if (getpid() != 1)
    {
      fprintf(stderr, "isolazi-vm-agent: runs as pid 1 of an isolazi-vm guest only\n");
      return 1;
    }
  mount_api();
  load_modules();
  transport = cmdline_value("isolazi.transport");
  fd = agent_transport_open(transport, msg, sizeof msg);
  free(transport);
  if (fd < 0)
    die("%s", msg);
  status = agent_serve(fd, &o);
  if (status < 0)
    fprintf(stderr, "isolazi-vm-agent: the host went away\n");
  close(fd);
  power_off();
}
