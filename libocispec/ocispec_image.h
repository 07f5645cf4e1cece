/* SPDX-License-Identifier: Apache-2.0 */
/* The typed OCI image-spec 1.1 data model: image index, image manifest, image config, and the
 * descriptors and platforms they share.  Docker's schema 2 manifest and manifest list have the
 * same shapes (other media types; a list's entries carry `platform`), so they parse into the
 * same structs.
 *
 * Conventions are those of ocispec.h: malloc'd strings, NULL when absent; arrays as
 * `T *name; size_t name_len;` (string arrays NULL-terminated); optional objects as pointers.
 * Unknown keys are ignored.  Unlike the runtime documents, the image documents come from the
 * network, so the parsers also validate what the rest of the program relies on (schemaVersion
 * 2, required fields, digest syntax, sizes >= 0) and report the first problem by JSON path:
 *   manifest: layers[1].digest: invalid digest "sha256:xyz" */
#ifndef OCISPEC_OCISPEC_IMAGE_H
#define OCISPEC_OCISPEC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocispec.h"

/* image-spec media-types.md */
#define OCI_IMAGE_MEDIA_TYPE_INDEX      "application/vnd.oci.image.index.v1+json"
#define OCI_IMAGE_MEDIA_TYPE_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define OCI_IMAGE_MEDIA_TYPE_CONFIG     "application/vnd.oci.image.config.v1+json"
#define OCI_IMAGE_MEDIA_TYPE_LAYER      "application/vnd.oci.image.layer.v1.tar"
#define OCI_IMAGE_MEDIA_TYPE_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_IMAGE_MEDIA_TYPE_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
/* Deprecated in image-spec 1.1, still met in the wild. */
#define OCI_IMAGE_MEDIA_TYPE_LAYER_NONDIST      "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define OCI_IMAGE_MEDIA_TYPE_LAYER_NONDIST_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define OCI_IMAGE_MEDIA_TYPE_LAYER_NONDIST_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define OCI_IMAGE_MEDIA_TYPE_EMPTY              "application/vnd.oci.empty.v1+json"
#define OCI_IMAGE_LAYOUT_VERSION                "1.0.0"

/* Docker's image manifest v2, schema 2 */
#define DOCKER_MEDIA_TYPE_MANIFEST      "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_TYPE_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MEDIA_TYPE_CONFIG        "application/vnd.docker.container.image.v1+json"
#define DOCKER_MEDIA_TYPE_LAYER_GZIP    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MEDIA_TYPE_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/* schema 1, which we refuse with a clear message */
#define DOCKER_MEDIA_TYPE_MANIFEST_V1        "application/vnd.docker.distribution.manifest.v1+json"
#define DOCKER_MEDIA_TYPE_MANIFEST_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* image-spec annotations.md, and the conversion document's names for the config fields that
 * have no runtime-spec equivalent (conversion.md). */
#define OCI_IMAGE_ANNOTATION_REF_NAME      "org.opencontainers.image.ref.name"
#define OCI_IMAGE_ANNOTATION_CREATED       "org.opencontainers.image.created"
#define OCI_IMAGE_ANNOTATION_EXPOSED_PORTS "org.opencontainers.image.exposedPorts"
#define OCI_IMAGE_ANNOTATION_STOP_SIGNAL   "org.opencontainers.image.stopSignal"
#define OCI_IMAGE_ANNOTATION_OS            "org.opencontainers.image.os"
#define OCI_IMAGE_ANNOTATION_ARCHITECTURE  "org.opencontainers.image.architecture"
#define OCI_IMAGE_ANNOTATION_VARIANT       "org.opencontainers.image.variant"
#define OCI_IMAGE_ANNOTATION_OS_VERSION    "org.opencontainers.image.os.version"
#define OCI_IMAGE_ANNOTATION_OS_FEATURES   "org.opencontainers.image.os.features"
#define OCI_IMAGE_ANNOTATION_AUTHOR        "org.opencontainers.image.author"

typedef struct oci_image_platform
{
  char *architecture; /* required: "amd64", "arm64", ... (Go's GOARCH) */
  char *os;           /* required: "linux" (Go's GOOS) */
  char *os_version;   /* JSON "os.version" */
  char **os_features; /* JSON "os.features" */
  size_t os_features_len;
  char *variant; /* "v7", "v8" */
  char **features;
  size_t features_len;
} oci_image_platform;

typedef struct oci_image_descriptor
{
  char *media_type; /* required */
  char *digest;     /* required */
  int64_t size;     /* required, >= 0 */
  char **urls;
  size_t urls_len;
  oci_string_map annotations;
  oci_image_platform *platform; /* index entries */
  char *artifact_type;
  char *data; /* base64 of the content, kept as text */
} oci_image_descriptor;

typedef struct oci_image_index
{
  int32_t schema_version; /* 2 */
  char *media_type;
  char *artifact_type;
  oci_image_descriptor *manifests; /* required (may be empty) */
  size_t manifests_len;
  oci_image_descriptor *subject;
  oci_string_map annotations;
} oci_image_index;

typedef struct oci_image_manifest
{
  int32_t schema_version; /* 2 */
  char *media_type;
  char *artifact_type;
  oci_image_descriptor *config; /* required: never NULL after a successful parse */
  oci_image_descriptor *layers; /* base layer first */
  size_t layers_len;
  oci_image_descriptor *subject;
  oci_string_map annotations;
} oci_image_manifest;

/* A JSON object used as a set ({"80/tcp": {}}): the key, the value ignored. */
typedef struct oci_image_set_entry
{
  char *name;
} oci_image_set_entry;

/* config.md "Properties": config (the execution parameters, Docker's capitalised names) */
typedef struct oci_image_exec_config
{
  char *user;                         /* "User" */
  oci_image_set_entry *exposed_ports; /* "ExposedPorts": "80/tcp", "53/udp", "8080" */
  size_t exposed_ports_len;
  char **env; /* "Env": "KEY=VALUE" */
  size_t env_len;
  char **entrypoint; /* "Entrypoint" */
  size_t entrypoint_len;
  char **cmd; /* "Cmd" */
  size_t cmd_len;
  oci_image_set_entry *volumes; /* "Volumes" */
  size_t volumes_len;
  char *working_dir;     /* "WorkingDir" */
  oci_string_map labels; /* "Labels" */
  char *stop_signal;     /* "StopSignal" */
  bool args_escaped;     /* "ArgsEscaped" (Windows, deprecated) */
} oci_image_exec_config;

typedef struct oci_image_rootfs
{
  char *type; /* "layers" */
  char **diff_ids;
  size_t diff_ids_len;
} oci_image_rootfs;

typedef struct oci_image_history
{
  char *created;
  char *created_by;
  char *author;
  char *comment;
  bool empty_layer;
} oci_image_history;

typedef struct oci_image_config
{
  char *created; /* RFC 3339 */
  char *author;
  char *architecture; /* required */
  char *os;           /* required */
  char *os_version;   /* JSON "os.version" */
  char **os_features; /* JSON "os.features" */
  size_t os_features_len;
  char *variant;
  oci_image_exec_config *config;
  oci_image_rootfs *rootfs; /* required: never NULL after a successful parse */
  oci_image_history *history;
  size_t history_len;
} oci_image_config;

/* Parse and validate.  `source` names the document in messages ("manifest",
 * "blobs/sha256/ab12…").  NULL with *err = "<source>: <json.path>: <reason>" on failure. */
oci_image_index *oci_image_index_parse(const char *source, const char *text, size_t len, char **err);
oci_image_manifest *oci_image_manifest_parse(const char *source, const char *text, size_t len, char **err);
oci_image_config *oci_image_config_parse(const char *source, const char *text, size_t len, char **err);

void oci_image_index_free(oci_image_index *idx);
void oci_image_manifest_free(oci_image_manifest *m);
void oci_image_config_free(oci_image_config *c);

/* Writers: a malloc'd JSON document; absent optional fields are not written.  (A written
 * document is not byte-identical to the one parsed, so never use it where a digest matters:
 * keep the bytes.) */
char *oci_image_index_write(const oci_image_index *idx, bool pretty, char **err);
char *oci_image_manifest_write(const oci_image_manifest *m, bool pretty, char **err);
char *oci_image_config_write(const oci_image_config *c, bool pretty, char **err);

/* The checks the parsers run, for documents built by hand.  0, or -1 with *err. */
int oci_image_index_validate(const char *source, const oci_image_index *idx, char **err);
int oci_image_manifest_validate(const char *source, const oci_image_manifest *m, char **err);
int oci_image_config_validate(const char *source, const oci_image_config *c, char **err);

bool oci_image_index_equal(const oci_image_index *a, const oci_image_index *b);
bool oci_image_manifest_equal(const oci_image_manifest *a, const oci_image_manifest *b);
bool oci_image_config_equal(const oci_image_config *a, const oci_image_config *b);

/* Digest syntax (descriptor.md "Digests"): algorithm ":" encoded, where sha256 and sha512
 * must be lower-case hex of the right length; other algorithms only need the grammar. */
bool oci_image_digest_syntax_valid(const char *digest);

/* Media-type classes; NULL is none of them. */
bool oci_image_media_type_is_index(const char *media_type);    /* OCI index, Docker list */
bool oci_image_media_type_is_manifest(const char *media_type); /* OCI manifest, Docker v2 s2 */
bool oci_image_media_type_is_config(const char *media_type);   /* OCI config, Docker config */
/* OCI and Docker layer types.  ret_compression (may be NULL): "gzip", "zstd" or "" (plain). */
bool oci_image_media_type_is_layer(const char *media_type, const char **ret_compression);

#endif
