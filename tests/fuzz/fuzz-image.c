/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the image documents isolazi-pull reads from registries: index (and
 * Docker manifest list), manifest and image config.  Beyond "no crash, no leak": a failure says
 * why, and whatever parses writes and parses back to an equal, still valid model. */
#include "config.h"
#include "ocispec_image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DOCUMENT(name, T)                                                                                         \
  static void fuzz_##name(const char *text, size_t len)                                                                \
  {                                                                                                                    \
    char *err = NULL, *out;                                                                                            \
    T *model = name##_parse("fuzz.json", text, len, &err), *again;                                                     \
    int pretty;                                                                                                        \
                                                                                                                       \
    if (model == NULL)                                                                                                 \
      {                                                                                                                \
        if (err == NULL)                                                                                               \
          abort(); /* a failure must say why */                                                                        \
        free(err);                                                                                                     \
        return;                                                                                                        \
      }                                                                                                                \
    for (pretty = 0; pretty < 2; pretty++)                                                                             \
      {                                                                                                                \
        out = name##_write(model, pretty, &err);                                                                       \
        if (out == NULL)                                                                                               \
          {                                                                                                            \
            fprintf(stderr, #T ": parsed document does not write: %s\n", err);                                         \
            abort();                                                                                                   \
          }                                                                                                            \
        again = name##_parse("written", out, strlen(out), &err);                                                       \
        if (again == NULL || !name##_equal(model, again))                                                              \
          {                                                                                                            \
            fprintf(stderr, #T ": written document does not round-trip: %s\n%s\n", err ? err : "not equal", out);      \
            abort();                                                                                                   \
          }                                                                                                            \
        name##_free(again);                                                                                            \
        free(out);                                                                                                     \
      }                                                                                                                \
    name##_free(model);                                                                                                \
  }

FUZZ_DOCUMENT(oci_image_index, oci_image_index)
FUZZ_DOCUMENT(oci_image_manifest, oci_image_manifest)
FUZZ_DOCUMENT(oci_image_config, oci_image_config)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  char *digest = malloc(size + 1);

  fuzz_oci_image_index(text, size);
  fuzz_oci_image_manifest(text, size);
  fuzz_oci_image_config(text, size);
  /* The digest check reads references and manifests' digests alike: any bytes at all. */
  if (digest != NULL)
    {
      memcpy(digest, data, size);
      digest[size] = '\0';
      (void)oci_image_digest_syntax_valid(digest);
      free(digest);
    }
  return 0;
}
