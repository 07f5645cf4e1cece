/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]`: the global flags runc has, then one
 * command from the table below. */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "container.h"
#include "log.h"
#include "utils.h"

#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cli_help(cli_context_t *ctx, int argc, char **argv);

/* One line per command; a new command is one line here plus its own file. */
static const cli_command_t commands[] = {
  { "create", "create a container", cli_create },
  { "delete", "delete a container and the resources it holds", cli_delete },
  { "events", "print a container's resource statistics and OOM events", cli_events },
  { "exec", "run a new process inside a running container", cli_exec },
  { "features", "print the features of this build as JSON", cli_features },
  { "kill", "send a signal (default: SIGTERM) to the container's init process", cli_kill },
  { "list", "list the containers under the state root", cli_list },
  { "pause", "suspend every process in a container", cli_pause },
  { "ps", "list the processes of a container", cli_ps },
  { "resume", "resume the processes of a paused container", cli_resume },
  { "run", "create and start a container, and wait for it unless detached", cli_run },
  { "spec", "write a starter config.json into a bundle", cli_spec },
  { "start", "start the user process of a created container", cli_start },
  { "state", "print the state of a container as JSON", cli_state },
  { "update", "change the resource limits of a container", cli_update },
  { "help", "show the list of commands, or the help of one command", cli_help },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_usage(void)
{
  printf("Usage: isolazi [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
         "isolazi is an OCI container runtime: it creates and runs containers from OCI bundles\n"
         "(a directory holding config.json and a root filesystem), with runc's command line.\n\n"
         "Commands:\n");
  cli_print_commands(commands, N_COMMANDS, 8);
  printf("\nGlobal options:\n"
         "  --root DIR              state directory (default: /run/isolazi for root,\n"
         "                          $XDG_RUNTIME_DIR/isolazi otherwise)\n"
         "  --log FILE              write log records to FILE instead of stderr\n"
         "  --log-format FORMAT     `text` (default) or `json`\n"
         "  --debug                 also log debug records\n"
         "  --systemd-cgroup        treat cgroupsPath as \"slice:prefix:name\" for systemd\n"
         "  --rootless VALUE        `auto`, `true` or `false` (accepted for runc compatibility)\n"
         "  --cgroup-manager MGR    `cgroupfs` (default), `systemd` (= --systemd-cgroup) or `disabled`:\n"
         "                          containers get no cgroup (podman --cgroups=disabled)\n"
         "  --criu PATH             accepted for runc compatibility, ignored\n"
         "  -h, --help              show this help\n"
         "  -v, --version           print the version\n"
         "\nRun `isolazi COMMAND --help` for the options of a command.\n");
  fflush(stdout);
}

static void
print_version(void)
{
  const struct scmp_version *v = seccomp_version();

  printf("isolazi version %s\ncommit: %s\nspec: %s\n", PACKAGE_VERSION, ISOLAZI_COMMIT, ISOLAZI_SPEC_VERSION);
  if (v != NULL)
    printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
  fflush(stdout);
}

/* `isolazi help [COMMAND]`: the same text as `isolazi COMMAND --help`. */
static int
cli_help(cli_context_t *ctx, int argc, char **argv)
{
  return cli_help_command(commands, N_COMMANDS, print_usage, ctx, argc, argv);
}

enum
{
  OPT_ROOT = 1000,
  OPT_LOG,
  OPT_LOG_FORMAT,
  OPT_DEBUG,
  OPT_SYSTEMD_CGROUP,
  OPT_ROOTLESS,
  OPT_CRIU,
  OPT_CGROUP_MANAGER,
};

static const struct option global_longopts[] = {
  { "root", required_argument, NULL, OPT_ROOT },
  { "log", required_argument, NULL, OPT_LOG },
  { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
  { "debug", no_argument, NULL, OPT_DEBUG },
  { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
  { "rootless", required_argument, NULL, OPT_ROOTLESS },
  { "criu", required_argument, NULL, OPT_CRIU },
  { "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'v' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t global_verb = {
  .name = NULL,
  .shortopts = "hv",
  .longopts = global_longopts,
};

/* The global flags with a value other than --log and --log-format. */
static const char *const valued_flags[] = { "--root", "--rootless", "--criu", "--cgroup-manager", NULL };

int
main(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *root = NULL;
  const char *rootless = NULL;
  bool first = true;
  const cli_command_t *cmd;
  cli_context_t ctx;
  int c;

  /* Set the log up first, so that every later error (even a bad flag) lands in it. */
  if (cli_log_setup(argc, argv, valued_flags, &err) < 0)
    return cli_fail(&err);

  memset(&ctx, 0, sizeof ctx);
  while ((c = cli_getopt(&global_verb, argc, argv, &first)) != CLI_DONE)
    {
      switch (c)
        {
        case CLI_EXIT_ERROR:
          return 1;
        case 'h':
          print_usage();
          return 0;
        case 'v':
          print_version();
          return 0;
        case OPT_ROOT:
          free(root);
          root = isolazi_abspath(optarg, &err);
          if (root == NULL)
            return cli_fail(&err);
          break;
        case OPT_LOG:
        case OPT_LOG_FORMAT:
        case OPT_DEBUG:
          break; /* taken by cli_log_setup */
        case OPT_SYSTEMD_CGROUP:
          ctx.global.systemd_cgroup = true;
          break;
        case OPT_CGROUP_MANAGER:
          /* crun's flag; podman passes `disabled` for --cgroups=disabled. */
          if (strcmp(optarg, "disabled") == 0)
            ctx.global.no_cgroups = true;
          else if (strcmp(optarg, "systemd") == 0)
            ctx.global.systemd_cgroup = true;
          else if (strcmp(optarg, "cgroupfs") != 0)
            return cli_usage_error(NULL,
                                   "invalid value `%s` for `--cgroup-manager`: expected `cgroupfs`, `systemd` or "
                                   "`disabled`",
                                   optarg);
          break;
        case OPT_ROOTLESS:
          rootless = optarg;
          break;
        case OPT_CRIU:
          break; /* no checkpoint/restore: accepted so that runc command lines work */
        default:
          return cli_usage_error(NULL, "unexpected option `%c`", c);
        }
    }

  if (rootless != NULL && strcmp(rootless, "auto") != 0 && strcmp(rootless, "true") != 0
      && strcmp(rootless, "false") != 0)
    return cli_usage_error(NULL, "invalid value `%s` for `--rootless`: expected `auto`, `true` or `false`", rootless);

  if (root == NULL)
    root = isolazi_default_root();
  ctx.global.root = root;

  if (optind >= argc)
    {
      print_usage();
      return 0;
    }
  cmd = cli_find_command(commands, N_COMMANDS, argv[optind]);
  if (cmd == NULL)
    return cli_usage_error(NULL, "unknown command `%s`", argv[optind]);
  isolazi_debug("isolazi %s: root `%s`", cmd->name, root);
  return cmd->handler(&ctx, argc - optind, argv + optind);
}
