/* SPDX-License-Identifier: Apache-2.0 */
/*
 * payload: a tiny static program run inside test containers to print exactly what the
 * integration tests need to check (ids, caps, fds, limits, ...), in a stable format that
 * does not depend on the busybox build in the rootfs.
 *
 * Usage: payload COMMAND [ARGS...]; see usage() for the list.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* utsname.domainname */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static int
usage(void)
{
  fputs("usage: payload ids|caps|fds|mountinfo|cgroup|env|cwd|rlimits|umask|hostname|pid|\n"
        "               sleep N|exit N|write PATH TEXT|oom_score_adj|sysctl NAME|signals\n",
        stderr);
  return 2;
}

/* Copy a file to stdout, optionally only the lines starting with PREFIX. */
static int
cat_file(const char *path, const char *prefix)
{
  char line[4096];
  FILE *f = fopen(path, "re");
  if (f == NULL)
    {
      fprintf(stderr, "open `%s`: %s\n", path, strerror(errno));
      return 1;
    }
  while (fgets(line, sizeof line, f) != NULL)
    if (prefix == NULL || strncmp(line, prefix, strlen(prefix)) == 0)
      fputs(line, stdout);
  fclose(f);
  return 0;
}

static int
cmd_ids(void)
{
  gid_t groups[NGROUPS_MAX];
  int n = getgroups(NGROUPS_MAX, groups);
  if (n < 0)
    {
      perror("getgroups");
      return 1;
    }
  printf("uid=%u gid=%u euid=%u egid=%u groups=", (unsigned)getuid(), (unsigned)getgid(), (unsigned)geteuid(),
         (unsigned)getegid());
  for (int i = 0; i < n; i++)
    printf("%s%u", i ? "," : "", (unsigned)groups[i]);
  putchar('\n');
  return 0;
}

/* One line per open fd: "FD TARGET".  The directory stream's own fd is left out. */
static int
cmd_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  if (d == NULL)
    {
      perror("opendir /proc/self/fd");
      return 1;
    }
  int self = dirfd(d);
  while ((de = readdir(d)) != NULL)
    {
      char path[64], target[PATH_MAX];
      ssize_t len;
      if (de->d_name[0] == '.')
        continue;
      int fd = atoi(de->d_name);
      if (fd == self)
        continue;
      snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
      len = readlink(path, target, sizeof target - 1);
      if (len < 0)
        continue;
      target[len] = '\0';
      printf("%d %s\n", fd, target);
    }
  closedir(d);
  return 0;
}

static int
cmd_env(void)
{
  for (char **e = environ; *e != NULL; e++)
    puts(*e);
  return 0;
}

static int
cmd_cwd(void)
{
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf) == NULL)
    {
      perror("getcwd");
      return 1;
    }
  puts(buf);
  return 0;
}

static const struct
{
  const char *name;
  int resource;
} rlimits[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

static void
print_limit(rlim_t v)
{
  if (v == RLIM_INFINITY)
    fputs("unlimited", stdout);
  else
    printf("%llu", (unsigned long long)v);
}

/* "RLIMIT_NOFILE soft hard", one per line. */
static int
cmd_rlimits(void)
{
  for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++)
    {
      struct rlimit rl;
      if (getrlimit(rlimits[i].resource, &rl) < 0)
        continue;
      printf("%s ", rlimits[i].name);
      print_limit(rl.rlim_cur);
      putchar(' ');
      print_limit(rl.rlim_max);
      putchar('\n');
    }
  return 0;
}

static int
cmd_umask(void)
{
  mode_t m = umask(0);
  umask(m);
  printf("%04o\n", (unsigned)m);
  return 0;
}

static int
cmd_hostname(void)
{
  struct utsname u;
  if (uname(&u) < 0)
    {
      perror("uname");
      return 1;
    }
  printf("nodename=%s\ndomainname=%s\n", u.nodename, u.domainname);
  return 0;
}

static int
cmd_pid(void)
{
  printf("pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
  return 0;
}

static int
cmd_write(const char *path, const char *text)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      fprintf(stderr, "open `%s`: %s\n", path, strerror(errno));
      return 1;
    }
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len)
    {
      fprintf(stderr, "write `%s`: %s\n", path, strerror(errno));
      close(fd);
      return 1;
    }
  if (close(fd) < 0)
    {
      fprintf(stderr, "close `%s`: %s\n", path, strerror(errno));
      return 1;
    }
  return 0;
}

/* NAME is in dotted form (net.ipv4.ip_forward); print the value of /proc/sys/net/ipv4/ip_forward. */
static int
cmd_sysctl(const char *name)
{
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "/proc/sys/%s", name);
  if (n < 0 || (size_t)n >= sizeof path)
    return 1;
  for (char *p = path + strlen("/proc/sys/"); *p != '\0'; p++)
    if (*p == '.')
      *p = '/';
  return cat_file(path, NULL);
}

static int
cmd_signals(void)
{
  sigset_t blocked;
  unsigned long long bmask = 0, imask = 0;
  if (sigprocmask(SIG_BLOCK, NULL, &blocked) < 0)
    {
      perror("sigprocmask");
      return 1;
    }
  for (int sig = 1; sig <= 64; sig++)
    {
      struct sigaction sa;
      if (sigismember(&blocked, sig) == 1)
        bmask |= 1ULL << (sig - 1);
      if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
        imask |= 1ULL << (sig - 1);
    }
  printf("blocked=%016llx\nignored=%016llx\n", bmask, imask);
  return 0;
}

static int
parse_int(const char *s, long *out)
{
  char *end;
  errno = 0;
  *out = strtol(s, &end, 10);
  return errno != 0 || *s == '\0' || *end != '\0' ? -1 : 0;
}

int
main(int argc, char **argv)
{
  long n;
  const char *cmd = argc > 1 ? argv[1] : "";
  int ret;

  if (strcmp(cmd, "ids") == 0)
    ret = cmd_ids();
  else if (strcmp(cmd, "caps") == 0)
    ret = cat_file("/proc/self/status", "Cap");
  else if (strcmp(cmd, "fds") == 0)
    ret = cmd_fds();
  else if (strcmp(cmd, "mountinfo") == 0)
    ret = cat_file("/proc/self/mountinfo", NULL);
  else if (strcmp(cmd, "cgroup") == 0)
    ret = cat_file("/proc/self/cgroup", NULL);
  else if (strcmp(cmd, "env") == 0)
    ret = cmd_env();
  else if (strcmp(cmd, "cwd") == 0)
    ret = cmd_cwd();
  else if (strcmp(cmd, "rlimits") == 0)
    ret = cmd_rlimits();
  else if (strcmp(cmd, "umask") == 0)
    ret = cmd_umask();
  else if (strcmp(cmd, "hostname") == 0)
    ret = cmd_hostname();
  else if (strcmp(cmd, "pid") == 0)
    ret = cmd_pid();
  else if (strcmp(cmd, "oom_score_adj") == 0)
    ret = cat_file("/proc/self/oom_score_adj", NULL);
  else if (strcmp(cmd, "signals") == 0)
    ret = cmd_signals();
  else if (strcmp(cmd, "sleep") == 0 && argc == 3 && parse_int(argv[2], &n) == 0)
    {
      while (n > 0)
        n = (long)sleep((unsigned)n);
      ret = 0;
    }
  else if (strcmp(cmd, "exit") == 0 && argc == 3 && parse_int(argv[2], &n) == 0)
    ret = (int)n;
  else if (strcmp(cmd, "write") == 0 && argc == 4)
    ret = cmd_write(argv[2], argv[3]);
  else if (strcmp(cmd, "sysctl") == 0 && argc == 3)
    ret = cmd_sysctl(argv[2]);
  else
    return usage();

  if (fflush(stdout) != 0)
    return 1;
  return ret;
}
