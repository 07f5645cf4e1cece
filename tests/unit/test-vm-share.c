/* SPDX-License-Identifier: Apache-2.0 */
/* The share server (src/vm/share.c): requests built by hand (the malformed and the hostile ones
 * the guest's kernel never sends), frames through vm_share_serve over a socketpair, and, where
 * the test may mount (root, /dev/fuse), the real FUSE kernel module driving the server through a
 * mount with ordinary system calls, as the guest's kernel will. */
#define _GNU_SOURCE
#include "config.h"
#include "../unit/tap.h"
#include "share.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmp[] = "/tmp/isolazi-test-share-XXXXXX";
static char share_dir[256], outside_dir[256];
static uint64_t next_unique = 1;

/* ---- direct calls ------------------------------------------------------------------------ */

typedef struct answer
{
  int ret;      /* vm_share_handle's */
  bool replied; /* a reply came */
  int error;    /* fuse_out_header.error */
  uint8_t body[VM_SHARE_FRAME_MAX];
  size_t body_len;
  char msg[512]; /* the error's message on -1 */
} answer_t;

static answer_t A;

/* One request: the header, then the body (`body`, blen bytes), answered into A. */
static answer_t *
call(vm_share_t *s, uint32_t opcode, uint64_t nodeid, const void *body, size_t blen)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  struct fuse_in_header h = { .len = (uint32_t)(sizeof h + blen),
                              .opcode = opcode,
                              .unique = next_unique++,
                              .nodeid = nodeid,
                              .uid = 0,
                              .gid = 0,
                              .pid = 1 };
  uint8_t *req = malloc(sizeof h + blen);
  void *out = NULL;
  size_t out_len = 0;

  memcpy(req, &h, sizeof h);
  if (blen > 0)
    memcpy(req + sizeof h, body, blen);
  memset(&A, 0, sizeof A);
  A.ret = vm_share_handle(s, req, sizeof h + blen, &out, &out_len, &err);
  if (A.ret < 0)
    snprintf(A.msg, sizeof A.msg, "%s", err.msg ? err.msg : "(no message)");
  if (out != NULL)
    {
      struct fuse_out_header o;
      memcpy(&o, out, sizeof o);
      A.replied = true;
      A.error = o.error;
      A.body_len = out_len - sizeof o;
      memcpy(A.body, (uint8_t *)out + sizeof o, A.body_len);
      if (o.len != out_len || o.unique != h.unique)
        A.error = 12345; /* a reply that does not match its request fails every check */
    }
  free(out);
  free(req);
  isolazi_error_release(&err);
  return &A;
}

/* A body: a struct (may be NULL) followed by NUL-terminated strings (up to two). */
static size_t
body_of(uint8_t *buf, const void *st, size_t st_len, const char *s1, const char *s2)
{
  size_t n = 0;

  if (st != NULL)
    memcpy(buf, st, st_len), n = st_len;
  if (s1 != NULL)
    memcpy(buf + n, s1, strlen(s1) + 1), n += strlen(s1) + 1;
  if (s2 != NULL)
    memcpy(buf + n, s2, strlen(s2) + 1), n += strlen(s2) + 1;
  return n;
}

static answer_t *
init_share(vm_share_t *s)
{
  struct fuse_init_in in
      = { .major = 7, .minor = 38, .max_readahead = 65536, .flags = FUSE_BIG_WRITES | FUSE_MAX_PAGES };
  return call(s, FUSE_INIT, 0, &in, sizeof in);
}

/* LOOKUP: the fuse_entry_out in *e; returns the reply's error, or -1000 without a reply. */
static int
lookup(vm_share_t *s, uint64_t parent, const char *name, struct fuse_entry_out *e)
{
  uint8_t b[512];
  answer_t *a = call(s, FUSE_LOOKUP, parent, b, body_of(b, NULL, 0, name, NULL));

  if (!a->replied)
    return -1000;
  if (a->error == 0 && a->body_len == sizeof *e)
    memcpy(e, a->body, sizeof *e);
  return a->error;
}

static void
write_host(const char *dir, const char *name, const char *content)
{
  char p[512];
  FILE *f;

  snprintf(p, sizeof p, "%s/%s", dir, name);
  f = fopen(p, "we");
  if (f != NULL)
    {
      fputs(content, f);
      fclose(f);
    }
}

static void
test_open(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  char p[512];
  vm_share_t *s;

  snprintf(p, sizeof p, "%s/missing", tmp);
  s = vm_share_open(p, false, &err);
  tap_ok(s == NULL && err.code == ENOENT && err.msg && strstr(err.msg, p) != NULL,
         "a missing directory is refused, naming it: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  snprintf(p, sizeof p, "%s/file", share_dir);
  s = vm_share_open(p, false, &err);
  tap_ok(s == NULL && err.code == ENOTDIR, "a file is not a directory to share");
  isolazi_error_release(&err);
  vm_share_free(NULL);
}

static void
test_init(void)
{
  vm_share_t *s = vm_share_open(share_dir, false, NULL);
  struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 1u << 30 };
  struct fuse_init_out out;
  answer_t *a;

  a = call(s, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0);
  tap_ok(a->ret == 0 && a->error == -EIO, "nothing is answered before FUSE_INIT");

  /* Offer everything: only what is implemented comes back. */
  in.flags = 0xffffffffu;
  a = call(s, FUSE_INIT, 0, &in, sizeof in);
  memcpy(&out, a->body, sizeof out);
  tap_ok(a->ret == 0 && a->error == 0 && a->body_len == sizeof out && out.major == 7 && out.minor == 38,
         "INIT 7.38: a 64-byte fuse_init_out, version 7.38");
  tap_ok(out.flags == (FUSE_BIG_WRITES | FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO),
         "INIT grants only BIG_WRITES, MAX_PAGES and READDIRPLUS(_AUTO) of everything offered (%#x)", out.flags);
  tap_ok(out.max_write == VM_SHARE_MAX_WRITE && out.max_pages == VM_SHARE_MAX_WRITE / 4096
             && out.max_readahead <= 1024 * 1024,
         "INIT: max_write, max_pages, a capped max_readahead");

  in.minor = 36;
  in.flags = FUSE_MAX_PAGES;
  a = call(s, FUSE_INIT, 0, &in, sizeof in);
  memcpy(&out, a->body, sizeof out);
  tap_ok(a->error == 0 && out.minor == 36 && out.flags == FUSE_MAX_PAGES, "INIT from 7.36: the kernel's minor");
  in.minor = 40;
  a = call(s, FUSE_INIT, 0, &in, sizeof in);
  memcpy(&out, a->body, sizeof out);
  tap_ok(a->error == 0 && out.minor == FUSE_KERNEL_MINOR_VERSION, "INIT from a newer kernel: our minor");
  /* Before 7.36 fuse_init_in was 16 bytes; before 7.23 the reply was 24. */
  in.minor = 22;
  a = call(s, FUSE_INIT, 0, &in, 16);
  memcpy(&out, a->body, 24);
  tap_ok(a->error == 0 && a->body_len == FUSE_COMPAT_22_INIT_OUT_SIZE && out.minor == 22,
         "INIT from 7.22 (a 16-byte request): a 24-byte reply");
  in.minor = 5;
  a = call(s, FUSE_INIT, 0, &in, 16);
  tap_ok(a->ret == 0 && a->error == -EPROTO, "INIT from 7.5 is refused with EPROTO");
  in.major = 6;
  in.minor = 38;
  a = call(s, FUSE_INIT, 0, &in, sizeof in);
  tap_ok(a->ret == 0 && a->error == -EPROTO, "INIT of major 6 is refused with EPROTO");
  in.major = 8;
  a = call(s, FUSE_INIT, 0, &in, sizeof in);
  memcpy(&out, a->body, 8);
  tap_ok(a->error == 0 && a->body_len == 8 && out.major == 7, "INIT of major 8: we answer major 7 alone");
  a = call(s, FUSE_INIT, 0, &in, 4);
  tap_ok(a->ret < 0 && !a->replied, "an INIT without its version is malformed");
  vm_share_free(s);
}

static void
test_lookup(void)
{
  vm_share_t *s = vm_share_open(share_dir, false, NULL);
  struct fuse_entry_out e1, e2, e3, el;
  struct fuse_attr_out ao;
  struct fuse_forget_in fg;
  struct stat st;
  uint8_t b[512];
  answer_t *a;
  const char *bad[] = { ".", "..", "", "a/b", "../outside", "/etc" };
  size_t i;
  int nbad = 0;

  init_share(s);
  a = call(s, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0);
  memcpy(&ao, a->body, sizeof ao);
  tap_ok(a->error == 0 && a->body_len == sizeof ao && stat(share_dir, &st) == 0 && S_ISDIR(ao.attr.mode)
             && ao.attr.ino == st.st_ino && ao.attr_valid == 1,
         "GETATTR of the root: the shared directory's attributes, valid 1 s");

  tap_ok(lookup(s, FUSE_ROOT_ID, "file", &e1) == 0 && e1.nodeid > FUSE_ROOT_ID && S_ISREG(e1.attr.mode)
             && e1.attr.size == 5 && e1.entry_valid == 1,
         "LOOKUP of a file");
  tap_ok(lookup(s, FUSE_ROOT_ID, "file", &e2) == 0 && e2.nodeid == e1.nodeid && e2.generation == e1.generation,
         "a second LOOKUP gives the same node");
  tap_ok(lookup(s, FUSE_ROOT_ID, "hardlink", &e3) == 0 && e3.nodeid == e1.nodeid, "a hard link of it is the same node");
  tap_ok(lookup(s, FUSE_ROOT_ID, "missing", &e3) == -ENOENT, "LOOKUP of a missing name: ENOENT");
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    nbad += lookup(s, FUSE_ROOT_ID, bad[i], &e3) == -EINVAL;
  tap_ok(nbad == (int)(sizeof bad / sizeof bad[0]), "LOOKUP of \".\", \"..\", \"\" and names with '/': EINVAL");
  tap_ok(lookup(s, FUSE_ROOT_ID, "sub", &e3) == 0 && lookup(s, e3.nodeid, "..", &e2) == -EINVAL,
         "\"..\" of a subdirectory is refused too");

  /* A symlink out of the share is a symlink: read, never followed, never opened. */
  tap_ok(lookup(s, FUSE_ROOT_ID, "esc", &el) == 0 && S_ISLNK(el.attr.mode) && el.attr.size == strlen("../outside"),
         "LOOKUP of a symlink gives the link, not its target");
  a = call(s, FUSE_READLINK, el.nodeid, NULL, 0);
  tap_ok(a->error == 0 && a->body_len == strlen("../outside") && memcmp(a->body, "../outside", a->body_len) == 0,
         "READLINK gives its content");
  {
    struct fuse_open_in oi = { .flags = O_RDONLY };
    a = call(s, FUSE_OPEN, el.nodeid, &oi, sizeof oi);
    tap_ok(a->ret == 0 && a->error == -ELOOP, "OPEN of a symlink node: ELOOP");
    tap_ok(lookup(s, FUSE_ROOT_ID, "fifo", &e2) == 0, "LOOKUP of a fifo");
    a = call(s, FUSE_OPEN, e2.nodeid, &oi, sizeof oi);
    tap_ok(a->ret == 0 && a->error == -EACCES, "OPEN of a fifo: EACCES (the server never blocks on it)");
    a = call(s, FUSE_OPEN, e3.nodeid, &oi, sizeof oi);
    tap_ok(a->error == -EISDIR, "OPEN of a directory: EISDIR");
    a = call(s, FUSE_READLINK, e1.nodeid, NULL, 0);
    tap_ok(a->error == -EINVAL, "READLINK of a file: EINVAL");
  }

  /* Malformed requests fail the call, and say why. */
  memcpy(b, "file", 4);
  a = call(s, FUSE_LOOKUP, FUSE_ROOT_ID, b, 4);
  tap_ok(a->ret == -1 && !a->replied && strstr(a->msg, "malformed") && strstr(a->msg, share_dir),
         "a name without its NUL is malformed: %s", a->msg);
  a = call(s, FUSE_GETATTR, 999, NULL, 0);
  tap_ok(a->ret == -1 && strstr(a->msg, "unknown node id"), "an unknown node id is malformed");
  {
    struct fuse_in_header h = { .len = 100, .opcode = FUSE_GETATTR, .nodeid = 1 };
    isolazi_error_t err = ISOLAZI_ERROR_INIT;
    void *out = (void *)1;
    size_t out_len = 1;

    tap_ok(vm_share_handle(s, &h, sizeof h, &out, &out_len, &err) == -1 && out == NULL && out_len == 0
               && err.code == EPROTO,
           "a header whose length disagrees is malformed");
    isolazi_error_release(&err);
    tap_ok(vm_share_handle(s, &h, 10, &out, &out_len, &err) == -1, "a request shorter than a header is malformed");
    isolazi_error_release(&err);
    h.len = sizeof h;
    h.total_extlen = 4;
    tap_ok(vm_share_handle(s, &h, sizeof h, &out, &out_len, &err) == -1, "extensions past the end are malformed");
    isolazi_error_release(&err);
  }
  {
    struct
    {
      struct fuse_batch_forget_in in;
      struct fuse_forget_one one;
    } bf = { { .count = 2 }, { .nodeid = e1.nodeid, .nlookup = 1 } };
    a = call(s, FUSE_BATCH_FORGET, 0, &bf, sizeof bf);
    tap_ok(a->ret == -1, "a BATCH_FORGET with fewer entries than its count is malformed");
  }

  /* FORGET: three lookups (file, file, hardlink) to give back; then the node is gone. */
  fg.nlookup = 2;
  a = call(s, FUSE_FORGET, e1.nodeid, &fg, sizeof fg);
  tap_ok(a->ret == 0 && !a->replied, "FORGET takes no reply");
  a = call(s, FUSE_GETATTR, e1.nodeid, NULL, 0);
  tap_ok(a->ret == 0 && a->error == 0, "a node with lookups left stays");
  fg.nlookup = 1;
  call(s, FUSE_FORGET, e1.nodeid, &fg, sizeof fg);
  a = call(s, FUSE_GETATTR, e1.nodeid, NULL, 0);
  tap_ok(a->ret == -1, "a node forgotten as often as it was looked up is freed");
  tap_ok(lookup(s, FUSE_ROOT_ID, "file", &e2) == 0 && e2.generation != e1.generation,
         "a new LOOKUP makes a new node (new generation)");
  fg.nlookup = 1000;
  a = call(s, FUSE_FORGET, FUSE_ROOT_ID, &fg, sizeof fg);
  a = call(s, FUSE_FORGET, 4242, &fg, sizeof fg);
  tap_ok(a->ret == 0 && !a->replied, "FORGET of an unknown node is ignored");
  a = call(s, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0);
  tap_ok(a->ret == 0 && a->error == 0, "the root outlives a FORGET");

  /* Other requests: ENOSYS, no reply, EBADF for a handle we never gave. */
  a = call(s, 9999, FUSE_ROOT_ID, NULL, 0);
  tap_ok(a->ret == 0 && a->error == -ENOSYS, "an unknown opcode: ENOSYS");
  {
    struct fuse_getxattr_in gx = { .size = 0 };
    uint8_t gb[64];
    a = call(s, FUSE_GETXATTR, FUSE_ROOT_ID, gb, body_of(gb, &gx, sizeof gx, "user.x", NULL));
    tap_ok(a->error == -ENOSYS, "GETXATTR: ENOSYS");
  }
  {
    struct fuse_interrupt_in ii = { .unique = 1 };
    a = call(s, FUSE_INTERRUPT, 0, &ii, sizeof ii);
    tap_ok(a->ret == 0 && !a->replied, "INTERRUPT takes no reply");
  }
  {
    struct fuse_read_in ri = { .fh = 77, .size = 10 };
    struct fuse_release_in rl = { .fh = 77 };
    struct fuse_open_in oi = { .flags = O_RDONLY };
    struct fuse_open_out oo;

    a = call(s, FUSE_READ, e2.nodeid, &ri, sizeof ri);
    tap_ok(a->error == -EBADF, "READ of an unknown handle: EBADF");
    a = call(s, FUSE_RELEASE, e2.nodeid, &rl, sizeof rl);
    tap_ok(a->error == -EBADF, "RELEASE of an unknown handle: EBADF");
    a = call(s, FUSE_OPEN, e2.nodeid, &oi, sizeof oi);
    memcpy(&oo, a->body, sizeof oo);
    tap_ok(a->error == 0 && oo.fh != 0, "OPEN of a file");
    ri.fh = oo.fh;
    a = call(s, FUSE_READ, e2.nodeid, &ri, sizeof ri);
    tap_ok(a->error == 0 && a->body_len == 5 && memcmp(a->body, "hello", 5) == 0, "READ of it");
    a = call(s, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof ri);
    tap_ok(a->error == -EBADF, "READ of a handle through another node: EBADF");
    a = call(s, FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof oi);
    memcpy(&oo, a->body, sizeof oo);
    ri.fh = oo.fh;
    ri.size = 4096;
    a = call(s, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof ri);
    tap_ok(a->error == -EBADF, "READ of a directory handle: EBADF");
    rl.fh = oo.fh;
    a = call(s, FUSE_RELEASEDIR, FUSE_ROOT_ID, &rl, sizeof rl);
    tap_ok(a->error == 0, "RELEASEDIR");
    a = call(s, FUSE_READDIR, FUSE_ROOT_ID, &ri, sizeof ri);
    tap_ok(a->error == -EBADF, "READDIR of a released handle: EBADF");
  }
  {
    struct fuse_mknod_in mi = { .mode = S_IFCHR | 0600, .rdev = makedev(1, 3) };
    char p[512];
    a = call(s, FUSE_MKNOD, FUSE_ROOT_ID, b, body_of(b, &mi, sizeof mi, "null", NULL));
    snprintf(p, sizeof p, "%s/null", share_dir);
    tap_ok(a->error == -EPERM && access(p, F_OK) < 0, "MKNOD of a device: EPERM, nothing made");
    mi.mode = S_IFREG | 0644;
    a = call(s, FUSE_MKNOD, FUSE_ROOT_ID, b, body_of(b, &mi, sizeof mi, "../escaped", NULL));
    snprintf(p, sizeof p, "%s/escaped", tmp);
    tap_ok(a->error == -EINVAL && access(p, F_OK) < 0, "MKNOD of \"../escaped\": EINVAL, nothing made");
  }
  {
    struct fuse_write_in wi = { .fh = 1, .size = 100 };
    a = call(s, FUSE_WRITE, e2.nodeid, b, body_of(b, &wi, sizeof wi, "abc", NULL));
    tap_ok(a->ret == -1, "a WRITE whose data is not its size is malformed");
  }
  vm_share_free(s);
}

/* READDIRPLUS: every record but "." and ".." carries its entry, counted as a lookup; records
 * that do not fit are left for the next call and take no count. */
static void
test_readdirplus(void)
{
  char dir[300], p[400];
  struct fuse_open_in oi = { .flags = O_RDONLY };
  struct fuse_open_out oo;
  struct fuse_read_in ri = { 0 };
  struct fuse_entry_out le;
  uint64_t file_node = 0;
  size_t off = 0, records = 0, with_node = 0, first_len;
  bool dots_zero = true, attrs_ok = true;
  vm_share_t *s;
  answer_t *a;

  snprintf(dir, sizeof dir, "%s/plus", tmp);
  (void)mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/sub", dir);
  (void)mkdir(p, 0755);
  write_host(dir, "file", "x");
  s = vm_share_open(dir, false, NULL);
  init_share(s);
  a = call(s, FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof oi);
  memcpy(&oo, a->body, sizeof oo);
  ri.fh = oo.fh;
  /* Room for one record of about 160 bytes only: the listing takes several calls. */
  ri.size = 200;
  for (int call_n = 0; call_n < 10; call_n++)
    {
      ri.offset = off;
      a = call(s, FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri, sizeof ri);
      if (a->error != 0 || a->body_len == 0)
        break;
      first_len = 0;
      while (first_len + FUSE_NAME_OFFSET_DIRENTPLUS <= a->body_len)
        {
          struct fuse_direntplus d;
          char name[64];

          memcpy(&d, a->body + first_len, sizeof d);
          snprintf(name, sizeof name, "%.*s", (int)d.dirent.namelen,
                   (const char *)a->body + first_len + FUSE_NAME_OFFSET_DIRENTPLUS);
          records++;
          if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            dots_zero = dots_zero && d.entry_out.nodeid == 0;
          else if (d.entry_out.nodeid != 0)
            {
              with_node++;
              if (strcmp(name, "file") == 0)
                {
                  file_node = d.entry_out.nodeid;
                  attrs_ok = attrs_ok && S_ISREG(d.entry_out.attr.mode) && d.entry_out.attr.size == 1;
                }
              if (strcmp(name, "sub") == 0)
                attrs_ok = attrs_ok && S_ISDIR(d.entry_out.attr.mode);
            }
          off = d.dirent.off;
          first_len += FUSE_DIRENTPLUS_SIZE(&d);
        }
    }
  tap_ok(records == 4, "READDIRPLUS in small buffers lists \".\", \"..\", file and sub once each (%zu)", records);
  tap_ok(dots_zero, "\".\" and \"..\" carry no entry (node id 0)");
  tap_ok(with_node == 2 && attrs_ok, "file and sub carry their node and attributes");
  /* The record counted one lookup of file: a LOOKUP gives the same node and a second count;
     two FORGETs of one drop it, and the id is then unknown. */
  tap_ok(lookup(s, FUSE_ROOT_ID, "file", &le) == 0 && le.nodeid == file_node, "LOOKUP: the node READDIRPLUS gave");
  {
    struct fuse_forget_in fi = { .nlookup = 1 };
    call(s, FUSE_FORGET, file_node, &fi, sizeof fi);
    a = call(s, FUSE_GETATTR, file_node, NULL, 0);
    tap_ok(a->error == 0, "one FORGET of two lookups: the node lives");
    call(s, FUSE_FORGET, file_node, &fi, sizeof fi);
    a = call(s, FUSE_GETATTR, file_node, NULL, 0);
    tap_ok(a->ret == -1, "the second FORGET drops it: READDIRPLUS counted exactly one lookup");
  }
  {
    /* FLUSH: ENOSYS, so that the kernel stops making every close(2) wait for a round trip. */
    struct fuse_flush_in fl = { .fh = 1 };
    a = call(s, FUSE_FLUSH, FUSE_ROOT_ID, &fl, sizeof fl);
    tap_ok(a->replied && a->error == -ENOSYS, "FLUSH: ENOSYS (nothing is buffered here)");
  }
  vm_share_free(s);
}

static void
test_readonly(void)
{
  vm_share_t *s = vm_share_open(share_dir, true, NULL);
  struct fuse_open_in oi = { .flags = O_WRONLY };
  struct fuse_mkdir_in mi = { .mode = 0755 };
  struct fuse_setattr_in si = { .valid = FATTR_MODE, .mode = 0777 };
  struct fuse_entry_out e;
  uint8_t b[512];
  char p[512];
  int n = 0;

  init_share(s);
  lookup(s, FUSE_ROOT_ID, "file", &e);
  n += call(s, FUSE_OPEN, e.nodeid, &oi, sizeof oi)->error == -EROFS;
  oi.flags = O_RDONLY | O_TRUNC;
  n += call(s, FUSE_OPEN, e.nodeid, &oi, sizeof oi)->error == -EROFS;
  n += call(s, FUSE_SETATTR, e.nodeid, &si, sizeof si)->error == -EROFS;
  n += call(s, FUSE_MKDIR, FUSE_ROOT_ID, b, body_of(b, &mi, sizeof mi, "newdir", NULL))->error == -EROFS;
  n += call(s, FUSE_UNLINK, FUSE_ROOT_ID, b, body_of(b, NULL, 0, "file", NULL))->error == -EROFS;
  n += call(s, FUSE_SYMLINK, FUSE_ROOT_ID, b, body_of(b, NULL, 0, "ln", "file"))->error == -EROFS;
  snprintf(p, sizeof p, "%s/newdir", share_dir);
  tap_ok(n == 6 && access(p, F_OK) < 0,
         "a read-only share: write-OPEN, O_TRUNC, SETATTR, MKDIR, UNLINK, SYMLINK: EROFS");
  oi.flags = O_RDONLY;
  tap_ok(call(s, FUSE_OPEN, e.nodeid, &oi, sizeof oi)->error == 0, "a read-only share opens files for reading");
  vm_share_free(s);
}

/* ---- frames ------------------------------------------------------------------------------ */

static void
put_frame(int fd, uint32_t share, uint32_t opcode, uint64_t nodeid, const void *body, size_t blen)
{
  struct fuse_in_header h
      = { .len = (uint32_t)(sizeof h + blen), .opcode = opcode, .unique = next_unique++, .nodeid = nodeid };
  uint8_t fh[8];

  memcpy(fh, &share, 4); /* little-endian host */
  memcpy(fh + 4, &h.len, 4);
  if (write(fd, fh, 8) != 8 || write(fd, &h, sizeof h) != (ssize_t)sizeof h
      || (blen > 0 && write(fd, body, blen) != (ssize_t)blen))
    tap_ok(0, "write a frame: %s", strerror(errno));
}

/* Read one reply frame: share index and the FUSE reply (header + up to cap bytes). */
static bool
get_frame(int fd, uint32_t *share, struct fuse_out_header *o, void *body, size_t cap)
{
  uint8_t fh[8];
  uint32_t len;

  if (read(fd, fh, 8) != 8)
    return false;
  memcpy(share, fh, 4);
  memcpy(&len, fh + 4, 4);
  if (len < sizeof *o || len - sizeof *o > cap || read(fd, o, sizeof *o) != (ssize_t)sizeof *o || o->len != len)
    return false;
  return read(fd, body, len - sizeof *o) == (ssize_t)(len - sizeof *o);
}

static void
test_serve(void)
{
  char other[512];
  vm_share_t *shares[2];
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  struct fuse_init_in in = { .major = 7, .minor = 38, .flags = FUSE_MAX_PAGES };
  struct fuse_init_out io;
  struct fuse_attr_out ao;
  struct fuse_out_header o;
  struct stat st;
  uint32_t idx;
  int sv[2], r;

  snprintf(other, sizeof other, "%s/share/sub", tmp);
  shares[0] = vm_share_open(share_dir, false, NULL);
  shares[1] = vm_share_open(other, false, NULL);

  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  put_frame(sv[1], 0, FUSE_INIT, 0, &in, sizeof in);
  put_frame(sv[1], 0, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0);
  put_frame(sv[1], 1, FUSE_INIT, 0, &in, sizeof in);
  put_frame(sv[1], 1, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0);
  shutdown(sv[1], SHUT_WR);
  r = vm_share_serve(sv[0], shares, 2, &err);
  tap_ok(r == 0, "serve frames until end of file: %s", err.msg ? err.msg : "ok");
  tap_ok(get_frame(sv[1], &idx, &o, &io, sizeof io) && idx == 0 && o.error == 0 && io.major == 7,
         "the INIT reply comes back in a frame of share 0");
  tap_ok(get_frame(sv[1], &idx, &o, &ao, sizeof ao) && idx == 0 && o.error == 0 && stat(share_dir, &st) == 0
             && ao.attr.ino == st.st_ino,
         "GETATTR of share 0's root");
  get_frame(sv[1], &idx, &o, &io, sizeof io);
  tap_ok(get_frame(sv[1], &idx, &o, &ao, sizeof ao) && idx == 1 && stat(other, &st) == 0 && ao.attr.ino == st.st_ino,
         "GETATTR of share 1's root: frames go to their share");
  close(sv[0]);
  close(sv[1]);
  isolazi_error_release(&err);

  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  put_frame(sv[1], 5, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0);
  shutdown(sv[1], SHUT_WR);
  r = vm_share_serve(sv[0], shares, 2, &err);
  tap_ok(r == -1 && err.msg && strstr(err.msg, "unknown share 5"), "an unknown share index ends serving: %s",
         err.msg ? err.msg : "");
  close(sv[0]);
  close(sv[1]);
  isolazi_error_release(&err);

  {
    uint8_t trunc[8 + 20] = { 0, 0, 0, 0, 80, 0, 0, 0 };
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    (void)!write(sv[1], trunc, sizeof trunc);
    shutdown(sv[1], SHUT_WR);
    r = vm_share_serve(sv[0], shares, 2, &err);
    tap_ok(r == -1 && err.code == EPROTO && strstr(err.msg, "inside a frame"), "a frame cut short: %s", err.msg);
    close(sv[0]);
    close(sv[1]);
    isolazi_error_release(&err);
  }
  {
    uint8_t big[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    (void)!write(sv[1], big, sizeof big);
    shutdown(sv[1], SHUT_WR);
    r = vm_share_serve(sv[0], shares, 2, &err);
    tap_ok(r == -1 && err.code == EPROTO && strstr(err.msg, "maximum"), "a frame over the maximum: %s", err.msg);
    close(sv[0]);
    close(sv[1]);
    isolazi_error_release(&err);
  }
  {
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    (void)!write(sv[1], "abc", 3);
    shutdown(sv[1], SHUT_WR);
    r = vm_share_serve(sv[0], shares, 2, &err);
    tap_ok(r == -1 && err.code == EPROTO, "end of file inside a frame header");
    close(sv[0]);
    close(sv[1]);
    isolazi_error_release(&err);
  }
  {
    struct fuse_in_header h = { .len = 10, .opcode = FUSE_GETATTR, .nodeid = 1 };
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    put_frame(sv[1], 0, FUSE_INIT, 0, &in, sizeof in);
    {
      uint8_t fh[8] = { 0, 0, 0, 0, sizeof h, 0, 0, 0 };
      (void)!write(sv[1], fh, 8);
      (void)!write(sv[1], &h, sizeof h);
    }
    shutdown(sv[1], SHUT_WR);
    r = vm_share_serve(sv[0], shares, 2, &err);
    tap_ok(r == -1 && err.code == EPROTO && strstr(err.msg, "malformed"), "a malformed request ends serving: %s",
           err.msg);
    close(sv[0]);
    close(sv[1]);
    isolazi_error_release(&err);
  }
  vm_share_free(shares[0]);
  vm_share_free(shares[1]);
}

/* ---- the kernel -------------------------------------------------------------------------- */

typedef struct fuse_server
{
  vm_share_t *s;
  int fd;
  int stop[2];
  pthread_t thread;
  bool running;
  char failure[512]; /* empty while all went well */
} fuse_server_t;

/* Answer the kernel as the agent's relay and the host's server together will: one read() is one
 * request, one write() one reply.  On a malformed request, close the device: the kernel aborts
 * the connection and the test's system calls fail instead of waiting for ever. */
static void *
serve_kernel(void *arg)
{
  fuse_server_t *fs = arg;
  /* The kernel wants room for a whole WRITE: header, fuse_write_in and max_write. */
  uint8_t *buf = malloc(VM_SHARE_FRAME_MAX);

  for (;;)
    {
      struct pollfd p[2] = { { .fd = fs->fd, .events = POLLIN }, { .fd = fs->stop[0], .events = POLLIN } };
      isolazi_error_t err = ISOLAZI_ERROR_INIT;
      void *out = NULL;
      size_t out_len = 0;
      ssize_t n;

      if (poll(p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[1].revents)
        break;
      if (!p[0].revents)
        continue;
      n = read(fs->fd, buf, VM_SHARE_FRAME_MAX);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
        continue;
      if (n < 0)
        {
          if (errno != ENODEV)
            snprintf(fs->failure, sizeof fs->failure, "read /dev/fuse: %s", strerror(errno));
          break;
        }
      if (vm_share_handle(fs->s, buf, (size_t)n, &out, &out_len, &err) < 0)
        {
          snprintf(fs->failure, sizeof fs->failure, "%s", err.msg);
          isolazi_error_release(&err);
          break;
        }
      /* ENOENT: the request was interrupted meanwhile. */
      if (out != NULL && write(fs->fd, out, out_len) != (ssize_t)out_len && errno != ENOENT)
        snprintf(fs->failure, sizeof fs->failure, "write /dev/fuse: %s", strerror(errno));
      free(out);
    }
  free(buf);
  close(fs->fd);
  return NULL;
}

/* Mount `s` on mnt; NULL on success, or why it cannot be done here. */
static const char *
fuse_mount(fuse_server_t *fs, vm_share_t *s, const char *mnt)
{
  static char why[256];
  char opts[256];

  memset(fs, 0, sizeof *fs);
  fs->s = s;
  fs->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fs->fd < 0)
    {
      snprintf(why, sizeof why, "cannot open /dev/fuse: %s", strerror(errno));
      return why;
    }
  snprintf(opts, sizeof opts,
           "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions,max_read=131072", fs->fd);
  if (mount("isolazi-share", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
    {
      snprintf(why, sizeof why, "cannot mount FUSE: %s", strerror(errno));
      close(fs->fd);
      return why;
    }
  if (pipe2(fs->stop, O_CLOEXEC) < 0 || pthread_create(&fs->thread, NULL, serve_kernel, fs) != 0)
    {
      snprintf(why, sizeof why, "cannot start the server thread");
      (void)umount2(mnt, MNT_DETACH);
      close(fs->fd);
      return why;
    }
  fs->running = true;
  return NULL;
}

static void
fuse_unmount(fuse_server_t *fs, const char *mnt)
{
  if (!fs->running)
    return;
  (void)umount2(mnt, MNT_DETACH);
  (void)!write(fs->stop[1], "x", 1);
  pthread_join(fs->thread, NULL);
  close(fs->stop[0]);
  close(fs->stop[1]);
  fs->running = false;
}

static char mnt[256];

static const char *
M(const char *name)
{
  static char p[4][512];
  static int i;

  i = (i + 1) % 4;
  snprintf(p[i], sizeof p[i], "%s/%s", mnt, name);
  return p[i];
}

static const char *
H(const char *name)
{
  static char p[4][512];
  static int i;

  i = (i + 1) % 4;
  snprintf(p[i], sizeof p[i], "%s/%s", share_dir, name);
  return p[i];
}

static uint8_t *
pattern(size_t len, unsigned seed)
{
  uint8_t *b = malloc(len);
  size_t i;

  for (i = 0; i < len; i++)
    b[i] = (uint8_t)(i * 7 + seed + i / 4096);
  return b;
}

/* The whole file at path (at most cap bytes); -1 on an error. */
static ssize_t
slurp(const char *path, uint8_t *buf, size_t cap)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  size_t done = 0;
  ssize_t n = 0;

  if (fd < 0)
    return -1;
  while (done < cap && (n = read(fd, buf + done, cap - done)) > 0)
    done += (size_t)n;
  close(fd);
  return n < 0 ? -1 : (ssize_t)done;
}

static bool
write_file(const char *path, int flags, const void *data, size_t len)
{
  int fd = open(path, flags | O_CLOEXEC, 0666);
  bool ok;

  if (fd < 0)
    return false;
  ok = write(fd, data, len) == (ssize_t)len;
  return close(fd) == 0 && ok;
}

static void
kernel_files(void)
{
  enum
  {
    BIG = 300 * 1024
  };
  uint8_t *want = pattern(BIG, 1), *got = malloc(BIG + 16);
  struct stat st, st2;
  struct timespec ts[2] = { { 1000000, 5 }, { 2000000, 7 } };
  int fd;

  tap_ok(write_file(M("new"), O_CREAT | O_EXCL | O_WRONLY, "hello", 5) && stat(H("new"), &st) == 0
             && (st.st_mode & 07777) == 0644 && st.st_uid == 0 && slurp(H("new"), got, BIG) == 5
             && memcmp(got, "hello", 5) == 0,
         "create and write through the mount: the host file has the content and mode 0644");
  tap_ok(write_file(M("big"), O_CREAT | O_WRONLY, want, BIG) && slurp(H("big"), got, BIG + 16) == BIG
             && memcmp(got, want, BIG) == 0,
         "a 300 KiB write (over max_write) reaches the host whole");
  free(want);
  want = pattern(BIG, 2);
  {
    int hfd = open(H("hosted"), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    (void)!write(hfd, want, BIG);
    close(hfd);
  }
  tap_ok(slurp(M("hosted"), got, BIG + 16) == BIG && memcmp(got, want, BIG) == 0,
         "a 300 KiB host file reads whole through the mount");
  tap_ok(write_file(M("new"), O_WRONLY | O_APPEND, " world", 6) && slurp(H("new"), got, BIG) == 11
             && memcmp(got, "hello world", 11) == 0,
         "append");
  tap_ok(truncate(M("new"), 5) == 0 && stat(H("new"), &st) == 0 && st.st_size == 5, "truncate");
  fd = open(M("new"), O_RDWR | O_CLOEXEC);
  tap_ok(fd >= 0 && ftruncate(fd, 2) == 0 && stat(H("new"), &st) == 0 && st.st_size == 2,
         "ftruncate of an open file (SETATTR with its handle)");
  if (fd >= 0)
    close(fd);
  fd = open(M("new"), O_RDWR | O_TRUNC | O_CLOEXEC);
  tap_ok(fd >= 0 && stat(H("new"), &st) == 0 && st.st_size == 0, "open with O_TRUNC");
  if (fd >= 0)
    close(fd);
  tap_ok(chmod(M("new"), 0600) == 0 && stat(H("new"), &st) == 0 && (st.st_mode & 07777) == 0600, "chmod");
  tap_ok(chown(M("new"), 1234, 5678) == 0 && stat(H("new"), &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
         "chown");
  tap_ok(utimensat(AT_FDCWD, M("new"), ts, 0) == 0 && stat(H("new"), &st) == 0 && st.st_atim.tv_sec == 1000000
             && st.st_mtim.tv_sec == 2000000 && st.st_mtim.tv_nsec == 7,
         "utimensat with times");
  tap_ok(utimensat(AT_FDCWD, M("new"), NULL, 0) == 0 && stat(H("new"), &st) == 0
             && st.st_mtim.tv_sec >= time(NULL) - 60,
         "utimensat now");

  /* New entries belong to the caller's fsuid/fsgid (the request's uid and gid). */
  tap_ok(mkdir(M("pub"), 0777) == 0 && chmod(M("pub"), 0777) == 0, "mkdir");
  setfsgid(4321);
  setfsuid(4321);
  fd = open(M("pub/mine"), O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
  if (fd < 0)
    printf("# open as uid 4321: %s\n", strerror(errno));
  if (fd >= 0)
    close(fd);
  (void)mkdir(M("pub/mydir"), 0750);
  (void)symlink("mine", M("pub/mylink"));
  (void)mkfifo(M("pub/myfifo"), 0600);
  setfsuid(0);
  setfsgid(0);
  tap_ok(fd >= 0 && stat(H("pub/mine"), &st) == 0 && st.st_uid == 4321 && st.st_gid == 4321
             && (st.st_mode & 07777) == 0640,
         "a file created by uid 4321 belongs to 4321 on the host, mode 0640");
  tap_ok(stat(H("pub/mydir"), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 4321 && st.st_gid == 4321
             && (st.st_mode & 07777) == 0750,
         "so does a directory");
  tap_ok(lstat(H("pub/mylink"), &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid == 4321 && st.st_gid == 4321,
         "and a symlink");
  tap_ok(lstat(H("pub/myfifo"), &st) == 0 && S_ISFIFO(st.st_mode) && st.st_uid == 4321 && (st.st_mode & 07777) == 0600,
         "and a fifo (MKNOD)");
  tap_ok(mknod(M("null"), S_IFCHR | 0666, makedev(1, 3)) < 0 && errno == EPERM && lstat(H("null"), &st) < 0,
         "mknod of a device: EPERM, nothing on the host");

  /* Names. */
  tap_ok(rename(M("new"), M("renamed")) == 0 && lstat(H("new"), &st) < 0 && lstat(H("renamed"), &st) == 0, "rename");
  tap_ok(renameat2(AT_FDCWD, M("renamed"), AT_FDCWD, M("big"), RENAME_NOREPLACE) < 0 && errno == EEXIST
             && lstat(H("renamed"), &st) == 0 && stat(H("big"), &st2) == 0 && st2.st_size == BIG,
         "rename with RENAME_NOREPLACE onto a file: EEXIST, both stay");
  tap_ok(renameat2(AT_FDCWD, M("renamed"), AT_FDCWD, M("big"), RENAME_EXCHANGE) == 0 && stat(H("renamed"), &st) == 0
             && st.st_size == BIG && stat(H("big"), &st2) == 0 && st2.st_size == 0,
         "rename with RENAME_EXCHANGE swaps them on the host");
  tap_ok(link(M("big"), M("hard")) == 0 && stat(M("big"), &st) == 0 && stat(M("hard"), &st2) == 0
             && st.st_ino == st2.st_ino && st2.st_nlink == 2,
         "link: one inode, two links, through the mount");
  tap_ok(stat(H("hard"), &st2) == 0 && stat(H("big"), &st) == 0 && st.st_ino == st2.st_ino, "and on the host");
  (void)!link(H("hosted"), H("hosted2"));
  tap_ok(stat(M("hosted"), &st) == 0 && stat(M("hosted2"), &st2) == 0 && st.st_ino == st2.st_ino,
         "host hard links are one inode through the mount");
  {
    char buf[64] = "";
    ssize_t n;

    tap_ok(symlink("/etc/passwd", M("sl")) == 0 && (n = readlink(M("sl"), buf, sizeof buf - 1)) > 0
               && (buf[n] = 0, strcmp(buf, "/etc/passwd") == 0) && lstat(H("sl"), &st) == 0 && S_ISLNK(st.st_mode),
           "symlink and readlink");
    memset(buf, 0, sizeof buf);
    tap_ok(lstat(M("esc"), &st) == 0 && S_ISLNK(st.st_mode) && readlink(M("esc"), buf, sizeof buf - 1) == 10
               && strcmp(buf, "../outside") == 0,
           "a symlink out of the share is a symlink through the mount");
    /* The client resolves it, in its own view: mnt/../outside does not exist, while the share's
     * ../outside does; a server that followed it would have opened that one. */
    errno = 0;
    tap_ok(open(M("esc"), O_RDONLY | O_CLOEXEC) < 0 && errno == ENOENT,
           "opening it resolves in the client's view, not the host's");
  }
  tap_ok(mkfifo(M("fifo2"), 0644) == 0 && lstat(H("fifo2"), &st) == 0 && S_ISFIFO(st.st_mode), "mkfifo");
  {
    struct statfs a, b;
    tap_ok(statfs(mnt, &a) == 0 && statfs(share_dir, &b) == 0 && a.f_blocks == b.f_blocks && a.f_bsize == b.f_bsize
               && a.f_files == b.f_files,
           "statfs gives the host file system's numbers");
  }
  tap_ok(unlink(M("hard")) == 0 && lstat(H("hard"), &st) < 0, "unlink");
  tap_ok(rmdir(M("pub")) < 0 && errno == ENOTEMPTY, "rmdir of a non-empty directory: ENOTEMPTY");
  tap_ok(rmdir(M("pub/mydir")) == 0 && lstat(H("pub/mydir"), &st) < 0, "rmdir");
  tap_ok(mkdir(M("sub/x"), 0755) == 0 && rename(M("sub/x"), M("moved")) == 0 && stat(H("moved"), &st) == 0
             && S_ISDIR(st.st_mode),
         "rename across directories");
  fd = open(M("big"), O_RDONLY | O_CLOEXEC);
  tap_ok(fd >= 0 && fsync(fd) == 0 && fdatasync(fd) == 0, "fsync and fdatasync");
  if (fd >= 0)
    close(fd);
  free(want);
  free(got);
}

static void
kernel_readdir(void)
{
  enum
  {
    N = 300
  };
  static bool seen[N];
  char name[64];
  struct dirent *de;
  DIR *d;
  int i, count = 0, dots = 0, bad = 0;
  long pos = -1;
  char after[256] = "";

  mkdir(H("many"), 0755);
  for (i = 0; i < N; i++)
    {
      snprintf(name, sizeof name, "many/entry-with-a-longish-name-%03d", i);
      write_host(share_dir, name, "");
    }
  d = opendir(M("many"));
  tap_ok(d != NULL, "opendir");
  if (d == NULL)
    return;
  while ((de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        dots++;
      else if (sscanf(de->d_name, "entry-with-a-longish-name-%d", &i) == 1 && i >= 0 && i < N && !seen[i])
        seen[i] = true, count++;
      else
        bad++;
      if (count == 100 && pos < 0)
        {
          pos = telldir(d);
          de = readdir(d);
          if (de != NULL)
            {
              snprintf(after, sizeof after, "%s", de->d_name);
              if (sscanf(de->d_name, "entry-with-a-longish-name-%d", &i) == 1 && i >= 0 && i < N && !seen[i])
                seen[i] = true, count++;
            }
        }
    }
  tap_ok(count == N && dots == 2 && bad == 0, "readdir of %d entries (several READDIRs): each once, with . and ..", N);
  seekdir(d, pos);
  de = readdir(d);
  tap_ok(de != NULL && strcmp(de->d_name, after) == 0, "seekdir back to a telldir position (READDIR at an offset)");
  rewinddir(d);
  for (count = 0; readdir(d) != NULL; count++)
    ;
  tap_ok(count == N + 2, "rewinddir reads it all again");
  closedir(d);
}

static void
kernel_readonly(void)
{
  struct stat st;
  uint8_t buf[16];

  tap_ok(slurp(M("file"), buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0, "a read-only share reads");
  errno = 0;
  tap_ok(open(M("created"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0 && errno == EROFS && lstat(H("created"), &st) < 0,
         "a read-only share refuses to create: EROFS");
  errno = 0;
  tap_ok(open(M("file"), O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS, "and to open for writing");
  errno = 0;
  tap_ok(chmod(M("file"), 0600) < 0 && errno == EROFS, "and chmod");
  errno = 0;
  tap_ok(unlink(M("file")) < 0 && errno == EROFS && lstat(H("file"), &st) == 0, "and unlink");
  errno = 0;
  tap_ok(mkdir(M("d"), 0755) < 0 && errno == EROFS, "and mkdir");
}

static void
test_kernel(void)
{
  fuse_server_t fs;
  vm_share_t *s;
  const char *why = NULL;

  if (geteuid() != 0)
    why = "not root";
  else if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    why = "cannot make a mount namespace";
  if (why != NULL)
    {
      tap_ok(1, "the FUSE kernel tests # SKIP %s", why);
      return;
    }
  snprintf(mnt, sizeof mnt, "%s/m/mnt", tmp);
  mkdir(outside_dir, 0755);
  mkdir(mnt, 0755);
  umask(022);

  s = vm_share_open(share_dir, false, NULL);
  why = fuse_mount(&fs, s, mnt);
  if (why != NULL)
    {
      tap_ok(1, "the FUSE kernel tests # SKIP %s", why);
      vm_share_free(s);
      return;
    }
  kernel_files();
  kernel_readdir();
  fuse_unmount(&fs, mnt);
  tap_ok(fs.failure[0] == '\0', "the server answered every request: %s", fs.failure[0] ? fs.failure : "yes");
  vm_share_free(s);

  s = vm_share_open(share_dir, true, NULL);
  why = fuse_mount(&fs, s, mnt);
  tap_ok(why == NULL, "mount a read-only share: %s", why ? why : "ok");
  if (why == NULL)
    {
      kernel_readonly();
      fuse_unmount(&fs, mnt);
      tap_ok(fs.failure[0] == '\0', "the read-only server answered every request: %s",
             fs.failure[0] ? fs.failure : "yes");
    }
  vm_share_free(s);
}

int
main(void)
{
  char cmd[512];

  /* A server that stops answering would leave the kernel half waiting for ever. */
  alarm(120);
  if (mkdtemp(tmp) == NULL)
    {
      tap_ok(0, "mkdtemp: %s", strerror(errno));
      return tap_done();
    }
  (void)chmod(tmp, 0755); /* for the kernel test's other uid to reach the mount */
  snprintf(share_dir, sizeof share_dir, "%s/share", tmp);
  snprintf(outside_dir, sizeof outside_dir, "%s/m", tmp);
  mkdir(share_dir, 0755);
  write_host(share_dir, "file", "hello");
  write_host(tmp, "outside", "secret");
  snprintf(cmd, sizeof cmd, "%s/file", share_dir);
  {
    char hl[512], esc[512], fifo[512], sub[512];
    snprintf(hl, sizeof hl, "%s/hardlink", share_dir);
    snprintf(esc, sizeof esc, "%s/esc", share_dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", share_dir);
    snprintf(sub, sizeof sub, "%s/sub", share_dir);
    (void)!link(cmd, hl);
    (void)!symlink("../outside", esc);
    (void)!mkfifo(fifo, 0644);
    (void)!mkdir(sub, 0755);
  }

  test_open();
  test_init();
  test_lookup();
  test_readdirplus();
  test_readonly();
  test_serve();
  test_kernel();

  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  if (system(cmd) != 0)
    printf("# could not remove %s\n", tmp);
  return tap_done();
}
