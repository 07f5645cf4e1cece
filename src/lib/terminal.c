/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "terminal.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int
isolazi_terminal_send_master(int sock, int master, const void *data, size_t len, isolazi_error_t *err)
{
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = { (void *)data, len };
  struct msghdr mh = { 0 };
  struct cmsghdr *cm;

  memset(&ctl, 0, sizeof ctl);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &master, sizeof(int));
  if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
    return isolazi_error_errno(err, "send the pty master to the console socket");
  return 0;
}

/* The pty lives in the container's own devpts (after pivot_root, /dev/ptmx is the container's);
   the master goes to the console socket as one message with one SCM_RIGHTS fd, which is what
   conmon and go-runc accept. */
int
isolazi_terminal_setup_console(int console_fd, const oci_process *p, isolazi_error_t *err)
{
  cleanup_close int master = -1, slave = -1;
  int unlock = 0;
  static const char data[] = "/dev/ptmx";

  master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return isolazi_error_errno(err, "open `/dev/ptmx` in the container");
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return isolazi_error_errno(err, "unlock the pty");
  slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return isolazi_error_errno(err, "open the pty peer");
  if (p->user.uid != 0 && fchown(slave, p->user.uid, (gid_t)-1) < 0)
    return isolazi_error_errno(err, "chown the pty to uid %u", p->user.uid);
  if (p->console_size != NULL)
    {
      struct winsize ws = { (unsigned short)p->console_size->height, (unsigned short)p->console_size->width, 0, 0 };
      (void)ioctl(slave, TIOCSWINSZ, &ws);
    }
  if (isolazi_terminal_send_master(console_fd, master, data, sizeof data - 1, err) < 0)
    return -1;
  if (setsid() < 0)
    return isolazi_error_errno(err, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return isolazi_error_errno(err, "make the pty the controlling terminal");
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
    return isolazi_error_errno(err, "make the pty the process's stdio");
  return 0;
}

int
isolazi_terminal_recv_master(int sock, isolazi_error_t *err)
{
  char data[64];
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = { data, sizeof data };
  struct msghdr mh = { 0 };
  struct cmsghdr *cm;
  ssize_t n;
  int fd;

  memset(&ctl, 0, sizeof ctl);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  do
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return isolazi_error_errno(err, "receive the pty master");
  cm = CMSG_FIRSTHDR(&mh);
  if (n == 0 || cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS
      || cm->cmsg_len != CMSG_LEN(sizeof(int)) || (mh.msg_flags & MSG_CTRUNC))
    return isolazi_error_set(err, 0, "receive the pty master: no file descriptor in the message");
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/* ---- the interactive relay ---- */

static void
copy_winsize(int from, int to)
{
  struct winsize ws;

  if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
    (void)ioctl(to, TIOCSWINSZ, &ws);
}

/* Write all of buf to a blocking fd (stdout). */
static void
write_out(int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write(fd, buf, len);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return; /* stdout gone: the output is lost, the session goes on */
        }
      buf += w;
      len -= (size_t)w;
    }
}

/* Read what the master has; false once it reports the slave side closed (EIO) or EOF. */
static bool
drain_master(int master)
{
  char buf[8192];

  for (;;)
    {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0)
        {
          write_out(STDOUT_FILENO, buf, (size_t)n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      return n < 0 && errno == EAGAIN;
    }
}

int
isolazi_terminal_relay(int master, pid_t pid, int pidfd, int *ret_status, isolazi_error_t *err)
{
  struct termios saved;
  bool raw = false, stdin_open = true, master_open = true;
  sigset_t old;
  cleanup_close int sfd = -1;
  char pending[4096];
  size_t pending_len = 0, pending_off = 0;
  int status = 0, r = 0;

  /* Non-blocking master: a process that stops reading its input must not stall its output. */
  if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0)
    {
      close(master);
      return isolazi_error_errno(err, "make the pty master non-blocking");
    }
  sfd = isolazi_signalfd_forwarding(&old, err);
  if (sfd < 0)
    {
      close(master);
      return -1;
    }
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0)
    {
      struct termios t = saved;
      /* Raw: keys such as Ctrl-C reach the container's line discipline as bytes, which turns
         them into signals for its foreground process group. */
      cfmakeraw(&t);
      raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
      copy_winsize(STDIN_FILENO, master);
    }
  for (;;)
    {
      struct pollfd pfds[4] = {
        { pidfd, POLLIN, 0 },
        { sfd, POLLIN, 0 },
        { master_open ? master : -1, (short)(POLLIN | (pending_len > 0 ? POLLOUT : 0)), 0 },
        { stdin_open && pending_len == 0 ? STDIN_FILENO : -1, POLLIN, 0 },
      };
      if (poll(pfds, 4, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          r = isolazi_error_errno(err, "poll the terminal");
          break;
        }
      if (pfds[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
            {
              if (si.ssi_signo == SIGWINCH)
                copy_winsize(STDIN_FILENO, master);
              else if (si.ssi_signo != SIGCHLD)
                (void)syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
            }
        }
      if (pfds[3].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read(STDIN_FILENO, pending, sizeof pending);
          if (n > 0)
            {
              pending_len = (size_t)n;
              pending_off = 0;
            }
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            {
              stdin_open = false;
              /* Our terminal hung up: hang up the container's too (closing the master sends
                 SIGHUP to its session, as a terminal going away does). */
              if (raw && master >= 0)
                {
                  close(master);
                  master = -1;
                  master_open = false;
                }
            }
        }
      if (pending_len > 0 && master >= 0)
        {
          ssize_t w = write(master, pending + pending_off, pending_len);
          if (w > 0)
            {
              pending_off += (size_t)w;
              pending_len -= (size_t)w;
            }
          else if (w < 0 && errno != EAGAIN && errno != EINTR)
            pending_len = 0; /* the slave side is gone: nobody reads the input any more */
        }
      if (master_open && (pfds[2].revents & (POLLIN | POLLHUP | POLLERR)))
        master_open = drain_master(master);
      if (pfds[0].revents & POLLIN)
        {
          /* Exited: what it wrote last is still in the pty. */
          if (master_open)
            (void)drain_master(master);
          break;
        }
    }
  if (raw)
    (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (master >= 0)
    close(master);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        if (r == 0)
          r = isolazi_error_errno(err, "wait for the process");
        break;
      }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (r == 0)
    *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}
