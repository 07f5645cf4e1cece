/* SPDX-License-Identifier: Apache-2.0 */
/* The `isolazi` front end: a table of commands (main.c), one file per command, and the few
 * helpers they share (cli.c) for flag parsing, usage text and error reporting.
 *
 * Adding a command: write src/isolazi/<verb>.c with `int cli_<verb> (cli_context_t *, int, char **)`,
 * declare it here, and add one line to the table in main.c. */
#ifndef ISOLAZI_CLI_H
#define ISOLAZI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include "container.h"
#include "error.h"
#include "frontend.h" /* cli_getopt, cli_usage_error, cli_fail, the command table; cli_program */

#include <stddef.h>

struct cli_context
{
  isolazi_global_t global; /* --root (defaulted), --systemd-cgroup */
};

/* Check that exactly the positional arguments a command needs are present:
 * between min and max of them (max < 0: no limit).  Reports the error itself. */
int cli_check_args(const cli_verb_t *verb, int argc, char **argv, int min, int max);

/* The whole argument parsing of a command that has no flags but --help: returns CLI_DONE with
 * the container id at argv[optind], or the exit status (0 after --help, 1 on a usage error). */
int cli_parse_id_only(const cli_verb_t *verb, int argc, char **argv);

/* Set the log up from --log, --log-format and --debug before anything else is parsed, so that
 * even an error in the other global flags lands in the log file the caller reads.  `valued`:
 * the front end's other global flags that take a value (NULL-terminated), skipped with it. */
int cli_log_setup(int argc, char **argv, const char *const *valued, isolazi_error_t *err);

/* The whole argument parsing of `kill` ([-a] <id> [SIGNAL]) and `delete` ([-f] <id>): CLI_DONE
 * with the id at argv[optind], or the exit status (0 after --help, 1 on a usage error or a bad
 * signal, reported). */
int cli_parse_kill(const cli_verb_t *verb, int argc, char **argv, int *ret_sig, bool *ret_all);
int cli_parse_delete(const cli_verb_t *verb, int argc, char **argv, bool *ret_force);

/* Parse a non-negative decimal number for flag `name`. */
int cli_parse_uint(const char *name, const char *s, unsigned int *ret, isolazi_error_t *err);

/* The flags `create` and `run` share (run adds --detach), parsed into core options.  Paths are
 * made absolute here, as runc does, so that they do not depend on where the core works. */
typedef struct cli_create_args
{
  isolazi_create_options_t o;
  char *bundle; /* owned copies behind o.bundle, o.pid_file, o.console_socket */
  char *pid_file;
  char *console_socket;
} cli_create_args_t;

/* The long options create and run share (run adds --detach). */
#define CLI_CREATE_LONGOPTS                                                                                            \
  { "bundle", required_argument, NULL, 'b' }, { "pid-file", required_argument, NULL, CLI_OPT_PID_FILE },               \
      { "console-socket", required_argument, NULL, CLI_OPT_CONSOLE_SOCKET },                                           \
      { "no-pivot", no_argument, NULL, CLI_OPT_NO_PIVOT },                                                             \
      { "no-new-keyring", no_argument, NULL, CLI_OPT_NO_NEW_KEYRING },                                                 \
      { "preserve-fds", required_argument, NULL, CLI_OPT_PRESERVE_FDS },                                               \
  {                                                                                                                    \
    "help", no_argument, NULL, 'h'                                                                                     \
  }

/* Option values of the long-only flags of create and run. */
enum
{
  CLI_OPT_PID_FILE = 1000,
  CLI_OPT_CONSOLE_SOCKET,
  CLI_OPT_NO_PIVOT,
  CLI_OPT_NO_NEW_KEYRING,
  CLI_OPT_PRESERVE_FDS,
};

/* Returns CLI_DONE with a->o filled (positional id checked; release it afterwards), or the exit
 * status when the command must end here (0: help printed; 1: an error reported; *a released). */
int cli_create_args_parse(const cli_verb_t *verb, int argc, char **argv, cli_create_args_t *a);
void cli_create_args_release(cli_create_args_t *a);

/* The commands, one file each. */
int cli_create(cli_context_t *ctx, int argc, char **argv);
int cli_start(cli_context_t *ctx, int argc, char **argv);
int cli_state(cli_context_t *ctx, int argc, char **argv);
int cli_kill(cli_context_t *ctx, int argc, char **argv);
int cli_delete(cli_context_t *ctx, int argc, char **argv);
int cli_run(cli_context_t *ctx, int argc, char **argv);
int cli_list(cli_context_t *ctx, int argc, char **argv);
int cli_spec(cli_context_t *ctx, int argc, char **argv);
int cli_exec(cli_context_t *ctx, int argc, char **argv);
int cli_features(cli_context_t *ctx, int argc, char **argv);
int cli_events(cli_context_t *ctx, int argc, char **argv);
int cli_pause(cli_context_t *ctx, int argc, char **argv);
int cli_ps(cli_context_t *ctx, int argc, char **argv);
int cli_resume(cli_context_t *ctx, int argc, char **argv);
int cli_update(cli_context_t *ctx, int argc, char **argv);

#endif
