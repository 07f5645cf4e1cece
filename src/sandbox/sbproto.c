/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox payloads (sbproto.h): libc only, shared with the static agent. */
#include "config.h"
#include "sbproto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
put_u32(uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t
get_u32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void
sb_put_u64(uint8_t *p, uint64_t v)
{
  put_u32(p, (uint32_t)v);
  put_u32(p + 4, (uint32_t)(v >> 32));
}

uint64_t
sb_get_u64(const uint8_t *p)
{
  return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A u16-length-prefixed string at p; returns the bytes used. */
static size_t
put_str(uint8_t *p, const char *s, size_t n)
{
  p[0] = n & 0xff;
  p[1] = (uint8_t)(n >> 8);
  memcpy(p + 2, s, n);
  return 2 + n;
}

static int
get_str(const uint8_t *p, size_t len, size_t *off, char **ret)
{
  size_t n;

  if (len - *off < 2)
    return -EPROTO;
  n = (size_t)p[*off] | (size_t)p[*off + 1] << 8;
  *off += 2;
  if (len - *off < n)
    return -EPROTO;
  *ret = malloc(n + 1);
  if (*ret == NULL)
    return -ENOMEM;
  memcpy(*ret, p + *off, n);
  (*ret)[n] = '\0';
  *off += n;
  /* A NUL inside would make the guest act on a shorter path than the host checked. */
  if (strlen(*ret) != n)
    {
      free(*ret);
      *ret = NULL;
      return -EPROTO;
    }
  return 0;
}

uint8_t *
sb_setup_encode(uint32_t flags, const char *hostname, size_t *ret_len)
{
  size_t n = hostname != NULL ? strlen(hostname) : 0;
  uint8_t *p;

  if (n > 0xffff || (p = malloc(4 + 2 + n)) == NULL)
    return NULL;
  put_u32(p, flags);
  *ret_len = 4 + put_str(p + 4, hostname != NULL ? hostname : "", n);
  return p;
}

int
sb_setup_decode(const uint8_t *p, size_t len, uint32_t *ret_flags, char **ret_hostname)
{
  size_t off = 4;
  int r;

  *ret_hostname = NULL;
  if (len < 4)
    return -EPROTO;
  *ret_flags = get_u32(p);
  r = get_str(p, len, &off, ret_hostname);
  if (r < 0)
    return r;
  /* Bytes after the hostname: malformed, and nothing handed back to free. */
  if ((*ret_hostname)[0] == '\0' || off != len)
    {
      free(*ret_hostname);
      *ret_hostname = NULL;
    }
  return off == len ? 0 : -EPROTO;
}

uint8_t *
sb_write_encode(const char *path, uint32_t mode, uint32_t flags, const void *data, size_t len, size_t *ret_len)
{
  size_t n = strlen(path), off;
  uint8_t *p;

  if (n > 0xffff || (p = malloc(8 + 2 + n + len)) == NULL)
    return NULL;
  put_u32(p, mode);
  put_u32(p + 4, flags);
  off = 8 + put_str(p + 8, path, n);
  if (len > 0)
    memcpy(p + off, data, len);
  *ret_len = off + len;
  return p;
}

int
sb_write_decode(const uint8_t *p, size_t len, sb_file_req_t *ret)
{
  size_t off = 8;
  int r;

  memset(ret, 0, sizeof *ret);
  if (len < 8)
    return -EPROTO;
  ret->mode = get_u32(p);
  ret->flags = get_u32(p + 4);
  r = get_str(p, len, &off, &ret->path);
  if (r < 0)
    return r;
  ret->data = p + off;
  ret->data_len = len - off;
  return 0;
}

uint8_t *
sb_read_encode(const char *path, uint64_t offset, uint32_t max, size_t *ret_len)
{
  size_t n = strlen(path);
  uint8_t *p;

  if (n > 0xffff || (p = malloc(12 + 2 + n)) == NULL)
    return NULL;
  sb_put_u64(p, offset);
  put_u32(p + 8, max);
  *ret_len = 12 + put_str(p + 12, path, n);
  return p;
}

int
sb_read_decode(const uint8_t *p, size_t len, sb_file_req_t *ret)
{
  size_t off = 12;
  int r;

  memset(ret, 0, sizeof *ret);
  if (len < 12)
    return -EPROTO;
  ret->offset = sb_get_u64(p);
  ret->max = get_u32(p + 8);
  r = get_str(p, len, &off, &ret->path);
  if (r < 0)
    return r;
  if (off != len)
    {
      /* Trailing bytes: malformed, and the path is not the caller's to free. */
      free(ret->path);
      ret->path = NULL;
      return -EPROTO;
    }
  return 0;
}
