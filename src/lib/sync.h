/* SPDX-License-Identifier: Apache-2.0 */
/* Typed messages between the runtime and the container's init, over a SOCK_SEQPACKET socket
 * (one message per datagram, so no framing bugs).  An error in the init travels back as a
 * SYNC_ERROR message carrying errno and the full text: the caller never sees a bare EOF. */
#ifndef ISOLAZI_SYNC_H
#define ISOLAZI_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

typedef enum
{
  /* runtime → init */
  SYNC_PARENT_READY = 1, /* cgroup placement done; payload: the state JSON ("creating") for hooks */
  SYNC_HOOKS_DONE,       /* prestart/createRuntime hooks ran */
  SYNC_START,            /* `start`: payload: the state JSON ("created") for startContainer hooks */
  /* init → runtime */
  SYNC_RUN_HOOKS, /* namespaces and mounts are ready: run prestart and createRuntime hooks */
  SYNC_READY,     /* created: waiting for start */
  SYNC_EXECING,   /* about to execve the user process */
  SYNC_ERROR,     /* errno + message */
} isolazi_sync_type_t;

#define ISOLAZI_SYNC_MAX_PAYLOAD (64 * 1024)

typedef struct isolazi_sync_msg
{
  isolazi_sync_type_t type;
  int errnum;    /* SYNC_ERROR */
  char *payload; /* NUL-terminated, may be NULL */
  size_t len;
} isolazi_sync_msg_t;

int isolazi_sync_send(int fd, isolazi_sync_type_t type, int errnum, const char *payload, isolazi_error_t *err);
/* Send an error as a SYNC_ERROR message (best effort: used on the way out). */
void isolazi_sync_send_error(int fd, const isolazi_error_t *e);
/* Receive one message.  Returns 1 with a message, 0 on EOF, -1 on error. */
int isolazi_sync_recv(int fd, isolazi_sync_msg_t *ret, isolazi_error_t *err);
/* Receive and require `type`; a SYNC_ERROR becomes err (message as sent), EOF becomes
 * "`what`: the container init exited unexpectedly". */
int isolazi_sync_expect(int fd, isolazi_sync_type_t type, const char *what, isolazi_sync_msg_t *ret,
                        isolazi_error_t *err);
void isolazi_sync_msg_release(isolazi_sync_msg_t *m);

#endif
