/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm sandbox policy|port-forward`. */
#include "config.h"
#include "sandboxcli.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  OPT_NETWORK = 1000,
  OPT_ALLOW_TO,
  OPT_DENY_TO,
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
  { "allow-to", required_argument, NULL, OPT_ALLOW_TO },
  { "deny-to", required_argument, NULL, OPT_DENY_TO },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static const cli_verb_t policy_verb = {
  .name = "sandbox policy",
  .args = "[OPTIONS] <name>",
  .description = "Show the sandbox's network policy, or set it.  `none` (the default): the guest reaches\n"
                 "nothing, not the host, not the outside, not other sandboxes; only port forwards reach\n"
                 "it.  `internet`: outgoing connections through QEMU's user-mode network (the host is\n"
                 "10.0.2.2, DNS 10.0.2.3; 10.0.2.2 is also the host's 127.0.0.1, with every port\n"
                 "published there, other sandboxes' included).  A running sandbox restarts to apply a\n"
                 "change.  Sandboxes never reach each other unless a link allows it: `--allow-to B:PORT`\n"
                 "lets this sandbox connect to B's PORT, at an address of its own network (10.0.2.100 and\n"
                 "up, one per target, printed); a running sandbox restarts to add a link, while\n"
                 "`--deny-to` takes effect at once.\n",
  .options = "      --network none|internet   set the policy\n"
             "      --allow-to SANDBOX:PORT   let this sandbox connect to SANDBOX's PORT\n"
             "      --deny-to SANDBOX:PORT    remove that link\n",
  .shortopts = "h",
  .longopts = policy_longopts,
};

/* "name:port" → name (malloc'd) and port. */
static int
parse_link(const char *flag, const char *s, char **ret_name, uint16_t *ret_port)
{
  const char *colon = strrchr(s, ':');
  char *end;
  unsigned long port;

  if (colon == NULL || colon == s)
    goto bad;
  port = strtoul(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
    goto bad;
  *ret_name = strndup(s, (size_t)(colon - s));
  *ret_port = (uint16_t)port;
  return 0;
bad:
  return cli_usage_error("sandbox policy", "invalid value `%s` for `--%s`: expected SANDBOX:PORT", s, flag);
}

int
sbcli_policy(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *network = NULL, *allow = NULL, *deny = NULL;
  bool first = true, restarted = false;
  int c;

  while ((c = cli_getopt(&policy_verb, argc, argv, &first)) != CLI_DONE)
    switch (c)
      {
      case OPT_NETWORK:
        network = optarg;
        break;
      case OPT_ALLOW_TO:
        allow = optarg;
        break;
      case OPT_DENY_TO:
        deny = optarg;
        break;
      case CLI_EXIT_OK:
        return 0;
      default:
        return 1;
      }
  if (cli_check_args(&policy_verb, argc, argv, 1, 1) < 0)
    return 1;
  if ((network != NULL) + (allow != NULL) + (deny != NULL) > 1)
    return cli_usage_error("sandbox policy", "`--network`, `--allow-to` and `--deny-to` go one at a time");
  if (allow != NULL || deny != NULL)
    {
      cleanup_free char *to = NULL, *addr = NULL;
      uint16_t port = 0;
      if (parse_link(allow != NULL ? "allow-to" : "deny-to", allow != NULL ? allow : deny, &to, &port) != 0)
        return 1;
      if (deny != NULL)
        return isolazi_sandbox_deny(&sbcli_ctx, argv[optind], to, port, &err) < 0 ? cli_fail(&err) : 0;
      if (isolazi_sandbox_allow(&sbcli_ctx, argv[optind], to, port, &addr, &restarted, &err) < 0)
        return cli_fail(&err);
      printf("%s:%u at %s:%u\n", to, port, addr, port);
      if (restarted)
        fprintf(stderr, "isolazi-vm: sandbox `%s` restarted with a link to `%s`\n", argv[optind], to);
      return 0;
    }
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
    const json_value *links;
    size_t i;
    v = json_parse(info, strlen(info), &perr);
    printf("network: %s\n", v != NULL ? json_get_string(json_object_get(v, "network")) : "?");
    links = v != NULL ? json_object_get(v, "allow") : NULL;
    for (i = 0; i < json_array_len(links); i++)
      {
        const json_value *l = json_array_get(links, i);
        uint64_t port = 0;
        (void)json_get_uint64(json_object_get(l, "port"), &port);
        printf("allow-to: %s:%llu at %s:%llu\n", json_get_string(json_object_get(l, "to")), (unsigned long long)port,
               json_get_string(json_object_get(l, "addr")), (unsigned long long)port);
      }
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

/* `sandbox _relay FROM TO PORT`: not for people; QEMU runs it for each connection of a link
 * (src/sandbox/peer.c), with the connection on stdin and stdout.  Its stderr is the connection
 * too: nothing is printed, a refusal just closes it. */
int
sbcli_relay(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  unsigned long port;
  char *end;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

  if (fd >= 0)
    {
      (void)dup2(fd, 2);
      close(fd);
    }
  if (argc != 4)
    return 2;
  port = strtoul(argv[3], &end, 10);
  if (*end != '\0' || port == 0 || port > 65535)
    return 2;
  if (isolazi_sandbox_relay(&sbcli_ctx, argv[1], argv[2], (uint16_t)port, 0, &err) < 0)
    {
      isolazi_error_release(&err);
      return 1;
    }
  return 0;
}
