/* SPDX-License-Identifier: Apache-2.0 */
/* libocispec: the runtime-spec model, parser messages, validation, writer round trips. */
#include "config.h"
#include "ocispec.h"
#include "schema.h"
#include "../unit/tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* parse → write → parse gives an equal model, and writing is stable; for every document type. */
static void
round_trip(const schema_type *t, const char *name, const char *text, size_t len)
{
  char *err = NULL, *out1 = NULL, *out2 = NULL, *pretty = NULL, **unknown;
  void *a, *b = NULL, *c = NULL;

  a = schema_parse_document(t, name, text, len, &err);
  tap_ok(a != NULL, "%s: parses%s%s", name, err ? ": " : "", err ? err : "");
  free(err);
  err = NULL;
  if (a == NULL)
    return;
  unknown = schema_unknown_keys(t, name, text, len, &err);
  tap_ok(unknown != NULL && unknown[0] == NULL, "%s: no unknown keys%s%s", name, unknown && unknown[0] ? ": " : "",
         unknown && unknown[0] ? unknown[0] : "");
  oci_string_list_free(unknown);
  out1 = schema_write_document(t, a, false, &err);
  pretty = schema_write_document(t, a, true, &err);
  if (out1 != NULL)
    b = schema_parse_document(t, name, out1, strlen(out1), &err);
  if (pretty != NULL)
    c = schema_parse_document(t, name, pretty, strlen(pretty), &err);
  tap_ok(b != NULL && schema_equal(t, a, b), "%s: compact round trip gives an equal model", name);
  tap_ok(c != NULL && schema_equal(t, a, c), "%s: pretty round trip gives an equal model", name);
  if (b != NULL)
    out2 = schema_write_document(t, b, false, &err);
  tap_streq(out2, out1, "%s: writing is stable", name);
  free(err);
  free(out1);
  free(out2);
  free(pretty);
  schema_free(t, a);
  schema_free(t, b);
  schema_free(t, c);
}

static void
test_samples(void)
{
  static const char *const configs[] = { "containerd-config.json",
                                         "containerd-cri-style-app-config.json",
                                         "containerd-privileged-config.json",
                                         "containerd-run-tty-config.json",
                                         "containerd-seccomp-config.json",
                                         "podman-config.json",
                                         "podman-init-config.json",
                                         "podman-pod-infra-config.json",
                                         "podman-pod-member-config.json",
                                         "podman-privileged-config.json",
                                         "podman-readonly-tmpfs-bind-config.json",
                                         "podman-run-it-config.json",
                                         "full-config.json",
                                         NULL };
  static const char *const processes[]
      = { "containerd-exec-tty-process.json", "podman-exec-process.json", "podman-exec-tty-process.json", NULL };
  static const char *const resources[] = { "containerd-update-stdin.json", "podman-update-cpus-resources.json",
                                           "podman-update-memory-resources.json", NULL };
  static const char *const features[] = { "runc-features.json", "full-features.json", NULL };
  size_t i, len = 0;

  for (i = 0; configs[i]; i++)
    {
      char *text = tap_read_data(configs[i], &len), *err = NULL;
      oci_config *c;

      tap_ok(text != NULL, "read %s", configs[i]);
      if (text == NULL)
        continue;
      round_trip(&oci_config_type, configs[i], text, len);
      c = oci_config_parse(configs[i], text, len, &err);
      tap_ok(c != NULL && oci_config_validate(configs[i], c, &err) == 0, "%s: validates%s%s", configs[i],
             err ? ": " : "", err ? err : "");
      oci_config_free(c);
      free(err);
      free(text);
    }
  for (i = 0; processes[i]; i++)
    {
      char *text = tap_read_data(processes[i], &len), *err = NULL;
      oci_process *p;

      tap_ok(text != NULL, "read %s", processes[i]);
      if (text == NULL)
        continue;
      round_trip(&oci_process_type, processes[i], text, len);
      p = oci_process_parse(processes[i], text, len, &err);
      tap_ok(p != NULL && oci_process_validate(processes[i], p, &err) == 0, "%s: validates%s%s", processes[i],
             err ? ": " : "", err ? err : "");
      oci_process_free(p);
      free(err);
      free(text);
    }
  for (i = 0; resources[i]; i++)
    {
      char *text = tap_read_data(resources[i], &len);
      tap_ok(text != NULL, "read %s", resources[i]);
      if (text != NULL)
        round_trip(&oci_resources_type, resources[i], text, len);
      free(text);
    }
  for (i = 0; features[i]; i++)
    {
      char *text = tap_read_data(features[i], &len);
      tap_ok(text != NULL, "read %s", features[i]);
      if (text != NULL)
        round_trip(&oci_features_type, features[i], text, len);
      free(text);
    }
}

static oci_config *
parse(const char *text, char **err)
{
  return oci_config_parse("config.json", text, strlen(text), err);
}

static void
test_full_config(void)
{
  size_t len = 0;
  char *text = tap_read_data("full-config.json", &len), *err = NULL;
  oci_config *c = text ? oci_config_parse("full-config.json", text, len, &err) : NULL;
  const oci_linux *l;

  tap_ok(c != NULL, "full config parses");
  if (c == NULL)
    {
      free(text);
      free(err);
      return;
    }
  l = c->linux_;
  tap_streq(c->oci_version, "1.2.0", "ociVersion");
  tap_ok(c->process->terminal && c->process->console_size->width == 80, "process.terminal, consoleSize");
  tap_ok(c->process->user.uid == 1 && c->process->user.umask_present && c->process->user.umask == 18
             && c->process->user.additional_gids_len == 3 && c->process->user.additional_gids[2] == UINT32_MAX,
         "process.user");
  tap_streq(c->process->args[2], "echo \"hi\" \\ \xc3\xa9 \xe2\x98\x83 \n\t", "string escapes decoded");
  tap_ok(c->process->args[3] == NULL && c->process->args_len == 3, "string arrays are NULL-terminated");
  tap_ok(c->process->capabilities->inheritable != NULL && c->process->capabilities->inheritable_len == 0,
         "an empty array is present and empty");
  tap_ok(c->process->rlimits[1].hard == UINT64_MAX && c->process->rlimits[1].soft == UINT64_MAX, "uint64 max rlimit");
  tap_ok(c->process->oom_score_adj_present && c->process->oom_score_adj == -1000, "oomScoreAdj");
  tap_ok(c->process->scheduler->nice == -20 && c->process->scheduler->period == 30000000, "scheduler");
  tap_streq(c->process->io_priority->klass, "IOPRIO_CLASS_RT", "ioPriority.class");
  tap_streq(c->process->exec_cpu_affinity->final, "0-3,7", "execCPUAffinity.final");
  tap_ok(c->root->readonly && c->mounts_len == 2 && c->mounts[1].uid_mappings[0].host_id == 1000, "root, mounts");
  tap_ok(c->hooks->create_runtime[0].timeout_present && c->hooks->create_runtime[0].timeout == 5
             && !c->hooks->prestart[0].timeout_present,
         "hook timeouts");
  tap_streq(oci_string_map_get(&c->annotations, "com.example.key2"), "", "annotations");
  tap_ok(oci_string_map_get(&c->annotations, "nope") == NULL, "oci_string_map_get: missing key");
  tap_ok(l->namespaces_len == 8 && l->time_offsets_len == 2, "namespaces, timeOffsets");
  tap_streq(l->time_offsets[0].clock, "monotonic", "timeOffsets key");
  tap_ok(l->time_offsets[0].secs == -86400 && l->time_offsets[1].secs == INT64_MAX, "timeOffsets values");
  tap_ok(l->devices_len == 3 && l->devices[0].file_mode == 0666 && !l->devices[2].major_present, "devices");
  tap_ok(l->net_devices_len == 2 && strcmp(l->net_devices[0].host_name, "eth0") == 0
             && strcmp(l->net_devices[0].name, "ctr0") == 0 && l->net_devices[1].name == NULL,
         "netDevices");
  tap_ok(l->resources->memory->limit_present && l->resources->memory->limit == -1, "memory.limit -1");
  tap_ok(l->resources->memory->disable_oom_killer_present && !l->resources->memory->disable_oom_killer,
         "a false optional bool is present");
  tap_ok(!l->resources->devices[0].major_present && l->resources->devices[2].major_present
             && !l->resources->devices[2].minor_present,
         "device cgroup wildcards");
  tap_ok(l->resources->block_io->weight_device[1].weight == 500
             && !l->resources->block_io->weight_device[1].leaf_weight_present,
         "blockIO.weightDevice");
  tap_ok(l->resources->rdma_len == 2 && strcmp(l->resources->rdma[1].name, "mlx4_0") == 0
             && !l->resources->rdma[1].hca_handles_present && l->resources->rdma[1].hca_objects == 1000,
         "resources.rdma");
  tap_streq(oci_string_map_get(&l->resources->unified, "memory.high"), "max", "resources.unified");
  tap_ok(l->seccomp->syscalls[1].args[1].value == UINT64_MAX && l->seccomp->syscalls[1].args[1].value_two_present,
         "seccomp args");
  tap_ok(l->intel_rdt->enable_cmt && l->personality->flags_len == 0, "intelRdt, personality");
  tap_ok(oci_config_validate("full-config.json", c, &err) == 0, "full config validates");
  oci_config_free(c);
  free(text);
  free(err);
}

struct bad
{
  const char *json;
  const char *message;
};

static void
test_parse_errors(void)
{
  static const struct bad cases[] = {
    { "[]", "config.json: expected an object" },
    { "\"x\"", "config.json: expected an object" },
    { "{\"ociVersion\": 1}", "config.json: ociVersion: expected a string, got a number" },
    { "{\"process\": {\"args\": \"sh\"}}", "config.json: process.args: expected an array of strings" },
    { "{\"process\": {\"args\": [\"sh\", 1]}}", "config.json: process.args[1]: expected a string, got a number" },
    { "{\"process\": {\"terminal\": \"yes\"}}", "config.json: process.terminal: expected a boolean, got a string" },
    { "{\"process\": []}", "config.json: process: expected an object, got an array" },
    { "{\"process\": {\"user\": {\"uid\": -1}}}",
      "config.json: process.user.uid: expected an unsigned 32-bit integer" },
    { "{\"process\": {\"user\": {\"uid\": 4294967296}}}",
      "config.json: process.user.uid: expected an unsigned 32-bit integer" },
    { "{\"process\": {\"user\": {\"additionalGids\": [1, 2.5]}}}",
      "config.json: process.user.additionalGids[1]: expected an unsigned 32-bit integer" },
    { "{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": -1, \"soft\": 1}]}}",
      "config.json: process.rlimits[0].hard: expected an unsigned 64-bit integer" },
    { "{\"process\": {\"rlimits\": [{\"hard\": 18446744073709551616}]}}",
      "config.json: process.rlimits[0].hard: expected an unsigned 64-bit integer" },
    { "{\"process\": {\"rlimits\": [{\"hard\": 1.0}]}}",
      "config.json: process.rlimits[0].hard: expected an unsigned 64-bit integer" },
    { "{\"process\": {\"rlimits\": [{\"hard\": 1e3}]}}",
      "config.json: process.rlimits[0].hard: expected an unsigned 64-bit integer" },
    { "{\"process\": {\"rlimits\": {}}}", "config.json: process.rlimits: expected an array of objects" },
    { "{\"process\": {\"oomScoreAdj\": 2147483648}}", "config.json: process.oomScoreAdj: expected a 32-bit integer" },
    { "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {}, {\"type\": 3}]}}",
      "config.json: linux.namespaces[2].type: expected a string, got a number" },
    { "{\"linux\": {\"resources\": {\"memory\": {\"limit\": 9223372036854775808}}}}",
      "config.json: linux.resources.memory.limit: expected a 64-bit integer" },
    { "{\"linux\": {\"resources\": {\"blockIO\": {\"weight\": 65536}}}}",
      "config.json: linux.resources.blockIO.weight: expected an unsigned 16-bit integer" },
    { "{\"linux\": {\"timeOffsets\": {\"monotonic\": {\"secs\": \"1\"}}}}",
      "config.json: linux.timeOffsets.monotonic.secs: expected a 64-bit integer" },
    { "{\"linux\": {\"timeOffsets\": []}}", "config.json: linux.timeOffsets: expected an object, got an array" },
    { "{\"linux\": {\"sysctl\": {\"a\": 1}}}", "config.json: linux.sysctl.a: expected a string, got a number" },
    { "{\"annotations\": [\"a\"]}", "config.json: annotations: expected an object, got an array" },
    { "{\"hooks\": {\"poststop\": [{\"path\": \"/x\"}, 7]}}",
      "config.json: hooks.poststop[1]: expected an object, got a number" },
    { "{\"mounts\": [{\"options\": [null]}]}", "config.json: mounts[0].options[0]: expected a string, got null" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *err = NULL;
      oci_config *c = parse(cases[i].json, &err);

      tap_ok(c == NULL, "rejects %s", cases[i].json);
      tap_streq(err, cases[i].message, "message for %s", cases[i].json);
      oci_config_free(c);
      free(err);
    }

  {
    char *err = NULL;
    oci_config *c = parse("{\"ociVersion\": ", &err);
    tap_ok(c == NULL && err != NULL && strncmp(err, "config.json: invalid JSON: ", 27) == 0, "syntax error: %s",
           err ? err : "(null)");
    free(err);
    err = NULL;
    c = oci_config_parse("config.json", "{}\0{}", 5, &err);
    tap_ok(c == NULL && err != NULL && strncmp(err, "config.json: invalid JSON: ", 27) == 0, "NUL byte: %s",
           err ? err : "(null)");
    free(err);
    err = NULL;
    c = oci_config_parse_file("/nonexistent/config.json", &err);
    tap_ok(c == NULL, "parse_file: missing file");
    tap_streq(err, "open `/nonexistent/config.json`: no such file or directory", "parse_file: open error");
    free(err);
  }
}

static void
test_validate_errors(void)
{
  static const char base[] = "\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"}";
  static const struct bad cases[] = {
    { "{}", "config.json: ociVersion: missing required field" },
    { "{\"ociVersion\": \"1.2.0\"}", "config.json: root: missing required field" },
    { "{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"\"}}", "config.json: root.path: missing required field" },
    { "{%s, \"process\": {\"cwd\": \"/\"}}", "config.json: process.args: must not be empty" },
    { "{%s, \"process\": {\"args\": [], \"cwd\": \"/\"}}", "config.json: process.args: must not be empty" },
    { "{%s, \"process\": {\"args\": [\"sh\"]}}", "config.json: process.cwd: missing required field" },
    { "{%s, \"process\": {\"args\": [\"sh\"], \"cwd\": \"tmp\"}}",
      "config.json: process.cwd: not an absolute path: \"tmp\"" },
    { "{%s, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_FOO\"}]}}",
      "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\"" },
    { "{%s, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": "
      "5, \"soft\": 10}]}}",
      "config.json: process.rlimits[0]: soft limit 10 is greater than hard limit 5" },
    { "{%s, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\"}, "
      "{\"type\": \"RLIMIT_NOFILE\"}]}}",
      "config.json: process.rlimits[1].type: duplicate rlimit type \"RLIMIT_NOFILE\"" },
    { "{%s, \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"foo\"}]}}",
      "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"" },
    { "{%s, \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]}}",
      "config.json: linux.namespaces[1].type: duplicate namespace type \"pid\"" },
    { "{%s, \"mounts\": [{\"destination\": \"/a\"}, {\"type\": \"tmpfs\"}]}",
      "config.json: mounts[1].destination: missing required field" },
    { "{%s, \"linux\": {\"devices\": [{\"path\": \"/dev/x\", \"type\": \"x\", \"major\": 1, \"minor\": 1}]}}",
      "config.json: linux.devices[0].type: unknown device type \"x\"" },
    { "{%s, \"linux\": {\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"minor\": 1}]}}",
      "config.json: linux.devices[0].major: missing required field" },
    { "{%s, \"linux\": {\"rootfsPropagation\": \"weird\"}}",
      "config.json: linux.rootfsPropagation: unknown rootfs propagation \"weird\"" },
    { "{%s, \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_NOPE\"}}}",
      "config.json: linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"" },
    { "{%s, \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"x\"], "
      "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_XX\"}]}]}}}",
      "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_XX\"" },
    { "{%s, \"linux\": {\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}}}",
      "config.json: linux.resources.devices[0].access: invalid device access \"rwx\"" },
    { "{%s, \"linux\": {\"resources\": {\"devices\": [{\"allow\": true, \"type\": \"p\"}]}}}",
      "config.json: linux.resources.devices[0].type: unknown device type \"p\"" },
    { "{%s, \"hooks\": {\"prestart\": [{\"path\": \"bin/hook\"}]}}",
      "config.json: hooks.prestart[0].path: not an absolute path: \"bin/hook\"" },
    { "{%s, \"hooks\": {\"poststop\": [{\"path\": \"/bin/hook\", \"timeout\": 0}]}}",
      "config.json: hooks.poststop[0].timeout: must be greater than zero" },
    { "{%s, \"linux\": {\"timeOffsets\": {\"realtime\": {\"secs\": 1}}}}",
      "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\"" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char json[1024], *err = NULL;
      oci_config *c;

      /* "{%s, ...}" stands for a config with the required fields and the case's own */
      const char *hole = strstr(cases[i].json, "%s");
      if (hole == NULL)
        snprintf(json, sizeof json, "%s", cases[i].json);
      else
        snprintf(json, sizeof json, "%.*s%s%s", (int)(hole - cases[i].json), cases[i].json, base, hole + 2);
      c = parse(json, &err);
      tap_ok(c != NULL, "parses %s%s%s", json, err ? ": " : "", err ? err : "");
      tap_ok(c != NULL && oci_config_validate("config.json", c, &err) < 0, "invalid: %s", json);
      tap_streq(err, cases[i].message, "message for %s", json);
      oci_config_free(c);
      free(err);
    }
}

static void
test_values(void)
{
  char *err = NULL, *out;
  oci_config *c;

  /* null means absent; unknown keys, with deep junk under them, are ignored */
  c = parse("{\"ociVersion\": null, \"process\": {\"oomScoreAdj\": null, \"args\": null, \"capabilities\": null, "
            "\"user\": null}, \"x-junk\": {\"a\": [[[[{\"b\": [1, {\"c\": null}]}]]]], \"d\": 1.5e300}, "
            "\"annotations\": {}, \"mounts\": []}",
            &err);
  tap_ok(c != NULL, "nulls and junk parse%s%s", err ? ": " : "", err ? err : "");
  if (c != NULL)
    {
      tap_ok(c->oci_version == NULL && !c->process->oom_score_adj_present && c->process->args == NULL
                 && c->process->capabilities == NULL,
             "null fields are absent");
      tap_ok(c->annotations.keys != NULL && c->annotations.len == 0 && c->mounts != NULL && c->mounts_len == 0,
             "empty map and array are present");
      out = oci_config_write(c, false, &err);
      tap_streq(out, "{\"process\":{\"user\":{\"uid\":0,\"gid\":0}},\"mounts\":[],\"annotations\":{}}",
                "written: only present fields");
      free(out);
    }
  oci_config_free(c);

  /* duplicate keys: the last one wins, in structs and in maps */
  c = parse("{\"hostname\": \"a\", \"hostname\": \"b\", \"annotations\": {\"k\": \"1\", \"j\": \"2\", \"k\": \"3\"}}",
            &err);
  tap_ok(c != NULL && strcmp(c->hostname, "b") == 0, "duplicate key: last wins");
  tap_ok(c != NULL && c->annotations.len == 2 && strcmp(oci_string_map_get(&c->annotations, "k"), "3") == 0
             && strcmp(c->annotations.keys[0], "j") == 0,
         "duplicate map key: last wins, one entry");
  oci_config_free(c);

  /* pretty output: 2-space indent */
  c = parse("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\", \"readonly\": false}}", &err);
  out = c ? oci_config_write(c, true, &err) : NULL;
  tap_streq(out, "{\n  \"ociVersion\": \"1.2.0\",\n  \"root\": {\n    \"path\": \"rootfs\"\n  }\n}", "pretty output");
  free(out);
  oci_config_free(c);
  free(err);
}

static void
test_unknown_keys(void)
{
  static const char json[]
      = "{\"ociVersion\": \"1\", \"foo\": {\"deep\": [1]}, \"process\": {\"bar\": 1, \"user\": {\"uid\": 0, \"x\": 1}},"
        "\"mounts\": [{\"destination\": \"/\"}, {\"baz\": true}], \"annotations\": {\"any\": \"thing\"},"
        "\"linux\": {\"timeOffsets\": {\"monotonic\": {\"qq\": 1}}, \"resources\": {\"rdma\": {\"mlx\": {\"zz\": 0}},"
        "\"unified\": {\"cpu.max\": \"max\"}}, \"sysctl\": {\"a.b\": \"1\"}}}";
  static const char *const want[] = { "foo",
                                      "process.bar",
                                      "process.user.x",
                                      "mounts[1].baz",
                                      "linux.timeOffsets.monotonic.qq",
                                      "linux.resources.rdma.mlx.zz",
                                      NULL };
  char *err = NULL, **keys = oci_config_unknown_keys(json, strlen(json), &err);
  size_t i;

  tap_ok(keys != NULL, "unknown keys: listed");
  for (i = 0; keys != NULL && want[i] != NULL; i++)
    tap_streq(keys[i], want[i], "unknown key %zu", i);
  tap_ok(keys != NULL && keys[i] == NULL, "unknown keys: no more");
  oci_string_list_free(keys);
  keys = oci_config_unknown_keys("{", 1, &err);
  tap_ok(keys == NULL && err != NULL, "unknown keys: invalid JSON is an error");
  free(err);
}

static void
test_large(void)
{
  const size_t n_env = 100000, n_mounts = 10000;
  size_t i, cap = 64 + n_env * 24 + n_mounts * 64, len = 0;
  char *buf = malloc(cap), *err = NULL, *out;
  oci_config *c, *c2 = NULL;

  if (buf == NULL)
    return;
  len += (size_t)snprintf(buf + len, cap - len, "{\"process\": {\"env\": [");
  for (i = 0; i < n_env; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s\"VAR%zu=value\"", i ? "," : "", i);
  len += (size_t)snprintf(buf + len, cap - len, "]}, \"mounts\": [");
  for (i = 0; i < n_mounts; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s{\"destination\": \"/m/%zu\", \"type\": \"tmpfs\"}", i ? "," : "",
                            i);
  len += (size_t)snprintf(buf + len, cap - len, "]}");
  c = oci_config_parse("config.json", buf, len, &err);
  tap_ok(c != NULL && c->process->env_len == n_env && c->mounts_len == n_mounts, "large document parses");
  tap_ok(c != NULL && strcmp(c->process->env[n_env - 1], "VAR99999=value") == 0
             && strcmp(c->mounts[n_mounts - 1].destination, "/m/9999") == 0,
         "large document: last entries");
  out = c ? oci_config_write(c, false, &err) : NULL;
  if (out != NULL)
    c2 = parse(out, &err);
  tap_ok(c2 != NULL && oci_config_equal(c, c2), "large document round trips");
  free(out);
  oci_config_free(c);
  oci_config_free(c2);
  free(buf);
  free(err);
}

static void
test_state(void)
{
  static const char runc_state[]
      = "{\n  \"ociVersion\": \"1.0.2-dev\",\n  \"id\": \"r1\",\n  \"pid\": 0,\n  \"status\": \"stopped\",\n"
        "  \"bundle\": \"/tmp/cstest/bundle\",\n  \"rootfs\": \"/tmp/cstest/bundle/rootfs\",\n"
        "  \"created\": \"2026-11-22T22:24:46.344887578Z\",\n  \"annotations\": {\n"
        "    \"org.opencontainers.image.os\": \"linux\"\n  },\n  \"owner\": \"\"\n}";
  char *err = NULL, *out;
  oci_state *s = oci_state_parse("state.json", runc_state, strlen(runc_state), &err);

  tap_ok(s != NULL && s->pid_present && s->pid == 0 && strcmp(s->status, "stopped") == 0, "state parses");
  out = s ? oci_state_write(s, true, &err) : NULL;
  tap_streq(out, runc_state, "state writes as runc does");
  free(out);
  oci_state_free(s);
  free(err);
}

static void
test_features(void)
{
  size_t len = 0;
  char *text = tap_read_data("full-features.json", &len), *err = NULL, *out = NULL;
  oci_features *f = text ? oci_features_parse("features.json", text, len, &err) : NULL;

  tap_ok(f != NULL && f->linux_ && f->linux_->cgroup && f->linux_->cgroup->v2 && f->linux_->cgroup->rdma_present
             && !f->linux_->cgroup->rdma && f->linux_->mount_extensions->idmap->enabled,
         "features parse");
  if (f != NULL)
    out = oci_features_write(f, true, &err);
  /* the file was written by Python's json with indent=2, which is our layout too */
  tap_streq(out, text, "features write in features.md layout");
  oci_features_free(f);
  free(out);
  free(text);
  free(err);
}

int
main(void)
{
  test_samples();
  test_full_config();
  test_parse_errors();
  test_validate_errors();
  test_values();
  test_unknown_keys();
  test_large();
  test_state();
  test_features();
  return tap_done();
}
