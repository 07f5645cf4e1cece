/* SPDX-License-Identifier: Apache-2.0 */
/* Registry → store: resolve the reference, choose the platform, verify and store the manifest
 * and config, download the layers through the store's partial files (resumable), tag. */
#include <config.h>

#include "pull.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "ocispec_image.h"
#include "reference.h"
#include "utils.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

/* A manifest or an index is a few kB; docker's registry refuses more than 4 MiB. */
#define MANIFEST_MAX ((size_t)4 << 20)
/* Image configs with long histories reach a few hundred kB. */
#define CONFIG_MAX ((size_t)16 << 20)

typedef struct platform
{
  char *os, *arch, *variant; /* variant "" when none */
} platform_t;

static void
platform_release(platform_t *p)
{
  free(p->os);
  free(p->arch);
  free(p->variant);
  p->os = p->arch = p->variant = NULL;
}

/* The host in Go's names (GOOS/GOARCH and the variant docker uses), as image indexes name
 * platforms (image-spec image-index.md, "platform"). */
static void
host_platform(platform_t *p)
{
  static const struct
  {
    const char *machine, *arch, *variant;
  } table[] = {
    { "x86_64", "amd64", "" },    { "aarch64", "arm64", "" },
    { "armv8l", "arm", "v8" },    { "armv7l", "arm", "v7" },
    { "armv6l", "arm", "v6" },    { "armv5tel", "arm", "v5" },
    { "i386", "386", "" },        { "i486", "386", "" },
    { "i586", "386", "" },        { "i686", "386", "" },
    { "ppc64le", "ppc64le", "" }, { "ppc64", "ppc64", "" },
    { "s390x", "s390x", "" },     { "riscv64", "riscv64", "" },
    { "mips64", "mips64", "" },   { "loongarch64", "loong64", "" },
  };
  struct utsname u;
  size_t i;

  p->os = xstrdup("linux");
  p->arch = NULL;
  p->variant = xstrdup("");
  if (uname(&u) == 0)
    for (i = 0; i < sizeof table / sizeof table[0]; i++)
      if (strcmp(u.machine, table[i].machine) == 0)
        {
          p->arch = xstrdup(table[i].arch);
          free(p->variant);
          p->variant = xstrdup(table[i].variant);
          return;
        }
  p->arch = xstrdup(uname(&u) == 0 ? u.machine : "unknown");
}

/* "os/arch[/variant]" */
static int
platform_parse(const char *text, platform_t *p, isolazi_error_t *err)
{
  const char *a, *v;

  memset(p, 0, sizeof *p);
  a = strchr(text, '/');
  if (a == NULL || a == text || a[1] == '\0' || a[1] == '/')
    goto bad;
  v = strchr(a + 1, '/');
  if (v != NULL && (v[1] == '\0' || strchr(v + 1, '/') != NULL))
    goto bad;
  p->os = xasprintf("%.*s", (int)(a - text), text);
  p->arch = v != NULL ? xasprintf("%.*s", (int)(v - a - 1), a + 1) : xstrdup(a + 1);
  p->variant = xstrdup(v != NULL ? v + 1 : "");
  return 0;
bad:
  return isolazi_error_set(err, 0,
                           "invalid platform `%s`: expected OS/ARCH[/VARIANT], e.g. linux/arm64 or linux/arm/v7", text);
}

static char *
platform_string(const char *os, const char *arch, const char *variant)
{
  if (variant != NULL && *variant != '\0')
    return xasprintf("%s/%s/%s", os != NULL ? os : "?", arch != NULL ? arch : "?", variant);
  return xasprintf("%s/%s", os != NULL ? os : "?", arch != NULL ? arch : "?");
}

/* Variants that mean the same thing: arm64 is v8 unless it says otherwise, and 32-bit arm
 * without a variant is v7 (the normalisation containerd's platforms package applies). */
static const char *
normal_variant(const char *arch, const char *variant)
{
  if (variant == NULL || *variant == '\0')
    {
      if (strcmp(arch, "arm64") == 0)
        return "v8";
      if (strcmp(arch, "arm") == 0)
        return "v7";
      return "";
    }
  return variant;
}

static bool
is_attestation(const oci_image_descriptor *d)
{
  const char *type = oci_string_map_get(&d->annotations, "vnd.docker.reference.type");

  if (type != NULL && strcmp(type, "attestation-manifest") == 0)
    return true;
  return d->platform != NULL && d->platform->os != NULL && d->platform->architecture != NULL
         && strcmp(d->platform->os, "unknown") == 0 && strcmp(d->platform->architecture, "unknown") == 0;
}

/* The entry of the index for platform `want`, skipping attestations.  When want has no
 * variant, any variant of the architecture matches, the normalised default first. */
static const oci_image_descriptor *
choose_platform(const oci_image_index *idx, const platform_t *want, bool explicit_variant)
{
  const oci_image_descriptor *loose = NULL;
  const char *want_variant = normal_variant(want->arch, want->variant);
  size_t i;

  for (i = 0; i < idx->manifests_len; i++)
    {
      const oci_image_descriptor *d = &idx->manifests[i];
      const oci_image_platform *p = d->platform;

      if (p == NULL || is_attestation(d) || !oci_image_media_type_is_manifest(d->media_type))
        continue;
      if (p->os == NULL || p->architecture == NULL || strcmp(p->os, want->os) != 0
          || strcmp(p->architecture, want->arch) != 0)
        continue;
      if (strcmp(normal_variant(p->architecture, p->variant), want_variant) == 0)
        return d;
      if (!explicit_variant && loose == NULL)
        loose = d;
    }
  return loose;
}

static char *
available_platforms(const oci_image_index *idx)
{
  char *list = xstrdup("");
  size_t i;

  for (i = 0; i < idx->manifests_len; i++)
    {
      const oci_image_descriptor *d = &idx->manifests[i];
      cleanup_free char *one = NULL;
      char *next;

      if (d->platform == NULL || is_attestation(d))
        continue;
      one = platform_string(d->platform->os, d->platform->architecture, d->platform->variant);
      next = xasprintf("%s%s%s", list, *list != '\0' ? ", " : "", one);
      free(list);
      list = next;
    }
  if (*list == '\0')
    {
      free(list);
      list = xstrdup("none");
    }
  return list;
}

typedef struct fetched
{
  char *body;
  size_t len;
  char *media_type;
  char *digest;
} fetched_t;

static void
fetched_release(fetched_t *f)
{
  free(f->body);
  free(f->media_type);
  free(f->digest);
  memset(f, 0, sizeof *f);
}

/* Docker's schema 1 has no config and no digests we could verify layers against. */
static int
refuse_unknown_kind(const char *what, const fetched_t *f, isolazi_error_t *err)
{
  const char *mt = f->media_type != NULL ? f->media_type : "";

  if (isolazi_has_prefix(mt, DOCKER_MEDIA_TYPE_MANIFEST_V1))
    return isolazi_error_set(err, 0,
                             "pull `%s`: Docker schema 1 manifests are not supported (push the image again "
                             "with a current client)",
                             what);
  return isolazi_error_set(err, 0, "pull `%s`: unsupported manifest media type `%s`", what, mt);
}

static int
cmp_digest(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
report(const isolazi_pull_opts_t *opts, const char *digest, int64_t size)
{
  if (opts->registry.progress != NULL)
    opts->registry.progress(opts->registry.progress_data, digest, size, size);
}

/* Every layer not yet in the store, downloaded through its partial file.  Sorted first so that
 * concurrent pulls take the partial files' locks in one order and cannot deadlock. */
static int
fetch_layers(isolazi_store_t *s, isolazi_registry_t *r, const oci_image_manifest *m, const isolazi_pull_opts_t *opts,
             isolazi_error_t *err)
{
  cleanup_free const char **digests = xcalloc(m->layers_len + 1, sizeof *digests);
  cleanup_free isolazi_store_blob_t **blobs = xcalloc(m->layers_len + 1, sizeof *blobs);
  cleanup_free isolazi_blob_fetch_t *items = xcalloc(m->layers_len + 1, sizeof *items);
  cleanup_free int64_t *sizes = xcalloc(m->layers_len + 1, sizeof *sizes);
  size_t n = 0, nitems = 0, i, j;
  bool fetched = false;
  int ret = 0;

  for (i = 0; i < m->layers_len; i++)
    {
      for (j = 0; j < n; j++)
        if (strcmp(digests[j], m->layers[i].digest) == 0)
          break;
      if (j == n)
        digests[n++] = m->layers[i].digest;
    }
  qsort(digests, n, sizeof *digests, cmp_digest);

  for (i = 0; i < n; i++)
    {
      int64_t size = -1;
      for (j = 0; j < m->layers_len; j++)
        if (strcmp(m->layers[j].digest, digests[i]) == 0)
          size = m->layers[j].size;
      if (isolazi_store_has_blob(s, digests[i]))
        {
          report(opts, digests[i], size);
          continue;
        }
      if (isolazi_store_blob_begin(s, digests[i], &blobs[nitems], err) < 0)
        {
          ret = -1;
          break;
        }
      if (blobs[nitems]->present)
        {
          /* Another pull committed it while we waited for the lock. */
          isolazi_store_blob_abort(blobs[nitems]);
          blobs[nitems] = NULL;
          report(opts, digests[i], size);
          continue;
        }
      items[nitems].digest = blobs[nitems]->digest;
      items[nitems].size = size;
      items[nitems].fd = blobs[nitems]->fd;
      sizes[nitems] = size;
      nitems++;
    }

  if (ret == 0 && nitems > 0)
    {
      fetched = true;
      if (isolazi_registry_fetch_blobs(r, items, nitems, err) < 0)
        ret = -1;
    }

  /* Commit what arrived whole, even when another blob failed; keep the partial files of the
     others for the next pull to resume. */
  for (i = 0; i < nitems; i++)
    {
      if (fetched && items[i].result == 0)
        {
          isolazi_error_t cerr = ISOLAZI_ERROR_INIT;
          char digest[ISOLAZI_DIGEST_MAX];

          /* items[i].digest belongs to the download, which the commit releases. */
          snprintf(digest, sizeof digest, "%s", items[i].digest);
          if (isolazi_store_blob_commit(s, blobs[i], &cerr) == 0)
            report(opts, digest, sizes[i]);
          else if (ret == 0)
            {
              *err = cerr;
              ret = -1;
            }
          else
            isolazi_error_release(&cerr);
          continue;
        }
      if (fetched)
        isolazi_error_release(&items[i].error);
      isolazi_store_blob_abort(blobs[i]);
    }
  return ret;
}

/* The manifest the reference names, through the index when it is one. */
static int
resolve_manifest(isolazi_store_t *s, isolazi_registry_t *r, const char *what, const char *reference,
                 const isolazi_pull_opts_t *opts, fetched_t *ret_manifest, char **ret_index_digest,
                 isolazi_error_t *err)
{
  fetched_t top = { 0 };
  cleanup_free char *index_digest = NULL;
  oci_image_index *idx = NULL;
  platform_t want = { 0 };
  char *perr = NULL;
  int ret = -1;

  if (isolazi_registry_get_manifest(r, reference, MANIFEST_MAX, &top.body, &top.len, &top.media_type, &top.digest, err)
      < 0)
    return isolazi_error_wrap(err, "pull `%s`", what);

  switch (isolazi_registry_manifest_kind(top.media_type))
    {
    case ISOLAZI_MANIFEST_IMAGE:
      if (opts->platform != NULL)
        isolazi_debug("pull `%s`: a single-platform image; --platform %s checked against its config", what,
                      opts->platform);
      *ret_manifest = top;
      *ret_index_digest = NULL;
      return 0;
    case ISOLAZI_MANIFEST_INDEX:
      break;
    default:
      ret = refuse_unknown_kind(what, &top, err);
      fetched_release(&top);
      return ret;
    }

  idx = oci_image_index_parse("index", top.body, top.len, &perr);
  if (idx == NULL)
    {
      isolazi_error_take(err, 0, perr);
      isolazi_error_wrap(err, "pull `%s`", what);
      goto out;
    }
  if (opts->platform != NULL)
    {
      if (platform_parse(opts->platform, &want, err) < 0)
        goto out;
    }
  else
    host_platform(&want);

  {
    const oci_image_descriptor *d = choose_platform(idx, &want, opts->platform != NULL && *want.variant != '\0');
    fetched_t m = { 0 };

    if (d == NULL)
      {
        cleanup_free char *wanted = platform_string(want.os, want.arch, want.variant);
        cleanup_free char *have = available_platforms(idx);
        isolazi_error_set(err, 0, "pull `%s`: no image for platform `%s`; the image has: %s", what, wanted, have);
        goto out;
      }
    if (isolazi_store_put_blob(s, top.body, top.len, top.digest, NULL, err) < 0)
      goto out;
    index_digest = xstrdup(top.digest);
    if (isolazi_registry_get_manifest(r, d->digest, MANIFEST_MAX, &m.body, &m.len, &m.media_type, &m.digest, err) < 0)
      {
        isolazi_error_wrap(err, "pull `%s`", what);
        goto out;
      }
    if (strcmp(m.digest, d->digest) != 0 || (d->size >= 0 && (size_t)d->size != m.len))
      {
        isolazi_error_set(err, 0, "pull `%s`: manifest `%s`: the registry sent other content (digest %s, %zu bytes)",
                          what, d->digest, m.digest, m.len);
        fetched_release(&m);
        goto out;
      }
    if (isolazi_registry_manifest_kind(m.media_type) != ISOLAZI_MANIFEST_IMAGE)
      {
        ret = refuse_unknown_kind(what, &m, err);
        fetched_release(&m);
        goto out;
      }
    *ret_manifest = m;
    *ret_index_digest = steal_pointer(&index_digest);
    ret = 0;
  }

out:
  platform_release(&want);
  oci_image_index_free(idx);
  fetched_release(&top);
  return ret;
}

static int
fill_record(isolazi_store_image_t *img, const isolazi_image_ref_t *ref, const char *manifest_digest,
            const char *index_digest, const oci_image_manifest *m)
{
  size_t i;

  memset(img, 0, sizeof *img);
  if (ref->tag != NULL)
    {
      cleanup_free char *repo = isolazi_image_ref_repository(ref);
      img->name = xasprintf("%s:%s", repo, ref->tag);
    }
  else
    img->name = isolazi_image_ref_string(ref);
  img->manifest_digest = xstrdup(manifest_digest);
  img->index_digest = xstrdup(index_digest);
  img->config_digest = xstrdup(m->config->digest);
  for (i = 0; i < m->layers_len; i++)
    img->size += m->layers[i].size;
  img->created = (int64_t)time(NULL);
  return 0;
}

int
isolazi_image_pull(isolazi_store_t *s, const char *reference, const isolazi_pull_opts_t *opts,
                   isolazi_store_image_t *ret, isolazi_error_t *err)
{
  isolazi_image_ref_t ref = { 0 };
  isolazi_registry_t *r = NULL;
  isolazi_store_image_t img = { 0 };
  fetched_t man = { 0 };
  cleanup_free char *index_digest = NULL;
  cleanup_free char *what = NULL;
  cleanup_free char *config = NULL;
  oci_image_manifest *m = NULL;
  oci_image_config *c = NULL;
  size_t config_len = 0, i;
  char *perr = NULL;
  int rc = -1;

  if (isolazi_image_ref_parse(reference, &ref, err) < 0)
    return -1;
  what = isolazi_image_ref_string(&ref);
  r = isolazi_registry_new(&ref, &opts->registry, err);
  if (r == NULL)
    goto out;

  if (resolve_manifest(s, r, what, ref.digest != NULL ? ref.digest : ref.tag, opts, &man, &index_digest, err) < 0)
    goto out;
  m = oci_image_manifest_parse("manifest", man.body, man.len, &perr);
  if (m == NULL)
    {
      isolazi_error_take(err, 0, perr);
      isolazi_error_wrap(err, "pull `%s`", what);
      goto out;
    }
  if (!oci_image_media_type_is_config(m->config->media_type))
    {
      isolazi_error_set(err, 0, "pull `%s`: not a container image: its config has the media type `%s`", what,
                        m->config->media_type);
      goto out;
    }
  for (i = 0; i < m->layers_len; i++)
    if (!oci_image_media_type_is_layer(m->layers[i].media_type, NULL)
        || strcmp(m->layers[i].media_type, DOCKER_MEDIA_TYPE_LAYER_FOREIGN) == 0)
      {
        isolazi_error_set(err, 0, "pull `%s`: manifest: layers[%zu].mediaType: unsupported layer type `%s`", what, i,
                          m->layers[i].media_type);
        goto out;
      }
  if (m->config->size > (int64_t)CONFIG_MAX)
    {
      isolazi_error_set(err, 0, "pull `%s`: config `%s` is too large (%lld bytes)", what, m->config->digest,
                        (long long)m->config->size);
      goto out;
    }

  /* The config: small, verified in memory. */
  if (isolazi_store_has_blob(s, m->config->digest))
    {
      if (isolazi_store_read_blob(s, m->config->digest, CONFIG_MAX, &config, &config_len, err) < 0)
        goto out;
    }
  else
    {
      if (isolazi_registry_get_blob(r, m->config->digest, CONFIG_MAX, &config, &config_len, err) < 0)
        {
          isolazi_error_wrap(err, "pull `%s`", what);
          goto out;
        }
      if (m->config->size >= 0 && (size_t)m->config->size != config_len)
        {
          isolazi_error_set(err, 0, "pull `%s`: config `%s`: %zu bytes where the manifest says %lld", what,
                            m->config->digest, config_len, (long long)m->config->size);
          goto out;
        }
    }
  c = oci_image_config_parse("config", config, config_len, &perr);
  if (c == NULL)
    {
      isolazi_error_take(err, 0, perr);
      isolazi_error_wrap(err, "pull `%s`", what);
      goto out;
    }
  if (c->rootfs->diff_ids_len != m->layers_len)
    {
      isolazi_error_set(err, 0, "pull `%s`: the config lists %zu layers (rootfs.diff_ids) but the manifest has %zu",
                        what, c->rootfs->diff_ids_len, m->layers_len);
      goto out;
    }
  if (opts->platform != NULL && index_digest == NULL)
    {
      platform_t want = { 0 };
      bool same;
      if (platform_parse(opts->platform, &want, err) < 0)
        goto out;
      same = strcmp(want.os, c->os) == 0 && strcmp(want.arch, c->architecture) == 0
             && (*want.variant == '\0'
                 || strcmp(normal_variant(want.arch, want.variant), normal_variant(c->architecture, c->variant)) == 0);
      if (!same)
        {
          cleanup_free char *wanted = platform_string(want.os, want.arch, want.variant);
          cleanup_free char *have = platform_string(c->os, c->architecture, c->variant);
          isolazi_error_set(err, 0, "pull `%s`: no image for platform `%s`; the image has: %s", what, wanted, have);
          platform_release(&want);
          goto out;
        }
      platform_release(&want);
    }

  if (fetch_layers(s, r, m, opts, err) < 0)
    {
      isolazi_error_wrap(err, "pull `%s`", what);
      goto out;
    }
  /* Config and manifest last: a manifest in the store means its layers are there. */
  if (!isolazi_store_has_blob(s, m->config->digest)
      && isolazi_store_put_blob(s, config, config_len, m->config->digest, NULL, err) < 0)
    goto out;
  if (isolazi_store_put_blob(s, man.body, man.len, man.digest, NULL, err) < 0)
    goto out;

  fill_record(&img, &ref, man.digest, index_digest, m);
  if (isolazi_store_tag(s, &img, err) < 0)
    goto out;
  if (ret != NULL)
    {
      *ret = img;
      memset(&img, 0, sizeof img);
    }
  rc = 0;

out:
  isolazi_store_image_release(&img);
  oci_image_config_free(c);
  oci_image_manifest_free(m);
  fetched_release(&man);
  isolazi_registry_free(r);
  isolazi_image_ref_release(&ref);
  return rc;
}

/* ---- lookup and inspect ---------------------------------------------------------------------- */

int
isolazi_image_lookup(isolazi_store_t *s, const char *text, isolazi_store_image_t *ret, isolazi_error_t *err)
{
  isolazi_image_ref_t ref = { 0 };
  isolazi_error_t ignored = ISOLAZI_ERROR_INIT;

  if (isolazi_image_ref_parse(text, &ref, &ignored) == 0)
    {
      cleanup_free char *canonical = NULL;
      int r;

      if (ref.tag != NULL && ref.digest == NULL)
        {
          cleanup_free char *repo = isolazi_image_ref_repository(&ref);
          canonical = xasprintf("%s:%s", repo, ref.tag);
        }
      else
        canonical = isolazi_image_ref_string(&ref);
      isolazi_image_ref_release(&ref);
      r = isolazi_store_find(s, canonical, ret, &ignored);
      if (r == 0)
        return 0;
      if (ignored.code != ENOENT && ignored.code != 0)
        {
          *err = ignored;
          return -1;
        }
    }
  isolazi_error_release(&ignored);
  if (isolazi_store_find(s, text, ret, &ignored) == 0)
    return 0;
  if (ignored.code != ENOENT && ignored.code != 0)
    {
      *err = ignored;
      return -1;
    }
  isolazi_error_release(&ignored);
  return isolazi_error_set(err, ENOENT, "image `%s` is not in the store", text);
}

static int
gen_blob(json_gen *g, isolazi_store_t *s, const char *digest, size_t max, isolazi_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  json_value *v;
  char *perr = NULL;

  if (isolazi_store_read_blob(s, digest, max, &text, &len, err) < 0)
    return -1;
  v = json_parse(text, len, &perr);
  if (v == NULL)
    {
      isolazi_error_take(err, 0, perr);
      return isolazi_error_wrap(err, "parse blob `%s`", digest);
    }
  json_gen_value(g, v);
  json_value_free(v);
  return 0;
}

int
isolazi_image_inspect(isolazi_store_t *s, const char *text, char **ret_json, isolazi_error_t *err)
{
  isolazi_store_image_t img = { 0 };
  json_gen *g = NULL;
  char *perr = NULL;
  size_t len;
  int r = -1;

  if (isolazi_image_lookup(s, text, &img, err) < 0)
    return -1;
  g = json_gen_new(true);
  json_gen_object_open(g);
  json_gen_key(g, "record");
  json_gen_object_open(g);
  json_gen_key(g, "name");
  json_gen_string(g, img.name);
  json_gen_key(g, "manifestDigest");
  json_gen_string(g, img.manifest_digest);
  json_gen_key(g, "indexDigest");
  json_gen_string(g, img.index_digest);
  json_gen_key(g, "configDigest");
  json_gen_string(g, img.config_digest);
  json_gen_key(g, "size");
  json_gen_int64(g, img.size);
  json_gen_key(g, "created");
  json_gen_int64(g, img.created);
  json_gen_object_close(g);
  json_gen_key(g, "manifest");
  if (gen_blob(g, s, img.manifest_digest, MANIFEST_MAX, err) < 0)
    goto out;
  json_gen_key(g, "config");
  if (gen_blob(g, s, img.config_digest, CONFIG_MAX, err) < 0)
    goto out;
  json_gen_object_close(g);
  if (json_gen_finish(g, ret_json, &len, &perr) < 0)
    {
      isolazi_error_take(err, 0, perr);
      goto out;
    }
  r = 0;
out:
  json_gen_free(g);
  isolazi_store_image_release(&img);
  return r;
}
