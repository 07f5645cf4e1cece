/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "hooks.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a failing hook printed is kept for the error message, bounded. */
#define HOOK_OUTPUT_MAX 2048

static long long
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn)) hook_child(const oci_hook *h, int in_fd, int out_fd)
{
  static char *empty_env[] = { NULL };
  char *default_argv[] = { h->path, NULL };
  char **argv = h->args_len > 0 ? h->args : default_argv;
  sigset_t all;

  /* The hook gets the state on stdin, its output goes to our capture pipe, and it inherits
     none of the runtime's other fds (all of ours are close-on-exec; a caller's leak is not). */
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
    _exit(127);
  (void)isolazi_close_fds_from(3, NULL, 0, NULL);
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  execve(h->path, argv, h->env_len > 0 ? h->env : empty_env);
  dprintf(2, "exec: %s", strerror(errno));
  _exit(127);
}

static int
run_one(const oci_hook *h, const char *kind, size_t index, const char *state_json, isolazi_error_t *err)
{
  int in_pipe[2], out_pipe[2];
  char out[HOOK_OUTPUT_MAX + 1];
  size_t out_len = 0;
  long long deadline = h->timeout_present && h->timeout > 0 ? now_ms() + h->timeout * 1000 : -1;
  bool timed_out = false, out_open = true;
  int status = 0;
  pid_t pid, w;

  if (pipe2(in_pipe, O_CLOEXEC) < 0)
    return isolazi_error_errno(err, "hooks.%s[%zu] `%s`: pipe", kind, index, h->path);
  if (pipe2(out_pipe, O_CLOEXEC) < 0)
    {
      close(in_pipe[0]);
      close(in_pipe[1]);
      return isolazi_error_errno(err, "hooks.%s[%zu] `%s`: pipe", kind, index, h->path);
    }
  pid = fork();
  if (pid < 0)
    {
      int saved = errno;
      close(in_pipe[0]), close(in_pipe[1]), close(out_pipe[0]), close(out_pipe[1]);
      return isolazi_error_set(err, saved, "hooks.%s[%zu] `%s`: fork", kind, index, h->path);
    }
  if (pid == 0)
    hook_child(h, in_pipe[0], out_pipe[1]);
  close(in_pipe[0]);
  close(out_pipe[1]);
  /* The state is small (a few hundred bytes) and fits the pipe buffer; a hook that does not
     read stdin must not block us, hence no error on EPIPE.  A hook that has already exited
     (/bin/false) makes the write raise SIGPIPE, which would kill the runtime: ignored for the
     write, then restored (the hook was forked before, so it keeps the default). */
  {
    struct sigaction ign, old;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    (void)sigemptyset(&ign.sa_mask);
    (void)sigaction(SIGPIPE, &ign, &old);
    (void)isolazi_write_all(in_pipe[1], state_json, strlen(state_json));
    (void)sigaction(SIGPIPE, &old, NULL);
  }
  close(in_pipe[1]);

  for (;;)
    {
      struct pollfd pfd = { out_pipe[0], POLLIN, 0 };
      int timeout = -1, r;
      if (deadline >= 0)
        {
          long long left = deadline - now_ms();
          timeout = left > 0 ? (int)left : 0;
        }
      if (!out_open)
        {
          /* Output closed (or the hook daemonised a child holding it): wait for the hook itself. */
          w = waitpid(pid, &status, deadline >= 0 ? WNOHANG : 0);
          if (w == pid)
            break;
          if (w < 0 && errno != EINTR)
            break;
          if (deadline >= 0 && now_ms() >= deadline)
            {
              timed_out = true;
              break;
            }
          if (w == 0)
            {
              struct timespec ts = { 0, 5 * 1000 * 1000 };
              nanosleep(&ts, NULL);
            }
          continue;
        }
      r = poll(&pfd, 1, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0)
        {
          timed_out = true;
          break;
        }
      if (r > 0)
        {
          char buf[1024];
          ssize_t n = read(out_pipe[0], buf, sizeof buf);
          if (n <= 0)
            {
              out_open = false;
              continue;
            }
          /* keep the last HOOK_OUTPUT_MAX bytes: the end of the output says why it failed
             (buf is smaller than out, so one read never overflows it alone) */
          if (out_len + (size_t)n > HOOK_OUTPUT_MAX)
            {
              size_t drop = out_len + (size_t)n - HOOK_OUTPUT_MAX;
              memmove(out, out + drop, out_len - drop);
              out_len -= drop;
            }
          memcpy(out + out_len, buf, (size_t)n);
          out_len += (size_t)n;
        }
    }
  close(out_pipe[0]);
  if (timed_out)
    {
      (void)kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
      return isolazi_error_set(err, 0, "hooks.%s[%zu] `%s`: timed out after %lld s", kind, index, h->path,
                               (long long)h->timeout);
    }
  out[out_len] = '\0';
  while (out_len > 0 && (out[out_len - 1] == '\n' || out[out_len - 1] == ' '))
    out[--out_len] = '\0';
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    {
      if (out_len > 0)
        isolazi_debug("hooks.%s[%zu] `%s`: %s", kind, index, h->path, out);
      return 0;
    }
  if (WIFSIGNALED(status))
    return isolazi_error_set(err, 0, "hooks.%s[%zu] `%s`: killed by signal %d%s%s", kind, index, h->path,
                             WTERMSIG(status), out_len ? ": " : "", out);
  return isolazi_error_set(err, 0, "hooks.%s[%zu] `%s`: exit status %d%s%s", kind, index, h->path, WEXITSTATUS(status),
                           out_len ? ": " : "", out);
}

int
isolazi_hooks_run(const oci_hook *hooks, size_t n, const char *kind, const char *state_json, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      isolazi_debug("running hooks.%s[%zu] `%s`", kind, i, hooks[i].path);
      if (run_one(&hooks[i], kind, i, state_json, err) < 0)
        return -1;
    }
  return 0;
}
