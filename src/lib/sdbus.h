/* SPDX-License-Identifier: Apache-2.0 */
/* libsystemd's sd-bus, loaded with dlopen the first time the systemd cgroup driver talks to
 * systemd.  Linking it would load libsystemd and what it needs (libgcrypt, liblzma, libzstd,
 * liblz4) into every runtime call: about 1.3 MiB more RSS for `isolazi run` on the cgroupfs
 * path, which never uses it.
 *
 * Include after <systemd/sd-bus.h>, in the one file that uses sd-bus: the sd_bus_* names below
 * become calls through the table that isolazi_sdbus_load() fills. */
#ifndef ISOLAZI_SDBUS_H
#define ISOLAZI_SDBUS_H

#include <systemd/sd-bus.h>
#include "error.h"

typedef struct isolazi_sdbus
{
  int (*new_)(sd_bus **);
  int (*set_address)(sd_bus *, const char *);
  int (*start)(sd_bus *);
  sd_bus *(*unref)(sd_bus *);
  sd_bus *(*flush_close_unref)(sd_bus *);
  int (*open_user)(sd_bus **);
  int (*open_system)(sd_bus **);
  int (*process)(sd_bus *, sd_bus_message **);
  int (*wait)(sd_bus *, uint64_t);
  int (*call)(sd_bus *, sd_bus_message *, uint64_t, sd_bus_error *, sd_bus_message **);
  int (*call_method)(sd_bus *, const char *, const char *, const char *, const char *, sd_bus_error *,
                     sd_bus_message **, const char *, ...);
  int (*get_property_string)(sd_bus *, const char *, const char *, const char *, const char *, sd_bus_error *, char **);
  int (*match_signal)(sd_bus *, sd_bus_slot **, const char *, const char *, const char *, const char *,
                      sd_bus_message_handler_t, void *);
  sd_bus_slot *(*slot_unref)(sd_bus_slot *);
  int (*message_new_method_call)(sd_bus *, sd_bus_message **, const char *, const char *, const char *, const char *);
  sd_bus_message *(*message_unref)(sd_bus_message *);
  int (*message_append)(sd_bus_message *, const char *, ...);
  int (*message_append_array)(sd_bus_message *, char, const void *, size_t);
  int (*message_open_container)(sd_bus_message *, char, const char *);
  int (*message_close_container)(sd_bus_message *);
  int (*message_read)(sd_bus_message *, const char *, ...);
  void (*error_free)(sd_bus_error *);
  int (*error_has_names_sentinel)(const sd_bus_error *, ...);
} isolazi_sdbus_t;

extern isolazi_sdbus_t isolazi_sdbus;

/* dlopen("libsystemd.so.0") and resolve the table, once; a clear error when it is missing. */
int isolazi_sdbus_load(isolazi_error_t *err);

#define sd_bus_new                      isolazi_sdbus.new_
#define sd_bus_set_address              isolazi_sdbus.set_address
#define sd_bus_start                    isolazi_sdbus.start
#define sd_bus_unref                    isolazi_sdbus.unref
#define sd_bus_flush_close_unref        isolazi_sdbus.flush_close_unref
#define sd_bus_open_user                isolazi_sdbus.open_user
#define sd_bus_open_system              isolazi_sdbus.open_system
#define sd_bus_process                  isolazi_sdbus.process
#define sd_bus_wait                     isolazi_sdbus.wait
#define sd_bus_call                     isolazi_sdbus.call
#define sd_bus_call_method              isolazi_sdbus.call_method
#define sd_bus_get_property_string      isolazi_sdbus.get_property_string
#define sd_bus_match_signal             isolazi_sdbus.match_signal
#define sd_bus_slot_unref               isolazi_sdbus.slot_unref
#define sd_bus_message_new_method_call  isolazi_sdbus.message_new_method_call
#define sd_bus_message_unref            isolazi_sdbus.message_unref
#define sd_bus_message_append           isolazi_sdbus.message_append
#define sd_bus_message_append_array     isolazi_sdbus.message_append_array
#define sd_bus_message_open_container   isolazi_sdbus.message_open_container
#define sd_bus_message_close_container  isolazi_sdbus.message_close_container
#define sd_bus_message_read             isolazi_sdbus.message_read
#define sd_bus_error_free               isolazi_sdbus.error_free
#define sd_bus_error_has_names_sentinel isolazi_sdbus.error_has_names_sentinel

#endif
