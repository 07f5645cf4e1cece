/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-pull [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]`: images from a registry into the
 * store, and from the store into runnable bundles. */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "log.h"
#include "utils.h"

#include <archive.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cli_help(cli_context_t *ctx, int argc, char **argv);

static const cli_command_t commands[] = {
  { "pull", "download an image from a registry into the store", cli_pull },
  { "bundle", "make a runnable OCI bundle (rootfs + config.json) of an image", cli_bundle },
  { "images", "list the images in the store", cli_images },
  { "inspect", "print an image's record, manifest and config as JSON", cli_inspect },
  { "rm", "remove image names from the store", cli_rm },
  { "prune", "delete what no image and no live bundle uses", cli_prune },
  { "login", "check and save credentials for a registry", cli_login },
  { "logout", "remove the saved credentials of a registry", cli_logout },
  { "mount", "mount the rootfs of an overlay bundle again (after a reboot)", cli_mount },
  { "rm-bundle", "unmount and delete a bundle made by `bundle`", cli_rm_bundle },
  { "help", "show the list of commands, or the help of one command", cli_help },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_usage(void)
{
  printf("Usage: isolazi-pull [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
         "isolazi-pull downloads container images from registries into a content-addressed store\n"
         "and turns them into OCI bundles that `isolazi run -b DIR ID` runs.\n\n"
         "Commands:\n");
  cli_print_commands(commands, N_COMMANDS, 10);
  printf("\nGlobal options:\n"
         "  --store DIR             the image store (default: /var/lib/isolazi for root,\n"
         "                          $XDG_DATA_HOME/isolazi otherwise)\n"
         "  --debug                 log debug records on stderr\n"
         "  -h, --help              show this help\n"
         "  -v, --version           print the version\n"
         "\nRun `isolazi-pull COMMAND --help` for the options of a command.\n");
  fflush(stdout);
}

static void
print_version(void)
{
  curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

  printf("isolazi-pull version %s\ncommit: %s\n", PACKAGE_VERSION, ISOLAZI_COMMIT);
  printf("libcurl: %s\n%s\nOpenSSL: %s\n", curl != NULL ? curl->version : "?", archive_version_details(),
         OpenSSL_version(OPENSSL_VERSION));
  fflush(stdout);
}

/* `isolazi-pull help [COMMAND]`: the same text as `isolazi-pull COMMAND --help`. */
static int
cli_help(cli_context_t *ctx, int argc, char **argv)
{
  return cli_help_command(commands, N_COMMANDS, print_usage, ctx, argc, argv);
}

enum
{
  OPT_STORE = 1000,
  OPT_DEBUG,
};

static const struct option global_longopts[] = {
  { "store", required_argument, NULL, OPT_STORE },
  { "debug", no_argument, NULL, OPT_DEBUG },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'v' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t global_verb = {
  .name = NULL,
  .shortopts = "hv",
  .longopts = global_longopts,
};

int
main(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *store = NULL;
  bool first = true, debug = false;
  const cli_command_t *cmd;
  cli_context_t ctx;
  int c;

  memset(&ctx, 0, sizeof ctx);
  while ((c = cli_getopt(&global_verb, argc, argv, &first)) != CLI_DONE)
    {
      switch (c)
        {
        case CLI_EXIT_ERROR:
          return CLI_EXIT_USAGE;
        case 'h':
          print_usage();
          return 0;
        case 'v':
          print_version();
          return 0;
        case OPT_STORE:
          free(store);
          store = isolazi_abspath(optarg, &err);
          if (store == NULL)
            return cli_fail(&err);
          break;
        case OPT_DEBUG:
          debug = true;
          break;
        default:
          return cli_usage_error(NULL, "unexpected option `%c`", c);
        }
    }
  if (isolazi_log_init(NULL, ISOLAZI_LOG_FORMAT_TEXT, debug, &err) < 0)
    return cli_fail(&err);
  ctx.store_root = store;

  if (optind >= argc)
    return cli_usage_error(NULL, "missing command (pull, bundle, images, ...)");
  cmd = cli_find_command(commands, N_COMMANDS, argv[optind]);
  if (cmd == NULL)
    return cli_usage_error(NULL, "unknown command `%s`", argv[optind]);
  return cmd->handler(&ctx, argc - optind, argv + optind);
}
