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

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_usage(void)
{
  printf("Usage: isolazi-vm [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
         "isolazi-vm runs OCI bundles inside QEMU microVMs, with runc's command line.\n\n"
         "Commands:\n");
  cli_print_commands(commands, N_COMMANDS, 8);
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

/* `isolazi-vm help [COMMAND]`: the same text as `isolazi-vm COMMAND --help`. */
static int
vmcli_help(cli_context_t *ctx, int argc, char **argv)
{
  return cli_help_command(commands, N_COMMANDS, print_usage, ctx, argc, argv);
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

/* The global flags with a value other than --log and --log-format. */
static const char *const valued_flags[] = { "--root",     "--backend", "--kernel",         "--accel", "--boot-timeout",
                                            "--rootless", "--criu",    "--cgroup-manager", NULL };

int
main(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *root = NULL;
  bool first = true;
  const cli_command_t *cmd;
  cli_context_t ctx;
  unsigned int timeout;
  int c;

  cli_program = "isolazi-vm";
  cli_vm_options = &vmcli_global;
  /* --log, --log-format and --debug first, so that every later error lands in the log. */
  if (cli_log_setup(argc, argv, valued_flags, &err) < 0)
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
  cmd = cli_find_command(commands, N_COMMANDS, argv[optind]);
  if (cmd == NULL)
    return cli_usage_error(NULL, "unknown command `%s`", argv[optind]);
  isolazi_debug("isolazi-vm %s: root `%s`", cmd->name, root);
  return cmd->handler(&ctx, argc - optind, argv + optind);
}
