/* SPDX-License-Identifier: Apache-2.0 */
/* The `isolazi-pull` front end: a table of commands (main.c), one file per command, and what
 * they share (cli.c): flag parsing, usage text, exit codes, the store, registry flags and the
 * progress display.
 *
 * Exit codes: 0 on success, 1 when the command failed, 2 for a usage error (the message names
 * the flag or argument).  Flags may come before or after the positional arguments, as in
 * podman; `--` ends the flags. */
#ifndef ISOLAZI_PULL_CLI_H
#define ISOLAZI_PULL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include "frontend.h" /* cli_getopt, cli_usage_error (returns 2), cli_fail, the command table */
#include "pull.h"
#include "store.h"

#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

struct cli_context
{
  const char *store_root; /* --store, NULL: the caller's default */
};

/* Between min and max positional arguments (max < 0: no limit); `what` names them in the
 * message ("an image reference").  Returns 0, or 2 after reporting. */
int cli_check_args(const cli_verb_t *verb, int argc, char **argv, int min, int max, const char *what);

/* The whole argument parsing of a command whose only flag is --help: returns CLI_DONE with the
 * arguments at argv[optind..], or the exit status (0 after --help, 2 on a usage error). */
int cli_parse_no_flags(const cli_verb_t *verb, int argc, char **argv, int min, int max, const char *what);

int cli_open_store(cli_context_t *ctx, isolazi_store_t **ret, isolazi_error_t *err);

/* Values: "64m", "1g", "512k", "1048576" → bytes; a positive decimal; a non-negative integer. */
int cli_parse_size(const char *flag, const char *s, int64_t *ret, isolazi_error_t *err);
int cli_parse_double(const char *flag, const char *s, double *ret, isolazi_error_t *err);
int cli_parse_int64(const char *flag, const char *s, int64_t *ret, isolazi_error_t *err);
int cli_parse_bool(const char *flag, const char *s, bool *ret, isolazi_error_t *err);
/* --tls-verify=BOOL into the registry options (false sets tls_insecure). */
int cli_parse_tls_verify(const char *s, isolazi_registry_opts_t *o, isolazi_error_t *err);

/* The registry flags `pull` and `bundle` share. */
enum
{
  CLI_OPT_PLATFORM = 1000,
  CLI_OPT_TLS_VERIFY,
  CLI_OPT_CREDS,
  CLI_OPT_AUTHFILE,
  CLI_OPT_CERT_DIR,
  CLI_OPT_FIRST_FREE, /* commands number their own long-only flags from here */
};

#define CLI_PULL_LONGOPTS                                                                                              \
  { "platform", required_argument, NULL, CLI_OPT_PLATFORM },                                                           \
      { "tls-verify", optional_argument, NULL, CLI_OPT_TLS_VERIFY },                                                   \
      { "creds", required_argument, NULL, CLI_OPT_CREDS }, { "authfile", required_argument, NULL, CLI_OPT_AUTHFILE },  \
      { "cert-dir", required_argument, NULL, CLI_OPT_CERT_DIR },                                                       \
  {                                                                                                                    \
    "quiet", no_argument, NULL, 'q'                                                                                    \
  }

#define CLI_PULL_OPTIONS                                                                                               \
  "      --platform OS/ARCH[/VARIANT]  the platform to choose from a multi-platform image\n"                           \
  "                              (default: this host's)\n"                                                             \
  "      --tls-verify=BOOL       check the registry's certificate (default true); false also\n"                        \
  "                              allows plain HTTP\n"                                                                  \
  "      --cert-dir DIR          CA certificates (*.crt) and a client certificate (*.cert with\n"                      \
  "                              its *.key) for the registry (default: its directory under\n"                          \
  "                              /etc/containers/certs.d or /etc/docker/certs.d)\n"                                    \
  "      --creds USER:PASSWORD   credentials for the registry (default: from the auth file)\n"                         \
  "      --authfile FILE         the auth file (default: $REGISTRY_AUTH_FILE,\n"                                       \
  "                              $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)\n"                      \
  "  -q, --quiet                 no progress output\n"

typedef struct cli_pull_args
{
  isolazi_pull_opts_t o;
  char *username; /* owned copies behind o.registry.username/password */
  char *password;
  bool quiet;
} cli_pull_args_t;

void cli_pull_args_init(cli_pull_args_t *a);
/* Handle one of the flags above: returns 0 when it was one of them, 1 when c is not a pull
 * flag, or CLI_EXIT_ERROR after reporting a bad value. */
int cli_pull_args_flag(const char *verb, cli_pull_args_t *a, int c, const char *arg);
void cli_pull_args_release(cli_pull_args_t *a);

/* Pull with a progress display on stderr: a bar per layer on a terminal, a line per finished
 * blob otherwise, nothing when quiet. */
int cli_pull_image(isolazi_store_t *s, const char *ref, cli_pull_args_t *a, isolazi_store_image_t *ret,
                   isolazi_error_t *err);

/* "12.3 MB" (decimal units, as docker and podman print sizes). */
void cli_format_size(int64_t bytes, char buf[32]);

/* The commands, one file each. */
int cli_pull(cli_context_t *ctx, int argc, char **argv);
int cli_bundle(cli_context_t *ctx, int argc, char **argv);
int cli_images(cli_context_t *ctx, int argc, char **argv);
int cli_inspect(cli_context_t *ctx, int argc, char **argv);
int cli_rm(cli_context_t *ctx, int argc, char **argv);
int cli_prune(cli_context_t *ctx, int argc, char **argv);
int cli_login(cli_context_t *ctx, int argc, char **argv);
int cli_logout(cli_context_t *ctx, int argc, char **argv);
int cli_mount(cli_context_t *ctx, int argc, char **argv);
int cli_rm_bundle(cli_context_t *ctx, int argc, char **argv);

#endif
