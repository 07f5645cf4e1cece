/* SPDX-License-Identifier: Apache-2.0 */
/* The generic walker over schema_type tables: parse, write, free, compare, unknown keys. */
#include "config.h"
#include "schema.h"
#include "ocispec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define AT(obj, off, type)  ((type *)((char *)(obj) + (off)))
#define CAT(obj, off, type) ((const type *)((const char *)(obj) + (off)))

/* ---- JSON paths for messages ---- */

typedef struct
{
  char *buf;
  size_t len, cap;
  bool oom;
} spath;

static void
path_append(spath *p, const char *s, size_t n)
{
  if (p->oom)
    return;
  if (p->len + n + 1 > p->cap)
    {
      size_t cap = (p->cap ? p->cap : 64);
      char *b;

      while (cap < p->len + n + 1)
        cap *= 2;
      b = realloc(p->buf, cap);
      if (b == NULL)
        {
          p->oom = true;
          return;
        }
      p->buf = b;
      p->cap = cap;
    }
  memcpy(p->buf + p->len, s, n);
  p->len += n;
  p->buf[p->len] = '\0';
}

/* Appends ".key" (or "key" at the top); returns the length to restore with path_pop. */
static size_t
path_push_key(spath *p, const char *key)
{
  size_t old = p->len;

  if (p->len > 0)
    path_append(p, ".", 1);
  path_append(p, key, strlen(key));
  return old;
}

static size_t
path_push_index(spath *p, size_t i)
{
  char b[32];
  size_t old = p->len;
  int n = snprintf(b, sizeof b, "[%zu]", i);

  path_append(p, b, (size_t)n);
  return old;
}

static void
path_pop(spath *p, size_t old)
{
  if (p->oom || p->buf == NULL)
    return;
  p->len = old;
  p->buf[old] = '\0';
}

/* ---- parsing ---- */

typedef struct
{
  const char *source;
  spath path;
  char *err;
} pctx;

static int fail(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(pctx *c, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;
  int r;

  if (c->err != NULL)
    return -1;
  va_start(ap, fmt);
  r = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (r < 0)
    msg = NULL;
  if (msg == NULL || c->path.oom)
    r = -1;
  else if (c->path.len > 0)
    r = asprintf(&c->err, "%s: %s: %s", c->source, c->path.buf, msg);
  else
    r = asprintf(&c->err, "%s: %s", c->source, msg);
  if (r < 0)
    c->err = strdup("out of memory");
  free(msg);
  return -1;
}

static int
oom(pctx *c)
{
  return fail(c, "out of memory");
}

static const char *
got(const json_value *v)
{
  return json_type_name(json_typeof(v));
}

static const char *
integer_name(schema_kind k)
{
  switch (k)
    {
    case SK_INT32:
      return "a 32-bit integer";
    case SK_INT64:
      return "a 64-bit integer";
    case SK_UINT16:
      return "an unsigned 16-bit integer";
    case SK_UINT32:
      return "an unsigned 32-bit integer";
    default:
      return "an unsigned 64-bit integer";
    }
}

/* A scalar of kind k from v into dst.  Integers must be exact and in range (runtime-spec types
   them as Go's int32/int64/uint16/uint32/uint64). */
static int
parse_scalar(pctx *c, schema_kind k, const json_value *v, void *dst)
{
  int64_t i = 0;
  uint64_t u = 0;

  switch (k)
    {
    case SK_STRING:
      {
        const char *s = json_get_string(v);
        if (s == NULL)
          return fail(c, "expected a string, got %s", got(v));
        free(*(char **)dst);
        *(char **)dst = strdup(s);
        return *(char **)dst == NULL ? oom(c) : 0;
      }
    case SK_BOOL:
      if (!json_get_bool(v, (bool *)dst))
        return fail(c, "expected a boolean, got %s", got(v));
      return 0;
    case SK_INT32:
      if (!json_get_int64(v, &i) || i < INT32_MIN || i > INT32_MAX)
        break;
      *(int32_t *)dst = (int32_t)i;
      return 0;
    case SK_INT64:
      if (!json_get_int64(v, &i))
        break;
      *(int64_t *)dst = i;
      return 0;
    case SK_UINT16:
      if (!json_get_uint64(v, &u) || u > UINT16_MAX)
        break;
      *(uint16_t *)dst = (uint16_t)u;
      return 0;
    case SK_UINT32:
      if (!json_get_uint64(v, &u) || u > UINT32_MAX)
        break;
      *(uint32_t *)dst = (uint32_t)u;
      return 0;
    case SK_UINT64:
      if (!json_get_uint64(v, &u))
        break;
      *(uint64_t *)dst = u;
      return 0;
    default:
      return fail(c, "internal error: not a scalar");
    }
  return fail(c, "expected %s", integer_name(k));
}

typedef struct
{
  const char *key;
  size_t idx;
} key_idx;

static int
cmp_key_idx(const void *a, const void *b)
{
  const key_idx *x = a, *y = b;
  int r = strcmp(x->key, y->key);

  if (r != 0)
    return r;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* keep[i] is true unless a later member of the object has the same key: the last duplicate wins, as
   with json_object_get and Go's encoding/json.  Sorting keeps 100k-key maps fast.  Returns the
   number of kept members, or -1 for out of memory. */
static ssize_t
last_wins(const json_value *v, bool **ret_keep)
{
  size_t i, n = json_object_len(v), kept = 0;
  bool *keep = malloc(n ? n : 1);
  key_idx *ki = malloc((n ? n : 1) * sizeof *ki);

  if (keep == NULL || ki == NULL)
    {
      free(keep);
      free(ki);
      return -1;
    }
  for (i = 0; i < n; i++)
    {
      ki[i].key = json_object_key(v, i);
      ki[i].idx = i;
    }
  qsort(ki, n, sizeof *ki, cmp_key_idx);
  for (i = 0; i < n; i++)
    {
      keep[ki[i].idx] = i + 1 == n || strcmp(ki[i].key, ki[i + 1].key) != 0;
      kept += keep[ki[i].idx];
    }
  free(ki);
  *ret_keep = keep;
  return (ssize_t)kept;
}

static int parse_object(pctx *c, const schema_type *t, const json_value *v, void *obj);

static int
parse_string_map(pctx *c, const json_value *v, oci_string_map *m)
{
  bool *keep = NULL;
  ssize_t kept;
  size_t i, n = json_object_len(v);
  int r = 0;

  if (json_typeof(v) != JSON_OBJECT)
    return fail(c, "expected an object, got %s", got(v));
  kept = last_wins(v, &keep);
  if (kept < 0)
    return oom(c);
  m->keys = calloc((size_t)kept + 1, sizeof(char *));
  m->values = calloc((size_t)kept + 1, sizeof(char *));
  if (m->keys == NULL || m->values == NULL)
    r = oom(c);
  for (i = 0; r == 0 && i < n; i++)
    {
      size_t old;

      if (!keep[i])
        continue;
      old = path_push_key(&c->path, json_object_key(v, i));
      r = parse_scalar(c, SK_STRING, json_object_value(v, i), &m->values[m->len]);
      path_pop(&c->path, old);
      if (r == 0 && (m->keys[m->len] = strdup(json_object_key(v, i))) == NULL)
        r = oom(c);
      if (r == 0)
        m->len++;
      else if (m->values != NULL)
        {
          free(m->values[m->len]);
          m->values[m->len] = NULL;
        }
    }
  free(keep);
  return r;
}

static int
parse_array(pctx *c, const schema_field *f, const json_value *v, void *obj)
{
  size_t i, n = json_array_len(v);
  size_t elem = f->kind == SK_STRING_ARRAY   ? sizeof(char *)
                : f->kind == SK_UINT32_ARRAY ? sizeof(uint32_t)
                                             : f->sub->size;
  char *arr;
  int r = 0;

  if (json_typeof(v) != JSON_ARRAY)
    {
      if (f->kind == SK_STRING_ARRAY)
        return fail(c, "expected an array of strings");
      if (f->kind == SK_UINT32_ARRAY)
        return fail(c, "expected an array of unsigned 32-bit integers");
      return fail(c, "expected an array of objects");
    }
  /* Never NULL, even when empty, so that an empty array survives a round trip; string arrays are
     NULL-terminated. */
  arr = calloc(n + 1, elem);
  if (arr == NULL)
    return oom(c);
  *AT(obj, f->offset, char *) = arr;
  for (i = 0; r == 0 && i < n; i++)
    {
      size_t old = path_push_index(&c->path, i);
      const json_value *e = json_array_get(v, i);

      if (f->kind == SK_STRING_ARRAY)
        r = parse_scalar(c, SK_STRING, e, arr + i * elem);
      else if (f->kind == SK_UINT32_ARRAY)
        r = parse_scalar(c, SK_UINT32, e, arr + i * elem);
      else
        r = parse_object(c, f->sub, e, arr + i * elem);
      path_pop(&c->path, old);
      /* A failed element stays zeroed, so free handles the partial array. */
      *AT(obj, f->len_offset, size_t) = i + 1;
    }
  return r;
}

static int
parse_object_map(pctx *c, const schema_field *f, const json_value *v, void *obj)
{
  size_t i, n = json_object_len(v), elem = f->sub->size;
  bool *keep = NULL;
  ssize_t kept;
  char *arr;
  int r = 0;

  if (json_typeof(v) != JSON_OBJECT)
    return fail(c, "expected an object, got %s", got(v));
  kept = last_wins(v, &keep);
  if (kept < 0)
    return oom(c);
  arr = calloc((size_t)kept + 1, elem);
  if (arr == NULL)
    {
      free(keep);
      return oom(c);
    }
  *AT(obj, f->offset, char *) = arr;
  for (i = 0; r == 0 && i < n; i++)
    {
      size_t *len = AT(obj, f->len_offset, size_t), old;
      char *e = arr + *len * elem;

      if (!keep[i])
        continue;
      old = path_push_key(&c->path, json_object_key(v, i));
      *len += 1;
      *(char **)e = strdup(json_object_key(v, i));
      r = *(char **)e == NULL ? oom(c) : parse_object(c, f->sub, json_object_value(v, i), e);
      path_pop(&c->path, old);
    }
  free(keep);
  return r;
}

static int
parse_field(pctx *c, const schema_field *f, const json_value *v, void *obj)
{
  switch (f->kind)
    {
    case SK_STRING:
    case SK_BOOL:
    case SK_INT32:
    case SK_INT64:
    case SK_UINT16:
    case SK_UINT32:
    case SK_UINT64:
      if (parse_scalar(c, f->kind, v, AT(obj, f->offset, void)) < 0)
        return -1;
      if (f->present_offset != SCHEMA_NO_OFFSET)
        *AT(obj, f->present_offset, bool) = true;
      return 0;
    case SK_STRING_ARRAY:
    case SK_UINT32_ARRAY:
    case SK_OBJECT_ARRAY:
      return parse_array(c, f, v, obj);
    case SK_STRING_MAP:
      return parse_string_map(c, v, AT(obj, f->offset, oci_string_map));
    case SK_OBJECT:
      {
        void *sub = calloc(1, f->sub->size);
        if (sub == NULL)
          return oom(c);
        *AT(obj, f->offset, void *) = sub;
        return parse_object(c, f->sub, v, sub);
      }
    case SK_INLINE:
      return parse_object(c, f->sub, v, AT(obj, f->offset, void));
    case SK_OBJECT_MAP:
      return parse_object_map(c, f, v, obj);
    }
  return fail(c, "internal error: unknown field kind");
}

/* Fills obj (zeroed by the caller) from the JSON object v.  Unknown keys are ignored, as
   runtime-spec config.md "Extensibility" requires; null means absent. */
static int
parse_object(pctx *c, const schema_type *t, const json_value *v, void *obj)
{
  size_t i;

  if (json_typeof(v) != JSON_OBJECT)
    return fail(c, "expected an object, got %s", got(v));
  for (i = 0; i < t->n_fields; i++)
    {
      const schema_field *f = &t->fields[i];
      const json_value *fv = json_object_get(v, f->key);
      size_t old;
      int r;

      if (fv == NULL || json_typeof(fv) == JSON_NULL)
        continue;
      old = path_push_key(&c->path, f->key);
      r = parse_field(c, f, fv, obj);
      path_pop(&c->path, old);
      if (r < 0)
        return -1;
    }
  return 0;
}

void *
schema_parse_document(const schema_type *t, const char *source, const char *text, size_t len, char **err)
{
  pctx c = { .source = source ? source : "<input>" };
  char *jerr = NULL;
  json_value *v;
  void *obj = NULL;

  v = json_parse(text ? text : "", text ? len : 0, &jerr);
  if (v == NULL)
    {
      if (asprintf(&c.err, "%s: %s", c.source, jerr ? jerr : "invalid JSON") < 0)
        c.err = NULL;
      free(jerr);
      goto out;
    }
  if (json_typeof(v) != JSON_OBJECT)
    {
      fail(&c, "expected an object");
      goto out;
    }
  obj = calloc(1, t->size);
  if (obj == NULL)
    {
      oom(&c);
      goto out;
    }
  if (parse_object(&c, t, v, obj) < 0)
    {
      schema_free(t, obj);
      obj = NULL;
    }
out:
  json_value_free(v);
  free(c.path.buf);
  if (obj == NULL && err != NULL)
    *err = c.err ? c.err : strdup("out of memory");
  else
    free(c.err);
  return obj;
}

/* ---- freeing ---- */

static void
free_array(const schema_field *f, void *obj)
{
  char *arr = *AT(obj, f->offset, char *);
  size_t i, n = *AT(obj, f->len_offset, size_t);

  if (arr == NULL)
    return;
  for (i = 0; i < n; i++)
    {
      if (f->kind == SK_STRING_ARRAY)
        free(((char **)arr)[i]);
      else if (f->kind == SK_OBJECT_ARRAY || f->kind == SK_OBJECT_MAP)
        {
          char *e = arr + i * f->sub->size;
          if (f->kind == SK_OBJECT_MAP)
            free(*(char **)e);
          schema_free_members(f->sub, e);
        }
    }
  free(arr);
}

void
schema_free_members(const schema_type *t, void *obj)
{
  size_t i, j;

  for (i = 0; i < t->n_fields; i++)
    {
      const schema_field *f = &t->fields[i];

      switch (f->kind)
        {
        case SK_STRING:
          free(*AT(obj, f->offset, char *));
          break;
        case SK_STRING_ARRAY:
        case SK_UINT32_ARRAY:
        case SK_OBJECT_ARRAY:
        case SK_OBJECT_MAP:
          free_array(f, obj);
          break;
        case SK_STRING_MAP:
          {
            oci_string_map *m = AT(obj, f->offset, oci_string_map);
            for (j = 0; j < m->len; j++)
              {
                free(m->keys[j]);
                free(m->values[j]);
              }
            free(m->keys);
            free(m->values);
            break;
          }
        case SK_OBJECT:
          schema_free(f->sub, *AT(obj, f->offset, void *));
          break;
        case SK_INLINE:
          schema_free_members(f->sub, AT(obj, f->offset, void));
          break;
        default:
          break;
        }
    }
}

void
schema_free(const schema_type *t, void *obj)
{
  if (obj == NULL)
    return;
  schema_free_members(t, obj);
  free(obj);
}

/* ---- writing ---- */

static void write_object(json_gen *g, const schema_type *t, const void *obj);

static bool
scalar_is_zero(schema_kind k, const void *p)
{
  switch (k)
    {
    case SK_BOOL:
      return !*(const bool *)p;
    case SK_INT32:
      return *(const int32_t *)p == 0;
    case SK_INT64:
      return *(const int64_t *)p == 0;
    case SK_UINT16:
      return *(const uint16_t *)p == 0;
    case SK_UINT32:
      return *(const uint32_t *)p == 0;
    case SK_UINT64:
      return *(const uint64_t *)p == 0;
    default:
      return false;
    }
}

static void
write_scalar(json_gen *g, schema_kind k, const void *p)
{
  switch (k)
    {
    case SK_STRING:
      json_gen_string(g, *(char *const *)p);
      break;
    case SK_BOOL:
      json_gen_bool(g, *(const bool *)p);
      break;
    case SK_INT32:
      json_gen_int64(g, *(const int32_t *)p);
      break;
    case SK_INT64:
      json_gen_int64(g, *(const int64_t *)p);
      break;
    case SK_UINT16:
      json_gen_uint64(g, *(const uint16_t *)p);
      break;
    case SK_UINT32:
      json_gen_uint64(g, *(const uint32_t *)p);
      break;
    case SK_UINT64:
      json_gen_uint64(g, *(const uint64_t *)p);
      break;
    default:
      break;
    }
}

/* Writes one field, key included, if it is present. */
static void
write_field(json_gen *g, const schema_field *f, const void *obj)
{
  const void *p = CAT(obj, f->offset, void);
  size_t i, n = f->len_offset != SCHEMA_NO_OFFSET ? *CAT(obj, f->len_offset, size_t) : 0;

  switch (f->kind)
    {
    case SK_STRING:
      if (*(char *const *)p == NULL)
        return;
      break;
    case SK_BOOL:
    case SK_INT32:
    case SK_INT64:
    case SK_UINT16:
    case SK_UINT32:
    case SK_UINT64:
      if (f->present_offset != SCHEMA_NO_OFFSET ? !*CAT(obj, f->present_offset, bool)
                                                : (f->flags & SF_OMITEMPTY) && scalar_is_zero(f->kind, p))
        return;
      break;
    case SK_STRING_MAP:
      if (((const oci_string_map *)p)->keys == NULL)
        return;
      break;
    case SK_INLINE:
      break;
    default:
      if (*(void *const *)p == NULL)
        return;
      break;
    }

  json_gen_key(g, f->key);
  switch (f->kind)
    {
    case SK_STRING_ARRAY:
    case SK_UINT32_ARRAY:
    case SK_OBJECT_ARRAY:
      json_gen_array_open(g);
      for (i = 0; i < n; i++)
        {
          if (f->kind == SK_STRING_ARRAY)
            json_gen_string(g, (*(char **const *)p)[i]);
          else if (f->kind == SK_UINT32_ARRAY)
            json_gen_uint64(g, (*(uint32_t *const *)p)[i]);
          else
            write_object(g, f->sub, *(char *const *)p + i * f->sub->size);
        }
      json_gen_array_close(g);
      break;
    case SK_OBJECT_MAP:
      json_gen_object_open(g);
      for (i = 0; i < n; i++)
        {
          const char *e = *(char *const *)p + i * f->sub->size;
          json_gen_key(g, *(char *const *)e ? *(char *const *)e : "");
          write_object(g, f->sub, e);
        }
      json_gen_object_close(g);
      break;
    case SK_STRING_MAP:
      {
        const oci_string_map *m = p;
        json_gen_object_open(g);
        for (i = 0; i < m->len; i++)
          {
            json_gen_key(g, m->keys[i] ? m->keys[i] : "");
            json_gen_string(g, m->values[i] ? m->values[i] : "");
          }
        json_gen_object_close(g);
        break;
      }
    case SK_OBJECT:
      write_object(g, f->sub, *(void *const *)p);
      break;
    case SK_INLINE:
      write_object(g, f->sub, p);
      break;
    default:
      write_scalar(g, f->kind, p);
      break;
    }
}

static void
write_object(json_gen *g, const schema_type *t, const void *obj)
{
  size_t i;

  json_gen_object_open(g);
  for (i = 0; i < t->n_fields; i++)
    write_field(g, &t->fields[i], obj);
  json_gen_object_close(g);
}

char *
schema_write_document(const schema_type *t, const void *obj, bool pretty, char **err)
{
  json_gen *g;
  char *out = NULL;

  if (obj == NULL)
    {
      if (err != NULL)
        *err = strdup("no document to write");
      return NULL;
    }
  g = json_gen_new(pretty);
  if (g != NULL)
    write_object(g, t, obj);
  if (json_gen_finish(g, &out, NULL, err) < 0)
    out = NULL;
  json_gen_free(g);
  return out;
}

/* ---- comparing ---- */

static bool
str_eq(const char *a, const char *b)
{
  return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
field_equal(const schema_field *f, const void *a, const void *b)
{
  const void *pa = CAT(a, f->offset, void), *pb = CAT(b, f->offset, void);
  size_t i, n = 0, esize;

  if (f->present_offset != SCHEMA_NO_OFFSET && *CAT(a, f->present_offset, bool) != *CAT(b, f->present_offset, bool))
    return false;
  if (f->len_offset != SCHEMA_NO_OFFSET)
    {
      n = *CAT(a, f->len_offset, size_t);
      if (n != *CAT(b, f->len_offset, size_t))
        return false;
    }
  switch (f->kind)
    {
    case SK_STRING:
      return str_eq(*(char *const *)pa, *(char *const *)pb);
    case SK_BOOL:
      return *(const bool *)pa == *(const bool *)pb;
    case SK_INT32:
    case SK_UINT32:
      return *(const uint32_t *)pa == *(const uint32_t *)pb;
    case SK_INT64:
    case SK_UINT64:
      return *(const uint64_t *)pa == *(const uint64_t *)pb;
    case SK_UINT16:
      return *(const uint16_t *)pa == *(const uint16_t *)pb;
    case SK_STRING_MAP:
      {
        const oci_string_map *ma = pa, *mb = pb;
        if (ma->len != mb->len || (ma->keys == NULL) != (mb->keys == NULL))
          return false;
        for (i = 0; i < ma->len; i++)
          if (!str_eq(ma->keys[i], mb->keys[i]) || !str_eq(ma->values[i], mb->values[i]))
            return false;
        return true;
      }
    case SK_OBJECT:
      if (*(void *const *)pa == NULL || *(void *const *)pb == NULL)
        return *(void *const *)pa == *(void *const *)pb;
      return schema_equal(f->sub, *(void *const *)pa, *(void *const *)pb);
    case SK_INLINE:
      return schema_equal(f->sub, pa, pb);
    default:
      break;
    }
  /* arrays and object maps */
  if ((*(void *const *)pa == NULL) != (*(void *const *)pb == NULL))
    return false;
  esize = f->kind == SK_STRING_ARRAY ? sizeof(char *) : f->kind == SK_UINT32_ARRAY ? sizeof(uint32_t) : f->sub->size;
  for (i = 0; i < n; i++)
    {
      const char *ea = *(char *const *)pa + i * esize, *eb = *(char *const *)pb + i * esize;

      if (f->kind == SK_UINT32_ARRAY && *(const uint32_t *)ea != *(const uint32_t *)eb)
        return false;
      if ((f->kind == SK_STRING_ARRAY || f->kind == SK_OBJECT_MAP) && !str_eq(*(char *const *)ea, *(char *const *)eb))
        return false;
      if ((f->kind == SK_OBJECT_ARRAY || f->kind == SK_OBJECT_MAP) && !schema_equal(f->sub, ea, eb))
        return false;
    }
  return true;
}

bool
schema_equal(const schema_type *t, const void *a, const void *b)
{
  size_t i;

  for (i = 0; i < t->n_fields; i++)
    if (!field_equal(&t->fields[i], a, b))
      return false;
  return true;
}

/* ---- unknown keys ---- */

typedef struct
{
  spath path;
  char **list;
  size_t len, cap;
  bool oom;
} ukctx;

static void
uk_add(ukctx *u)
{
  char *s;

  if (u->oom || u->path.oom)
    {
      u->oom = true;
      return;
    }
  if (u->len + 2 > u->cap)
    {
      size_t cap = u->cap ? u->cap * 2 : 8;
      char **l = realloc(u->list, cap * sizeof *l);
      if (l == NULL)
        {
          u->oom = true;
          return;
        }
      u->list = l;
      u->cap = cap;
    }
  s = strdup(u->path.buf);
  if (s == NULL)
    {
      u->oom = true;
      return;
    }
  u->list[u->len++] = s;
  u->list[u->len] = NULL;
}

static void uk_object(ukctx *u, const schema_type *t, const json_value *v);

static void
uk_field(ukctx *u, const schema_field *f, const json_value *v)
{
  size_t i, old;

  switch (f->kind)
    {
    case SK_OBJECT:
    case SK_INLINE:
      uk_object(u, f->sub, v);
      break;
    case SK_OBJECT_ARRAY:
      for (i = 0; i < json_array_len(v); i++)
        {
          old = path_push_index(&u->path, i);
          uk_object(u, f->sub, json_array_get(v, i));
          path_pop(&u->path, old);
        }
      break;
    case SK_OBJECT_MAP:
      for (i = 0; i < json_object_len(v); i++)
        {
          old = path_push_key(&u->path, json_object_key(v, i));
          uk_object(u, f->sub, json_object_value(v, i));
          path_pop(&u->path, old);
        }
      break;
    default:
      break;
    }
}

/* Does not descend into unknown keys: their whole subtree is one entry. */
static void
uk_object(ukctx *u, const schema_type *t, const json_value *v)
{
  size_t i, j;

  for (i = 0; i < json_object_len(v); i++)
    {
      const char *key = json_object_key(v, i);
      size_t old = path_push_key(&u->path, key);

      for (j = 0; j < t->n_fields; j++)
        if (strcmp(t->fields[j].key, key) == 0)
          break;
      if (j == t->n_fields)
        uk_add(u);
      else
        uk_field(u, &t->fields[j], json_object_value(v, i));
      path_pop(&u->path, old);
    }
}

char **
schema_unknown_keys(const schema_type *t, const char *source, const char *text, size_t len, char **err)
{
  ukctx u = { 0 };
  char *jerr = NULL;
  json_value *v = json_parse(text ? text : "", text ? len : 0, &jerr);
  size_t i;

  if (v == NULL)
    {
      if (err != NULL && asprintf(err, "%s: %s", source, jerr ? jerr : "invalid JSON") < 0)
        *err = NULL;
      free(jerr);
      return NULL;
    }
  u.list = calloc(1, sizeof(char *));
  u.cap = u.list ? 1 : 0;
  u.oom = u.list == NULL;
  uk_object(&u, t, v);
  json_value_free(v);
  free(u.path.buf);
  if (u.oom)
    {
      for (i = 0; i < u.len; i++)
        free(u.list[i]);
      free(u.list);
      if (err != NULL)
        *err = strdup("out of memory");
      return NULL;
    }
  return u.list;
}

int
schema_verr(schema_vctx *v, const char *msg, const char *path_fmt, ...)
{
  char *path = NULL;
  va_list ap;
  int r;

  if (v->err == NULL)
    return -1;
  va_start(ap, path_fmt);
  r = vasprintf(&path, path_fmt, ap);
  va_end(ap);
  if (r < 0 || asprintf(v->err, "%s: %s: %s", v->source, path, msg) < 0)
    *v->err = strdup("out of memory");
  free(path);
  return -1;
}
