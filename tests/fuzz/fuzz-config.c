/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the untrusted documents a runtime reads: config.json, process.json
 * (exec --process), resources (update --resources), state and features.  Beyond "no crash, no
 * leak", it checks the writer: whatever parses must write, and the output must parse back to an
 * equal model. */
#include "config.h"
#include "ocispec.h"
#include "schema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_round_trip(const schema_type *t, const void *model)
{
  int pretty;

  for (pretty = 0; pretty < 2; pretty++)
    {
      char *err = NULL, *out = schema_write_document(t, model, pretty, &err);
      void *again;

      if (out == NULL)
        {
          fprintf(stderr, "%s: parsed document does not write: %s\n", t->name, err);
          abort();
        }
      again = schema_parse_document(t, "written", out, strlen(out), &err);
      if (again == NULL || !schema_equal(t, model, again))
        {
          fprintf(stderr, "%s: written document does not round-trip: %s\n%s\n", t->name, err ? err : "not equal", out);
          abort();
        }
      schema_free(t, again);
      free(out);
      free(err);
    }
}

static void
fuzz_type(const schema_type *t, const char *text, size_t len)
{
  char *err = NULL;
  void *model = schema_parse_document(t, "fuzz.json", text, len, &err);

  if (model == NULL)
    {
      if (err == NULL)
        abort(); /* a failure must say why */
      free(err);
      return;
    }
  check_round_trip(t, model);
  if (t == &oci_config_type && oci_config_validate("fuzz.json", model, &err) < 0)
    {
      if (err == NULL)
        abort();
      free(err);
      err = NULL;
    }
  if (t == &oci_process_type && oci_process_validate("fuzz.json", model, &err) < 0)
    {
      if (err == NULL)
        abort();
      free(err);
      err = NULL;
    }
  schema_free(t, model);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  char *err = NULL, **keys;

  fuzz_type(&oci_config_type, text, size);
  fuzz_type(&oci_process_type, text, size);
  fuzz_type(&oci_resources_type, text, size);
  fuzz_type(&oci_state_type, text, size);
  fuzz_type(&oci_features_type, text, size);
  keys = oci_config_unknown_keys(text, size, &err);
  oci_string_list_free(keys);
  free(err);
  return 0;
}
