/* SPDX-License-Identifier: Apache-2.0 */
/* The VM handler behind the container commands: a bundle whose config.json carries the
 * annotation run.oci.handler=vm (crun's way of choosing krun or wasm) runs in a microVM
 * through src/vm, and every later command on its id (found by a marker in its state
 * directory, under the same --root) goes there too.  Each command file asks here first. */
#ifndef ISOLAZI_CLI_HANDLER_H
#define ISOLAZI_CLI_HANDLER_H

#include <stdbool.h>
#include "cli.h"
#include "vm.h"

/* isolazi-vm sets this to its global flags (--kernel, --accel, ...); isolazi leaves it NULL
 * and the VM library's defaults (and environment) apply. */
extern const isolazi_vm_global_t *cli_vm_options;

/* Whether `create`/`run` of this bundle (NULL: the current directory) go to a VM. */
bool cli_bundle_is_vm(const char *bundle);
/* Whether the container `id` is a VM's. */
bool cli_container_is_vm(const cli_context_t *ctx, const char *id);
/* The VM library's options for this invocation. */
void cli_vm_global(const cli_context_t *ctx, isolazi_vm_global_t *ret);

#endif
