/* SPDX-License-Identifier: Apache-2.0 */
/* src/lib/userns.c: the deciding half (mapping checks, map text, helper arguments, setgroups). */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "namespaces.h"
#include "userns.h"
#include "utils.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static int
check(const oci_id_mapping *m, size_t n, char **ret_msg)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int r = isolazi_userns_mappings_check(m, n, "linux.uidMappings", &err);

  *ret_msg = err.msg != NULL ? xstrdup(err.msg) : NULL;
  isolazi_error_release(&err);
  return r;
}

static void
test_mappings_check(void)
{
  static const oci_id_mapping ok1[] = { { 0, 1000, 1 } };
  static const oci_id_mapping ok_multi[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
  static const oci_id_mapping zero[] = { { 0, 1000, 1 }, { 1, 2000, 0 } };
  static const oci_id_mapping ctr_overlap[] = { { 0, 100000, 10 }, { 5, 200000, 10 } };
  static const oci_id_mapping host_overlap[] = { { 0, 100000, 10 }, { 100, 100009, 1 } };
  static const oci_id_mapping adjacent[] = { { 0, 100000, 10 }, { 10, 100010, 10 } };
  static const oci_id_mapping wrap_ctr[] = { { 4294967295u, 0, 1 } };
  static const oci_id_mapping wrap_host[] = { { 0, 4294967000u, 1000 } };
  static const oci_id_mapping last_ok[] = { { 0, 0, 4294967295u } };
  oci_id_mapping *many = xcalloc(ISOLAZI_USERNS_MAX_EXTENTS + 1, sizeof *many);
  char *msg = NULL;
  size_t i;

  tap_ok(check(ok1, 1, &msg) == 0, "a single mapping is valid");
  free(msg);
  tap_ok(check(ok_multi, 2, &msg) == 0, "disjoint ranges are valid");
  free(msg);
  tap_ok(check(adjacent, 2, &msg) == 0, "adjacent ranges do not overlap");
  free(msg);
  tap_ok(check(last_ok, 1, &msg) == 0, "a range up to 4294967294 is valid (the kernel's whole range)");
  free(msg);
  tap_ok(check(NULL, 0, &msg) == 0, "no mapping at all passes the range checks");
  free(msg);

  tap_ok(check(zero, 2, &msg) < 0, "size 0 is refused");
  tap_streq(msg, "linux.uidMappings[1].size: must be greater than 0", "size 0 names the JSON path");
  free(msg);
  tap_ok(check(ctr_overlap, 2, &msg) < 0, "overlapping containerID ranges are refused");
  tap_streq(msg, "linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]",
            "containerID overlap names both entries");
  free(msg);
  tap_ok(check(host_overlap, 2, &msg) < 0, "overlapping hostID ranges are refused");
  tap_streq(msg, "linux.uidMappings[1]: hostID range overlaps linux.uidMappings[0]", "hostID overlap names both");
  free(msg);
  tap_ok(check(wrap_ctr, 1, &msg) < 0 && strstr(msg, "containerID 4294967295") != NULL,
         "a containerID range past 2^32-1 is refused");
  free(msg);
  tap_ok(check(wrap_host, 1, &msg) < 0 && strstr(msg, "hostID 4294967000") != NULL,
         "a hostID range past 2^32-1 is refused");
  free(msg);

  for (i = 0; i <= ISOLAZI_USERNS_MAX_EXTENTS; i++)
    many[i] = (oci_id_mapping){ (uint32_t)i, (uint32_t)(100000 + i), 1 };
  tap_ok(check(many, ISOLAZI_USERNS_MAX_EXTENTS, &msg) == 0, "340 mappings are accepted");
  free(msg);
  tap_ok(check(many, ISOLAZI_USERNS_MAX_EXTENTS + 1, &msg) < 0 && strstr(msg, "at most 340") != NULL,
         "341 mappings are refused (the kernel's limit)");
  free(msg);
  free(many);
}

static void
test_map_text(void)
{
  static const oci_id_mapping m[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
  cleanup_free char *one = isolazi_userns_map_text(m, 1);
  cleanup_free char *two = isolazi_userns_map_text(m, 2);
  cleanup_free char *none = isolazi_userns_map_text(NULL, 0);

  tap_streq(one, "0 1000 1\n", "map text of one mapping");
  tap_streq(two, "0 1000 1\n1 100000 65536\n", "map text of two mappings, one line each");
  tap_streq(none, "", "map text of no mapping is empty");
}

static void
test_method_and_setgroups(void)
{
  static const oci_id_mapping own[] = { { 0, 1000, 1 } };
  static const oci_id_mapping other[] = { { 0, 1001, 1 } };
  static const oci_id_mapping own_big[] = { { 0, 1000, 2 } };
  static const oci_id_mapping multi[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };

  tap_ok(isolazi_userns_map_method(true, 0, multi, 2) == ISOLAZI_USERNS_MAP_DIRECT,
         "privileged: any mapping is written directly");
  tap_ok(isolazi_userns_map_method(false, 1000, own, 1) == ISOLAZI_USERNS_MAP_DIRECT,
         "unprivileged: its own id, size 1, is written directly");
  tap_ok(isolazi_userns_map_method(false, 1000, other, 1) == ISOLAZI_USERNS_MAP_HELPER,
         "unprivileged: another id needs the helper");
  tap_ok(isolazi_userns_map_method(false, 1000, own_big, 1) == ISOLAZI_USERNS_MAP_HELPER,
         "unprivileged: its own id with size 2 needs the helper");
  tap_ok(isolazi_userns_map_method(false, 1000, multi, 2) == ISOLAZI_USERNS_MAP_HELPER,
         "unprivileged: several ranges need the helper");

  tap_ok(isolazi_userns_setgroups_deny(false, ISOLAZI_USERNS_MAP_DIRECT),
         "unprivileged direct gid_map: setgroups must be denied first");
  tap_ok(!isolazi_userns_setgroups_deny(false, ISOLAZI_USERNS_MAP_HELPER), "through newgidmap: setgroups left alone");
  tap_ok(!isolazi_userns_setgroups_deny(true, ISOLAZI_USERNS_MAP_DIRECT), "privileged: setgroups stays allowed");
}

static void
test_helper_argv(void)
{
  static const oci_id_mapping m[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
  char **argv = isolazi_userns_helper_argv("newuidmap", 4242, m, 2);
  static const char *const want[] = { "newuidmap", "4242", "0", "1000", "1", "1", "100000", "65536" };
  size_t i;
  bool same = true;

  for (i = 0; i < sizeof want / sizeof want[0]; i++)
    if (argv[i] == NULL || strcmp(argv[i], want[i]) != 0)
      same = false;
  tap_ok(same, "newuidmap PID then containerID hostID size per mapping");
  tap_ok(argv[8] == NULL, "the argument list ends with NULL");
  isolazi_userns_argv_free(argv);
  argv = isolazi_userns_helper_argv("newgidmap", 1, NULL, 0);
  tap_ok(argv[0] != NULL && strcmp(argv[1], "1") == 0 && argv[2] == NULL, "no mapping: helper and pid only");
  isolazi_userns_argv_free(argv);
  isolazi_userns_argv_free(NULL);
  tap_ok(1, "argv_free accepts NULL");
}

/* A config from JSON, its plan, and the result of isolazi_userns_config_check. */
static int
config_check(const char *json, char **ret_msg)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_ns_plan_t plan;
  char *perr = NULL;
  oci_config *cfg = oci_config_parse("config.json", json, strlen(json), &perr);
  int r;

  *ret_msg = NULL;
  if (cfg == NULL)
    {
      *ret_msg = perr;
      return -2;
    }
  r = isolazi_ns_plan_build(cfg->linux_, &plan, &err);
  if (r == 0)
    r = isolazi_userns_config_check(cfg, &plan, &err);
  if (r < 0)
    *ret_msg = xstrdup(err.msg);
  isolazi_error_release(&err);
  oci_config_free(cfg);
  return r;
}

#define BASE      "{\"ociVersion\":\"1.0.2\",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
#define NS_USER   "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}]"
#define NS_NOUSER "\"namespaces\":[{\"type\":\"mount\"}]"
#define MAPS                                                                                                           \
  "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"                                            \
  "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]"

static void
test_config_check(void)
{
  static const struct
  {
    const char *json;
    const char *want; /* NULL: valid */
    const char *what;
  } cases[] = {
    { BASE "\"linux\":{" NS_USER "," MAPS "}}", NULL, "new user namespace with mappings" },
    { BASE "\"linux\":{" NS_USER "}}", "config.json: linux.uidMappings: a new user namespace needs mappings",
      "new user namespace without mappings" },
    { BASE "\"linux\":{" NS_USER ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
      "config.json: linux.gidMappings: a new user namespace needs mappings", "uid mappings without gid mappings" },
    { BASE "\"linux\":{" NS_NOUSER "," MAPS "}}",
      "config.json: linux.uidMappings: mappings need a user namespace in linux.namespaces",
      "mappings without a user namespace" },
    { BASE "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}]}}", NULL,
      "joined user namespace without mappings" },
    { BASE "\"linux\":{" NS_USER ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}],"
           "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
      "config.json: linux.uidMappings[0].size: must be greater than 0", "size 0" },
    { BASE "\"linux\":{" NS_USER "," MAPS "},\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\","
           "\"source\":\"/tmp\",\"options\":[\"idmap\"]}]}",
      NULL, "idmap without mount mappings takes the container's" },
    { BASE "\"linux\":{" NS_NOUSER "},\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\","
           "\"source\":\"/tmp\",\"options\":[\"idmap\"]}]}",
      "config.json: mounts[0]: `idmap` without uidMappings/gidMappings takes the container's, but there is no new "
      "user namespace",
      "idmap without any mappings" },
    { BASE "\"linux\":{" NS_NOUSER "},\"mounts\":[{\"destination\":\"/m\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
           "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}],"
           "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]}",
      "config.json: mounts[0]: idmapped mounts are only supported for bind mounts", "idmapped tmpfs" },
    { BASE "\"linux\":{" NS_NOUSER "},\"mounts\":[{\"destination\":\"/m\",\"source\":\"/tmp\",\"options\":[\"rbind\"],"
           "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]}",
      "config.json: mounts[0].gidMappings: an idmapped mount needs both uid and gid mappings",
      "mount uid mappings without gid mappings" },
    { BASE
      "\"linux\":{" NS_NOUSER "},\"mounts\":[{\"destination\":\"/m\",\"source\":\"/tmp\",\"options\":[\"bind\"],"
      "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":10},{\"containerID\":5,\"hostID\":50,\"size\":1}],"
      "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]}",
      "config.json: mounts[0].uidMappings[1]: containerID range overlaps mounts[0].uidMappings[0]",
      "overlapping mount mappings" },
    { BASE "\"linux\":{" NS_NOUSER "},\"mounts\":[{\"destination\":\"/m\",\"source\":\"/tmp\",\"options\":[\"bind\"],"
           "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
           "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}]}",
      NULL, "mount mappings without a user namespace" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_free char *msg = NULL;
      int r = config_check(cases[i].json, &msg);
      if (cases[i].want == NULL)
        {
          tap_ok(r == 0, "config check: %s is valid", cases[i].what);
          if (r != 0)
            printf("#   error: %s\n", msg ? msg : "(none)");
        }
      else
        tap_streq(msg, cases[i].want, "config check: %s", cases[i].what);
    }
}

static void
test_mount_is_idmapped(void)
{
  char *idmap[] = { "bind", "idmap" }, *ridmap[] = { "rbind", "ridmap" }, *plain[] = { "rbind", "ro" };
  oci_id_mapping one = { 0, 1, 1 };
  oci_mount m;
  bool rec = true;

  memset(&m, 0, sizeof m);
  m.options = idmap;
  m.options_len = 2;
  tap_ok(isolazi_userns_mount_is_idmapped(&m, &rec) && !rec, "idmap: idmapped, not recursive");
  m.options = ridmap;
  tap_ok(isolazi_userns_mount_is_idmapped(&m, &rec) && rec, "ridmap: idmapped, recursive");
  m.options = plain;
  tap_ok(!isolazi_userns_mount_is_idmapped(&m, &rec), "rbind,ro: not idmapped");
  m.uid_mappings = &one;
  m.uid_mappings_len = 1;
  tap_ok(isolazi_userns_mount_is_idmapped(&m, NULL), "mount uidMappings make it idmapped");
}

static void
test_ns_flags(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  oci_namespace new_ns[]
      = { { "mount", NULL }, { "pid", NULL }, { "uts", NULL }, { "user", NULL }, { "cgroup", NULL } };
  oci_namespace joined[]
      = { { "mount", NULL }, { "pid", "/proc/1/ns/pid" }, { "uts", NULL }, { "user", "/proc/1/ns/user" } };
  oci_namespace joined_newpid[] = { { "mount", NULL }, { "pid", NULL }, { "user", "/proc/1/ns/user" } };
  oci_linux l;
  isolazi_ns_plan_t plan;

  memset(&l, 0, sizeof l);
  l.namespaces = new_ns;
  l.namespaces_len = 5;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0, "plan with a new user namespace");
  tap_ok(isolazi_ns_clone_flags(&plan) == (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWUSER),
         "new user namespace: clone3 creates it with the others (cgroup left to the init)");
  tap_ok(isolazi_ns_unshare_flags(&plan) == 0, "new user namespace: nothing for the init to unshare");
  l.namespaces = joined;
  l.namespaces_len = 4;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0, "plan with a joined user namespace");
  tap_ok(isolazi_ns_clone_flags(&plan) == 0, "joined user namespace: clone3 creates nothing but a pid namespace");
  tap_ok(isolazi_ns_unshare_flags(&plan) == (CLONE_NEWNS | CLONE_NEWUTS),
         "joined user namespace: the init unshares mount and uts after setns");
  l.namespaces = joined_newpid;
  l.namespaces_len = 3;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0, "plan with a joined user and a new pid namespace");
  tap_ok(isolazi_ns_clone_flags(&plan) == CLONE_NEWPID, "the pid namespace can only come from clone3");
  tap_ok(isolazi_ns_needs_intermediate(&plan), "joined user + new pid namespace: cloned from an intermediate");
  tap_ok(isolazi_ns_unshare_flags(&plan) == CLONE_NEWNS, "the init still unshares the mount namespace itself");
  l.namespaces = joined;
  l.namespaces_len = 4;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0 && !isolazi_ns_needs_intermediate(&plan),
         "joined user + joined pid namespace: no intermediate");
  l.namespaces = new_ns;
  l.namespaces_len = 5;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0 && !isolazi_ns_needs_intermediate(&plan),
         "new user namespace: no intermediate");
  isolazi_error_release(&err);
}

/* Which joins come before the user namespace step. */
static void
test_ns_order(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  /* plan order: user, pid, uts, network, mount */
  oci_namespace joined[] = { { "mount", "/proc/1/ns/mnt" },
                             { "pid", NULL },
                             { "uts", "/proc/1/ns/uts" },
                             { "network", "/var/run/netns/cni" },
                             { "user", "/proc/1/ns/user" } };
  oci_namespace new_user[] = { { "mount", NULL },
                               { "pid", "/proc/1/ns/pid" },
                               { "network", "/var/run/netns/cni" },
                               { "ipc", "/proc/1/ns/ipc" },
                               { "user", NULL } };
  oci_namespace no_user[] = { { "mount", NULL }, { "network", "/var/run/netns/cni" } };
  bool owned[ISOLAZI_NS_MAX] = { false };
  oci_linux l;
  isolazi_ns_plan_t plan;
  size_t i;

  memset(&l, 0, sizeof l);
  l.namespaces = joined;
  l.namespaces_len = 5;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0 && plan.n_joins == 4 && strcmp(plan.joins[0].type, "user") == 0
             && strcmp(plan.joins[1].type, "uts") == 0 && strcmp(plan.joins[2].type, "network") == 0
             && strcmp(plan.joins[3].type, "mount") == 0,
         "joined user namespace: joins in setns order, user first");
  /* The joined user namespace owns uts and mount (another container's); the CNI network
     namespace is the host's. */
  owned[1] = owned[3] = true;
  isolazi_ns_plan_order(&plan, owned);
  tap_ok(!plan.joins[0].early, "the user namespace is its own step, not early");
  tap_ok(!plan.joins[1].early && !plan.joins[3].early, "namespaces the joined user namespace owns come after it");
  tap_ok(plan.joins[2].early, "a namespace another user namespace owns comes before it");
  isolazi_ns_plan_order(&plan, NULL);
  tap_ok(plan.joins[1].early && plan.joins[2].early && plan.joins[3].early,
         "owners unknown: everything before the user namespace");

  l.namespaces = new_user;
  l.namespaces_len = 5;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0, "plan with a new user namespace and joins");
  owned[0] = owned[1] = owned[2] = true;
  isolazi_ns_plan_order(&plan, owned);
  for (i = 0; i < plan.n_joins; i++)
    if (plan.joins[i].flag == CLONE_NEWPID)
      tap_ok(!plan.joins[i].early, "pid is joined by the runtime for its children, never early");
    else
      tap_ok(plan.joins[i].early, "new user namespace: %s is joined before it is created", plan.joins[i].type);

  l.namespaces = no_user;
  l.namespaces_len = 2;
  tap_ok(isolazi_ns_plan_build(&l, &plan, &err) == 0, "plan without a user namespace");
  isolazi_ns_plan_order(&plan, NULL);
  tap_ok(!plan.joins[0].early, "no user namespace: the init joins in plan order, nothing early");
  isolazi_error_release(&err);
}

int
main(void)
{
  test_ns_flags();
  test_ns_order();
  test_mappings_check();
  test_map_text();
  test_method_and_setgroups();
  test_helper_argv();
  test_config_check();
  test_mount_is_idmapped();
  return tap_done();
}
