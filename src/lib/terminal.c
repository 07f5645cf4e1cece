/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "terminal.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The pty lives in the container's own devpts (after pivot_root, /dev/ptmx is the container's);
   the master goes to the console socket as one message with one SCM_RIGHTS fd, which is what
   conmon and go-runc accept. */
int
isolazi_terminal_setup_console(int console_fd, const oci_process *p, isolazi_error_t *err)
{
  cleanup_close int master = -1, slave = -1;
  int unlock = 0;
  char data[] = "/dev/ptmx";
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = { data, sizeof data - 1 };
  struct msghdr mh = { 0 };
  struct cmsghdr *cm;

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
  if (sendmsg(console_fd, &mh, MSG_NOSIGNAL) < 0)
    return isolazi_error_errno(err, "send the pty master to the console socket");
  if (setsid() < 0)
    return isolazi_error_errno(err, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return isolazi_error_errno(err, "make the pty the controlling terminal");
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
    return isolazi_error_errno(err, "make the pty the process's stdio");
  return 0;
}
