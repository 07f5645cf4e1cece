/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "handler.h"

const isolazi_vm_global_t *cli_vm_options;

bool
cli_bundle_is_vm(const char *bundle)
{
  return isolazi_vm_bundle_is_vm(bundle);
}

bool
cli_container_is_vm(const cli_context_t *ctx, const char *id)
{
  return isolazi_vm_container_is_vm(ctx->global.root, id);
}

void
cli_vm_global(const cli_context_t *ctx, isolazi_vm_global_t *ret)
{
  if (cli_vm_options != NULL)
    *ret = *cli_vm_options;
  else
    isolazi_vm_global_init(ret, &ctx->global);
  ret->core = ctx->global;
}
