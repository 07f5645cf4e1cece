/* SPDX-License-Identifier: Apache-2.0 */
/* Terminals: a pty from the container's own devpts for process.terminal. */
#ifndef ISOLAZI_TERMINAL_H
#define ISOLAZI_TERMINAL_H

#include <sys/types.h>
#include "error.h"
#include "ocispec.h"

/* In the container (after pivot_root): open a pty from /dev/ptmx, send the master to the
 * --console-socket as one message carrying one SCM_RIGHTS fd (what conmon and go-runc accept),
 * and make the peer the controlling terminal and stdio of this process. */
int isolazi_terminal_setup_console(int console_fd, const oci_process *p, isolazi_error_t *err);

/* Send a pty master to a --console-socket: one message of `len` bytes of data (at least one)
 * carrying master as its one SCM_RIGHTS fd. */
int isolazi_terminal_send_master(int sock, int master, const void *data, size_t len, isolazi_error_t *err);

/* In the runtime: receive the pty master that isolazi_terminal_setup_console sent on `sock`
 * (exactly one SCM_RIGHTS fd).  Returns it (O_CLOEXEC). */
int isolazi_terminal_recv_master(int sock, isolazi_error_t *err);

/* An interactive session for `run` and `exec -t` without --console-socket: put our stdin
 * terminal in raw mode, copy stdin to the master and the master to stdout, keep the pty's size
 * that of our terminal (at once and on SIGWINCH), forward other signals to the process behind
 * pidfd, and when it exits restore the terminal, reap it (it must be our child) and store its
 * status as a shell would (code, or 128+signal).  Takes ownership of master (closed on return;
 * early, when our own terminal hangs up, which hangs up the container's). */
int isolazi_terminal_relay(int master, pid_t pid, int pidfd, int *ret_status, isolazi_error_t *err);

#endif
