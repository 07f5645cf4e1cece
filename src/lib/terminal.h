/* SPDX-License-Identifier: Apache-2.0 */
/* Terminals: a pty from the container's own devpts for process.terminal. */
#ifndef ISOLAZI_TERMINAL_H
#define ISOLAZI_TERMINAL_H

#include "error.h"
#include "ocispec.h"

/* In the container (after pivot_root): open a pty from /dev/ptmx, send the master to the
 * --console-socket as one message carrying one SCM_RIGHTS fd (what conmon and go-runc accept),
 * and make the peer the controlling terminal and stdio of this process. */
int isolazi_terminal_setup_console(int console_fd, const oci_process *p, isolazi_error_t *err);

#endif
