/* SPDX-License-Identifier: Apache-2.0 */
/* sd-bus through dlopen: see sdbus.h for why. */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sdbus.h"

isolazi_sdbus_t isolazi_sdbus;

static const struct
{
  const char *name;
  size_t offset;
} symbols[] = {
  { "sd_bus_new", offsetof(isolazi_sdbus_t, new_) },
  { "sd_bus_set_address", offsetof(isolazi_sdbus_t, set_address) },
  { "sd_bus_start", offsetof(isolazi_sdbus_t, start) },
  { "sd_bus_unref", offsetof(isolazi_sdbus_t, unref) },
  { "sd_bus_flush_close_unref", offsetof(isolazi_sdbus_t, flush_close_unref) },
  { "sd_bus_open_user", offsetof(isolazi_sdbus_t, open_user) },
  { "sd_bus_open_system", offsetof(isolazi_sdbus_t, open_system) },
  { "sd_bus_process", offsetof(isolazi_sdbus_t, process) },
  { "sd_bus_wait", offsetof(isolazi_sdbus_t, wait) },
  { "sd_bus_call", offsetof(isolazi_sdbus_t, call) },
  { "sd_bus_call_method", offsetof(isolazi_sdbus_t, call_method) },
  { "sd_bus_get_property_string", offsetof(isolazi_sdbus_t, get_property_string) },
  { "sd_bus_match_signal", offsetof(isolazi_sdbus_t, match_signal) },
  { "sd_bus_slot_unref", offsetof(isolazi_sdbus_t, slot_unref) },
  { "sd_bus_message_new_method_call", offsetof(isolazi_sdbus_t, message_new_method_call) },
  { "sd_bus_message_unref", offsetof(isolazi_sdbus_t, message_unref) },
  { "sd_bus_message_append", offsetof(isolazi_sdbus_t, message_append) },
  { "sd_bus_message_append_array", offsetof(isolazi_sdbus_t, message_append_array) },
  { "sd_bus_message_open_container", offsetof(isolazi_sdbus_t, message_open_container) },
  { "sd_bus_message_close_container", offsetof(isolazi_sdbus_t, message_close_container) },
  { "sd_bus_message_read", offsetof(isolazi_sdbus_t, message_read) },
  { "sd_bus_error_free", offsetof(isolazi_sdbus_t, error_free) },
  { "sd_bus_error_has_names_sentinel", offsetof(isolazi_sdbus_t, error_has_names_sentinel) },
};

int
isolazi_sdbus_load(isolazi_error_t *err)
{
  static void *handle;
  isolazi_sdbus_t table;
  size_t i;
  void *h;

  if (handle != NULL)
    return 0;
  h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return isolazi_error_set(err, ENOENT, "systemd cgroup driver: load `libsystemd.so.0`: %s", dlerror());
  for (i = 0; i < sizeof symbols / sizeof symbols[0]; i++)
    {
      void *p = dlsym(h, symbols[i].name);
      if (p == NULL)
        {
          (void)dlclose(h);
          return isolazi_error_set(err, ENOSYS, "systemd cgroup driver: `libsystemd.so.0` has no `%s`",
                                   symbols[i].name);
        }
      /* POSIX dlsym: a function pointer stored through its object representation. */
      memcpy((char *)&table + symbols[i].offset, &p, sizeof p);
    }
  isolazi_sdbus = table;
  handle = h;
  return 0;
}
