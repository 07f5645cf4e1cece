/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the sandbox payloads (src/sandbox/sbproto.c): the guest agent decodes
 * what the host sends, and the host decodes what a guest (which runs untrusted code) answers.
 * The first byte picks the decoder, the rest is the payload.  Beyond "no crash, no leak": what
 * decodes must encode again to the same bytes (SB_SETUP, SB_READ) or to the same request
 * (SB_WRITE), and a decoded path never holds a NUL. */
#include "config.h"
#include "sbproto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
  if (!ok)
    {
      fprintf(stderr, "fuzz-sandbox: %s\n", what);
      abort();
    }
}

static void
setup(const uint8_t *p, size_t len)
{
  uint32_t flags = 0;
  char *host = NULL;
  uint8_t *again;
  size_t n = 0;

  if (sb_setup_decode(p, len, &flags, &host) < 0)
    {
      check(host == NULL, "SB_SETUP: a failed decode left a hostname");
      return;
    }
  again = sb_setup_encode(flags, host, &n);
  check(again != NULL, "SB_SETUP: does not encode again");
  /* An empty hostname decodes to NULL and encodes as the empty string: the same bytes. */
  check(n == len && memcmp(again, p, len) == 0, "SB_SETUP: does not round-trip");
  free(again);
  free(host);
}

static void
write_req(const uint8_t *p, size_t len)
{
  sb_file_req_t r, r2;
  uint8_t *again;
  size_t n = 0;

  if (sb_write_decode(p, len, &r) < 0)
    {
      check(r.path == NULL, "SB_WRITE: a failed decode left a path");
      return;
    }
  check(r.data_len == 0 || (r.data >= p && r.data + r.data_len == p + len), "SB_WRITE: data outside the payload");
  again = sb_write_encode(r.path, r.mode, r.flags, r.data, r.data_len, &n);
  check(again != NULL, "SB_WRITE: does not encode again");
  check(n == len && memcmp(again, p, len) == 0, "SB_WRITE: does not round-trip");
  check(sb_write_decode(again, n, &r2) == 0 && strcmp(r.path, r2.path) == 0 && r.mode == r2.mode && r.flags == r2.flags
            && r.data_len == r2.data_len,
        "SB_WRITE: re-encoded request decodes differently");
  free(r2.path);
  free(again);
  free(r.path);
}

static void
read_req(const uint8_t *p, size_t len)
{
  sb_file_req_t r;
  uint8_t *again;
  size_t n = 0;

  if (sb_read_decode(p, len, &r) < 0)
    {
      check(r.path == NULL, "SB_READ: a failed decode left a path");
      return;
    }
  again = sb_read_encode(r.path, r.offset, r.max, &n);
  check(again != NULL, "SB_READ: does not encode again");
  check(n == len && memcmp(again, p, len) == 0, "SB_READ: does not round-trip");
  free(again);
  free(r.path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t *copy;

  if (size < 1)
    return 0;
  /* A copy of exactly the payload's size, so that ASan sees any read past its end. */
  copy = malloc(size - 1 ? size - 1 : 1);
  if (copy == NULL)
    return 0;
  memcpy(copy, data + 1, size - 1);
  switch (data[0] % 3)
    {
    case 0:
      setup(copy, size - 1);
      break;
    case 1:
      write_req(copy, size - 1);
      break;
    default:
      read_req(copy, size - 1);
      break;
    }
  free(copy);
  return 0;
}
