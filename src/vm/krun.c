/* SPDX-License-Identifier: Apache-2.0 */
/* The libkrun backend: loaded with dlopen when libkrun.so.1 is installed (Debian 12 does not
 * package it), so that isolazi-vm neither links nor needs it.  Only the check is here so far:
 * asking for it without the library is a clear error, and with it, a clear "not yet". */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"

#include <dlfcn.h>
#include <errno.h>

int
vm_krun_check(isolazi_error_t *err)
{
  void *h = dlopen("libkrun.so.1", RTLD_NOW | RTLD_LOCAL);
  int (*create_ctx)(void);

  if (h == NULL)
    return isolazi_error_set(err, ENOENT, "use the libkrun backend: `libkrun.so.1` is not installed (%s)", dlerror());
  *(void **)&create_ctx = dlsym(h, "krun_create_ctx");
  dlclose(h);
  if (create_ctx == NULL)
    return isolazi_error_set(err, ENOSYS, "use the libkrun backend: `libkrun.so.1` has no `krun_create_ctx`");
  return isolazi_error_set(err, ENOSYS,
                           "use the libkrun backend: not implemented yet in this build (use --backend qemu)");
}
