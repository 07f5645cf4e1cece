/* SPDX-License-Identifier: Apache-2.0 */
/* A planted attacker for tests/integration/escapes.bats, run inside containers (static).
 *
 *   attack procs SECONDS   for SECONDS, over and over, go through /proc/[0-9]* and attack every
 *                          process whose comm starts with "isolazi" (the runtime, or its init
 *                          before exec): open /proc/PID/exe for writing (CVE-2019-5736), open it
 *                          O_PATH and reopen that through /proc/self/fd for writing, open
 *                          /proc/PID/mem, PTRACE_ATTACH.  Prints "SEEN PID COMM" once per such
 *                          process, "HIT WHAT PID" for every success, and "tries=N" at the end.
 *   attack fds             print the fds open in this process and where they point. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEEN 256

static int seen[MAX_SEEN];
static int n_seen;

static void
note_seen(int pid, const char *comm)
{
  int i;

  for (i = 0; i < n_seen; i++)
    if (seen[i] == pid)
      return;
  if (n_seen < MAX_SEEN)
    seen[n_seen++] = pid;
  printf("SEEN %d %s\n", pid, comm);
  fflush(stdout);
}

static void
attack_pid(int pid)
{
  char path[64], comm[64] = "", fdpath[64];
  int fd, fd2;
  ssize_t n;

  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  n = read(fd, comm, sizeof comm - 1);
  close(fd);
  if (n <= 0)
    return;
  comm[n] = '\0';
  comm[strcspn(comm, "\n")] = '\0';
  if (strncmp(comm, "isolazi", 7) != 0)
    return;
  note_seen(pid, comm);

  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      printf("HIT exe-write %d\n", pid);
      close(fd);
    }
  fd = open(path, O_PATH | O_CLOEXEC);
  if (fd >= 0)
    {
      printf("HIT exe-path %d\n", pid);
      snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
      fd2 = open(fdpath, O_WRONLY | O_CLOEXEC);
      if (fd2 >= 0 || errno == ETXTBSY)
        {
          printf("HIT exe-reopen %d (%s)\n", pid, fd2 >= 0 ? "opened" : "busy");
          if (fd2 >= 0)
            close(fd2);
        }
      close(fd);
    }
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      printf("HIT mem %d\n", pid);
      close(fd);
    }
  if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0)
    {
      printf("HIT ptrace %d\n", pid);
      (void)waitpid(pid, NULL, __WALL);
      (void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
    }
  fflush(stdout);
}

static int
procs(int seconds)
{
  time_t end = time(NULL) + seconds;
  long tries = 0;

  while (time(NULL) < end)
    {
      DIR *d = opendir("/proc");
      struct dirent *e;

      if (d == NULL)
        return 1;
      while ((e = readdir(d)) != NULL)
        {
          int pid = atoi(e->d_name);
          if (pid > 0 && pid != getpid())
            {
              attack_pid(pid);
              tries++;
            }
        }
      closedir(d);
    }
  printf("tries=%ld\n", tries);
  return 0;
}

static int
fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;

  if (d == NULL)
    return 1;
  while ((e = readdir(d)) != NULL)
    {
      char path[300], target[512];
      ssize_t n;

      if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
        continue;
      snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      n = readlink(path, target, sizeof target - 1);
      target[n > 0 ? n : 0] = '\0';
      printf("%s %s\n", e->d_name, target);
    }
  closedir(d);
  return 0;
}

int
main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "procs") == 0)
    return procs(atoi(argv[2]));
  if (argc == 2 && strcmp(argv[1], "fds") == 0)
    return fds();
  fprintf(stderr, "usage: attack procs SECONDS | attack fds\n");
  return 2;
}
