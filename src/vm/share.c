/* SPDX-License-Identifier: Apache-2.0 */
/* The share server (share.h): answers the guest kernel's FUSE requests from a host directory.
 *
 * The protocol is the kernel's own (<linux/fuse.h>): a request is a struct fuse_in_header and
 * an opcode-specific body, a reply a struct fuse_out_header (error = -errno) and a body.  The
 * guest and the host are the same architecture, so the structs are used as the header lays them
 * out; they are copied out of the request with memcpy because a request need not be aligned.
 *
 * Inodes.  The kernel names an inode by a node id that we hand out in the entry replies of
 * LOOKUP, MKNOD, MKDIR, SYMLINK, LINK and CREATE, and counts those replies; FORGET and
 * BATCH_FORGET give counts back, and at zero the kernel has dropped the inode and we free the
 * node.  A node is an O_PATH|O_NOFOLLOW fd: it pins the inode, whatever happens to its names,
 * and everything is done relative to it, one name at a time, never following a symlink.  Two
 * names of one inode (hard links) give one node: nodes are found by (st_dev, st_ino).  Node id 1
 * (FUSE_ROOT_ID) is the shared directory and is never freed.  A node id is the index of the
 * node's slot plus one; a slot freed by FORGET is reused with a new generation (the kernel has
 * forgotten the old id by then: it sends FORGET when it evicts the inode).
 *
 * Open files and directories are handles: fh is the index of the handle's slot plus one, so the
 * guest can name only what it opened here, never another fd of the server.
 *
 * Malformed input (a short or inconsistent request, a body smaller than its opcode's struct, a
 * string without its NUL, a node id we did not hand out) fails the call: the guest's kernel never
 * sends such a thing, so whoever did is not a kernel to keep talking to.  FORGET of an unknown
 * node is the exception: it asks nothing of us and is ignored.  An unknown or stale fh is an
 * EBADF reply. */
#define _GNU_SOURCE
#include "config.h"
#include "share.h"
#include "cleanup.h"
#include "protocol.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

/* The oldest protocol we speak: 7.12 (Linux 2.6.31) gave fuse_mknod_in and fuse_create_in their
 * umask and every other request body its present size, so only FUSE_INIT's reply still depends
 * on the minor.  Guests run Linux >= 6.1 (7.36 or later). */
#define MIN_MINOR 12
/* fuse_init_out was 24 bytes (FUSE_COMPAT_22_INIT_OUT_SIZE) before 7.23. */
#define INIT_OUT_FULL_MINOR 23
/* How long the guest may cache names and attributes, in seconds: short, as the host may change
 * the directory behind its back. */
#define VALID_SECONDS 1
#define MAX_READAHEAD (1024 * 1024)
/* The open(2) flags of the guest that the server passes on; the others are the guest kernel's
 * business (O_CREAT, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_LARGEFILE, O_DIRECT, O_NOATIME, ...). */
#define OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)

typedef struct node
{
  uint64_t id;
  uint64_t generation;
  uint64_t nlookup; /* entry replies not yet forgotten */
  int fd;           /* O_PATH|O_NOFOLLOW */
  dev_t dev;
  ino_t ino;
  struct node *hash_next;
} node_t;

typedef enum handle_kind
{
  HANDLE_FREE = 0,
  HANDLE_FILE,
  HANDLE_DIR,
} handle_kind_t;

typedef struct handle
{
  handle_kind_t kind;
  uint64_t node; /* the node id it was opened from */
  int fd;        /* HANDLE_FILE */
  DIR *dir;      /* HANDLE_DIR */
  off_t offset;  /* HANDLE_DIR: where `dir` stands, as READDIR's offset names it */
} handle_t;

struct vm_share
{
  char *path;
  bool readonly;
  bool initialized;
  uint32_t minor; /* negotiated in FUSE_INIT */
  /* nodes[id - 1]; NULL slots are free and listed in free_nodes */
  node_t **nodes;
  size_t nodes_len, nodes_cap;
  size_t *free_nodes;
  size_t free_nodes_len, free_nodes_cap;
  uint64_t next_generation;
  /* (st_dev, st_ino) → node: chains of hash_next, a power of two of buckets */
  node_t **buckets;
  size_t buckets_len, nodes_count;
  /* handles[fh - 1] */
  handle_t *handles;
  size_t handles_len, handles_cap;
  size_t *free_handles;
  size_t free_handles_len, free_handles_cap;
};

/* One request being answered. */
typedef struct req
{
  vm_share_t *s;
  struct fuse_in_header h;
  const uint8_t *body;
  size_t body_len, off; /* off: what the op has consumed of the body */
  node_t *node;         /* h.nodeid's node, for the ops that act on one */
  void *out;            /* the reply, fuse_out_header first */
  size_t out_len;
  isolazi_error_t *err;
} req_t;

/* ---- nodes ------------------------------------------------------------------------------- */

static size_t
hash_of(dev_t dev, ino_t ino, size_t buckets_len)
{
  uint64_t h = (uint64_t)dev * 0x9e3779b97f4a7c15ull ^ (uint64_t)ino * 0xff51afd7ed558ccdull;

  h ^= h >> 31;
  return (size_t)h & (buckets_len - 1);
}

static void
hash_grow(vm_share_t *s)
{
  size_t len = s->buckets_len ? s->buckets_len * 2 : 64, i;
  node_t **b = xcalloc(len, sizeof *b);

  for (i = 0; i < s->buckets_len; i++)
    while (s->buckets[i] != NULL)
      {
        node_t *n = s->buckets[i];
        size_t k = hash_of(n->dev, n->ino, len);

        s->buckets[i] = n->hash_next;
        n->hash_next = b[k];
        b[k] = n;
      }
  free(s->buckets);
  s->buckets = b;
  s->buckets_len = len;
}

static node_t *
hash_find(const vm_share_t *s, dev_t dev, ino_t ino)
{
  node_t *n;

  for (n = s->buckets[hash_of(dev, ino, s->buckets_len)]; n != NULL; n = n->hash_next)
    if (n->dev == dev && n->ino == ino)
      return n;
  return NULL;
}

static node_t *
node_get(const vm_share_t *s, uint64_t id)
{
  if (id == 0 || id > s->nodes_len)
    return NULL;
  return s->nodes[id - 1];
}

/* The node of the inode `fd` (an O_PATH fd, consumed) stands for, counting one more lookup. */
static node_t *
node_ref(vm_share_t *s, int fd, const struct stat *st)
{
  node_t *n = hash_find(s, st->st_dev, st->st_ino);
  size_t slot, k;

  if (n != NULL)
    {
      (void)close(fd);
      if (n->id != FUSE_ROOT_ID)
        n->nlookup++;
      return n;
    }
  if (s->nodes_count + 1 > s->buckets_len)
    hash_grow(s);
  if (s->free_nodes_len > 0)
    slot = s->free_nodes[--s->free_nodes_len];
  else
    {
      if (s->nodes_len == s->nodes_cap)
        {
          s->nodes_cap = s->nodes_cap ? s->nodes_cap * 2 : 64;
          s->nodes = xrealloc(s->nodes, s->nodes_cap * sizeof *s->nodes);
        }
      slot = s->nodes_len++;
    }
  n = xcalloc(1, sizeof *n);
  n->id = slot + 1;
  n->generation = s->next_generation++;
  n->nlookup = 1;
  n->fd = fd;
  n->dev = st->st_dev;
  n->ino = st->st_ino;
  k = hash_of(n->dev, n->ino, s->buckets_len);
  n->hash_next = s->buckets[k];
  s->buckets[k] = n;
  s->nodes[slot] = n;
  s->nodes_count++;
  return n;
}

static void
node_forget(vm_share_t *s, node_t *n, uint64_t nlookup)
{
  node_t **p;

  if (n->id == FUSE_ROOT_ID)
    return; /* the kernel forgets the root too when it unmounts; it stays ours */
  n->nlookup = nlookup >= n->nlookup ? 0 : n->nlookup - nlookup;
  if (n->nlookup > 0)
    return;
  for (p = &s->buckets[hash_of(n->dev, n->ino, s->buckets_len)]; *p != n; p = &(*p)->hash_next)
    ;
  *p = n->hash_next;
  s->nodes[n->id - 1] = NULL;
  if (s->free_nodes_len == s->free_nodes_cap)
    {
      s->free_nodes_cap = s->free_nodes_cap ? s->free_nodes_cap * 2 : 64;
      s->free_nodes = xrealloc(s->free_nodes, s->free_nodes_cap * sizeof *s->free_nodes);
    }
  s->free_nodes[s->free_nodes_len++] = n->id - 1;
  s->nodes_count--;
  (void)close(n->fd);
  free(n);
}

/* ---- handles ----------------------------------------------------------------------------- */

static uint64_t
handle_new(vm_share_t *s, handle_kind_t kind, const node_t *n, int fd, DIR *dir)
{
  size_t slot;

  if (s->free_handles_len > 0)
    slot = s->free_handles[--s->free_handles_len];
  else
    {
      if (s->handles_len == s->handles_cap)
        {
          s->handles_cap = s->handles_cap ? s->handles_cap * 2 : 16;
          s->handles = xrealloc(s->handles, s->handles_cap * sizeof *s->handles);
        }
      slot = s->handles_len++;
    }
  s->handles[slot] = (handle_t){ .kind = kind, .node = n->id, .fd = fd, .dir = dir, .offset = 0 };
  return slot + 1;
}

/* The handle fh of this kind; with n, opened from that node. */
static handle_t *
handle_get(vm_share_t *s, uint64_t fh, handle_kind_t kind, const node_t *n)
{
  handle_t *h;

  if (fh == 0 || fh > s->handles_len)
    return NULL;
  h = &s->handles[fh - 1];
  if (h->kind != kind || (n != NULL && h->node != n->id))
    return NULL;
  return h;
}

static void
handle_close(vm_share_t *s, handle_t *h)
{
  if (h->dir != NULL)
    (void)closedir(h->dir);
  else if (h->fd >= 0)
    (void)close(h->fd);
  *h = (handle_t){ .kind = HANDLE_FREE, .fd = -1 };
  if (s->free_handles_len == s->free_handles_cap)
    {
      s->free_handles_cap = s->free_handles_cap ? s->free_handles_cap * 2 : 16;
      s->free_handles = xrealloc(s->free_handles, s->free_handles_cap * sizeof *s->free_handles);
    }
  s->free_handles[s->free_handles_len++] = (size_t)(h - s->handles);
}

/* ---- requests and replies ---------------------------------------------------------------- */

static int
malformed(req_t *r, const char *what)
{
  return isolazi_error_set_plain(r->err, EPROTO,
                                 "answer a FUSE request (opcode %u, node %llu) for `%s`: malformed request: %s",
                                 r->h.opcode, (unsigned long long)r->h.nodeid, r->s->path, what);
}

/* Copy the next `size` bytes of the body (a struct of the opcode) into dst. */
static int
take(req_t *r, void *dst, size_t size)
{
  if (r->body_len - r->off < size)
    return malformed(r, "the body is too short");
  memcpy(dst, r->body + r->off, size);
  r->off += size;
  return 0;
}

/* The next NUL-terminated string of the body (names in LOOKUP, MKNOD, ..., RENAME, SYMLINK). */
static int
take_string(req_t *r, const char **ret)
{
  const uint8_t *nul = r->off < r->body_len ? memchr(r->body + r->off, '\0', r->body_len - r->off) : NULL;

  if (nul == NULL)
    return malformed(r, "a string is missing or not terminated");
  *ret = (const char *)r->body + r->off;
  r->off = (size_t)(nul - r->body) + 1;
  return 0;
}

/* A name under a directory must be one component: no "", ".", ".." or "/" (the kernel never
 * sends them; a guest that does is refused with EINVAL). */
static bool
name_ok(const char *name)
{
  return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && strchr(name, '/') == NULL;
}

/* Build the reply: the header and `len` bytes of body (copied from `data` unless NULL). */
static void *
reply(req_t *r, const void *data, size_t len)
{
  struct fuse_out_header o = { .len = (uint32_t)(sizeof o + len), .error = 0, .unique = r->h.unique };

  free(r->out);
  r->out = xmalloc(sizeof o + len);
  r->out_len = sizeof o + len;
  memcpy(r->out, &o, sizeof o);
  if (data != NULL && len > 0)
    memcpy((uint8_t *)r->out + sizeof o, data, len);
  return (uint8_t *)r->out + sizeof o;
}

static void
reply_error(req_t *r, int errnum)
{
  reply(r, NULL, 0);
  ((struct fuse_out_header *)r->out)->error = -errnum;
}

/* Shrink the body of the reply to len bytes (after a short read). */
static void
reply_truncate(req_t *r, size_t len)
{
  r->out_len = sizeof(struct fuse_out_header) + len;
  ((struct fuse_out_header *)r->out)->len = (uint32_t)r->out_len;
}

/* errno after a failed call, never 0. */
static int
fail(void)
{
  return errno != 0 ? errno : EIO;
}

/* /proc/self/fd/N: reopening an O_PATH fd through its magic link reaches exactly its inode. */
static void
fd_path(int fd, char buf[static 32])
{
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

static void
fill_attr(struct fuse_attr *a, const struct stat *st)
{
  unsigned mj = major(st->st_rdev), mn = minor(st->st_rdev);

  *a = (struct fuse_attr){ 0 };
  a->ino = st->st_ino;
  a->size = (uint64_t)st->st_size;
  a->blocks = (uint64_t)st->st_blocks;
  a->atime = (uint64_t)st->st_atim.tv_sec;
  a->atimensec = (uint32_t)st->st_atim.tv_nsec;
  a->mtime = (uint64_t)st->st_mtim.tv_sec;
  a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
  a->ctime = (uint64_t)st->st_ctim.tv_sec;
  a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
  a->mode = st->st_mode;
  a->nlink = (uint32_t)st->st_nlink;
  a->uid = st->st_uid;
  a->gid = st->st_gid;
  /* The kernel decodes rdev with new_decode_dev(): minor's low byte, major, minor's high bits. */
  a->rdev = (mn & 0xff) | (mj << 8) | ((mn & ~0xffu) << 12);
  a->blksize = (uint32_t)st->st_blksize;
}

static int
reply_attr(req_t *r, int fd)
{
  struct fuse_attr_out out = { .attr_valid = VALID_SECONDS };
  struct stat st;

  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return fail();
  fill_attr(&out.attr, &st);
  reply(r, &out, sizeof out);
  return 0;
}

/* Fill an entry (fuse_entry_out) for the inode of `fd` (O_PATH, consumed), counting a lookup. */
static int
make_entry(req_t *r, int fd, struct fuse_entry_out *e)
{
  struct stat st;
  node_t *n;

  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    {
      int e_ = fail();
      (void)close(fd);
      return e_;
    }
  n = node_ref(r->s, fd, &st);
  *e = (struct fuse_entry_out){ 0 };
  e->nodeid = n->id;
  e->generation = n->generation;
  e->entry_valid = VALID_SECONDS;
  e->attr_valid = VALID_SECONDS;
  fill_attr(&e->attr, &st);
  return 0;
}

static int
reply_entry(req_t *r, int fd)
{
  struct fuse_entry_out e;
  int k = make_entry(r, fd, &e);

  if (k != 0)
    return k;
  reply(r, &e, sizeof e);
  return 0;
}

/* A new entry `name` under r->node, just created (fd: O_PATH, consumed; the open file for
 * CREATE in `file`, else -1): hand it to the requester, as creating it in the guest would have:
 * its uid, and its gid unless the directory is set-group-ID (then the host kernel gave it the
 * directory's group, and a new directory the bit); then the exact mode the guest asked for
 * (already less its umask: we do not negotiate FUSE_DONT_MASK), which the server's own umask
 * must not trim.  chown comes first, as it clears set-user-ID bits.  A failure removes the
 * entry again, so that the guest never finds a file of root's it did not ask for. */
static int
finish_new(req_t *r, const char *name, int fd, int file, mode_t mode, bool is_dir, bool is_symlink)
{
  struct stat parent;
  gid_t gid = r->h.gid;
  char path[32];
  int k;

  if (fstatat(r->node->fd, "", &parent, AT_EMPTY_PATH) < 0)
    goto fail;
  if (parent.st_mode & S_ISGID)
    {
      gid = (gid_t)-1;
      if (is_dir)
        mode |= S_ISGID;
    }
  if (fchownat(fd, "", r->h.uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    goto fail;
  if (!is_symlink)
    {
      fd_path(fd, path);
      if ((file >= 0 ? fchmod(file, mode & 07777) : chmod(path, mode & 07777)) < 0)
        goto fail;
    }
  return 0;

fail:
  k = fail();
  (void)unlinkat(r->node->fd, name, is_dir ? AT_REMOVEDIR : 0);
  (void)close(fd);
  return k;
}

/* ---- operations --------------------------------------------------------------------------
 * Each returns 0 with the reply built (or none, for the requests that take none), a positive
 * errno for an error reply, or -1 (r->err set) for a malformed request. */

static int
op_init(req_t *r)
{
  struct fuse_init_in in = { 0 };
  struct fuse_init_out out = { 0 };
  size_t size;

  /* fuse_init_in was 16 bytes before 7.36 (no flags2): take what is there, at least major and
   * minor. */
  if (r->body_len < 8)
    return malformed(r, "the body is too short");
  memcpy(&in, r->body, r->body_len < sizeof in ? r->body_len : sizeof in);
  out.major = FUSE_KERNEL_VERSION;
  out.minor = FUSE_KERNEL_MINOR_VERSION;
  if (in.major > FUSE_KERNEL_VERSION)
    {
      /* A newer major: answer ours alone (8 bytes) and the kernel asks again in our terms. */
      reply(r, &out, FUSE_COMPAT_INIT_OUT_SIZE);
      return 0;
    }
  if (in.major < FUSE_KERNEL_VERSION || in.minor < MIN_MINOR)
    return EPROTO;
  if (in.minor < out.minor)
    out.minor = in.minor;
  out.max_readahead = in.max_readahead < MAX_READAHEAD ? in.max_readahead : MAX_READAHEAD;
  /* Only what we implement, and only what the kernel offered: writes up to max_write
   * (FUSE_BIG_WRITES, implied by kernels since 4.20) in up to max_pages pages (FUSE_MAX_PAGES,
   * 7.28); READDIRPLUS (7.21), which the kernel uses when names are looked up after a listing
   * (READDIRPLUS_AUTO).  No WRITEBACK_CACHE, ATOMIC_O_TRUNC (the kernel truncates with a SETATTR
   * before OPEN), EXPORT_SUPPORT, POSIX_ACL, POSIX_LOCKS (locks stay in the guest), DONT_MASK
   * (the kernel applies the umask), INIT_EXT (so no flags2). */
  out.flags = in.flags & (FUSE_BIG_WRITES | FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
  out.max_background = 0; /* the kernel's defaults */
  out.congestion_threshold = 0;
  out.max_write = VM_SHARE_MAX_WRITE;
  out.time_gran = 1;
  out.max_pages = VM_SHARE_MAX_WRITE / 4096;
  size = out.minor < INIT_OUT_FULL_MINOR ? FUSE_COMPAT_22_INIT_OUT_SIZE : sizeof out;
  r->s->minor = out.minor;
  r->s->initialized = true;
  reply(r, &out, size);
  return 0;
}

static int
op_lookup(req_t *r)
{
  const char *name;
  int fd;

  if (take_string(r, &name) < 0)
    return -1;
  if (!name_ok(name))
    return EINVAL;
  fd = openat(r->node->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return fail();
  return reply_entry(r, fd);
}

static int
op_forget(req_t *r)
{
  struct fuse_forget_in in;
  node_t *n;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  n = node_get(r->s, r->h.nodeid);
  if (n != NULL)
    node_forget(r->s, n, in.nlookup);
  return 0;
}

static int
op_batch_forget(req_t *r)
{
  struct fuse_batch_forget_in in;
  uint32_t i;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  if ((r->body_len - r->off) / sizeof(struct fuse_forget_one) < in.count)
    return malformed(r, "fewer forgets than the count says");
  for (i = 0; i < in.count; i++)
    {
      struct fuse_forget_one one;
      node_t *n;

      (void)take(r, &one, sizeof one);
      n = node_get(r->s, one.nodeid);
      if (n != NULL)
        node_forget(r->s, n, one.nlookup);
    }
  return 0;
}

static int
op_getattr(req_t *r)
{
  /* fuse_getattr_in may name a file handle (FUSE_GETATTR_FH): its inode is the node's. */
  return reply_attr(r, r->node->fd);
}

static int
op_setattr(req_t *r)
{
  struct fuse_setattr_in in;
  handle_t *h = NULL;
  struct stat st;
  char path[32];

  if (take(r, &in, sizeof in) < 0)
    return -1;
  if (r->s->readonly)
    return EROFS;
  if (fstatat(r->node->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return fail();
  if (in.valid & FATTR_FH)
    {
      h = handle_get(r->s, in.fh, HANDLE_FILE, r->node);
      if (h == NULL)
        return EBADF;
    }
  fd_path(r->node->fd, path);
  /* Owner first: chown clears set-user-ID bits that a mode in the same request may set again. */
  if (in.valid & (FATTR_UID | FATTR_GID))
    {
      uid_t uid = (in.valid & FATTR_UID) ? in.uid : (uid_t)-1;
      gid_t gid = (in.valid & FATTR_GID) ? in.gid : (gid_t)-1;

      if (fchownat(r->node->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return fail();
    }
  if (in.valid & FATTR_MODE)
    {
      /* chmod through the magic link reaches the node's inode; a symlink has no mode to set. */
      if (S_ISLNK(st.st_mode))
        return EOPNOTSUPP;
      if (chmod(path, in.mode & 07777) < 0)
        return fail();
    }
  if (in.valid & FATTR_SIZE)
    {
      if (h != NULL)
        {
          if (ftruncate(h->fd, (off_t)in.size) < 0)
            return fail();
        }
      else if (S_ISDIR(st.st_mode))
        return EISDIR;
      else if (!S_ISREG(st.st_mode))
        return EINVAL;
      else if (truncate(path, (off_t)in.size) < 0)
        return fail();
    }
  if (in.valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW))
    {
      struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

      if (in.valid & FATTR_ATIME_NOW)
        ts[0].tv_nsec = UTIME_NOW;
      else if (in.valid & FATTR_ATIME)
        ts[0] = (struct timespec){ (time_t)in.atime, in.atimensec };
      if (in.valid & FATTR_MTIME_NOW)
        ts[1].tv_nsec = UTIME_NOW;
      else if (in.valid & FATTR_MTIME)
        ts[1] = (struct timespec){ (time_t)in.mtime, in.mtimensec };
      if (utimensat(r->node->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return fail();
    }
  /* FATTR_CTIME cannot be set and follows the changes above; FATTR_LOCKOWNER is for locks we
   * leave to the guest; FATTR_KILL_SUIDGID comes only with FUSE_HANDLE_KILLPRIV_V2. */
  return reply_attr(r, r->node->fd);
}

static int
op_readlink(req_t *r)
{
  char buf[PATH_MAX];
  ssize_t n = readlinkat(r->node->fd, "", buf, sizeof buf);

  if (n < 0)
    return errno == ENOENT ? EINVAL : fail(); /* "" names the node: ENOENT means not a symlink */
  reply(r, buf, (size_t)n);
  return 0;
}

/* May the guest make or remove `name` under r->node?  0, or the errno to answer. */
static int
changeable(req_t *r, const char *name)
{
  if (r->s->readonly)
    return EROFS;
  return name_ok(name) ? 0 : EINVAL;
}

/* After mkdir, mknod or symlink made `name` under r->node (made: the call's result): hand it
 * to the requester (finish_new) and answer its entry. */
static int
reply_new(req_t *r, const char *name, int made, mode_t mode, bool is_dir, bool is_symlink)
{
  int fd, k;

  if (made < 0)
    return fail();
  fd = openat(r->node->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return fail();
  k = finish_new(r, name, fd, -1, mode, is_dir, is_symlink);
  return k != 0 ? k : reply_entry(r, fd);
}

static int
op_symlink(req_t *r)
{
  const char *name, *target;
  int k;

  /* The entry's name, then the link's content (which is the guest's to resolve). */
  if (take_string(r, &name) < 0 || take_string(r, &target) < 0)
    return -1;
  if ((k = changeable(r, name)) != 0)
    return k;
  return reply_new(r, name, symlinkat(target, r->node->fd, name), 0, false, true);
}

static int
op_mknod(req_t *r)
{
  struct fuse_mknod_in in;
  const char *name;
  int k;

  if (take(r, &in, sizeof in) < 0 || take_string(r, &name) < 0)
    return -1;
  if ((k = changeable(r, name)) != 0)
    return k;
  switch (in.mode & S_IFMT)
    {
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
      break;
    case S_IFCHR:
    case S_IFBLK:
      /* A device node would be one on the host, for anyone who can reach the directory. */
      return EPERM;
    default:
      return EINVAL;
    }
  return reply_new(r, name, mknodat(r->node->fd, name, (in.mode & S_IFMT) | (in.mode & 07777), 0), in.mode, false,
                   false);
}

static int
op_mkdir(req_t *r)
{
  struct fuse_mkdir_in in;
  const char *name;
  int k;

  if (take(r, &in, sizeof in) < 0 || take_string(r, &name) < 0)
    return -1;
  if ((k = changeable(r, name)) != 0)
    return k;
  return reply_new(r, name, mkdirat(r->node->fd, name, in.mode & 07777), in.mode, true, false);
}

static int
op_remove(req_t *r, int flags)
{
  const char *name;
  int k;

  if (take_string(r, &name) < 0)
    return -1;
  if ((k = changeable(r, name)) != 0)
    return k;
  if (unlinkat(r->node->fd, name, flags) < 0)
    return fail();
  reply(r, NULL, 0);
  return 0;
}

static int
op_rename(req_t *r)
{
  uint64_t newdir;
  uint32_t flags = 0;
  const char *oldname, *newname;
  node_t *nd;

  /* FUSE_RENAME carries a fuse_rename_in, FUSE_RENAME2 a fuse_rename2_in (newdir, flags). */
  if (r->h.opcode == FUSE_RENAME2)
    {
      struct fuse_rename2_in in;
      if (take(r, &in, sizeof in) < 0)
        return -1;
      newdir = in.newdir;
      flags = in.flags;
    }
  else
    {
      struct fuse_rename_in in;
      if (take(r, &in, sizeof in) < 0)
        return -1;
      newdir = in.newdir;
    }
  if (take_string(r, &oldname) < 0 || take_string(r, &newname) < 0)
    return -1;
  nd = node_get(r->s, newdir);
  if (nd == NULL)
    return malformed(r, "unknown node id of the new directory");
  if (r->s->readonly)
    return EROFS;
  if (!name_ok(oldname) || !name_ok(newname))
    return EINVAL;
  /* RENAME_WHITEOUT would make a device node (0, 0): overlayfs's business, not a guest's. */
  if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
    return EINVAL;
  if (renameat2(r->node->fd, oldname, nd->fd, newname, flags) < 0)
    return fail();
  reply(r, NULL, 0);
  return 0;
}

static int
op_link(req_t *r)
{
  struct fuse_link_in in;
  const char *name;
  node_t *old;
  int fd, k;

  /* nodeid is the new link's directory, oldnodeid the inode to link. */
  if (take(r, &in, sizeof in) < 0 || take_string(r, &name) < 0)
    return -1;
  old = node_get(r->s, in.oldnodeid);
  if (old == NULL)
    return malformed(r, "unknown node id of the link's target");
  if ((k = changeable(r, name)) != 0)
    return k;
  /* linkat(AT_EMPTY_PATH) of the O_PATH fd links exactly that inode; it needs
   * CAP_DAC_READ_SEARCH, without which the kernel says ENOENT: then through the magic link
   * (AT_SYMLINK_FOLLOW follows it to the inode), except for a symlink node. */
  if (linkat(old->fd, "", r->node->fd, name, AT_EMPTY_PATH) < 0)
    {
      struct stat st;
      char path[32];

      if (errno != ENOENT || fstatat(old->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode))
        return fail();
      fd_path(old->fd, path);
      if (linkat(AT_FDCWD, path, r->node->fd, name, AT_SYMLINK_FOLLOW) < 0)
        return fail();
    }
  fd = fcntl(old->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return fail();
  return reply_entry(r, fd);
}

/* Why a node cannot be opened as a file: it must be a regular file.  (The guest's kernel opens
 * fifos, sockets and devices itself and never asks; a guest that asks anyway must not make the
 * server block on a fifo or open a host device.) */
static int
check_regular(int fd)
{
  struct stat st;

  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return fail();
  if (S_ISREG(st.st_mode))
    return 0;
  if (S_ISLNK(st.st_mode))
    return ELOOP;
  if (S_ISDIR(st.st_mode))
    return EISDIR;
  return EACCES;
}

static bool
writes(uint32_t flags)
{
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int
op_open(req_t *r)
{
  struct fuse_open_in in;
  struct fuse_open_out out = { 0 };
  char path[32];
  int fd, k;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  k = check_regular(r->node->fd);
  if (k != 0)
    return k;
  if (r->s->readonly && writes(in.flags))
    return EROFS;
  fd_path(r->node->fd, path);
  fd = open(path, (int)(in.flags & OPEN_FLAGS) | O_CLOEXEC);
  if (fd < 0)
    return fail();
  out.fh = handle_new(r->s, HANDLE_FILE, r->node, fd, NULL);
  reply(r, &out, sizeof out);
  return 0;
}

static int
op_create(req_t *r)
{
  struct fuse_create_in in;
  struct
  {
    struct fuse_entry_out e;
    struct fuse_open_out o;
  } out = { 0 };
  const char *name;
  char path[32];
  cleanup_close int file = -1;
  int fd, flags, k;
  bool created = true;

  if (take(r, &in, sizeof in) < 0 || take_string(r, &name) < 0)
    return -1;
  if ((k = changeable(r, name)) != 0)
    return k;
  /* Create it here (O_EXCL) or, unless the guest asked for O_EXCL, open what a race put there;
   * O_NOFOLLOW either way, so a symlink planted under the name is refused, never followed. */
  flags = (int)(in.flags & OPEN_FLAGS) | O_NOFOLLOW | O_CLOEXEC;
  file = openat(r->node->fd, name, flags | O_CREAT | O_EXCL, in.mode & 07777);
  if (file < 0 && errno == EEXIST && !(in.flags & O_EXCL))
    {
      created = false;
      file = openat(r->node->fd, name, flags);
      if (file >= 0 && (k = check_regular(file)) != 0)
        return k;
    }
  if (file < 0)
    return fail();
  /* The node is the inode we opened, whatever the name means by now. */
  fd_path(file, path);
  fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    {
      k = fail();
      if (created)
        (void)unlinkat(r->node->fd, name, 0);
      return k;
    }
  if (created && (k = finish_new(r, name, fd, file, in.mode, false, false)) != 0)
    return k;
  k = make_entry(r, fd, &out.e);
  if (k != 0)
    return k;
  out.o.fh = handle_new(r->s, HANDLE_FILE, node_get(r->s, out.e.nodeid), steal_fd(&file), NULL);
  reply(r, &out, sizeof out);
  return 0;
}

static int
op_read(req_t *r)
{
  struct fuse_read_in in;
  handle_t *h;
  uint8_t *buf;
  size_t size, done = 0;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  h = handle_get(r->s, in.fh, HANDLE_FILE, r->node);
  if (h == NULL)
    return EBADF;
  /* The kernel asks for at most max_read (the mount option) and max_pages pages; the reply
   * must fit a frame. */
  size = in.size < VM_SHARE_MAX_WRITE ? in.size : VM_SHARE_MAX_WRITE;
  buf = reply(r, NULL, size);
  while (done < size)
    {
      ssize_t n = pread(h->fd, buf + done, size - done, (off_t)(in.offset + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (done > 0)
            break;
          return fail();
        }
      if (n == 0)
        break;
      done += (size_t)n;
    }
  reply_truncate(r, done);
  return 0;
}

static int
op_write(req_t *r)
{
  struct fuse_write_in in;
  struct fuse_write_out out = { 0 };
  const uint8_t *data;
  handle_t *h;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  if (r->body_len - r->off != in.size)
    return malformed(r, "the data's length is not the write's size");
  data = r->body + r->off;
  h = handle_get(r->s, in.fh, HANDLE_FILE, r->node);
  if (h == NULL)
    return EBADF;
  if (r->s->readonly)
    return EROFS;
  /* A handle opened O_APPEND appends whatever the offset (pwrite(2) on Linux): the host's end
   * of the file, which is the right end when the host has changed it too. */
  while (out.size < in.size)
    {
      ssize_t n = pwrite(h->fd, data + out.size, in.size - out.size, (off_t)(in.offset + out.size));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (out.size > 0)
            break;
          return n < 0 ? fail() : EIO;
        }
      out.size += (uint32_t)n;
    }
  reply(r, &out, sizeof out);
  return 0;
}

static int
op_statfs(req_t *r)
{
  struct fuse_statfs_out out = { 0 };
  struct statfs st;

  if (fstatfs(r->node->fd, &st) < 0)
    return fail();
  out.st.blocks = st.f_blocks;
  out.st.bfree = st.f_bfree;
  out.st.bavail = st.f_bavail;
  out.st.files = st.f_files;
  out.st.ffree = st.f_ffree;
  out.st.bsize = (uint32_t)st.f_bsize;
  out.st.namelen = (uint32_t)st.f_namelen;
  out.st.frsize = (uint32_t)st.f_frsize;
  reply(r, &out, sizeof out);
  return 0;
}

/* RELEASE and RELEASEDIR: the node may be forgotten by now (the kernel can send the release
 * after evicting the inode), so only the handle counts. */
static int
op_release(req_t *r)
{
  struct fuse_release_in in;
  handle_t *h;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  h = handle_get(r->s, in.fh, r->h.opcode == FUSE_RELEASEDIR ? HANDLE_DIR : HANDLE_FILE, NULL);
  if (h == NULL)
    return EBADF;
  handle_close(r->s, h);
  reply(r, NULL, 0);
  return 0;
}

static int
op_fsync(req_t *r)
{
  struct fuse_fsync_in in;
  handle_t *h;
  int fd, k;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  h = handle_get(r->s, in.fh, r->h.opcode == FUSE_FSYNCDIR ? HANDLE_DIR : HANDLE_FILE, r->node);
  if (h == NULL)
    return EBADF;
  fd = h->dir != NULL ? dirfd(h->dir) : h->fd;
  k = (in.fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(fd) : fsync(fd);
  if (k < 0)
    return fail();
  reply(r, NULL, 0);
  return 0;
}

static int
op_opendir(req_t *r)
{
  struct fuse_open_in in;
  struct fuse_open_out out = { 0 };
  int fd;
  DIR *d;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  /* "." under the O_PATH fd is the directory itself (and fails with ENOTDIR for anything else). */
  fd = openat(r->node->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail();
  d = fdopendir(fd);
  if (d == NULL)
    {
      int k = fail();
      (void)close(fd);
      return k;
    }
  out.fh = handle_new(r->s, HANDLE_DIR, r->node, -1, d);
  reply(r, &out, sizeof out);
  return 0;
}

/* The entry of a READDIRPLUS record for `name` under the directory: a lookup, counted as one
 * (the kernel counts it and forgets it as any other).  "." and ".." and a name that vanished
 * meanwhile get node id 0, which the kernel takes as "no entry here" and counts nothing for. */
static void
plus_entry(req_t *r, const char *name, struct fuse_entry_out *e)
{
  int fd;

  *e = (struct fuse_entry_out){ 0 };
  if (!name_ok(name))
    return;
  fd = openat(r->node->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || make_entry(r, fd, e) != 0)
    *e = (struct fuse_entry_out){ 0 };
}

/* READDIR: fuse_dirent records (FUSE_DIRENT_SIZE each, 8-byte aligned) up to the size asked.
 * A record's `off` is where the next one starts: the d_off readdir(3) gives, which seekdir(3)
 * takes back.  The stream stands after the last record returned; a READDIR at another offset
 * (a seek in the guest, or a retry) repositions it first.
 *
 * READDIRPLUS: fuse_direntplus records, each entry's node and attributes before its dirent, so
 * that `ls -l` or a tree walk costs one round trip per buffer instead of a LOOKUP per name
 * (every request crosses the emulated serial port).  The lookup is taken only once the record
 * is known to fit. */
static int
op_readdir(req_t *r)
{
  bool plus = r->h.opcode == FUSE_READDIRPLUS;
  const size_t name_offset = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
  struct fuse_read_in in;
  handle_t *h;
  uint8_t *buf;
  size_t size, used = 0;

  if (take(r, &in, sizeof in) < 0)
    return -1;
  h = handle_get(r->s, in.fh, HANDLE_DIR, r->node);
  if (h == NULL)
    return EBADF;
  if ((off_t)in.offset != h->offset)
    {
      if (in.offset == 0)
        rewinddir(h->dir);
      else
        seekdir(h->dir, (long)in.offset);
      h->offset = (off_t)in.offset;
    }
  size = in.size < VM_SHARE_MAX_WRITE ? in.size : VM_SHARE_MAX_WRITE;
  buf = reply(r, NULL, size);
  for (;;)
    {
      struct fuse_dirent d;
      struct dirent *de;
      size_t namelen, reclen;

      errno = 0;
      de = readdir(h->dir);
      if (de == NULL)
        {
          if (errno != 0 && used == 0)
            return fail();
          break;
        }
      namelen = strlen(de->d_name);
      reclen = FUSE_DIRENT_ALIGN(name_offset + namelen);
      if (reclen > size - used)
        {
          /* No room: step back before this entry for the next READDIR. */
          seekdir(h->dir, (long)h->offset);
          break;
        }
      d = (struct fuse_dirent){
        .ino = de->d_ino, .off = (uint64_t)de->d_off, .namelen = (uint32_t)namelen, .type = de->d_type
      };
      memset(buf + used, 0, reclen);
      if (plus)
        {
          struct fuse_entry_out e;
          plus_entry(r, de->d_name, &e);
          memcpy(buf + used, &e, sizeof e);
          memcpy(buf + used + offsetof(struct fuse_direntplus, dirent), &d, FUSE_NAME_OFFSET);
        }
      else
        memcpy(buf + used, &d, FUSE_NAME_OFFSET);
      memcpy(buf + used + name_offset, de->d_name, namelen);
      used += reclen;
      h->offset = de->d_off;
    }
  reply_truncate(r, used);
  return 0;
}

static int
op_destroy(req_t *r)
{
  reply(r, NULL, 0);
  return 0;
}

static int
op_none(req_t *r)
{
  /* INTERRUPT: we answer every request before reading the next, so there is nothing to
   * interrupt; it takes no reply. */
  return 0;
}

static int
op_remove_file(req_t *r)
{
  return op_remove(r, 0);
}

static int
op_remove_dir(req_t *r)
{
  return op_remove(r, AT_REMOVEDIR);
}

typedef struct op
{
  int (*fn)(req_t *r);
  bool needs_node; /* h.nodeid must be a node of ours */
} op_t;

/* Everything else is ENOSYS, and the kernel stops asking or does it itself: ACCESS (the guest
 * mounts with default_permissions), the xattr calls (EOPNOTSUPP to the guest's callers), locks
 * (kept in the guest), FALLOCATE, LSEEK, COPY_FILE_RANGE (generic fallbacks), IOCTL, POLL, BMAP,
 * TMPFILE, SYNCFS; FLUSH, which every close(2) in the guest would wait for: every write was a
 * pwrite already and locks stay in the guest, so there is nothing to flush, and after ENOSYS the
 * kernel stops sending it (a round trip less per close). */
static const op_t ops[] = {
  [FUSE_INIT] = { op_init, false },
  [FUSE_DESTROY] = { op_destroy, false },
  [FUSE_INTERRUPT] = { op_none, false },
  [FUSE_FORGET] = { op_forget, false },
  [FUSE_BATCH_FORGET] = { op_batch_forget, false },
  [FUSE_LOOKUP] = { op_lookup, true },
  [FUSE_GETATTR] = { op_getattr, true },
  [FUSE_SETATTR] = { op_setattr, true },
  [FUSE_READLINK] = { op_readlink, true },
  [FUSE_SYMLINK] = { op_symlink, true },
  [FUSE_MKNOD] = { op_mknod, true },
  [FUSE_MKDIR] = { op_mkdir, true },
  [FUSE_UNLINK] = { op_remove_file, true },
  [FUSE_RMDIR] = { op_remove_dir, true },
  [FUSE_RENAME] = { op_rename, true },
  [FUSE_RENAME2] = { op_rename, true },
  [FUSE_LINK] = { op_link, true },
  [FUSE_OPEN] = { op_open, true },
  [FUSE_CREATE] = { op_create, true },
  [FUSE_READ] = { op_read, true },
  [FUSE_WRITE] = { op_write, true },
  [FUSE_STATFS] = { op_statfs, true },
  [FUSE_RELEASE] = { op_release, false },
  [FUSE_FSYNC] = { op_fsync, true },
  [FUSE_OPENDIR] = { op_opendir, true },
  [FUSE_READDIR] = { op_readdir, true },
  [FUSE_READDIRPLUS] = { op_readdir, true },
  [FUSE_RELEASEDIR] = { op_release, false },
  [FUSE_FSYNCDIR] = { op_fsync, true },
};

int
vm_share_handle(vm_share_t *s, const void *req, size_t len, void **ret, size_t *ret_len, isolazi_error_t *err)
{
  req_t r = { .s = s, .err = err };
  const op_t *op = NULL;
  size_t ext;
  int k;

  *ret = NULL;
  *ret_len = 0;
  if (len < sizeof r.h)
    return isolazi_error_set_plain(err, EPROTO, "answer a FUSE request for `%s`: malformed request: %zu bytes", s->path,
                                   len);
  memcpy(&r.h, req, sizeof r.h);
  if (r.h.len != len)
    return malformed(&r, "the header's length is not the request's");
  /* Extensions (total_extlen 8-byte units) follow the body; we negotiate none, but skip any. */
  ext = (size_t)r.h.total_extlen * 8;
  if (ext > len - sizeof r.h)
    return malformed(&r, "the extensions overrun the request");
  r.body = (const uint8_t *)req + sizeof r.h;
  r.body_len = len - sizeof r.h - ext;
  if (r.h.opcode < sizeof ops / sizeof ops[0] && ops[r.h.opcode].fn != NULL)
    op = &ops[r.h.opcode];
  if (op != NULL && op->needs_node)
    {
      r.node = node_get(s, r.h.nodeid);
      if (r.node == NULL)
        return malformed(&r, "unknown node id");
    }
  if (op == NULL)
    k = ENOSYS;
  else if (!s->initialized && r.h.opcode != FUSE_INIT)
    k = EIO; /* nothing before FUSE_INIT */
  else
    k = op->fn(&r);
  if (k < 0)
    {
      free(r.out);
      return -1;
    }
  if (k > 0)
    reply_error(&r, k);
  *ret = r.out;
  *ret_len = r.out_len;
  return 0;
}

vm_share_t *
vm_share_open(const char *path, bool readonly, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  vm_share_t *s;
  struct stat st;

  /* The host's path is resolved here, once, as a bind mount's source is; from now on only the
   * guest's names are looked up, and never followed. */
  fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      isolazi_error_errno(err, "open the shared directory `%s`", path);
      return NULL;
    }
  if (fstat(fd, &st) < 0)
    {
      isolazi_error_errno(err, "stat the shared directory `%s`", path);
      return NULL;
    }
  s = xcalloc(1, sizeof *s);
  s->path = xstrdup(path);
  s->readonly = readonly;
  s->next_generation = 1;
  hash_grow(s);
  (void)node_ref(s, steal_fd(&fd), &st); /* the first node: FUSE_ROOT_ID */
  return s;
}

void
vm_share_free(vm_share_t *s)
{
  size_t i;

  if (s == NULL)
    return;
  for (i = 0; i < s->nodes_len; i++)
    if (s->nodes[i] != NULL)
      {
        (void)close(s->nodes[i]->fd);
        free(s->nodes[i]);
      }
  for (i = 0; i < s->handles_len; i++)
    if (s->handles[i].kind != HANDLE_FREE)
      handle_close(s, &s->handles[i]);
  free(s->nodes);
  free(s->free_nodes);
  free(s->buckets);
  free(s->handles);
  free(s->free_handles);
  free(s->path);
  free(s);
}

/* Write the frame header and the reply, retrying short writes. */
static int
write_frame(int fd, const uint8_t hdr[VM_SHARE_FRAME_HEADER], const void *body, size_t len)
{
  struct iovec iov[2] = { { (void *)hdr, VM_SHARE_FRAME_HEADER }, { (void *)body, len } };
  int i = 0;

  while (i < 2)
    {
      ssize_t n = writev(fd, iov + i, 2 - i);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      while (i < 2 && (size_t)n >= iov[i].iov_len)
        n -= (ssize_t)iov[i++].iov_len;
      if (i < 2)
        {
          iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
          iov[i].iov_len -= (size_t)n;
        }
    }
  return 0;
}

int
vm_share_serve(int fd, vm_share_t *const *shares, size_t n, isolazi_error_t *err)
{
  cleanup_free uint8_t *buf = xmalloc(VM_SHARE_FRAME_MAX);

  for (;;)
    {
      uint8_t hdr[VM_SHARE_FRAME_HEADER];
      cleanup_free void *out = NULL;
      size_t out_len = 0;
      uint32_t idx, len;
      ssize_t k = isolazi_read_all(fd, hdr, sizeof hdr);

      if (k < 0)
        return isolazi_error_errno(err, "read a share request");
      if (k == 0)
        return 0;
      if ((size_t)k < sizeof hdr)
        return isolazi_error_set_plain(err, EPROTO, "read a share request: the stream ends inside a frame header");
      idx = vm_get_u32(hdr);
      len = vm_get_u32(hdr + 4);
      if (idx >= n)
        return isolazi_error_set_plain(err, EPROTO, "read a share request: unknown share %u (there are %zu)", idx, n);
      if (len > VM_SHARE_FRAME_MAX)
        return isolazi_error_set_plain(err, EPROTO, "read a share request: a frame of %u bytes is over the maximum",
                                       len);
      k = isolazi_read_all(fd, buf, len);
      if (k < 0)
        return isolazi_error_errno(err, "read a share request");
      if ((size_t)k < len)
        return isolazi_error_set_plain(err, EPROTO, "read a share request: the stream ends inside a frame");
      if (vm_share_handle(shares[idx], buf, len, &out, &out_len, err) < 0)
        return -1;
      if (out == NULL)
        continue;
      vm_put_u32(hdr + 4, (uint32_t)out_len);
      if (write_frame(fd, hdr, out, out_len) < 0)
        return isolazi_error_errno(err, "write a share reply");
    }
}
