/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox snapshot|restore|fork`. */
#include "config.h"
#include "sandboxcli.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  OPT_LIST = 1000,
  OPT_DELETE,
  OPT_TIME,
  OPT_SNAPSHOT,
};

static const struct option snapshot_longopts[] = {
  { "list", no_argument, NULL, OPT_LIST },
  { "delete", required_argument, NULL, OPT_DELETE },
  { "time", no_argument, NULL, OPT_TIME },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t snapshot_verb = {
  .name = "sandbox snapshot",
  .args = "[OPTIONS] <name> [snapshot]",
  .description = "Snapshot the sandbox's disk (running or not) and print the snapshot's name (default:\n"
                 "snap-N).  A running guest's file system is synced and frozen for the moment it takes\n"
                 "QEMU to put a new qcow2 layer on top; the snapshot is the layer below.  With --list,\n"
                 "print the snapshot tree: name, parent, time, and `*` on the one the disk sits on.  With\n"
                 "--delete, remove a snapshot: refused while a later snapshot or a fork is based on it;\n"
                 "when the disk sits on it, what was written since is folded into it (a running sandbox\n"
                 "restarts).\n",
  .options = "      --list         list the snapshots instead\n"
             "      --delete NAME  delete that snapshot\n"
             "      --time         print how long the layer operation took on stderr\n",
  .shortopts = "h",
  .longopts = snapshot_longopts,
};

static void
json_valuep(json_value **v)
{
  json_value_free(*v);
}

static void
print_tree(const json_value *snaps, const char *head, const char *parent, int depth)
{
  size_t i;

  for (i = 0; i < json_array_len(snaps); i++)
    {
      const json_value *s = json_array_get(snaps, i);
      const char *name = json_get_string(json_object_get(s, "name"));
      const char *p = json_get_string(json_object_get(s, "parent"));
      if (name == NULL || (parent == NULL ? p != NULL : p == NULL || strcmp(p, parent) != 0))
        continue;
      printf("%*s%s%s  %s\n", depth * 2, "", name, head != NULL && strcmp(head, name) == 0 ? " *" : "",
             json_get_string(json_object_get(s, "created")) ? json_get_string(json_object_get(s, "created")) : "");
      print_tree(snaps, head, name, depth + 1);
    }
}

int
sbcli_snapshot(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *snap = NULL;
  const char *del = NULL;
  bool first = true, list = false, timing = false;
  double ms = 0;
  int c;

  while ((c = cli_getopt(&snapshot_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_LIST:
        list = true;
        break;
      case OPT_DELETE:
        del = optarg;
        break;
      case OPT_TIME:
        timing = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&snapshot_verb, argc, argv, 1, list || del != NULL ? 1 : 2) < 0)
    return 1;
  if (del != NULL)
    return isolazi_sandbox_snapshot_delete(&sbcli_ctx, argv[optind], del, &err) < 0 ? cli_fail(&err) : 0;
  if (list)
    {
      __attribute__((cleanup(json_valuep))) json_value *v = NULL;
      cleanup_free char *info = isolazi_sandbox_info_json(&sbcli_ctx, argv[optind], &err), *perr = NULL;
      if (info == NULL)
        return cli_fail(&err);
      v = json_parse(info, strlen(info), &perr);
      if (v != NULL)
        print_tree(json_object_get(v, "snapshots"), json_get_string(json_object_get(v, "head")), NULL, 0);
      return 0;
    }
  if (isolazi_sandbox_snapshot(&sbcli_ctx, argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL, &snap, &ms, &err)
      < 0)
    return cli_fail(&err);
  printf("%s\n", snap);
  if (timing)
    fprintf(stderr, "snapshot: %.1f ms\n", ms);
  return 0;
}

static const struct option restore_longopts[] = {
  { "time", no_argument, NULL, OPT_TIME },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t restore_verb = {
  .name = "sandbox restore",
  .args = "[OPTIONS] <name> <snapshot>",
  .description = "Put the sandbox's disk back to a snapshot: a new layer on the snapshot's replaces the active\n"
                 "one (what was written since is dropped).  A running sandbox is restarted on it.\n",
  .options = "      --time   print how long the layer operation took on stderr\n",
  .shortopts = "h",
  .longopts = restore_longopts,
};

int
sbcli_restore(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  bool first = true, timing = false;
  double ms = 0;
  int c;

  while ((c = cli_getopt(&restore_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_TIME:
        timing = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&restore_verb, argc, argv, 2, 2) < 0)
    return 1;
  if (isolazi_sandbox_restore(&sbcli_ctx, argv[optind], argv[optind + 1], &ms, &err) < 0)
    return cli_fail(&err);
  if (timing)
    fprintf(stderr, "restore: %.1f ms\n", ms);
  return 0;
}

static const struct option fork_longopts[] = {
  { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
  { "time", no_argument, NULL, OPT_TIME },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t fork_verb = {
  .name = "sandbox fork",
  .args = "[OPTIONS] <source> <name>",
  .description = "Create sandbox `name` whose disk starts as a snapshot of `source` (one taken now, named\n"
                 "fork-NAME, unless --snapshot names one) and boot it.  The two diverge from there: each\n"
                 "writes its own layer over the shared snapshot.\n",
  .options = "      --snapshot SNAP   fork from this snapshot of the source\n"
             "      --time            print how long the layer operations took on stderr\n",
  .shortopts = "h",
  .longopts = fork_longopts,
};

int
sbcli_fork(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *snap = NULL;
  bool first = true, timing = false;
  double ms = 0;
  int c;

  while ((c = cli_getopt(&fork_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_SNAPSHOT:
        snap = optarg;
        break;
      case OPT_TIME:
        timing = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&fork_verb, argc, argv, 2, 2) < 0)
    return 1;
  if (isolazi_sandbox_fork(&sbcli_ctx, argv[optind], argv[optind + 1], snap, &ms, &err) < 0)
    return cli_fail(&err);
  printf("%s\n", argv[optind + 1]);
  if (timing)
    fprintf(stderr, "fork: %.1f ms\n", ms);
  return 0;
}
