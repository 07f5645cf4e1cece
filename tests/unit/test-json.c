/* SPDX-License-Identifier: Apache-2.0 */
/* json.c: the parser's number handling and errors, the writer's escaping and round trips. */
#include "config.h"
#include "json.h"
#include "../unit/tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_value *
parse(const char *text, char **err)
{
  return json_parse(text, strlen(text), err);
}

static void
test_numbers(void)
{
  static const struct
  {
    const char *text;
    bool i_ok;
    int64_t i;
    bool u_ok;
    uint64_t u;
  } cases[] = {
    { "0", true, 0, true, 0 },
    { "-0", true, 0, false, 0 },
    { "42", true, 42, true, 42 },
    { "-1", true, -1, false, 0 },
    { "9223372036854775807", true, INT64_MAX, true, INT64_MAX },
    { "9223372036854775808", false, 0, true, (uint64_t)INT64_MAX + 1 },
    { "-9223372036854775808", true, INT64_MIN, false, 0 },
    { "-9223372036854775809", false, 0, false, 0 },
    { "18446744073709551615", false, 0, true, UINT64_MAX },
    { "18446744073709551616", false, 0, false, 0 },
    { "1.5", false, 0, false, 0 },
    { "1.0", false, 0, false, 0 },
    { "1e3", false, 0, false, 0 },
    { "-2E-1", false, 0, false, 0 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char doc[64], *err = NULL;
      json_value *v;
      const json_value *n;
      int64_t iv = 7;
      uint64_t uv = 7;
      bool iok, uok;

      snprintf(doc, sizeof doc, "[%s]", cases[i].text);
      v = parse(doc, &err);
      n = json_array_get(v, 0);
      tap_ok(n != NULL && json_typeof(n) == JSON_NUMBER, "%s parses as a number", cases[i].text);
      iok = json_get_int64(n, &iv);
      uok = json_get_uint64(n, &uv);
      tap_ok(iok == cases[i].i_ok && (!iok || iv == cases[i].i) && (iok || iv == 7), "%s as int64", cases[i].text);
      tap_ok(uok == cases[i].u_ok && (!uok || uv == cases[i].u) && (uok || uv == 7), "%s as uint64", cases[i].text);
      json_value_free(v);
      free(err);
    }
  {
    json_value *v = parse("[1.5, \"1\", true]", NULL);
    double d = 0;
    int64_t iv;
    tap_ok(json_get_double(json_array_get(v, 0), &d) && d == 1.5, "double");
    tap_ok(!json_get_int64(json_array_get(v, 1), &iv), "a string is not an integer");
    tap_ok(!json_get_int64(json_array_get(v, 2), &iv), "a boolean is not an integer");
    json_value_free(v);
  }
}

static void
test_errors(void)
{
  static const char *const bad[]
      = { "", "{", "{\"a\" 1}", "[1,]", "{\"a\":1,}", "nul", "\"unterminated", "[01]", "{\"a\": \"\\x\"}", "[1] [2]" };
  size_t i;
  char *err = NULL;
  json_value *v;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      v = parse(bad[i], &err);
      tap_ok(v == NULL && err != NULL && strncmp(err, "invalid JSON: ", 14) == 0, "syntax error for '%s': %s", bad[i],
             err ? err : "(null)");
      tap_ok(err == NULL || strchr(err, '\n') == NULL, "message is one line");
      json_value_free(v);
      free(err);
      err = NULL;
    }
  v = json_parse("{\"a\": \"x\0y\"}", 12, &err);
  tap_ok(v == NULL, "a NUL byte is rejected");
  tap_streq(err, "invalid JSON: the text contains a NUL byte", "NUL byte message");
  free(err);
  err = NULL;
  /* text need not be NUL-terminated */
  v = json_parse("[1]]]]", 3, &err);
  tap_ok(v != NULL && json_array_len(v) == 1, "length-bounded text");
  json_value_free(v);
  free(err);
}

static void
test_objects(void)
{
  json_value *v = parse("{\"a\": 1, \"b\": [true, null, \"s\"], \"a\": 2, \"\": {}}", NULL);
  int64_t n = 0;
  bool b = false;

  tap_ok(v != NULL && json_typeof(v) == JSON_OBJECT && json_object_len(v) == 4, "object");
  tap_ok(json_get_int64(json_object_get(v, "a"), &n) && n == 2, "duplicate keys: the last wins");
  tap_ok(json_object_get(v, "c") == NULL, "missing key");
  tap_ok(json_object_get(v, "") != NULL && json_typeof(json_object_get(v, "")) == JSON_OBJECT, "empty key");
  tap_ok(json_get_bool(json_array_get(json_object_get(v, "b"), 0), &b) && b, "bool in array");
  tap_ok(json_typeof(json_array_get(json_object_get(v, "b"), 1)) == JSON_NULL, "null in array");
  tap_streq(json_get_string(json_array_get(json_object_get(v, "b"), 2)), "s", "string in array");
  tap_ok(json_array_get(json_object_get(v, "b"), 3) == NULL, "index out of range");
  tap_ok(json_array_len(v) == 0 && json_object_len(json_object_get(v, "b")) == 0, "len of the wrong type is 0");
  tap_streq(json_type_name(JSON_OBJECT), "an object", "type name");
  json_value_free(v);
}

static char *
gen_sample(bool pretty)
{
  json_gen *g = json_gen_new(pretty);
  char *out = NULL, *err = NULL;

  json_gen_object_open(g);
  json_gen_key(g, "s");
  json_gen_string(g, "quote\" backslash\\ slash/ nl\n tab\t ctl\x01 \xc3\xa9");
  json_gen_key(g, "n");
  json_gen_null(g);
  json_gen_key(g, "i");
  json_gen_int64(g, INT64_MIN);
  json_gen_key(g, "u");
  json_gen_uint64(g, UINT64_MAX);
  json_gen_key(g, "b");
  json_gen_bool(g, false);
  json_gen_key(g, "a");
  json_gen_array_open(g);
  json_gen_string(g, NULL);
  json_gen_double(g, 0.5);
  json_gen_array_close(g);
  json_gen_object_close(g);
  if (json_gen_finish(g, &out, NULL, &err) < 0)
    out = NULL;
  json_gen_free(g);
  free(err);
  return out;
}

static void
test_writer(void)
{
  char *out = gen_sample(false), *pretty = gen_sample(true), *err = NULL;
  json_value *v;
  int64_t i = 0;
  uint64_t u = 0;

  tap_streq(out,
            "{\"s\":\"quote\\\" backslash\\\\ slash/ nl\\n tab\\t ctl\\u0001 \xc3\xa9\",\"n\":null,"
            "\"i\":-9223372036854775808,\"u\":18446744073709551615,\"b\":false,\"a\":[null,0.5]}",
            "compact output and escaping");
  tap_ok(pretty != NULL && strstr(pretty, "\n  \"s\": ") != NULL && pretty[strlen(pretty) - 1] == '}',
         "pretty output: 2-space indent, no trailing newline");
  v = out ? parse(out, &err) : NULL;
  tap_streq(json_get_string(json_object_get(v, "s")), "quote\" backslash\\ slash/ nl\n tab\t ctl\x01 \xc3\xa9",
            "string round trip");
  tap_ok(json_get_int64(json_object_get(v, "i"), &i) && i == INT64_MIN, "int64 min round trip");
  tap_ok(json_get_uint64(json_object_get(v, "u"), &u) && u == UINT64_MAX, "uint64 max round trip");
  json_value_free(v);
  free(out);
  free(pretty);
  free(err);

  {
    json_gen *g = json_gen_new(true);
    char *o = NULL;
    json_gen_object_open(g);
    json_gen_key(g, "a");
    json_gen_array_open(g);
    json_gen_array_close(g);
    json_gen_key(g, "b");
    json_gen_object_open(g);
    json_gen_object_close(g);
    json_gen_key(g, "s");
    json_gen_string(g, "[\n  ] {\n}");
    json_gen_object_close(g);
    if (json_gen_finish(g, &o, NULL, NULL) < 0)
      o = NULL;
    tap_streq(o, "{\n  \"a\": [],\n  \"b\": {},\n  \"s\": \"[\\n  ] {\\n}\"\n}",
              "pretty: empty containers as [] and {}");
    json_gen_free(g);
    free(o);
  }
  {
    json_gen *g = json_gen_new(false);
    char *o = NULL;
    err = NULL;
    json_gen_object_open(g);
    json_gen_int64(g, 1); /* a number where a key belongs */
    json_gen_object_close(g);
    tap_ok(json_gen_finish(g, &o, NULL, &err) < 0 && err != NULL, "writer misuse is reported: %s",
           err ? err : "(null)");
    json_gen_free(g);
    free(o);
    free(err);
  }
}

static json_value *
nested(size_t depth, char **err)
{
  char *doc = malloc(2 * depth + 16);
  json_value *v;

  if (doc == NULL)
    return NULL;
  memset(doc, '[', depth);
  memset(doc + depth, ']', depth);
  v = json_parse(doc, 2 * depth, err);
  free(doc);
  return v;
}

static void
test_depth(void)
{
  char *err = NULL;
  json_value *v = nested(10000, &err);

  tap_ok(v != NULL, "10000 levels of nesting parse");
  json_value_free(v);
  v = nested(10001, &err);
  tap_ok(v == NULL, "10001 levels are rejected");
  tap_streq(err, "invalid JSON: nested deeper than 10000 levels", "depth message");
  free(err);
  err = NULL;
  /* without the limit, yajl_tree's recursion overflows the stack here */
  v = nested(3000000, &err);
  tap_ok(v == NULL && err != NULL, "3000000 levels are rejected, no crash");
  free(err);
  v = parse("[\"[[[[[[\\\"{{{{\", {\"a\": \"]]]]\"}]", NULL);
  tap_ok(v != NULL && json_array_len(v) == 2, "brackets in strings do not count");
  json_value_free(v);
}

int
main(void)
{
  test_depth();
  test_numbers();
  test_errors();
  test_objects();
  test_writer();
  return tap_done();
}
