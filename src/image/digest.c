/* SPDX-License-Identifier: Apache-2.0 */
/* Digests through libcrypto's EVP interface: no home-made hash functions. */
#include <config.h>

#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct isolazi_hasher
{
  EVP_MD_CTX *ctx;
  const char *name;
};

static const EVP_MD *
algorithm_md(const char *algorithm, size_t *ret_hexlen)
{
  if (algorithm == NULL || strcmp(algorithm, "sha256") == 0)
    {
      *ret_hexlen = 64;
      return EVP_sha256();
    }
  if (strcmp(algorithm, "sha512") == 0)
    {
      *ret_hexlen = 128;
      return EVP_sha512();
    }
  return NULL;
}

isolazi_hasher_t *
isolazi_hasher_new(const char *algorithm, isolazi_error_t *err)
{
  size_t hexlen;
  const EVP_MD *md = algorithm_md(algorithm, &hexlen);
  isolazi_hasher_t *h;

  if (md == NULL)
    {
      isolazi_error_set(err, 0, "unsupported digest algorithm `%s`", algorithm);
      return NULL;
    }
  h = calloc(1, sizeof(*h));
  if (h == NULL)
    {
      isolazi_error_errno(err, "allocate a hasher");
      return NULL;
    }
  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1)
    {
      isolazi_hasher_free(h);
      isolazi_error_set(err, ENOMEM, "initialise %s", algorithm ? algorithm : "sha256");
      return NULL;
    }
  h->name = algorithm ? (strcmp(algorithm, "sha512") == 0 ? "sha512" : "sha256") : "sha256";
  return h;
}

isolazi_hasher_t *
isolazi_hasher_for(const char *digest, isolazi_error_t *err)
{
  const char *colon = digest ? strchr(digest, ':') : NULL;
  char alg[16];
  size_t n;

  if (colon == NULL || (n = (size_t)(colon - digest)) == 0 || n >= sizeof(alg))
    {
      isolazi_error_set(err, 0, "invalid digest `%s`", digest ? digest : "");
      return NULL;
    }
  memcpy(alg, digest, n);
  alg[n] = '\0';
  return isolazi_hasher_new(alg, err);
}

void
isolazi_hasher_update(isolazi_hasher_t *h, const void *buf, size_t len)
{
  /* EVP_DigestUpdate only fails on a context that was never initialised. */
  (void)EVP_DigestUpdate(h->ctx, buf, len);
}

void
isolazi_hasher_final(isolazi_hasher_t *h, char out[ISOLAZI_DIGEST_MAX])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0, i;
  size_t off;

  (void)EVP_DigestFinal_ex(h->ctx, md, &len);
  off = (size_t)snprintf(out, ISOLAZI_DIGEST_MAX, "%s:", h->name);
  for (i = 0; i < len && off + 2 < ISOLAZI_DIGEST_MAX; i++)
    {
      out[off++] = hex[md[i] >> 4];
      out[off++] = hex[md[i] & 0xf];
    }
  out[off] = '\0';
}

void
isolazi_hasher_free(isolazi_hasher_t *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

bool
isolazi_digest_valid(const char *digest)
{
  const char *colon = digest ? strchr(digest, ':') : NULL;
  char alg[16];
  size_t n, hexlen, i;

  if (colon == NULL || (n = (size_t)(colon - digest)) == 0 || n >= sizeof(alg))
    return false;
  memcpy(alg, digest, n);
  alg[n] = '\0';
  if (algorithm_md(alg, &hexlen) == NULL || strlen(colon + 1) != hexlen)
    return false;
  for (i = 0; i < hexlen; i++)
    {
      char c = colon[1 + i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return false;
    }
  return true;
}

int
isolazi_digest_check(const char *digest, const char *what, isolazi_error_t *err)
{
  if (isolazi_digest_valid(digest))
    return 0;
  return isolazi_error_set(err, 0, "%s: invalid digest `%s` (want sha256:<64 hex digits> or sha512:<128 hex digits>)",
                           what, digest ? digest : "");
}

const char *
isolazi_digest_hex(const char *digest)
{
  const char *colon = strchr(digest, ':');
  return colon ? colon + 1 : digest;
}

int
isolazi_digest_buffer(const char *algorithm, const void *buf, size_t len, char out[ISOLAZI_DIGEST_MAX],
                      isolazi_error_t *err)
{
  isolazi_hasher_t *h = isolazi_hasher_new(algorithm, err);

  if (h == NULL)
    return -1;
  isolazi_hasher_update(h, buf, len);
  isolazi_hasher_final(h, out);
  isolazi_hasher_free(h);
  return 0;
}

int
isolazi_digest_fd(const char *algorithm, int fd, char out[ISOLAZI_DIGEST_MAX], isolazi_error_t *err)
{
  isolazi_hasher_t *h = isolazi_hasher_new(algorithm, err);
  char buf[65536];
  ssize_t n;

  if (h == NULL)
    return -1;
  for (;;)
    {
      n = read(fd, buf, sizeof(buf));
      if (n == 0)
        break;
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          isolazi_hasher_free(h);
          return isolazi_error_errno(err, "read for digest");
        }
      isolazi_hasher_update(h, buf, (size_t)n);
    }
  isolazi_hasher_final(h, out);
  isolazi_hasher_free(h);
  return 0;
}
