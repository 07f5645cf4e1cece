/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's end of the channel to the host, behind one function: everything after opening
 * is the same byte stream of frames (protocol.h) whatever carries it. */
#include "config.h"
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

/* The virtio-serial port whose sysfs name is `want`.  The device node appears a moment after
 * the driver binds, so wait for it briefly. */
int
agent_port_open(const char *want, char *msg, size_t msglen)
{
  int attempt;

  for (attempt = 0; attempt < 200; attempt++)
    {
      DIR *d = opendir("/sys/class/virtio-ports");
      struct dirent *de;
      struct timespec ts = { 0, 10 * 1000 * 1000 };

      while (d != NULL && (de = readdir(d)) != NULL)
        {
          char path[300], name[64] = "";
          ssize_t n;
          int fd;

          if (de->d_name[0] == '.')
            continue;
          snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", de->d_name);
          fd = open(path, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            continue;
          n = read(fd, name, sizeof name - 1);
          close(fd);
          if (n <= 0)
            continue;
          name[n] = '\0';
          name[strcspn(name, "\n")] = '\0';
          if (strcmp(name, want) != 0)
            continue;
          snprintf(path, sizeof path, "/dev/%s", de->d_name);
          fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
          if (fd >= 0)
            {
              closedir(d);
              return fd;
            }
        }
      if (d != NULL)
        closedir(d);
      nanosleep(&ts, NULL);
    }
  snprintf(msg, msglen, "open virtio-serial port `%s`: no such device", want);
  return -ENODEV;
}

static int
open_vsock(char *msg, size_t msglen)
{
  struct sockaddr_vm addr;
  int fd, e;

  fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      e = errno;
      snprintf(msg, msglen, "open vsock: %s", strerror(e));
      return -e;
    }
  memset(&addr, 0, sizeof addr);
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_HOST;
  addr.svm_port = VM_VSOCK_PORT;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    {
      e = errno;
      close(fd);
      snprintf(msg, msglen, "connect to vsock port %u of the host: %s", VM_VSOCK_PORT, strerror(e));
      return -e;
    }
  return fd;
}

int
agent_transport_open(const char *kind, char *msg, size_t msglen)
{
  if (kind == NULL || strcmp(kind, "virtio-serial") == 0)
    return agent_port_open(VM_PORT_NAME, msg, msglen);
  if (strcmp(kind, "vsock") == 0)
    return open_vsock(msg, msglen);
  snprintf(msg, msglen, "open transport `%s`: unknown transport", kind);
  return -EINVAL;
}
