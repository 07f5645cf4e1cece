/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]`: runc's command line, for OCI bundles
 * run inside QEMU microVMs.  podman (--runtime isolazi-vm) and containerd's shim call it as
 * they call runc. */
#include "config.h"
#include "vmcli.h"
#include "sandboxcli.h"
#include "handler.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

isolazi_vm_global_t vmcli_global;

static int vmcli_help(cli_context_t *ctx, int argc, char **argv);

static const cli_command_t commands[] = {
  { "create", "boot a VM for a bundle; its process waits for `start`", vmcli_create },
  { "delete", "delete a VM container and everything it holds", vmcli_delete },
  { "events", "print a VM container's statistics (the guest's memory, cpu, processes)", cli_events },
  { "exec", "run a new process inside a running VM container", vmcli_exec },
  { "features", "print the features of this build as JSON", vmcli_features },
  { "kill", "send a signal (default: SIGTERM) to the VM container's process", vmcli_kill },
  { "mcp", "serve the sandbox operations as Model Context Protocol tools on stdio", vmcli_mcp },
  { "list", "list the VM containers under the state root", cli_list },
  { "pause", "stop the guest's vCPUs", cli_pause },
  { "ps", "list the guest's processes (--format json: the VM's host processes)", cli_ps },
  { "resume", "let a paused guest run again", cli_resume },
  { "run", "create and start a VM container, and wait for it unless detached", vmcli_run },
  { "sandbox", "long-lived sandboxes for agents: create, exec, files, snapshots, forks", vmcli_sandbox },
  { "spec", "write a starter config.json into a bundle", cli_spec },
  { "start", "start the process of a created VM container", vmcli_start },
  { "state", "print the state of a VM container as JSON", cli_state },
  { "update", "refused with the reason: a VM's resources are fixed when it boots", cli_update },
  { "help", "show the list of commands, or the help of one command", vmcli_help },
};

static const cli_command_t *
find_command(const char *name)
{
  size_t i;

  for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static void
print_usage(void)
{
  size_t i;

  printf("Usage: isolazi-vm [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
         "isolazi-vm runs OCI bundles inside QEMU microVMs, with runc's command line.\n\n"
         "Commands:\n");
  for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
    printf("  %-8s %s\n", commands[i].name, commands[i].summary);
  printf("\nGlobal options:\n"
         "  --root DIR              state directory (default: " ISOLAZI_VM_DEFAULT_ROOT ")\n"
         "  --log FILE              write log records to FILE instead of stderr\n"
         "  --log-format FORMAT     `text` (default) or `json`\n"
         "  --debug                 also log debug records (the QEMU command line, the accelerator)\n"
         "  --backend NAME          `qemu` (default) or `libkrun` (needs libkrun.so.1)\n"
         "  --kernel FILE           the guest kernel (default: $ISOLAZI_VM_KERNEL, else Debian's cloud\n"
         "                          kernel extracted under " ISOLAZI_VM_DEFAULT_CACHE ")\n"
         "  --accel auto|kvm|tcg    the accelerator (default: auto: KVM if a probe guest boots with it)\n"
         "  --boot-timeout SECONDS  how long the guest may take to boot (default: 60)\n"
         "  --systemd-cgroup, --rootless VALUE, --criu PATH, --cgroup-manager MGR\n"
         "                          accepted for runc compatibility, no effect\n"
         "  -h, --help              show this help\n"
         "  -v, --version           print the version\n"
         "\nRun `isolazi-vm COMMAND --help` for the options of a command.\n");
  fflush(stdout);
}

static int
vmcli_help(cli_context_t *ctx, int argc, char **argv)
{
  const cli_command_t *cmd;
  char help_flag[] = "--help";
  char *sub_argv[3];

  if (argc < 2)
    {
      print_usage();
      return 0;
    }
  cmd = find_command(argv[1]);
  if (cmd == NULL)
    return cli_usage_error(NULL, "unknown command `%s`", argv[1]);
  if (cmd->handler == vmcli_help)
    {
      print_usage();
      return 0;
    }
  sub_argv[0] = argv[1];
  sub_argv[1] = help_flag;
  sub_argv[2] = NULL;
  return cmd->handler(ctx, 2, sub_argv);
}

enum
{
  OPT_ROOT = 1000,
  OPT_LOG,
  OPT_LOG_FORMAT,
  OPT_DEBUG,
  OPT_BACKEND,
  OPT_KERNEL,
  OPT_ACCEL,
  OPT_BOOT_TIMEOUT,
  OPT_IGNORED,
  OPT_IGNORED_VALUE,
};

static const struct option global_longopts[] = {
  { "root", required_argument, NULL, OPT_ROOT },
  { "log", required_argument, NULL, OPT_LOG },
  { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
  { "debug", no_argument, NULL, OPT_DEBUG },
  { "backend", required_argument, NULL, OPT_BACKEND },
  { "kernel", required_argument, NULL, OPT_KERNEL },
  { "accel", required_argument, NULL, OPT_ACCEL },
  { "boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT },
  { "systemd-cgroup", no_argument, NULL, OPT_IGNORED },
  { "rootless", required_argument, NULL, OPT_IGNORED_VALUE },
  { "criu", required_argument, NULL, OPT_IGNORED_VALUE },
  { "cgroup-manager", required_argument, NULL, OPT_IGNORED_VALUE },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'v' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t global_verb = {
  .name = NULL,
  .shortopts = "hv",
  .longopts = global_longopts,
};

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

/* --log, --log-format and --debug first, so that every later error lands in the log. */
static void
prescan_log_flags(int argc, char **argv, const char **log_path, const char **log_format, bool *debug)
{
  static const char *const valued[] = { "--root",     "--backend", "--kernel",         "--accel", "--boot-timeout",
                                        "--rootless", "--criu",    "--cgroup-manager", NULL };
  int i;

  for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++)
    {
      const char *v;
      size_t k;
      if ((v = flag_value(argc, argv, &i, "--log-format")) != NULL)
        *log_format = v;
      else if ((v = flag_value(argc, argv, &i, "--log")) != NULL)
        *log_path = v;
      else if (strcmp(argv[i], "--debug") == 0)
        *debug = true;
      else
        for (k = 0; valued[k] != NULL; k++)
          if (flag_value(argc, argv, &i, valued[k]) != NULL)
            break;
    }
}

int
main(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *root = NULL;
  const char *log_path = NULL, *log_format_text = NULL;
  isolazi_log_format_t log_format = ISOLAZI_LOG_FORMAT_TEXT;
  bool debug = false, first = true;
  const cli_command_t *cmd;
  cli_context_t ctx;
  unsigned int timeout;
  int c;

  cli_program = "isolazi-vm";
  cli_vm_options = &vmcli_global;
  prescan_log_flags(argc, argv, &log_path, &log_format_text, &debug);
  if (log_format_text != NULL && isolazi_log_format_parse(log_format_text, &log_format, &err) < 0)
    {
      (void)isolazi_log_init(log_path, ISOLAZI_LOG_FORMAT_TEXT, debug, NULL);
      return cli_fail(&err);
    }
  if (isolazi_log_init(log_path, log_format, debug, &err) < 0)
    return cli_fail(&err);

  memset(&vmcli_global, 0, sizeof vmcli_global);
  while ((c = cli_getopt(&global_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case CLI_EXIT_ERROR:
        return 1;
      case 'h':
        print_usage();
        return 0;
      case 'v':
        printf("isolazi-vm version %s\ncommit: %s\nspec: %s\n", PACKAGE_VERSION, ISOLAZI_COMMIT, ISOLAZI_SPEC_VERSION);
        return 0;
      case OPT_ROOT:
        free(root);
        root = isolazi_abspath(optarg, &err);
        if (root == NULL)
          return cli_fail(&err);
        break;
      case OPT_BACKEND:
        if (isolazi_vm_backend_parse(optarg, &vmcli_global.backend, &err) < 0)
          return cli_fail(&err);
        break;
      case OPT_KERNEL:
        vmcli_global.kernel = optarg;
        break;
      case OPT_ACCEL:
        if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "kvm") != 0 && strcmp(optarg, "tcg") != 0)
          return cli_usage_error(NULL, "invalid value `%s` for `--accel`: expected `auto`, `kvm` or `tcg`", optarg);
        vmcli_global.accel = optarg;
        break;
      case OPT_BOOT_TIMEOUT:
        if (cli_parse_uint("boot-timeout", optarg, &timeout, &err) < 0 || timeout == 0)
          {
            if (err.msg == NULL)
              isolazi_error_set(&err, 0, "invalid value `%s` for `--boot-timeout`: expected a positive number", optarg);
            return cli_fail(&err);
          }
        vmcli_global.boot_timeout = timeout;
        break;
      case OPT_LOG:
      case OPT_LOG_FORMAT:
      case OPT_DEBUG:
      case OPT_IGNORED:
      case OPT_IGNORED_VALUE:
        break;
      default:
        return cli_usage_error(NULL, "unexpected option `%c`", c);
      }

  if (root == NULL)
    root = xstrdup(ISOLAZI_VM_DEFAULT_ROOT);
  vmcli_global.core.root = root;
  memset(&ctx, 0, sizeof ctx);
  ctx.global = vmcli_global.core;
  if (optind >= argc)
    {
      print_usage();
      return 0;
    }
  cmd = find_command(argv[optind]);
  if (cmd == NULL)
    return cli_usage_error(NULL, "unknown command `%s`", argv[optind]);
  isolazi_debug("isolazi-vm %s: root `%s`", cmd->name, root);
  return cmd->handler(&ctx, argc - optind, argv + optind);
}
