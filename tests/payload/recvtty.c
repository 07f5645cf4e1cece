/* SPDX-License-Identifier: Apache-2.0 */
/* recvtty: the host side of --console-socket for the integration tests.
 *
 *   recvtty [-i INPUT] [-s ROWSxCOLS] [-r ROWSxCOLS] SOCKET
 *
 * Listens on SOCKET (made visible only once it listens, by renaming, so that a test can wait
 * for the file), accepts one connection and receives the pty master with exactly the checks
 * go-runc makes (a name buffer of 4096 bytes, a control buffer of CMSG_SPACE(4): data length
 * > 0 and < 4096, control length CMSG_SPACE(4), one control message, one fd).  It reports
 * what it got on stderr, sets the window size (-s, as a terminal emulator that is resized
 * would), writes INPUT to the master, then copies the master to stdout until the pty's other
 * side is closed by every process.  -r resizes the terminal once more, after the first output
 * (a test's process prints something, then watches its size change). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void __attribute__((noreturn)) die(const char *what)
{
  fprintf(stderr, "recvtty: %s: %s\n", what, errno != 0 ? strerror(errno) : "check failed");
  exit(1);
}

static void
set_size(int master, const char *size)
{
  struct winsize ws = { 0 };
  unsigned rows, cols;

  errno = 0;
  if (sscanf(size, "%ux%u", &rows, &cols) != 2)
    die("window size: expected ROWSxCOLS");
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  if (ioctl(master, TIOCSWINSZ, &ws) < 0)
    die("set the window size");
}

int
main(int argc, char **argv)
{
  const char *input = NULL, *size = NULL, *resize = NULL, *path = NULL;
  struct sockaddr_un addr;
  char tmp[sizeof addr.sun_path], name[4096], buf[4096];
  char oob[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { name, sizeof name };
  struct msghdr mh;
  struct cmsghdr *cm;
  int lfd, conn, master, ncmsg = 0, ptn;
  ssize_t n;

  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-i") == 0 && i + 1 < argc)
      input = argv[++i];
    else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
      size = argv[++i];
    else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
      resize = argv[++i];
    else if (path == NULL && argv[i][0] != '-')
      path = argv[i];
    else
      path = NULL, i = argc;
  if (path == NULL)
    {
      fprintf(stderr, "usage: recvtty [-i INPUT] [-s ROWSxCOLS] [-r ROWSxCOLS] SOCKET\n");
      return 2;
    }
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    die("socket path too long");
  strcpy(addr.sun_path, tmp);
  unlink(tmp);
  lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1) < 0)
    die("listen");
  if (rename(tmp, path) < 0)
    die("rename the socket");
  conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    die("accept");

  memset(&mh, 0, sizeof mh);
  memset(oob, 0, sizeof oob);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = oob;
  mh.msg_controllen = sizeof oob;
  n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
  if (n < 0)
    die("recvmsg");
  errno = 0;
  if (n == 0 || n >= (ssize_t)sizeof name)
    die("data length");
  if (mh.msg_controllen != CMSG_SPACE(sizeof(int)) || (mh.msg_flags & MSG_CTRUNC))
    die("control length");
  for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
    ncmsg++;
  cm = CMSG_FIRSTHDR(&mh);
  if (ncmsg != 1 || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS
      || cm->cmsg_len != CMSG_LEN(sizeof(int)))
    die("control message");
  memcpy(&master, CMSG_DATA(cm), sizeof master);
  if (ioctl(master, TIOCGPTN, &ptn) < 0)
    die("TIOCGPTN on the received fd");
  fprintf(stderr, "recvtty: name=%.*s controllen=%zu cmsgs=%d fds=1 ptn=%d\n", (int)n, name, (size_t)mh.msg_controllen,
          ncmsg, ptn);
  close(conn);
  close(lfd);
  unlink(path);

  if (size != NULL)
    set_size(master, size);
  if (input != NULL && write(master, input, strlen(input)) != (ssize_t)strlen(input))
    die("write to the master");
  /* EIO: no process holds the pty's other side any more. */
  while ((n = read(master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    {
      if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) != n)
        die("write to stdout");
      if (n > 0 && resize != NULL)
        {
          set_size(master, resize);
          resize = NULL;
        }
    }
  return 0;
}
