/* SPDX-License-Identifier: Apache-2.0 */
/* Store → bundle: DIR/rootfs as an overlay of the store's unpacked layers (or a copy), and
 * DIR/config.json from the image config.  DIR/isolazi-bundle.json records what was used, so that
 * `mount` can mount the rootfs again after a reboot and `rm-bundle` can take it apart.
 *
 *   DIR/config.json          the runtime config (bundle.c decides it)
 *   DIR/rootfs/              overlay: lowerdir = the layers, top first; or a plain directory
 *   DIR/upper/, DIR/work/    the overlay's upper and work directories (overlay bundles only)
 *   DIR/isolazi-bundle.json  {"store", "image", "manifest", "copy", "rootless", "layers": [...]}
 */
#include <config.h>

#include "pull.h"
#include "cleanup.h"
#include "digest.h"
#include "json.h"
#include "log.h"
#include "ocispec_image.h"
#include "unpack.h"
#include "utils.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define META_NAME    "isolazi-bundle.json"
#define MANIFEST_MAX ((size_t)4 << 20)
#define CONFIG_MAX   ((size_t)16 << 20)

/* What a bundle is made of: read from the store at `bundle`, from META_NAME at `mount`. */
typedef struct bundle_meta
{
  char *store;
  char *image;
  char *manifest;
  bool copy;
  bool rootless; /* the layers were unpacked in rootless form (user.overlay.* xattrs) */
  size_t n;
  char **chain_ids, **digests, **diff_ids;
} bundle_meta_t;

static void
meta_release(bundle_meta_t *m)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    {
      free(m->chain_ids[i]);
      free(m->digests[i]);
      free(m->diff_ids[i]);
    }
  free(m->chain_ids);
  free(m->digests);
  free(m->diff_ids);
  free(m->store);
  free(m->image);
  free(m->manifest);
  memset(m, 0, sizeof *m);
}

static void
meta_alloc(bundle_meta_t *m, size_t n)
{
  m->n = n;
  m->chain_ids = xcalloc(n + 1, sizeof(char *));
  m->digests = xcalloc(n + 1, sizeof(char *));
  m->diff_ids = xcalloc(n + 1, sizeof(char *));
}

/* image-spec config.md "Layer ChainID": ChainID(L0) = DiffID(L0),
 * ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). */
static int
chain_ids(bundle_meta_t *m, isolazi_error_t *err)
{
  char out[ISOLAZI_DIGEST_MAX];
  size_t i;

  for (i = 0; i < m->n; i++)
    {
      cleanup_free char *text = NULL;
      if (i == 0)
        {
          m->chain_ids[i] = xstrdup(m->diff_ids[i]);
          continue;
        }
      text = xasprintf("%s %s", m->chain_ids[i - 1], m->diff_ids[i]);
      if (isolazi_digest_buffer("sha256", text, strlen(text), out, err) < 0)
        return -1;
      m->chain_ids[i] = xstrdup(out);
    }
  return 0;
}

/* The layers of a stored image, checked against each other. */
static int
meta_from_store(isolazi_store_t *s, const char *image, bundle_meta_t *meta, oci_image_config **ret_config,
                isolazi_error_t *err)
{
  isolazi_store_image_t img = { 0 };
  cleanup_free char *mtext = NULL;
  cleanup_free char *ctext = NULL;
  oci_image_manifest *m = NULL;
  oci_image_config *c = NULL;
  size_t mlen = 0, clen = 0, i;
  char *perr = NULL;
  int r = -1;

  if (isolazi_image_lookup(s, image, &img, err) < 0)
    return -1;
  if (isolazi_store_read_blob(s, img.manifest_digest, MANIFEST_MAX, &mtext, &mlen, err) < 0
      || isolazi_store_read_blob(s, img.config_digest, CONFIG_MAX, &ctext, &clen, err) < 0)
    goto out;
  m = oci_image_manifest_parse(img.manifest_digest, mtext, mlen, &perr);
  if (m == NULL)
    {
      isolazi_error_take(err, 0, perr);
      goto out;
    }
  c = oci_image_config_parse(img.config_digest, ctext, clen, &perr);
  if (c == NULL)
    {
      isolazi_error_take(err, 0, perr);
      goto out;
    }
  if (c->rootfs->diff_ids_len != m->layers_len)
    {
      isolazi_error_set(err, 0, "image `%s`: the config lists %zu layers (rootfs.diff_ids) but the manifest has %zu",
                        img.name, c->rootfs->diff_ids_len, m->layers_len);
      goto out;
    }
  meta->store = xstrdup(isolazi_store_root(s));
  meta->image = xstrdup(img.name);
  meta->manifest = xstrdup(img.manifest_digest);
  meta_alloc(meta, m->layers_len);
  for (i = 0; i < m->layers_len; i++)
    {
      if (isolazi_digest_check(c->rootfs->diff_ids[i], "config: rootfs.diff_ids", err) < 0)
        goto out;
      meta->digests[i] = xstrdup(m->layers[i].digest);
      meta->diff_ids[i] = xstrdup(c->rootfs->diff_ids[i]);
    }
  if (chain_ids(meta, err) < 0)
    goto out;
  *ret_config = steal_pointer(&c);
  r = 0;
out:
  oci_image_config_free(c);
  oci_image_manifest_free(m);
  isolazi_store_image_release(&img);
  return r;
}

static int
meta_write(int dirfd, const char *dir, const bundle_meta_t *m, isolazi_error_t *err)
{
  json_gen *g = json_gen_new(true);
  cleanup_free char *text = NULL;
  char *perr = NULL;
  size_t len, i;

  json_gen_object_open(g);
  json_gen_key(g, "store");
  json_gen_string(g, m->store);
  json_gen_key(g, "image");
  json_gen_string(g, m->image);
  json_gen_key(g, "manifest");
  json_gen_string(g, m->manifest);
  json_gen_key(g, "copy");
  json_gen_bool(g, m->copy);
  json_gen_key(g, "rootless");
  json_gen_bool(g, m->rootless);
  json_gen_key(g, "layers");
  json_gen_array_open(g);
  for (i = 0; i < m->n; i++)
    {
      json_gen_object_open(g);
      json_gen_key(g, "digest");
      json_gen_string(g, m->digests[i]);
      json_gen_key(g, "diffID");
      json_gen_string(g, m->diff_ids[i]);
      json_gen_key(g, "chainID");
      json_gen_string(g, m->chain_ids[i]);
      json_gen_object_close(g);
    }
  json_gen_array_close(g);
  json_gen_object_close(g);
  if (json_gen_finish(g, &text, &len, &perr) < 0)
    {
      json_gen_free(g);
      return isolazi_error_take(err, 0, perr);
    }
  json_gen_free(g);
  if (isolazi_write_file_atomic(dirfd, META_NAME, text, len, 0644, true, err) < 0)
    return isolazi_error_wrap(err, "write `%s/%s`", dir, META_NAME);
  return 0;
}

static const char *
get_str(const json_value *o, const char *key)
{
  return json_get_string(json_object_get(o, key));
}

static int
meta_read(const char *dir, bundle_meta_t *m, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, META_NAME);
  cleanup_free char *text = NULL;
  const json_value *layers;
  json_value *v = NULL;
  char *perr = NULL;
  size_t len = 0, i;
  int r = -1;

  if (isolazi_read_file(path, &text, &len, err) < 0)
    {
      if (err->code == ENOENT)
        {
          isolazi_error_release(err);
          return isolazi_error_set(err, ENOENT, "`%s` is not a bundle made by `isolazi-pull bundle` (no %s)", dir,
                                   META_NAME);
        }
      return -1;
    }
  v = json_parse(text, len, &perr);
  if (v == NULL)
    {
      isolazi_error_take(err, 0, perr);
      return isolazi_error_wrap(err, "parse `%s`", path);
    }
  layers = json_object_get(v, "layers");
  if (get_str(v, "store") == NULL || get_str(v, "image") == NULL || get_str(v, "manifest") == NULL
      || json_typeof(layers != NULL ? layers : v) != JSON_ARRAY)
    {
      isolazi_error_set(err, 0, "parse `%s`: expected the keys store, image, manifest and layers", path);
      goto out;
    }
  memset(m, 0, sizeof *m);
  m->store = xstrdup(get_str(v, "store"));
  m->image = xstrdup(get_str(v, "image"));
  m->manifest = xstrdup(get_str(v, "manifest"));
  (void)json_get_bool(json_object_get(v, "copy"), &m->copy);
  (void)json_get_bool(json_object_get(v, "rootless"), &m->rootless);
  meta_alloc(m, json_array_len(layers));
  for (i = 0; i < m->n; i++)
    {
      const json_value *l = json_array_get(layers, i);
      const char *d = get_str(l, "digest"), *diff = get_str(l, "diffID"), *chain = get_str(l, "chainID");
      if (!isolazi_digest_valid(d) || !isolazi_digest_valid(diff) || !isolazi_digest_valid(chain))
        {
          isolazi_error_set(err, 0, "parse `%s`: layers[%zu]: expected digest, diffID and chainID digests", path, i);
          meta_release(m);
          goto out;
        }
      m->digests[i] = xstrdup(d);
      m->diff_ids[i] = xstrdup(diff);
      m->chain_ids[i] = xstrdup(chain);
    }
  r = 0;
out:
  json_value_free(v);
  return r;
}

/* ---- removing what we made ---------------------------------------------------------------- */

/* Delete name under dirfd, recursively, never leaving the filesystem dev (a mount below is an
 * error, not something to delete through). */
static int
remove_at(int dirfd, const char *name, dev_t dev, bool top, isolazi_error_t *err)
{
  struct stat st;
  cleanup_close int fd = -1;
  DIR *d;
  struct dirent *e;

  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : isolazi_error_errno(err, "stat `%s`", name);
  if (!S_ISDIR(st.st_mode))
    {
      if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return isolazi_error_errno(err, "remove `%s`", name);
      return 0;
    }
  if (!top && st.st_dev != dev)
    return isolazi_error_set(err, EBUSY, "remove `%s`: a filesystem is mounted there", name);
  fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", name);
  /* A non-root caller cannot empty a directory it may not write (read-only dirs of an image). */
  if ((st.st_mode & 0700) != 0700 && st.st_uid == geteuid())
    (void)fchmod(fd, (st.st_mode & 07777) | 0700);
  d = fdopendir(dup(fd));
  if (d == NULL)
    return isolazi_error_errno(err, "open `%s`", name);
  while ((errno = 0, e = readdir(d)) != NULL)
    {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      if (remove_at(fd, e->d_name, dev, false, err) < 0)
        {
          closedir(d);
          return isolazi_error_wrap(err, "in `%s`", name);
        }
    }
  closedir(d);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return isolazi_error_errno(err, "remove `%s`", name);
  return 0;
}

static int
remove_path(const char *path, isolazi_error_t *err)
{
  struct stat st;

  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : isolazi_error_errno(err, "stat `%s`", path);
  return remove_at(AT_FDCWD, path, st.st_dev, true, err);
}

/* True when path is the root of a mount (its parent is on another device, or statx says so). */
static bool
is_mount_point(const char *path)
{
  cleanup_free char *parent = xasprintf("%s/..", path);
  struct statx sx;
  struct stat a, b;

  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0
      && (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0)
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  if (lstat(path, &a) < 0 || stat(parent, &b) < 0)
    return false;
  return a.st_dev != b.st_dev;
}

/* ---- the overlay -------------------------------------------------------------------------- */

/* A path overlayfs is given: the path itself when it is short and plain, else the fd's magic
 * link, which is resolved once at mount time.  fsconfig copies at most 256 bytes of a string
 * (fs/fsopen.c), and mount(2) takes one page of options: the fd form keeps both in bounds and
 * needs no escaping of ':' and ','. */
static char *
overlay_path(const char *path, int fd, bool short_only)
{
  if (!short_only && strlen(path) < 200 && strpbrk(path, ":,\\") == NULL)
    return xstrdup(path);
  return xasprintf("/proc/self/fd/%d", fd);
}

static int
open_dir(const char *path, isolazi_error_t *err)
{
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return isolazi_error_errno(err, "open `%s`", path);
  return fd;
}

/* Mount dir/rootfs: lowers[0] is the base layer.  The new mount API with `lowerdir+` (Linux
 * 6.8) takes any number of layers; older kernels get mount(2) with the fd paths, whose page of
 * options holds about 200 layers. */
static int
mount_overlay(char **lowers, size_t n, const char *dir, bool rootless, isolazi_error_t *err)
{
  cleanup_free char *upper = xasprintf("%s/upper", dir);
  cleanup_free char *work = xasprintf("%s/work", dir);
  cleanup_free char *target = xasprintf("%s/rootfs", dir);
  cleanup_free int *fds = xcalloc(n + 2, sizeof *fds);
  cleanup_close int fsfd = -1;
  cleanup_close int mnt = -1;
  cleanup_close int upfd = -1;
  cleanup_close int workfd = -1;
  cleanup_free char *opts = NULL;
  size_t i, k;
  int ret = -1;

  for (i = 0; i < n; i++)
    fds[i] = -1;
  for (i = 0; i < n; i++)
    if ((fds[i] = open_dir(lowers[i], err)) < 0)
      goto out;
  if ((upfd = open_dir(upper, err)) < 0 || (workfd = open_dir(work, err)) < 0)
    goto out;

  fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    {
      isolazi_error_errno(err, "mount overlay on `%s`: fsopen", target);
      goto out;
    }
  /* Top layer first: the first lowerdir+ is the uppermost lower layer, as in lowerdir=a:b. */
  for (k = n; k > 0; k--)
    {
      cleanup_free char *p = overlay_path(lowers[k - 1], fds[k - 1], false);
      if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", p, 0) < 0)
        break;
    }
  if (k == 0)
    {
      cleanup_free char *up = overlay_path(upper, upfd, false);
      cleanup_free char *wk = overlay_path(work, workfd, false);
      if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "isolazi-pull", 0) < 0
          || fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0
          || fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", wk, 0) < 0
          || (rootless && fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0))
        {
          isolazi_error_errno(err, "mount overlay on `%s`: configure upper and work directories", target);
          goto out;
        }
      if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        {
          isolazi_error_errno(err, "mount overlay on `%s`", target);
          goto out;
        }
      mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
      if (mnt < 0 || move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        {
          isolazi_error_errno(err, "mount overlay on `%s`", target);
          goto out;
        }
      ret = 0;
      goto out;
    }
  if (errno != EINVAL)
    {
      isolazi_error_errno(err, "mount overlay on `%s`: add a lower layer", target);
      goto out;
    }

  /* No lowerdir+ (before Linux 6.8). */
  isolazi_debug("overlay: no lowerdir+, mounting `%s` with mount(2)", target);
  opts = xstrdup("lowerdir=");
  for (k = n; k > 0; k--)
    {
      cleanup_free char *p = overlay_path(lowers[k - 1], fds[k - 1], true);
      char *next = xasprintf("%s%s%s", opts, k == n ? "" : ":", p);
      free(opts);
      opts = next;
    }
  {
    cleanup_free char *up = overlay_path(upper, upfd, true);
    cleanup_free char *wk = overlay_path(work, workfd, true);
    char *next = xasprintf("%s,upperdir=%s,workdir=%s%s", opts, up, wk, rootless ? ",userxattr" : "");
    free(opts);
    opts = next;
  }
  if (strlen(opts) >= (size_t)sysconf(_SC_PAGESIZE))
    {
      isolazi_error_set(err, E2BIG,
                        "mount overlay on `%s`: %zu layers are too many for this kernel (Linux 6.8 takes "
                        "any number)",
                        target, n);
      goto out;
    }
  if (mount("isolazi-pull", target, "overlay", 0, opts) < 0)
    {
      isolazi_error_errno(err, "mount overlay on `%s`", target);
      goto out;
    }
  ret = 0;

out:
  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  return ret;
}

/* Unpack the missing layers in child processes, a few at a time (decompression is CPU-bound and
 * each layer ends in a sync).  A layer is unpacked over the ones below it (its implicit
 * directories take their metadata), so a child first waits for the lower layers' unpackers on
 * their locks: the children overlap little.  A child that fails only leaves the layer missing:
 * the sequential pass after it unpacks it again and reports the error. */
static void
unpack_in_parallel(isolazi_store_t *s, const bundle_meta_t *m)
{
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t i, running = 0, missing = 0, max = cpus > 1 ? (size_t)(cpus < 4 ? cpus : 4) : 1;

  for (i = 0; i < m->n; i++)
    {
      cleanup_free char *path = xasprintf("%s/layers/%s", isolazi_store_root(s), isolazi_digest_hex(m->chain_ids[i]));
      if (access(path, F_OK) != 0)
        missing++;
    }
  if (missing < 2 || max < 2)
    return;
  for (i = 0; i < m->n; i++)
    {
      cleanup_free char *path = xasprintf("%s/layers/%s", isolazi_store_root(s), isolazi_digest_hex(m->chain_ids[i]));
      pid_t pid;

      if (access(path, F_OK) == 0)
        continue;
      if (running == max)
        {
          if (wait(NULL) > 0)
            running--;
        }
      pid = fork();
      if (pid == 0)
        {
          isolazi_error_t e = ISOLAZI_ERROR_INIT;
          char *dir = NULL;
          _exit(isolazi_store_layer_dir(s, (const char *const *)m->chain_ids, (const char *const *)m->digests,
                                        (const char *const *)m->diff_ids, i + 1, m->rootless, &dir, &e)
                        < 0
                    ? 1
                    : 0);
        }
      if (pid > 0)
        running++;
    }
  while (running > 0 && wait(NULL) > 0)
    running--;
}

/* The layer directories of the store, unpacked once. */
static int
layer_dirs(isolazi_store_t *s, const bundle_meta_t *m, char ***ret, isolazi_error_t *err)
{
  char **dirs = xcalloc(m->n + 1, sizeof *dirs);
  size_t i;

  unpack_in_parallel(s, m);

  for (i = 0; i < m->n; i++)
    if (isolazi_store_layer_dir(s, (const char *const *)m->chain_ids, (const char *const *)m->digests,
                                (const char *const *)m->diff_ids, i + 1, m->rootless, &dirs[i], err)
        < 0)
      {
        char **p;
        for (p = dirs; *p != NULL; p++)
          free(*p);
        free(dirs);
        return isolazi_error_wrap(err, "layer %zu (%s)", i, m->digests[i]);
      }
  *ret = dirs;
  return 0;
}

/* --copy: every layer applied in order onto dir/rootfs, each diff_id checked. */
static int
copy_layers(isolazi_store_t *s, const bundle_meta_t *m, int rootfs_fd, bool rootless, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    {
      cleanup_free char *path = isolazi_store_blob_path(s, m->digests[i]);
      cleanup_free char *what = xasprintf("layer %s", m->digests[i]);
      isolazi_unpack_opts_t uo = { .mode = ISOLAZI_UNPACK_APPLY, .rootless = rootless, .what = what };
      isolazi_unpack_stats_t st;
      cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);

      memset(&st, 0, sizeof st);
      if (fd < 0)
        return isolazi_error_errno(err, "open %s", what);
      if (isolazi_unpack_layer(rootfs_fd, fd, &uo, &st, err) < 0)
        return -1;
      if (strcmp(st.diff_id, m->diff_ids[i]) != 0)
        return isolazi_error_set(err, 0, "%s: its content has the diff_id %s, the config says %s", what, st.diff_id,
                                 m->diff_ids[i]);
    }
  return 0;
}

/* dir must be absent (created here) or an empty directory. */
static int
prepare_dir(const char *dir, bool *created, isolazi_error_t *err)
{
  cleanup_closedir DIR *d = NULL;
  struct dirent *e;

  *created = false;
  if (mkdir(dir, 0755) == 0)
    {
      *created = true;
      return 0;
    }
  if (errno != EEXIST)
    return isolazi_error_errno(err, "create bundle directory `%s`", dir);
  d = opendir(dir);
  if (d == NULL)
    return isolazi_error_errno(err, "open bundle directory `%s`", dir);
  while ((errno = 0, e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      return isolazi_error_set(err, ENOTEMPTY, "bundle directory `%s` is not empty (it holds `%s`)", dir, e->d_name);
  return 0;
}

static int
make_subdir(const char *dir, const char *name, mode_t mode, isolazi_error_t *err)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, name);

  if (mkdir(path, mode) < 0)
    return isolazi_error_errno(err, "create `%s`", path);
  /* The rootfs's own mode comes from here (overlay's root is the upper root): not the umask's. */
  if (chmod(path, mode) < 0)
    return isolazi_error_errno(err, "chmod `%s`", path);
  return 0;
}

/* Undo a failed bundle: the mount, then what we created. */
static void
undo(const char *dir, bool created, bool mounted)
{
  static const char *const made[] = { "config.json", META_NAME, "rootfs", "upper", "work" };
  isolazi_error_t ignored = ISOLAZI_ERROR_INIT;
  cleanup_free char *rootfs = xasprintf("%s/rootfs", dir);
  size_t i;

  if (mounted && umount2(rootfs, 0) < 0 && umount2(rootfs, MNT_DETACH) < 0)
    {
      /* Deleting through a mount would reach into the store: leave it. */
      isolazi_warning("unmount `%s`: %s", rootfs, strerror(errno));
      return;
    }
  if (created)
    (void)remove_path(dir, &ignored);
  else
    for (i = 0; i < sizeof made / sizeof made[0]; i++)
      {
        cleanup_free char *p = xasprintf("%s/%s", dir, made[i]);
        (void)remove_path(p, &ignored);
        isolazi_error_release(&ignored);
      }
  isolazi_error_release(&ignored);
}

int
isolazi_image_bundle(isolazi_store_t *s, const char *image, const char *dir, const isolazi_assemble_opts_t *opts,
                     isolazi_error_t *err)
{
  bundle_meta_t meta = { 0 };
  oci_image_config *config = NULL;
  cleanup_free char *json = NULL;
  cleanup_free char *rootfs = xasprintf("%s/rootfs", dir);
  cleanup_close int dirfd = -1;
  cleanup_close int rootfs_fd = -1;
  bool created = false, mounted = false, started = false;
  bool unprivileged = geteuid() != 0;
  char **lowers = NULL;
  int ret = -1;

  if (meta_from_store(s, image, &meta, &config, err) < 0)
    goto out;
  /* Overlay mounts need CAP_SYS_ADMIN in the caller's mount namespace; others get a copy. */
  meta.copy = opts->copy || unprivileged;
  meta.rootless = unprivileged;

  if (!meta.copy && layer_dirs(s, &meta, &lowers, err) < 0)
    goto out;

  if (prepare_dir(dir, &created, err) < 0)
    goto out;
  started = true;
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      isolazi_error_errno(err, "open bundle directory `%s`", dir);
      goto out;
    }
  if (make_subdir(dir, "rootfs", 0755, err) < 0)
    goto out;
  if (meta.copy)
    {
      rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (rootfs_fd < 0)
        {
          isolazi_error_errno(err, "open `%s`", rootfs);
          goto out;
        }
      if (copy_layers(s, &meta, rootfs_fd, unprivileged, err) < 0)
        goto out;
    }
  else
    {
      if (make_subdir(dir, "upper", 0755, err) < 0 || make_subdir(dir, "work", 0700, err) < 0)
        goto out;
      if (mount_overlay(lowers, meta.n, dir, meta.rootless, err) < 0)
        goto out;
      mounted = true;
      rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (rootfs_fd < 0)
        {
          isolazi_error_errno(err, "open `%s`", rootfs);
          goto out;
        }
    }

  if (isolazi_bundle_config(config, rootfs_fd, &opts->config, &json, err) < 0)
    goto out;
  if (meta_write(dirfd, dir, &meta, err) < 0)
    goto out;
  if (isolazi_write_file_atomic(dirfd, "config.json", json, strlen(json), 0644, true, err) < 0)
    {
      isolazi_error_wrap(err, "write `%s/config.json`", dir);
      goto out;
    }
  if (isolazi_store_bundle_record(s, dir, (const char *const *)meta.chain_ids, meta.n, err) < 0)
    goto out;
  ret = 0;

out:
  if (ret < 0 && started)
    {
      if (rootfs_fd >= 0)
        {
          close(rootfs_fd);
          rootfs_fd = -1;
        }
      undo(dir, created, mounted);
    }
  if (lowers != NULL)
    {
      char **p;
      for (p = lowers; *p != NULL; p++)
        free(*p);
      free(lowers);
    }
  oci_image_config_free(config);
  meta_release(&meta);
  return ret;
}

/* ---- mount, umount, remove ------------------------------------------------------------------ */

static int
check_store(isolazi_store_t *s, const bundle_meta_t *m, const char *dir, isolazi_error_t *err)
{
  if (strcmp(m->store, isolazi_store_root(s)) != 0)
    return isolazi_error_set(err, 0, "bundle `%s` was made from the store `%s`, not `%s`: use `--store %s`", dir,
                             m->store, isolazi_store_root(s), m->store);
  return 0;
}

int
isolazi_image_bundle_mount(isolazi_store_t *s, const char *dir, isolazi_error_t *err)
{
  cleanup_free char *rootfs = xasprintf("%s/rootfs", dir);
  bundle_meta_t m = { 0 };
  char **lowers = NULL, **p;
  int ret = -1;

  if (meta_read(dir, &m, err) < 0)
    return -1;
  if (m.copy)
    {
      isolazi_error_set(err, 0, "bundle `%s` is a copy (--copy): its rootfs is not a mount", dir);
      goto out;
    }
  if (check_store(s, &m, dir, err) < 0)
    goto out;
  if (is_mount_point(rootfs))
    {
      isolazi_error_set(err, EBUSY, "mount `%s`: already mounted", rootfs);
      goto out;
    }
  if (layer_dirs(s, &m, &lowers, err) < 0)
    goto out;
  if (mount_overlay(lowers, m.n, dir, m.rootless, err) < 0)
    goto out;
  /* A pruned store forgot the bundle's layers: record them again. */
  if (isolazi_store_bundle_record(s, dir, (const char *const *)m.chain_ids, m.n, err) < 0)
    goto out;
  ret = 0;
out:
  if (lowers != NULL)
    {
      for (p = lowers; *p != NULL; p++)
        free(*p);
      free(lowers);
    }
  meta_release(&m);
  return ret;
}

int
isolazi_image_bundle_umount(const char *dir, isolazi_error_t *err)
{
  cleanup_free char *rootfs = xasprintf("%s/rootfs", dir);
  bundle_meta_t m = { 0 };

  if (meta_read(dir, &m, err) < 0)
    return -1;
  meta_release(&m);
  if (!is_mount_point(rootfs))
    return isolazi_error_set(err, EINVAL, "unmount `%s`: not mounted", rootfs);
  if (umount2(rootfs, UMOUNT_NOFOLLOW) < 0)
    return isolazi_error_errno(err, "unmount `%s`%s", rootfs,
                               errno == EBUSY ? " (is a container still running from this bundle?)" : "");
  return 0;
}

int
isolazi_image_bundle_remove(isolazi_store_t *s, const char *dir, isolazi_error_t *err)
{
  cleanup_free char *rootfs = xasprintf("%s/rootfs", dir);
  bundle_meta_t m = { 0 };
  int ret = -1;

  if (meta_read(dir, &m, err) < 0)
    return -1;
  if (check_store(s, &m, dir, err) < 0)
    goto out;
  if (is_mount_point(rootfs) && umount2(rootfs, UMOUNT_NOFOLLOW) < 0)
    {
      isolazi_error_errno(err, "unmount `%s`%s", rootfs,
                          errno == EBUSY ? " (is a container still running from this bundle?)" : "");
      goto out;
    }
  if (remove_path(dir, err) < 0)
    {
      isolazi_error_wrap(err, "remove bundle `%s`", dir);
      goto out;
    }
  if (isolazi_store_bundle_forget(s, dir, err) < 0)
    goto out;
  ret = 0;
out:
  meta_release(&m);
  return ret;
}
