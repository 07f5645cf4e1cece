/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  OPT_COPY = CLI_OPT_FIRST_FREE,
  OPT_HOSTNAME,
  OPT_CWD,
  OPT_USER,
  OPT_ENTRYPOINT,
  OPT_MEMORY,
  OPT_CPUS,
  OPT_PIDS_LIMIT,
  OPT_ROOTLESS,
  OPT_SECCOMP,
};

static const struct option longopts[] = {
  CLI_PULL_LONGOPTS,
  { "copy", no_argument, NULL, OPT_COPY },
  { "env", required_argument, NULL, 'e' },
  { "volume", required_argument, NULL, 'v' },
  { "hostname", required_argument, NULL, OPT_HOSTNAME },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "workdir", required_argument, NULL, OPT_CWD },
  { "user", required_argument, NULL, OPT_USER },
  { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
  { "memory", required_argument, NULL, OPT_MEMORY },
  { "cpus", required_argument, NULL, OPT_CPUS },
  { "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
  { "rootless", no_argument, NULL, OPT_ROOTLESS },
  { "seccomp", required_argument, NULL, OPT_SECCOMP },
  { "tty", no_argument, NULL, 't' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "bundle",
  .args = "[OPTIONS] REF DIR [-- ARG...]",
  .description = "Make DIR a runnable OCI bundle of the image REF, pulling it first when it is not in the\n"
                 "store: DIR/config.json from the image's config and the options below, and DIR/rootfs, an\n"
                 "overlay mount of the store's unpacked layers (read-only) with DIR/upper on top, which takes\n"
                 "milliseconds once the layers are unpacked.  --copy makes DIR/rootfs a plain directory\n"
                 "instead (and is what users other than root get).  DIR must be empty or absent.  ARGs replace\n"
                 "the image's Cmd.  Run it with `isolazi run -b DIR ID`; remove it with\n"
                 "`isolazi-pull rm-bundle DIR`, and after a reboot mount it again with `isolazi-pull mount DIR`.\n",
  .options = "      --copy                  unpack the layers into DIR/rootfs instead of an overlay mount\n"
             "  -e, --env KEY=VALUE         set an environment variable (repeatable)\n"
             "  -v, --volume SRC:DST[:ro]   bind-mount a host path (repeatable)\n"
             "      --hostname NAME         the container's hostname\n"
             "      --cwd DIR               the working directory (default: the image's WorkingDir)\n"
             "      --user USER[:GROUP]     user name or uid (names come from the image's /etc/passwd)\n"
             "      --entrypoint CMD        replace the image's Entrypoint\n"
             "      --memory SIZE           memory limit (512k, 64m, 1g)\n"
             "      --cpus N                CPU limit (1.5 = one and a half CPUs)\n"
             "      --pids-limit N          maximum number of processes\n"
             "      --rootless              a config for a rootless container (user namespace)\n"
             "      --seccomp PROFILE       default, minimal, strict or none\n"
             "  -t, --tty                   give the process a terminal\n" CLI_PULL_OPTIONS,
  .shortopts = "e:v:tqh",
  .longopts = longopts,
};

typedef struct strv
{
  const char **v;
  size_t n;
} strv_t;

static void
strv_add(strv_t *s, const char *x)
{
  s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n++] = x;
}

/* Parse the flags into a; returns CLI_DONE or the exit status. */
static int
parse(int argc, char **argv, cli_pull_args_t *p, isolazi_assemble_opts_t *a, strv_t *env, strv_t *vol)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool first = true;
  int c, r;

  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    {
      switch (c)
        {
        case CLI_EXIT_OK:
          return 0;
        case CLI_EXIT_ERROR:
          return CLI_EXIT_USAGE;
        case OPT_COPY:
          a->copy = true;
          break;
        case 'e':
          if (strchr(optarg, '=') == NULL || optarg[0] == '=')
            return cli_usage_error(verb.name, "invalid value `%s` for `--env`: expected KEY=VALUE", optarg);
          strv_add(env, optarg);
          break;
        case 'v':
          if (strchr(optarg, ':') == NULL)
            return cli_usage_error(verb.name, "invalid value `%s` for `--volume`: expected SRC:DST[:ro]", optarg);
          strv_add(vol, optarg);
          break;
        case OPT_HOSTNAME:
          a->config.hostname = optarg;
          break;
        case OPT_CWD:
          if (optarg[0] != '/')
            return cli_usage_error(verb.name, "invalid value `%s` for `--cwd`: expected an absolute path", optarg);
          a->config.cwd = optarg;
          break;
        case OPT_USER:
          a->config.user = optarg;
          break;
        case OPT_ENTRYPOINT:
          a->config.entrypoint = optarg;
          break;
        case OPT_MEMORY:
          if (cli_parse_size("--memory", optarg, &a->config.memory, &err) < 0)
            goto usage;
          break;
        case OPT_CPUS:
          if (cli_parse_double("--cpus", optarg, &a->config.cpus, &err) < 0)
            goto usage;
          break;
        case OPT_PIDS_LIMIT:
          if (cli_parse_int64("--pids-limit", optarg, &a->config.pids_limit, &err) < 0)
            goto usage;
          break;
        case OPT_ROOTLESS:
          a->config.rootless = true;
          break;
        case OPT_SECCOMP:
          if (strcmp(optarg, "default") != 0 && strcmp(optarg, "minimal") != 0 && strcmp(optarg, "strict") != 0
              && strcmp(optarg, "none") != 0)
            return cli_usage_error(verb.name,
                                   "invalid value `%s` for `--seccomp`: expected `default`, `minimal`, `strict` or "
                                   "`none`",
                                   optarg);
          a->config.seccomp = optarg;
          break;
        case 't':
          a->config.terminal = true;
          break;
        default:
          r = cli_pull_args_flag(verb.name, p, c, optarg);
          if (r == CLI_EXIT_ERROR)
            return CLI_EXIT_USAGE;
          if (r != 0)
            return cli_usage_error(verb.name, "unexpected option `%c`", c);
          break;
        }
    }
  if (cli_check_args(&verb, argc, argv, 2, -1, "an image reference and a directory") != 0)
    return CLI_EXIT_USAGE;
  return CLI_DONE;

usage:
  r = cli_usage_error(verb.name, "%s", err.msg);
  isolazi_error_release(&err);
  return r;
}

int
cli_bundle(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_image_t img = { 0 };
  isolazi_assemble_opts_t a;
  isolazi_store_t *s = NULL;
  cli_pull_args_t p;
  strv_t env = { 0 }, vol = { 0 };
  cleanup_free char *dir = NULL;
  const char *ref;
  int r;

  memset(&a, 0, sizeof a);
  cli_pull_args_init(&p);
  r = parse(argc, argv, &p, &a, &env, &vol);
  if (r != CLI_DONE)
    goto out;
  ref = argv[optind];
  dir = isolazi_abspath(argv[optind + 1], &err);
  if (dir == NULL)
    goto fail;
  a.config.env = env.v;
  a.config.nenv = env.n;
  a.config.volumes = vol.v;
  a.config.nvolumes = vol.n;
  if (optind + 2 < argc)
    {
      a.config.args = (const char *const *)argv + optind + 2;
      a.config.nargs = (size_t)(argc - optind - 2);
    }

  if (cli_open_store(ctx, &s, &err) < 0)
    goto fail;
  if (isolazi_image_lookup(s, ref, &img, &err) < 0)
    {
      if (err.code != ENOENT)
        goto fail;
      isolazi_error_release(&err);
      if (cli_pull_image(s, ref, &p, &img, &err) < 0)
        goto fail;
    }
  if (isolazi_image_bundle(s, img.name, dir, &a, &err) < 0)
    goto fail;
  r = 0;
  goto out;

fail:
  r = cli_fail(&err);
out:
  isolazi_store_image_release(&img);
  isolazi_store_close(s);
  cli_pull_args_release(&p);
  free(env.v);
  free(vol.v);
  return r;
}
