/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cli_print_usage(const cli_verb_t *verb)
{
  printf("Usage: isolazi %s %s\n\n", verb->name, verb->args);
  fputs(verb->description, stdout);
  printf("\nOptions:\n");
  if (verb->options != NULL)
    fputs(verb->options, stdout);
  printf("  -h, --help                  show this help\n");
  printf("\nGlobal options (--root, --log, --log-format, --debug, ...) go before the command: see `isolazi "
         "--help`.\n");
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
  isolazi_log_error_final(msg != NULL ? msg : "usage error");
  if (verb != NULL)
    fprintf(stderr, "Run `isolazi %s --help` for usage.\n", verb);
  else
    fprintf(stderr, "Run `isolazi --help` for usage.\n");
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
  cleanup_free char *shortopts = xasprintf("+:%s", verb->shortopts);
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
      /* Name the flag as it was written: a long one from argv (optopt is 0 for an unknown long
         flag), a short one from optopt (it may sit inside a cluster like "-ax"). */
      cleanup_free char *flag = NULL;
      cleanup_free char *cmd = verb->name != NULL ? xasprintf("isolazi %s", verb->name) : xstrdup("isolazi");
      if (prev < argc && isolazi_has_prefix(argv[prev], "--"))
        flag = flag_text(argv[prev]);
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
  switch (c)
    {
    case 'h':
      if (verb->name == NULL)
        return c; /* the global usage is main's business */
      cli_print_usage(verb);
      return CLI_EXIT_OK;

    default:
      return c;
    }
}

int
cli_check_args(const cli_verb_t *verb, int argc, char **argv, int min, int max)
{
  int n = argc - optind;

  if (n < min)
    {
      if (min == 1)
        return cli_usage_error(verb->name, "`isolazi %s` requires a container id", verb->name);
      return cli_usage_error(verb->name, "`isolazi %s` requires %d arguments", verb->name, min);
    }
  if (max >= 0 && n > max)
    return cli_usage_error(verb->name,
                           "`isolazi %s` does not take the argument `%s` (flags go before the "
                           "container id)",
                           verb->name, argv[optind + max]);
  return 0;
}

int
cli_fail(isolazi_error_t *err)
{
  isolazi_log_error_final(err->msg != NULL ? err->msg : "unknown error");
  isolazi_error_release(err);
  return 1;
}

int
cli_parse_uint(const char *name, const char *s, unsigned int *ret, isolazi_error_t *err)
{
  unsigned long v;
  char *end;

  if (*s < '0' || *s > '9')
    return isolazi_error_set(err, 0, "invalid value `%s` for `--%s`: expected a non-negative number", s, name);
  errno = 0;
  v = strtoul(s, &end, 10);
  if (*end != '\0' || errno != 0 || v > INT_MAX)
    return isolazi_error_set(err, 0, "invalid value `%s` for `--%s`: expected a non-negative number", s, name);
  *ret = (unsigned int)v;
  return 0;
}

int
cli_parse_id_only(const cli_verb_t *verb, int argc, char **argv)
{
  bool first = true;
  int c;

  while ((c = cli_getopt(verb, argc, argv, &first)) != CLI_DONE)
    if (c == CLI_EXIT_OK || c == CLI_EXIT_ERROR)
      return c == CLI_EXIT_OK ? 0 : 1;
  return cli_check_args(verb, argc, argv, 1, 1) != 0 ? 1 : CLI_DONE;
}
