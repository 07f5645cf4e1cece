/* SPDX-License-Identifier: Apache-2.0 */
/* Signal names as `isolazi kill` takes them. */
#include "config.h"
#include "../unit/tap.h"
#include "signals.h"

#include <signal.h>
#include <stdlib.h>

static void
parses_to(const char *s, int want)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int sig = -100;
  int r = isolazi_signal_parse(s, &sig, &err);

  tap_ok(r == 0 && sig == want, "`%s` parses to %d (got %d, r=%d%s%s)", s, want, sig, r, err.msg ? ": " : "",
         err.msg ? err.msg : "");
  isolazi_error_release(&err);
}

static void
rejects(const char *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char want[128];
  int sig = -100;
  int r = isolazi_signal_parse(s, &sig, &err);

  snprintf(want, sizeof want, "unknown signal `%s`", s);
  tap_ok(r < 0 && sig == -100, "`%s` is rejected", s);
  tap_streq(err.msg, want, "message for `%s`", s);
  isolazi_error_release(&err);
}

int
main(void)
{
  char buf[32];
  int i;

  /* Every name form. */
  parses_to("KILL", SIGKILL);
  parses_to("SIGKILL", SIGKILL);
  parses_to("sigkill", SIGKILL);
  parses_to("kill", SIGKILL);
  parses_to("SigTerm", SIGTERM);
  parses_to("HUP", SIGHUP);
  parses_to("USR1", SIGUSR1);
  parses_to("sigusr2", SIGUSR2);
  parses_to("WINCH", SIGWINCH);
  parses_to("STOP", SIGSTOP);
  parses_to("CONT", SIGCONT);
  parses_to("SYS", SIGSYS);
  parses_to("STKFLT", SIGSTKFLT);
  parses_to("PWR", SIGPWR);

  /* Aliases. */
  parses_to("SIGIOT", SIGABRT);
  parses_to("IOT", SIGABRT);
  parses_to("SIGPOLL", SIGIO);
  parses_to("IO", SIGIO);
  parses_to("SIGCLD", SIGCHLD);
  parses_to("cld", SIGCHLD);

  /* Numbers. */
  parses_to("9", 9);
  parses_to("15", 15);
  parses_to("0", 0);
  snprintf(buf, sizeof buf, "%d", SIGRTMAX);
  parses_to(buf, SIGRTMAX);

  /* Real-time signals. */
  parses_to("RTMIN", SIGRTMIN);
  parses_to("SIGRTMIN", SIGRTMIN);
  parses_to("RTMIN+3", SIGRTMIN + 3);
  parses_to("sigrtmin+1", SIGRTMIN + 1);
  parses_to("RTMAX", SIGRTMAX);
  parses_to("SIGRTMAX-1", SIGRTMAX - 1);
  parses_to("rtmax-2", SIGRTMAX - 2);
  snprintf(buf, sizeof buf, "RTMIN+%d", SIGRTMAX - SIGRTMIN);
  parses_to(buf, SIGRTMAX);

  /* Bad input. */
  rejects("FOO");
  rejects("SIGFOO");
  rejects("");
  rejects("SIG");
  rejects("-9");
  rejects("9x");
  rejects("1000");
  rejects("99999999999999999999");
  rejects(" 9");
  rejects("KILL ");
  rejects("RTMIN-1");
  rejects("RTMAX+1");
  rejects("RTMIN+");
  rejects("RTMIN+x");
  rejects("RTMIN+1000");
  snprintf(buf, sizeof buf, "RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
  rejects(buf);
  snprintf(buf, sizeof buf, "%d", SIGRTMAX + 1);
  rejects(buf);

  /* Names. */
  tap_streq(isolazi_signal_name(SIGKILL), "SIGKILL", "name of 9");
  tap_streq(isolazi_signal_name(SIGTERM), "SIGTERM", "name of 15");
  tap_streq(isolazi_signal_name(SIGABRT), "SIGABRT", "SIGABRT, not its alias SIGIOT");
  tap_streq(isolazi_signal_name(SIGCHLD), "SIGCHLD", "SIGCHLD, not its alias SIGCLD");
  tap_streq(isolazi_signal_name(SIGIO), "SIGIO", "SIGIO, not its alias SIGPOLL");
  tap_streq(isolazi_signal_name(SIGRTMIN), "SIGRTMIN", "name of SIGRTMIN");
  tap_streq(isolazi_signal_name(SIGRTMIN + 1), "SIGRTMIN+1", "name of SIGRTMIN+1");
  tap_streq(isolazi_signal_name(SIGRTMAX - 1), "SIGRTMAX-1", "name of SIGRTMAX-1");
  tap_streq(isolazi_signal_name(SIGRTMAX), "SIGRTMAX", "name of SIGRTMAX");
  tap_ok(isolazi_signal_name(0) == NULL, "no name for 0");
  tap_ok(isolazi_signal_name(-1) == NULL, "no name for -1");
  tap_ok(isolazi_signal_name(SIGRTMAX + 1) == NULL, "no name past SIGRTMAX");
  tap_ok(isolazi_signal_name(100000) == NULL, "no name for 100000");

  /* Every name round-trips through the parser. */
  for (i = 1; i <= SIGRTMAX; i++)
    {
      const char *name = isolazi_signal_name(i);
      isolazi_error_t err = ISOLAZI_ERROR_INIT;
      int sig = -1;
      if (name == NULL)
        continue;
      if (isolazi_signal_parse(name, &sig, &err) < 0 || sig != i)
        {
          tap_ok(0, "`%s` (%d) round-trips (got %d)", name, i, sig);
          isolazi_error_release(&err);
        }
    }
  tap_ok(1, "names of 1..SIGRTMAX round-trip");
  return tap_done();
}
