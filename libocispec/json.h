/* SPDX-License-Identifier: Apache-2.0 */
/* Our small JSON interface.  json.c is the only file in the project that knows yajl: a parsed
 * document is a read-only tree of json_value nodes, and json_gen writes documents.
 * Swapping yajl for another library means rewriting json.c only. */
#ifndef OCISPEC_JSON_H
#define OCISPEC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json_value json_value;

typedef enum
{
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT,
} json_type;

/* Parse text (need not be NUL-terminated).  On failure returns NULL and sets *err to a malloc'd
 * message that says where the syntax error is. */
json_value *json_parse(const char *text, size_t len, char **err);
void json_value_free(json_value *v);

json_type json_typeof(const json_value *v);
const char *json_type_name(json_type t); /* "string", "an object", ... for messages */

/* Accessors return false (and leave *ret alone) when the node has another type or the number
 * does not fit the target type exactly (no silent truncation, no fractions into integers). */
bool json_get_bool(const json_value *v, bool *ret);
bool json_get_int64(const json_value *v, int64_t *ret);
bool json_get_uint64(const json_value *v, uint64_t *ret);
bool json_get_double(const json_value *v, double *ret);
const char *json_get_string(const json_value *v); /* NULL unless a string */

size_t json_array_len(const json_value *v); /* 0 unless an array */
const json_value *json_array_get(const json_value *v, size_t i);
size_t json_object_len(const json_value *v); /* 0 unless an object */
const char *json_object_key(const json_value *v, size_t i);
const json_value *json_object_value(const json_value *v, size_t i);
const json_value *json_object_get(const json_value *v, const char *key); /* NULL when absent */

/* Writer.  Calls after an error are no-ops; json_gen_finish reports the first error. */
typedef struct json_gen json_gen;
json_gen *json_gen_new(bool pretty);
void json_gen_free(json_gen *g);
void json_gen_object_open(json_gen *g);
void json_gen_object_close(json_gen *g);
void json_gen_array_open(json_gen *g);
void json_gen_array_close(json_gen *g);
void json_gen_key(json_gen *g, const char *key);
void json_gen_string(json_gen *g, const char *s); /* NULL writes null */
void json_gen_int64(json_gen *g, int64_t v);
void json_gen_uint64(json_gen *g, uint64_t v);
void json_gen_double(json_gen *g, double v);
void json_gen_bool(json_gen *g, bool v);
void json_gen_null(json_gen *g);
/* Write a parsed value (and everything under it) as it is: to embed or pass on documents. */
void json_gen_value(json_gen *g, const json_value *v);
/* Hands over the finished document (NUL-terminated, malloc'd).  Returns 0, or -1 with *err. */
int json_gen_finish(json_gen *g, char **ret, size_t *ret_len, char **err);

/* For __attribute__((cleanup)): `cleanup_json json_value *doc = NULL;`. */
static inline void
json_value_freep(json_value **v)
{
  json_value_free(*v);
}
static inline void
json_gen_freep(json_gen **g)
{
  json_gen_free(*g);
}
#define cleanup_json     __attribute__((cleanup(json_value_freep)))
#define cleanup_json_gen __attribute__((cleanup(json_gen_freep)))

#endif
