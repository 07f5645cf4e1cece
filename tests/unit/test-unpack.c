/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/unpack.c: layers written here with libarchive's writer (plain, gzip, zstd), unpacked
 * into temporary roots, and the result checked; overlayfs form checked by mounting it (root);
 * and the malicious corpus, each attack its own case, with sentinels outside the root proving
 * nothing there changed.  This is the regression test for tar path traversal. */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "digest.h"
#include "unpack.h"
#include "utils.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool is_root;

/* One entry of a generated layer.  type: 'f' file, 'd' dir, 'l' symlink, 'h' hard link,
 * 'c'/'b' device, 'p' FIFO.  data: the content, or the link's target. */
typedef struct spec
{
  char type;
  const char *path;
  const char *data;
  mode_t mode;
  int64_t uid, gid; /* 0: the caller's (root's when root), -1: root's */
  time_t mtime;
  unsigned major, minor;
  const char *xname;
  const void *xval;
  size_t xlen;
  size_t size; /* 'f' with data NULL: this many bytes of a pattern */
} spec_t;

#define END                                                                                                            \
  {                                                                                                                    \
    0                                                                                                                  \
  }

typedef struct buf
{
  unsigned char *p;
  size_t len, cap;
} buf_t;

static la_ssize_t
buf_write(struct archive *a, void *data, const void *p, size_t n)
{
  buf_t *b = data;

  (void)a;
  if (b->len + n > b->cap)
    {
      b->cap = (b->len + n) * 2;
      b->p = xrealloc(b->p, b->cap);
    }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return (la_ssize_t)n;
}

static int64_t
default_id(void)
{
  return is_root ? 0 : (int64_t)getuid();
}

/* The plain tar of these entries (pax, so xattrs and long names fit). */
static buf_t
make_tar(const spec_t *s)
{
  struct archive *a = archive_write_new();
  buf_t b = { NULL, 0, 0 };

  archive_write_set_format_pax(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &b, NULL, buf_write, NULL);
  for (; s->type; s++)
    {
      struct archive_entry *e = archive_entry_new();
      cleanup_free char *pattern = NULL;
      size_t len = 0;

      archive_entry_set_pathname(e, s->path);
      archive_entry_set_perm(e, s->mode ? s->mode : (s->type == 'd' ? 0755 : 0644));
      archive_entry_set_uid(e, s->uid < 0 ? 0 : s->uid ? s->uid : default_id());
      archive_entry_set_gid(e, s->gid < 0 ? 0 : s->gid ? s->gid : default_id());
      archive_entry_set_mtime(e, s->mtime ? s->mtime : 1600000000, 0);
      if (s->xname)
        archive_entry_xattr_add_entry(e, s->xname, s->xval, s->xlen);
      switch (s->type)
        {
        case 'f':
          archive_entry_set_filetype(e, AE_IFREG);
          if (s->data == NULL && s->size > 0)
            {
              size_t i;
              pattern = xmalloc(s->size);
              for (i = 0; i < s->size; i++)
                pattern[i] = (char)('a' + i % 23);
            }
          len = s->data ? strlen(s->data) : s->size;
          archive_entry_set_size(e, (la_int64_t)len);
          break;
        case 'd':
          archive_entry_set_filetype(e, AE_IFDIR);
          break;
        case 'l':
          archive_entry_set_filetype(e, AE_IFLNK);
          archive_entry_set_symlink(e, s->data);
          break;
        case 'h':
          archive_entry_set_filetype(e, AE_IFREG);
          archive_entry_set_hardlink(e, s->data);
          break;
        case 'c':
        case 'b':
          archive_entry_set_filetype(e, s->type == 'c' ? AE_IFCHR : AE_IFBLK);
          archive_entry_set_rdevmajor(e, s->major);
          archive_entry_set_rdevminor(e, s->minor);
          break;
        case 'p':
          archive_entry_set_filetype(e, AE_IFIFO);
          break;
        }
      if (archive_write_header(a, e) < ARCHIVE_WARN)
        {
          printf("# write header `%.60s`: %s\n", s->path, archive_error_string(a));
          abort();
        }
      if (len > 0)
        archive_write_data(a, s->data ? s->data : pattern, len);
      archive_entry_free(e);
    }
  archive_write_close(a);
  archive_write_free(a);
  return b;
}

enum compression
{
  PLAIN,
  GZIP,
  ZSTD
};
static const char *const compression_names[] = { "plain", "gzip", "zstd" };

/* Compress bytes as they are (the raw format: one entry, no tar around it). */
static buf_t
compress_bytes(const buf_t *in, enum compression c)
{
  struct archive *a = archive_write_new();
  struct archive_entry *e = archive_entry_new();
  buf_t b = { NULL, 0, 0 };

  archive_write_set_format_raw(a);
  if (c == GZIP)
    archive_write_add_filter_gzip(a);
  else
    archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &b, NULL, buf_write, NULL);
  archive_entry_set_pathname(e, "layer");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, (la_int64_t)in->len);
  archive_write_header(a, e);
  archive_write_data(a, in->p, in->len);
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return b;
}

static int
bytes_fd(const void *p, size_t len)
{
  int fd = memfd_create("layer", MFD_CLOEXEC);

  if (fd < 0 || isolazi_write_all(fd, p, len) < 0 || lseek(fd, 0, SEEK_SET) < 0)
    abort();
  return fd;
}

static int
unpack_bytes(int root_fd, const void *p, size_t len, const isolazi_unpack_opts_t *opts, isolazi_unpack_stats_t *st,
             isolazi_error_t *err)
{
  cleanup_close int fd = bytes_fd(p, len);
  return isolazi_unpack_layer(root_fd, fd, opts, st, err);
}

/* Unpack a generated layer; mode APPLY unless told. */
static int
unpack_specs(int root_fd, const spec_t *s, enum compression c, const isolazi_unpack_opts_t *opts,
             isolazi_unpack_stats_t *st, isolazi_error_t *err)
{
  buf_t tar = make_tar(s), z = { NULL, 0, 0 };
  isolazi_unpack_opts_t def = { ISOLAZI_UNPACK_APPLY, !is_root, "layer test", 0 };
  int r;

  if (c != PLAIN)
    z = compress_bytes(&tar, c);
  r = unpack_bytes(root_fd, c != PLAIN ? z.p : tar.p, c != PLAIN ? z.len : tar.len, opts ? opts : &def, st, err);
  free(tar.p);
  free(z.p);
  return r;
}

/* ------------------------------------------------------------------------------------------
 * A world: a temporary directory holding the root and sentinels beside it
 * ---------------------------------------------------------------------------------------- */

typedef struct world
{
  char dir[64];
  char root[96];
  int root_fd;
  struct stat passwd;
} world_t;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  if (remove(path) < 0 && errno == EACCES)
    {
      /* Not root: a 0555 directory from a layer keeps its entries until it is writable. */
      cleanup_free char *parent = xstrdup(path);
      char *slash = strrchr(parent, '/');

      if (slash != NULL)
        *slash = '\0';
      (void)chmod(parent, 0700);
      (void)chmod(path, 0700);
      (void)remove(path);
    }
  return 0;
}

static void
rm_rf(const char *path)
{
  (void)nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void
write_text(const char *path, const char *text)
{
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || isolazi_write_all(fd, text, strlen(text)) < 0)
    abort();
}

static void
world_new(world_t *w)
{
  char path[160];

  snprintf(w->dir, sizeof w->dir, "/tmp/test-unpack.XXXXXX");
  if (mkdtemp(w->dir) == NULL)
    abort();
  snprintf(w->root, sizeof w->root, "%s/root", w->dir);
  if (mkdir(w->root, 0755) < 0)
    abort();
  snprintf(path, sizeof path, "%s/sentinel", w->dir);
  write_text(path, "keep");
  snprintf(path, sizeof path, "%s/outside", w->dir);
  if (mkdir(path, 0755) < 0)
    abort();
  snprintf(path, sizeof path, "%s/outside/keep", w->dir);
  write_text(path, "keep");
  w->root_fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (w->root_fd < 0 || stat("/etc/passwd", &w->passwd) < 0)
    abort();
}

static void
world_free(world_t *w)
{
  close(w->root_fd);
  rm_rf(w->dir);
}

static char *
at(const world_t *w, const char *rel)
{
  return xasprintf("%s/%s", w->root, rel);
}

static bool
exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

static bool
root_has(const world_t *w, const char *rel)
{
  cleanup_free char *p = at(w, rel);
  return exists(p);
}

static char *
slurp(const char *path)
{
  char *text = NULL;
  size_t len;
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  if (isolazi_read_file(path, &text, &len, &err) < 0)
    {
      isolazi_error_release(&err);
      return NULL;
    }
  return text;
}

static size_t
count_dir(const char *path)
{
  cleanup_closedir DIR *d = opendir(path);
  struct dirent *de;
  size_t n = 0;

  if (d == NULL)
    return (size_t)-1;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      n++;
  return n;
}

/* Nothing outside the root changed: the world holds exactly root, sentinel and outside/keep,
 * both sentinels say "keep" with one link, and the host's /etc/passwd is as it was. */
static bool
world_intact(const world_t *w)
{
  char path[160];
  cleanup_free char *s1 = NULL;
  cleanup_free char *s2 = NULL;
  struct stat st, pw;
  bool ok = true;

  ok = ok && count_dir(w->dir) == 3;
  snprintf(path, sizeof path, "%s/outside", w->dir);
  ok = ok && count_dir(path) == 1;
  snprintf(path, sizeof path, "%s/sentinel", w->dir);
  s1 = slurp(path);
  ok = ok && s1 && strcmp(s1, "keep") == 0 && lstat(path, &st) == 0 && st.st_nlink == 1;
  snprintf(path, sizeof path, "%s/outside/keep", w->dir);
  s2 = slurp(path);
  ok = ok && s2 && strcmp(s2, "keep") == 0 && lstat(path, &st) == 0 && st.st_nlink == 1;
  ok = ok && stat("/etc/passwd", &pw) == 0 && pw.st_ino == w->passwd.st_ino && pw.st_nlink == w->passwd.st_nlink
       && pw.st_size == w->passwd.st_size && pw.st_mtim.tv_sec == w->passwd.st_mtim.tv_sec;
  ok = ok && !exists("/isolazi-unpack-pwned") && !exists("/tmp/isolazi-unpack-pwned");
  return ok;
}

static bool
msg_has(const isolazi_error_t *err, const char *needle)
{
  bool ok = err->msg != NULL && strstr(err->msg, needle) != NULL;

  if (!ok)
    printf("#   message: %s\n#   wanted:  %s\n", err->msg ? err->msg : "(none)", needle);
  return ok;
}

/* ------------------------------------------------------------------------------------------
 * Formats, entry types, metadata
 * ---------------------------------------------------------------------------------------- */

static void
test_compressions(void)
{
  static const spec_t layer[]
      = { { 'd', "etc" }, { 'f', "etc/hostname", "box\n" }, { 'f', "big", NULL, .size = 300000 }, END };
  buf_t tar = make_tar(layer);
  char want[ISOLAZI_DIGEST_MAX];
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int c;

  isolazi_digest_buffer("sha256", tar.p, tar.len, want, &err);
  for (c = PLAIN; c <= ZSTD; c++)
    {
      world_t w;
      isolazi_unpack_stats_t st;
      cleanup_free char *host = NULL;
      cleanup_free char *big = NULL;
      struct stat sb;
      int r;

      world_new(&w);
      memset(&st, 0, sizeof st);
      r = unpack_specs(w.root_fd, layer, c, NULL, &st, &err);
      tap_ok(r == 0, "%s layer unpacks%s%s", compression_names[c], r ? ": " : "", r ? err.msg : "");
      host = at(&w, "etc/hostname");
      big = at(&w, "big");
      cleanup_free char *text = slurp(host);
      tap_streq(text, "box\n", "%s: file content", compression_names[c]);
      tap_ok(stat(big, &sb) == 0 && sb.st_size == 300000, "%s: a file of several blocks is whole",
             compression_names[c]);
      tap_streq(st.diff_id, want, "%s: diff_id is the sha256 of the plain tar", compression_names[c]);
      tap_ok(st.entries == 3, "%s: 3 entries counted", compression_names[c]);
      isolazi_error_release(&err);
      world_free(&w);
    }
  free(tar.p);
}

/* Bytes after the tar's end are part of the diff_id (it hashes the whole stream). */
static void
test_diff_id_trailing(void)
{
  static const spec_t layer[] = { { 'f', "a", "x" }, END };
  buf_t tar = make_tar(layer);
  char want[ISOLAZI_DIGEST_MAX];
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_stats_t st;
  world_t w;

  tar.p = xrealloc(tar.p, tar.len + 10240);
  memset(tar.p + tar.len, 0, 10240);
  tar.len += 10240;
  isolazi_digest_buffer("sha256", tar.p, tar.len, want, &err);
  world_new(&w);
  tap_ok(unpack_bytes(w.root_fd, tar.p, tar.len, NULL, &st, &err) == 0, "a tar padded with 10 KiB of zeros unpacks");
  tap_streq(st.diff_id, want, "the padding is hashed into the diff_id");
  world_free(&w);
  free(tar.p);
}

static void
test_types_and_metadata(void)
{
  /* A v2 file capability: CAP_NET_BIND_SERVICE (10) permitted and effective. */
  static const unsigned char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };
  int64_t big = is_root ? 100000000 : default_id();
  int64_t top = is_root ? 4294967294LL : default_id();
  const spec_t layer[] = {
    { 'd', "d", .mode = 0750, .mtime = 1000000000 },
    { 'f', "d/f", "hello", .mode = 0640, .uid = big, .gid = big + 1, .mtime = 1234567890, .xname = "user.test",
      .xval = "v1", .xlen = 2 },
    { 'f', "d/su", "#!", .mode = 04755 },
    { 'f', "d/sg", "#!", .mode = 02711 },
    { 'f', "d/top", "", .uid = top, .gid = top },
    { 'l', "d/ln", "f", .mtime = 1111111111, .uid = big, .gid = big },
    { 'l', "d/lnx", "/nowhere", .xname = "trusted.note", .xval = "n", .xlen = 1 },
    { 'h', "d/hl", "d/f" },
    { 'p', "d/fifo", .mode = 0620 },
    { 'c', "d/null", .mode = 0666, .major = 1, .minor = 3 },
    { 'b', "d/loop", .mode = 0660, .major = 7, .minor = 0 },
    { 'f', "d/cap", "", .mode = 0755, .xname = "security.capability", .xval = cap, .xlen = sizeof cap },
    { 'd', "d/ro", .mode = 0555, .mtime = 1200000000 },
    { 'f', "d/ro/inside", "x", .mode = 0444 },
    END,
  };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_APPLY, false, "layer meta", 0 };
  isolazi_unpack_stats_t st;
  struct stat sb, sb2;
  char buf[64];
  ssize_t n;
  world_t w;
  int r;

  if (!is_root)
    {
      tap_ok(1, "# SKIP device nodes, ownership and capabilities need root");
      return;
    }
  world_new(&w);
  r = unpack_specs(w.root_fd, layer, GZIP, &opts, &st, &err);
  tap_ok(r == 0, "every entry type unpacks%s%s", r ? ": " : "", r ? err.msg : "");
  {
    cleanup_free char *p = at(&w, "d/f");
    tap_ok(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 07777) == 0640, "file mode 0640");
    tap_ok(sb.st_uid == 100000000 && sb.st_gid == 100000001, "large uid and gid kept (%u:%u)", sb.st_uid, sb.st_gid);
    tap_ok(sb.st_mtim.tv_sec == 1234567890, "file mtime");
    n = getxattr(p, "user.test", buf, sizeof buf);
    tap_ok(n == 2 && memcmp(buf, "v1", 2) == 0, "user xattr on the file");
  }
  {
    cleanup_free char *p = at(&w, "d/su");
    cleanup_free char *q = at(&w, "d/sg");
    tap_ok(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 04755, "setuid bit kept after chown");
    tap_ok(stat(q, &sb) == 0 && (sb.st_mode & 07777) == 02711, "setgid bit kept after chown");
  }
  {
    cleanup_free char *p = at(&w, "d/top");
    tap_ok(stat(p, &sb) == 0 && sb.st_uid == 4294967294U && sb.st_gid == 4294967294U, "uid 4294967294 kept");
  }
  {
    cleanup_free char *p = at(&w, "d/ln");
    tap_ok(lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode), "symlink created");
    n = readlink(p, buf, sizeof buf - 1);
    tap_ok(n == 1 && buf[0] == 'f', "symlink target as written");
    tap_ok(sb.st_mtim.tv_sec == 1111111111 && sb.st_uid == 100000000, "symlink's own mtime and owner");
  }
  {
    cleanup_free char *p = at(&w, "d/lnx");
    n = lgetxattr(p, "trusted.note", buf, sizeof buf);
    tap_ok(n == 1 && buf[0] == 'n', "xattr on the symlink itself (its target does not exist)");
  }
  {
    cleanup_free char *p = at(&w, "d/hl");
    cleanup_free char *q = at(&w, "d/f");
    tap_ok(lstat(p, &sb) == 0 && lstat(q, &sb2) == 0 && sb.st_ino == sb2.st_ino && sb.st_nlink == 2,
           "hard link shares the inode");
  }
  {
    cleanup_free char *p = at(&w, "d/fifo");
    tap_ok(lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode) && (sb.st_mode & 07777) == 0620, "FIFO with its mode");
  }
  {
    cleanup_free char *p = at(&w, "d/null");
    cleanup_free char *q = at(&w, "d/loop");
    tap_ok(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && major(sb.st_rdev) == 1 && minor(sb.st_rdev) == 3
               && (sb.st_mode & 07777) == 0666,
           "character device 1:3");
    tap_ok(lstat(q, &sb) == 0 && S_ISBLK(sb.st_mode) && major(sb.st_rdev) == 7 && minor(sb.st_rdev) == 0,
           "block device 7:0");
  }
  {
    cleanup_free char *p = at(&w, "d/cap");
    n = getxattr(p, "security.capability", buf, sizeof buf);
    tap_ok(n == (ssize_t)sizeof cap && memcmp(buf, cap, sizeof cap) == 0, "file capability (security.capability)");
  }
  {
    cleanup_free char *p = at(&w, "d");
    cleanup_free char *q = at(&w, "d/ro");
    cleanup_free char *i = at(&w, "d/ro/inside");
    tap_ok(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0750 && sb.st_mtim.tv_sec == 1000000000,
           "directory mode and mtime set after its contents");
    tap_ok(stat(q, &sb) == 0 && (sb.st_mode & 07777) == 0555 && sb.st_mtim.tv_sec == 1200000000 && exists(i),
           "read-only directory with its content");
  }
  tap_ok(st.entries == 14 && st.skipped == 0 && st.unowned == 0, "stats: 14 entries, none skipped");
  isolazi_error_release(&err);
  world_free(&w);
}

/* Names in the C locale: bytes as they are, UTF-8 included; "./" prefixes and "/" dropped. */
static void
test_names(void)
{
  static const spec_t layer[] = {
    { 'f', "./dot", "1" },    { 'f', "/abs/olute", "2" },  { 'f', "caf\xc3\xa9", "3" },
    { 'f', "a//b/./c", "4" }, { 'd', "./", .mode = 0711 }, END,
  };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  struct stat sb;
  world_t w;
  int r;

  world_new(&w);
  umask(077);
  r = unpack_specs(w.root_fd, layer, PLAIN, NULL, NULL, &err);
  umask(022);
  tap_ok(r == 0, "names unpack%s%s", r ? ": " : "", r ? err.msg : "");
  {
    cleanup_free char *p = at(&w, "abs");
    tap_ok(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0755, "a parent made on the way is 0755 under umask 077");
  }
  tap_ok(root_has(&w, "dot") && root_has(&w, "abs/olute") && root_has(&w, "caf\xc3\xa9") && root_has(&w, "a/b/c"),
         "./x, /x, UTF-8 and a//b/./c land where they should");
  tap_ok(fstat(w.root_fd, &sb) == 0 && (sb.st_mode & 07777) == 0711, "a `./` entry sets the root's mode");
  tap_ok(world_intact(&w), "nothing outside the root changed");
  isolazi_error_release(&err);
  world_free(&w);
}

/* ------------------------------------------------------------------------------------------
 * Layers on layers: whiteouts, opaque directories, type changes
 * ---------------------------------------------------------------------------------------- */

static const spec_t base_layer[] = {
  { 'd', "a" },           { 'f', "a/x", "x" },
  { 'f', "a/y", "y" },    { 'd', "b" },
  { 'f', "b/z", "z" },    { 'f', "c", "c" },
  { 'd', "d" },           { 'f', "d/old", "o" },
  { 'd', "d/sub" },       { 'f', "d/sub/old", "o" },
  { 'd', "e" },           { 'd', "k" },
  { 'f', "k/keep", "k" }, END,
};

static const spec_t change_layer[] = {
  { 'f', "a/.wh.x", "" },
  { 'f', ".wh.c", "" },
  { 'f', "b/.wh..wh..opq", "" }, /* marker first, then the new content */
  { 'f', "b/n", "n" },
  { 'f', "d/new", "n" }, /* new content first, then the marker */
  { 'f', "d/sub/new", "n" },
  { 'f', "d/.wh..wh..opq", "" },
  { 'f', "e/f", "f" }, /* a whiteout of this layer's own file does not hide it */
  { 'f', "e/.wh.f", "" },
  { 'f', "k/.wh..wh.plnk", "" }, /* AUFS bookkeeping: ignored */
  { 'f', "gone/.wh.nothing", "" },
  END,
};

static void
test_whiteouts_apply(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  world_t w;
  int r;

  world_new(&w);
  r = unpack_specs(w.root_fd, base_layer, GZIP, NULL, NULL, &err);
  if (r == 0)
    r = unpack_specs(w.root_fd, change_layer, ZSTD, NULL, NULL, &err);
  tap_ok(r == 0, "two layers apply%s%s", r ? ": " : "", r ? err.msg : "");
  tap_ok(!root_has(&w, "a/x") && root_has(&w, "a/y"), "whiteout removes a/x and only it");
  tap_ok(!root_has(&w, "c"), "whiteout at the top level removes c");
  tap_ok(!root_has(&w, "b/z") && root_has(&w, "b/n"), "opaque marker before the files: b holds only the new file");
  tap_ok(!root_has(&w, "d/old") && !root_has(&w, "d/sub/old"), "opaque marker after the files: earlier content gone");
  tap_ok(root_has(&w, "d/new") && root_has(&w, "d/sub/new"), "opaque marker after the files: this layer's files stay");
  tap_ok(root_has(&w, "e/f"), "a whiteout never hides its own layer's file");
  tap_ok(root_has(&w, "k/keep") && !root_has(&w, "k/.wh..wh.plnk"), ".wh..wh.* bookkeeping is ignored");
  tap_ok(!root_has(&w, "gone") && !root_has(&w, "a/.wh.x") && !root_has(&w, "b/.wh..wh..opq"),
         "markers leave no files and no directories for nothing");
  tap_ok(world_intact(&w), "nothing outside the root changed");
  isolazi_error_release(&err);
  world_free(&w);
}

static void
test_type_changes(void)
{
  static const spec_t first[] = {
    { 'f', "p", "file" },
    { 'd', "q" },
    { 'f', "q/child", "c" },
    { 'l', "r", "p" },
    { 'd', "s" },
    { 'f', "s/x", "x" },
    { 'd', "m", .mode = 0755 },
    { 'f', "m/child", "c" },
    { 'l', "t", "/q" },
    END,
  };
  static const spec_t second[] = {
    { 'd', "p" },      { 'f', "p/in", "in" },      { 'f', "q", "now a file" },       { 'd', "r" },
    { 'l', "s", "p" }, { 'd', "m", .mode = 0700 }, { 'f', "t", "no longer a link" }, END,
  };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  struct stat sb;
  world_t w;
  int r;

  world_new(&w);
  r = unpack_specs(w.root_fd, first, PLAIN, NULL, NULL, &err);
  if (r == 0)
    r = unpack_specs(w.root_fd, second, PLAIN, NULL, NULL, &err);
  tap_ok(r == 0, "type-changing layers apply%s%s", r ? ": " : "", r ? err.msg : "");
  {
    cleanup_free char *p = at(&w, "p");
    tap_ok(lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && root_has(&w, "p/in"), "file → directory");
  }
  {
    cleanup_free char *p = at(&w, "q");
    cleanup_free char *text = slurp(p);
    tap_ok(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode), "directory → file");
    tap_streq(text, "now a file", "the new file's content");
  }
  {
    cleanup_free char *p = at(&w, "r");
    tap_ok(lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode), "symlink → directory (not the link's target)");
  }
  {
    cleanup_free char *p = at(&w, "s");
    tap_ok(lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode) && !root_has(&w, "p/x"), "directory → symlink");
  }
  {
    cleanup_free char *p = at(&w, "m");
    tap_ok(lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 07777) == 0700 && root_has(&w, "m/child"),
           "directory over a directory: content kept, mode updated");
  }
  {
    cleanup_free char *p = at(&w, "t");
    cleanup_free char *q = at(&w, "q");
    tap_ok(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && lstat(q, &sb) == 0 && sb.st_size == 10,
           "file over a symlink replaces the link, never writes through it");
  }
  tap_ok(world_intact(&w), "nothing outside the root changed");
  isolazi_error_release(&err);
  world_free(&w);
}

/* ------------------------------------------------------------------------------------------
 * Overlay form
 * ---------------------------------------------------------------------------------------- */

static int
check_merged(const char *l1, const char *l2, const char *merged)
{
  cleanup_free char *opts = xasprintf("lowerdir=%s:%s", l2, l1);
  int bad = 0;
  char p[512];

  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return 100;
  if (mount("overlay", merged, "overlay", MS_RDONLY, opts) < 0)
    {
      printf("# mount overlay: %s\n", strerror(errno));
      return 100;
    }
#define PRESENT(rel, bit)                                                                                              \
  do                                                                                                                   \
    {                                                                                                                  \
      snprintf(p, sizeof p, "%s/%s", merged, rel);                                                                     \
      if (!exists(p))                                                                                                  \
        bad |= bit;                                                                                                    \
    }                                                                                                                  \
  while (0)
#define ABSENT(rel, bit)                                                                                               \
  do                                                                                                                   \
    {                                                                                                                  \
      snprintf(p, sizeof p, "%s/%s", merged, rel);                                                                     \
      if (exists(p))                                                                                                   \
        bad |= bit;                                                                                                    \
    }                                                                                                                  \
  while (0)
  ABSENT("a/x", 1);
  PRESENT("a/y", 1);
  ABSENT("c", 2);
  ABSENT("b/z", 4);
  PRESENT("b/n", 4);
  ABSENT("d/old", 8);
  ABSENT("d/sub/old", 8);
  PRESENT("d/new", 16);
  PRESENT("d/sub/new", 16);
  PRESENT("e/f", 32);
  PRESENT("k/keep", 32);
#undef PRESENT
#undef ABSENT
  return bad;
}

static void
test_overlay_form(bool rootless)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_OVERLAY, rootless, "layer overlay", 0 };
  const char *xattr = rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
  const char *label = rootless ? "rootless overlay" : "overlay";
  char buf[8];
  struct stat sb;
  world_t w1, w2;
  int r;

  if (!is_root)
    {
      tap_ok(1, "# SKIP %s form: whiteout devices need root (or a user namespace)", label);
      return;
    }
  world_new(&w1);
  world_new(&w2);
  r = unpack_specs(w1.root_fd, base_layer, GZIP, &opts, NULL, &err);
  if (r == 0)
    r = unpack_specs(w2.root_fd, change_layer, GZIP, &opts, NULL, &err);
  tap_ok(r == 0, "%s: layers unpack on their own%s%s", label, r ? ": " : "", r ? err.msg : "");
  {
    cleanup_free char *p = at(&w2, "a/x");
    cleanup_free char *q = at(&w2, "c");
    tap_ok(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(0, 0) && lstat(q, &sb) == 0
               && S_ISCHR(sb.st_mode),
           "%s: a whiteout is a 0:0 character device", label);
  }
  {
    cleanup_free char *b = at(&w2, "b");
    cleanup_free char *d = at(&w2, "d");
    ssize_t n1 = lgetxattr(b, xattr, buf, sizeof buf), n2 = lgetxattr(d, xattr, buf, sizeof buf);
    tap_ok(n1 == 1 && n2 == 1 && buf[0] == 'y', "%s: opaque directories carry %s=y", label, xattr);
    tap_ok(root_has(&w2, "d/new") && root_has(&w2, "b/n"), "%s: an opaque directory keeps its layer's files", label);
  }
  {
    cleanup_free char *p = at(&w2, "e/f");
    tap_ok(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode), "%s: a whiteout of this layer's own file is dropped", label);
  }
  tap_ok(!root_has(&w2, "a/y") && !root_has(&w2, "b/.wh..wh..opq") && !root_has(&w2, "k"),
         "%s: the layer alone, no marker files", label);
  if (!rootless)
    {
      cleanup_free char *merged = xasprintf("%s/outside", w2.dir);
      pid_t pid = fork();
      int status;

      if (pid == 0)
        _exit(check_merged(w1.root, w2.root, merged));
      waitpid(pid, &status, 0);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
        tap_ok(1, "# SKIP overlayfs cannot be mounted here");
      else
        {
          int bad = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
          tap_ok(!(bad & 1), "merged view: a/x hidden, a/y shown");
          tap_ok(!(bad & 2), "merged view: c hidden");
          tap_ok(!(bad & 4), "merged view: opaque b shows only the new file");
          tap_ok(!(bad & 8), "merged view: opaque d hides the earlier files (marker after the files)");
          tap_ok(!(bad & 16), "merged view: opaque d shows this layer's files");
          tap_ok(!(bad & 32), "merged view: own-layer whiteout and AUFS bookkeeping hide nothing");
        }
    }
  isolazi_error_release(&err);
  world_free(&w1);
  world_free(&w2);
}

/* A layer's own trusted.overlay.* / user.overlay.* xattrs would steer the merged view: dropped. */
static void
test_overlay_xattrs_refused(void)
{
  static const spec_t layer[] = { { 'd', "x", .xname = "user.overlay.opaque", .xval = "y", .xlen = 1 },
                                  { 'f', "x/f", "", .xname = "user.overlay.redirect", .xval = "/etc", .xlen = 4 },
                                  END };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_stats_t st;
  char buf[8];
  world_t w;
  int r;

  world_new(&w);
  r = unpack_specs(w.root_fd, layer, PLAIN, NULL, &st, &err);
  {
    cleanup_free char *p = at(&w, "x");
    cleanup_free char *q = at(&w, "x/f");
    tap_ok(r == 0 && lgetxattr(p, "user.overlay.opaque", buf, sizeof buf) < 0
               && lgetxattr(q, "user.overlay.redirect", buf, sizeof buf) < 0 && st.xattrs_skipped >= 2,
           "overlayfs xattrs from the layer are not set (counted as skipped)");
  }
  isolazi_error_release(&err);
  world_free(&w);
}

/* A directory the layer has no entry for (it writes `tmp/x` only) hides the lower layers' one in
 * the merged view: over lower layers it takes their metadata, looked up as overlayfs does. */
static const spec_t implicit_l0[] = {
  { 'd', "tmp", .mode = 01777, .uid = 12, .gid = 34, .mtime = 1400000000, .xname = "user.test", .xval = "base",
    .xlen = 4 },
  { 'd', "var", .mode = 0700, .mtime = 1400000001 },
  { 'd', "var/cache", .mode = 0750, .mtime = 1400000002 },
  { 'd', "gone", .mode = 0700 },
  { 'd', "filed", .mode = 0700 },
  { 'd', "op", .mode = 0700 },
  { 'd', "op/sub", .mode = 0711 },
  { 'l', "lnk", "tmp" },
  { 'd', "exp", .mode = 0770 },
  { 'd', "deep", .mode = 0700, .mtime = 1400000003 },
  { 'd', "deep/in", .mode = 0710 },
  END,
};
static const spec_t implicit_l1[] = {
  { 'f', ".wh.gone", "" },
  { 'f', "filed", "a file now" },
  { 'd', "op", .mode = 0701 },
  { 'f', "op/.wh..wh..opq", "" },
  { 'd', "mid", .mode = 0750, .mtime = 1500000000 },
  { 'f', "var/cache/other", "o" },
  END,
};
static const spec_t implicit_l2[] = {
  { 'f', "tmp/x", "x" },
  { 'f', "var/cache/y", "y" },
  { 'f', "gone/x", "x" },
  { 'f', "filed/x", "x" },
  { 'f', "op/sub/x", "x" },
  { 'f', "lnk/x", "x" },
  { 'f', "mid/x", "x" },
  { 'f', "new/sub/x", "x" },
  { 'f', "exp/x", "x" },
  { 'd', "exp", .mode = 0701 },
  { 'f', "deep/in/x", "x" },
  { 'f', "deep/.wh..wh..opq", "" },
  END,
};

/* Exit code: bit 1 /tmp's mode and owner, 2 its mtime, 4 var/cache, 8 the directories no lower
 * layer shows; 100 when overlayfs cannot be mounted. */
static int
check_merged_implicit(const char *l0, const char *l1, const char *l2, const char *merged)
{
  cleanup_free char *opts = xasprintf("lowerdir=%s:%s:%s", l2, l1, l0);
  cleanup_free char *tmp = xasprintf("%s/tmp", merged);
  cleanup_free char *cache = xasprintf("%s/var/cache", merged);
  cleanup_free char *gone = xasprintf("%s/gone", merged);
  cleanup_free char *sub = xasprintf("%s/op/sub", merged);
  struct stat sb;
  int bad = 0;

  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return 100;
  if (mount("overlay", merged, "overlay", MS_RDONLY, opts) < 0)
    {
      printf("# mount overlay: %s\n", strerror(errno));
      return 100;
    }
  if (stat(tmp, &sb) < 0 || (sb.st_mode & 07777) != 01777 || sb.st_uid != 12 || sb.st_gid != 34)
    bad |= 1;
  if (stat(tmp, &sb) < 0 || sb.st_mtim.tv_sec != 1400000000)
    bad |= 2;
  if (stat(cache, &sb) < 0 || (sb.st_mode & 07777) != 0750)
    bad |= 4;
  if (stat(gone, &sb) < 0 || (sb.st_mode & 07777) != 0755 || stat(sub, &sb) < 0 || (sb.st_mode & 07777) != 0755)
    bad |= 8;
  (void)umount(merged);
  return bad;
}

static mode_t
mode_at(const world_t *w, const char *rel, struct stat *sb)
{
  cleanup_free char *p = at(w, rel);

  if (lstat(p, sb) < 0)
    return (mode_t)-1;
  return S_ISDIR(sb->st_mode) ? sb->st_mode & 07777 : (mode_t)-2;
}

static void
test_overlay_implicit_parents(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_OVERLAY, false, "layer implicit", 0 };
  isolazi_unpack_stats_t st;
  int lowers[2];
  struct stat sb;
  char buf[16];
  world_t w0, w1, w2;
  int r;

  if (!is_root)
    {
      tap_ok(1, "# SKIP implicit parents over lower layers: whiteout devices need root");
      return;
    }
  world_new(&w0);
  world_new(&w1);
  world_new(&w2);
  r = unpack_specs(w0.root_fd, implicit_l0, PLAIN, &opts, NULL, &err);
  if (r == 0)
    {
      lowers[0] = w0.root_fd;
      opts.lower_fds = lowers;
      opts.n_lowers = 1;
      r = unpack_specs(w1.root_fd, implicit_l1, GZIP, &opts, NULL, &err);
    }
  if (r == 0)
    {
      lowers[0] = w1.root_fd;
      lowers[1] = w0.root_fd;
      opts.n_lowers = 2;
      r = unpack_specs(w2.root_fd, implicit_l2, PLAIN, &opts, &st, &err);
    }
  tap_ok(r == 0, "implicit parents: three layers unpack over each other%s%s", r ? ": " : "", r ? err.msg : "");
  tap_ok(mode_at(&w2, "tmp", &sb) == 01777 && sb.st_uid == 12 && sb.st_gid == 34,
         "implicit parents: tmp takes the lower layer's 1777 and owner 12:34");
  tap_ok(mode_at(&w2, "tmp", &sb) == 01777 && sb.st_mtim.tv_sec == 1400000000,
         "implicit parents: tmp takes the lower layer's mtime");
  {
    cleanup_free char *p0 = at(&w0, "tmp");
    cleanup_free char *p2 = at(&w2, "tmp");
    ssize_t n = lgetxattr(p0, "user.test", buf, sizeof buf);

    if (n < 0)
      tap_ok(1, "# SKIP implicit parents: no user xattrs on this filesystem");
    else
      tap_ok(lgetxattr(p2, "user.test", buf, sizeof buf) == 4 && memcmp(buf, "base", 4) == 0,
             "implicit parents: tmp takes the lower layer's xattrs");
  }
  tap_ok(mode_at(&w1, "var", &sb) == 0700 && mode_at(&w1, "var/cache", &sb) == 0750,
         "implicit parents: every missing component takes its own lower directory's mode");
  tap_ok(mode_at(&w2, "var", &sb) == 0700 && mode_at(&w2, "var/cache", &sb) == 0750 && sb.st_mtim.tv_sec == 1400000002,
         "implicit parents: through an implicit directory of the layer between");
  tap_ok(mode_at(&w2, "mid", &sb) == 0750 && sb.st_mtim.tv_sec == 1500000000,
         "implicit parents: the nearest lower layer wins");
  tap_ok(mode_at(&w2, "op", &sb) == 0701, "implicit parents: an opaque lower directory's own mode");
  {
    cleanup_free char *p = at(&w2, "op");
    tap_ok(lgetxattr(p, "trusted.overlay.opaque", buf, sizeof buf) < 0,
           "implicit parents: the lower layer's opaque marker is not copied");
  }
  tap_ok(mode_at(&w2, "op/sub", &sb) == 0755, "implicit parents: a lower opaque directory hides the layers below");
  tap_ok(mode_at(&w2, "gone", &sb) == 0755 && sb.st_uid == 0, "implicit parents: whited out below: 0755 root");
  tap_ok(mode_at(&w2, "filed", &sb) == 0755, "implicit parents: a file below: 0755 (the directory replaces it)");
  tap_ok(mode_at(&w2, "lnk", &sb) == 0755, "implicit parents: a symlink below is not followed: 0755");
  tap_ok(mode_at(&w2, "new", &sb) == 0755 && mode_at(&w2, "new/sub", &sb) == 0755 && sb.st_uid == 0,
         "implicit parents: in no lower layer: 0755 root");
  tap_ok(mode_at(&w2, "exp", &sb) == 0701, "implicit parents: a later entry for the directory wins");
  tap_ok(mode_at(&w2, "deep", &sb) == 0700 && mode_at(&w2, "deep/in", &sb) == 0755,
         "implicit parents: the layer's own opaque marker (after the files) hides the lower ones");
  {
    cleanup_free char *merged = xasprintf("%s/outside", w2.dir);
    pid_t pid = fork();
    int status;

    if (pid == 0)
      _exit(check_merged_implicit(w0.root, w1.root, w2.root, merged));
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
      tap_ok(1, "# SKIP overlayfs cannot be mounted here");
    else
      {
        int bad = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
        tap_ok(!(bad & 1), "merged view: /tmp is 1777 12:34");
        tap_ok(!(bad & 2), "merged view: /tmp keeps the lower layer's mtime");
        tap_ok(!(bad & 4), "merged view: var/cache keeps 0750");
        tap_ok(!(bad & 8), "merged view: over a whiteout or an opaque directory, 0755");
      }
  }
  tap_ok(world_intact(&w0) && world_intact(&w1) && world_intact(&w2), "implicit parents: nothing outside changed");
  isolazi_error_release(&err);
  world_free(&w0);
  world_free(&w1);
  world_free(&w2);
}

/* ------------------------------------------------------------------------------------------
 * Rootless
 * ---------------------------------------------------------------------------------------- */

typedef struct rootless_result
{
  int r;
  isolazi_unpack_stats_t st;
  char msg[256];
} rootless_result_t;

static void
test_rootless(void)
{
  static const spec_t layer[] = {
    { 'd', "d", .mode = 0555, .mtime = 1300000000 },
    { 'f', "d/by-root", "r", .uid = -1, .gid = -1, .mode = 0600 },
    { 'c', "d/null", .major = 1, .minor = 3 },
    { 'b', "d/sda", .major = 8, .minor = 0 },
    { 'p', "d/fifo" },
    { 'd', "o" },
    { 'f', "o/.wh..wh..opq", "" },
    END,
  };
  isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_OVERLAY, true, "layer rootless", 0 };
  rootless_result_t res;
  struct stat sb;
  char buf[8];
  world_t w;
  int fds[2];
  pid_t pid;

  world_new(&w);
  memset(&res, 0, sizeof res);
  /* As root, a child with nobody's ids plays the rootless caller. */
  if (pipe2(fds, O_CLOEXEC) < 0)
    abort();
  pid = is_root ? fork() : 0;
  if (pid == 0)
    {
      isolazi_error_t err = ISOLAZI_ERROR_INIT;

      if (is_root
          && (chown(w.root, 65534, 65534) < 0 || setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0
              || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0))
        _exit(1);
      res.r = unpack_specs(w.root_fd, layer, GZIP, &opts, &res.st, &err);
      if (err.msg)
        snprintf(res.msg, sizeof res.msg, "%s", err.msg);
      isolazi_error_release(&err);
      if (is_root)
        {
          (void)isolazi_write_all(fds[1], &res, sizeof res);
          _exit(0);
        }
    }
  else
    {
      close(fds[1]);
      fds[1] = -1;
      if (isolazi_read_all(fds[0], &res, sizeof res) != (ssize_t)sizeof res)
        res.r = -2;
      waitpid(pid, NULL, 0);
    }
  close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
  tap_ok(res.r == 0, "rootless unpack succeeds%s%s", res.r ? ": " : "", res.msg);
  tap_ok(res.st.skipped == 2 && !root_has(&w, "d/null") && !root_has(&w, "d/sda"),
         "rootless: device nodes skipped and counted (%lu)", res.st.skipped);
  {
    cleanup_free char *p = at(&w, "d/fifo");
    tap_ok(lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode), "rootless: FIFOs are created");
  }
  {
    cleanup_free char *p = at(&w, "d/by-root");
    tap_ok(res.st.unowned >= 1 && lstat(p, &sb) == 0 && sb.st_uid != 0,
           "rootless: a refused chown is counted (%lu), not an error", res.st.unowned);
  }
  {
    cleanup_free char *p = at(&w, "d");
    tap_ok(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 0555 && sb.st_mtim.tv_sec == 1300000000,
           "rootless: a 0555 directory gets its mode after its contents");
  }
  {
    cleanup_free char *p = at(&w, "o");
    tap_ok(lgetxattr(p, "user.overlay.opaque", buf, sizeof buf) == 1 && buf[0] == 'y',
           "rootless: opaque directory carries user.overlay.opaque=y");
  }
  world_free(&w);
}

/* ------------------------------------------------------------------------------------------
 * Malicious layers: each attack on its own, sentinels outside
 * ---------------------------------------------------------------------------------------- */

/* Unpack layers one after the other into a fresh world; expect_ok: whether the last one
 * should succeed; needle: what its error must say.  Returns the world for more checks. */
static void
attack(world_t *w, const char *what, const spec_t *const *layers, bool expect_ok, const char *needle)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  int r = 0;

  world_new(w);
  for (; *layers && r == 0; layers++)
    r = unpack_specs(w->root_fd, *layers, GZIP, NULL, NULL, &err);
  if (expect_ok)
    tap_ok(r == 0, "%s: stays inside the root%s%s", what, r ? ": " : "", r ? err.msg : "");
  else
    tap_ok(r < 0 && msg_has(&err, needle), "%s: fails naming the entry", what);
  tap_ok(world_intact(w), "%s: nothing outside the root changed", what);
  isolazi_error_release(&err);
}

static void
test_attack_absolute(void)
{
  static const spec_t l[] = { { 'f', "/tmp/isolazi-unpack-pwned", "x" }, { 'f', "/isolazi-unpack-pwned", "x" }, END };
  const spec_t *layers[] = { l, NULL };
  world_t w;

  attack(&w, "absolute names", layers, true, NULL);
  tap_ok(root_has(&w, "tmp/isolazi-unpack-pwned") && root_has(&w, "isolazi-unpack-pwned"),
         "absolute names land under the root");
  world_free(&w);
}

static void
test_attack_dotdot(void)
{
  static const spec_t l1[] = { { 'f', "../sentinel", "pwned" }, END };
  static const spec_t l2[] = { { 'f', "a/../../outside/keep", "pwned" }, END };
  static const spec_t l3[] = { { 'd', ".." }, END };
  const spec_t *layers1[] = { l1, NULL }, *layers2[] = { l2, NULL }, *layers3[] = { l3, NULL };
  world_t w;

  attack(&w, "../ traversal", layers1, false, "entry `../sentinel`: name: a `..` component would leave the root");
  world_free(&w);
  attack(&w, "a/../../ traversal", layers2, false, "entry `a/../../outside/keep`");
  world_free(&w);
  attack(&w, "a `..` directory", layers3, false, "entry `../`");
  world_free(&w);
}

static void
test_attack_symlink_same_layer(void)
{
  char target[128];
  spec_t l[] = { { 'l', "evil", target }, { 'f', "evil/keep", "pwned" }, END };
  const spec_t *layers[] = { l, NULL };
  world_t w;

  /* The absolute host path of the sentinel directory; inside the root it names nothing. */
  world_new(&w);
  snprintf(target, sizeof target, "%s/outside", w.dir);
  world_free(&w);
  attack(&w, "symlink then a file through it (same layer)", layers, false, "entry `evil/keep`");
  world_free(&w);
}

static void
test_attack_symlink_later_layer(void)
{
  static const spec_t l1[] = { { 'l', "up", "../../../../../../.." }, { 'l', "tmpl", "/tmp" }, END };
  static const spec_t l2[]
      = { { 'f', "up/isolazi-unpack-pwned", "x" }, { 'f', "tmpl/isolazi-unpack-pwned", "x" }, END };
  const spec_t *layers[] = { l1, l2, NULL };
  world_t w;

  attack(&w, "symlink in one layer, written through in the next", layers, false, "entry `tmpl/isolazi-unpack-pwned`");
  tap_ok(root_has(&w, "isolazi-unpack-pwned"), "a relative symlink climbing out resolves to the root itself");
  world_free(&w);
}

static void
test_attack_symlinked_dir(void)
{
  static const spec_t l[] = { { 'd', "real" },        { 'l', "dir", "/" },
                              { 'd', "dir/etc" },     { 'f', "dir/etc/passwd", "root::0:0::/:/bin/sh\n" },
                              { 'f', "real/x", "x" }, END };
  const spec_t *layers[] = { l, NULL };
  world_t w;

  attack(&w, "a symlinked directory, then files under it", layers, true, NULL);
  {
    cleanup_free char *p = at(&w, "etc/passwd");
    cleanup_free char *text = slurp(p);
    tap_streq(text, "root::0:0::/:/bin/sh\n", "the file went to the root's etc/passwd");
  }
  world_free(&w);
}

static void
test_attack_hardlinks(void)
{
  static const spec_t l1[] = { { 'h', "pw", "/etc/passwd" }, END };
  static const spec_t l2[] = { { 'h', "s", "../sentinel" }, END };
  static const spec_t l3[] = { { 'l', "etcl", "/etc" }, { 'h', "pw", "etcl/passwd" }, END };
  char abs[160];
  spec_t l4[] = { { 'h', "s", abs }, END };
  static const spec_t l5[] = { { 'd', "etc" }, { 'f', "etc/passwd", "mine" }, { 'h', "pw", "/etc/passwd" }, END };
  const spec_t *layers1[] = { l1, NULL }, *layers2[] = { l2, NULL }, *layers3[] = { l3, NULL },
               *layers4[] = { l4, NULL }, *layers5[] = { l5, NULL };
  struct stat a, b;
  world_t w;

  attack(&w, "hard link to /etc/passwd", layers1, false, "entry `pw`: hard link to `/etc/passwd`");
  world_free(&w);
  attack(&w, "hard link to ../sentinel", layers2, false, "entry `s`: hard link target: a `..` component");
  world_free(&w);
  attack(&w, "hard link through a symlink", layers3, false, "entry `pw`: hard link to `etcl/passwd`");
  world_free(&w);
  world_new(&w);
  snprintf(abs, sizeof abs, "%s/sentinel", w.dir);
  world_free(&w);
  attack(&w, "hard link to the sentinel's host path", layers4, false, "entry `s`");
  world_free(&w);
  attack(&w, "hard link to /etc/passwd when the root has one", layers5, true, NULL);
  {
    cleanup_free char *p = at(&w, "pw");
    cleanup_free char *q = at(&w, "etc/passwd");
    tap_ok(lstat(p, &a) == 0 && lstat(q, &b) == 0 && a.st_ino == b.st_ino && a.st_ino != w.passwd.st_ino,
           "the link is to the root's /etc/passwd, not the host's");
  }
  world_free(&w);
}

static void
test_attack_whiteouts(void)
{
  static const spec_t l1[] = { { 'f', "../.wh.sentinel", "" }, END };
  static const spec_t l2[] = { { 'f', "sub/.wh...", "" }, END };
  static const spec_t l3[] = { { 'f', ".wh..", "" }, END };
  char target[128];
  spec_t l4a[] = { { 'l', "s", target }, END };
  static const spec_t l4b[] = { { 'f', "s/.wh.sentinel", "" }, { 'f', "s/outside/.wh..wh..opq", "" }, END };
  static const spec_t l5a[] = { { 'l', "up", "../.." }, { 'd', "victim" }, { 'f', "victim/f", "f" }, END };
  static const spec_t l5b[] = { { 'f', "up/.wh.victim", "" }, END };
  const spec_t *layers1[] = { l1, NULL }, *layers2[] = { l2, NULL }, *layers3[] = { l3, NULL },
               *layers4[] = { l4a, l4b, NULL }, *layers5[] = { l5a, l5b, NULL };
  world_t w;

  attack(&w, "whiteout named ../.wh.sentinel", layers1, false, "entry `../.wh.sentinel`");
  world_free(&w);
  attack(&w, "whiteout of `..`", layers2, false, "entry `sub/.wh...`: a whiteout must name an entry");
  world_free(&w);
  attack(&w, "whiteout of `.`", layers3, false, "entry `.wh..`");
  world_free(&w);
  world_new(&w);
  snprintf(target, sizeof target, "%s", w.dir);
  world_free(&w);
  attack(&w, ".wh. entries under a symlinked directory", layers4, true, NULL);
  world_free(&w);
  attack(&w, "whiteout through a symlink climbing out", layers5, true, NULL);
  tap_ok(!root_has(&w, "victim"), "the whiteout resolved inside the root");
  world_free(&w);
}

static void
test_attack_device_rootless(void)
{
  static const spec_t l[] = { { 'c', "mem", .major = 1, .minor = 1 }, { 'b', "sda", .major = 8, .minor = 0 }, END };
  isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_APPLY, true, "layer dev", 0 };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_stats_t st;
  world_t w;
  int r;

  world_new(&w);
  r = unpack_specs(w.root_fd, l, GZIP, &opts, &st, &err);
  tap_ok(r == 0 && st.skipped == 2 && !root_has(&w, "mem") && !root_has(&w, "sda"),
         "device nodes in a rootless unpack: skipped and counted");
  tap_ok(world_intact(&w), "device nodes rootless: nothing outside the root changed");
  isolazi_error_release(&err);
  world_free(&w);
}

static void
test_attack_long_names(void)
{
  cleanup_free char *longpath = xmalloc(5001);
  cleanup_free char *longname = xmalloc(300);
  spec_t l1[] = { { 'f', longpath, "x" }, END };
  spec_t l2[] = { { 'f', longname, "x" }, END };
  spec_t l3[] = { { 'l', "ln", longpath }, END };
  const spec_t *layers1[] = { l1, NULL }, *layers2[] = { l2, NULL }, *layers3[] = { l3, NULL };
  world_t w;
  size_t i;

  for (i = 0; i < 5000; i++)
    longpath[i] = i % 2 ? '/' : 'a';
  longpath[5000] = '\0';
  memset(longname, 'n', 299);
  longname[299] = '\0';
  attack(&w, "a 5000-byte name", layers1, false, "name too long (5000 bytes");
  world_free(&w);
  attack(&w, "a 299-byte component", layers2, false, "name too long (299 bytes");
  world_free(&w);
  attack(&w, "a 5000-byte symlink target", layers3, false, "entry `ln`: symlink target too long");
  world_free(&w);
}

static void
test_attack_entry_bomb(void)
{
  const size_t n = 3000;
  spec_t *l = xcalloc(n + 1, sizeof *l);
  char(*names)[16] = xcalloc(n, sizeof *names);
  isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_APPLY, !is_root, "layer bomb", 1000 };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  world_t w;
  size_t i;
  int r;

  for (i = 0; i < n; i++)
    {
      snprintf(names[i], sizeof names[i], "f%zu", i);
      l[i].type = 'f';
      l[i].path = names[i];
      l[i].data = "";
    }
  world_new(&w);
  r = unpack_specs(w.root_fd, l, ZSTD, &opts, NULL, &err);
  tap_ok(r < 0 && msg_has(&err, "unpack layer bomb: more than 1000 entries"), "an entry-count bomb stops at the cap");
  tap_ok(count_dir(w.root) <= 1000 && world_intact(&w), "entry-count bomb: nothing outside the root changed");
  isolazi_error_release(&err);
  world_free(&w);
  free(names);
  free(l);
}

/* ------------------------------------------------------------------------------------------
 * Bad input
 * ---------------------------------------------------------------------------------------- */

static void
test_bad_input(void)
{
  static const spec_t layer[] = { { 'f', "a", "0123456789" }, END };
  buf_t tar = make_tar(layer);
  buf_t gz = compress_bytes(&tar, GZIP);
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  world_t w;
  int r;

  world_new(&w);
  r = unpack_bytes(w.root_fd, "not a tar at all, just some words.", 34, NULL, NULL, &err);
  tap_ok(r < 0 && msg_has(&err, "unpack layer: read the tar stream"), "text is refused");
  isolazi_error_release(&err);
  r = unpack_bytes(w.root_fd,
                   "\xfd"
                   "7zXZ\0\0\0\0\0\0\0",
                   12, NULL, NULL, &err);
  tap_ok(r < 0 && msg_has(&err, "unsupported compression (xz)"), "xz is refused by name");
  isolazi_error_release(&err);
  r = unpack_bytes(w.root_fd, gz.p, gz.len / 2, NULL, NULL, &err);
  tap_ok(r < 0 && err.msg != NULL, "a truncated gzip stream fails: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  r = unpack_bytes(w.root_fd, tar.p, 700, NULL, NULL, &err);
  tap_ok(r < 0 && err.msg != NULL, "a truncated tar fails: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  r = unpack_bytes(w.root_fd, "", 0, NULL, NULL, &err);
  tap_ok(r < 0 && msg_has(&err, "unpack layer: read the layer: no content"), "an empty blob is refused");
  isolazi_error_release(&err);
  {
    cleanup_close int fd = bytes_fd(tar.p, tar.len);
    isolazi_unpack_opts_t opts = { ISOLAZI_UNPACK_APPLY, !is_root, NULL, 0 };
    r = isolazi_unpack_layer(fd, fd, &opts, NULL, &err);
    tap_ok(r < 0 && msg_has(&err, "the root is not a directory"), "a root that is not a directory is refused");
    isolazi_error_release(&err);
  }
  tap_ok(world_intact(&w), "bad input: nothing outside the root changed");
  world_free(&w);
  free(tar.p);
  free(gz.p);
}

int
main(void)
{
  is_root = geteuid() == 0;
  umask(022);
  test_compressions();
  test_diff_id_trailing();
  test_types_and_metadata();
  test_names();
  test_whiteouts_apply();
  test_type_changes();
  test_overlay_form(false);
  test_overlay_form(true);
  test_overlay_xattrs_refused();
  test_overlay_implicit_parents();
  test_rootless();
  test_attack_absolute();
  test_attack_dotdot();
  test_attack_symlink_same_layer();
  test_attack_symlink_later_layer();
  test_attack_symlinked_dir();
  test_attack_hardlinks();
  test_attack_whiteouts();
  test_attack_device_rootless();
  test_attack_long_names();
  test_attack_entry_bomb();
  test_bad_input();
  return tap_done();
}
