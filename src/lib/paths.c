/* SPDX-License-Identifier: Apache-2.0 */
/* Default locations. */
#include "config.h"
#include "container.h"
#include "utils.h"

#include <stdlib.h>
#include <unistd.h>

/* The decision, apart from the process's identity and environment so that unit tests can try
 * every case without root.  Not in a header: only paths.c and tests/unit/test-utils.c use it. */
char *isolazi_default_root_for(uid_t euid, const char *xdg_runtime_dir);

char *
isolazi_default_root_for(uid_t euid, const char *xdg_runtime_dir)
{
  /* Root always uses /run, as runc does: podman's direct calls run as root with
     XDG_RUNTIME_DIR set but empty, and containerd's with it unset. */
  if (euid == 0)
    return xstrdup("/run/isolazi");
  if (xdg_runtime_dir != NULL && xdg_runtime_dir[0] != '\0')
    return xasprintf("%s/isolazi", xdg_runtime_dir);
  return xasprintf("/run/user/%u/isolazi", (unsigned)euid);
}

char *
isolazi_default_root(void)
{
  return isolazi_default_root_for(geteuid(), getenv("XDG_RUNTIME_DIR"));
}
