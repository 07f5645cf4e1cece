/* SPDX-License-Identifier: Apache-2.0 */
/* A compact, table-driven description of the OCI documents.  Each struct of ocispec.h has a
 * schema_type: its size and a table of schema_field rows (JSON key, kind, member offsets).
 * One generic walker (schema.c) parses, writes, frees, compares and lists unknown keys for
 * every document, so adding a spec field means adding one row to a table in runtime_spec.c. */
#ifndef OCISPEC_SCHEMA_H
#define OCISPEC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

typedef enum
{
  SK_STRING,       /* char * */
  SK_BOOL,         /* bool */
  SK_INT32,        /* int32_t */
  SK_INT64,        /* int64_t */
  SK_UINT16,       /* uint16_t */
  SK_UINT32,       /* uint32_t */
  SK_UINT64,       /* uint64_t */
  SK_STRING_ARRAY, /* char ** (NULL-terminated) + size_t len */
  SK_UINT32_ARRAY, /* uint32_t * + size_t len */
  SK_STRING_MAP,   /* oci_string_map, embedded */
  SK_OBJECT,       /* struct pointer, NULL when absent */
  SK_INLINE,       /* embedded struct (process.user) */
  SK_OBJECT_ARRAY, /* struct array + size_t len */
  SK_OBJECT_MAP,   /* JSON object of objects: struct array + len; the key is the element's first member
                      (a char * at offset 0), the value's keys are the sub type's fields */
} schema_kind;

/* Writer flag: a scalar without a `_present` companion is omitted when zero/false (Go's
   omitempty in runtime-spec's specs-go, which is what runc writes). */
#define SF_OMITEMPTY 1u

#define SCHEMA_NO_OFFSET ((size_t)-1)

typedef struct schema_type schema_type;

typedef struct schema_field
{
  const char *key;
  schema_kind kind;
  size_t offset;         /* the member */
  size_t len_offset;     /* its size_t _len (arrays and object maps) */
  size_t present_offset; /* its bool _present (optional scalars) */
  const schema_type *sub;
  unsigned flags;
} schema_field;

struct schema_type
{
  const char *name;
  size_t size;
  const schema_field *fields;
  size_t n_fields;
};

/* Parse a whole document of type t from text.  Returns a calloc'd struct, or NULL with *err set to
   "<source>: <path>: <reason>". */
void *schema_parse_document(const schema_type *t, const char *source, const char *text, size_t len, char **err);

/* Write obj as a JSON document; NULL with *err on failure. */
char *schema_write_document(const schema_type *t, const void *obj, bool pretty, char **err);

/* Free the members of obj (not obj itself). */
void schema_free_members(const schema_type *t, void *obj);

/* Free obj and its members; NULL is fine. */
void schema_free(const schema_type *t, void *obj);

/* Deep comparison of two models of type t (for round-trip checks). */
bool schema_equal(const schema_type *t, const void *a, const void *b);

/* The JSON paths of the keys in text that t does not describe, NULL-terminated; NULL with *err
   for invalid JSON. */
char **schema_unknown_keys(const schema_type *t, const char *source, const char *text, size_t len, char **err);

/* Semantic validation (validate.c, image_spec.c): where messages go and what they start with. */
typedef struct schema_vctx
{
  const char *source; /* "config.json", "manifest" */
  char **err;         /* NULL: no message wanted */
} schema_vctx;

/* Set *v->err to "<source>: <path>: <msg>"; path_fmt is a printf format for the JSON path.
   Always -1. */
int schema_verr(schema_vctx *v, const char *msg, const char *path_fmt, ...) __attribute__((format(printf, 3, 4)));

/* The runtime-spec document types (runtime_spec.c). */
extern const schema_type oci_config_type;
extern const schema_type oci_process_type;
extern const schema_type oci_state_type;
extern const schema_type oci_features_type;
extern const schema_type oci_resources_type;

#endif
