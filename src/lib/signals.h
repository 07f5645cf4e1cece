/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ISOLAZI_SIGNALS_H
#define ISOLAZI_SIGNALS_H

#include "error.h"

/* Accept what runc accepts: "KILL", "SIGKILL", "sigkill", "9", "RTMIN+3", "SIGRTMAX-1". */
int isolazi_signal_parse(const char *s, int *ret, isolazi_error_t *err);
/* "SIGKILL" for 9; NULL for an unknown number. */
const char *isolazi_signal_name(int sig);

#endif
