/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox policy|port-forward`. */
#include "config.h"
#include "sandboxcli.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  OPT_NETWORK = 1000,
  OPT_REMOVE,
  OPT_LIST,
};

static void
json_valuep(json_value **v)
{
  json_value_free(*v);
}

static const struct option policy_longopts[] = {
  { "network", required_argument, NULL, OPT_NETWORK },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t policy_verb = {
  .name = "sandbox policy",
  .args = "[OPTIONS] <name>",
  .description = "Show the sandbox's network policy, or set it.  `none` (the default): the guest reaches\n"
                 "nothing, not the host, not the outside, not other sandboxes; only port forwards reach\n"
                 "it.  `internet`: outgoing connections through QEMU's user-mode network (the host is\n"
                 "10.0.2.2, DNS 10.0.2.3).  A running sandbox restarts to apply a change.\n",
  .options = "      --network none|internet   set the policy\n",
  .shortopts = "h",
  .longopts = policy_longopts,
};

int
sbcli_policy(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *network = NULL;
  bool first = true, restarted = false;
  int c;

  while ((c = cli_getopt(&policy_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_NETWORK:
        network = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&policy_verb, argc, argv, 1, 1) < 0)
    return 1;
  if (network != NULL)
    {
      if (isolazi_sandbox_policy_set(&sbcli_ctx, argv[optind], network, &restarted, &err) < 0)
        return cli_fail(&err);
      if (restarted)
        fprintf(stderr, "isolazi-vm: sandbox `%s` restarted with network `%s`\n", argv[optind], network);
      return 0;
    }
  {
    __attribute__((cleanup(json_valuep))) json_value *v = NULL;
    cleanup_free char *info = isolazi_sandbox_info_json(&sbcli_ctx, argv[optind], &err), *perr = NULL;
    if (info == NULL)
      return cli_fail(&err);
    v = json_parse(info, strlen(info), &perr);
    printf("network: %s\n", v != NULL ? json_get_string(json_object_get(v, "network")) : "?");
    return 0;
  }
}

static const struct option pf_longopts[] = {
  { "remove", required_argument, NULL, OPT_REMOVE },
  { "list", no_argument, NULL, OPT_LIST },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t pf_verb = {
  .name = "sandbox port-forward",
  .args = "[OPTIONS] <name> [HOST_PORT:GUEST_PORT]",
  .description = "Forward 127.0.0.1:HOST_PORT on the host to GUEST_PORT in the sandbox, at once when it runs\n"
                 "and at every boot; or list or remove forwards.  Forwards work whatever the network policy.\n",
  .options = "      --list              list the forwards (HOST:GUEST per line)\n"
             "      --remove HOST_PORT  remove the forward of that host port\n",
  .shortopts = "h",
  .longopts = pf_longopts,
};

int
sbcli_port_forward(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *remove = NULL;
  bool first = true, list = false;
  int c;

  while ((c = cli_getopt(&pf_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_REMOVE:
        remove = optarg;
        break;
      case OPT_LIST:
        list = true;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&pf_verb, argc, argv, 1, list || remove != NULL ? 1 : 2) < 0)
    return 1;
  if (remove != NULL)
    {
      unsigned port;
      if (cli_parse_uint("remove", remove, &port, &err) < 0 || port == 0 || port > 65535)
        return cli_usage_error("sandbox port-forward", "invalid value `%s` for `--remove`: expected a port", remove);
      return isolazi_sandbox_port_remove(&sbcli_ctx, argv[optind], (uint16_t)port, &err) < 0 ? cli_fail(&err) : 0;
    }
  if (list || optind + 1 >= argc)
    {
      __attribute__((cleanup(json_valuep))) json_value *v = NULL;
      cleanup_free char *info = isolazi_sandbox_info_json(&sbcli_ctx, argv[optind], &err), *perr = NULL;
      const json_value *ports;
      size_t i;
      if (info == NULL)
        return cli_fail(&err);
      v = json_parse(info, strlen(info), &perr);
      ports = v != NULL ? json_object_get(v, "ports") : NULL;
      for (i = 0; i < json_array_len(ports); i++)
        {
          uint64_t h = 0, g = 0;
          (void)json_get_uint64(json_object_get(json_array_get(ports, i), "host"), &h);
          (void)json_get_uint64(json_object_get(json_array_get(ports, i), "guest"), &g);
          printf("%llu:%llu\n", (unsigned long long)h, (unsigned long long)g);
        }
      return 0;
    }
  {
    isolazi_sandbox_port_t p;
    if (isolazi_sandbox_port_parse(argv[optind + 1], &p, &err) < 0
        || isolazi_sandbox_port_add(&sbcli_ctx, argv[optind], p, &err) < 0)
      return cli_fail(&err);
  }
  return 0;
}
