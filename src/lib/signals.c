/* SPDX-License-Identifier: Apache-2.0 */
/* Signal names and numbers, for `kill` and for messages ("killed by SIGKILL"). */
#include "config.h"
#include "signals.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct signal_name
{
  const char *name;
  int sig;
};

/* The first entry for a number is its canonical name; aliases follow.  Guards keep the table
 * right on architectures that lack some signals (SIGSTKFLT, SIGPWR, SIGEMT, ...). */
static const struct signal_name names[] = {
  { "SIGHUP", SIGHUP },       { "SIGINT", SIGINT },   { "SIGQUIT", SIGQUIT },   { "SIGILL", SIGILL },
  { "SIGTRAP", SIGTRAP },     { "SIGABRT", SIGABRT }, { "SIGIOT", SIGIOT },     { "SIGBUS", SIGBUS },
  { "SIGFPE", SIGFPE },       { "SIGKILL", SIGKILL }, { "SIGUSR1", SIGUSR1 },   { "SIGSEGV", SIGSEGV },
  { "SIGUSR2", SIGUSR2 },     { "SIGPIPE", SIGPIPE }, { "SIGALRM", SIGALRM },   { "SIGTERM", SIGTERM },
#ifdef SIGSTKFLT
  { "SIGSTKFLT", SIGSTKFLT },
#endif
  { "SIGCHLD", SIGCHLD },
#ifdef SIGCLD
  { "SIGCLD", SIGCLD },
#endif
  { "SIGCONT", SIGCONT },     { "SIGSTOP", SIGSTOP }, { "SIGTSTP", SIGTSTP },   { "SIGTTIN", SIGTTIN },
  { "SIGTTOU", SIGTTOU },     { "SIGURG", SIGURG },   { "SIGXCPU", SIGXCPU },   { "SIGXFSZ", SIGXFSZ },
  { "SIGVTALRM", SIGVTALRM }, { "SIGPROF", SIGPROF }, { "SIGWINCH", SIGWINCH }, { "SIGIO", SIGIO },
#ifdef SIGPOLL
  { "SIGPOLL", SIGPOLL },
#endif
#ifdef SIGPWR
  { "SIGPWR", SIGPWR },
#endif
#ifdef SIGINFO
  { "SIGINFO", SIGINFO },
#endif
#ifdef SIGLOST
  { "SIGLOST", SIGLOST },
#endif
#ifdef SIGEMT
  { "SIGEMT", SIGEMT },
#endif
  { "SIGSYS", SIGSYS },
#ifdef SIGUNUSED
  { "SIGUNUSED", SIGUNUSED },
#endif
};

#define N_NAMES (sizeof names / sizeof names[0])

/* Parse the decimal number that follows "RTMIN+" or "RTMAX-": digits only, small. */
static int
parse_offset(const char *s, int *ret)
{
  long v;
  char *end;

  if (!isdigit((unsigned char)*s))
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (*end != '\0' || errno != 0 || v > 1000)
    return -1;
  *ret = (int)v;
  return 0;
}

static int
parse_rt(const char *s, int *ret)
{
  int off = 0, sig;

  if (strncasecmp(s, "RTMIN", 5) == 0)
    {
      if (s[5] != '\0' && (s[5] != '+' || parse_offset(s + 6, &off) < 0))
        return -1;
      sig = SIGRTMIN + off;
    }
  else if (strncasecmp(s, "RTMAX", 5) == 0)
    {
      if (s[5] != '\0' && (s[5] != '-' || parse_offset(s + 6, &off) < 0))
        return -1;
      sig = SIGRTMAX - off;
    }
  else
    return -1;
  if (sig < SIGRTMIN || sig > SIGRTMAX)
    return -1;
  *ret = sig;
  return 0;
}

int
isolazi_signal_parse(const char *s, int *ret, isolazi_error_t *err)
{
  const char *name = s;
  size_t i;

  if (isdigit((unsigned char)s[0]))
    {
      long v;
      char *end;
      errno = 0;
      v = strtol(s, &end, 10);
      /* 0 is accepted: kill(2) takes it as "check that the process exists". */
      if (*end != '\0' || errno != 0 || v < 0 || v > SIGRTMAX)
        return isolazi_error_set(err, 0, "unknown signal `%s`", s);
      *ret = (int)v;
      return 0;
    }
  if (strncasecmp(name, "SIG", 3) == 0)
    name += 3;
  for (i = 0; i < N_NAMES; i++)
    if (strcasecmp(name, names[i].name + 3) == 0)
      {
        *ret = names[i].sig;
        return 0;
      }
  if (parse_rt(name, ret) == 0)
    return 0;
  return isolazi_error_set(err, 0, "unknown signal `%s`", s);
}

const char *
isolazi_signal_name(int sig)
{
  /* Real-time names are made once, on first use: SIGRTMIN is a glibc run-time value. */
  static char rt_names[_NSIG][16];
  size_t i;

  for (i = 0; i < N_NAMES; i++)
    if (names[i].sig == sig)
      return names[i].name;
  if (sig < SIGRTMIN || sig > SIGRTMAX || sig >= _NSIG)
    return NULL;
  if (rt_names[sig][0] == '\0')
    {
      /* As `kill -l` names them: RTMIN+n in the lower half, RTMAX-n in the upper. */
      int mid = SIGRTMIN + (SIGRTMAX - SIGRTMIN) / 2;
      if (sig == SIGRTMIN)
        snprintf(rt_names[sig], sizeof rt_names[sig], "SIGRTMIN");
      else if (sig == SIGRTMAX)
        snprintf(rt_names[sig], sizeof rt_names[sig], "SIGRTMAX");
      else if (sig <= mid)
        snprintf(rt_names[sig], sizeof rt_names[sig], "SIGRTMIN+%d", sig - SIGRTMIN);
      else
        snprintf(rt_names[sig], sizeof rt_names[sig], "SIGRTMAX-%d", SIGRTMAX - sig);
    }
  return rt_names[sig];
}
