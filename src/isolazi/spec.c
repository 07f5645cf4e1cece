/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "spec.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static const struct option longopts[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "rootless", no_argument, NULL, 'r' },
  { "seccomp", required_argument, NULL, 's' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "spec",
  .args = "[OPTIONS]",
  .description = "Write a starter config.json into the bundle directory: it runs `sh` with a terminal in a\n"
                 "read-only `rootfs`, in new pid, network, ipc, uts, mount and cgroup namespaces.  Edit\n"
                 "it before use.  An existing config.json is never overwritten.  Without --seccomp it has\n"
                 "no seccomp profile, as runc's.\n",
  .options = "  -b, --bundle DIR            the bundle directory (default: the current directory)\n"
             "      --rootless              a configuration for an unprivileged user: a user namespace\n"
             "                              mapping the caller to root, no network namespace, /sys bound\n"
             "      --seccomp PROFILE       write a seccomp profile into linux.seccomp: `default` (blocks\n"
             "                              mounts, namespaces, ptrace, modules, kexec, bpf, keyrings...),\n"
             "                              `minimal` (modules, kexec, reboot, clock only), `strict` (an\n"
             "                              allowlist for shells and common tools) or `none`\n",
  .shortopts = "b:h",
  .longopts = longopts,
};

int
cli_spec(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_spec_options_t so;
  cleanup_free char *json = NULL, *path = NULL;
  cleanup_close int fd = -1;
  const char *bundle = NULL;
  bool first = true;
  int c;

  memset(&so, 0, sizeof so);
  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'b':
        bundle = optarg;
        break;
      case 'r':
        so.rootless = true;
        break;
      case 's':
        so.seccomp = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&verb, argc, argv, 0, 0) != 0)
    return 1;

  path = bundle != NULL ? xasprintf("%s/config.json", bundle) : xstrdup("config.json");
  if (isolazi_spec_generate(&so, &json, &err) < 0)
    return cli_fail(&err);
  /* O_EXCL: refuse to overwrite, without a window between checking and creating. */
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
  if (fd < 0 && errno == EEXIST)
    {
      isolazi_error_set(&err, 0, "`%s` already exists: remove it first", path);
      return cli_fail(&err);
    }
  if (fd < 0)
    {
      isolazi_error_errno(&err, "create `%s`", path);
      return cli_fail(&err);
    }
  if (isolazi_write_all(fd, json, strlen(json)) < 0)
    {
      int saved = errno;
      (void)unlink(path);
      isolazi_error_set(&err, saved, "write `%s`", path);
      return cli_fail(&err);
    }
  return 0;
}
