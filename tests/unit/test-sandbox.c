/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox library's deciding parts (payloads, state.json, names, ports) and the agent's
 * sandbox operations run on the host over a socketpair (guest off: no mounts). */
#define _GNU_SOURCE
#include "config.h"
#include "tap.h"
#include "agent.h"
#include "sandbox_internal.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test-sandbox.XXXXXX";

static void
test_payloads(void)
{
  sb_file_req_t q;
  uint8_t *p;
  size_t len;
  uint32_t flags;
  char *host = NULL;

  p = sb_setup_encode(SB_SETUP_NETWORK, "box", &len);
  tap_ok(sb_setup_decode(p, len, &flags, &host) == 0 && flags == SB_SETUP_NETWORK && strcmp(host, "box") == 0,
         "setup round trip");
  free(host);
  tap_ok(sb_setup_decode(p, len - 1, &flags, &host) == -EPROTO, "setup: a cut payload is malformed");
  free(p);

  p = sb_write_encode("/a/b", 0640, SB_WRITE_APPEND, "data", 4, &len);
  tap_ok(sb_write_decode(p, len, &q) == 0 && strcmp(q.path, "/a/b") == 0 && q.mode == 0640 && q.flags == SB_WRITE_APPEND
             && q.data_len == 4 && memcmp(q.data, "data", 4) == 0,
         "write round trip");
  free(q.path);
  tap_ok(sb_write_decode(p, 9, &q) == -EPROTO, "write: a cut path is malformed");
  free(p);

  p = sb_read_encode("/x", 1ULL << 33, 4096, &len);
  tap_ok(sb_read_decode(p, len, &q) == 0 && q.offset == 1ULL << 33 && q.max == 4096 && strcmp(q.path, "/x") == 0,
         "read round trip (64-bit offset)");
  free(q.path);
  /* a NUL inside the path would let the guest act on a shorter path than the host named */
  p[15] = '\0';
  tap_ok(sb_read_decode(p, len, &q) == -EPROTO, "read: a NUL inside the path is malformed");
  free(p);

  /* Found by tests/fuzz/fuzz-sandbox: trailing bytes were malformed but the decoded path or
   * hostname was left allocated, a leak per bad frame. */
  p = sb_read_encode("/x", 0, 1, &len);
  p = realloc(p, len + 1);
  p[len] = 'z';
  tap_ok(sb_read_decode(p, len + 1, &q) == -EPROTO && q.path == NULL, "read: trailing bytes leave no path");
  free(p);
  p = sb_setup_encode(0, "box", &len);
  p = realloc(p, len + 1);
  p[len] = 'z';
  host = (char *)"unset";
  tap_ok(sb_setup_decode(p, len + 1, &flags, &host) == -EPROTO && host == NULL,
         "setup: trailing bytes leave no hostname");
  free(p);
}

static void
test_state(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  sb_state_t s = { 0 }, *back;
  sb_snapshot_t snap = { (char *)"s1", (char *)"/l/1.qcow2", NULL, (char *)"t" };
  isolazi_sandbox_port_t port = { 8080, 80 };
  sb_peer_t peer = { (char *)"other", (char *)"10.0.2.100", 8000 };
  char *text;

  s.name = (char *)"box";
  s.base = (char *)"/i/base.ext4";
  s.active = (char *)"/l/2.qcow2";
  s.network = (char *)"internet";
  s.head = (char *)"s1";
  s.cpus = 2;
  s.memory_mib = 512;
  s.ports = &port;
  s.ports_len = 1;
  s.snapshots = &snap;
  s.snapshots_len = 1;
  s.peers = &peer;
  s.peers_len = 1;
  text = sb_state_json(&s, true);
  back = sb_state_parse(text, strlen(text), &err);
  tap_ok(back != NULL, "state.json parses back");
  if (back != NULL)
    {
      tap_ok(strcmp(back->name, "box") == 0 && back->cpus == 2 && back->memory_mib == 512
                 && strcmp(back->network, "internet") == 0 && strcmp(back->active, "/l/2.qcow2") == 0,
             "state: fields survive");
      tap_ok(back->ports_len == 1 && back->ports[0].host == 8080 && back->ports[0].guest == 80, "state: ports survive");
      tap_ok(back->snapshots_len == 1 && strcmp(back->snapshots[0].layer, "/l/1.qcow2") == 0
                 && back->snapshots[0].parent == NULL && strcmp(sb_state_find_snapshot(back, "s1")->name, "s1") == 0,
             "state: the snapshot tree survives");
      tap_ok(back->peers_len == 1 && sb_state_find_peer(back, "other", 8000) != NULL
                 && strcmp(sb_state_find_peer(back, "other", 8000)->addr, "10.0.2.100") == 0
                 && sb_state_find_peer(back, "other", 8001) == NULL,
             "state: links (allow) survive");
      sb_state_add_layer(back, "/l/2.qcow2");
      sb_state_add_layer(back, "/l/2.qcow2");
      tap_ok(back->layers_len == 1, "state: a layer is listed once");
      sb_state_remove_layer(back, "/l/2.qcow2");
      tap_ok(back->layers_len == 0 && back->layers[0] == NULL, "state: a layer is removed");
      sb_state_release(back);
      free(back);
    }
  free(text);
  tap_ok(sb_state_parse("{\"name\": \"x\"}", 13, &err) == NULL && strstr(err.msg, "are required") != NULL,
         "state: missing fields are an error");
  isolazi_error_release(&err);
}

static void
test_names_ports(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_sandbox_port_t p;
  unsigned mib = 0;

  tap_ok(isolazi_sandbox_name_validate("py-1.test_x", &err) == 0, "name: letters, digits, - . _");
  tap_ok(isolazi_sandbox_name_validate("../x", &err) < 0 && strstr(err.msg, "invalid sandbox name `../x`") != NULL,
         "name: a path is refused");
  isolazi_error_release(&err);
  tap_ok(isolazi_sandbox_name_validate("-x", &err) < 0, "name: must start with a letter or digit");
  isolazi_error_release(&err);
  tap_ok(isolazi_sandbox_port_parse("8080:80", &p, &err) == 0 && p.host == 8080 && p.guest == 80, "port: HOST:GUEST");
  tap_ok(isolazi_sandbox_port_parse("70000:80", &p, &err) < 0, "port: out of range");
  isolazi_error_release(&err);
  tap_ok(isolazi_sandbox_port_parse("80", &p, &err) < 0 && strstr(err.msg, "HOST_PORT:GUEST_PORT") != NULL,
         "port: one number is refused");
  isolazi_error_release(&err);
  (void)mib;
}

/* One request to agent_sandbox_frame, one answer read back. */
static int
agent_call(const agent_options_t *o, unsigned type, const uint8_t *p, size_t len, vm_frame_header_t *ret,
           uint8_t **ret_payload)
{
  int sv[2], r;
  vm_frame_header_t h = { .len = (uint32_t)len, .type = (uint16_t)type, .proc = 7 };

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  r = agent_sandbox_frame(sv[0], o, &h, p);
  if (r == 0)
    r = vm_frame_read(sv[1], ret, ret_payload);
  close(sv[0]);
  close(sv[1]);
  return r;
}

static void
test_agent_ops(void)
{
  agent_options_t o = { .guest = false, .root = tmpdir };
  vm_frame_header_t h;
  uint8_t *p, *a = NULL;
  size_t len;
  char path[256];
  struct stat st;

  p = sb_write_encode("/dir/sub/f.txt", 0600, SB_WRITE_MKDIRS, "hello", 5, &len);
  tap_ok(agent_call(&o, VM_MSG_SB_WRITE, p, len, &h, &a) == 0 && h.type == VM_MSG_SB_DONE && h.proc == 7,
         "agent: write answers DONE on the request's proc");
  free(p);
  free(a);
  snprintf(path, sizeof path, "%s/dir/sub/f.txt", tmpdir);
  tap_ok(stat(path, &st) == 0 && st.st_size == 5 && (st.st_mode & 0777) == 0600, "agent: the file is in the root");
  p = sb_write_encode("/dir/sub/f.txt", 0600, SB_WRITE_APPEND, " world", 6, &len);
  (void)agent_call(&o, VM_MSG_SB_WRITE, p, len, &h, &a);
  free(p);
  free(a);
  p = sb_read_encode("/dir/sub/f.txt", 6, 100, &len);
  tap_ok(agent_call(&o, VM_MSG_SB_READ, p, len, &h, &a) == 0 && h.type == VM_MSG_SB_DONE && h.len == 8 + 5
             && sb_get_u64(a) == 11 && memcmp(a + 8, "world", 5) == 0,
         "agent: read from an offset, with the file's size");
  free(p);
  free(a);
  /* a symlink to / inside the root still resolves inside the root */
  snprintf(path, sizeof path, "%s/up", tmpdir);
  tap_ok(symlink("/", path) == 0, "symlink");
  p = sb_read_encode("/up/../../etc/hostname", 0, 100, &len);
  tap_ok(agent_call(&o, VM_MSG_SB_READ, p, len, &h, &a) == 0 && h.type == VM_MSG_ERROR,
         "agent: no way out of the root");
  free(p);
  free(a);
  p = sb_read_encode("/dir", 0, 100, &len);
  {
    int e = 0, status = 0;
    char *msg = NULL;
    tap_ok(agent_call(&o, VM_MSG_SB_READ, p, len, &h, &a) == 0 && h.type == VM_MSG_ERROR
               && vm_error_decode(a, h.len, &e, &status, &msg) == 0 && e == EISDIR
               && strcmp(msg, "read `/dir`: is a directory") == 0,
           "agent: reading a directory is an error naming it");
    free(msg);
  }
  free(p);
  free(a);
  {
    uint8_t b[4];
    vm_put_u32(b, 1);
    tap_ok(agent_call(&o, VM_MSG_SB_FREEZE, b, 4, &h, &a) == 0 && h.type == VM_MSG_SB_DONE,
           "agent: freeze on the host syncs and answers");
    free(a);
    tap_ok(agent_call(&o, VM_MSG_SB_FREEZE, b, 3, &h, &a) == 0 && h.type == VM_MSG_ERROR,
           "agent: a malformed request is an error");
    free(a);
  }
}

int
main(void)
{
  if (mkdtemp(tmpdir) == NULL)
    {
      tap_ok(0, "mkdtemp");
      return tap_done();
    }
  test_payloads();
  test_state();
  test_names_ports();
  test_agent_ops();
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    (void)!system(cmd);
  }
  return tap_done();
}
