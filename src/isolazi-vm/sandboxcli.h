/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox SUBCOMMAND` and `isolazi-vm mcp`: the front end of src/sandbox.  One
 * handler per subcommand, grouped by topic (sandbox.c: lifecycle and listing; sandbox_files.c:
 * exec and files; sandbox_snap.c: snapshots and forks; sandbox_net.c: policy and ports;
 * sandbox_pool.c: the warm pool). */
#ifndef ISOLAZI_SANDBOXCLI_H
#define ISOLAZI_SANDBOXCLI_H

#include "cli.h"
#include "sandbox.h"

/* Filled by vmcli_sandbox / vmcli_mcp before a subcommand runs. */
extern isolazi_sandbox_ctx_t sbcli_ctx;

int vmcli_sandbox(cli_context_t *ctx, int argc, char **argv);
int vmcli_mcp(cli_context_t *ctx, int argc, char **argv);

int sbcli_create(int argc, char **argv);
int sbcli_list(int argc, char **argv);
int sbcli_info(int argc, char **argv);
int sbcli_stop(int argc, char **argv);
int sbcli_start(int argc, char **argv);
int sbcli_destroy(int argc, char **argv);
int sbcli_exec(int argc, char **argv);
int sbcli_write(int argc, char **argv);
int sbcli_read(int argc, char **argv);
int sbcli_upload(int argc, char **argv);
int sbcli_download(int argc, char **argv);
int sbcli_snapshot(int argc, char **argv);
int sbcli_restore(int argc, char **argv);
int sbcli_fork(int argc, char **argv);
int sbcli_policy(int argc, char **argv);
int sbcli_port_forward(int argc, char **argv);
int sbcli_relay(int argc, char **argv);
int sbcli_pool(int argc, char **argv);

/* Parse "--flag N" values: MiB sizes accept a k/m/g suffix ("512m", "2g"). */
int sbcli_parse_mib(const char *flag, const char *s, unsigned *ret, isolazi_error_t *err);

#endif
