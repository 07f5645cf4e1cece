/* SPDX-License-Identifier: Apache-2.0 */
/* Row macros for the schema tables (schema.h) of runtime_spec.c and image_spec.c:
 * STR(T, "key", member) is one schema_field row of struct T, and TYPE(storage, T, rows...) makes
 * T_type.  Included only by those two files: the short names stay out of everything else. */
#ifndef OCISPEC_SCHEMA_ROWS_H
#define OCISPEC_SCHEMA_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

#define NO SCHEMA_NO_OFFSET
/* offsetof, plus a compile-time check that the member has the C type the kind implies. */
#define OFF(T, m, ctype)                                                                                               \
  (offsetof(T, m) + 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((T *)0)->m), ctype) ? 1 : -1]))
#define SCALAR(T, kind, ctype, key, m, flags)                                                                          \
  {                                                                                                                    \
    key, kind, OFF(T, m, ctype), NO, NO, NULL, flags                                                                   \
  }
#define OPT(T, kind, ctype, key, m)                                                                                    \
  {                                                                                                                    \
    key, kind, OFF(T, m, ctype), NO, OFF(T, m##_present, bool), NULL, 0                                                \
  }
#define STR(T, key, m)       SCALAR(T, SK_STRING, char *, key, m, 0)
#define BOOL(T, key, m)      SCALAR(T, SK_BOOL, bool, key, m, 0)
#define BOOL_OMIT(T, key, m) SCALAR(T, SK_BOOL, bool, key, m, SF_OMITEMPTY)
#define I32(T, key, m)       SCALAR(T, SK_INT32, int32_t, key, m, 0)
#define I64(T, key, m)       SCALAR(T, SK_INT64, int64_t, key, m, 0)
#define U32(T, key, m)       SCALAR(T, SK_UINT32, uint32_t, key, m, 0)
#define U64(T, key, m)       SCALAR(T, SK_UINT64, uint64_t, key, m, 0)
#define OPT_BOOL(T, key, m)  OPT(T, SK_BOOL, bool, key, m)
#define OPT_I32(T, key, m)   OPT(T, SK_INT32, int32_t, key, m)
#define OPT_I64(T, key, m)   OPT(T, SK_INT64, int64_t, key, m)
#define OPT_U16(T, key, m)   OPT(T, SK_UINT16, uint16_t, key, m)
#define OPT_U32(T, key, m)   OPT(T, SK_UINT32, uint32_t, key, m)
#define OPT_U64(T, key, m)   OPT(T, SK_UINT64, uint64_t, key, m)
#define STRS(T, key, m)                                                                                                \
  {                                                                                                                    \
    key, SK_STRING_ARRAY, OFF(T, m, char **), OFF(T, m##_len, size_t), NO, NULL, 0                                     \
  }
#define U32S(T, key, m)                                                                                                \
  {                                                                                                                    \
    key, SK_UINT32_ARRAY, OFF(T, m, uint32_t *), OFF(T, m##_len, size_t), NO, NULL, 0                                  \
  }
#define MAP(T, key, m)                                                                                                 \
  {                                                                                                                    \
    key, SK_STRING_MAP, OFF(T, m, oci_string_map), NO, NO, NULL, 0                                                     \
  }
#define OBJ(T, key, m, S)                                                                                              \
  {                                                                                                                    \
    key, SK_OBJECT, OFF(T, m, S *), NO, NO, &S##_type, 0                                                               \
  }
#define INLINE(T, key, m, S)                                                                                           \
  {                                                                                                                    \
    key, SK_INLINE, OFF(T, m, S), NO, NO, &S##_type, 0                                                                 \
  }
#define OBJS(T, key, m, S)                                                                                             \
  {                                                                                                                    \
    key, SK_OBJECT_ARRAY, OFF(T, m, S *), OFF(T, m##_len, size_t), NO, &S##_type, 0                                    \
  }
#define OMAP(T, key, m, S)                                                                                             \
  {                                                                                                                    \
    key, SK_OBJECT_MAP, OFF(T, m, S *), OFF(T, m##_len, size_t), NO, &S##_type, 0                                      \
  }
#define TYPE(storage, T, ...)                                                                                          \
  static const schema_field T##_fields[] = { __VA_ARGS__ };                                                            \
  storage const schema_type T##_type = { #T, sizeof(T), T##_fields, sizeof T##_fields / sizeof T##_fields[0] }

#endif
