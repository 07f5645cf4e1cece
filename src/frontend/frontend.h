/* SPDX-License-Identifier: Apache-2.0 */
/* What the front ends (isolazi, isolazi-vm, isolazi-pull) share: the command table and verb
 * types, getopt with its errors worded once, the usage text of a command, usage errors, the one
 * final report of an error, and `help`.
 *
 * Each front end's cli.h includes this and defines `struct cli_context` (what its global flags
 * set); its cli.c defines cli_program and cli_frontend, which say how it differs. */
#ifndef ISOLAZI_FRONTEND_H
#define ISOLAZI_FRONTEND_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

typedef struct cli_context cli_context_t; /* each front end's own */

/* A command handler: argv[0] is the command name, the rest are its own flags and arguments.
 * Returns the process exit status. */
typedef int (*cli_handler_t)(cli_context_t *ctx, int argc, char **argv);

typedef struct cli_command
{
  const char *name;
  const char *summary; /* one line, lower case, no full stop */
  cli_handler_t handler;
} cli_command_t;

/* What a command tells cli_getopt about itself.  `options` is the help text for its flags
 * (without --help, which every command has). */
typedef struct cli_verb
{
  const char *name;              /* "kill"; NULL for the program's global flags (then 'h' is returned) */
  const char *args;              /* "[OPTIONS] <container-id> [signal]" */
  const char *description;       /* a paragraph, ends in "\n" */
  const char *options;           /* "  -a, --all   ...\n" lines, or NULL */
  const char *shortopts;         /* without the leading '+' and ':' */
  const struct option *longopts; /* must contain {"help", no_argument, NULL, 'h'} */
} cli_verb_t;

/* Values cli_getopt returns besides option characters. */
#define CLI_DONE       (-1) /* no more flags: positional arguments start at optind */
#define CLI_EXIT_OK    (-2) /* --help was printed: exit 0 */
#define CLI_EXIT_ERROR (-3) /* a usage error was reported: exit with cli_frontend.usage_status */

/* How a front end differs. */
typedef struct cli_frontend
{
  const char *global_flags;        /* named in each command's help: "--store, --debug" */
  int usage_status;                /* the exit status of a usage error: 1 (runc) or 2 (podman) */
  bool flags_anywhere;             /* a command's flags may follow its arguments (podman), or not (runc) */
  void (*report)(const char *msg); /* show an error message where the user reads it */
} cli_frontend_t;

/* The program name the usage texts and errors show ("isolazi"; isolazi-vm sets "isolazi-vm"). */
extern const char *cli_program;
extern const cli_frontend_t cli_frontend;

/* getopt_long for a command.  The global flags always stop at the command name ("+"); a
 * command's may follow its arguments when cli_frontend.flags_anywhere (GNU permutation).
 * Reports unknown flags and missing values itself.  The first call of a command must be made
 * with *first true (cli_getopt then resets optind and clears *first). */
int cli_getopt(const cli_verb_t *verb, int argc, char **argv, bool *first);

/* Print the usage of a command on stdout. */
void cli_print_usage(const cli_verb_t *verb);

/* Report a usage error for `<program> <verb>` (verb NULL: for the program itself) followed by a
 * hint to --help.  Returns cli_frontend.usage_status. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report err once (cli_frontend.report), release it, and return 1, the exit status. */
int cli_fail(isolazi_error_t *err);

/* The command table: look a name up (NULL when unknown), list the commands for the program's
 * usage (names padded to `width`), and `<program> help [COMMAND]`, which prints the same text
 * as `<program> COMMAND --help` (print_usage: the program's own usage). */
const cli_command_t *cli_find_command(const cli_command_t *commands, size_t n, const char *name);
void cli_print_commands(const cli_command_t *commands, size_t n, int width);
int cli_help_command(const cli_command_t *commands, size_t n, void (*print_usage)(void), cli_context_t *ctx, int argc,
                     char **argv);

#endif
