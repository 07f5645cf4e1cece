/* SPDX-License-Identifier: Apache-2.0 */
/* Talking to a monitor (start, kill, exec), and the host end of a process's stdio. */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "terminal.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int
vm_client_connect(int dirfd, const char *name, isolazi_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  char proc[64];

  /* Through /proc/self/fd: the state directory's path may be longer than sun_path allows. */
  snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
  if (strlen(proc) >= sizeof addr.sun_path)
    return isolazi_error_set(err, ENAMETOOLONG, "connect to `%s`", name);
  strcpy(addr.sun_path, proc);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "create a socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return isolazi_error_errno(err, "connect to the VM's monitor (`%s`)", name);
  return steal_fd(&fd);
}

int
vm_client_request(int fd, unsigned type, uint32_t proc, const void *payload, size_t len, isolazi_error_t *err)
{
  int r = vm_frame_write(fd, type, 0, proc, payload, len);

  if (r < 0)
    return isolazi_error_set(err, -r, "send %s to the VM's monitor", vm_msg_type_name(type));
  for (;;)
    {
      cleanup_free uint8_t *p = NULL;
      vm_frame_header_t h;
      r = vm_frame_read(fd, &h, &p);
      if (r < 0)
        return isolazi_error_set(err, r == -ECONNRESET ? 0 : -r, "wait for the VM: %s",
                                 r == -ECONNRESET ? "the monitor went away" : "protocol error");
      if (h.type == VM_MSG_STARTED)
        return 0;
      if (h.type == VM_MSG_ERROR)
        {
          char *msg = NULL;
          int e = 0, status = 0;
          if (vm_error_decode(p, h.len, &e, &status, &msg) < 0)
            return isolazi_error_set(err, EPROTO, "the VM reported a malformed error");
          isolazi_error_take(err, e, msg);
          return -1;
        }
      /* output or other frames that raced the answer are not ours to keep */
    }
}

int
vm_console_open(const char *console_socket, uint16_t rows, uint16_t cols, bool ctty, isolazi_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int master = -1, slave = -1, sock = -1;
  struct termios t;
  int unlock = 0;

  if (strlen(console_socket) >= sizeof addr.sun_path)
    return isolazi_error_set(err, ENAMETOOLONG, "connect to the console socket `%s`", console_socket);
  strcpy(addr.sun_path, console_socket);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
    return isolazi_error_errno(err, "connect to the console socket `%s`", console_socket);
  master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return isolazi_error_errno(err, "open `/dev/ptmx`");
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return isolazi_error_errno(err, "unlock the pty");
  slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_CLOEXEC | (ctty ? 0 : O_NOCTTY));
  if (slave < 0)
    return isolazi_error_errno(err, "open the pty peer");
  /* The guest's pty does the line discipline; this one only carries bytes. */
  if (tcgetattr(slave, &t) == 0)
    {
      cfmakeraw(&t);
      (void)tcsetattr(slave, TCSANOW, &t);
    }
  if (rows != 0 || cols != 0)
    {
      struct winsize ws = { .ws_row = rows, .ws_col = cols };
      (void)ioctl(slave, TIOCSWINSZ, &ws);
    }
  if (ctty && ioctl(slave, TIOCSCTTY, 0) < 0)
    return isolazi_error_errno(err, "make the pty the controlling terminal");
  if (isolazi_terminal_send_master(sock, master, "", 1, err) < 0)
    return -1;
  return steal_fd(&slave);
}

void
vm_console_detach(int slave)
{
  struct timespec zero = { 0, 0 };
  sigset_t hup;

  /* Once the console socket's holder closes the master, the kernel hangs the pty up and sends
   * SIGHUP to the session whose terminal it is: ours, while we still finish (and report the
   * process's status).  Give the terminal up first; the SIGHUP and SIGCONT that doing so sends
   * our (blocked) process group are taken off here. */
  if (slave < 0 || tcgetsid(slave) != getsid(0))
    return;
  (void)ioctl(slave, TIOCNOTTY);
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  sigaddset(&hup, SIGCONT);
  while (sigtimedwait(&hup, NULL, &zero) > 0)
    ;
}

int
vm_stdio_write(const vm_stdio_t *s, unsigned type, const uint8_t *p, size_t len)
{
  int fd = type == VM_MSG_STDERR && !s->terminal ? s->err : s->out;

  if (fd < 0 || len == 0)
    return 0;
  return isolazi_write_all(fd, p, len) < 0 ? -errno : 0;
}

int
vm_status_to_exit(int st)
{
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return 255;
}
