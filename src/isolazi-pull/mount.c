/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "cli.h"
#include "cleanup.h"
#include "utils.h"

#include <stdio.h>
#include <string.h>

static const struct option longopts[] = {
  { "umount", no_argument, NULL, 'u' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t verb = {
  .name = "mount",
  .args = "[OPTIONS] DIR",
  .description = "Mount the rootfs of an overlay bundle made by `isolazi-pull bundle` again, for example\n"
                 "after a reboot (the layers are unpacked again if they were pruned).  With --umount,\n"
                 "unmount it instead; the bundle stays and can be mounted again.\n",
  .options = "  -u, --umount                unmount DIR/rootfs\n",
  .shortopts = "uh",
  .longopts = longopts,
};

int
cli_mount(cli_context_t *ctx, int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *dir = NULL;
  isolazi_store_t *s = NULL;
  bool first = true, umount = false;
  int c, r;

  while ((c = cli_getopt(&verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case 'u':
        umount = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return CLI_EXIT_USAGE;
      }
  if (cli_check_args(&verb, argc, argv, 1, 1, "a bundle directory") != 0)
    return CLI_EXIT_USAGE;
  dir = isolazi_abspath(argv[optind], &err);
  if (dir == NULL)
    return cli_fail(&err);
  if (umount)
    r = isolazi_image_bundle_umount(dir, &err);
  else
    r = cli_open_store(ctx, &s, &err) < 0 ? -1 : isolazi_image_bundle_mount(s, dir, &err);
  isolazi_store_close(s);
  return r < 0 ? cli_fail(&err) : 0;
}
