/* SPDX-License-Identifier: Apache-2.0 */
/* The image-spec 1.1 documents as schema tables (descriptor.md, image-index.md, manifest.md,
 * config.md), their validation, and the public functions over them.  Rows follow the order of
 * the spec's Go bindings (specs-go/v1), which is the order skopeo and umoci write. */
#include "config.h"
#include "ocispec_image.h"
#include "schema.h"
#include "schema_rows.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(oci_image_set_entry, name) == 0, "map key first");

/* ---- tables ---- */

TYPE(static, oci_image_platform, STR(oci_image_platform, "architecture", architecture),
     STR(oci_image_platform, "os", os), STR(oci_image_platform, "os.version", os_version),
     STRS(oci_image_platform, "os.features", os_features), STR(oci_image_platform, "variant", variant),
     STRS(oci_image_platform, "features", features));

TYPE(static, oci_image_descriptor, STR(oci_image_descriptor, "mediaType", media_type),
     STR(oci_image_descriptor, "digest", digest), I64(oci_image_descriptor, "size", size),
     STRS(oci_image_descriptor, "urls", urls), MAP(oci_image_descriptor, "annotations", annotations),
     STR(oci_image_descriptor, "data", data), OBJ(oci_image_descriptor, "platform", platform, oci_image_platform),
     STR(oci_image_descriptor, "artifactType", artifact_type));

TYPE(static, oci_image_index, I32(oci_image_index, "schemaVersion", schema_version),
     STR(oci_image_index, "mediaType", media_type), STR(oci_image_index, "artifactType", artifact_type),
     OBJS(oci_image_index, "manifests", manifests, oci_image_descriptor),
     OBJ(oci_image_index, "subject", subject, oci_image_descriptor), MAP(oci_image_index, "annotations", annotations));

TYPE(static, oci_image_manifest, I32(oci_image_manifest, "schemaVersion", schema_version),
     STR(oci_image_manifest, "mediaType", media_type), STR(oci_image_manifest, "artifactType", artifact_type),
     OBJ(oci_image_manifest, "config", config, oci_image_descriptor),
     OBJS(oci_image_manifest, "layers", layers, oci_image_descriptor),
     OBJ(oci_image_manifest, "subject", subject, oci_image_descriptor),
     MAP(oci_image_manifest, "annotations", annotations));

/* {"80/tcp": {}}: the key is all there is; the (empty) value has no fields. */
static const schema_type oci_image_set_entry_type = { "oci_image_set_entry", sizeof(oci_image_set_entry), NULL, 0 };

TYPE(static, oci_image_exec_config, STR(oci_image_exec_config, "User", user),
     OMAP(oci_image_exec_config, "ExposedPorts", exposed_ports, oci_image_set_entry),
     STRS(oci_image_exec_config, "Env", env), STRS(oci_image_exec_config, "Entrypoint", entrypoint),
     STRS(oci_image_exec_config, "Cmd", cmd), OMAP(oci_image_exec_config, "Volumes", volumes, oci_image_set_entry),
     STR(oci_image_exec_config, "WorkingDir", working_dir), MAP(oci_image_exec_config, "Labels", labels),
     STR(oci_image_exec_config, "StopSignal", stop_signal),
     BOOL_OMIT(oci_image_exec_config, "ArgsEscaped", args_escaped));

TYPE(static, oci_image_rootfs, STR(oci_image_rootfs, "type", type), STRS(oci_image_rootfs, "diff_ids", diff_ids));

TYPE(static, oci_image_history, STR(oci_image_history, "created", created),
     STR(oci_image_history, "created_by", created_by), STR(oci_image_history, "author", author),
     STR(oci_image_history, "comment", comment), BOOL_OMIT(oci_image_history, "empty_layer", empty_layer));

TYPE(static, oci_image_config, STR(oci_image_config, "created", created), STR(oci_image_config, "author", author),
     STR(oci_image_config, "architecture", architecture), STR(oci_image_config, "variant", variant),
     STR(oci_image_config, "os", os), STR(oci_image_config, "os.version", os_version),
     STRS(oci_image_config, "os.features", os_features), OBJ(oci_image_config, "config", config, oci_image_exec_config),
     OBJ(oci_image_config, "rootfs", rootfs, oci_image_rootfs),
     OBJS(oci_image_config, "history", history, oci_image_history));

/* ---- digests and media types ---- */

static bool
is_lower_hex(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

bool
oci_image_digest_syntax_valid(const char *digest)
{
  const char *colon, *p;
  size_t alg_len, enc_len;
  bool after_sep = true;

  if (digest == NULL || (colon = strchr(digest, ':')) == NULL)
    return false;
  alg_len = (size_t)(colon - digest);
  /* algorithm := component (separator component)*, component := [a-z0-9]+, separator := [+._-] */
  for (p = digest; p < colon; p++)
    {
      bool comp = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
      bool sep = *p == '+' || *p == '.' || *p == '_' || *p == '-';

      if (!comp && !(sep && !after_sep))
        return false;
      after_sep = sep;
    }
  if (alg_len == 0 || after_sep)
    return false;
  /* encoded := [a-zA-Z0-9=_-]+ */
  enc_len = strlen(colon + 1);
  if (enc_len == 0)
    return false;
  for (p = colon + 1; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '=' || *p == '_'
          || *p == '-'))
      return false;
  /* The registered algorithms (descriptor.md "Registered algorithms"). */
  if (alg_len == 6 && memcmp(digest, "sha256", 6) == 0)
    return enc_len == 64 && is_lower_hex(colon + 1, enc_len);
  if (alg_len == 6 && memcmp(digest, "sha512", 6) == 0)
    return enc_len == 128 && is_lower_hex(colon + 1, enc_len);
  return true;
}

static bool
streq(const char *a, const char *b)
{
  return a != NULL && strcmp(a, b) == 0;
}

bool
oci_image_media_type_is_index(const char *media_type)
{
  return streq(media_type, OCI_IMAGE_MEDIA_TYPE_INDEX) || streq(media_type, DOCKER_MEDIA_TYPE_MANIFEST_LIST);
}

bool
oci_image_media_type_is_manifest(const char *media_type)
{
  return streq(media_type, OCI_IMAGE_MEDIA_TYPE_MANIFEST) || streq(media_type, DOCKER_MEDIA_TYPE_MANIFEST);
}

bool
oci_image_media_type_is_config(const char *media_type)
{
  return streq(media_type, OCI_IMAGE_MEDIA_TYPE_CONFIG) || streq(media_type, DOCKER_MEDIA_TYPE_CONFIG);
}

bool
oci_image_media_type_is_layer(const char *media_type, const char **ret_compression)
{
  static const struct
  {
    const char *type, *compression;
  } layers[] = {
    { OCI_IMAGE_MEDIA_TYPE_LAYER, "" },
    { OCI_IMAGE_MEDIA_TYPE_LAYER_GZIP, "gzip" },
    { OCI_IMAGE_MEDIA_TYPE_LAYER_ZSTD, "zstd" },
    { OCI_IMAGE_MEDIA_TYPE_LAYER_NONDIST, "" },
    { OCI_IMAGE_MEDIA_TYPE_LAYER_NONDIST_GZIP, "gzip" },
    { OCI_IMAGE_MEDIA_TYPE_LAYER_NONDIST_ZSTD, "zstd" },
    { DOCKER_MEDIA_TYPE_LAYER_GZIP, "gzip" },
    { DOCKER_MEDIA_TYPE_LAYER_FOREIGN, "gzip" },
  };
  size_t i;

  for (i = 0; i < sizeof layers / sizeof layers[0]; i++)
    if (streq(media_type, layers[i].type))
      {
        if (ret_compression != NULL)
          *ret_compression = layers[i].compression;
        return true;
      }
  return false;
}

/* ---- validation ---- */

/* The same with a quoted value in the message: `what "value"`. */
static int
verr_value(schema_vctx *v, const char *what, const char *value, const char *path)
{
  char *msg = NULL;
  int r;

  if (asprintf(&msg, "%s \"%s\"", what, value) < 0)
    msg = NULL;
  r = schema_verr(v, msg ? msg : what, "%s", path);
  free(msg);
  return r;
}

static int
check_schema_version(schema_vctx *v, int32_t version, const char *media_type)
{
  char msg[64];

  if (streq(media_type, DOCKER_MEDIA_TYPE_MANIFEST_V1) || streq(media_type, DOCKER_MEDIA_TYPE_MANIFEST_V1_SIGNED)
      || version == 1)
    return schema_verr(v,
                       "Docker schema 1 manifests are not supported (the image must be pushed again with a newer tool)",
                       "schemaVersion");
  if (version == 2)
    return 0;
  if (version == 0)
    return schema_verr(v, "missing (must be 2)", "schemaVersion");
  snprintf(msg, sizeof msg, "must be 2, got %d", (int)version);
  return schema_verr(v, msg, "schemaVersion");
}

static int
check_platform(schema_vctx *v, const oci_image_platform *p, const char *path)
{
  if (p->architecture == NULL || *p->architecture == '\0')
    return schema_verr(v, "missing", "%s.platform.architecture", path);
  if (p->os == NULL || *p->os == '\0')
    return schema_verr(v, "missing", "%s.platform.os", path);
  return 0;
}

/* path: "config", "layers[3]", ... */
static int
check_descriptor(schema_vctx *v, const oci_image_descriptor *d, const char *path)
{
  char *sub = NULL;
  int r;

  if (d->media_type == NULL || *d->media_type == '\0')
    return schema_verr(v, "missing", "%s.mediaType", path);
  if (d->digest == NULL)
    return schema_verr(v, "missing", "%s.digest", path);
  if (!oci_image_digest_syntax_valid(d->digest))
    {
      if (asprintf(&sub, "%s.digest", path) < 0)
        return schema_verr(v, "out of memory", "%s", path);
      r = verr_value(v, "invalid digest", d->digest, sub);
      free(sub);
      return r;
    }
  if (d->size < 0)
    return schema_verr(v, "must not be negative", "%s.size", path);
  if (d->platform != NULL)
    return check_platform(v, d->platform, path);
  return 0;
}

static int
check_descriptors(schema_vctx *v, const oci_image_descriptor *d, size_t n, const char *name)
{
  char path[64];
  size_t i;

  for (i = 0; i < n; i++)
    {
      snprintf(path, sizeof path, "%s[%zu]", name, i);
      if (check_descriptor(v, &d[i], path) < 0)
        return -1;
    }
  return 0;
}

int
oci_image_index_validate(const char *source, const oci_image_index *idx, char **err)
{
  schema_vctx v = { source ? source : "index", err };

  if (check_schema_version(&v, idx->schema_version, idx->media_type) < 0)
    return -1;
  if (idx->media_type != NULL && !oci_image_media_type_is_index(idx->media_type))
    return verr_value(&v, "not an image index", idx->media_type, "mediaType");
  if (idx->manifests == NULL)
    return schema_verr(&v, "missing", "manifests");
  if (check_descriptors(&v, idx->manifests, idx->manifests_len, "manifests") < 0)
    return -1;
  if (idx->subject != NULL && check_descriptor(&v, idx->subject, "subject") < 0)
    return -1;
  return 0;
}

int
oci_image_manifest_validate(const char *source, const oci_image_manifest *m, char **err)
{
  schema_vctx v = { source ? source : "manifest", err };

  if (check_schema_version(&v, m->schema_version, m->media_type) < 0)
    return -1;
  if (m->media_type != NULL && !oci_image_media_type_is_manifest(m->media_type))
    return verr_value(&v, "not an image manifest", m->media_type, "mediaType");
  if (m->config == NULL)
    return schema_verr(&v, "missing", "config");
  if (check_descriptor(&v, m->config, "config") < 0)
    return -1;
  if (m->layers == NULL)
    return schema_verr(&v, "missing", "layers");
  if (check_descriptors(&v, m->layers, m->layers_len, "layers") < 0)
    return -1;
  if (m->subject != NULL && check_descriptor(&v, m->subject, "subject") < 0)
    return -1;
  return 0;
}

int
oci_image_config_validate(const char *source, const oci_image_config *c, char **err)
{
  schema_vctx v = { source ? source : "config", err };
  char path[64];
  size_t i;

  if (c->architecture == NULL || *c->architecture == '\0')
    return schema_verr(&v, "missing", "architecture");
  if (c->os == NULL || *c->os == '\0')
    return schema_verr(&v, "missing", "os");
  if (c->rootfs == NULL)
    return schema_verr(&v, "missing", "rootfs");
  if (!streq(c->rootfs->type, "layers"))
    return c->rootfs->type ? verr_value(&v, "unsupported type (want \"layers\")", c->rootfs->type, "rootfs.type")
                           : schema_verr(&v, "missing", "rootfs.type");
  if (c->rootfs->diff_ids == NULL)
    return schema_verr(&v, "missing", "rootfs.diff_ids");
  for (i = 0; i < c->rootfs->diff_ids_len; i++)
    if (!oci_image_digest_syntax_valid(c->rootfs->diff_ids[i]))
      {
        snprintf(path, sizeof path, "rootfs.diff_ids[%zu]", i);
        return verr_value(&v, "invalid digest", c->rootfs->diff_ids[i], path);
      }
  return 0;
}

/* ---- public functions ---- */

#define DOCUMENT(name, T, what)                                                                                        \
  T *name##_parse(const char *source, const char *text, size_t len, char **err)                                        \
  {                                                                                                                    \
    T *obj;                                                                                                            \
                                                                                                                       \
    if (source == NULL)                                                                                                \
      source = what;                                                                                                   \
    obj = schema_parse_document(&T##_type, source, text, len, err);                                                    \
    if (obj != NULL && name##_validate(source, obj, err) < 0)                                                          \
      {                                                                                                                \
        schema_free(&T##_type, obj);                                                                                   \
        return NULL;                                                                                                   \
      }                                                                                                                \
    return obj;                                                                                                        \
  }                                                                                                                    \
  void name##_free(T *obj)                                                                                             \
  {                                                                                                                    \
    schema_free(&T##_type, obj);                                                                                       \
  }                                                                                                                    \
  char *name##_write(const T *obj, bool pretty, char **err)                                                            \
  {                                                                                                                    \
    return schema_write_document(&T##_type, obj, pretty, err);                                                         \
  }                                                                                                                    \
  bool name##_equal(const T *a, const T *b)                                                                            \
  {                                                                                                                    \
    if (a == NULL || b == NULL)                                                                                        \
      return a == b;                                                                                                   \
    return schema_equal(&T##_type, a, b);                                                                              \
  }

DOCUMENT(oci_image_index, oci_image_index, "index")
DOCUMENT(oci_image_manifest, oci_image_manifest, "manifest")
DOCUMENT(oci_image_config, oci_image_config, "config")
