/* SPDX-License-Identifier: Apache-2.0 */
/* The guest agent: pid 1 of an isolazi-vm guest.  main.c boots (API filesystems, modules, the
 * transport to the host) and powers off; serve.c is the part that does not depend on being
 * pid 1 of a VM, so that tests run it on the host over a socketpair; setup.c mounts the
 * container's root in the guest. */
#ifndef ISOLAZI_VM_AGENT_H
#define ISOLAZI_VM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include "protocol.h"

/* The shares of a container (relay.c, src/vm/share.h): one /dev/fuse fd per share mount of
 * the spec, in order, relayed to the host's share server by a thread of the agent. */
typedef struct agent_shares
{
  int *fds;     /* the FUSE devices, for mount(2)'s fd= option */
  int *mounted; /* set (agent_share_mounted) once share i is mounted: the relay reads it then */
  size_t n;
  int wake; /* an eventfd: tells the relay to look at `mounted` again */
} agent_shares_t;

typedef struct agent_options
{
  /* In a guest: mount the rootfs from the spec, apply mounts, files and hostname, chroot
   * processes into it, and kill every process when the container's process exits.  Off (on
   * the host, in tests): processes run in `root` ("/" = no chroot) and nothing is mounted. */
  bool guest;
  const char *root; /* where the container's root is (guest: set by setup) */
  /* Guest only: agent_shares_start (relay.c), a pointer so that what links serve.c on the
   * host (the unit tests) needs no relay. */
  int (*shares_start)(const vm_spec_t *s, struct agent_shares *ret, char *msg, size_t msglen);
} agent_options_t;

/* Serve the host on fd until the container's process has exited and its EXIT frame is sent
 * (returns its wait status), or the host goes away (returns -1).  Writes HELLO first. */
int agent_serve(int fd, const agent_options_t *o);

/* When the spec has share mounts: open a FUSE device for each, the share port, and start the
 * relay (ret->n is 0 when there are none).  On failure fills msg and returns -errno. */
int agent_shares_start(const vm_spec_t *s, agent_shares_t *ret, char *msg, size_t msglen);
/* Share i is mounted: the relay may read its device now. */
static inline void
agent_share_mounted(agent_shares_t *sh, size_t i)
{
  uint64_t one = 1;

  __atomic_store_n(&sh->mounted[i], 1, __ATOMIC_RELEASE);
  if (sh->wake >= 0 && write(sh->wake, &one, sizeof one) < 0)
    return; /* a full counter wakes it all the same */
}
/* The relay's loop (what the thread runs): requests read from sh->fds[i] go to `port` in
 * frames, frames from it go to their device.  Returns when the port closes (-ECONNRESET) or
 * fails, or when every share is unmounted (0); closes the devices. */
int agent_share_relay(int port, agent_shares_t *sh);

/* Guest only: mount the container's root at `target` as the spec says (rootfs device and type,
 * a tmpfs overlay upper unless read-only, then files, mounts and hostname).  Share mounts use
 * shares (agent_shares_start).  On failure fills msg with "verb `object`: cause" and returns
 * -errno. */
int agent_setup_root(const vm_spec_t *s, const char *target, agent_shares_t *shares, char *msg, size_t msglen);

/* Find args[0] as execvp would, using PATH from the spec's env, inside the current root.
 * Fills path; returns 0 or -errno (-ENOENT: not found, -EACCES: not executable). */
int agent_find_executable(const vm_spec_t *s, char *path, size_t len);

/* The sandbox operations (VM_MSG_SB_*, sandbox_ops.c); other frames are ignored.  Returns what
 * writing the answer returned. */
int agent_sandbox_frame(int fd, const agent_options_t *o, const vm_frame_header_t *h, const uint8_t *payload);

/* strerror, lower-cased as the host's messages are.  A static buffer. */
const char *agent_strerror(int e);

/* Transports (transport.c): open the guest's end of the channel to the host.  `kind` is
 * "virtio-serial" (the port named VM_PORT_NAME) or "vsock" (host CID 2, VM_VSOCK_PORT). */
int agent_transport_open(const char *kind, char *msg, size_t msglen);
/* Open the virtio-serial port named `name` (read-write, close-on-exec), waiting briefly for it
 * to appear. */
int agent_port_open(const char *name, char *msg, size_t msglen);

#endif
