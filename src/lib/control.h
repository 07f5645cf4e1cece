/* SPDX-License-Identifier: Apache-2.0 */
/* The verbs that act on a running container's cgroup: pause, resume, update, ps, events.
 * Like container.h, one entry point per verb; front ends print and choose exit codes. */
#ifndef ISOLAZI_CONTROL_H
#define ISOLAZI_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "container.h"
#include "error.h"

/* Freeze every process of a created or running container ("container not running" otherwise);
 * state and list then report "paused". */
int isolazi_container_pause(const isolazi_global_t *g, const char *id, isolazi_error_t *err);
/* Thaw a paused container ("container not paused" otherwise). */
int isolazi_container_resume(const isolazi_global_t *g, const char *id, isolazi_error_t *err);

/* Apply a linux.resources JSON document (`source` names it in messages: a file or "stdin")
 * to the live cgroup and merge it into the resources kept in the state, so that a later update
 * starts from them.  A value of 0 (and absent keys) leaves a limit as it is, as in runc. */
int isolazi_container_update(const isolazi_global_t *g, const char *id, const char *source, const char *json,
                             size_t len, isolazi_error_t *err);

/* Host pids of every process in the container's cgroup, sorted. */
int isolazi_container_pids(const isolazi_global_t *g, const char *id, pid_t **ret, size_t *ret_len,
                           isolazi_error_t *err);

/* The events stream: each event is one JSON line (without the newline) handed to `emit`;
 * a non-zero return from `emit` stops the stream (e.g. stdout closed). */
typedef int (*isolazi_event_fn)(const char *line, void *data);

typedef struct isolazi_events_options
{
  bool stats_once;          /* --stats: one stats event, then return */
  unsigned int interval_ms; /* between stats events (0: 5000) */
} isolazi_events_options_t;

/* {"type":"stats","id":ID,"data":{...}} every interval and {"type":"oom","id":ID} on each OOM
 * kill, until the container stops. */
int isolazi_container_events(const isolazi_global_t *g, const char *id, const isolazi_events_options_t *o,
                             isolazi_event_fn emit, void *data, isolazi_error_t *err);

#endif
