/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "log.h"
#include "signals.h"
#include "utils.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_program = "isolazi";

/* runc's: flags before the container id, exit status 1 for a usage error, errors into the log
   sink (--log, --log-format) as well as on stderr. */
const cli_frontend_t cli_frontend = {
  .global_flags = "--root, --log, --log-format, --debug, ...",
  .usage_status = 1,
  .flags_anywhere = false,
  .report = isolazi_log_error_final,
};

int
cli_check_args(const cli_verb_t *verb, int argc, char **argv, int min, int max)
{
  int n = argc - optind;

  if (n < min)
    {
      if (min == 1)
        return cli_usage_error(verb->name, "`%s %s` requires a container id", cli_program, verb->name);
      return cli_usage_error(verb->name, "`%s %s` requires %d arguments", cli_program, verb->name, min);
    }
  if (max >= 0 && n > max)
    return cli_usage_error(verb->name,
                           "`%s %s` does not take the argument `%s` (flags go before the "
                           "container id)",
                           cli_program, verb->name, argv[optind + max]);
  return 0;
}

/* The value of global flag `name` at argv[*i] ("--name=value" or "--name value"), or NULL. */
static const char *
flag_value(int argc, char **argv, int *i, const char *name)
{
  size_t n = strlen(name);

  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] == '\0' && *i + 1 < argc)
    return argv[++*i];
  return NULL;
}

int
cli_log_setup(int argc, char **argv, const char *const *valued, isolazi_error_t *err)
{
  const char *log_path = NULL, *log_format_text = NULL;
  isolazi_log_format_t log_format = ISOLAZI_LOG_FORMAT_TEXT;
  bool debug = false;
  int i;

  for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++)
    {
      const char *v;
      size_t k;
      if ((v = flag_value(argc, argv, &i, "--log-format")) != NULL)
        log_format_text = v;
      else if ((v = flag_value(argc, argv, &i, "--log")) != NULL)
        log_path = v;
      else if (strcmp(argv[i], "--debug") == 0)
        debug = true;
      else
        for (k = 0; valued[k] != NULL; k++)
          if (flag_value(argc, argv, &i, valued[k]) != NULL)
            break;
    }
  if (log_format_text != NULL && isolazi_log_format_parse(log_format_text, &log_format, err) < 0)
    {
      /* the error still goes somewhere the caller reads: the log file, as text */
      (void)isolazi_log_init(log_path, ISOLAZI_LOG_FORMAT_TEXT, debug, NULL);
      return -1;
    }
  return isolazi_log_init(log_path, log_format, debug, err);
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
cli_parse_kill(const cli_verb_t *verb, int argc, char **argv, int *ret_sig, bool *ret_all)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool first = true, all = false;
  int c, sig = SIGTERM;

  while ((c = cli_getopt(verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(verb, argc, argv, 1, 2) != 0)
    return 1;
  if (optind + 1 < argc && isolazi_signal_parse(argv[optind + 1], &sig, &err) < 0)
    return cli_fail(&err);
  *ret_sig = sig;
  *ret_all = all;
  return CLI_DONE;
}

int
cli_parse_delete(const cli_verb_t *verb, int argc, char **argv, bool *ret_force)
{
  bool first = true, force = false;
  int c;

  while ((c = cli_getopt(verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(verb, argc, argv, 1, 1) != 0)
    return 1;
  *ret_force = force;
  return CLI_DONE;
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
