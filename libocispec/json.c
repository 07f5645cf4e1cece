/* SPDX-License-Identifier: Apache-2.0 */
/* The only file that knows yajl.  Parsing goes through yajl_tree; a json_value is a yajl_val. */
#include "config.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define V(v) ((yajl_val)(v))
#define J(v) ((const json_value *)(v))

/* yajl_tree builds and frees documents recursively: a few million nested brackets overflow the
   stack.  Go's encoding/json stops at 10000 levels; so do we, before yajl sees the text. */
#define JSON_MAX_DEPTH 10000

static bool
too_deep(const char *text, size_t len)
{
  size_t i, depth = 0;
  bool in_string = false;

  for (i = 0; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = false;
        }
      else if (c == '"')
        in_string = true;
      else if (c == '[' || c == '{')
        {
          if (++depth > JSON_MAX_DEPTH)
            return true;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return false;
}

json_value *
json_parse(const char *text, size_t len, char **err)
{
  char errbuf[1024];
  char *copy;
  yajl_val tree;

  /* yajl_tree_parse wants a NUL-terminated string; a NUL inside the text is a syntax error. */
  if (memchr(text, '\0', len) != NULL)
    {
      if (err != NULL)
        *err = strdup("invalid JSON: the text contains a NUL byte");
      return NULL;
    }
  if (too_deep(text, len))
    {
      if (err != NULL)
        *err = strdup("invalid JSON: nested deeper than 10000 levels");
      return NULL;
    }
  copy = malloc(len + 1);
  if (copy == NULL)
    {
      if (err != NULL)
        *err = strdup("out of memory");
      return NULL;
    }
  memcpy(copy, text, len);
  copy[len] = '\0';
  errbuf[0] = '\0';
  tree = yajl_tree_parse(copy, errbuf, sizeof errbuf);
  free(copy);
  if (tree == NULL)
    {
      if (err != NULL)
        {
          /* yajl's text is multi-line ("parse error: ...\n  <context>\n  (right here) ------^"):
             keep the first line, which says what went wrong, and the context as "near `...`". */
          char *what = errbuf, *ctx, *end;
          int r;

          what += strspn(what, " \t\n");
          ctx = strchr(what, '\n');
          if (ctx != NULL)
            {
              *ctx++ = '\0';
              ctx += strspn(ctx, " \t\n");
              end = strchr(ctx, '\n');
              if (end != NULL)
                *end = '\0';
              for (end = ctx + strlen(ctx); end > ctx && (end[-1] == ' ' || end[-1] == '\t'); end--)
                *(end - 1) = '\0';
            }
          for (end = what + strlen(what); end > what && (end[-1] == ' ' || end[-1] == '\t'); end--)
            *(end - 1) = '\0';
          if (ctx != NULL && *ctx != '\0' && strncmp(ctx, "(right here)", 12) != 0)
            r = asprintf(err, "invalid JSON: %s near `%s`", *what ? what : "syntax error", ctx);
          else
            r = asprintf(err, "invalid JSON: %s", *what ? what : "syntax error");
          if (r < 0)
            *err = NULL;
        }
      return NULL;
    }
  return (json_value *)tree;
}

void
json_value_free(json_value *v)
{
  if (v != NULL)
    yajl_tree_free(V(v));
}

json_type
json_typeof(const json_value *v)
{
  switch (V(v)->type)
    {
    case yajl_t_string:
      return JSON_STRING;
    case yajl_t_number:
      return JSON_NUMBER;
    case yajl_t_object:
      return JSON_OBJECT;
    case yajl_t_array:
      return JSON_ARRAY;
    case yajl_t_true:
    case yajl_t_false:
      return JSON_BOOL;
    case yajl_t_null:
    case yajl_t_any:
    default:
      return JSON_NULL;
    }
}

const char *
json_type_name(json_type t)
{
  switch (t)
    {
    case JSON_NULL:
      return "null";
    case JSON_BOOL:
      return "a boolean";
    case JSON_NUMBER:
      return "a number";
    case JSON_STRING:
      return "a string";
    case JSON_ARRAY:
      return "an array";
    case JSON_OBJECT:
      return "an object";
    }
  return "unknown";
}

bool
json_get_bool(const json_value *v, bool *ret)
{
  if (v == NULL)
    return false;
  if (V(v)->type == yajl_t_true || V(v)->type == yajl_t_false)
    {
      *ret = V(v)->type == yajl_t_true;
      return true;
    }
  return false;
}

/* The number's literal text, which yajl keeps: integers beyond int64 (uint64 limits such as
   RLIM_INFINITY) are read from it rather than from yajl's lossy long long / double. */
static const char *
number_text(const json_value *v)
{
  if (v == NULL || V(v)->type != yajl_t_number)
    return NULL;
  return V(v)->u.number.r;
}

static bool
is_integer_literal(const char *s)
{
  if (*s == '-')
    s++;
  if (*s < '0' || *s > '9')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

bool
json_get_int64(const json_value *v, int64_t *ret)
{
  const char *s = number_text(v);
  long long n;
  char *end;

  if (s == NULL || !is_integer_literal(s))
    return false;
  errno = 0;
  n = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *ret = n;
  return true;
}

bool
json_get_uint64(const json_value *v, uint64_t *ret)
{
  const char *s = number_text(v);
  unsigned long long n;
  char *end;

  if (s == NULL || !is_integer_literal(s) || s[0] == '-')
    return false;
  errno = 0;
  n = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *ret = n;
  return true;
}

bool
json_get_double(const json_value *v, double *ret)
{
  const char *s = number_text(v);
  double d;
  char *end;

  if (s == NULL)
    return false;
  errno = 0;
  d = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(d))
    return false;
  *ret = d;
  return true;
}

const char *
json_get_string(const json_value *v)
{
  if (v == NULL || V(v)->type != yajl_t_string)
    return NULL;
  return V(v)->u.string;
}

size_t
json_array_len(const json_value *v)
{
  if (v == NULL || V(v)->type != yajl_t_array)
    return 0;
  return V(v)->u.array.len;
}

const json_value *
json_array_get(const json_value *v, size_t i)
{
  if (i >= json_array_len(v))
    return NULL;
  return J(V(v)->u.array.values[i]);
}

size_t
json_object_len(const json_value *v)
{
  if (v == NULL || V(v)->type != yajl_t_object)
    return 0;
  return V(v)->u.object.len;
}

const char *
json_object_key(const json_value *v, size_t i)
{
  if (i >= json_object_len(v))
    return NULL;
  return V(v)->u.object.keys[i];
}

const json_value *
json_object_value(const json_value *v, size_t i)
{
  if (i >= json_object_len(v))
    return NULL;
  return J(V(v)->u.object.values[i]);
}

const json_value *
json_object_get(const json_value *v, const char *key)
{
  size_t i, n = json_object_len(v);

  /* Last one wins on duplicate keys, as with encoding/json (runc) */
  for (i = n; i > 0; i--)
    if (strcmp(V(v)->u.object.keys[i - 1], key) == 0)
      return J(V(v)->u.object.values[i - 1]);
  return NULL;
}

/* ---- writer ---- */

struct json_gen
{
  yajl_gen g;
  yajl_gen_status status;
};

json_gen *
json_gen_new(bool pretty)
{
  json_gen *g = calloc(1, sizeof *g);

  if (g == NULL)
    return NULL;
  g->g = yajl_gen_alloc(NULL);
  if (g->g == NULL)
    {
      free(g);
      return NULL;
    }
  if (pretty)
    {
      yajl_gen_config(g->g, yajl_gen_beautify, 1);
      yajl_gen_config(g->g, yajl_gen_indent_string, "  ");
    }
  /* No UTF-8 validation: paths and ids are bytes, and a state file must still be written for a
     bundle whose path is not UTF-8.  '/' is not escaped, so paths stay readable. */
  g->status = yajl_gen_status_ok;
  return g;
}

void
json_gen_free(json_gen *g)
{
  if (g == NULL)
    return;
  yajl_gen_free(g->g);
  free(g);
}

#define GEN(g, call)                                                                                                   \
  do                                                                                                                   \
    {                                                                                                                  \
      if ((g) != NULL && (g)->status == yajl_gen_status_ok)                                                            \
        (g)->status = (call);                                                                                          \
    }                                                                                                                  \
  while (0)

void
json_gen_object_open(json_gen *g)
{
  GEN(g, yajl_gen_map_open(g->g));
}

void
json_gen_object_close(json_gen *g)
{
  GEN(g, yajl_gen_map_close(g->g));
}

void
json_gen_array_open(json_gen *g)
{
  GEN(g, yajl_gen_array_open(g->g));
}

void
json_gen_array_close(json_gen *g)
{
  GEN(g, yajl_gen_array_close(g->g));
}

void
json_gen_key(json_gen *g, const char *key)
{
  GEN(g, yajl_gen_string(g->g, (const unsigned char *)key, strlen(key)));
}

void
json_gen_string(json_gen *g, const char *s)
{
  if (s == NULL)
    json_gen_null(g);
  else
    GEN(g, yajl_gen_string(g->g, (const unsigned char *)s, strlen(s)));
}

static void
gen_number_text(json_gen *g, const char *text)
{
  GEN(g, yajl_gen_number(g->g, text, strlen(text)));
}

void
json_gen_int64(json_gen *g, int64_t v)
{
  char buf[32];

  snprintf(buf, sizeof buf, "%" PRId64, v);
  gen_number_text(g, buf);
}

void
json_gen_uint64(json_gen *g, uint64_t v)
{
  char buf[32];

  snprintf(buf, sizeof buf, "%" PRIu64, v);
  gen_number_text(g, buf);
}

void
json_gen_double(json_gen *g, double v)
{
  GEN(g, yajl_gen_double(g->g, v));
}

void
json_gen_bool(json_gen *g, bool v)
{
  GEN(g, yajl_gen_bool(g->g, v ? 1 : 0));
}

void
json_gen_null(json_gen *g)
{
  GEN(g, yajl_gen_null(g->g));
}

void
json_gen_value(json_gen *g, const json_value *v)
{
  int64_t i64;
  uint64_t u64;
  double d;
  bool b = false;
  size_t i;

  switch (json_typeof(v))
    {
    case JSON_NULL:
      json_gen_null(g);
      break;
    case JSON_BOOL:
      (void)json_get_bool(v, &b);
      json_gen_bool(g, b);
      break;
    case JSON_NUMBER:
      if (json_get_int64(v, &i64))
        json_gen_int64(g, i64);
      else if (json_get_uint64(v, &u64))
        json_gen_uint64(g, u64);
      else if (json_get_double(v, &d))
        json_gen_double(g, d);
      else
        json_gen_null(g);
      break;
    case JSON_STRING:
      json_gen_string(g, json_get_string(v));
      break;
    case JSON_ARRAY:
      json_gen_array_open(g);
      for (i = 0; i < json_array_len(v); i++)
        json_gen_value(g, json_array_get(v, i));
      json_gen_array_close(g);
      break;
    case JSON_OBJECT:
      json_gen_object_open(g);
      for (i = 0; i < json_object_len(v); i++)
        {
          json_gen_key(g, json_object_key(v, i));
          json_gen_value(g, json_object_value(v, i));
        }
      json_gen_object_close(g);
      break;
    }
}

static const char *
gen_status_text(yajl_gen_status s)
{
  switch (s)
    {
    case yajl_gen_keys_must_be_strings:
      return "object keys must be strings";
    case yajl_max_depth_exceeded:
      return "document nested too deeply";
    case yajl_gen_in_error_state:
    case yajl_gen_generation_complete:
      return "misuse of the JSON writer";
    case yajl_gen_invalid_number:
      return "invalid number";
    case yajl_gen_invalid_string:
      return "string is not valid UTF-8";
    case yajl_gen_no_buf:
    case yajl_gen_status_ok:
    default:
      return "JSON writer error";
    }
}

/* Copies a generated document, writing empty containers as [] and {} (yajl's beautify mode
   puts blank lines inside them; encoding/json's MarshalIndent does not).  Returns the new length. */
static size_t
squeeze_empty(char *out, const char *in, size_t len)
{
  size_t i, j, n = 0;
  bool in_string = false;

  for (i = 0; i < len; i++)
    {
      char c = in[i];

      out[n++] = c;
      if (in_string)
        {
          if (c == '\\' && i + 1 < len)
            out[n++] = in[++i];
          else if (c == '"')
            in_string = false;
          continue;
        }
      if (c == '"')
        in_string = true;
      else if (c == '[' || c == '{')
        {
          for (j = i + 1; j < len && (in[j] == ' ' || in[j] == '\n'); j++)
            ;
          if (j < len && j > i + 1 && in[j] == (c == '[' ? ']' : '}'))
            i = j - 1;
        }
    }
  return n;
}

int
json_gen_finish(json_gen *g, char **ret, size_t *ret_len, char **err)
{
  const unsigned char *buf;
  size_t len;
  char *out;

  if (g == NULL)
    {
      if (err != NULL)
        *err = strdup("out of memory");
      return -1;
    }
  if (g->status != yajl_gen_status_ok)
    {
      if (err != NULL)
        *err = strdup(gen_status_text(g->status));
      return -1;
    }
  if (yajl_gen_get_buf(g->g, &buf, &len) != yajl_gen_status_ok)
    {
      if (err != NULL)
        *err = strdup("JSON writer error");
      return -1;
    }
  /* yajl's beautify mode ends with a newline; callers decide about trailing newlines. */
  while (len > 0 && buf[len - 1] == '\n')
    len--;
  out = malloc(len + 1);
  if (out == NULL)
    {
      if (err != NULL)
        *err = strdup("out of memory");
      return -1;
    }
  len = squeeze_empty(out, (const char *)buf, len);
  out[len] = '\0';
  *ret = out;
  if (ret_len != NULL)
    *ret_len = len;
  return 0;
}
