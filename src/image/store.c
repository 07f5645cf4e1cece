/* SPDX-License-Identifier: Apache-2.0 */
/* The content-addressed image store (layout in store.h).
 *
 * Crash safety: a blob appears under blobs/ only by rename(2) of a complete, verified, fsync'd
 * file, followed by an fsync of the directory, so a killed pull leaves at most a partial file in
 * tmp/, which the next pull of the same blob resumes.  images.json and the bundle records are
 * replaced the same way.  Unpacked layers are built in a temporary directory and renamed into
 * place after a syncfs, so layers/<chain> is complete or absent.
 *
 * Locking: `lock` is held shared by every open store and exclusively by prune, so prune never
 * removes what a running pull or bundle is about to use; images.lock serialises the
 * read-modify-write of images.json; a partial download is flock'd by its writer; a layer being
 * unpacked by tmp/layer-<hex>.lock. */
#include <config.h>

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "ocispec_image.h"
#include "reference.h"
#include "unpack.h"
#include "utils.h"

#define IMAGES_FILE       "images.json"
#define IMAGES_LOCK       "images.lock"
#define MAX_DOCUMENT_SIZE (4 * 1024 * 1024) /* manifests and configs: the registries' own limit */

struct isolazi_store
{
  char *root;
  int root_fd;
  int lock_fd; /* `lock`, held LOCK_SH while open */
};

/* ---- small helpers ---- */

/* The decision apart from the process's identity and environment, for unit tests.  Not in a
 * header: only store.c and tests/unit/test-store.c use it. */
char *isolazi_store_default_root_for(uid_t euid, const char *xdg_data_home, const char *home);

char *
isolazi_store_default_root_for(uid_t euid, const char *xdg_data_home, const char *home)
{
  if (euid == 0)
    return xstrdup("/var/lib/isolazi");
  /* XDG Base Directory: a relative $XDG_DATA_HOME is invalid and must be ignored. */
  if (xdg_data_home != NULL && xdg_data_home[0] == '/')
    return xasprintf("%s/isolazi", xdg_data_home);
  if (home != NULL && home[0] == '/')
    return xasprintf("%s/.local/share/isolazi", home);
  return NULL;
}

static char *
default_root(isolazi_error_t *err)
{
  cleanup_free char *home = geteuid() != 0 ? isolazi_home_dir() : NULL;
  char *r;

  r = isolazi_store_default_root_for(geteuid(), getenv("XDG_DATA_HOME"), home);
  if (r == NULL)
    isolazi_error_set(err, 0, "find the image store: neither $XDG_DATA_HOME nor $HOME is an absolute path");
  return r;
}

static int
mkdir_at(int dfd, const char *name, mode_t mode, isolazi_error_t *err)
{
  if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
    return isolazi_error_errno(err, "mkdir `%s`", name);
  return 0;
}

static int
fsync_dir_at(int dfd, const char *name, isolazi_error_t *err)
{
  cleanup_close int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || fsync(fd) < 0)
    return isolazi_error_errno(err, "fsync `%s`", name);
  return 0;
}

/* "blobs/<algorithm>/<hex>", or NULL with err for a digest we cannot store. */
static char *
blob_rel(const char *digest, isolazi_error_t *err)
{
  const char *colon;

  if (isolazi_digest_check(digest, "blob", err) < 0)
    return NULL;
  colon = strchr(digest, ':');
  return xasprintf("blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
}

/* Remove name under dfd and everything below it, never following a symbolic link; adds the
 * sizes of the files removed to *bytes.  Directories without write permission (layers keep the
 * image's modes) are opened up first. */
static int
rm_rf_at(int dfd, const char *name, int64_t *bytes, isolazi_error_t *err)
{
  struct stat st;
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int fd;

  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : isolazi_error_errno(err, "stat `%s`", name);
  if (!S_ISDIR(st.st_mode))
    {
      if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
        return isolazi_error_errno(err, "remove `%s`", name);
      if (bytes != NULL && S_ISREG(st.st_mode))
        *bytes += st.st_size;
      return 0;
    }
  fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", name);
  (void)fchmod(fd, 0700);
  d = fdopendir(fd);
  if (d == NULL)
    {
      int saved = errno;
      close(fd);
      return isolazi_error_set(err, saved, "open `%s`", name);
    }
  while ((errno = 0, de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (rm_rf_at(dirfd(d), de->d_name, bytes, err) < 0)
        return isolazi_error_wrap(err, "remove `%s`", name);
    }
  if (errno != 0)
    return isolazi_error_errno(err, "read directory `%s`", name);
  if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return isolazi_error_errno(err, "remove `%s`", name);
  return 0;
}

/* "sha256" or "sha512" for a valid digest. */
static const char *
algorithm_of(const char *digest)
{
  return strncmp(digest, "sha512:", 7) == 0 ? "sha512" : "sha256";
}

/* An exclusive flock on a file under the store, created when missing. */
static int
lock_file_at(int dfd, const char *name, isolazi_error_t *err)
{
  int fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", name);
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int saved = errno;
        close(fd);
        return isolazi_error_set(err, saved, "lock `%s`", name);
      }
  return fd;
}

/* ---- open and close ---- */

int
isolazi_store_open(const char *root, isolazi_store_t **ret, isolazi_error_t *err)
{
  static const char *const dirs[] = { "blobs", "blobs/sha256", "blobs/sha512", "tmp", "layers", "bundles" };
  cleanup_free char *path = NULL;
  cleanup_close int root_fd = -1, lock_fd = -1;
  isolazi_store_t *s;
  size_t i;

  path = root != NULL ? isolazi_abspath(root, err) : default_root(err);
  if (path == NULL)
    return -1;
  if (isolazi_mkdir_p(path, 0700, err) < 0)
    return isolazi_error_wrap(err, "open the image store `%s`", path);
  root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return isolazi_error_errno(err, "open the image store `%s`", path);
  for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    if (mkdir_at(root_fd, dirs[i], 0700, err) < 0)
      return isolazi_error_wrap(err, "open the image store `%s`", path);
  lock_fd = openat(root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0)
    return isolazi_error_errno(err, "open `%s/lock`", path);
  /* Shared: pulls and readers run side by side; prune waits for them (and they for it). */
  while (flock(lock_fd, LOCK_SH) < 0)
    if (errno != EINTR)
      return isolazi_error_errno(err, "lock `%s/lock`", path);

  s = xcalloc(1, sizeof(*s));
  s->root = steal_pointer(&path);
  s->root_fd = steal_fd(&root_fd);
  s->lock_fd = steal_fd(&lock_fd);
  *ret = s;
  return 0;
}

void
isolazi_store_close(isolazi_store_t *s)
{
  if (s == NULL)
    return;
  if (s->lock_fd >= 0)
    close(s->lock_fd);
  if (s->root_fd >= 0)
    close(s->root_fd);
  free(s->root);
  free(s);
}

const char *
isolazi_store_root(const isolazi_store_t *s)
{
  return s->root;
}

/* ---- blobs ---- */

bool
isolazi_store_has_blob(isolazi_store_t *s, const char *digest)
{
  cleanup_free char *rel = NULL;
  struct stat st;

  if (!isolazi_digest_valid(digest))
    return false;
  rel = blob_rel(digest, NULL);
  return fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

char *
isolazi_store_blob_path(isolazi_store_t *s, const char *digest)
{
  cleanup_free char *rel = NULL;

  if (!isolazi_digest_valid(digest))
    return NULL;
  rel = blob_rel(digest, NULL);
  return xasprintf("%s/%s", s->root, rel);
}

int
isolazi_store_read_blob(isolazi_store_t *s, const char *digest, size_t max_size, char **ret, size_t *ret_len,
                        isolazi_error_t *err)
{
  cleanup_free char *rel = blob_rel(digest, err), *buf = NULL;
  cleanup_close int fd = -1;
  char got[ISOLAZI_DIGEST_MAX];
  struct stat st;
  ssize_t n;

  if (rel == NULL)
    return -1;
  fd = openat(s->root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return isolazi_error_errno(err, "read blob `%s`", digest);
  if (fstat(fd, &st) < 0)
    return isolazi_error_errno(err, "read blob `%s`", digest);
  if (!S_ISREG(st.st_mode))
    return isolazi_error_set(err, 0, "read blob `%s`: not a regular file", digest);
  if (max_size > 0 && (uint64_t)st.st_size > max_size)
    return isolazi_error_set(err, EFBIG, "read blob `%s`: %lld bytes, more than the %zu allowed", digest,
                             (long long)st.st_size, max_size);
  buf = xmalloc((size_t)st.st_size + 1);
  n = isolazi_read_all(fd, buf, (size_t)st.st_size);
  if (n < 0)
    return isolazi_error_errno(err, "read blob `%s`", digest);
  if (n != st.st_size)
    return isolazi_error_set(err, 0, "read blob `%s`: file shrank while reading", digest);
  buf[n] = '\0';
  /* Blobs were verified when written; checking again costs little for the small ones read into
     memory and catches a store damaged on disk. */
  if (isolazi_digest_buffer(algorithm_of(digest), buf, (size_t)n, got, err) < 0)
    return -1;
  if (strcmp(got, digest) != 0)
    return isolazi_error_set(err, 0, "read blob `%s`: content has digest `%s` (the store is damaged)", digest, got);
  *ret = steal_pointer(&buf);
  if (ret_len != NULL)
    *ret_len = (size_t)n;
  return 0;
}

/* fsync fd, make it read-only and rename tmp_rel to the blob's place; then fsync the directory
   so that the rename survives a crash. */
static int
commit_file(isolazi_store_t *s, int fd, const char *tmp_rel, const char *digest, isolazi_error_t *err)
{
  cleanup_free char *rel = blob_rel(digest, err);
  char *slash;

  if (rel == NULL)
    return -1;
  if (fsync(fd) < 0)
    return isolazi_error_errno(err, "fsync blob `%s`", digest);
  if (fchmod(fd, 0444) < 0)
    return isolazi_error_errno(err, "chmod blob `%s`", digest);
  if (renameat(s->root_fd, tmp_rel, s->root_fd, rel) < 0)
    return isolazi_error_errno(err, "rename `%s` to `%s`", tmp_rel, rel);
  slash = strrchr(rel, '/');
  *slash = '\0';
  return fsync_dir_at(s->root_fd, rel, err);
}

int
isolazi_store_put_blob(isolazi_store_t *s, const void *buf, size_t len, const char *digest,
                       char ret_digest[ISOLAZI_DIGEST_MAX], isolazi_error_t *err)
{
  char got[ISOLAZI_DIGEST_MAX];
  cleanup_free char *tmp_path = NULL;
  cleanup_close int fd = -1;
  const char *tmp_rel;

  if (digest != NULL && isolazi_digest_check(digest, "put blob", err) < 0)
    return -1;
  if (isolazi_digest_buffer(digest != NULL ? algorithm_of(digest) : "sha256", buf, len, got, err) < 0)
    return -1;
  if (digest != NULL && strcmp(got, digest) != 0)
    return isolazi_error_set(err, 0, "put blob `%s`: content has digest `%s`", digest, got);
  if (ret_digest != NULL)
    memcpy(ret_digest, got, ISOLAZI_DIGEST_MAX);
  if (isolazi_store_has_blob(s, got))
    return 0;

  tmp_path = xasprintf("%s/tmp/put-XXXXXX", s->root);
  fd = mkostemp(tmp_path, O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "create a temporary file in `%s/tmp`", s->root);
  tmp_rel = tmp_path + strlen(s->root) + 1;
  if (isolazi_write_all(fd, buf, len) < 0)
    {
      int saved = errno;
      (void)unlinkat(s->root_fd, tmp_rel, 0);
      return isolazi_error_set(err, saved, "write blob `%s`", got);
    }
  if (commit_file(s, fd, tmp_rel, got, err) < 0)
    {
      (void)unlinkat(s->root_fd, tmp_rel, 0);
      return -1;
    }
  return 0;
}

static void
blob_free(isolazi_store_blob_t *b)
{
  if (b == NULL)
    return;
  if (b->fd >= 0)
    close(b->fd); /* releases the flock */
  free(b->partial);
  free(b);
}

int
isolazi_store_blob_begin(isolazi_store_t *s, const char *digest, isolazi_store_blob_t **ret, isolazi_error_t *err)
{
  cleanup_free char *rel = NULL;
  isolazi_store_blob_t *b;

  if (isolazi_digest_check(digest, "download blob", err) < 0)
    return -1;
  b = xcalloc(1, sizeof(*b));
  b->fd = -1;
  snprintf(b->digest, sizeof b->digest, "%s", digest);
  rel = xasprintf("tmp/%s.partial", isolazi_digest_hex(digest));
  b->partial = xasprintf("%s/%s", s->root, rel);

  for (;;)
    {
      struct stat st_fd, st_path;
      int fd;

      if (isolazi_store_has_blob(s, digest))
        {
          b->present = true;
          *ret = b;
          return 0;
        }
      fd = openat(s->root_fd, rel, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0)
        {
          isolazi_error_errno(err, "open `%s`", b->partial);
          blob_free(b);
          return -1;
        }
      /* Another pull of the same blob holds it: wait, then see what it left. */
      while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR)
          {
            isolazi_error_errno(err, "lock `%s`", b->partial);
            close(fd);
            blob_free(b);
            return -1;
          }
      if (isolazi_store_has_blob(s, digest))
        {
          /* Committed meanwhile.  What we hold is either the committed blob itself (renamed away
             from under us) or an empty partial we just created: drop the latter. */
          if (fstatat(s->root_fd, rel, &st_path, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &st_fd) == 0
              && st_path.st_ino == st_fd.st_ino && st_path.st_dev == st_fd.st_dev)
            (void)unlinkat(s->root_fd, rel, 0);
          close(fd);
          b->present = true;
          *ret = b;
          return 0;
        }
      /* The lock is good only if the file is still the one at the path (the holder may have
         renamed or removed it while we waited). */
      if (fstat(fd, &st_fd) == 0 && fstatat(s->root_fd, rel, &st_path, AT_SYMLINK_NOFOLLOW) == 0
          && st_path.st_ino == st_fd.st_ino && st_path.st_dev == st_fd.st_dev)
        {
          b->fd = fd;
          *ret = b;
          return 0;
        }
      close(fd);
    }
}

int
isolazi_store_blob_commit(isolazi_store_t *s, isolazi_store_blob_t *b, isolazi_error_t *err)
{
  char got[ISOLAZI_DIGEST_MAX];
  cleanup_free char *rel = NULL;
  int r;

  if (b == NULL)
    return isolazi_error_set(err, EINVAL, "commit blob: no download");
  if (b->present || b->fd < 0)
    {
      blob_free(b);
      return 0;
    }
  rel = xasprintf("tmp/%s.partial", isolazi_digest_hex(b->digest));
  /* The store verifies what it publishes, whoever wrote the partial file: a blob under blobs/
     always has the content its name says. */
  if (lseek(b->fd, 0, SEEK_SET) < 0)
    r = isolazi_error_errno(err, "commit blob `%s`: seek `%s`", b->digest, b->partial);
  else if ((r = isolazi_digest_fd(algorithm_of(b->digest), b->fd, got, err)) < 0)
    isolazi_error_wrap(err, "commit blob `%s`", b->digest);
  if (r < 0)
    {
      blob_free(b);
      return -1;
    }
  if (strcmp(got, b->digest) != 0)
    {
      /* Useless for a resume: start again from nothing next time. */
      (void)ftruncate(b->fd, 0);
      r = isolazi_error_set(err, 0, "commit blob `%s`: downloaded content has digest `%s`", b->digest, got);
      blob_free(b);
      return r;
    }
  r = commit_file(s, b->fd, rel, b->digest, err);
  blob_free(b);
  return r;
}

void
isolazi_store_blob_abort(isolazi_store_blob_t *b)
{
  blob_free(b);
}

/* ---- images.json ---- */

static void
image_copy(isolazi_store_image_t *dst, const isolazi_store_image_t *src)
{
  dst->name = xstrdup(src->name);
  dst->manifest_digest = xstrdup(src->manifest_digest);
  dst->index_digest = xstrdup(src->index_digest);
  dst->config_digest = xstrdup(src->config_digest);
  dst->size = src->size;
  dst->created = src->created;
}

void
isolazi_store_image_release(isolazi_store_image_t *img)
{
  if (img == NULL)
    return;
  free(img->name);
  free(img->manifest_digest);
  free(img->index_digest);
  free(img->config_digest);
  memset(img, 0, sizeof(*img));
}

void
isolazi_store_images_free(isolazi_store_image_t *imgs, size_t n)
{
  size_t i;

  if (imgs == NULL)
    return;
  for (i = 0; i < n; i++)
    isolazi_store_image_release(&imgs[i]);
  free(imgs);
}

static const char *
json_string_member(const json_value *o, const char *key)
{
  const json_value *v = json_object_get(o, key);
  return v ? json_get_string(v) : NULL;
}

/* images.json: {"images": {"<name>": {"manifest": ..., "index": ..., "config": ..., "size": n,
   "created": t}}}.  A missing file is an empty store. */
static int
images_load(isolazi_store_t *s, isolazi_store_image_t **ret, size_t *ret_n, isolazi_error_t *err)
{
  cleanup_free char *text = NULL, *jerr = NULL;
  isolazi_store_image_t *imgs = NULL;
  const json_value *map;
  json_value *doc;
  size_t len = 0, i, n = 0;

  *ret = NULL;
  *ret_n = 0;
  if (isolazi_read_file_at(s->root_fd, IMAGES_FILE, &text, &len, err) < 0)
    {
      if (err != NULL && err->code == ENOENT)
        {
          isolazi_error_release(err);
          return 0;
        }
      return -1;
    }
  doc = json_parse(text, len, &jerr);
  if (doc == NULL)
    return isolazi_error_set(err, 0, "read `%s/%s`: %s", s->root, IMAGES_FILE, jerr ? jerr : "invalid JSON");
  map = json_object_get(doc, "images");
  if (map == NULL || json_typeof(map) != JSON_OBJECT)
    {
      json_value_free(doc);
      return isolazi_error_set(err, 0, "read `%s/%s`: images: expected an object", s->root, IMAGES_FILE);
    }
  imgs = xcalloc(json_object_len(map) + 1, sizeof(*imgs));
  for (i = 0; i < json_object_len(map); i++)
    {
      const json_value *rec = json_object_value(map, i);
      const char *manifest = json_string_member(rec, "manifest");
      const json_value *v;

      if (manifest == NULL || !isolazi_digest_valid(manifest))
        {
          isolazi_store_images_free(imgs, n);
          json_value_free(doc);
          return isolazi_error_set(err, 0, "read `%s/%s`: images.%s.manifest: expected a digest", s->root, IMAGES_FILE,
                                   json_object_key(map, i));
        }
      imgs[n].name = xstrdup(json_object_key(map, i));
      imgs[n].manifest_digest = xstrdup(manifest);
      imgs[n].index_digest = xstrdup(json_string_member(rec, "index"));
      imgs[n].config_digest = xstrdup(json_string_member(rec, "config"));
      if ((v = json_object_get(rec, "size")) != NULL)
        (void)json_get_int64(v, &imgs[n].size);
      if ((v = json_object_get(rec, "created")) != NULL)
        (void)json_get_int64(v, &imgs[n].created);
      n++;
    }
  json_value_free(doc);
  *ret = imgs;
  *ret_n = n;
  return 0;
}

static int
cmp_image_name(const void *a, const void *b)
{
  return strcmp(((const isolazi_store_image_t *)a)->name, ((const isolazi_store_image_t *)b)->name);
}

static int
images_save(isolazi_store_t *s, isolazi_store_image_t *imgs, size_t n, isolazi_error_t *err)
{
  json_gen *g = json_gen_new(true);
  cleanup_free char *out = NULL, *jerr = NULL;
  size_t len = 0, i;

  if (n > 0)
    qsort(imgs, n, sizeof(*imgs), cmp_image_name);
  json_gen_object_open(g);
  json_gen_key(g, "images");
  json_gen_object_open(g);
  for (i = 0; i < n; i++)
    {
      json_gen_key(g, imgs[i].name);
      json_gen_object_open(g);
      json_gen_key(g, "manifest");
      json_gen_string(g, imgs[i].manifest_digest);
      if (imgs[i].index_digest != NULL)
        {
          json_gen_key(g, "index");
          json_gen_string(g, imgs[i].index_digest);
        }
      if (imgs[i].config_digest != NULL)
        {
          json_gen_key(g, "config");
          json_gen_string(g, imgs[i].config_digest);
        }
      json_gen_key(g, "size");
      json_gen_int64(g, imgs[i].size);
      json_gen_key(g, "created");
      json_gen_int64(g, imgs[i].created);
      json_gen_object_close(g);
    }
  json_gen_object_close(g);
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &jerr) < 0)
    {
      json_gen_free(g);
      return isolazi_error_set(err, 0, "write `%s`: %s", IMAGES_FILE, jerr ? jerr : "JSON error");
    }
  json_gen_free(g);
  if (isolazi_write_file_atomic(s->root_fd, IMAGES_FILE, out, len, 0600, true, err) < 0)
    return -1;
  return fsync_dir_at(s->root_fd, ".", err);
}

static int
image_check(const isolazi_store_image_t *img, isolazi_error_t *err)
{
  if (img->name == NULL || img->name[0] == '\0')
    return isolazi_error_set(err, EINVAL, "tag an image: no name");
  if (!isolazi_digest_valid(img->manifest_digest))
    return isolazi_error_set(err, 0, "tag `%s`: invalid manifest digest `%s`", img->name,
                             img->manifest_digest ? img->manifest_digest : "");
  if (img->index_digest != NULL && !isolazi_digest_valid(img->index_digest))
    return isolazi_error_set(err, 0, "tag `%s`: invalid index digest `%s`", img->name, img->index_digest);
  if (img->config_digest != NULL && !isolazi_digest_valid(img->config_digest))
    return isolazi_error_set(err, 0, "tag `%s`: invalid config digest `%s`", img->name, img->config_digest);
  return 0;
}

int
isolazi_store_tag(isolazi_store_t *s, const isolazi_store_image_t *img, isolazi_error_t *err)
{
  cleanup_close int lock = -1;
  isolazi_store_image_t *imgs = NULL;
  size_t n = 0, i;
  int r;

  if (image_check(img, err) < 0)
    return -1;
  lock = lock_file_at(s->root_fd, IMAGES_LOCK, err);
  if (lock < 0 || images_load(s, &imgs, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    if (strcmp(imgs[i].name, img->name) == 0)
      break;
  if (i == n)
    {
      imgs = xrealloc(imgs, (n + 1) * sizeof(*imgs));
      n++;
    }
  else
    isolazi_store_image_release(&imgs[i]);
  image_copy(&imgs[i], img);
  if (imgs[i].created == 0)
    imgs[i].created = (int64_t)time(NULL);
  r = images_save(s, imgs, n, err);
  isolazi_store_images_free(imgs, n);
  return r;
}

int
isolazi_store_list(isolazi_store_t *s, isolazi_store_image_t **ret, size_t *ret_n, isolazi_error_t *err)
{
  if (images_load(s, ret, ret_n, err) < 0)
    return -1;
  if (*ret_n > 0)
    qsort(*ret, *ret_n, sizeof(**ret), cmp_image_name);
  return 0;
}

static bool
is_hex(const char *s)
{
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

/* The index in imgs of what `text` names, or -1 (ENOENT) / -2 (ambiguous) with err. */
static ssize_t
images_match(const isolazi_store_image_t *imgs, size_t n, const char *text, isolazi_error_t *err)
{
  cleanup_free char *canonical = NULL;
  isolazi_image_ref_t ref = { 0 };
  isolazi_error_t ignored = ISOLAZI_ERROR_INIT;
  const char *prefix = text;
  ssize_t found = -1;
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(imgs[i].name, text) == 0)
      return (ssize_t)i;
  /* As the user wrote it: "alpine" is docker.io/library/alpine:latest. */
  if (isolazi_image_ref_parse(text, &ref, &ignored) == 0)
    {
      canonical = isolazi_image_ref_string(&ref);
      isolazi_image_ref_release(&ref);
      for (i = 0; i < n; i++)
        if (strcmp(imgs[i].name, canonical) == 0)
          return (ssize_t)i;
    }
  isolazi_error_release(&ignored);
  for (i = 0; i < n; i++)
    if (strcmp(imgs[i].manifest_digest, text) == 0)
      return (ssize_t)i;
  /* A prefix of the manifest digest's hex, with or without "sha256:". */
  if (strncmp(prefix, "sha256:", 7) == 0)
    prefix += 7;
  if (strlen(prefix) >= 4 && is_hex(prefix))
    for (i = 0; i < n; i++)
      {
        if (strncmp(isolazi_digest_hex(imgs[i].manifest_digest), prefix, strlen(prefix)) != 0)
          continue;
        if (found >= 0 && strcmp(imgs[found].manifest_digest, imgs[i].manifest_digest) != 0)
          {
            isolazi_error_set(err, 0, "find image `%s`: ambiguous: matches `%s` and `%s`", text,
                              imgs[found].manifest_digest, imgs[i].manifest_digest);
            return -2;
          }
        if (found < 0)
          found = (ssize_t)i;
      }
  if (found < 0)
    isolazi_error_set(err, ENOENT, "find image `%s`", text);
  return found;
}

int
isolazi_store_find(isolazi_store_t *s, const char *name_or_digest, isolazi_store_image_t *ret, isolazi_error_t *err)
{
  isolazi_store_image_t *imgs = NULL;
  size_t n = 0;
  ssize_t i;

  if (images_load(s, &imgs, &n, err) < 0)
    return -1;
  i = images_match(imgs, n, name_or_digest, err);
  if (i >= 0)
    image_copy(ret, &imgs[i]);
  isolazi_store_images_free(imgs, n);
  return i >= 0 ? 0 : -1;
}

int
isolazi_store_untag(isolazi_store_t *s, const char *name, isolazi_error_t *err)
{
  cleanup_close int lock = -1;
  isolazi_store_image_t *imgs = NULL;
  size_t n = 0, i;
  int r;

  lock = lock_file_at(s->root_fd, IMAGES_LOCK, err);
  if (lock < 0 || images_load(s, &imgs, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    if (strcmp(imgs[i].name, name) == 0)
      break;
  if (i == n)
    {
      isolazi_store_images_free(imgs, n);
      return isolazi_error_set(err, ENOENT, "untag `%s`", name);
    }
  isolazi_store_image_release(&imgs[i]);
  memmove(&imgs[i], &imgs[i + 1], (n - i - 1) * sizeof(*imgs));
  n--;
  r = images_save(s, imgs, n, err);
  isolazi_store_images_free(imgs, n);
  return r;
}

/* ---- layers ---- */

int
isolazi_store_chain_ids(const char *const *diff_ids, size_t n, char ***ret, isolazi_error_t *err)
{
  cleanup_strv char **chain = xcalloc(n + 1, sizeof(char *));
  char buf[ISOLAZI_DIGEST_MAX * 2 + 2], out[ISOLAZI_DIGEST_MAX];
  size_t i;

  for (i = 0; i < n; i++)
    {
      if (isolazi_digest_check(diff_ids[i], "chain ID: diff_id", err) < 0)
        return -1;
      if (i == 0)
        {
          chain[0] = xstrdup(diff_ids[0]);
          continue;
        }
      /* image-spec config.md "Layer ChainID": ChainID(L0|...|Ln) = Digest(ChainID(L0|...|Ln-1) + " " + DiffID(Ln)) */
      snprintf(buf, sizeof buf, "%s %s", chain[i - 1], diff_ids[i]);
      if (isolazi_digest_buffer("sha256", buf, strlen(buf), out, err) < 0)
        return -1;
      chain[i] = xstrdup(out);
    }
  *ret = steal_pointer(&chain);
  return 0;
}

static void
close_fds(int *fds, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(fds);
}

/* Layer i of the chain, unpacked over layers 0..i-1, which are there: a directory the layer has
 * no entry for takes its metadata from them (it hides theirs in the merged view). */
static int
unpack_layer(isolazi_store_t *s, const char *const *chain_ids, const char *const *blob_digests,
             const char *const *diff_ids, size_t i, bool rootless, isolazi_error_t *err)
{
  const char *chain_id = chain_ids[i], *blob_digest = blob_digests[i], *diff_id = diff_ids ? diff_ids[i] : NULL;
  cleanup_free char *rel = NULL, *lock_rel = NULL, *tmp_path = NULL, *blob = NULL, *what = NULL;
  cleanup_close int lock = -1, tmp_fd = -1, blob_fd = -1;
  isolazi_unpack_opts_t opts = { 0 };
  isolazi_unpack_stats_t stats;
  const char *tmp_rel;
  struct stat st;
  int *lowers = NULL;
  size_t k;

  if (isolazi_digest_check(chain_id, "layer: chain ID", err) < 0
      || isolazi_digest_check(blob_digest, "layer: blob digest", err) < 0
      || (diff_id != NULL && isolazi_digest_check(diff_id, "layer: diff_id", err) < 0))
    return -1;
  rel = xasprintf("layers/%s", isolazi_digest_hex(chain_id));
  if (fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    return 0;

  /* One unpacker per layer; the others wait here and then find it done. */
  lock_rel = xasprintf("tmp/layer-%s.lock", isolazi_digest_hex(chain_id));
  lock = lock_file_at(s->root_fd, lock_rel, err);
  if (lock < 0)
    return -1;
  if (fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    return 0;

  blob = blob_rel(blob_digest, err);
  if (blob == NULL)
    return -1;
  blob_fd = openat(s->root_fd, blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (blob_fd < 0)
    return isolazi_error_errno(err, "unpack layer `%s`: open blob `%s`", chain_id, blob_digest);

  tmp_path = xasprintf("%s/layers/.tmp-%s-XXXXXX", s->root, isolazi_digest_hex(chain_id));
  if (mkdtemp(tmp_path) == NULL)
    return isolazi_error_errno(err, "unpack layer `%s`: create a temporary directory", chain_id);
  tmp_rel = tmp_path + strlen(s->root) + 1;
  tmp_fd = openat(s->root_fd, tmp_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (tmp_fd < 0)
    {
      isolazi_error_errno(err, "unpack layer `%s`: open `%s`", chain_id, tmp_path);
      goto fail;
    }
  /* mkdtemp makes 0700; a layer's root is a directory every user of the image traverses. */
  (void)fchmod(tmp_fd, 0755);

  /* The lower layers, topmost first. */
  lowers = xcalloc(i + 1, sizeof(int));
  for (k = 0; k < i; k++)
    lowers[k] = -1;
  for (k = 0; k < i; k++)
    {
      cleanup_free char *lower_rel = xasprintf("layers/%s", isolazi_digest_hex(chain_ids[i - 1 - k]));

      lowers[k] = openat(s->root_fd, lower_rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (lowers[k] < 0)
        {
          isolazi_error_errno(err, "unpack layer `%s`: open the lower layer `%s`", chain_id, chain_ids[i - 1 - k]);
          goto fail;
        }
    }

  what = xasprintf("layer %s", blob_digest);
  opts.mode = ISOLAZI_UNPACK_OVERLAY;
  opts.rootless = rootless;
  opts.what = what;
  opts.lower_fds = lowers;
  opts.n_lowers = i;
  memset(&stats, 0, sizeof stats);
  if (isolazi_unpack_layer(tmp_fd, blob_fd, &opts, &stats, err) < 0)
    goto fail;
  close_fds(lowers, i);
  lowers = NULL;
  if (diff_id != NULL && strcmp(stats.diff_id, diff_id) != 0)
    {
      isolazi_error_set(err, 0, "unpack layer `%s`: uncompressed content has digest `%s`, the image config says `%s`",
                        blob_digest, stats.diff_id, diff_id);
      goto fail;
    }
  /* Everything written reaches the disk before the name appears: layers/<chain> is complete. */
  if (syncfs(tmp_fd) < 0)
    {
      isolazi_error_errno(err, "unpack layer `%s`: syncfs", chain_id);
      goto fail;
    }
  if (renameat(s->root_fd, tmp_rel, s->root_fd, rel) < 0)
    {
      isolazi_error_errno(err, "unpack layer `%s`: rename `%s` to `%s`", chain_id, tmp_rel, rel);
      goto fail;
    }
  if (fsync_dir_at(s->root_fd, "layers", err) < 0)
    return -1;
  (void)unlinkat(s->root_fd, lock_rel, 0);
  return 0;

fail:
  if (lowers != NULL)
    close_fds(lowers, i);
  {
    isolazi_error_t ignored = ISOLAZI_ERROR_INIT;
    (void)rm_rf_at(s->root_fd, tmp_rel, NULL, &ignored);
    isolazi_error_release(&ignored);
  }
  return -1;
}

int
isolazi_store_layer_dir(isolazi_store_t *s, const char *const *chain_ids, const char *const *blob_digests,
                        const char *const *diff_ids, size_t n, bool rootless, char **ret_path, isolazi_error_t *err)
{
  cleanup_free char *path = NULL;
  struct stat st;
  size_t i;

  if (n == 0)
    return isolazi_error_set(err, EINVAL, "layer: an empty chain");
  if (isolazi_digest_check(chain_ids[n - 1], "layer: chain ID", err) < 0)
    return -1;
  path = xasprintf("%s/layers/%s", s->root, isolazi_digest_hex(chain_ids[n - 1]));
  if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
    goto done;
  /* Bottom up: each layer is unpacked over the ones below it.  Each takes its own lock alone,
   * so concurrent callers with chains sharing a prefix cannot deadlock. */
  for (i = 0; i < n; i++)
    if (unpack_layer(s, chain_ids, blob_digests, diff_ids, i, rootless, err) < 0)
      return -1;
done:
  *ret_path = steal_pointer(&path);
  return 0;
}

/* ---- bundles ---- */

static char *
bundle_record_rel(const char *abs_dir, isolazi_error_t *err)
{
  char d[ISOLAZI_DIGEST_MAX];

  if (isolazi_digest_buffer("sha256", abs_dir, strlen(abs_dir), d, err) < 0)
    return NULL;
  return xasprintf("bundles/%s.json", isolazi_digest_hex(d));
}

int
isolazi_store_bundle_record(isolazi_store_t *s, const char *dir, const char *const *chain_ids, size_t n,
                            isolazi_error_t *err)
{
  cleanup_free char *abs = isolazi_abspath(dir, err), *rel = NULL, *out = NULL, *jerr = NULL;
  json_gen *g;
  size_t len = 0, i;
  int dfd;

  if (abs == NULL)
    return -1;
  for (i = 0; i < n; i++)
    if (isolazi_digest_check(chain_ids[i], "record bundle: chain ID", err) < 0)
      return -1;
  rel = bundle_record_rel(abs, err);
  if (rel == NULL)
    return -1;
  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, "dir");
  json_gen_string(g, abs);
  json_gen_key(g, "layers");
  json_gen_array_open(g);
  for (i = 0; i < n; i++)
    json_gen_string(g, chain_ids[i]);
  json_gen_array_close(g);
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, &len, &jerr) < 0)
    {
      json_gen_free(g);
      return isolazi_error_set(err, 0, "record bundle `%s`: %s", abs, jerr ? jerr : "JSON error");
    }
  json_gen_free(g);
  dfd = openat(s->root_fd, "bundles", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return isolazi_error_errno(err, "record bundle `%s`: open `bundles`", abs);
  if (isolazi_write_file_atomic(dfd, rel + strlen("bundles/"), out, len, 0600, true, err) < 0 || fsync(dfd) < 0)
    {
      if (err != NULL && err->msg == NULL)
        isolazi_error_errno(err, "fsync `bundles`");
      close(dfd);
      return isolazi_error_wrap(err, "record bundle `%s`", abs);
    }
  close(dfd);
  return 0;
}

int
isolazi_store_bundle_forget(isolazi_store_t *s, const char *dir, isolazi_error_t *err)
{
  cleanup_free char *abs = isolazi_abspath(dir, err), *rel = NULL;

  if (abs == NULL)
    return -1;
  rel = bundle_record_rel(abs, err);
  if (rel == NULL)
    return -1;
  if (unlinkat(s->root_fd, rel, 0) < 0 && errno != ENOENT)
    return isolazi_error_errno(err, "forget bundle `%s`", abs);
  return 0;
}

/* ---- prune ---- */

typedef struct
{
  char **v;
  size_t n, cap;
} strset;

static void
strset_add(strset *s, const char *x)
{
  if (x == NULL)
    return;
  if (s->n == s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 32;
      s->v = xrealloc(s->v, s->cap * sizeof(char *));
    }
  s->v[s->n++] = xstrdup(x);
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
strset_seal(strset *s)
{
  if (s->n > 0)
    qsort(s->v, s->n, sizeof(char *), cmp_str);
}

static bool
strset_has(const strset *s, const char *x)
{
  return s->n > 0 && bsearch(&x, s->v, s->n, sizeof(char *), cmp_str) != NULL;
}

static void
strset_free(strset *s)
{
  size_t i;

  for (i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
}

/* The blobs and layers one image uses.  An image whose manifest or config cannot be read keeps
   what its record names; it is broken anyway, and prune must not fail because of it. */
static void
mark_image(isolazi_store_t *s, const isolazi_store_image_t *img, strset *blobs, strset *layers)
{
  isolazi_error_t ignored = ISOLAZI_ERROR_INIT;
  cleanup_free char *text = NULL;
  cleanup_strv char **chain = NULL;
  oci_image_manifest *m = NULL;
  oci_image_config *c = NULL;
  char *perr = NULL;
  size_t len = 0, i;

  strset_add(blobs, img->manifest_digest);
  strset_add(blobs, img->index_digest);
  strset_add(blobs, img->config_digest);
  if (isolazi_store_read_blob(s, img->manifest_digest, MAX_DOCUMENT_SIZE, &text, &len, &ignored) == 0)
    m = oci_image_manifest_parse("manifest", text, len, &perr);
  free(perr);
  perr = NULL;
  if (m != NULL)
    {
      strset_add(blobs, m->config->digest);
      for (i = 0; i < m->layers_len; i++)
        strset_add(blobs, m->layers[i].digest);
      free(text);
      text = NULL;
      if (isolazi_store_read_blob(s, m->config->digest, MAX_DOCUMENT_SIZE, &text, &len, &ignored) == 0)
        c = oci_image_config_parse("config", text, len, &perr);
      free(perr);
    }
  if (c != NULL
      && isolazi_store_chain_ids((const char *const *)c->rootfs->diff_ids, c->rootfs->diff_ids_len, &chain, &ignored)
             == 0)
    for (i = 0; chain[i] != NULL; i++)
      strset_add(layers, isolazi_digest_hex(chain[i]));
  oci_image_config_free(c);
  oci_image_manifest_free(m);
  isolazi_error_release(&ignored);
}

/* Bundle records whose directory still exists keep their layers; the others are dropped. */
static int
mark_bundles(isolazi_store_t *s, strset *layers, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int fd = openat(s->root_fd, "bundles", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir(fd)) == NULL)
    {
      if (fd >= 0)
        close(fd);
      return isolazi_error_errno(err, "open `%s/bundles`", s->root);
    }
  while ((de = readdir(d)) != NULL)
    {
      cleanup_free char *text = NULL;
      isolazi_error_t ignored = ISOLAZI_ERROR_INIT;
      const json_value *dir, *arr;
      json_value *doc = NULL;
      struct stat st;
      size_t len = 0, i;
      char *jerr = NULL;

      if (de->d_name[0] == '.')
        {
          /* An atomic write that never finished. */
          if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            (void)unlinkat(dirfd(d), de->d_name, 0);
          continue;
        }
      if (isolazi_read_file_at(dirfd(d), de->d_name, &text, &len, &ignored) == 0)
        doc = json_parse(text, len, &jerr);
      free(jerr);
      isolazi_error_release(&ignored);
      dir = doc ? json_object_get(doc, "dir") : NULL;
      arr = doc ? json_object_get(doc, "layers") : NULL;
      if (dir == NULL || json_get_string(dir) == NULL || stat(json_get_string(dir), &st) < 0 || !S_ISDIR(st.st_mode))
        {
          (void)unlinkat(dirfd(d), de->d_name, 0);
          json_value_free(doc);
          continue;
        }
      for (i = 0; i < json_array_len(arr); i++)
        {
          const char *chain = json_get_string(json_array_get(arr, i));
          if (chain != NULL && isolazi_digest_valid(chain))
            strset_add(layers, isolazi_digest_hex(chain));
        }
      json_value_free(doc);
    }
  return 0;
}

typedef enum
{
  SWEEP_BLOBS,
  SWEEP_LAYERS,
  SWEEP_TMP,
} sweep_kind;

static int
sweep(isolazi_store_t *s, const char *rel, sweep_kind kind, const strset *keep, isolazi_store_prune_stats_t *st,
      isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int fd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir(fd)) == NULL)
    {
      if (fd >= 0)
        close(fd);
      return isolazi_error_errno(err, "open `%s/%s`", s->root, rel);
    }
  while ((de = readdir(d)) != NULL)
    {
      const char *name = de->d_name;
      int64_t bytes = 0;

      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        continue;
      if (kind == SWEEP_TMP)
        {
          /* Prune holds the store exclusively, so no pull is writing; a lock held anyway means
             a writer that did not take the store lock: leave it. */
          cleanup_close int pfd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
          if (pfd >= 0 && flock(pfd, LOCK_EX | LOCK_NB) < 0)
            continue;
        }
      else if (kind == SWEEP_BLOBS ? strset_has(keep, name) : (name[0] != '.' && strset_has(keep, name)))
        continue;
      if (rm_rf_at(dirfd(d), name, &bytes, err) < 0)
        return isolazi_error_wrap(err, "prune `%s/%s`", s->root, rel);
      st->bytes += bytes;
      if (kind == SWEEP_BLOBS)
        st->blobs++;
      else if (kind == SWEEP_LAYERS && name[0] != '.')
        st->layers++;
      else if (kind == SWEEP_TMP && isolazi_has_suffix(name, ".partial"))
        st->partials++;
    }
  return 0;
}

int
isolazi_store_prune(isolazi_store_t *s, isolazi_store_prune_stats_t *stats, isolazi_error_t *err)
{
  isolazi_store_prune_stats_t st = { 0 };
  isolazi_store_image_t *imgs = NULL;
  strset blobs = { 0 }, layers = { 0 }, hexes = { 0 };
  size_t n = 0, i;
  int r = -1;

  /* Wait until no other process has the store open (a pull between downloading a blob and
     tagging its image, a bundle between unpacking and recording).  flock converts our shared
     lock; it drops it first, so two pruners cannot deadlock. */
  while (flock(s->lock_fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return isolazi_error_errno(err, "lock `%s/lock`", s->root);

  if (images_load(s, &imgs, &n, err) < 0)
    goto out;
  for (i = 0; i < n; i++)
    mark_image(s, &imgs[i], &blobs, &layers);
  if (mark_bundles(s, &layers, err) < 0)
    goto out;
  /* Blob file names are the hex part. */
  for (i = 0; i < blobs.n; i++)
    if (isolazi_digest_valid(blobs.v[i]))
      strset_add(&hexes, isolazi_digest_hex(blobs.v[i]));
  strset_seal(&hexes);
  strset_seal(&layers);
  if (sweep(s, "blobs/sha256", SWEEP_BLOBS, &hexes, &st, err) < 0
      || sweep(s, "blobs/sha512", SWEEP_BLOBS, &hexes, &st, err) < 0
      || sweep(s, "layers", SWEEP_LAYERS, &layers, &st, err) < 0 || sweep(s, "tmp", SWEEP_TMP, NULL, &st, err) < 0)
    goto out;
  if (fsync_dir_at(s->root_fd, "blobs/sha256", err) < 0 || fsync_dir_at(s->root_fd, "layers", err) < 0)
    goto out;
  r = 0;

out:
  (void)flock(s->lock_fd, LOCK_SH);
  isolazi_store_images_free(imgs, n);
  strset_free(&blobs);
  strset_free(&layers);
  strset_free(&hexes);
  if (stats != NULL)
    *stats = st;
  return r;
}
