/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox guest's initramfs: isolazi-vm's agent as /init with the modules a sandbox needs
 * (its disk on virtio-blk, the agent's channel on virtio-console, and virtio-net for the
 * network policy), built once per kernel and agent by src/vm's initramfs builder, beside
 * isolazi-vm's own initramfs in the cache. */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox_internal.h"

static const char *const sandbox_modules[] = { "virtio_mmio", "virtio_blk", "virtio_console", "virtio_net", NULL };

int
sb_initramfs_get(const vm_kernel_t *k, char **ret_path, isolazi_error_t *err)
{
  return vm_initramfs_get_kind(k, "sandbox", sandbox_modules, ret_path, err);
}
