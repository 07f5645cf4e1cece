/* SPDX-License-Identifier: Apache-2.0 */
/* libocispec's image-spec model (image_spec.c): real documents from umoci and skopeo, Docker's
 * manifest list, round trips, and bad documents refused by JSON path. */
#include "config.h"
#include "ocispec_image.h"
#include "../unit/tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
strip_newline(char *s)
{
  size_t n = s ? strlen(s) : 0;

  while (n > 0 && s[n - 1] == '\n')
    s[--n] = '\0';
  return s;
}

/* ---- real documents ---- */

static void
test_umoci_index(void)
{
  size_t len = 0;
  char *text = tap_read_data("umoci-index.json", &len), *err = NULL, *out;
  oci_image_index *idx = oci_image_index_parse("index.json", text, len, &err);

  tap_ok(idx != NULL, "umoci index parses%s%s", err ? ": " : "", err ? err : "");
  if (idx == NULL)
    {
      free(err);
      free(text);
      return;
    }
  tap_ok(idx->schema_version == 2 && idx->media_type == NULL, "index: schemaVersion 2, no mediaType");
  tap_ok(idx->manifests_len == 2, "index: two manifests");
  tap_streq(idx->manifests[0].media_type, OCI_IMAGE_MEDIA_TYPE_MANIFEST, "index: manifests[0].mediaType");
  tap_streq(idx->manifests[0].digest, "sha256:678db171eb0e6d75e5d8b27afa7a2c37f63590fa21d8af5e06d8b002652570aa",
            "index: manifests[0].digest");
  tap_ok(idx->manifests[0].size == 349, "index: manifests[0].size");
  tap_streq(oci_string_map_get(&idx->manifests[1].annotations, OCI_IMAGE_ANNOTATION_REF_NAME), "rich",
            "index: manifests[1] is tagged rich");
  tap_ok(idx->manifests[0].platform == NULL, "index: no platform");
  /* umoci writes Go's field order, compact: our writer gives the same bytes. */
  out = oci_image_index_write(idx, false, &err);
  tap_streq(out, strip_newline(text), "index: written byte-for-byte as umoci wrote it");
  free(out);
  oci_image_index_free(idx);
  free(text);
}

static void
test_umoci_manifest(void)
{
  size_t len = 0;
  char *text = tap_read_data("umoci-manifest.json", &len), *err = NULL, *out;
  oci_image_manifest *m = oci_image_manifest_parse("manifest", text, len, &err);
  const char *comp = NULL;

  tap_ok(m != NULL, "umoci manifest parses%s%s", err ? ": " : "", err ? err : "");
  if (m == NULL)
    {
      free(err);
      free(text);
      return;
    }
  tap_ok(m->config != NULL && oci_image_media_type_is_config(m->config->media_type), "manifest: config descriptor");
  tap_ok(m->config->size == 525, "manifest: config size");
  tap_ok(m->layers_len == 1, "manifest: one layer");
  tap_ok(oci_image_media_type_is_layer(m->layers[0].media_type, &comp) && strcmp(comp, "gzip") == 0,
         "manifest: a gzip layer");
  tap_ok(m->layers[0].size == 1088169, "manifest: layer size");
  out = oci_image_manifest_write(m, false, &err);
  tap_streq(out, strip_newline(text), "manifest: written byte-for-byte as umoci wrote it");
  free(out);
  oci_image_manifest_free(m);
  free(text);
}

static void
test_umoci_config(void)
{
  size_t len = 0;
  char *text = tap_read_data("umoci-config.json", &len), *err = NULL, *out;
  oci_image_config *c = oci_image_config_parse("config", text, len, &err);

  tap_ok(c != NULL, "umoci config parses%s%s", err ? ": " : "", err ? err : "");
  if (c == NULL)
    {
      free(err);
      free(text);
      return;
    }
  tap_streq(c->architecture, "amd64", "config: architecture");
  tap_streq(c->os, "linux", "config: os");
  tap_streq(c->author, "isolazi", "config: author");
  tap_ok(c->config != NULL && c->config->cmd_len == 1 && strcmp(c->config->cmd[0], "sh") == 0, "config: Cmd [sh]");
  tap_ok(c->config->entrypoint == NULL, "config: no Entrypoint");
  tap_ok(c->config->env_len == 1 && strncmp(c->config->env[0], "PATH=", 5) == 0, "config: Env has PATH");
  tap_streq(c->config->working_dir, "/", "config: WorkingDir");
  tap_ok(c->rootfs->diff_ids_len == 1, "config: one diff_id");
  tap_ok(c->history_len == 2 && !c->history[0].empty_layer && c->history[1].empty_layer,
         "config: history with empty_layer");
  out = oci_image_config_write(c, false, &err);
  tap_streq(out, strip_newline(text), "config: written byte-for-byte as umoci wrote it");
  free(out);
  oci_image_config_free(c);
  free(text);
}

static void
test_docker_documents(void)
{
  size_t len = 0;
  char *text = tap_read_data("skopeo-docker-manifest.json", &len), *err = NULL;
  oci_image_manifest *m = oci_image_manifest_parse("manifest", text, len, &err);
  oci_image_config *c;
  oci_image_index *idx;
  const char *comp = NULL;
  size_t i;

  tap_ok(m != NULL, "skopeo's Docker schema 2 manifest parses%s%s", err ? ": " : "", err ? err : "");
  free(err);
  err = NULL;
  if (m != NULL)
    {
      tap_streq(m->media_type, DOCKER_MEDIA_TYPE_MANIFEST, "docker manifest: mediaType");
      tap_ok(oci_image_media_type_is_manifest(m->media_type), "docker manifest: is a manifest type");
      tap_ok(oci_image_media_type_is_config(m->config->media_type), "docker manifest: config type");
      tap_ok(m->layers_len == 1 && oci_image_media_type_is_layer(m->layers[0].media_type, &comp)
                 && strcmp(comp, "gzip") == 0,
             "docker manifest: a gzip layer");
    }
  oci_image_manifest_free(m);
  free(text);

  text = tap_read_data("skopeo-docker-config.json", &len);
  c = oci_image_config_parse("config", text, len, &err);
  tap_ok(c != NULL, "skopeo's Docker config parses%s%s", err ? ": " : "", err ? err : "");
  free(err);
  err = NULL;
  if (c != NULL)
    {
      oci_image_exec_config *x = c->config;
      tap_streq(x->user, "user:user", "docker config: User");
      tap_ok(x->exposed_ports_len == 2 && strcmp(x->exposed_ports[0].name, "53/udp") == 0
                 && strcmp(x->exposed_ports[1].name, "80/tcp") == 0,
             "docker config: ExposedPorts");
      tap_ok(x->volumes_len == 2 && strcmp(x->volumes[0].name, "/data") == 0
                 && strcmp(x->volumes[1].name, "/var/log") == 0,
             "docker config: Volumes");
      tap_ok(x->entrypoint_len == 2 && strcmp(x->entrypoint[1], "-c") == 0, "docker config: Entrypoint");
      tap_ok(x->cmd_len == 1 && strcmp(x->cmd[0], "echo hi") == 0, "docker config: Cmd");
      tap_streq(oci_string_map_get(&x->labels, "org.example.app"), "demo", "docker config: Labels");
      tap_streq(x->stop_signal, "SIGQUIT", "docker config: StopSignal");
      tap_streq(x->working_dir, "/home/user", "docker config: WorkingDir");
      {
        /* The set-like objects and everything else survive a write. */
        char *out = oci_image_config_write(c, false, &err);
        tap_streq(out, strip_newline(text), "docker config: written byte-for-byte");
        free(out);
      }
    }
  oci_image_config_free(c);
  free(text);

  text = tap_read_data("docker-manifest-list.json", &len);
  idx = oci_image_index_parse("manifest list", text, len, &err);
  tap_ok(idx != NULL, "Docker manifest list parses%s%s", err ? ": " : "", err ? err : "");
  free(err);
  err = NULL;
  if (idx != NULL)
    {
      tap_ok(oci_image_media_type_is_index(idx->media_type), "list: an index type");
      tap_ok(idx->manifests_len == 4, "list: four entries");
      for (i = 0; i < idx->manifests_len; i++)
        tap_ok(idx->manifests[i].platform != NULL, "list: entry %zu has a platform", i);
      tap_streq(idx->manifests[1].platform->variant, "v7", "list: arm/v7");
      tap_streq(idx->manifests[3].platform->os, "windows", "list: windows entry");
      tap_streq(idx->manifests[3].platform->os_version, "10.0.17763.5329", "list: os.version");
      tap_ok(idx->manifests[3].platform->os_features_len == 1, "list: os.features");
    }
  oci_image_index_free(idx);
  free(text);
}

static void
test_full_index(void)
{
  size_t len = 0;
  char *text = tap_read_data("oci-index-attestations.json", &len), *err = NULL, *out, *pretty;
  oci_image_index *idx = oci_image_index_parse("index", text, len, &err), *again = NULL, *again2 = NULL;

  tap_ok(idx != NULL, "OCI index with attestations parses%s%s", err ? ": " : "", err ? err : "");
  free(err);
  err = NULL;
  if (idx == NULL)
    {
      free(text);
      return;
    }
  tap_streq(idx->manifests[1].platform->os, "unknown", "index: attestation entry");
  tap_streq(oci_string_map_get(&idx->manifests[1].annotations, "vnd.docker.reference.type"), "attestation-manifest",
            "index: attestation annotation");
  tap_streq(idx->manifests[2].artifact_type, "application/vnd.example.sbom", "index: artifactType");
  tap_streq(idx->manifests[2].data, "e30=", "index: data");
  tap_ok(idx->manifests[2].urls_len == 1, "index: urls");
  tap_ok(idx->manifests[2].platform->features_len == 1, "index: platform.features");
  tap_ok(idx->subject != NULL && strncmp(idx->subject->digest, "sha512:", 7) == 0, "index: subject (sha512)");
  out = oci_image_index_write(idx, false, &err);
  pretty = oci_image_index_write(idx, true, &err);
  if (out != NULL)
    again = oci_image_index_parse("written", out, strlen(out), &err);
  if (pretty != NULL)
    again2 = oci_image_index_parse("written", pretty, strlen(pretty), &err);
  tap_ok(again != NULL && oci_image_index_equal(idx, again), "index: compact round trip");
  tap_ok(again2 != NULL && oci_image_index_equal(idx, again2), "index: pretty round trip");
  tap_ok(!oci_image_index_equal(idx, NULL) && oci_image_index_equal(NULL, NULL), "index: equal with NULL");
  if (again != NULL)
    {
      free(again->manifests[2].platform->architecture);
      again->manifests[2].platform->architecture = strdup("arm64");
      tap_ok(!oci_image_index_equal(idx, again), "index: a changed platform is not equal");
    }
  oci_image_index_free(again);
  oci_image_index_free(again2);
  free(out);
  free(pretty);
  free(err);
  oci_image_index_free(idx);
  free(text);
}

/* ---- bad documents ---- */

#define Z64      "0000000000000000000000000000000000000000000000000000000000000000"
#define D1       "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2       "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define CFG      "{\"mediaType\":\"" OCI_IMAGE_MEDIA_TYPE_CONFIG "\",\"digest\":\"" D1 "\",\"size\":2}"
#define LAYER(d) "{\"mediaType\":\"" OCI_IMAGE_MEDIA_TYPE_LAYER_GZIP "\",\"digest\":\"" d "\",\"size\":10}"

typedef enum
{
  INDEX,
  MANIFEST,
  CONFIG
} doc_kind;

static void
expect_error(doc_kind kind, const char *text, const char *want)
{
  char *err = NULL;
  void *obj;
  const char *what = kind == INDEX ? "index" : kind == MANIFEST ? "manifest" : "config";

  if (kind == INDEX)
    obj = oci_image_index_parse(NULL, text, strlen(text), &err);
  else if (kind == MANIFEST)
    obj = oci_image_manifest_parse(NULL, text, strlen(text), &err);
  else
    obj = oci_image_config_parse(NULL, text, strlen(text), &err);
  tap_ok(obj == NULL && err != NULL && strcmp(err, want) == 0, "bad %s: %s", what, want);
  if (obj != NULL || err == NULL || strcmp(err, want) != 0)
    printf("#   got: %s\n", err ? err : "(accepted)");
  if (kind == INDEX)
    oci_image_index_free(obj);
  else if (kind == MANIFEST)
    oci_image_manifest_free(obj);
  else
    oci_image_config_free(obj);
  free(err);
}

static void
test_bad_documents(void)
{
  /* manifests */
  expect_error(MANIFEST, "", "manifest: invalid JSON: parse error: premature EOF");
  expect_error(MANIFEST, "[]", "manifest: expected an object");
  expect_error(MANIFEST, "{\"config\":" CFG ",\"layers\":[]}", "manifest: schemaVersion: missing (must be 2)");
  expect_error(MANIFEST, "{\"schemaVersion\":3,\"config\":" CFG ",\"layers\":[]}",
               "manifest: schemaVersion: must be 2, got 3");
  expect_error(MANIFEST, "{\"schemaVersion\":\"2\",\"config\":" CFG ",\"layers\":[]}",
               "manifest: schemaVersion: expected a 32-bit integer");
  expect_error(MANIFEST,
               "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[],\"mediaType\":\"" DOCKER_MEDIA_TYPE_MANIFEST_V1
               "\"}",
               "manifest: schemaVersion: Docker schema 1 manifests are not supported (the image must be pushed again "
               "with a newer tool)");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"layers\":[]}", "manifest: config: missing");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG "}", "manifest: layers: missing");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IMAGE_MEDIA_TYPE_INDEX "\",\"manifests\":[]}",
               "manifest: mediaType: not an image manifest \"" OCI_IMAGE_MEDIA_TYPE_INDEX "\"");
  expect_error(MANIFEST,
               "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LAYER(D1) ",{\"digest\":\"" D2 "\",\"size\":1}]}",
               "manifest: layers[1].mediaType: missing");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LAYER(D1) "," LAYER("sha256:xyz") "]}",
               "manifest: layers[1].digest: invalid digest \"sha256:xyz\"");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LAYER("sha256:../../etc/passwd") "]}",
               "manifest: layers[0].digest: invalid digest \"sha256:../../etc/passwd\"");
  expect_error(MANIFEST,
               "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
               "manifest: config.size: must not be negative");
  expect_error(MANIFEST,
               "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
               "\",\"size\":1.5},\"layers\":[]}",
               "manifest: config.size: expected a 64-bit integer");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":{}}",
               "manifest: layers: expected an array of objects");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[],\"annotations\":{\"a\":1}}",
               "manifest: annotations.a: expected a string, got a number");
  expect_error(MANIFEST, "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[],\"subject\":{\"mediaType\":\"x\"}}",
               "manifest: subject.digest: missing");

  /* indexes */
  expect_error(INDEX, "{\"schemaVersion\":2}", "index: manifests: missing");
  expect_error(INDEX, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IMAGE_MEDIA_TYPE_MANIFEST "\",\"manifests\":[]}",
               "index: mediaType: not an image index \"" OCI_IMAGE_MEDIA_TYPE_MANIFEST "\"");
  expect_error(INDEX,
               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" D1
               "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
               "index: manifests[0].platform.architecture: missing");
  expect_error(INDEX,
               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" D1
               "\",\"size\":1,\"platform\":{\"architecture\":\"amd64\"}}]}",
               "index: manifests[0].platform.os: missing");
  expect_error(INDEX,
               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"SHA256:" D1 "\",\"size\":1}]}",
               "index: manifests[0].digest: invalid digest \"SHA256:" D1 "\"");
  expect_error(INDEX,
               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" D1 "\",\"size\":1,"
               "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.features\":\"x\"}}]}",
               "index: manifests[0].platform.os.features: expected an array of strings");

  /* configs */
  expect_error(CONFIG, "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
               "config: architecture: missing");
  expect_error(CONFIG, "{\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
               "config: os: missing");
  expect_error(CONFIG, "{\"architecture\":\"amd64\",\"os\":\"linux\"}", "config: rootfs: missing");
  expect_error(CONFIG, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}",
               "config: rootfs.type: unsupported type (want \"layers\") \"tar\"");
  expect_error(CONFIG, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}",
               "config: rootfs.diff_ids: missing");
  expect_error(CONFIG,
               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1
               "\",\"md5:zz/\"]}}",
               "config: rootfs.diff_ids[1]: invalid digest \"md5:zz/\"");
  expect_error(CONFIG,
               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":\"PATH=/bin\"},"
               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
               "config: config.Env: expected an array of strings");
  expect_error(CONFIG,
               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"ExposedPorts\":{\"80/tcp\":1}},"
               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
               "config: config.ExposedPorts.80/tcp: expected an object, got a number");
  expect_error(CONFIG,
               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"history\":[{\"empty_layer\":\"yes\"}],"
               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
               "config: history[0].empty_layer: expected a boolean, got a string");
}

static void
test_lenient(void)
{
  /* Docker writes null for empty lists and maps; unknown keys (Healthcheck, OnBuild, container_config)
     are ignored. */
  static const char text[] = "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"container\":\"abc\","
                             "\"container_config\":{\"Hostname\":\"x\"},\"docker_version\":\"20.10\","
                             "\"config\":{\"Cmd\":null,\"Entrypoint\":null,\"Env\":null,\"ExposedPorts\":null,"
                             "\"Volumes\":null,\"Labels\":null,\"OnBuild\":null,\"Healthcheck\":{\"Test\":[\"NONE\"]},"
                             "\"ArgsEscaped\":true},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  char *err = NULL;
  oci_image_config *c = oci_image_config_parse(NULL, text, sizeof text - 1, &err);

  tap_ok(c != NULL, "a Docker config with nulls and extra keys parses%s%s", err ? ": " : "", err ? err : "");
  if (c != NULL)
    {
      tap_ok(c->config->cmd == NULL && c->config->entrypoint == NULL && c->config->exposed_ports == NULL,
             "nulls are absent");
      tap_ok(c->config->args_escaped, "ArgsEscaped");
      tap_streq(c->variant, "v8", "variant");
      tap_ok(c->rootfs->diff_ids != NULL && c->rootfs->diff_ids_len == 0, "an empty diff_ids is kept");
    }
  oci_image_config_free(c);
  free(err);
}

static void
test_digest_syntax(void)
{
  static const struct
  {
    const char *d;
    bool ok;
  } cases[] = {
    { D1, true },
    { "sha512:" Z64 Z64, true },
    { "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", true },
    { "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", true },
    { "sha256:1111111111111111111111111111111111111111111111111111111111111111a", false },
    { "sha256:ABCDEF1111111111111111111111111111111111111111111111111111111111", false },
    { "sha512:abc", false },
    { "sha256", false },
    { ":abc", false },
    { "sha256:", false },
    { "Sha256:abc", false },
    { "sha256+:abc", false },
    { "+sha256:abc", false },
    { "sha..256:abc", false },
    { "foo:a/b", false },
    { "foo:a b", false },
    { NULL, false },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    tap_ok(oci_image_digest_syntax_valid(cases[i].d) == cases[i].ok, "digest `%s` is %s",
           cases[i].d ? cases[i].d : "(null)", cases[i].ok ? "valid" : "invalid");
}

static void
test_media_types(void)
{
  const char *comp = "unset";

  tap_ok(oci_image_media_type_is_index(OCI_IMAGE_MEDIA_TYPE_INDEX)
             && oci_image_media_type_is_index(DOCKER_MEDIA_TYPE_MANIFEST_LIST)
             && !oci_image_media_type_is_index(OCI_IMAGE_MEDIA_TYPE_MANIFEST) && !oci_image_media_type_is_index(NULL),
         "index media types");
  tap_ok(oci_image_media_type_is_manifest(OCI_IMAGE_MEDIA_TYPE_MANIFEST)
             && oci_image_media_type_is_manifest(DOCKER_MEDIA_TYPE_MANIFEST)
             && !oci_image_media_type_is_manifest(DOCKER_MEDIA_TYPE_MANIFEST_V1),
         "manifest media types");
  tap_ok(oci_image_media_type_is_layer(OCI_IMAGE_MEDIA_TYPE_LAYER, &comp) && strcmp(comp, "") == 0, "plain tar layer");
  tap_ok(oci_image_media_type_is_layer(OCI_IMAGE_MEDIA_TYPE_LAYER_ZSTD, &comp) && strcmp(comp, "zstd") == 0,
         "zstd layer");
  tap_ok(oci_image_media_type_is_layer(DOCKER_MEDIA_TYPE_LAYER_GZIP, NULL), "docker gzip layer");
  tap_ok(!oci_image_media_type_is_layer(OCI_IMAGE_MEDIA_TYPE_CONFIG, &comp), "a config is not a layer");
}

int
main(void)
{
  test_umoci_index();
  test_umoci_manifest();
  test_umoci_config();
  test_docker_documents();
  test_full_index();
  test_bad_documents();
  test_lenient();
  test_digest_syntax();
  test_media_types();
  return tap_done();
}
