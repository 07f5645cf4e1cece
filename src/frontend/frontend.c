/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "frontend.h"
#include "cleanup.h"
#include "utils.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cli_print_usage(const cli_verb_t *verb)
{
  printf("Usage: %s %s %s\n\n", cli_program, verb->name, verb->args);
  fputs(verb->description, stdout);
  printf("\nOptions:\n");
  if (verb->options != NULL)
    fputs(verb->options, stdout);
  printf("  -h, --help                  show this help\n");
  printf("\nGlobal options (%s) go before the command: see `%s --help`.\n", cli_frontend.global_flags, cli_program);
  fflush(stdout);
}

int
cli_usage_error(const char *verb, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  cli_frontend.report(msg != NULL ? msg : "usage error");
  if (verb != NULL)
    fprintf(stderr, "Run `%s %s --help` for usage.\n", cli_program, verb);
  else
    fprintf(stderr, "Run `%s --help` for usage.\n", cli_program);
  return cli_frontend.usage_status;
}

int
cli_fail(isolazi_error_t *err)
{
  cli_frontend.report(err->msg != NULL ? err->msg : "unknown error");
  isolazi_error_release(err);
  return 1;
}

/* The flag as the user wrote it, without any "=value". */
static char *
flag_text(const char *arg)
{
  const char *eq = strchr(arg, '=');
  if (isolazi_has_prefix(arg, "--") && eq != NULL)
    return xasprintf("%.*s", (int)(eq - arg), arg);
  return xstrdup(arg);
}

static bool
takes_no_value(const struct option *longopts, const char *flag)
{
  const struct option *o;

  if (!isolazi_has_prefix(flag, "--"))
    return false;
  for (o = longopts; o->name != NULL; o++)
    if (strcmp(o->name, flag + 2) == 0)
      return o->has_arg == no_argument;
  return false;
}

int
cli_getopt(const cli_verb_t *verb, int argc, char **argv, bool *first)
{
  bool in_order = verb->name == NULL || !cli_frontend.flags_anywhere;
  cleanup_free char *shortopts = xasprintf("%s:%s", in_order ? "+" : "", verb->shortopts);
  int c, prev;

  if (*first)
    {
      optind = 0; /* GNU getopt: full reinitialisation, scanning starts at argv[1] */
      *first = false;
    }
  prev = optind > 0 ? optind : 1;
  opterr = 0;
  c = getopt_long(argc, argv, shortopts, verb->longopts, NULL);
  if (c == '?' || c == ':')
    {
      /* Name the flag as it was written.  The element getopt worked on is the one it moved past
         (argv[optind - 1]: with permutation, arguments before it were skipped), or, inside a
         cluster like "-ax", the one it is still in; a long one is named from argv (optopt is 0
         for an unknown long flag), a short one from optopt. */
      const char *elem = optind > prev ? argv[optind - 1] : (prev < argc ? argv[prev] : "");
      cleanup_free char *flag = NULL;
      cleanup_free char *cmd = verb->name != NULL ? xasprintf("%s %s", cli_program, verb->name) : xstrdup(cli_program);
      if (isolazi_has_prefix(elem, "--"))
        flag = flag_text(elem);
      else
        flag = xasprintf("-%c", optopt);
      if (c == ':')
        cli_usage_error(verb->name, "flag `%s` of `%s` needs a value", flag, cmd);
      else if (takes_no_value(verb->longopts, flag))
        cli_usage_error(verb->name, "flag `%s` of `%s` takes no value", flag, cmd);
      else
        cli_usage_error(verb->name, "unknown flag `%s` for `%s`", flag, cmd);
      return CLI_EXIT_ERROR;
    }
  if (c == 'h' && verb->name != NULL)
    {
      cli_print_usage(verb);
      return CLI_EXIT_OK;
    }
  return c; /* for the global flags, 'h' too: the program's usage is main's business */
}

const cli_command_t *
cli_find_command(const cli_command_t *commands, size_t n, const char *name)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

void
cli_print_commands(const cli_command_t *commands, size_t n, int width)
{
  size_t i;

  for (i = 0; i < n; i++)
    printf("  %-*s %s\n", width, commands[i].name, commands[i].summary);
}

int
cli_help_command(const cli_command_t *commands, size_t n, void (*print_usage)(void), cli_context_t *ctx, int argc,
                 char **argv)
{
  const cli_command_t *cmd;
  char help_flag[] = "--help";
  char *sub_argv[3];

  if (argc < 2)
    {
      print_usage();
      return 0;
    }
  cmd = cli_find_command(commands, n, argv[1]);
  if (cmd == NULL)
    return cli_usage_error(NULL, "unknown command `%s`", argv[1]);
  if (strcmp(cmd->name, "help") == 0)
    {
      print_usage();
      return 0;
    }
  sub_argv[0] = argv[1];
  sub_argv[1] = help_flag;
  sub_argv[2] = NULL;
  return cmd->handler(ctx, 2, sub_argv);
}
