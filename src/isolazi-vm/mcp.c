/* SPDX-License-Identifier: Apache-2.0 */
/* `isolazi-vm mcp`: a Model Context Protocol server on stdin/stdout, so that an agent drives
 * sandboxes as tools.  JSON-RPC 2.0, one message per line (MCP's stdio transport): initialize,
 * ping, tools/list (each tool with a JSON Schema of its input) and tools/call, whose result is
 * text content with isError set when the operation failed (a tool's failure is a result, not
 * a JSON-RPC error: the model reads it).  Notifications get no answer.  Nothing else is
 * written on stdout; diagnostics go to stderr. */
#include "config.h"
#include "sandboxcli.h"
#include "vmcli.h"
#include "cleanup.h"
#include "json.h"
#include "utils.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MCP_PROTOCOL_VERSION "2025-06-18"

typedef struct tool
{
  const char *name, *description, *schema;
} tool_t;

#define S_NAME "\"name\":{\"type\":\"string\",\"description\":\"the sandbox's name\"}"
/* A link to another sandbox's guest port (`sandbox policy --allow-to|--deny-to SANDBOX:PORT`). */
#define S_LINK                                                                                                         \
  "{\"type\":\"object\",\"properties\":{\"sandbox\":{\"type\":\"string\",\"description\":\"the other "                 \
  "sandbox\"},\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535}},\"required\":[\"sandbox\","             \
  "\"port\"]}"

static const tool_t tools[] = {
  { "sandbox_create", "Create a sandbox (a microVM with a persistent disk) from a preset and boot it.",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"preset\":{\"type\":\"string\",\"enum\":[\"python\",\"node\","
    "\"ruby\",\"go\"]},\"bundle\":{\"type\":\"string\",\"description\":\"an OCI bundle directory instead of a "
    "preset\"},\"cpus\":{\"type\":\"integer\",\"minimum\":1},\"memory_mib\":{\"type\":\"integer\",\"minimum\":128},"
    "\"network\":{\"type\":\"string\",\"enum\":[\"none\",\"internet\"]}},\"required\":[\"name\"]}" },
  { "sandbox_list", "List the sandboxes with their status.", "{\"type\":\"object\",\"properties\":{}}" },
  { "sandbox_info", "Describe a sandbox: status, size, network, port forwards, snapshots.",
    "{\"type\":\"object\",\"properties\":{" S_NAME "},\"required\":[\"name\"]}" },
  { "sandbox_exec",
    "Run a command in a sandbox as root; returns its exit code, stdout and stderr.  Exit code 124: it was killed "
    "at its timeout.",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"command\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"minItems\":1,\"description\":\"argv, e.g. [\\\"python3\\\", \\\"-c\\\", \\\"print(1)\\\"]\"},\"env\":{\"type\":"
    "\"object\",\"additionalProperties\":{\"type\":\"string\"}},\"cwd\":{\"type\":\"string\"},\"timeout_seconds\":{"
    "\"type\":\"integer\",\"minimum\":1}},\"required\":[\"name\",\"command\"]}" },
  { "sandbox_write_file", "Write a text file inside a sandbox (parent directories are created).",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"path\":{\"type\":\"string\",\"description\":\"absolute path "
    "in the sandbox\"},\"content\":{\"type\":\"string\"}},\"required\":[\"name\",\"path\",\"content\"]}" },
  { "sandbox_read_file", "Read a text file from inside a sandbox.",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"path\":{\"type\":\"string\"}},\"required\":[\"name\","
    "\"path\"]}" },
  { "sandbox_snapshot", "Snapshot a sandbox's disk; returns the snapshot's name.",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"snapshot\":{\"type\":\"string\"}},\"required\":[\"name\"]}" },
  { "sandbox_restore", "Put a sandbox's disk back to a snapshot (a running sandbox restarts).",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"snapshot\":{\"type\":\"string\"}},\"required\":[\"name\","
    "\"snapshot\"]}" },
  { "sandbox_fork", "Create a new sandbox from a snapshot of another (one taken now when none is named).",
    "{\"type\":\"object\",\"properties\":{\"source\":{\"type\":\"string\"}," S_NAME ",\"snapshot\":{\"type\":"
    "\"string\"}},\"required\":[\"source\",\"name\"]}" },
  { "sandbox_stop", "Shut a sandbox's VM down; its disk stays.",
    "{\"type\":\"object\",\"properties\":{" S_NAME "},\"required\":[\"name\"]}" },
  { "sandbox_start", "Boot a stopped sandbox on its disk.",
    "{\"type\":\"object\",\"properties\":{" S_NAME "},\"required\":[\"name\"]}" },
  { "sandbox_destroy", "Stop a sandbox and remove it with its disk.",
    "{\"type\":\"object\",\"properties\":{" S_NAME "},\"required\":[\"name\"]}" },
  { "sandbox_port_forward", "Forward 127.0.0.1:host_port on the host to guest_port in a sandbox.",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"host_port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":"
    "65535},\"guest_port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535}},\"required\":[\"name\","
    "\"host_port\",\"guest_port\"]}" },
  { "sandbox_snapshot_delete",
    "Delete a snapshot of a sandbox.  Refused while a later snapshot or a fork is based on it; when the disk sits "
    "on it, what was written since is folded into it (a running sandbox restarts).",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"snapshot\":{\"type\":\"string\"}},\"required\":[\"name\","
    "\"snapshot\"]}" },
  { "sandbox_policy",
    "Set a sandbox's network policy, one change per call: `network` none (default) or internet (a running sandbox "
    "restarts); `allow_to` lets it connect to another sandbox's port, at an address it returns (a running sandbox "
    "restarts); `deny_to` removes such a link at once.",
    "{\"type\":\"object\",\"properties\":{" S_NAME ",\"network\":{\"type\":\"string\",\"enum\":[\"none\","
    "\"internet\"]},\"allow_to\":" S_LINK ",\"deny_to\":" S_LINK "},\"required\":[\"name\"]}" },
};

static void
json_valuep(json_value **v)
{
  json_value_free(*v);
}

static void
emit(json_gen *g)
{
  char *out = NULL, *perr = NULL;
  size_t len;

  if (json_gen_finish(g, &out, &len, &perr) == 0)
    {
      fwrite(out, 1, len, stdout);
      fputc('\n', stdout);
      fflush(stdout);
    }
  else
    fprintf(stderr, "isolazi-vm mcp: cannot write an answer: %s\n", perr);
  free(out);
  free(perr);
  json_gen_free(g);
}

static json_gen *
response_open(const json_value *id)
{
  json_gen *g = json_gen_new(false);

  json_gen_object_open(g);
  json_gen_key(g, "jsonrpc");
  json_gen_string(g, "2.0");
  json_gen_key(g, "id");
  if (id != NULL)
    json_gen_value(g, id);
  else
    json_gen_null(g);
  return g;
}

static void
rpc_error(const json_value *id, int code, const char *msg)
{
  json_gen *g = response_open(id);

  json_gen_key(g, "error");
  json_gen_object_open(g);
  json_gen_key(g, "code");
  json_gen_int64(g, code);
  json_gen_key(g, "message");
  json_gen_string(g, msg);
  json_gen_object_close(g);
  json_gen_object_close(g);
  emit(g);
}

static void
tool_result(const json_value *id, const char *text, bool is_error)
{
  json_gen *g = response_open(id);

  json_gen_key(g, "result");
  json_gen_object_open(g);
  json_gen_key(g, "content");
  json_gen_array_open(g);
  json_gen_object_open(g);
  json_gen_key(g, "type");
  json_gen_string(g, "text");
  json_gen_key(g, "text");
  json_gen_string(g, text);
  json_gen_object_close(g);
  json_gen_array_close(g);
  json_gen_key(g, "isError");
  json_gen_bool(g, is_error);
  json_gen_object_close(g);
  json_gen_object_close(g);
  emit(g);
}

static char *
gen_to_string(json_gen *g)
{
  char *out = NULL, *perr = NULL;
  size_t len;

  if (json_gen_finish(g, &out, &len, &perr) < 0)
    out = xstrdup("{}");
  free(perr);
  json_gen_free(g);
  return out;
}

/* A string argument; NULL with *err set when required and missing or not a string. */
static const char *
arg_string(const json_value *args, const char *key, bool required, isolazi_error_t *err)
{
  const json_value *v = json_object_get(args, key);

  if (v == NULL && !required)
    return NULL;
  if (v == NULL || json_get_string(v) == NULL)
    {
      isolazi_error_set(err, 0, "argument `%s`: %s", key, v == NULL ? "required" : "must be a string");
      return NULL;
    }
  return json_get_string(v);
}

static bool
arg_uint(const json_value *args, const char *key, bool required, unsigned max, unsigned *ret, isolazi_error_t *err)
{
  const json_value *v = json_object_get(args, key);
  uint64_t u;

  if (v == NULL && !required)
    return true;
  if (v == NULL || !json_get_uint64(v, &u) || u > max)
    {
      isolazi_error_set(err, 0, "argument `%s`: %s", key,
                        v == NULL ? "required" : "must be a non-negative integer in range");
      return false;
    }
  *ret = (unsigned)u;
  return true;
}

/* Run a tool: 0 with *ret_text, or -1 with err. */
static int
call_tool(const char *name, const json_value *args, char **ret_text, isolazi_error_t *err)
{
  const isolazi_sandbox_ctx_t *c = &sbcli_ctx;
  const char *sb = NULL;

  if (strcmp(name, "sandbox_list") != 0 && strcmp(name, "sandbox_fork") != 0)
    {
      sb = arg_string(args, "name", true, err);
      if (sb == NULL)
        return -1;
    }
  if (strcmp(name, "sandbox_create") == 0)
    {
      isolazi_sandbox_create_options_t o = { .name = sb };
      bool pooled = false;
      o.preset = arg_string(args, "preset", false, err);
      o.bundle = arg_string(args, "bundle", false, err);
      o.network = arg_string(args, "network", false, err);
      if (err->msg != NULL || !arg_uint(args, "cpus", false, 64, &o.cpus, err)
          || !arg_uint(args, "memory_mib", false, 1024 * 1024, &o.memory_mib, err))
        return -1;
      if (isolazi_sandbox_create(c, &o, &pooled, err) < 0)
        return -1;
      *ret_text = xasprintf("created sandbox `%s`%s", sb, pooled ? " (from the warm pool)" : "");
      return 0;
    }
  if (strcmp(name, "sandbox_list") == 0)
    {
      isolazi_sandbox_summary_t *s = NULL;
      json_gen *g;
      size_t n = 0, i;
      if (isolazi_sandbox_list(c, &s, &n, err) < 0)
        return -1;
      g = json_gen_new(false);
      json_gen_array_open(g);
      for (i = 0; i < n; i++)
        {
          json_gen_object_open(g);
          json_gen_key(g, "name");
          json_gen_string(g, s[i].name);
          json_gen_key(g, "status");
          json_gen_string(g, s[i].status);
          json_gen_key(g, "source");
          json_gen_string(g, s[i].image);
          json_gen_key(g, "network");
          json_gen_string(g, s[i].network);
          json_gen_key(g, "snapshots");
          json_gen_uint64(g, s[i].snapshots);
          json_gen_object_close(g);
        }
      json_gen_array_close(g);
      isolazi_sandbox_summaries_free(s, n);
      *ret_text = gen_to_string(g);
      return 0;
    }
  if (strcmp(name, "sandbox_info") == 0)
    {
      *ret_text = isolazi_sandbox_info_json(c, sb, err);
      return *ret_text == NULL ? -1 : 0;
    }
  if (strcmp(name, "sandbox_exec") == 0)
    {
      const json_value *cmd = json_object_get(args, "command"), *env = json_object_get(args, "env");
      isolazi_sandbox_exec_options_t o = { .in_fd = -1, .out_fd = -1, .err_fd = -1 };
      isolazi_sandbox_exec_result_t res;
      cleanup_strv char **argv = NULL, **envv = NULL;
      unsigned timeout = 0;
      json_gen *g;
      size_t i;
      int r;
      if (json_array_len(cmd) == 0)
        return isolazi_error_set(err, 0, "argument `command`: a non-empty array of strings is required");
      argv = xcalloc(json_array_len(cmd) + 1, sizeof *argv);
      for (i = 0; i < json_array_len(cmd); i++)
        {
          if (json_get_string(json_array_get(cmd, i)) == NULL)
            return isolazi_error_set(err, 0, "argument `command[%zu]`: must be a string", i);
          argv[i] = xstrdup(json_get_string(json_array_get(cmd, i)));
        }
      if (env != NULL && json_typeof(env) != JSON_OBJECT)
        return isolazi_error_set(err, 0, "argument `env`: must be an object of strings");
      envv = xcalloc(json_object_len(env) + 1, sizeof *envv);
      for (i = 0; i < json_object_len(env); i++)
        {
          const char *v = json_get_string(json_object_value(env, i));
          if (v == NULL)
            return isolazi_error_set(err, 0, "argument `env.%s`: must be a string", json_object_key(env, i));
          envv[i] = xasprintf("%s=%s", json_object_key(env, i), v);
        }
      if (!arg_uint(args, "timeout_seconds", false, 86400, &timeout, err))
        return -1;
      o.args = argv;
      o.env = envv;
      o.cwd = arg_string(args, "cwd", false, err);
      o.timeout_ms = timeout * 1000;
      o.capture_max = 1024 * 1024;
      r = isolazi_sandbox_exec(c, sb, &o, &res, err);
      if (r < 0)
        {
          isolazi_sandbox_exec_result_release(&res);
          return -1;
        }
      g = json_gen_new(false);
      json_gen_object_open(g);
      json_gen_key(g, "exit_code");
      json_gen_int64(g, res.exit_code);
      json_gen_key(g, "stdout");
      json_gen_string(g, res.out);
      json_gen_key(g, "stderr");
      json_gen_string(g, res.err);
      json_gen_key(g, "timed_out");
      json_gen_bool(g, res.timed_out);
      json_gen_key(g, "truncated");
      json_gen_bool(g, res.truncated);
      json_gen_object_close(g);
      isolazi_sandbox_exec_result_release(&res);
      *ret_text = gen_to_string(g);
      return 0;
    }
  if (strcmp(name, "sandbox_write_file") == 0)
    {
      const char *path = arg_string(args, "path", true, err), *content = NULL;
      if (path == NULL || (content = arg_string(args, "content", true, err)) == NULL)
        return -1;
      if (isolazi_sandbox_write(c, sb, path, content, strlen(content), 0644, err) < 0)
        return -1;
      *ret_text = xasprintf("wrote %zu bytes to %s", strlen(content), path);
      return 0;
    }
  if (strcmp(name, "sandbox_read_file") == 0)
    {
      const char *path = arg_string(args, "path", true, err);
      size_t len;
      if (path == NULL || isolazi_sandbox_read(c, sb, path, ret_text, &len, err) < 0)
        return -1;
      return 0;
    }
  if (strcmp(name, "sandbox_snapshot") == 0)
    {
      const char *snap = arg_string(args, "snapshot", false, err);
      char *made = NULL;
      if (err->msg != NULL || isolazi_sandbox_snapshot(c, sb, snap, &made, NULL, err) < 0)
        return -1;
      *ret_text = made;
      return 0;
    }
  if (strcmp(name, "sandbox_restore") == 0)
    {
      const char *snap = arg_string(args, "snapshot", true, err);
      if (snap == NULL || isolazi_sandbox_restore(c, sb, snap, NULL, err) < 0)
        return -1;
      *ret_text = xasprintf("sandbox `%s` restored to snapshot `%s`", sb, snap);
      return 0;
    }
  if (strcmp(name, "sandbox_fork") == 0)
    {
      const char *src = arg_string(args, "source", true, err), *snap = NULL;
      if (src == NULL || (sb = arg_string(args, "name", true, err)) == NULL)
        return -1;
      snap = arg_string(args, "snapshot", false, err);
      if (err->msg != NULL || isolazi_sandbox_fork(c, src, sb, snap, NULL, err) < 0)
        return -1;
      *ret_text = xasprintf("sandbox `%s` forked from `%s`", sb, src);
      return 0;
    }
  if (strcmp(name, "sandbox_stop") == 0 || strcmp(name, "sandbox_start") == 0 || strcmp(name, "sandbox_destroy") == 0)
    {
      int r;
      if (strcmp(name, "sandbox_stop") == 0)
        r = isolazi_sandbox_stop(c, sb, err);
      else if (strcmp(name, "sandbox_start") == 0)
        r = isolazi_sandbox_start(c, sb, err);
      else
        r = isolazi_sandbox_destroy(c, sb, err);
      if (r < 0)
        return -1;
      *ret_text = xasprintf("%s: done", name);
      return 0;
    }
  if (strcmp(name, "sandbox_port_forward") == 0)
    {
      unsigned h = 0, g = 0;
      if (!arg_uint(args, "host_port", true, 65535, &h, err) || !arg_uint(args, "guest_port", true, 65535, &g, err))
        return -1;
      if (isolazi_sandbox_port_add(c, sb, (isolazi_sandbox_port_t){ (uint16_t)h, (uint16_t)g }, err) < 0)
        return -1;
      *ret_text = xasprintf("127.0.0.1:%u forwards to port %u of sandbox `%s`", h, g, sb);
      return 0;
    }
  if (strcmp(name, "sandbox_snapshot_delete") == 0)
    {
      const char *snap = arg_string(args, "snapshot", true, err);
      if (snap == NULL || isolazi_sandbox_snapshot_delete(c, sb, snap, err) < 0)
        return -1;
      *ret_text = xasprintf("snapshot `%s` of sandbox `%s` deleted", snap, sb);
      return 0;
    }
  if (strcmp(name, "sandbox_policy") == 0)
    {
      const json_value *allow = json_object_get(args, "allow_to"), *deny = json_object_get(args, "deny_to");
      const char *net = arg_string(args, "network", false, err);
      bool restarted = false;
      if (err->msg != NULL)
        return -1;
      if ((net != NULL) + (allow != NULL) + (deny != NULL) != 1)
        return isolazi_error_set(err, 0, "exactly one of `network`, `allow_to` and `deny_to` is required");
      if (allow != NULL || deny != NULL)
        {
          cleanup_free char *addr = NULL;
          const json_value *link = allow != NULL ? allow : deny;
          const char *key = allow != NULL ? "allow_to" : "deny_to", *to = NULL;
          unsigned port = 0;
          /* isolazi_error_set replaces what arg_string or arg_uint said: one message for the object. */
          if (json_typeof(link) != JSON_OBJECT || (to = arg_string(link, "sandbox", true, err)) == NULL
              || !arg_uint(link, "port", true, 65535, &port, err) || port == 0)
            return isolazi_error_set(err, 0, "argument `%s`: an object with `sandbox` and `port` (1-65535)", key);
          if (deny != NULL)
            {
              if (isolazi_sandbox_deny(c, sb, to, (uint16_t)port, err) < 0)
                return -1;
              *ret_text = xasprintf("sandbox `%s` may no longer connect to `%s` port %u", sb, to, port);
              return 0;
            }
          if (isolazi_sandbox_allow(c, sb, to, (uint16_t)port, &addr, &restarted, err) < 0)
            return -1;
          *ret_text = xasprintf("sandbox `%s` may connect to `%s` port %u at %s:%u%s", sb, to, port, addr, port,
                                restarted ? " (restarted)" : "");
          return 0;
        }
      if (isolazi_sandbox_policy_set(c, sb, net, &restarted, err) < 0)
        return -1;
      *ret_text = xasprintf("sandbox `%s`: network %s%s", sb, net, restarted ? " (restarted)" : "");
      return 0;
    }
  return isolazi_error_set(err, 0, "unknown tool `%s`", name);
}

static void
handle(const json_value *msg)
{
  const json_value *id = json_object_get(msg, "id"), *params = json_object_get(msg, "params");
  const char *method = json_get_string(json_object_get(msg, "method"));
  json_gen *g;
  size_t i;

  if (method == NULL)
    {
      if (id != NULL)
        rpc_error(id, -32600, "invalid request: `method` is required");
      return; /* a response or garbage without an id: nothing to answer */
    }
  if (id == NULL)
    return; /* a notification (notifications/initialized, cancellations) */
  if (strcmp(method, "initialize") == 0)
    {
      const char *v = json_get_string(json_object_get(params, "protocolVersion"));
      g = response_open(id);
      json_gen_key(g, "result");
      json_gen_object_open(g);
      json_gen_key(g, "protocolVersion");
      json_gen_string(g, v != NULL ? v : MCP_PROTOCOL_VERSION);
      json_gen_key(g, "capabilities");
      json_gen_object_open(g);
      json_gen_key(g, "tools");
      json_gen_object_open(g);
      json_gen_key(g, "listChanged");
      json_gen_bool(g, false);
      json_gen_object_close(g);
      json_gen_object_close(g);
      json_gen_key(g, "serverInfo");
      json_gen_object_open(g);
      json_gen_key(g, "name");
      json_gen_string(g, "isolazi-vm");
      json_gen_key(g, "version");
      json_gen_string(g, PACKAGE_VERSION);
      json_gen_object_close(g);
      json_gen_object_close(g);
      json_gen_object_close(g);
      emit(g);
      return;
    }
  if (strcmp(method, "ping") == 0)
    {
      g = response_open(id);
      json_gen_key(g, "result");
      json_gen_object_open(g);
      json_gen_object_close(g);
      json_gen_object_close(g);
      emit(g);
      return;
    }
  if (strcmp(method, "tools/list") == 0)
    {
      g = response_open(id);
      json_gen_key(g, "result");
      json_gen_object_open(g);
      json_gen_key(g, "tools");
      json_gen_array_open(g);
      for (i = 0; i < sizeof tools / sizeof tools[0]; i++)
        {
          __attribute__((cleanup(json_valuep))) json_value *schema = NULL;
          cleanup_free char *perr = NULL;
          schema = json_parse(tools[i].schema, strlen(tools[i].schema), &perr);
          json_gen_object_open(g);
          json_gen_key(g, "name");
          json_gen_string(g, tools[i].name);
          json_gen_key(g, "description");
          json_gen_string(g, tools[i].description);
          json_gen_key(g, "inputSchema");
          if (schema != NULL)
            json_gen_value(g, schema);
          else
            json_gen_null(g);
          json_gen_object_close(g);
        }
      json_gen_array_close(g);
      json_gen_object_close(g);
      json_gen_object_close(g);
      emit(g);
      return;
    }
  if (strcmp(method, "tools/call") == 0)
    {
      isolazi_error_t err = ISOLAZI_ERROR_INIT;
      const char *name = json_get_string(json_object_get(params, "name"));
      const json_value *args = json_object_get(params, "arguments");
      cleanup_free char *text = NULL;
      if (name == NULL)
        {
          rpc_error(id, -32602, "invalid params: `name` is required");
          return;
        }
      for (i = 0; i < sizeof tools / sizeof tools[0] && strcmp(tools[i].name, name) != 0; i++)
        ;
      if (i == sizeof tools / sizeof tools[0])
        {
          cleanup_free char *m = xasprintf("invalid params: unknown tool `%s`", name);
          rpc_error(id, -32602, m);
          return;
        }
      if (args != NULL && json_typeof(args) != JSON_OBJECT)
        {
          rpc_error(id, -32602, "invalid params: `arguments` must be an object");
          return;
        }
      if (call_tool(name, args, &text, &err) < 0)
        {
          tool_result(id, err.msg != NULL ? err.msg : "failed", true);
          isolazi_error_release(&err);
          return;
        }
      tool_result(id, text != NULL ? text : "", false);
      return;
    }
  {
    cleanup_free char *m = xasprintf("method not found: `%s`", method);
    rpc_error(id, -32601, m);
  }
}

int
vmcli_mcp(cli_context_t *ctx, int argc, char **argv)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  (void)ctx;
  memset(&sbcli_ctx, 0, sizeof sbcli_ctx);
  sbcli_ctx.vm = &vmcli_global;
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
    {
      printf("Usage: isolazi-vm mcp [--sandbox-root DIR]\n\n"
             "Serve the Model Context Protocol on stdin/stdout (JSON-RPC 2.0, one message per line): the\n"
             "sandbox operations as tools (tools/list, tools/call).\n");
      return 0;
    }
  if (argc > 2 && strcmp(argv[1], "--sandbox-root") == 0)
    sbcli_ctx.root = argv[2];
  else if (argc > 1)
    return cli_usage_error("mcp", "unexpected argument `%s`", argv[1]);
  while ((n = getline(&line, &cap, stdin)) > 0)
    {
      __attribute__((cleanup(json_valuep))) json_value *v = NULL;
      cleanup_free char *perr = NULL;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      if (n == 0)
        continue;
      v = json_parse(line, (size_t)n, &perr);
      if (v == NULL)
        {
          cleanup_free char *m = xasprintf("parse error: %s", perr);
          rpc_error(NULL, -32700, m);
          continue;
        }
      if (json_typeof(v) != JSON_OBJECT)
        {
          rpc_error(NULL, -32600, "invalid request: expected an object (batches are not supported)");
          continue;
        }
      handle(v);
    }
  free(line);
  return 0;
}
