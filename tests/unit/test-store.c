/* SPDX-License-Identifier: Apache-2.0 */
/* The image store (src/image/store.c): layout, blobs, resumable downloads (also across a killed
 * writer and a concurrent one), images.json, chain IDs, unpacked layers, bundle records, prune
 * and its lock against concurrent users.  No root needed. */
#include "config.h"
#include "../unit/tap.h"
#include "cleanup.h"
#include "digest.h"
#include "store.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *isolazi_store_default_root_for(uid_t euid, const char *xdg_data_home, const char *home);

static char tmpdir[] = "/tmp/isolazi-test-store.XXXXXX";
static char root[256];

static bool
exists(const char *rel)
{
  char p[8192];
  struct stat st;

  snprintf(p, sizeof p, "%s/%s", root, rel);
  return lstat(p, &st) == 0;
}

static off_t
size_of(const char *rel)
{
  char p[8192];
  struct stat st;

  snprintf(p, sizeof p, "%s/%s", root, rel);
  return lstat(p, &st) == 0 ? st.st_size : -1;
}

static void
digest_of(const char *s, char out[ISOLAZI_DIGEST_MAX])
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  if (isolazi_digest_buffer("sha256", s, strlen(s), out, &err) < 0)
    abort();
}

static void
test_default_root(void)
{
  char *r;

  r = isolazi_store_default_root_for(0, "/xdg", "/home/u");
  tap_streq(r, "/var/lib/isolazi", "root uses /var/lib/isolazi");
  free(r);
  r = isolazi_store_default_root_for(1000, "/xdg", "/home/u");
  tap_streq(r, "/xdg/isolazi", "a user with XDG_DATA_HOME");
  free(r);
  r = isolazi_store_default_root_for(1000, "relative", "/home/u");
  tap_streq(r, "/home/u/.local/share/isolazi", "a relative XDG_DATA_HOME is ignored");
  free(r);
  r = isolazi_store_default_root_for(1000, "", "/home/u");
  tap_streq(r, "/home/u/.local/share/isolazi", "an empty XDG_DATA_HOME is ignored");
  free(r);
  r = isolazi_store_default_root_for(1000, NULL, NULL);
  tap_ok(r == NULL, "no XDG_DATA_HOME and no HOME: no default");
  free(r);
}

static void
test_open(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_t *s = NULL;
  static const char *const dirs[] = { "blobs/sha256", "blobs/sha512", "tmp", "layers", "bundles", "lock" };
  size_t i;

  tap_ok(isolazi_store_open(root, &s, &err) == 0, "open a new store%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
  if (s == NULL)
    return;
  tap_streq(isolazi_store_root(s), root, "root is the absolute path");
  for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    tap_ok(exists(dirs[i]), "layout: %s", dirs[i]);
  isolazi_store_close(s);
  /* Opening again is fine, and a file where the store should be is a clear error. */
  tap_ok(isolazi_store_open(root, &s, &err) == 0, "open an existing store");
  isolazi_store_close(s);
  {
    char file[8192];
    int fd;

    snprintf(file, sizeof file, "%s/not-a-dir", tmpdir);
    fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    close(fd);
    s = NULL;
    tap_ok(isolazi_store_open(file, &s, &err) < 0 && s == NULL && err.msg != NULL
               && strstr(err.msg, "not-a-dir") != NULL,
           "a file as the store root is refused: %s", err.msg ? err.msg : "(accepted)");
    isolazi_error_release(&err);
  }
  isolazi_store_close(NULL);
}

static void
test_put_read(isolazi_store_t *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  static const char text[] = "{\"hello\":\"world\"}";
  char d[ISOLAZI_DIGEST_MAX], got[ISOLAZI_DIGEST_MAX], rel[256], *buf = NULL, *path;
  size_t len = 0;
  struct stat st;

  digest_of(text, d);
  tap_ok(!isolazi_store_has_blob(s, d), "blob absent at first");
  tap_ok(isolazi_store_put_blob(s, text, strlen(text), d, got, &err) == 0 && strcmp(got, d) == 0,
         "put a blob with its digest");
  tap_ok(isolazi_store_has_blob(s, d), "blob present");
  snprintf(rel, sizeof rel, "blobs/sha256/%s", isolazi_digest_hex(d));
  path = isolazi_store_blob_path(s, d);
  tap_ok(path != NULL && stat(path, &st) == 0 && (st.st_mode & 07777) == 0444, "blob is read-only (0444)");
  free(path);
  tap_ok(isolazi_store_read_blob(s, d, 0, &buf, &len, &err) == 0 && len == strlen(text) && strcmp(buf, text) == 0,
         "read it back");
  free(buf);
  buf = NULL;
  tap_ok(isolazi_store_read_blob(s, d, 4, &buf, &len, &err) < 0 && err.code == EFBIG && buf == NULL,
         "read with a smaller max_size fails: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  tap_ok(isolazi_store_put_blob(s, text, strlen(text), NULL, got, &err) == 0 && strcmp(got, d) == 0,
         "put without a digest computes it (and an existing blob is fine)");

  /* A wrong digest stores nothing. */
  {
    char other[ISOLAZI_DIGEST_MAX];

    digest_of("something else", other);
    tap_ok(isolazi_store_put_blob(s, text, strlen(text), other, NULL, &err) < 0 && strstr(err.msg, other) != NULL,
           "put with a wrong digest fails: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
    tap_ok(!isolazi_store_has_blob(s, other), "nothing stored under the wrong digest");
    tap_ok(isolazi_store_read_blob(s, other, 0, &buf, &len, &err) < 0 && err.code == ENOENT,
           "reading a missing blob is ENOENT");
    isolazi_error_release(&err);
  }
  tap_ok(isolazi_store_put_blob(s, text, strlen(text), "sha256:../../x", NULL, &err) < 0,
         "put with an invalid digest fails: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  tap_ok(!isolazi_store_has_blob(s, "sha256:../../etc") && isolazi_store_blob_path(s, "md5:00") == NULL,
         "invalid digests are never paths");

  /* A blob damaged on disk is detected when read. */
  {
    char p[8192];
    int fd;

    snprintf(p, sizeof p, "%s/%s", root, rel);
    chmod(p, 0644);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd >= 0)
      {
        (void)write(fd, "X", 1);
        close(fd);
      }
    tap_ok(isolazi_store_read_blob(s, d, 0, &buf, &len, &err) < 0 && strstr(err.msg, "damaged") != NULL,
           "a damaged blob is refused: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
    unlink(p);
  }
  {
    /* sha512 blobs too */
    static const char t2[] = "sha512 content";
    char d512[ISOLAZI_DIGEST_MAX];

    (void)isolazi_digest_buffer("sha512", t2, strlen(t2), d512, &err);
    tap_ok(isolazi_store_put_blob(s, t2, strlen(t2), d512, NULL, &err) == 0 && isolazi_store_has_blob(s, d512),
           "a sha512 blob%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
    buf = NULL;
    tap_ok(isolazi_store_read_blob(s, d512, 0, &buf, &len, &err) == 0 && len == strlen(t2), "read a sha512 blob");
    free(buf);
    isolazi_error_release(&err);
  }
  tap_ok(size_of("tmp") >= 0, "tmp exists");
}

static int
write_str(int fd, const char *s)
{
  return isolazi_write_all(fd, s, strlen(s)) < 0 ? -1 : 0;
}

static void
test_download(isolazi_store_t *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  static const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char d[ISOLAZI_DIGEST_MAX], partial_rel[256], buf[64], *data = NULL;
  isolazi_store_blob_t *b = NULL;
  size_t len = 0;
  off_t size;
  pid_t pid;
  int status;

  digest_of(content, d);
  snprintf(partial_rel, sizeof partial_rel, "tmp/%s.partial", isolazi_digest_hex(d));
  tap_ok(isolazi_store_blob_begin(s, d, &b, &err) == 0 && b != NULL && !b->present && b->fd >= 0, "begin a download");
  if (b == NULL)
    return;
  tap_ok(strstr(b->partial, partial_rel) != NULL && exists(partial_rel), "the partial file is tmp/<hex>.partial");
  tap_ok((fcntl(b->fd, F_GETFD) & FD_CLOEXEC) != 0, "the partial fd is close-on-exec");
  (void)write_str(b->fd, "0123456789");
  isolazi_store_blob_abort(b);
  tap_ok(size_of(partial_rel) == 10, "abort keeps the partial file");

  /* A writer killed in the middle: the lock goes with it, the prefix stays. */
  pid = fork();
  if (pid == 0)
    {
      isolazi_store_t *cs = NULL;
      isolazi_store_blob_t *cb = NULL;

      if (isolazi_store_open(root, &cs, NULL) < 0 || isolazi_store_blob_begin(cs, d, &cb, NULL) < 0)
        _exit(1);
      if (lseek(cb->fd, 0, SEEK_END) != 10 || write_str(cb->fd, "abcdefghij") < 0)
        _exit(1);
      kill(getpid(), SIGKILL);
      _exit(2);
    }
  waitpid(pid, &status, 0);
  tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "a writer killed mid-download");
  tap_ok(!isolazi_store_has_blob(s, d), "no blob after the killed download");
  tap_ok(size_of(partial_rel) == 20, "the killed writer's prefix is kept");

  b = NULL;
  tap_ok(isolazi_store_blob_begin(s, d, &b, &err) == 0 && b != NULL && !b->present, "resume");
  if (b == NULL)
    return;
  size = lseek(b->fd, 0, SEEK_END);
  tap_ok(size == 20 && pread(b->fd, buf, 20, 0) == 20 && memcmp(buf, content, 20) == 0,
         "the resumed file holds the prefix");
  (void)write_str(b->fd, content + 20);

  /* A concurrent pull of the same blob waits, then finds it committed. */
  {
    int ready[2];

    if (pipe2(ready, O_CLOEXEC) < 0)
      abort();
    pid = fork();
    if (pid == 0)
      {
        isolazi_store_t *cs = NULL;
        isolazi_store_blob_t *cb = NULL;

        /* The inherited descriptor shares the writer's lock: a real second pull has none. */
        close(b->fd);
        close(ready[0]);
        if (isolazi_store_open(root, &cs, NULL) < 0)
          _exit(1);
        close(ready[1]);
        if (isolazi_store_blob_begin(cs, d, &cb, NULL) < 0)
          _exit(1);
        _exit(cb->present && cb->fd < 0 ? 0 : 3);
      }
    close(ready[1]);
    (void)read(ready[0], buf, 1);
    close(ready[0]);
    usleep(200 * 1000);
    tap_ok(waitpid(pid, &status, WNOHANG) == 0, "a concurrent begin of the same blob waits for the writer");
    tap_ok(isolazi_store_blob_commit(s, b, &err) == 0, "commit%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "then finds the blob present");
  }
  tap_ok(isolazi_store_has_blob(s, d), "the blob is committed");
  tap_ok(!exists(partial_rel), "the partial file is gone");
  tap_ok(isolazi_store_read_blob(s, d, 0, &data, &len, &err) == 0 && len == strlen(content)
             && memcmp(data, content, len) == 0,
         "the committed blob has the whole content");
  free(data);

  b = NULL;
  tap_ok(isolazi_store_blob_begin(s, d, &b, &err) == 0 && b->present && b->fd < 0,
         "begin on a present blob: nothing to download");
  tap_ok(isolazi_store_blob_commit(s, b, &err) == 0, "commit of a present blob is a no-op");

  /* Wrong content: refused, no blob, and the partial file starts again from nothing. */
  {
    char d2[ISOLAZI_DIGEST_MAX], rel2[256];

    digest_of("the right content", d2);
    snprintf(rel2, sizeof rel2, "tmp/%s.partial", isolazi_digest_hex(d2));
    b = NULL;
    tap_ok(isolazi_store_blob_begin(s, d2, &b, &err) == 0 && b->fd >= 0, "begin another download");
    (void)write_str(b->fd, "the wrong content");
    tap_ok(isolazi_store_blob_commit(s, b, &err) < 0 && strstr(err.msg, "downloaded content has digest") != NULL,
           "commit of the wrong content fails: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
    tap_ok(!isolazi_store_has_blob(s, d2), "no blob for the wrong content");
    tap_ok(size_of(rel2) == 0, "the partial file is emptied");
  }
  b = NULL;
  tap_ok(isolazi_store_blob_begin(s, "sha256:nothex", &b, &err) < 0 && b == NULL,
         "begin with an invalid digest fails: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  isolazi_store_blob_abort(NULL);
}

#define MD(c)                                                                                                          \
  "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
      c c c c c c c c c c c

static void
test_images(isolazi_store_t *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_image_t a = { .name = "docker.io/library/alpine:latest", .config_digest = MD("c"), .size = 1234 };
  isolazi_store_image_t b = { .name = "ghcr.io/o/r:1", .index_digest = MD("e"), .created = 42 };
  isolazi_store_image_t got = { 0 }, *list = NULL;
  char a_digest[80], b_digest[80];
  size_t n = 0;

  /* Manifest digests "ab34…" and "ab12…", for the prefix searches. */
  snprintf(a_digest, sizeof a_digest, "sha256:ab34%.60s", MD("a") + 7);
  snprintf(b_digest, sizeof b_digest, "sha256:ab12%.60s", MD("0") + 7);
  a.manifest_digest = a_digest;
  b.manifest_digest = b_digest;

  tap_ok(isolazi_store_list(s, &list, &n, &err) == 0 && n == 0, "an empty store lists nothing");
  isolazi_store_images_free(list, n);
  tap_ok(isolazi_store_find(s, "alpine", &got, &err) < 0 && err.code == ENOENT, "find in an empty store: %s",
         err.msg ? err.msg : "");
  isolazi_error_release(&err);
  tap_ok(isolazi_store_tag(s, &a, &err) == 0, "tag alpine%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
  tap_ok(isolazi_store_tag(s, &b, &err) == 0, "tag ghcr.io/o/r:1");
  tap_ok(exists("images.json"), "images.json written");

  tap_ok(isolazi_store_find(s, "docker.io/library/alpine:latest", &got, &err) == 0
             && strcmp(got.manifest_digest, a.manifest_digest) == 0 && got.size == 1234 && got.created > 0
             && got.index_digest == NULL && strcmp(got.config_digest, a.config_digest) == 0,
         "find by canonical name; created filled in");
  isolazi_store_image_release(&got);
  tap_ok(isolazi_store_find(s, "alpine", &got, &err) == 0 && strcmp(got.name, a.name) == 0, "find by a short name");
  isolazi_store_image_release(&got);
  tap_ok(isolazi_store_find(s, b_digest, &got, &err) == 0 && strcmp(got.name, b.name) == 0 && got.created == 42
             && strcmp(got.index_digest, b.index_digest) == 0,
         "find by manifest digest");
  isolazi_store_image_release(&got);
  tap_ok(isolazi_store_find(s, "ab120", &got, &err) == 0 && strcmp(got.name, b.name) == 0, "find by a hex prefix");
  isolazi_store_image_release(&got);
  tap_ok(isolazi_store_find(s, "sha256:ab34", &got, &err) == 0 && strcmp(got.name, a.name) == 0,
         "find by a sha256: prefix");
  isolazi_store_image_release(&got);
  tap_ok(isolazi_store_find(s, "ab1", &got, &err) < 0 && err.code == ENOENT, "a 3-digit prefix is too short");
  isolazi_error_release(&err);
  tap_ok(isolazi_store_find(s, "ab", &got, &err) < 0, "a 2-digit prefix is too short");
  isolazi_error_release(&err);
  {
    /* Two images of the same manifest are not ambiguous; two manifests are. */
    isolazi_store_image_t c = a;
    c.name = "docker.io/library/alpine:3";
    tap_ok(isolazi_store_tag(s, &c, &err) == 0, "tag a second name for alpine's manifest");
    tap_ok(isolazi_store_find(s, "ab34", &got, &err) == 0, "a prefix of one manifest with two names is unique");
    isolazi_store_image_release(&got);
    tap_ok(isolazi_store_find(s, "ab12", &got, &err) == 0, "ab12 is unique");
    isolazi_store_image_release(&got);
    tap_ok(isolazi_store_find(s, "sha256:ab", &got, &err) < 0, "sha256:ab is too short");
    isolazi_error_release(&err);
  }
  {
    isolazi_store_image_t amb = b;
    char dd[80];

    snprintf(dd, sizeof dd, "sha256:ab12ff%.58s", MD("0") + 7);
    amb.manifest_digest = dd;
    amb.name = "x.io/amb:1";
    (void)isolazi_store_tag(s, &amb, &err);
    tap_ok(isolazi_store_find(s, "ab12", &got, &err) < 0 && strstr(err.msg, "ambiguous") != NULL,
           "an ambiguous prefix: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
    tap_ok(isolazi_store_untag(s, "x.io/amb:1", &err) == 0, "untag");
    tap_ok(isolazi_store_find(s, "x.io/amb:1", &got, &err) < 0, "untagged image is gone");
    isolazi_error_release(&err);
  }
  tap_ok(
      isolazi_store_list(s, &list, &n, &err) == 0 && n == 3 && strcmp(list[0].name, "docker.io/library/alpine:3") == 0
          && strcmp(list[1].name, "docker.io/library/alpine:latest") == 0 && strcmp(list[2].name, "ghcr.io/o/r:1") == 0,
      "list, sorted by name");
  isolazi_store_images_free(list, n);

  /* Retagging replaces. */
  {
    isolazi_store_image_t a2 = a;
    a2.size = 99;
    (void)isolazi_store_tag(s, &a2, &err);
    tap_ok(isolazi_store_find(s, a.name, &got, &err) == 0 && got.size == 99, "tagging an existing name replaces it");
    isolazi_store_image_release(&got);
    tap_ok(isolazi_store_list(s, &list, &n, &err) == 0 && n == 3, "still three names");
    isolazi_store_images_free(list, n);
  }
  tap_ok(isolazi_store_untag(s, "nope", &err) < 0 && err.code == ENOENT, "untag an unknown name: %s",
         err.msg ? err.msg : "");
  isolazi_error_release(&err);
  {
    isolazi_store_image_t bad = { .name = "x", .manifest_digest = "sha256:zz" };
    tap_ok(isolazi_store_tag(s, &bad, &err) < 0, "tag with a bad digest is refused: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
  }
  /* Leave only alpine:latest for prune's test. */
  (void)isolazi_store_untag(s, "docker.io/library/alpine:3", &err);
  (void)isolazi_store_untag(s, "ghcr.io/o/r:1", &err);
  isolazi_store_image_release(NULL);
}

static void
test_chain_ids(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  const char *diffs[] = { MD("1"), MD("2") };
  char **chain = NULL;

  tap_ok(isolazi_store_chain_ids(diffs, 2, &chain, &err) == 0, "chain IDs");
  if (chain == NULL)
    return;
  tap_streq(chain[0], MD("1"), "the first chain ID is the first diff_id");
  /* printf 'sha256:1…1 sha256:2…2' | sha256sum */
  tap_streq(chain[1], "sha256:9932074217c35353d2e03a3f5a86549f7c67bfeb0ba53e23d69f4d4c8f7958f5",
            "the second is sha256 of \"<chain0> <diff1>\"");
  tap_ok(chain[2] == NULL, "NULL-terminated");
  free(chain[0]);
  free(chain[1]);
  free(chain);
  diffs[1] = "sha256:bad";
  chain = NULL;
  tap_ok(isolazi_store_chain_ids(diffs, 2, &chain, &err) < 0 && chain == NULL, "a bad diff_id: %s",
         err.msg ? err.msg : "");
  isolazi_error_release(&err);
}

/* A one-file uncompressed tar (ustar), enough for the unpacker. */
static size_t
make_tar(char *out, size_t cap, const char *name, const char *content)
{
  size_t clen = strlen(content), total = 512 + ((clen + 511) / 512) * 512 + 1024, i;
  unsigned sum = 0;
  char *h = out;

  if (total > cap)
    abort();
  memset(out, 0, total);
  snprintf(h, 100, "%s", name);
  snprintf(h + 100, 8, "%07o", 0644);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011zo", clen);
  snprintf(h + 136, 12, "%011o", 0);
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  for (i = 0; i < 512; i++)
    sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  memcpy(out + 512, content, clen);
  return total;
}

/* isolazi_store_layer_dir for one layer (a chain of one). */
static int
layer_dir1(isolazi_store_t *s, const char *chain, const char *blob, const char *diff, bool rootless, char **ret,
           isolazi_error_t *err)
{
  const char *c[1] = { chain }, *b[1] = { blob }, *d[1] = { diff };

  return isolazi_store_layer_dir(s, c, b, d, 1, rootless, ret, err);
}

/* A ustar header at h: type '0' file, '5' directory. */
static void
tar_header(char *h, const char *name, char type, unsigned mode, long mtime, size_t size)
{
  unsigned sum = 0;
  size_t i;

  memset(h, 0, 512);
  snprintf(h, 100, "%s", name);
  snprintf(h + 100, 8, "%07o", mode);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011zo", size);
  snprintf(h + 136, 12, "%011lo", (unsigned long)mtime);
  h[156] = type;
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  for (i = 0; i < 512; i++)
    sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
}

/* A layer is unpacked over the ones below it, which are unpacked first: a directory it has no
 * entry for (tmp/x without tmp/) keeps the lower layer's 1777 in the merged view. */
static void
test_layer_chain(isolazi_store_t *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  static char base[512 * 4], top[512 * 4];
  char blobs[2][ISOLAZI_DIGEST_MAX], missing[ISOLAZI_DIGEST_MAX], missing_top[ISOLAZI_DIGEST_MAX], p[8192], rel[1024];
  const char *bl[2] = { blobs[0], blobs[1] }, *diffs[2] = { blobs[0], blobs[1] };
  char **chain = NULL, *path = NULL;
  bool rootless = geteuid() != 0;
  struct stat sb;

  memset(base, 0, sizeof base);
  tar_header(base, "tmp/", '5', 01777, 1400000000, 0);
  memset(top, 0, sizeof top);
  tar_header(top, "tmp/x", '0', 0644, 1500000000, 1);
  top[512] = 'x';
  if (isolazi_store_put_blob(s, base, 512 * 3, NULL, blobs[0], &err) < 0
      || isolazi_store_put_blob(s, top, 512 * 4, NULL, blobs[1], &err) < 0
      || isolazi_store_chain_ids(diffs, 2, &chain, &err) < 0)
    {
      tap_ok(0, "layer chain: set up: %s", err.msg);
      isolazi_error_release(&err);
      return;
    }
  tap_ok(isolazi_store_layer_dir(s, (const char *const *)chain, bl, diffs, 2, rootless, &path, &err) == 0,
         "layer chain: the top layer unpacks%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
  snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(chain[0]));
  tap_ok(exists(rel), "layer chain: the missing lower layer is unpacked first");
  snprintf(p, sizeof p, "%s/tmp", path ? path : "/nonexistent");
  tap_ok(path != NULL && strstr(path, isolazi_digest_hex(chain[1])) != NULL && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)
             && (sb.st_mode & 07777) == 01777 && sb.st_mtim.tv_sec == 1400000000,
         "layer chain: the top layer's implicit tmp takes the lower layer's 1777 and mtime");
  free(path);
  path = NULL;

  /* A lower layer that cannot be unpacked: the error, and nothing of the layers above. */
  digest_of("a blob never stored", missing);
  digest_of("a layer above it", missing_top);
  {
    const char *c[2] = { missing, missing_top }, *b[2] = { missing, blobs[1] };

    int r = isolazi_store_layer_dir(s, c, b, NULL, 2, rootless, &path, &err);

    tap_ok(r < 0 && path == NULL && err.msg != NULL && strstr(err.msg, "open blob") != NULL,
           "layer chain: a lower layer's missing blob fails: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
    snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(missing_top));
    tap_ok(!exists(rel), "layer chain: nothing of the layer above it");
  }
  tap_ok(isolazi_store_layer_dir(s, (const char *const *)chain, bl, diffs, 0, rootless, &path, &err) < 0
             && path == NULL,
         "layer chain: an empty chain is refused");
  isolazi_error_release(&err);
  free(chain[0]);
  free(chain[1]);
  free(chain);
}

static char layer_chain[ISOLAZI_DIGEST_MAX];

static void
test_layers(isolazi_store_t *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  static char tar[4096];
  char blob[ISOLAZI_DIGEST_MAX], wrong[ISOLAZI_DIGEST_MAX], *path = NULL, *path2 = NULL, p[8192], *text = NULL;
  size_t len = make_tar(tar, sizeof tar, "hello.txt", "hello from a layer\n");
  bool rootless = geteuid() != 0;

  /* Uncompressed: the blob digest is the diff_id and, for a first layer, the chain ID. */
  if (isolazi_store_put_blob(s, tar, len, NULL, blob, &err) < 0)
    {
      tap_ok(0, "put the layer blob: %s", err.msg);
      return;
    }
  digest_of("wrong", wrong);
  tap_ok(layer_dir1(s, blob, blob, wrong, rootless, &path, &err) < 0 && path == NULL
             && strstr(err.msg, "the image config says") != NULL,
         "a layer whose diff_id does not match is refused: %s", err.msg ? err.msg : "");
  isolazi_error_release(&err);
  {
    char rel[256];
    snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(blob));
    tap_ok(!exists(rel), "nothing left under layers/ after a failed unpack");
  }
  {
    /* no .tmp- directories left */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/layers')\"", root);
    tap_ok(system(cmd) == 0, "no temporary directory left in layers/");
  }
  tap_ok(layer_dir1(s, blob, blob, blob, rootless, &path, &err) == 0, "unpack a layer%s%s", err.msg ? ": " : "",
         err.msg ? err.msg : "");
  if (path == NULL)
    {
      isolazi_error_release(&err);
      return;
    }
  snprintf(p, sizeof p, "%s/hello.txt", path);
  tap_ok(isolazi_read_file(p, &text, NULL, &err) == 0 && strcmp(text, "hello from a layer\n") == 0,
         "the layer's file is there");
  free(text);
  tap_ok(strstr(path, isolazi_digest_hex(blob)) != NULL, "layers/<chain hex>");
  /* Once unpacked, the blob is not needed again. */
  {
    char *bp = isolazi_store_blob_path(s, blob);
    char d2[ISOLAZI_DIGEST_MAX];

    digest_of("never stored", d2);
    unlink(bp);
    free(bp);
    tap_ok(layer_dir1(s, blob, blob, blob, rootless, &path2, &err) == 0 && strcmp(path, path2) == 0,
           "a second call finds the layer without its blob");
    free(path2);
    path2 = NULL;
    tap_ok(layer_dir1(s, d2, d2, NULL, rootless, &path2, &err) < 0 && path2 == NULL,
           "a layer whose blob is missing fails: %s", err.msg ? err.msg : "");
    isolazi_error_release(&err);
  }
  snprintf(layer_chain, sizeof layer_chain, "%s", blob);
  free(path);
}

/* Writes text as a blob and returns its digest. */
static void
put(isolazi_store_t *s, const char *text, char out[ISOLAZI_DIGEST_MAX])
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;

  if (isolazi_store_put_blob(s, text, strlen(text), NULL, out, &err) < 0)
    abort();
}

static void
mklayer(const char *hex)
{
  char p[8192];

  snprintf(p, sizeof p, "%s/layers/%s", root, hex);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/layers/%s/file", root, hex);
  close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0444));
}

static void
test_prune(isolazi_store_t *s)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_prune_stats_t st = { 0 };
  char cfg_d[ISOLAZI_DIGEST_MAX], man_d[ISOLAZI_DIGEST_MAX], lay_d[ISOLAZI_DIGEST_MAX], junk_d[ISOLAZI_DIGEST_MAX];
  char diff2[ISOLAZI_DIGEST_MAX], text[4096], live_dir[8192], dead_dir[8192], rel[1024];
  char **chain = NULL;
  const char *diffs[2];
  isolazi_store_image_t img = { 0 };
  char live_chain[ISOLAZI_DIGEST_MAX], dead_chain[ISOLAZI_DIGEST_MAX], junk_chain[ISOLAZI_DIGEST_MAX];
  const char *lc[1], *dc[1];

  /* An image with two layers: diff_ids → chain IDs → layers/ kept. */
  digest_of("diff two", diff2);
  diffs[0] = layer_chain[0] ? layer_chain : MD("1");
  diffs[1] = diff2;
  if (isolazi_store_chain_ids(diffs, 2, &chain, &err) < 0)
    abort();
  put(s, "layer blob", lay_d);
  snprintf(
      text, sizeof text,
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
      diffs[0], diffs[1]);
  put(s, text, cfg_d);
  snprintf(text, sizeof text,
           "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
           "\"%s\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\","
           "\"size\":1}]}",
           cfg_d, lay_d);
  put(s, text, man_d);
  img.name = "example.com/kept:1";
  img.manifest_digest = man_d;
  img.config_digest = cfg_d;
  if (isolazi_store_tag(s, &img, &err) < 0)
    abort();
  mklayer(isolazi_digest_hex(chain[1]));
  if (!layer_chain[0])
    mklayer(isolazi_digest_hex(chain[0]));

  /* Garbage: an unreferenced blob, an unreferenced layer, a stale partial, a stale temp dir. */
  put(s, "junk", junk_d);
  digest_of("junk layer", junk_chain);
  mklayer(isolazi_digest_hex(junk_chain));
  snprintf(rel, sizeof rel, "%s/tmp/%s.partial", root, isolazi_digest_hex(junk_d));
  {
    int fd = open(rel, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    (void)write(fd, "12345", 5);
    close(fd);
  }
  mklayer(".tmp-stale-XXXX");

  /* Bundles: one whose directory exists keeps its layer; one whose directory is gone does not. */
  digest_of("live layer", live_chain);
  digest_of("dead layer", dead_chain);
  mklayer(isolazi_digest_hex(live_chain));
  mklayer(isolazi_digest_hex(dead_chain));
  snprintf(live_dir, sizeof live_dir, "%s/bundle-live", tmpdir);
  snprintf(dead_dir, sizeof dead_dir, "%s/bundle-dead", tmpdir);
  mkdir(live_dir, 0700);
  mkdir(dead_dir, 0700);
  lc[0] = live_chain;
  dc[0] = dead_chain;
  tap_ok(isolazi_store_bundle_record(s, live_dir, lc, 1, &err) == 0, "record a bundle%s%s", err.msg ? ": " : "",
         err.msg ? err.msg : "");
  tap_ok(isolazi_store_bundle_record(s, dead_dir, dc, 1, &err) == 0, "record another");
  rmdir(dead_dir);
  {
    const char *bad[1] = { "sha256:no" };
    tap_ok(isolazi_store_bundle_record(s, live_dir, bad, 1, &err) < 0, "a bad chain ID is refused: %s",
           err.msg ? err.msg : "");
    isolazi_error_release(&err);
  }

  tap_ok(isolazi_store_prune(s, &st, &err) == 0, "prune%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
  tap_ok(isolazi_store_has_blob(s, man_d) && isolazi_store_has_blob(s, cfg_d) && isolazi_store_has_blob(s, lay_d),
         "the tagged image's manifest, config and layer blobs are kept");
  tap_ok(!isolazi_store_has_blob(s, junk_d), "the unreferenced blob is removed");
  snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(chain[0]));
  tap_ok(exists(rel), "the image's first layer is kept");
  snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(chain[1]));
  tap_ok(exists(rel), "the image's second layer (by chain ID) is kept");
  snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(live_chain));
  tap_ok(exists(rel), "a live bundle's layer is kept");
  snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(dead_chain));
  tap_ok(!exists(rel), "a dead bundle's layer is removed");
  snprintf(rel, sizeof rel, "layers/%s", isolazi_digest_hex(junk_chain));
  tap_ok(!exists(rel), "an unreferenced layer is removed (read-only files and all)");
  tap_ok(!exists("layers/.tmp-stale-XXXX"), "a stale temporary layer is removed");
  snprintf(rel, sizeof rel, "tmp/%s.partial", isolazi_digest_hex(junk_d));
  tap_ok(!exists(rel), "a stale partial is removed");
  tap_ok(st.layers == 2 && st.partials >= 1 && st.blobs >= 1 && st.bytes > 0,
         "stats: %lu blobs, %lu layers, %lu partials, %lld bytes", st.blobs, st.layers, st.partials,
         (long long)st.bytes);

  /* The dead bundle's record went with it; forgetting the live one frees its layer. */
  tap_ok(isolazi_store_bundle_forget(s, live_dir, &err) == 0, "forget a bundle");
  tap_ok(isolazi_store_bundle_forget(s, live_dir, &err) == 0, "forgetting twice is fine");
  (void)isolazi_store_untag(s, img.name, &err);
  tap_ok(isolazi_store_prune(s, &st, &err) == 0 && st.layers == 3 && !isolazi_store_has_blob(s, man_d),
         "after untag and forget, prune removes the rest (%lu layers)", st.layers);
  {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/layers' '%s/blobs/sha256' '%s/bundles' | grep -v : )\"", root,
             root, root);
    tap_ok(system(cmd) == 0, "the store is empty again");
  }
  free(chain[0]);
  free(chain[1]);
  free(chain);
}

/* Prune waits for other users of the store to close it. */
static void
test_prune_lock(void)
{
  int ready[2], release[2], status;
  pid_t holder, pruner;
  char c;

  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(release, O_CLOEXEC) < 0)
    abort();
  holder = fork();
  if (holder == 0)
    {
      isolazi_store_t *s = NULL;

      close(ready[0]);
      close(release[1]);
      if (isolazi_store_open(root, &s, NULL) < 0)
        _exit(1);
      close(ready[1]);
      (void)read(release[0], &c, 1);
      isolazi_store_close(s);
      _exit(0);
    }
  close(ready[1]);
  close(release[0]);
  (void)read(ready[0], &c, 1);
  pruner = fork();
  if (pruner == 0)
    {
      isolazi_store_t *s = NULL;

      close(release[1]);
      if (isolazi_store_open(root, &s, NULL) < 0 || isolazi_store_prune(s, NULL, NULL) < 0)
        _exit(1);
      _exit(0);
    }
  usleep(300 * 1000);
  tap_ok(waitpid(pruner, &status, WNOHANG) == 0, "prune waits while another process has the store open");
  close(release[1]);
  waitpid(holder, &status, 0);
  waitpid(pruner, &status, 0);
  tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "and runs once it is closed");
  close(ready[0]);
}

int
main(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_store_t *s = NULL;
  char cmd[2048];

  if (mkdtemp(tmpdir) == NULL)
    return 1;
  snprintf(root, sizeof root, "%s/store", tmpdir);
  test_default_root();
  test_open();
  if (isolazi_store_open(root, &s, &err) < 0)
    {
      printf("# %s\n", err.msg);
      return 1;
    }
  test_put_read(s);
  test_download(s);
  test_images(s);
  test_chain_ids();
  test_layers(s);
  test_prune(s);
  test_layer_chain(s);
  isolazi_store_close(s);
  test_prune_lock();
  snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' && rm -rf '%s'", tmpdir, tmpdir);
  (void)system(cmd);
  return tap_done();
}
