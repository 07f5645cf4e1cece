/* SPDX-License-Identifier: Apache-2.0 */
/* The guest protocol (src/vm/protocol.c): frames, incremental decoding, errors and specs. */
#include "config.h"
#include "../unit/tap.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void
test_header(void)
{
  vm_frame_header_t h = { .len = 0x01020304 & 0xfffff, .type = VM_MSG_STDOUT, .flags = 1, .proc = 0xdeadbeef }, g;
  uint8_t b[VM_FRAME_HEADER_SIZE];

  vm_frame_header_encode(&h, b);
  tap_ok(b[0] == (h.len & 0xff) && b[4] == VM_MSG_STDOUT && b[5] == 0 && b[8] == 0xef && b[11] == 0xde,
         "the header is little-endian: len, type, flags, proc");
  tap_ok(vm_frame_header_decode(b, &g) == 0 && g.len == h.len && g.type == h.type && g.flags == 1
             && g.proc == 0xdeadbeef,
         "a header decodes to what was encoded");
  b[4] = 0;
  tap_ok(vm_frame_header_decode(b, &g) == -EPROTO, "type 0 is refused");
  b[4] = VM_MSG_TYPE_MAX;
  tap_ok(vm_frame_header_decode(b, &g) == -EPROTO, "an unknown type is refused");
  h.len = VM_FRAME_MAX_PAYLOAD + 1;
  vm_frame_header_encode(&h, b);
  tap_ok(vm_frame_header_decode(b, &g) == -EPROTO, "a payload over the maximum is refused");
  tap_streq(vm_msg_type_name(VM_MSG_EXIT), "EXIT", "type names");
  tap_streq(vm_msg_type_name(999), "?", "an unknown type's name");
}

static void
test_stream(void)
{
  int sv[2];
  vm_frame_header_t h;
  uint8_t *p = NULL, *big;
  vm_frame_reader_t r = { NULL, 0, 0 };
  uint8_t raw[64];
  ssize_t n;
  size_t i;
  int k;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    {
      tap_ok(0, "socketpair: %s", strerror(errno));
      return;
    }
  tap_ok(vm_frame_write(sv[0], VM_MSG_STDIN, 0, 7, "hello", 5) == 0, "write a frame");
  tap_ok(vm_frame_read(sv[1], &h, &p) == 0 && h.type == VM_MSG_STDIN && h.proc == 7 && h.len == 5
             && memcmp(p, "hello", 6) == 0,
         "read it back, NUL-terminated");
  free(p);
  tap_ok(vm_frame_write(sv[0], VM_MSG_STDIN, 0, 7, NULL, 0) == 0 && vm_frame_read(sv[1], &h, &p) == 0 && p == NULL
             && h.len == 0,
         "an empty frame (EOF) has no payload");
  /* A large frame goes in two writes; a reader in another process is not needed: 100 KiB fits
   * neither a socket buffer... so read it from a child. */
  big = malloc(100000);
  for (i = 0; i < 100000; i++)
    big[i] = (uint8_t)i;
  if (fork() == 0)
    {
      (void)vm_frame_write(sv[0], VM_MSG_STDOUT, 0, 1, big, 100000);
      _exit(0);
    }
  tap_ok(vm_frame_read(sv[1], &h, &p) == 0 && h.len == 100000 && memcmp(p, big, 100000) == 0,
         "a 100 KiB frame arrives whole");
  free(p);
  tap_ok(vm_frame_write(sv[0], VM_MSG_STDIN, 0, 0, big, VM_FRAME_MAX_PAYLOAD + 1) == -EMSGSIZE,
         "writing an oversized frame fails");
  free(big);

  /* Incremental: two frames fed a byte at a time. */
  (void)vm_frame_write(sv[0], VM_MSG_SIGNAL, VM_FLAG_ALL, 3, "\x0f\0\0\0", 4);
  (void)vm_frame_write(sv[0], VM_MSG_EXIT, 0, 3, "\0\x01\0\0", 4);
  n = read(sv[1], raw, sizeof raw);
  tap_ok(n == 2 * (VM_FRAME_HEADER_SIZE + 4), "two frames on the wire");
  for (i = 0, k = 0; i < (size_t)n; i++)
    {
      uint32_t v;
      (void)vm_frame_reader_feed(&r, raw + i, 1);
      while (vm_frame_reader_next(&r, &h, &p) > 0)
        {
          if (k == 0)
            tap_ok(h.type == VM_MSG_SIGNAL && h.flags == VM_FLAG_ALL && vm_payload_u32(p, h.len, &v) == 0 && v == 15,
                   "the reader yields the first frame when its last byte arrives (i=%zu)", i);
          else
            tap_ok(h.type == VM_MSG_EXIT && vm_payload_u32(p, h.len, &v) == 0 && v == 256,
                   "and then the second (i=%zu)", i);
          k++;
          free(p);
        }
    }
  tap_ok(k == 2 && r.len == 0, "nothing left over");
  memset(raw, 0xff, VM_FRAME_HEADER_SIZE);
  (void)vm_frame_reader_feed(&r, raw, VM_FRAME_HEADER_SIZE);
  tap_ok(vm_frame_reader_next(&r, &h, &p) == -EPROTO, "a garbage header is a protocol error");
  vm_frame_reader_release(&r);

  /* A stream cut inside a frame vs. between frames. */
  (void)vm_frame_write(sv[0], VM_MSG_STDOUT, 0, 0, "abc", 3);
  close(sv[0]);
  tap_ok(vm_frame_read(sv[1], &h, &p) == 0, "the last whole frame is read");
  free(p);
  tap_ok(vm_frame_read(sv[1], &h, &p) == -ECONNRESET, "then a clean end of stream");
  close(sv[1]);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0)
    {
      vm_frame_header_t hh = { .len = 10, .type = VM_MSG_STDOUT };
      uint8_t b[VM_FRAME_HEADER_SIZE];
      vm_frame_header_encode(&hh, b);
      (void)!write(sv[0], b, sizeof b);
      (void)!write(sv[0], "abc", 3);
      close(sv[0]);
      tap_ok(vm_frame_read(sv[1], &h, &p) == -EPROTO, "a frame cut short is a protocol error");
      close(sv[1]);
    }
}

static void
test_error(void)
{
  size_t len;
  uint8_t *p = vm_error_encode(ENOENT, 127, "exec `nope`: no such file or directory", &len);
  int e, st;
  char *m = NULL;

  tap_ok(p != NULL && vm_error_decode(p, len, &e, &st, &m) == 0 && e == ENOENT && st == 127,
         "an error carries errno and exit status");
  tap_streq(m, "exec `nope`: no such file or directory", "and its message");
  free(m);
  tap_ok(vm_error_decode(p, 7, &e, &st, &m) == -EPROTO, "a short error payload is refused");
  free(p);
}

static void
test_spec(void)
{
  vm_spec_t s, d;
  vm_rlimit_t rl[2] = { { RLIMIT_NOFILE, 1024, 4096 }, { RLIMIT_CORE, 0, UINT64_MAX } };
  uint32_t gids[2] = { 10, 20 };
  vm_mount_t mounts[2] = {
    { "/proc", "proc", "proc", NULL, MS_NOSUID | MS_NOEXEC, 0 },
    { "/dev", "tmpfs", "tmpfs", "mode=755,size=65536k", MS_NOSUID | MS_STRICTATIME, MS_PRIVATE },
  };
  vm_file_t files[1] = { { "/etc/hosts", "127.0.0.1 localhost\n", 20, 0644 } };
  uint8_t *p;
  size_t len;

  memset(&s, 0, sizeof s);
  vm_spec_add_arg(&s, "/bin/sh");
  vm_spec_add_arg(&s, "-c");
  vm_spec_add_arg(&s, "");
  vm_spec_add_env(&s, "PATH=/bin");
  s.cwd = strdup("/tmp");
  s.uid = 1000;
  s.gid = 1001;
  s.umask = 022;
  s.umask_present = true;
  s.gids = gids;
  s.gids_len = 2;
  s.rlimits = rl;
  s.rlimits_len = 2;
  s.terminal = true;
  s.rows = 24;
  s.cols = 80;
  s.hostname = strdup("vm");
  s.rootfs_device = strdup("/dev/vda");
  s.rootfs_type = strdup("erofs");
  s.mounts = mounts;
  s.mounts_len = 2;
  s.files = files;
  s.files_len = 1;

  p = vm_spec_encode(&s, &len);
  tap_ok(p != NULL && vm_spec_decode(p, len, &d) == 0, "a spec encodes and decodes");
  tap_ok(d.args_len == 3 && d.args[3] == NULL && strcmp(d.args[0], "/bin/sh") == 0 && strcmp(d.args[2], "") == 0,
         "args, with an empty one, NULL-terminated");
  tap_ok(d.env_len == 1 && strcmp(d.env[0], "PATH=/bin") == 0, "env");
  tap_streq(d.cwd, "/tmp", "cwd");
  tap_ok(d.uid == 1000 && d.gid == 1001 && d.gids_len == 2 && d.gids[1] == 20 && d.umask_present && d.umask == 022,
         "user, groups and umask");
  tap_ok(d.rlimits_len == 2 && d.rlimits[0].resource == RLIMIT_NOFILE && d.rlimits[0].soft == 1024
             && d.rlimits[1].hard == UINT64_MAX,
         "rlimits, 64-bit");
  tap_ok(d.terminal && d.rows == 24 && d.cols == 80 && !d.no_new_privileges && !d.rootfs_readonly,
         "terminal and window size; flags not set stay off");
  tap_ok(d.mounts_len == 2 && strcmp(d.mounts[1].destination, "/dev") == 0
             && strcmp(d.mounts[1].data, "mode=755,size=65536k") == 0
             && d.mounts[1].flags == (MS_NOSUID | MS_STRICTATIME) && d.mounts[1].propagation == MS_PRIVATE
             && d.mounts[0].data == NULL,
         "mounts with flags, data and propagation (no data stays NULL)");
  tap_ok(d.files_len == 1 && d.files[0].content_len == 20 && d.files[0].mode == 0644
             && strcmp(d.files[0].content, "127.0.0.1 localhost\n") == 0,
         "files");
  tap_streq(d.rootfs_type, "erofs", "rootfs type");
  vm_spec_release(&d);

  /* Every truncation of a valid spec is either a shorter valid spec or refused; never a crash
   * (ASan checks the reads). */
  {
    size_t cut, refused = 0;
    for (cut = 0; cut < len; cut++)
      {
        if (vm_spec_decode(p, cut, &d) < 0)
          refused++;
        else
          vm_spec_release(&d);
      }
    tap_ok(refused > 0, "truncated specs are refused where a field is cut (%zu of %zu)", refused, len);
  }
  /* A string with a NUL inside is refused; an unknown tag is skipped. */
  {
    uint8_t bad[] = { 1, 0, 3, 0, 0, 0, 'a', 0, 'b' };
    uint8_t unknown[] = { 0xee, 0x7f, 1, 0, 0, 0, 'x', 1, 0, 1, 0, 0, 0, 'z' };
    tap_ok(vm_spec_decode(bad, sizeof bad, &d) == -EPROTO, "an argument with a NUL byte is refused");
    tap_ok(vm_spec_decode(unknown, sizeof unknown, &d) == 0 && d.args_len == 1 && strcmp(d.args[0], "z") == 0,
           "an unknown field is skipped");
    vm_spec_release(&d);
  }
  free(p);
  /* the parts owned by the test */
  s.gids = NULL;
  s.gids_len = 0;
  s.rlimits = NULL;
  s.rlimits_len = 0;
  s.mounts = NULL;
  s.mounts_len = 0;
  s.files = NULL;
  s.files_len = 0;
  vm_spec_release(&s);
}

/* Output queues: frames wait while the peer does not read, go out in order as it does, and a
 * full socket is "later", not an error. */
static void
test_outq(void)
{
  vm_frame_reader_t r = { NULL, 0, 0 };
  vm_outq_t q = { NULL, 0, 0, 0 };
  static uint8_t big[200000];
  int sv[2], sndbuf = 4096, k = -1, frames = 0, bad = 0;
  size_t i, out = 0;
  vm_frame_header_t h;
  uint8_t *p;

  for (i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)(i * 13);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    {
      tap_ok(0, "socketpair");
      return;
    }
  (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  for (i = 0; i < 10; i++)
    k = vm_outq_frame(&q, VM_MSG_STDOUT, 0, (uint32_t)i, big, sizeof big);
  tap_ok(k == 0 && vm_outq_frame(&q, VM_MSG_EXIT, 0, 99, NULL, 0) == 0, "queue ten 200 kB frames and an empty one");
  tap_ok(vm_outq_pending(&q) == 10 * (VM_FRAME_HEADER_SIZE + sizeof big) + VM_FRAME_HEADER_SIZE,
         "everything is pending before a write");
  tap_ok(vm_outq_flush(&q, sv[0]) == 0 && vm_outq_pending(&q) > 0, "a full socket: flush returns 0 with bytes left");
  tap_ok(vm_outq_frame(&q, VM_MSG_STDERR, 0, 100, NULL, 0) == 0, "more frames queue behind");
  tap_ok(vm_outq_frame(&q, VM_MSG_STDIN, 0, 0, big, VM_FRAME_MAX_PAYLOAD + 1) == -EMSGSIZE,
         "a payload over the maximum is refused");
  while (vm_outq_pending(&q) > 0 || out == 0)
    {
      uint8_t buf[65536];
      ssize_t n = read(sv[1], buf, sizeof buf);
      if (vm_outq_flush(&q, sv[0]) < 0)
        break;
      if (n <= 0)
        {
          if (vm_outq_pending(&q) == 0)
            break;
          continue;
        }
      out += (size_t)n;
      (void)vm_frame_reader_feed(&r, buf, (size_t)n);
      while ((k = vm_frame_reader_next(&r, &h, &p)) > 0)
        {
          if (h.type == VM_MSG_STDOUT && (h.proc != (uint32_t)frames || h.len != sizeof big || memcmp(p, big, h.len)))
            bad++;
          frames++;
          free(p);
        }
    }
  for (;;)
    {
      uint8_t buf[65536];
      ssize_t n = read(sv[1], buf, sizeof buf);
      if (n <= 0)
        break;
      out += (size_t)n;
      (void)vm_frame_reader_feed(&r, buf, (size_t)n);
      while ((k = vm_frame_reader_next(&r, &h, &p)) > 0)
        {
          frames++;
          free(p);
        }
    }
  tap_ok(frames == 12 && bad == 0 && out == 11 * VM_FRAME_HEADER_SIZE + 10 * sizeof big + VM_FRAME_HEADER_SIZE,
         "every frame arrives whole and in order (%d frames, %d bad)", frames, bad);
  vm_outq_release(&q);
  vm_frame_reader_release(&r);
  close(sv[0]);
  close(sv[1]);
}

int
main(void)
{
  test_header();
  test_stream();
  test_error();
  test_spec();
  test_outq();
  return tap_done();
}
