/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static void
print_error(const char *msg)
{
  cleanup_free char *line = xasprintf("isolazi-pull: %s\n", msg);
  (void)isolazi_write_all(STDERR_FILENO, line, strlen(line));
}

const char *cli_program = "isolazi-pull";

/* podman's: flags anywhere after the command, exit status 2 for a usage error, errors on stderr
   after the program's name. */
const cli_frontend_t cli_frontend = {
  .global_flags = "--store, --debug",
  .usage_status = CLI_EXIT_USAGE,
  .flags_anywhere = true,
  .report = print_error,
};

int
cli_check_args(const cli_verb_t *verb, int argc, char **argv, int min, int max, const char *what)
{
  int n = argc - optind;

  if (n < min)
    return cli_usage_error(verb->name, "`isolazi-pull %s` requires %s", verb->name, what);
  if (max >= 0 && n > max)
    return cli_usage_error(verb->name, "`isolazi-pull %s` does not take the argument `%s`", verb->name,
                           argv[optind + max]);
  return 0;
}

int
cli_parse_no_flags(const cli_verb_t *verb, int argc, char **argv, int min, int max, const char *what)
{
  bool first = true;
  int c;

  while ((c = cli_getopt(verb, argc, argv, &first)) != CLI_DONE)
    return c == CLI_EXIT_OK ? 0 : CLI_EXIT_USAGE;
  return cli_check_args(verb, argc, argv, min, max, what) != 0 ? CLI_EXIT_USAGE : CLI_DONE;
}

int
cli_open_store(cli_context_t *ctx, isolazi_store_t **ret, isolazi_error_t *err)
{
  return isolazi_store_open(ctx->store_root, ret, err);
}

int
cli_parse_size(const char *flag, const char *s, int64_t *ret, isolazi_error_t *err)
{
  unsigned long long v, mult = 1;
  char *end;

  if (*s < '0' || *s > '9')
    goto bad;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0)
    goto bad;
  switch (*end)
    {
    case '\0':
      break;
    case 'b':
    case 'B':
      end++;
      break;
    case 'k':
    case 'K':
      mult = 1ULL << 10;
      end++;
      break;
    case 'm':
    case 'M':
      mult = 1ULL << 20;
      end++;
      break;
    case 'g':
    case 'G':
      mult = 1ULL << 30;
      end++;
      break;
    default:
      goto bad;
    }
  /* "64m" and "64mb" alike, as docker accepts both. */
  if (mult > 1 && (*end == 'b' || *end == 'B'))
    end++;
  if (*end != '\0' || v == 0 || v > (unsigned long long)INT64_MAX / mult)
    goto bad;
  *ret = (int64_t)(v * mult);
  return 0;

bad:
  return isolazi_error_set(err, 0, "invalid value `%s` for `%s`: expected a positive size such as 512k, 64m or 1g", s,
                           flag);
}

int
cli_parse_double(const char *flag, const char *s, double *ret, isolazi_error_t *err)
{
  char *end;
  double v;

  errno = 0;
  v = strtod(s, &end);
  if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0)
    return isolazi_error_set(err, 0, "invalid value `%s` for `%s`: expected a positive number", s, flag);
  *ret = v;
  return 0;
}

int
cli_parse_int64(const char *flag, const char *s, int64_t *ret, isolazi_error_t *err)
{
  long long v;
  char *end;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (*s < '0' || *s > '9' || *end != '\0' || errno != 0)
    return isolazi_error_set(err, 0, "invalid value `%s` for `%s`: expected a non-negative integer", s, flag);
  *ret = v;
  return 0;
}

int
cli_parse_bool(const char *flag, const char *s, bool *ret, isolazi_error_t *err)
{
  if (s == NULL || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
    *ret = true;
  else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
    *ret = false;
  else
    return isolazi_error_set(err, 0, "invalid value `%s` for `%s`: expected `true` or `false`", s, flag);
  return 0;
}

int
cli_parse_tls_verify(const char *s, isolazi_registry_opts_t *o, isolazi_error_t *err)
{
  bool verify = true;

  if (cli_parse_bool("--tls-verify", s, &verify, err) < 0)
    return -1;
  o->tls_insecure = !verify;
  return 0;
}

void
cli_pull_args_init(cli_pull_args_t *a)
{
  memset(a, 0, sizeof *a);
}

void
cli_pull_args_release(cli_pull_args_t *a)
{
  free(a->username);
  if (a->password != NULL)
    explicit_bzero(a->password, strlen(a->password));
  free(a->password);
  a->username = a->password = NULL;
}

int
cli_pull_args_flag(const char *verb, cli_pull_args_t *a, int c, const char *arg)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *colon;

  switch (c)
    {
    case CLI_OPT_PLATFORM:
      {
        /* os/arch or os/arch/variant, no empty part */
        const char *p1 = strchr(arg, '/'), *p2 = p1 != NULL ? strchr(p1 + 1, '/') : NULL;
        if (p1 == NULL || p1 == arg || p1[1] == '\0' || p1[1] == '/'
            || (p2 != NULL && (p2[1] == '\0' || strchr(p2 + 1, '/') != NULL)))
          {
            cli_usage_error(verb,
                            "invalid platform `%s` for `--platform`: expected OS/ARCH[/VARIANT], e.g. "
                            "linux/arm64",
                            arg);
            return CLI_EXIT_ERROR;
          }
        a->o.platform = arg;
        return 0;
      }
    case CLI_OPT_TLS_VERIFY:
      if (cli_parse_tls_verify(arg, &a->o.registry, &err) < 0)
        {
          cli_usage_error(verb, "%s", err.msg);
          isolazi_error_release(&err);
          return CLI_EXIT_ERROR;
        }
      return 0;
    case CLI_OPT_CREDS:
      colon = strchr(arg, ':');
      if (colon == NULL || colon == arg)
        {
          cli_usage_error(verb, "invalid value for `--creds`: expected USER:PASSWORD");
          return CLI_EXIT_ERROR;
        }
      cli_pull_args_release(a);
      a->username = xasprintf("%.*s", (int)(colon - arg), arg);
      a->password = xstrdup(colon + 1);
      a->o.registry.username = a->username;
      a->o.registry.password = a->password;
      return 0;
    case CLI_OPT_AUTHFILE:
      a->o.registry.auth_file = arg;
      return 0;
    case CLI_OPT_CERT_DIR:
      a->o.registry.cert_dir = arg;
      return 0;
    case 'q':
      a->quiet = true;
      return 0;
    default:
      return 1;
    }
}

void
cli_format_size(int64_t bytes, char buf[32])
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double)bytes;
  size_t u = 0;

  if (bytes < 0)
    {
      snprintf(buf, 32, "?");
      return;
    }
  while (v >= 1000 && u + 1 < sizeof units / sizeof units[0])
    {
      v /= 1000;
      u++;
    }
  if (u == 0)
    snprintf(buf, 32, "%lld B", (long long)bytes);
  else
    snprintf(buf, 32, "%.3g %s", v, units[u]);
}

/* ---- progress ------------------------------------------------------------------------------ */

typedef struct progress_blob
{
  char digest[ISOLAZI_DIGEST_MAX];
  int64_t done, total;
  bool finished;
} progress_blob_t;

typedef struct progress
{
  bool tty;
  progress_blob_t *blobs;
  size_t n;
  size_t drawn; /* lines on the terminal that belong to us */
  struct timespec last;
} progress_t;

/* "sha256:0123456789ab": enough to tell layers apart. */
static void
short_digest(const char *digest, char buf[32])
{
  const char *colon = strchr(digest, ':');
  size_t prefix = colon != NULL ? (size_t)(colon - digest) + 1 : 0;
  snprintf(buf, 32, "%.*s%.12s", (int)prefix, digest, digest + prefix);
}

static void
draw(progress_t *p)
{
  struct winsize ws;
  int cols = 80;
  size_t i;

  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    cols = ws.ws_col;
  if (p->drawn > 0)
    fprintf(stderr, "\033[%zuA", p->drawn);
  for (i = 0; i < p->n; i++)
    {
      progress_blob_t *b = &p->blobs[i];
      char name[32], done[32], total[32], bar[64];
      int width = cols - 60, fill = 0, k;

      if (width > 40)
        width = 40;
      short_digest(b->digest, name);
      cli_format_size(b->done, done);
      cli_format_size(b->total, total);
      if (b->finished)
        {
          fprintf(stderr, "\r\033[K%s  done %s\n", name, total);
          continue;
        }
      if (width < 10)
        {
          fprintf(stderr, "\r\033[K%s  %s / %s\n", name, done, total);
          continue;
        }
      if (b->total > 0)
        fill = (int)((double)b->done * width / (double)b->total);
      if (fill > width)
        fill = width;
      for (k = 0; k < width; k++)
        bar[k] = k < fill ? '=' : (k == fill ? '>' : ' ');
      bar[width] = '\0';
      fprintf(stderr, "\r\033[K%s  [%s]  %s / %s\n", name, bar, done, total);
    }
  p->drawn = p->n;
  fflush(stderr);
}

static void
progress_cb(void *data, const char *digest, int64_t done, int64_t total)
{
  progress_t *p = data;
  progress_blob_t *b = NULL;
  struct timespec now;
  bool finished_now = false;
  size_t i;

  for (i = 0; i < p->n; i++)
    if (strcmp(p->blobs[i].digest, digest) == 0)
      b = &p->blobs[i];
  if (b == NULL)
    {
      p->blobs = xrealloc(p->blobs, (p->n + 1) * sizeof *p->blobs);
      b = &p->blobs[p->n++];
      memset(b, 0, sizeof *b);
      snprintf(b->digest, sizeof b->digest, "%s", digest);
    }
  b->done = done;
  b->total = total;
  if (total >= 0 && done >= total && !b->finished)
    {
      b->finished = true;
      finished_now = true;
    }

  if (!p->tty)
    {
      if (finished_now)
        {
          char name[32], size[32];
          short_digest(digest, name);
          cli_format_size(total, size);
          fprintf(stderr, "blob %s: done (%s)\n", name, size);
        }
      return;
    }
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (!finished_now && (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000 < 100)
    return;
  p->last = now;
  draw(p);
}

int
cli_pull_image(isolazi_store_t *s, const char *ref, cli_pull_args_t *a, isolazi_store_image_t *ret,
               isolazi_error_t *err)
{
  progress_t p;
  int r;

  memset(&p, 0, sizeof p);
  p.tty = isatty(STDERR_FILENO) == 1;
  if (!a->quiet)
    {
      a->o.registry.progress = progress_cb;
      a->o.registry.progress_data = &p;
      if (!p.tty)
        fprintf(stderr, "pulling %s\n", ref);
    }
  r = isolazi_image_pull(s, ref, &a->o, ret, err);
  if (p.tty && p.n > 0)
    draw(&p);
  a->o.registry.progress = NULL;
  a->o.registry.progress_data = NULL;
  free(p.blobs);
  return r;
}
