/* SPDX-License-Identifier: Apache-2.0 */
/* The `isolazi-vm` front end: runc's command line for OCI bundles run in microVMs.  It shares
 * src/isolazi's CLI helpers (cli.c) and its `state`, `list` and `spec` commands (the state
 * store is the same); the other verbs are here, one file each, calling src/vm. */
#ifndef ISOLAZI_VMCLI_H
#define ISOLAZI_VMCLI_H

#include "cli.h"
#include "vm.h"

/* The global flags, filled by main.c before a command runs (ctx->global is vmcli_global.core). */
extern isolazi_vm_global_t vmcli_global;

int vmcli_create(cli_context_t *ctx, int argc, char **argv);
int vmcli_start(cli_context_t *ctx, int argc, char **argv);
int vmcli_kill(cli_context_t *ctx, int argc, char **argv);
int vmcli_delete(cli_context_t *ctx, int argc, char **argv);
int vmcli_run(cli_context_t *ctx, int argc, char **argv);
int vmcli_exec(cli_context_t *ctx, int argc, char **argv);
int vmcli_features(cli_context_t *ctx, int argc, char **argv);

#endif
