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
