/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "auth.h"
#include "cleanup.h"
#include "registry.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum
{
  OPT_PASSWORD_STDIN = CLI_OPT_FIRST_FREE,
};

static const struct option longopts[] = {
  { "username", required_argument, NULL, 'u' },
  { "password", required_argument, NULL, 'p' },
  { "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
  { "authfile", required_argument, NULL, CLI_OPT_AUTHFILE },
  { "tls-verify", optional_argument, NULL, CLI_OPT_TLS_VERIFY },
  { "cert-dir", required_argument, NULL, CLI_OPT_CERT_DIR },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "login",
  .args = "[OPTIONS] REGISTRY",
  .description = "Check a user name and password against REGISTRY (`localhost:5000`, `ghcr.io`,\n"
                 "`docker.io`) and save them in the auth file, which pull and bundle then use.  Without\n"
                 "-u or -p they are asked for on the terminal.\n",
  .options = "  -u, --username USER         the user name\n"
             "  -p, --password PASSWORD     the password (visible to other users in ps: prefer\n"
             "                              --password-stdin)\n"
             "      --password-stdin        read the password from stdin\n"
             "      --authfile FILE         the auth file to write (default: $REGISTRY_AUTH_FILE, else\n"
             "                              $XDG_RUNTIME_DIR/containers/auth.json, else\n"
             "                              ~/.docker/config.json)\n"
             "      --tls-verify=BOOL       check the registry's certificate (default true)\n"
             "      --cert-dir DIR          CA certificates (*.crt) and a client certificate (*.cert with\n"
             "                              its *.key) for the registry (default: its certs.d directory)\n",
  .shortopts = "u:p:h",
  .longopts = longopts,
};

/* One line from fd without its newline; echo off when fd is a terminal and `secret`. */
static char *
read_line(int fd, bool secret)
{
  struct termios old, quiet;
  bool restore = false;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  FILE *f;

  f = fdopen(dup(fd), "r");
  if (f == NULL)
    return NULL;
  if (secret && tcgetattr(fd, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
  n = getline(&line, &cap, f);
  if (restore)
    {
      (void)tcsetattr(fd, TCSAFLUSH, &old);
      fputc('\n', stderr);
    }
  fclose(f);
  if (n < 0)
    {
      free(line);
      return NULL;
    }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

int
cli_login(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_registry_opts_t opts;
  cleanup_free char *user = NULL;
  char *password = NULL;
  const char *auth_file = NULL, *host;
  bool first = true, from_stdin = false;
  int c, r;

  (void)ctx;
  memset(&opts, 0, sizeof opts);
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'u':
        free(user);
        user = xstrdup(optarg);
        break;
      case 'p':
        free(password);
        password = xstrdup(optarg);
        break;
      case OPT_PASSWORD_STDIN:
        from_stdin = true;
        break;
      case CLI_OPT_AUTHFILE:
        auth_file = optarg;
        break;
      case CLI_OPT_CERT_DIR:
        opts.cert_dir = optarg;
        break;
      case CLI_OPT_TLS_VERIFY:
        if (cli_parse_tls_verify(optarg, &opts, &err) < 0)
          {
            r = cli_usage_error(verb.name, "%s", err.msg);
            isolazi_error_release(&err);
            free(password);
            return r;
          }
        break;
      case CLI_EXIT_OK:
        free(password);
        return 0;
      default:
        free(password);
        return CLI_EXIT_USAGE;
      }
  if (password != NULL && from_stdin)
    {
      free(password);
      return cli_usage_error(verb.name, "`--password` and `--password-stdin` exclude each other");
    }
  if (cli_check_args(&verb, argc, argv, 1, 1, "a registry") != 0)
    {
      free(password);
      return CLI_EXIT_USAGE;
    }
  host = argv[optind];

  if (user == NULL)
    {
      if (from_stdin || isatty(STDIN_FILENO) != 1)
        {
          free(password);
          return cli_usage_error(verb.name, "`isolazi-pull login` needs `--username` when stdin is not a terminal");
        }
      fprintf(stderr, "Username: ");
      user = read_line(STDIN_FILENO, false);
    }
  if (password == NULL)
    {
      if (!from_stdin)
        {
          if (isatty(STDIN_FILENO) != 1)
            return cli_usage_error(verb.name, "`isolazi-pull login` needs `--password-stdin` or `--password` when "
                                              "stdin is not a terminal");
          fprintf(stderr, "Password: ");
        }
      password = read_line(STDIN_FILENO, !from_stdin);
    }
  if (user == NULL || password == NULL || *user == '\0' || *password == '\0')
    {
      free(password);
      return cli_usage_error(verb.name, "`isolazi-pull login` needs a user name and a password");
    }

  r = 0;
  if (isolazi_registry_check_login(host, user, password, &opts, &err) < 0
      || isolazi_auth_store(host, user, password, auth_file, &err) < 0)
    r = cli_fail(&err);
  else
    printf("Login Succeeded\n");
  explicit_bzero(password, strlen(password));
  free(password);
  return r;
}
