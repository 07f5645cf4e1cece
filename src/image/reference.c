/* SPDX-License-Identifier: Apache-2.0 */
/* Image references, with the grammar of the distribution project's reference package and the
 * normalisation docker and podman apply to it:
 *
 *   reference   := name [ ":" tag ] [ "@" digest ]
 *   name        := [ domain "/" ] path
 *   domain      := host [ ":" port ]          host: dns labels, or "[" IPv6 "]"
 *   path        := component ( "/" component )*
 *   component   := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag         := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest      := algorithm ":" hex
 *
 * The first component is a domain when it contains '.' or ':', is "localhost", or has an
 * upper-case letter (paths never do); otherwise the domain is docker.io, and a single-component
 * docker.io path gets "library/".  The whole name is at most 255 characters. */
#include <config.h>

#include "reference.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "utils.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN  "index.docker.io"
#define DOCKER_API     "registry-1.docker.io"
#define NAME_MAX_LEN   255
#define TAG_MAX_LEN    128

static bool
is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One path component of length n: alpha-numeric runs joined by ".", "_", "__" or dashes. */
static bool
valid_component(const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
    return false;
  while (i < n)
    {
      if (is_lower_alnum(s[i]))
        {
          i++;
          continue;
        }
      /* A separator; the next character must start an alpha-numeric run. */
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return false;
      if (i >= n || !is_lower_alnum(s[i]))
        return false;
    }
  return true;
}

static bool
has_upper(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z')
      return true;
  return false;
}

static bool
valid_path(const char *s)
{
  const char *slash;

  for (;;)
    {
      slash = strchr(s, '/');
      if (!valid_component(s, slash ? (size_t)(slash - s) : strlen(s)))
        return false;
      if (slash == NULL)
        return true;
      s = slash + 1;
    }
}

/* A DNS label: alpha-numerics, dashes inside. */
static bool
valid_label(const char *s, size_t n)
{
  size_t i;

  if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
    return false;
  for (i = 0; i < n; i++)
    if (!is_alnum(s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool
valid_domain(const char *s)
{
  const char *host_end, *p;

  if (s[0] == '[')
    {
      /* An IPv6 literal: hex digits and colons (with dots for an embedded IPv4). */
      host_end = strchr(s, ']');
      if (host_end == NULL || host_end == s + 1)
        return false;
      for (p = s + 1; p < host_end; p++)
        if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
          return false;
      host_end++;
    }
  else
    {
      const char *label = s;

      host_end = s + strcspn(s, ":");
      for (p = s; p <= host_end; p++)
        if (p == host_end || *p == '.')
          {
            if (!valid_label(label, (size_t)(p - label)))
              return false;
            label = p + 1;
          }
    }
  if (*host_end == '\0')
    return true;
  if (*host_end != ':' || host_end[1] == '\0')
    return false;
  for (p = host_end + 1; *p; p++)
    if (!isdigit((unsigned char)*p))
      return false;
  return true;
}

static bool
valid_tag(const char *s)
{
  size_t i, n = strlen(s);

  if (n == 0 || n > TAG_MAX_LEN || !(is_alnum(s[0]) || s[0] == '_'))
    return false;
  for (i = 1; i < n; i++)
    if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
      return false;
  return true;
}

static bool
all_hex64(const char *s)
{
  size_t i;

  for (i = 0; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == 64;
}

static int
bad(isolazi_error_t *err, const char *text, const char *why)
{
  return isolazi_error_set(err, 0, "reference `%s`: %s", text, why);
}

int
isolazi_image_ref_parse(const char *text, isolazi_image_ref_t *ret, isolazi_error_t *err)
{
  cleanup_free char *copy = NULL;
  cleanup_free char *domain = NULL;
  cleanup_free char *path = NULL;
  char *name, *at, *tag = NULL, *digest = NULL, *last_slash, *colon, *slash;

  if (text == NULL || *text == '\0')
    return isolazi_error_set(err, 0, "reference ``: empty image reference");
  copy = xstrdup(text);
  name = copy;

  at = strchr(name, '@');
  if (at != NULL)
    {
      *at = '\0';
      digest = at + 1;
      if (strchr(digest, '@') != NULL)
        return bad(err, text, "more than one `@`");
      if (!isolazi_digest_valid(digest))
        return bad(err, text, "invalid digest (want sha256:<64 hex digits> or sha512:<128 hex digits>)");
    }
  last_slash = strrchr(name, '/');
  colon = strrchr(last_slash ? last_slash : name, ':');
  if (colon != NULL)
    {
      *colon = '\0';
      tag = colon + 1;
      if (!valid_tag(tag))
        return bad(err, text, "invalid tag (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
    }
  if (*name == '\0')
    return bad(err, text, "missing repository name");
  if (strlen(name) > NAME_MAX_LEN)
    return bad(err, text, "repository name longer than 255 characters");
  /* docker refuses a bare image ID here: it would be ambiguous with a repository name. */
  if (all_hex64(name) && tag == NULL && digest == NULL)
    return bad(err, text, "a 64-digit hexadecimal string is an image ID, not a repository name");

  slash = strchr(name, '/');
  if (slash != NULL
      && (memchr(name, '.', (size_t)(slash - name)) != NULL || memchr(name, ':', (size_t)(slash - name)) != NULL
          || (slash - name == 9 && memcmp(name, "localhost", 9) == 0) || has_upper(name, (size_t)(slash - name))))
    {
      *slash = '\0';
      if (!valid_domain(name))
        return bad(err, text, "invalid registry domain");
      domain = xstrdup(strcmp(name, LEGACY_DOMAIN) == 0 ? DEFAULT_DOMAIN : name);
      name = slash + 1;
    }
  else
    domain = xstrdup(DEFAULT_DOMAIN);

  if (has_upper(name, strlen(name)))
    return bad(err, text, "repository name must be lower-case");
  if (!valid_path(name))
    return bad(err, text,
               "invalid repository name (want lower-case components of [a-z0-9] joined by `.`, `_`, `__` or `-`, "
               "separated by `/`)");
  if (strcmp(domain, DEFAULT_DOMAIN) == 0 && strchr(name, '/') == NULL)
    path = xasprintf("library/%s", name);
  else
    path = xstrdup(name);
  if (strlen(domain) + 1 + strlen(path) > NAME_MAX_LEN)
    return bad(err, text, "repository name longer than 255 characters");

  ret->domain = steal_pointer(&domain);
  ret->path = steal_pointer(&path);
  ret->tag = xstrdup(tag ? tag : (digest ? NULL : "latest"));
  ret->digest = xstrdup(digest);
  return 0;
}

char *
isolazi_image_ref_string(const isolazi_image_ref_t *ref)
{
  return xasprintf("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                   ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

char *
isolazi_image_ref_repository(const isolazi_image_ref_t *ref)
{
  return xasprintf("%s/%s", ref->domain, ref->path);
}

const char *
isolazi_image_ref_api_host(const isolazi_image_ref_t *ref)
{
  return strcmp(ref->domain, DEFAULT_DOMAIN) == 0 ? DOCKER_API : ref->domain;
}

int
isolazi_image_ref_is_local(const isolazi_image_ref_t *ref)
{
  const char *d = ref->domain;
  size_t host_len;

  if (d[0] == '[')
    return strncmp(d, "[::1]", 5) == 0 && (d[5] == '\0' || d[5] == ':');
  host_len = strcspn(d, ":");
  if (host_len == 9 && strncmp(d, "localhost", 9) == 0)
    return 1;
  if (strncmp(d, "127.", 4) == 0)
    {
      /* Only a dotted quad: "127.example.com" is somebody's real host. */
      const char *p;
      int dots = 0;

      for (p = d; p < d + host_len; p++)
        if (*p == '.')
          dots++;
        else if (!isdigit((unsigned char)*p))
          return 0;
      return dots == 3;
    }
  return 0;
}

void
isolazi_image_ref_release(isolazi_image_ref_t *ref)
{
  if (ref == NULL)
    return;
  free(ref->domain);
  free(ref->path);
  free(ref->tag);
  free(ref->digest);
  ref->domain = ref->path = ref->tag = ref->digest = NULL;
}
