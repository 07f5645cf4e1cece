/* SPDX-License-Identifier: Apache-2.0 */
/* The registry API v2 client (distribution-spec, "pull" section; the docker token
 * authentication spec).  One engine serves every request: a transfer is an easy handle in the
 * registry's curl multi handle, and when it ends the engine decides what comes next: done,
 * follow a redirect (ourselves, so that Authorization never reaches another host), get a token
 * and try again after a 401, wait and retry after a 429, a 5xx or a cut connection (resuming
 * blobs with Range), or fail with the registry's own error text. */
#include <config.h>

#include "registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "certs.h"
#include "cleanup.h"
#include "digest.h"
#include "json.h"
#include "utils.h"

#define ERRBODY_MAX        (64 << 10) /* what we keep of an error response */
#define TOKEN_BODY_MAX     (1 << 20)  /* a token response */
#define PING_BODY_MAX      (64 << 10)
#define REDIRECTS_MAX      10
#define BACKOFF_MAX_MS     30000L
#define RETRY_AFTER_MAX_MS 60000L
#define PROGRESS_EVERY_MS  100
/* A connection that moves less than LOW_SPEED_BYTES per second for LOW_SPEED_SECONDS is cut
 * and retried (resumed). */
#define CONNECT_TIMEOUT_SECONDS 30L
#define LOW_SPEED_BYTES         1L
#define LOW_SPEED_SECONDS       60L
/* Tokens without expires_in live 60 s (token spec); we stop using them a little earlier. */
#define TOKEN_DEFAULT_SECONDS 60
#define TOKEN_MARGIN_SECONDS  5

#define MANIFEST_ACCEPT                                                                                                \
  "Accept: " ISOLAZI_MEDIA_OCI_INDEX ", " ISOLAZI_MEDIA_OCI_MANIFEST ", " ISOLAZI_MEDIA_DOCKER_LIST                    \
  ", " ISOLAZI_MEDIA_DOCKER_MANIFEST

enum auth_scheme
{
  AUTH_NONE,
  AUTH_BASIC,
  AUTH_BEARER,
};

typedef struct token
{
  char *scope;
  char *value;
  long long expires_ms; /* monotonic */
  unsigned gen;
} token_t;

struct isolazi_registry
{
  char *host;   /* where the API is served: URLs and credentials */
  char *domain; /* the reference's ("docker.io"): its certs.d directory */
  char *repo;   /* NULL for a login check */
  char *name;   /* "host/repo" (or "host"), for messages */
  char *scope;  /* "repository:<repo>:pull" */
  char *origin; /* "https://host" or "http://host", once pinged */
  bool pinged;
  bool tls_verify;
  int parallel;
  int max_retries;
  long retry_base_ms;
  isolazi_registry_progress_fn progress;
  void *progress_data;
  isolazi_credentials_t creds;
  isolazi_registry_certs_t certs;
  enum auth_scheme scheme;
  char *realm, *service;
  token_t *tokens;
  size_t ntokens;
  unsigned gen;
  CURLM *multi;
};

typedef enum
{
  X_QUEUED,
  X_ACTIVE,
  X_DONE,
} xfer_state_t;

typedef struct xfer
{
  isolazi_registry_t *r;
  char *ctx;       /* "fetch blob `sha256:...` from `host/repo`": every error starts with it */
  char *path;      /* "/v2/..." */
  char *url;       /* the registry's, or where a redirect sent us */
  bool off_origin; /* redirected to another scheme, host or port: no Authorization */
  bool ping;       /* GET /v2/: a 401 is an answer */
  bool no_auth;
  bool no_range;
  const char *accept;
  int redirects;
  int attempts;
  bool auth_refreshed;
  unsigned gen_sent;

  /* sink: an fd (blobs), else memory */
  int fd;
  char *buf;
  size_t len, cap, max;
  isolazi_hasher_t *hasher;
  const char *digest; /* what the content must hash to; NULL: no check */
  int64_t size;       /* what it must measure; -1: unknown */
  int64_t offset;     /* bytes in the sink and the hasher before this response */
  int64_t got;        /* bytes of this response in the sink */
  bool had_prefix;    /* started from bytes a previous pull left */
  char computed[ISOLAZI_DIGEST_MAX];

  /* response */
  long status;
  char reason[64];
  char *content_type, *location, *retry_after, *www_auth, *content_range, *docker_digest;
  int64_t content_length;
  bool body_seen, body_to_sink, restart, fatal, tls_error;
  char *errbody;
  size_t errlen;

  CURL *easy;
  struct curl_slist *headers;
  char errbuf[CURL_ERROR_SIZE];
  long long start_at;
  long long last_progress;
  xfer_state_t state;
  int result;
  isolazi_error_t error;
} xfer_t;

/* ---- small helpers -------------------------------------------------------------------------- */

static long long
mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
cleanup_curlp(char **p)
{
  curl_free(*p);
}
#define cleanup_curl __attribute__((cleanup(cleanup_curlp)))

/* Docker Hub's API is not served from its name. */
static const char *
api_host(const char *domain)
{
  if (strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0)
    return "registry-1.docker.io";
  return domain;
}

static bool
valid_repository(const char *p)
{
  if (p == NULL || p[0] == '\0' || p[0] == '/' || strlen(p) > 255)
    return false;
  for (; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' || *p == '/'))
      return false;
  return true;
}

/* A tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (distribution-spec). */
static bool
valid_tag(const char *t)
{
  size_t i;

  if (t == NULL || t[0] == '\0' || t[0] == '.' || t[0] == '-' || strlen(t) > 128)
    return false;
  for (i = 0; t[i]; i++)
    if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
      return false;
  return true;
}

/* The registry's error document: {"errors": [{"code": "...", "message": "..."}]} →
 * "CODE: message; CODE: message".  NULL when the body is not one. */
static char *
registry_errors(const char *body, size_t len)
{
  cleanup_json json_value *doc = NULL;
  const json_value *errors;
  char *out = NULL;
  size_t i;

  if (body == NULL || len == 0)
    return NULL;
  doc = json_parse(body, len, NULL);
  errors = doc ? json_object_get(doc, "errors") : NULL;
  for (i = 0; i < json_array_len(errors) && i < 4; i++)
    {
      const json_value *e = json_array_get(errors, i);
      const char *code = json_get_string(json_object_get(e, "code"));
      const char *msg = json_get_string(json_object_get(e, "message"));
      char *item, *joined;

      if (code == NULL && msg == NULL)
        continue;
      item = xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
      joined = out ? xasprintf("%s; %s", out, item) : xstrdup(item);
      free(item);
      free(out);
      out = joined;
    }
  return out;
}

/* "HTTP 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)" */
static char *
status_text(const xfer_t *x)
{
  cleanup_free char *errors = registry_errors(x->errbody, x->errlen);

  return xasprintf("HTTP %ld%s%s%s%s%s", x->status, x->reason[0] ? " " : "", x->reason, errors ? " (" : "",
                   errors ? errors : "", errors ? ")" : "");
}

/* Every fd of ours is close-on-exec, curl's sockets too. */
static curl_socket_t
open_socket(void *data, curlsocktype purpose, struct curl_sockaddr *a)
{
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* libcurl's SSL context callback: the certs.d CA certificates join the system's. */
static CURLcode
trust_certs(CURL *e, void *ssl_ctx, void *data)
{
  isolazi_registry_t *r = data;

  return isolazi_registry_certs_trust(&r->certs, ssl_ctx) < 0 ? CURLE_SSL_CACERT_BADFILE : CURLE_OK;
}

static void
easy_common(isolazi_registry_t *r, CURL *e, char *errbuf)
{
  static const char *ua = "isolazi/" PACKAGE_VERSION;

  (void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  (void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  (void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  (void)curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  (void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  (void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  (void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SECONDS);
  (void)curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
  (void)curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
  (void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  (void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
  (void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
  if (r->certs.ncas > 0 && r->tls_verify)
    {
      (void)curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, trust_certs);
      (void)curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, r);
    }
  if (r->certs.client_cert != NULL)
    {
      (void)curl_easy_setopt(e, CURLOPT_SSLCERT, r->certs.client_cert);
      (void)curl_easy_setopt(e, CURLOPT_SSLKEY, r->certs.client_key);
    }
  (void)curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
  (void)curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  errbuf[0] = '\0';
  (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
}

/* A TLS alert from the peer ("alert bad certificate", "alert certificate required", "alert
 * unknown ca"): the server refused the handshake, and asking again will not change its mind. */
static bool
tls_alert(const char *errbuf)
{
  return strstr(errbuf, " alert ") != NULL;
}

/* The text of a transport error, with the hint a plain-HTTP registry needs. */
static char *
curl_text(isolazi_registry_t *r, CURLcode code, const char *errbuf, const char *url)
{
  const char *t = errbuf[0] ? errbuf : curl_easy_strerror(code);

  if (code == CURLE_SSL_CONNECT_ERROR && isolazi_has_prefix(url, "https://") && strstr(t, "wrong version number"))
    return xasprintf("the server gave an HTTP response to an HTTPS client (%s); for a plain-HTTP registry use "
                     "--tls-verify=false",
                     t);
  if (tls_alert(t)
      && (strstr(t, "certificate required") != NULL || strstr(t, "bad certificate") != NULL
          || strstr(t, "handshake failure") != NULL))
    return xasprintf("%s (TLS); if the registry asks for a client certificate, put NAME.cert and NAME.key in "
                     "%s",
                     t, r->certs.dir ? r->certs.dir : "its certs.d directory (or use --cert-dir)");
  if ((code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR) && r->tls_verify)
    {
      cleanup_free char *dir = r->certs.dir ? xstrdup(r->certs.dir)
                                            : xasprintf("/etc/containers/certs.d/%s (or use --cert-dir)", r->domain);
      return xasprintf("%s (TLS); to trust the registry's CA put it in a *.crt file in %s; for a registry without a "
                       "trusted certificate use --tls-verify=false",
                       t, dir);
    }
  return xstrdup(t);
}

static bool
curl_retryable(CURLcode code, const char *errbuf)
{
  if (tls_alert(errbuf))
    return false;
  switch (code)
    {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

static bool
status_retryable(long status)
{
  return status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505);
}

/* ---- exposed helpers ------------------------------------------------------------------------ */

isolazi_manifest_kind_t
isolazi_registry_manifest_kind(const char *media_type)
{
  static const struct
  {
    const char *type;
    isolazi_manifest_kind_t kind;
  } known[] = {
    { ISOLAZI_MEDIA_OCI_INDEX, ISOLAZI_MANIFEST_INDEX },
    { ISOLAZI_MEDIA_DOCKER_LIST, ISOLAZI_MANIFEST_INDEX },
    { ISOLAZI_MEDIA_OCI_MANIFEST, ISOLAZI_MANIFEST_IMAGE },
    { ISOLAZI_MEDIA_DOCKER_MANIFEST, ISOLAZI_MANIFEST_IMAGE },
  };
  size_t n, i;

  if (media_type == NULL)
    return ISOLAZI_MANIFEST_UNKNOWN;
  while (*media_type == ' ' || *media_type == '\t')
    media_type++;
  n = strcspn(media_type, "; \t");
  for (i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strlen(known[i].type) == n && strncasecmp(known[i].type, media_type, n) == 0)
      return known[i].kind;
  return ISOLAZI_MANIFEST_UNKNOWN;
}

void
isolazi_auth_challenges_free(isolazi_auth_challenge_t *c, size_t n)
{
  size_t i;

  if (c == NULL)
    return;
  for (i = 0; i < n; i++)
    {
      free(c[i].scheme);
      free(c[i].realm);
      free(c[i].service);
      free(c[i].scope);
      free(c[i].error);
    }
  free(c);
}

static bool
is_tchar(char c)
{
  return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token68_char(char c)
{
  return isalnum((unsigned char)c) || (c != '\0' && strchr("-._~+/", c) != NULL);
}

static const char *
skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* RFC 7235 section 4.1:
 *   WWW-Authenticate = 1#challenge
 *   challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 * Commas separate both challenges and parameters: a name followed by "=" is a parameter of the
 * current challenge, anything else starts a new one. */
int
isolazi_registry_parse_challenges(const char *header, isolazi_auth_challenge_t **ret, size_t *ret_n,
                                  isolazi_error_t *err)
{
  isolazi_auth_challenge_t *c = NULL, *cur = NULL;
  size_t n = 0;
  const char *p = header ? header : "";

  *ret = NULL;
  *ret_n = 0;
  for (;;)
    {
      const char *name, *q;
      size_t name_len;

      while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
      if (*p == '\0')
        break;
      name = p;
      while (is_tchar(*p))
        p++;
      name_len = (size_t)(p - name);
      if (name_len == 0)
        {
          isolazi_auth_challenges_free(c, n);
          return isolazi_error_set_plain(err, EINVAL, "parse WWW-Authenticate `%s`: unexpected `%c` at offset %zu",
                                         header, *p, (size_t)(p - header));
        }
      q = skip_ws(p);
      if (cur != NULL && *q == '=' && *skip_ws(q + 1) != '=' && *skip_ws(q + 1) != ',' && *skip_ws(q + 1) != '\0')
        {
          /* auth-param */
          char *value;
          char **slot = NULL;

          p = skip_ws(q + 1);
          if (*p == '"')
            {
              size_t vlen = 0;
              p++;
              value = xmalloc(strlen(p) + 1);
              while (*p != '"')
                {
                  if (*p == '\0')
                    {
                      free(value);
                      isolazi_auth_challenges_free(c, n);
                      return isolazi_error_set_plain(err, EINVAL,
                                                     "parse WWW-Authenticate `%s`: unterminated quoted string", header);
                    }
                  if (*p == '\\' && p[1] != '\0')
                    p++;
                  value[vlen++] = *p++;
                }
              value[vlen] = '\0';
              p++;
            }
          else
            {
              const char *v = p;
              while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
                p++;
              value = xasprintf("%.*s", (int)(p - v), v);
            }
          if (name_len == 5 && strncasecmp(name, "realm", 5) == 0)
            slot = &cur->realm;
          else if (name_len == 7 && strncasecmp(name, "service", 7) == 0)
            slot = &cur->service;
          else if (name_len == 5 && strncasecmp(name, "scope", 5) == 0)
            slot = &cur->scope;
          else if (name_len == 5 && strncasecmp(name, "error", 5) == 0)
            slot = &cur->error;
          if (slot != NULL)
            {
              free(*slot);
              *slot = value;
            }
          else
            free(value);
          continue;
        }
      /* A new challenge. */
      c = xrealloc(c, (n + 1) * sizeof(*c));
      cur = &c[n++];
      memset(cur, 0, sizeof(*cur));
      cur->scheme = xasprintf("%.*s", (int)name_len, name);
      for (char *s = cur->scheme; *s; s++)
        *s = (char)tolower((unsigned char)*s);
      /* token68 ("Negotiate abc==") right after the scheme: skip it. */
      q = skip_ws(p);
      if (q != p && is_token68_char(*q))
        {
          const char *t = q;
          while (is_token68_char(*t))
            t++;
          while (*t == '=')
            t++;
          t = skip_ws(t);
          if (*t == ',' || *t == '\0')
            {
              const char *eq = q;
              while (is_tchar(*eq))
                eq++;
              /* "name=value" is a parameter, not a token68. */
              if (!(*skip_ws(eq) == '=' && *skip_ws(skip_ws(eq) + 1) != '=' && *skip_ws(skip_ws(eq) + 1) != ','
                    && *skip_ws(skip_ws(eq) + 1) != '\0'))
                p = t;
            }
        }
    }
  *ret = c;
  *ret_n = n;
  return (int)n;
}

long
isolazi_registry_backoff_ms(const isolazi_registry_opts_t *opts, int attempt, const char *retry_after, long long now)
{
  long base = opts != NULL && opts->retry_base_ms > 0 ? opts->retry_base_ms : 200;
  long ms = base;
  int i;

  if (retry_after != NULL && retry_after[0] != '\0')
    {
      char *end;
      long long secs;

      errno = 0;
      secs = strtoll(retry_after, &end, 10);
      if (errno == 0 && end != retry_after && *skip_ws(end) == '\0' && secs >= 0)
        return secs * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : (long)(secs * 1000);
      secs = (long long)curl_getdate(retry_after, NULL);
      if (secs >= 0)
        {
          secs -= now;
          if (secs < 0)
            secs = 0;
          return secs * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : (long)(secs * 1000);
        }
    }
  for (i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
    ms *= 2;
  return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

static long
backoff(isolazi_registry_t *r, int attempt, const char *retry_after)
{
  isolazi_registry_opts_t o = { .retry_base_ms = r->retry_base_ms };

  return isolazi_registry_backoff_ms(&o, attempt, retry_after, (long long)time(NULL));
}

/* ---- tokens --------------------------------------------------------------------------------- */

static token_t *
token_find(isolazi_registry_t *r, const char *scope)
{
  size_t i;

  for (i = 0; i < r->ntokens; i++)
    if (strcmp(r->tokens[i].scope, scope ? scope : "") == 0)
      return &r->tokens[i];
  return NULL;
}

static size_t
token_body(char *buf, size_t size, size_t n, void *data)
{
  xfer_t *x = data;
  size_t len = size * n;

  if (x->len + len > x->max)
    return 0;
  if (x->len + len + 1 > x->cap)
    {
      x->cap = x->len + len + 1 + 4096;
      x->buf = xrealloc(x->buf, x->cap);
    }
  memcpy(x->buf + x->len, buf, len);
  x->len += len;
  x->buf[x->len] = '\0';
  return len;
}

static size_t
token_header(char *buf, size_t size, size_t n, void *data)
{
  xfer_t *x = data;
  size_t len = size * n;

  if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0)
    {
      free(x->retry_after);
      x->retry_after = xasprintf("%.*s", (int)(len - 12), buf + 12);
      x->retry_after[strcspn(x->retry_after, "\r\n")] = '\0';
      memmove(x->retry_after, skip_ws(x->retry_after), strlen(skip_ws(x->retry_after)) + 1);
    }
  return len;
}

static void
sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Get a token for `scope` (NULL: none, as login does) from the realm, with the credentials we
 * have: a GET with Basic auth, or an OAuth2 refresh-token POST for an identity token. */
static int
token_fetch(isolazi_registry_t *r, const char *scope, const char *fetch_scope, isolazi_error_t *err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *post = NULL;
  cleanup_free char *realm_shown = NULL;
  cleanup_json json_value *doc = NULL;
  const char *tok;
  int64_t expires = TOKEN_DEFAULT_SECONDS;
  xfer_t x;
  long status = 0;
  int attempt;
  token_t *t;

  if (r->realm == NULL)
    return isolazi_error_set(err, 0, "get a token from `%s`: the registry named no token realm", r->host);
  if (!isolazi_has_prefix(r->realm, "https://") && !isolazi_has_prefix(r->realm, "http://"))
    return isolazi_error_set(err, 0, "get a token from `%s`: the token realm is not an http(s) URL", r->host);
  realm_shown = xasprintf("%.*s", (int)strcspn(r->realm, "?#"), r->realm);

  memset(&x, 0, sizeof(x));
  x.max = TOKEN_BODY_MAX;
  for (attempt = 0;; attempt++)
    {
      cleanup_curl char *svc = NULL;
      cleanup_curl char *sc = NULL;
      struct curl_slist *hdrs = NULL;
      char errbuf[CURL_ERROR_SIZE];
      CURL *e = curl_easy_init();
      CURLcode code;

      if (e == NULL)
        return isolazi_error_set(err, ENOMEM, "get a token from `%s`: curl_easy_init", realm_shown);
      cleanup_free char *query = NULL;

      svc = r->service ? curl_easy_escape(e, r->service, 0) : NULL;
      sc = fetch_scope ? curl_easy_escape(e, fetch_scope, 0) : NULL;
      query = xasprintf("%s%s%s%s%s", svc ? "service=" : "", svc ? svc : "", svc && sc ? "&" : "", sc ? "scope=" : "",
                        sc ? sc : "");
      free(url);
      free(post);
      url = NULL;
      post = NULL;
      if (r->creds.identity_token != NULL)
        {
          /* OAuth2 refresh-token grant (the token spec's oauth.md). */
          cleanup_curl char *rt = curl_easy_escape(e, r->creds.identity_token, 0);
          url = xstrdup(r->realm);
          post = xasprintf("grant_type=refresh_token&client_id=isolazi&refresh_token=%s%s%s", rt ? rt : "",
                           query[0] ? "&" : "", query);
          if (rt != NULL)
            explicit_bzero(rt, strlen(rt));
        }
      else
        {
          url = query[0] ? xasprintf("%s%c%s", r->realm, strchr(r->realm, '?') ? '&' : '?', query) : xstrdup(r->realm);
          if (r->creds.username != NULL && r->creds.password != NULL)
            {
              cleanup_free char *up = xasprintf("%s:%s", r->creds.username, r->creds.password);
              cleanup_free char *b = isolazi_auth_base64(up);
              cleanup_free char *h = xasprintf("Authorization: Basic %s", b);
              hdrs = curl_slist_append(hdrs, h);
              explicit_bzero(up, strlen(up));
              explicit_bzero(h, strlen(h));
            }
        }
      x.len = 0;
      free(x.retry_after);
      x.retry_after = NULL;
      easy_common(r, e, errbuf);
      (void)curl_easy_setopt(e, CURLOPT_URL, url);
      if (post != NULL)
        (void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
      (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
      (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, token_body);
      (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
      (void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, token_header);
      (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
      code = curl_easy_perform(e);
      status = 0;
      (void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_cleanup(e);
      curl_slist_free_all(hdrs);
      if (post != NULL)
        explicit_bzero(post, strlen(post));
      if (code == CURLE_OK && status == 200)
        break;
      if (attempt < r->max_retries && (code == CURLE_OK ? status_retryable(status) : curl_retryable(code, errbuf)))
        {
          sleep_ms(backoff(r, attempt, x.retry_after));
          continue;
        }
      free(x.retry_after);
      if (code != CURLE_OK)
        {
          cleanup_free char *text = curl_text(r, code, errbuf, url);
          free(x.buf);
          return isolazi_error_set(err, 0, "get a token from `%s`: %s", realm_shown, text);
        }
      {
        cleanup_free char *errors = registry_errors(x.buf, x.len);
        bool creds = r->creds.username != NULL || r->creds.identity_token != NULL;
        int rc;

        if (status == 401 || status == 403)
          rc = isolazi_error_set_plain(err, EACCES, "get a token from `%s`: HTTP %ld%s%s%s: %s", realm_shown, status,
                                       errors ? " (" : "", errors ? errors : "", errors ? ")" : "",
                                       creds ? "the credentials were refused (wrong user name or password?)"
                                             : "anonymous access refused (log in first)");
        else
          rc = isolazi_error_set(err, 0, "get a token from `%s`: HTTP %ld%s%s%s", realm_shown, status,
                                 errors ? " (" : "", errors ? errors : "", errors ? ")" : "");
        free(x.buf);
        return rc;
      }
    }
  free(x.retry_after);

  doc = json_parse(x.buf ? x.buf : "", x.len, NULL);
  free(x.buf);
  tok = json_get_string(json_object_get(doc, "token"));
  if (tok == NULL || tok[0] == '\0')
    tok = json_get_string(json_object_get(doc, "access_token"));
  if (tok == NULL || tok[0] == '\0')
    return isolazi_error_set(err, 0, "get a token from `%s`: the response has no `token` or `access_token`",
                             realm_shown);
  if (!json_get_int64(json_object_get(doc, "expires_in"), &expires) || expires < TOKEN_DEFAULT_SECONDS)
    expires = TOKEN_DEFAULT_SECONDS;
  if (expires > 24 * 3600)
    expires = 24 * 3600;

  t = token_find(r, scope);
  if (t == NULL)
    {
      r->tokens = xrealloc(r->tokens, (r->ntokens + 1) * sizeof(*r->tokens));
      t = &r->tokens[r->ntokens++];
      t->scope = xstrdup(scope ? scope : "");
      t->value = NULL;
    }
  free(t->value);
  t->value = xstrdup(tok);
  t->expires_ms = mono_ms() + (expires - TOKEN_MARGIN_SECONDS) * 1000;
  t->gen = ++r->gen;
  return 0;
}

/* ---- transfers ------------------------------------------------------------------------------ */

/* End the transfer with an error: "<ctx>: <text>"; with_cause adds the errno's text. */
static int xfail_va(xfer_t *x, int errnum, bool with_cause, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int
xfail_va(xfer_t *x, int errnum, bool with_cause, const char *fmt, va_list ap)
{
  cleanup_free char *text = NULL;

  if (vasprintf(&text, fmt, ap) < 0)
    text = NULL;
  if (with_cause)
    isolazi_error_set(&x->error, errnum, "%s: %s", x->ctx, text ? text : "out of memory");
  else
    isolazi_error_take(&x->error, errnum, xasprintf("%s: %s", x->ctx, text ? text : "out of memory"));
  x->result = -1;
  x->state = X_DONE;
  return -1;
}

/* The text says it all. */
static int xfail(xfer_t *x, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
xfail(xfer_t *x, int errnum, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  xfail_va(x, errnum, false, fmt, ap);
  va_end(ap);
  return -1;
}

/* A failed system call: the errno's text ends the message. */
static int xfail_sys(xfer_t *x, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
xfail_sys(xfer_t *x, int errnum, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  xfail_va(x, errnum, true, fmt, ap);
  va_end(ap);
  return -1;
}

static void
response_reset(xfer_t *x)
{
  x->status = 0;
  x->reason[0] = '\0';
  free(x->content_type);
  free(x->location);
  free(x->retry_after);
  free(x->www_auth);
  free(x->content_range);
  free(x->docker_digest);
  x->content_type = x->location = x->retry_after = x->www_auth = x->content_range = x->docker_digest = NULL;
  x->content_length = -1;
  x->body_seen = x->body_to_sink = x->restart = x->fatal = x->tls_error = false;
  free(x->errbody);
  x->errbody = NULL;
  x->errlen = 0;
  x->got = 0;
}

static xfer_t *
xfer_new(isolazi_registry_t *r, char *ctx, char *path)
{
  xfer_t *x = xcalloc(1, sizeof(*x));

  x->r = r;
  x->ctx = ctx;
  x->path = path;
  x->fd = -1;
  x->size = -1;
  x->content_length = -1;
  x->state = X_QUEUED;
  return x;
}

static void
xfer_free(xfer_t *x)
{
  if (x == NULL)
    return;
  response_reset(x);
  if (x->easy != NULL)
    {
      (void)curl_multi_remove_handle(x->r->multi, x->easy);
      curl_easy_cleanup(x->easy);
    }
  curl_slist_free_all(x->headers);
  isolazi_hasher_free(x->hasher);
  isolazi_error_release(&x->error);
  free(x->buf);
  free(x->ctx);
  free(x->path);
  free(x->url);
  free(x);
}

static void
cleanup_xferp(xfer_t **x)
{
  xfer_free(*x);
}
#define cleanup_xfer __attribute__((cleanup(cleanup_xferp)))

/* Empty the sink and start hashing again from byte 0. */
static int
sink_reset(xfer_t *x)
{
  isolazi_error_t herr = ISOLAZI_ERROR_INIT;

  if (x->fd >= 0 && ftruncate(x->fd, 0) < 0)
    return xfail_sys(x, errno, "truncate the download");
  x->len = 0;
  x->offset = 0;
  x->got = 0;
  x->had_prefix = false;
  if (x->digest != NULL || x->hasher != NULL)
    {
      isolazi_hasher_free(x->hasher);
      x->hasher = x->digest ? isolazi_hasher_for(x->digest, &herr) : isolazi_hasher_new(NULL, &herr);
      if (x->hasher == NULL)
        {
          xfail(x, herr.code, "%s", herr.msg);
          isolazi_error_release(&herr);
          return -1;
        }
    }
  return 0;
}

static void
progress(xfer_t *x, bool force)
{
  isolazi_registry_t *r = x->r;
  long long now;
  int64_t total;

  if (r->progress == NULL || x->fd < 0 || x->digest == NULL)
    return;
  now = mono_ms();
  if (!force && now - x->last_progress < PROGRESS_EVERY_MS)
    return;
  x->last_progress = now;
  total = x->size >= 0 ? x->size : x->content_length >= 0 ? x->offset + x->content_length : -1;
  r->progress(r->progress_data, x->digest, x->offset + x->got, total);
}

static size_t
on_header(char *buf, size_t size, size_t n, void *data)
{
  xfer_t *x = data;
  size_t len = size * n, nlen;
  cleanup_free char *line = xasprintf("%.*s", (int)len, buf);
  char *colon, *value, **slot = NULL;

  line[strcspn(line, "\r\n")] = '\0';
  if (isolazi_has_prefix(line, "HTTP/"))
    {
      char *sp = strchr(line, ' ');
      response_reset(x);
      if (sp != NULL)
        {
          x->status = strtol(sp + 1, &sp, 10);
          snprintf(x->reason, sizeof x->reason, "%s", skip_ws(sp));
        }
      return len;
    }
  colon = strchr(line, ':');
  if (colon == NULL)
    return len;
  nlen = (size_t)(colon - line);
  value = (char *)skip_ws(colon + 1);
  for (char *end = value + strlen(value); end > value && (end[-1] == ' ' || end[-1] == '\t'); end--)
    end[-1] = '\0';
#define IS(h) (nlen == sizeof(h) - 1 && strncasecmp(line, h, nlen) == 0)
  if (IS("content-type"))
    slot = &x->content_type;
  else if (IS("location"))
    slot = &x->location;
  else if (IS("retry-after"))
    slot = &x->retry_after;
  else if (IS("content-range"))
    slot = &x->content_range;
  else if (IS("docker-content-digest"))
    slot = &x->docker_digest;
  else if (IS("content-length"))
    {
      char *end;
      long long v;
      errno = 0;
      v = strtoll(value, &end, 10);
      if (errno == 0 && end != value && *end == '\0' && v >= 0)
        x->content_length = v;
    }
  else if (IS("www-authenticate"))
    {
      /* Several header lines are one comma-separated list (RFC 7230 section 3.2.2). */
      char *joined = x->www_auth ? xasprintf("%s, %s", x->www_auth, value) : xstrdup(value);
      free(x->www_auth);
      x->www_auth = joined;
    }
#undef IS
  if (slot != NULL)
    {
      free(*slot);
      *slot = xstrdup(value);
    }
  return len;
}

/* The first byte of a body (or the end of an empty one): where does it go? */
static int
body_begin(xfer_t *x)
{
  x->body_seen = true;
  if (x->status == 200)
    {
      if (x->offset > 0 && sink_reset(x) < 0) /* the server ignored our Range: start over */
        return -1;
      if (x->fd < 0 && x->max > 0 && x->content_length > (int64_t)x->max)
        {
          x->fatal = true;
          return xfail(x, EFBIG, "%" PRId64 " bytes, over the limit of %zu", x->content_length, x->max);
        }
      if (x->size >= 0 && x->content_length >= 0 && x->content_length != x->size)
        {
          x->fatal = true;
          return xfail(x, EBADMSG, "the registry sends %" PRId64 " bytes, the descriptor says %" PRId64,
                       x->content_length, x->size);
        }
      x->body_to_sink = true;
    }
  else if (x->status == 206)
    {
      long long start = -1, end = -1;
      /* "bytes START-END/TOTAL" (RFC 7233 section 4.2): it must start where we stopped. */
      if (x->content_range == NULL || sscanf(x->content_range, "bytes %lld-%lld/", &start, &end) != 2
          || start != x->offset || end < start)
        {
          x->restart = true;
          return -1;
        }
      x->body_to_sink = true;
    }
  else
    x->body_to_sink = false;
  if (x->body_to_sink)
    progress(x, true);
  return 0;
}

static size_t
on_body(char *buf, size_t size, size_t n, void *data)
{
  xfer_t *x = data;
  size_t len = size * n;
  int64_t total;

  if (!x->body_seen && body_begin(x) < 0)
    return 0;
  if (!x->body_to_sink)
    {
      size_t keep = x->errlen + len > ERRBODY_MAX ? ERRBODY_MAX - x->errlen : len;
      x->errbody = xrealloc(x->errbody, x->errlen + keep + 1);
      memcpy(x->errbody + x->errlen, buf, keep);
      x->errlen += keep;
      x->errbody[x->errlen] = '\0';
      return len;
    }
  total = x->offset + x->got + (int64_t)len;
  if (x->size >= 0 && total > x->size)
    {
      x->fatal = true;
      xfail(x, EBADMSG, "the registry sends more than the %" PRId64 " bytes the descriptor says", x->size);
      return 0;
    }
  if (x->fd < 0)
    {
      if (x->max > 0 && (size_t)total > x->max)
        {
          x->fatal = true;
          xfail(x, EFBIG, "over the limit of %zu bytes", x->max);
          return 0;
        }
      if ((size_t)total + 1 > x->cap)
        {
          x->cap = (size_t)total + 1 + (x->cap < 65536 ? 65536 : x->cap);
          x->buf = xrealloc(x->buf, x->cap);
        }
      memcpy(x->buf + x->len, buf, len);
      x->len += len;
      x->buf[x->len] = '\0';
    }
  else
    {
      size_t done = 0;
      while (done < len)
        {
          ssize_t w = pwrite(x->fd, buf + done, len - done, (off_t)(x->offset + x->got) + (off_t)done);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            {
              x->fatal = true;
              xfail_sys(x, w < 0 ? errno : EIO, "write the download");
              return 0;
            }
          done += (size_t)w;
        }
    }
  if (x->hasher != NULL)
    isolazi_hasher_update(x->hasher, buf, len);
  x->got += (int64_t)len;
  progress(x, false);
  return len;
}

static const char *
auth_scope(isolazi_registry_t *r)
{
  return r->scope;
}

static int
xfer_start(xfer_t *x)
{
  isolazi_registry_t *r = x->r;
  CURLMcode mc;

  if (x->url == NULL)
    x->url = xasprintf("%s%s", r->origin, x->path);
  curl_slist_free_all(x->headers);
  x->headers = NULL;
  if (x->accept != NULL)
    x->headers = curl_slist_append(x->headers, x->accept);
  if (!x->off_origin && !x->no_auth)
    {
      if (r->scheme == AUTH_BASIC && r->creds.username != NULL && r->creds.password != NULL)
        {
          cleanup_free char *up = xasprintf("%s:%s", r->creds.username, r->creds.password);
          cleanup_free char *b = isolazi_auth_base64(up);
          cleanup_free char *h = xasprintf("Authorization: Basic %s", b);
          x->headers = curl_slist_append(x->headers, h);
          explicit_bzero(up, strlen(up));
          explicit_bzero(h, strlen(h));
        }
      else if (r->scheme == AUTH_BEARER)
        {
          token_t *t = token_find(r, auth_scope(r));
          if (t == NULL || t->expires_ms <= mono_ms())
            {
              isolazi_error_t terr = ISOLAZI_ERROR_INIT;
              if (token_fetch(r, auth_scope(r), auth_scope(r), &terr) < 0)
                {
                  xfail(x, terr.code, "%s", terr.msg);
                  isolazi_error_release(&terr);
                  return -1;
                }
              t = token_find(r, auth_scope(r));
            }
          if (t != NULL)
            {
              cleanup_free char *h = xasprintf("Authorization: Bearer %s", t->value);
              x->headers = curl_slist_append(x->headers, h);
              x->gen_sent = t->gen;
            }
        }
    }
  if (x->fd >= 0 && x->offset > 0 && !x->no_range)
    {
      char h[64];
      snprintf(h, sizeof h, "Range: bytes=%" PRId64 "-", x->offset);
      x->headers = curl_slist_append(x->headers, h);
    }

  response_reset(x);
  if (x->easy == NULL)
    x->easy = curl_easy_init();
  else
    curl_easy_reset(x->easy);
  if (x->easy == NULL)
    return xfail(x, ENOMEM, "curl_easy_init");
  easy_common(r, x->easy, x->errbuf);
  (void)curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
  (void)curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
  (void)curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
  (void)curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
  (void)curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
  (void)curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
  (void)curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
  (void)curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
  mc = curl_multi_add_handle(r->multi, x->easy);
  if (mc != CURLM_OK)
    return xfail(x, 0, "%s", curl_multi_strerror(mc));
  x->state = X_ACTIVE;
  return 0;
}

/* Try again later: from the registry's URL (a redirect may have expired), same sink. */
static void
xfer_retry(xfer_t *x, long delay_ms)
{
  x->attempts++;
  free(x->url);
  x->url = NULL;
  x->off_origin = false;
  x->redirects = 0;
  x->start_at = mono_ms() + delay_ms;
  x->state = X_QUEUED;
}

static void
xfer_again_now(xfer_t *x)
{
  x->start_at = 0;
  x->state = X_QUEUED;
}

/* The response is complete and says 200/206: check size and digest. */
static void
xfer_verify(xfer_t *x)
{
  int64_t total = x->offset + x->got;

  x->result = 0;
  x->state = X_DONE;
  if (x->hasher != NULL)
    {
      isolazi_hasher_final(x->hasher, x->computed);
      isolazi_hasher_free(x->hasher);
      x->hasher = NULL;
    }
  if (x->size >= 0 && total != x->size)
    {
      if (x->fd >= 0)
        (void)ftruncate(x->fd, 0);
      xfail(x, EBADMSG, "size mismatch: got %" PRId64 " bytes, the descriptor says %" PRId64, total, x->size);
      return;
    }
  if (x->digest != NULL && strcmp(x->computed, x->digest) != 0)
    {
      if (x->had_prefix && x->attempts <= x->r->max_retries)
        {
          /* The bytes an earlier pull left may have been bad: start over once from byte 0. */
          x->hasher = NULL;
          if (sink_reset(x) == 0)
            xfer_retry(x, 0);
          return;
        }
      if (x->fd >= 0)
        (void)ftruncate(x->fd, 0);
      xfail(x, EBADMSG, "digest mismatch: the content hashes to %s", x->computed);
      return;
    }
  progress(x, true);
}

static void
xfer_redirect(xfer_t *x)
{
  isolazi_registry_t *r = x->r;
  CURLU *u, *o;
  char *next = NULL, *scheme = NULL, *host = NULL, *port = NULL;
  char *oscheme = NULL, *ohost = NULL, *oport = NULL;
  bool ok;

  if (x->redirects >= REDIRECTS_MAX)
    {
      xfail(x, ELOOP, "more than %d redirects", REDIRECTS_MAX);
      return;
    }
  u = curl_url();
  o = curl_url();
  ok = u != NULL && o != NULL && curl_url_set(u, CURLUPART_URL, x->url, 0) == CURLUE_OK
       && curl_url_set(u, CURLUPART_URL, x->location, 0) == CURLUE_OK
       && curl_url_get(u, CURLUPART_URL, &next, 0) == CURLUE_OK
       && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
       && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK
       && curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK
       && curl_url_set(o, CURLUPART_URL, r->origin, 0) == CURLUE_OK
       && curl_url_get(o, CURLUPART_SCHEME, &oscheme, 0) == CURLUE_OK
       && curl_url_get(o, CURLUPART_HOST, &ohost, 0) == CURLUE_OK
       && curl_url_get(o, CURLUPART_PORT, &oport, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (!ok)
    xfail(x, EINVAL, "HTTP %ld: the redirect's Location is not a valid URL", x->status);
  else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
    xfail(x, EPROTONOSUPPORT, "HTTP %ld: redirect to a `%s` URL refused", x->status, scheme);
  else if (r->tls_verify && strcmp(scheme, "http") == 0 && isolazi_has_prefix(x->url, "https://"))
    xfail(x, EPROTO, "HTTP %ld: redirect from https to plain http (`%s`) refused", x->status, host);
  else
    {
      /* Another scheme, host or port is another origin: it gets no credentials, and neither
         does anything it redirects to. */
      if (strcmp(scheme, oscheme) != 0 || strcasecmp(host, ohost) != 0 || strcmp(port, oport) != 0)
        x->off_origin = true;
      free(x->url);
      x->url = xstrdup(next);
      x->redirects++;
      xfer_again_now(x);
    }
  curl_free(next);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(oscheme);
  curl_free(ohost);
  curl_free(oport);
  curl_url_cleanup(u);
  curl_url_cleanup(o);
}

static bool
have_creds(isolazi_registry_t *r)
{
  return r->creds.username != NULL || r->creds.identity_token != NULL;
}

/* Take the registry's challenges into account: the auth scheme and the token realm. */
static void
learn_challenges(isolazi_registry_t *r, const char *header, const char **ret_scope_wanted, char **scope_buf)
{
  isolazi_auth_challenge_t *c = NULL;
  size_t n = 0, i;

  if (isolazi_registry_parse_challenges(header, &c, &n, NULL) < 0)
    return;
  for (i = 0; i < n; i++)
    if (strcmp(c[i].scheme, "bearer") == 0 && c[i].realm != NULL)
      {
        r->scheme = AUTH_BEARER;
        free(r->realm);
        free(r->service);
        r->realm = xstrdup(c[i].realm);
        r->service = xstrdup(c[i].service);
        if (scope_buf != NULL && c[i].scope != NULL)
          {
            *scope_buf = xstrdup(c[i].scope);
            *ret_scope_wanted = *scope_buf;
          }
        break;
      }
  if (i == n)
    for (i = 0; i < n; i++)
      if (strcmp(c[i].scheme, "basic") == 0)
        {
          r->scheme = AUTH_BASIC;
          break;
        }
  isolazi_auth_challenges_free(c, n);
}

static void
xfer_unauthorized(xfer_t *x)
{
  isolazi_registry_t *r = x->r;
  enum auth_scheme before = r->scheme;
  cleanup_free char *status = status_text(x);
  cleanup_free char *wanted_buf = NULL;
  const char *wanted = NULL;
  token_t *t;

  learn_challenges(r, x->www_auth, &wanted, &wanted_buf);
  if (r->scheme == AUTH_BEARER)
    {
      t = token_find(r, auth_scope(r));
      if (t != NULL && t->gen > x->gen_sent && t->expires_ms > mono_ms())
        {
          /* Another transfer got a new token meanwhile. */
          xfer_again_now(x);
          return;
        }
      if (!x->auth_refreshed)
        {
          isolazi_error_t terr = ISOLAZI_ERROR_INIT;
          x->auth_refreshed = true;
          if (token_fetch(r, auth_scope(r), wanted ? wanted : auth_scope(r), &terr) < 0)
            {
              xfail(x, terr.code, "%s", terr.msg);
              isolazi_error_release(&terr);
              return;
            }
          xfer_again_now(x);
          return;
        }
    }
  else if (r->scheme == AUTH_BASIC && before != AUTH_BASIC && r->creds.username != NULL && !x->auth_refreshed)
    {
      x->auth_refreshed = true;
      xfer_again_now(x);
      return;
    }
  if (!have_creds(r))
    xfail(x, EACCES, "%s: authentication required, and there are no credentials for `%s`", status, r->host);
  else
    xfail(x, EACCES, "%s: the registry refused the credentials for `%s`", status, r->host);
}

/* A transfer ended (curl says how): decide what comes next. */
static void
xfer_done(xfer_t *x, CURLcode code)
{
  isolazi_registry_t *r = x->r;
  long status;

  (void)curl_multi_remove_handle(r->multi, x->easy);
  x->state = X_DONE;
  if (x->fatal)
    return; /* xfail was called */
  if (x->restart)
    {
      /* A 206 that does not continue where we stopped: ask for everything, without Range. */
      x->no_range = true;
      if (sink_reset(x) < 0)
        return;
      if (x->attempts >= r->max_retries)
        {
          xfail(x, EPROTO, "the registry answered a range request with the wrong range (%s)",
                x->content_range ? x->content_range : "no Content-Range");
          return;
        }
      xfer_retry(x, 0);
      return;
    }
  status = x->status;
  if (code == CURLE_OK && (status == 200 || status == 206) && !x->body_seen && body_begin(x) < 0)
    {
      if (x->restart)
        xfer_done(x, code);
      return;
    }
  if (code != CURLE_OK)
    {
      cleanup_free char *text = curl_text(r, code, x->errbuf, x->url);
      if (code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION)
        x->tls_error = true;
      if (curl_retryable(code, x->errbuf) && x->attempts < r->max_retries)
        {
          if (x->fd >= 0 && x->body_to_sink && !x->no_range)
            {
              /* Keep what arrived: it is hashed, the next request asks for the rest. */
              x->offset += x->got;
              x->got = 0;
            }
          else if (sink_reset(x) < 0)
            return;
          xfer_retry(x, backoff(r, x->attempts, NULL));
          return;
        }
      if (x->attempts > 0)
        xfail(x, 0, "%s (after %d retries)", text, x->attempts);
      else
        xfail(x, 0, "%s", text);
      return;
    }
  if (status == 200 || status == 206)
    {
      xfer_verify(x);
      return;
    }
  if (x->ping && status == 401)
    {
      x->result = 0;
      return;
    }
  if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) && x->location != NULL)
    {
      xfer_redirect(x);
      return;
    }
  if (status == 401 && !x->off_origin && !x->no_auth)
    {
      xfer_unauthorized(x);
      return;
    }
  if (status == 416 && x->offset > 0)
    {
      x->no_range = true;
      if (sink_reset(x) == 0)
        xfer_retry(x, 0);
      return;
    }
  if (status_retryable(status) && x->attempts < r->max_retries)
    {
      /* Nothing of an error response reached the sink: a blob keeps its prefix. */
      xfer_retry(x, backoff(r, x->attempts, x->retry_after));
      return;
    }
  {
    cleanup_free char *text = status_text(x);
    int errnum = status == 404 ? ENOENT : status == 401 || status == 403 ? EACCES : 0;
    if (x->attempts > 0 && status_retryable(status))
      xfail(x, errnum, "%s (after %d retries)", text, x->attempts);
    else
      xfail(x, errnum, "%s", text);
  }
}

/* Run transfers until every one is done, at most r->parallel at a time. */
static void
run_xfers(isolazi_registry_t *r, xfer_t **xs, size_t n)
{
  size_t i, active = 0;

  for (;;)
    {
      long long now = mono_ms(), next = -1;
      size_t left = 0;
      int running = 0;
      CURLMsg *msg;
      CURLMcode mc;
      bool finished = false;
      int q;

      for (i = 0; i < n; i++)
        {
          if (xs[i]->state != X_QUEUED)
            continue;
          if (xs[i]->start_at <= now && active < (size_t)r->parallel)
            {
              if (xfer_start(xs[i]) == 0)
                active++;
            }
          else if (next < 0 || xs[i]->start_at < next)
            next = xs[i]->start_at;
        }
      for (i = 0; i < n; i++)
        if (xs[i]->state != X_DONE)
          left++;
      if (left == 0)
        break;
      mc = curl_multi_perform(r->multi, &running);
      while ((msg = curl_multi_info_read(r->multi, &q)) != NULL)
        {
          xfer_t *x = NULL;
          if (msg->msg != CURLMSG_DONE)
            continue;
          (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
          if (x == NULL || x->state != X_ACTIVE)
            continue;
          active--;
          xfer_done(x, msg->data.result);
          finished = true;
        }
      if (mc != CURLM_OK)
        {
          for (i = 0; i < n; i++)
            if (xs[i]->state != X_DONE)
              {
                if (xs[i]->state == X_ACTIVE)
                  (void)curl_multi_remove_handle(r->multi, xs[i]->easy);
                xfail(xs[i], 0, "%s", curl_multi_strerror(mc));
              }
          break;
        }
      /* A transfer ended: go round at once (the next one starts, or the loop is over) instead
         of waiting in curl_multi_poll for a socket that no longer has anything to say. */
      if (finished)
        continue;
      now = mono_ms();
      {
        long timeout = 1000;
        for (i = 0; i < n; i++)
          if (xs[i]->state == X_QUEUED && active < (size_t)r->parallel)
            {
              long long wait = xs[i]->start_at - now;
              if (wait < timeout)
                timeout = wait < 0 ? 0 : (long)wait;
            }
        if (timeout > 0)
          (void)curl_multi_poll(r->multi, NULL, 0, (int)timeout, NULL);
      }
    }
}

static void
run_one(isolazi_registry_t *r, xfer_t *x)
{
  run_xfers(r, &x, 1);
}

/* ---- the API -------------------------------------------------------------------------------- */

static int
global_init(isolazi_error_t *err)
{
  static bool done;
  CURLcode c;

  if (done)
    return 0;
  c = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (c != CURLE_OK)
    return isolazi_error_set(err, 0, "initialise libcurl: %s", curl_easy_strerror(c));
  done = true;
  return 0;
}

/* The CA certificates go into an OpenSSL SSL_CTX: another TLS backend would not call us. */
static int
certs_need_openssl(isolazi_registry_t *r, isolazi_error_t *err)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

  if (v->ssl_version != NULL && strncmp(v->ssl_version, "OpenSSL", 7) == 0)
    return 0;
  return isolazi_error_set_plain(err, ENOTSUP,
                                 "use the CA certificates in `%s`: libcurl uses %s, not OpenSSL; install "
                                 "them in the system's store instead",
                                 r->certs.dir, v->ssl_version ? v->ssl_version : "no TLS library");
}

static isolazi_registry_t *
registry_alloc(const char *domain, const char *repo, const isolazi_registry_opts_t *opts, isolazi_error_t *err)
{
  isolazi_registry_opts_t defaults = { 0 };
  isolazi_registry_t *r;

  if (opts == NULL)
    opts = &defaults;
  if (global_init(err) < 0)
    return NULL;
  r = xcalloc(1, sizeof(*r));
  r->host = xstrdup(api_host(domain));
  r->domain = xstrdup(domain);
  r->repo = xstrdup(repo);
  r->name = repo ? xasprintf("%s/%s", domain, repo) : xstrdup(domain);
  r->scope = repo ? xasprintf("repository:%s:pull", repo) : NULL;
  r->tls_verify = !opts->tls_insecure;
  r->parallel = opts->parallel > 0 ? opts->parallel : 4;
  r->max_retries = opts->max_retries > 0 ? opts->max_retries : opts->max_retries < 0 ? 0 : 5;
  r->retry_base_ms = opts->retry_base_ms > 0 ? opts->retry_base_ms : 200;
  r->progress = opts->progress;
  r->progress_data = opts->progress_data;
  if (opts->username != NULL)
    {
      r->creds.username = xstrdup(opts->username);
      r->creds.password = xstrdup(opts->password ? opts->password : "");
    }
  else if (isolazi_auth_lookup(domain, opts->auth_file, &r->creds, err) < 0)
    {
      isolazi_registry_free(r);
      return NULL;
    }
  if (isolazi_registry_certs_load(domain, opts->cert_dir, &r->certs, err) < 0
      || (r->certs.ncas > 0 && certs_need_openssl(r, err) < 0))
    {
      isolazi_registry_free(r);
      return NULL;
    }
  r->multi = curl_multi_init();
  if (r->multi == NULL)
    {
      isolazi_registry_free(r);
      isolazi_error_set(err, ENOMEM, "curl_multi_init");
      return NULL;
    }
  return r;
}

isolazi_registry_t *
isolazi_registry_new(const isolazi_image_ref_t *ref, const isolazi_registry_opts_t *opts, isolazi_error_t *err)
{
  if (ref == NULL || ref->domain == NULL || ref->domain[0] == '\0')
    {
      isolazi_error_set_plain(err, EINVAL, "open registry: the reference has no registry");
      return NULL;
    }
  if (!valid_repository(ref->path))
    {
      isolazi_error_set_plain(err, EINVAL, "open registry `%s`: invalid repository `%s`", ref->domain,
                              ref->path ? ref->path : "");
      return NULL;
    }
  return registry_alloc(ref->domain, ref->path, opts, err);
}

void
isolazi_registry_free(isolazi_registry_t *r)
{
  size_t i;

  if (r == NULL)
    return;
  if (r->multi != NULL)
    curl_multi_cleanup(r->multi);
  for (i = 0; i < r->ntokens; i++)
    {
      explicit_bzero(r->tokens[i].value, strlen(r->tokens[i].value));
      free(r->tokens[i].value);
      free(r->tokens[i].scope);
    }
  free(r->tokens);
  isolazi_credentials_release(&r->creds);
  isolazi_registry_certs_release(&r->certs);
  free(r->host);
  free(r->domain);
  free(r->repo);
  free(r->name);
  free(r->scope);
  free(r->origin);
  free(r->realm);
  free(r->service);
  free(r);
}

/* GET /v2/ once: which scheme works, and which authentication the registry wants. */
static int
ensure_ping(isolazi_registry_t *r, isolazi_error_t *err)
{
  static const char *const schemes[] = { "https", "http" };
  size_t i, n = r->tls_verify ? 1 : 2;

  if (r->pinged)
    return 0;
  for (i = 0; i < n; i++)
    {
      cleanup_xfer xfer_t *x = xfer_new(r, xasprintf("reach registry `%s`", r->host), xstrdup("/v2/"));

      free(r->origin);
      r->origin = xasprintf("%s://%s", schemes[i], r->host);
      x->ping = true;
      x->no_auth = true;
      x->max = PING_BODY_MAX;
      run_one(r, x);
      if (x->result == 0)
        {
          if (x->status == 401)
            learn_challenges(r, x->www_auth, NULL, NULL);
          r->pinged = true;
          return 0;
        }
      /* Without TLS checks a registry may be plain HTTP: try that next (as podman does). */
      if (i + 1 < n && x->status == 0)
        continue;
      isolazi_error_take(err, x->error.code, steal_pointer(&x->error.msg));
      return -1;
    }
  return isolazi_error_set(err, 0, "reach registry `%s`", r->host);
}

int
isolazi_registry_get_manifest(isolazi_registry_t *r, const char *reference, size_t max_size, char **ret_body,
                              size_t *ret_len, char **ret_media_type, char **ret_digest, isolazi_error_t *err)
{
  cleanup_xfer xfer_t *x = NULL;
  cleanup_json json_value *doc = NULL;
  cleanup_free char *perr = NULL;
  cleanup_free char *type = NULL;
  bool by_digest = reference != NULL && strchr(reference, ':') != NULL;
  const char *mt;

  if (by_digest ? !isolazi_digest_valid(reference) : !valid_tag(reference))
    return isolazi_error_set_plain(err, EINVAL, "get manifest `%s` of `%s`: not a valid tag or digest",
                                   reference ? reference : "", r->name);
  if (ensure_ping(r, err) < 0)
    return isolazi_error_wrap(err, "get manifest `%s` of `%s`", reference, r->name);
  x = xfer_new(r, xasprintf("get manifest `%s` of `%s`", reference, r->name),
               xasprintf("/v2/%s/manifests/%s", r->repo, reference));
  x->accept = MANIFEST_ACCEPT;
  x->max = max_size > 0 ? max_size : ISOLAZI_REGISTRY_MANIFEST_MAX;
  x->digest = by_digest ? reference : NULL;
  if (sink_reset(x) < 0 || (x->hasher == NULL && (x->hasher = isolazi_hasher_new(NULL, &x->error)) == NULL))
    return isolazi_error_take(err, x->error.code, steal_pointer(&x->error.msg));
  run_one(r, x);
  if (x->result < 0)
    return isolazi_error_take(err, x->error.code, steal_pointer(&x->error.msg));
  /* By tag the registry's Docker-Content-Digest must agree with the bytes (same algorithm). */
  if (!by_digest && x->docker_digest != NULL && isolazi_digest_valid(x->docker_digest)
      && strncmp(x->docker_digest, x->computed, strcspn(x->computed, ":") + 1) == 0
      && strcmp(x->docker_digest, x->computed) != 0)
    return isolazi_error_set_plain(
        err, EBADMSG, "get manifest `%s` of `%s`: digest mismatch: the content hashes to %s, the registry says %s",
        reference, r->name, x->computed, x->docker_digest);

  doc = json_parse(x->buf ? x->buf : "", x->len, &perr);
  if (doc == NULL || json_typeof(doc) != JSON_OBJECT)
    return isolazi_error_set_plain(err, EBADMSG, "get manifest `%s` of `%s`: %s", reference, r->name,
                                   doc == NULL ? (perr ? perr : "invalid JSON") : "the document is not a JSON object");
  mt = json_get_string(json_object_get(doc, "mediaType"));
  if (mt != NULL && mt[0] != '\0')
    type = xstrdup(mt);
  else if (x->content_type != NULL && isolazi_registry_manifest_kind(x->content_type) != ISOLAZI_MANIFEST_UNKNOWN)
    type = xasprintf("%.*s", (int)strcspn(x->content_type, "; \t"), x->content_type);
  else if (json_object_get(doc, "manifests") != NULL)
    type = xstrdup(ISOLAZI_MEDIA_OCI_INDEX); /* image-spec: mediaType SHOULD be set, not MUST */
  else if (json_object_get(doc, "config") != NULL && json_object_get(doc, "layers") != NULL)
    type = xstrdup(ISOLAZI_MEDIA_OCI_MANIFEST);
  else
    type = xstrdup(x->content_type ? x->content_type : "");
  if (isolazi_registry_manifest_kind(type) == ISOLAZI_MANIFEST_UNKNOWN)
    {
      if (isolazi_has_prefix(type, "application/vnd.docker.distribution.manifest.v1"))
        return isolazi_error_set_plain(
            err, ENOTSUP,
            "get manifest `%s` of `%s`: Docker schema 1 manifests are not supported (deprecated "
            "since 2019)",
            reference, r->name);
      return isolazi_error_set_plain(err, ENOTSUP, "get manifest `%s` of `%s`: unsupported media type `%s`", reference,
                                     r->name, type);
    }
  if (ret_media_type != NULL)
    *ret_media_type = steal_pointer(&type);
  if (ret_digest != NULL)
    *ret_digest = xstrdup(x->computed);
  if (ret_len != NULL)
    *ret_len = x->len;
  *ret_body = x->buf ? steal_pointer(&x->buf) : xstrdup("");
  return 0;
}

int
isolazi_registry_get_blob(isolazi_registry_t *r, const char *digest, size_t max_size, char **ret_body, size_t *ret_len,
                          isolazi_error_t *err)
{
  cleanup_xfer xfer_t *x = NULL;

  if (!isolazi_digest_valid(digest))
    {
      cleanup_free char *what = xasprintf("fetch blob from `%s`", r->name);
      return isolazi_digest_check(digest, what, err);
    }
  if (ensure_ping(r, err) < 0)
    return isolazi_error_wrap(err, "fetch blob `%s` from `%s`", digest, r->name);
  x = xfer_new(r, xasprintf("fetch blob `%s` from `%s`", digest, r->name),
               xasprintf("/v2/%s/blobs/%s", r->repo, digest));
  x->max = max_size > 0 ? max_size : ISOLAZI_REGISTRY_BLOB_MAX;
  x->digest = digest;
  if (sink_reset(x) < 0)
    return isolazi_error_take(err, x->error.code, steal_pointer(&x->error.msg));
  run_one(r, x);
  if (x->result < 0)
    return isolazi_error_take(err, x->error.code, steal_pointer(&x->error.msg));
  if (ret_len != NULL)
    *ret_len = x->len;
  *ret_body = x->buf ? steal_pointer(&x->buf) : xstrdup("");
  return 0;
}

/* Hash what the fd already holds; keep it when it can be the start of the blob. */
static int
take_prefix(xfer_t *x)
{
  char buf[65536];
  struct stat st;
  int64_t pos = 0;

  if (fstat(x->fd, &st) < 0)
    return xfail_sys(x, errno, "stat the download");
  if (st.st_size == 0)
    return 0;
  if (x->size >= 0 && st.st_size > x->size)
    return sink_reset(x);
  while (pos < st.st_size)
    {
      ssize_t n = pread(x->fd, buf, sizeof buf, (off_t)pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return xfail_sys(x, errno, "read the partial download");
      if (n == 0)
        break;
      isolazi_hasher_update(x->hasher, buf, (size_t)n);
      pos += n;
    }
  x->offset = pos;
  x->had_prefix = true;
  if (x->size >= 0 && pos == x->size)
    {
      /* Complete already: verify without asking the registry. */
      xfer_verify(x);
      if (x->state == X_QUEUED) /* it did not verify: start over */
        x->attempts = 0;
    }
  return 0;
}

int
isolazi_registry_fetch_blobs(isolazi_registry_t *r, isolazi_blob_fetch_t *items, size_t n, isolazi_error_t *err)
{
  xfer_t **xs = xcalloc(n ? n : 1, sizeof(*xs));
  isolazi_error_t ping_err = ISOLAZI_ERROR_INIT;
  int ping = ensure_ping(r, &ping_err);
  size_t i;
  int ret = 0;

  for (i = 0; i < n; i++)
    {
      isolazi_blob_fetch_t *it = &items[i];
      xfer_t *x;

      isolazi_error_release(&it->error);
      it->result = 0;
      x = xs[i] = xfer_new(r, xasprintf("fetch blob `%s` from `%s`", it->digest ? it->digest : "", r->name),
                           xasprintf("/v2/%s/blobs/%s", r->repo, it->digest ? it->digest : ""));
      x->fd = it->fd;
      x->size = it->size;
      x->digest = it->digest;
      if (ping < 0)
        {
          xfail(x, ping_err.code, "%s", ping_err.msg);
          continue;
        }
      if (!isolazi_digest_valid(it->digest))
        {
          xfail(x, EINVAL, "invalid digest");
          continue;
        }
      if (it->fd < 0)
        {
          xfail(x, EBADF, "no file to download into");
          continue;
        }
      x->hasher = isolazi_hasher_for(it->digest, &x->error);
      if (x->hasher == NULL)
        {
          x->result = -1;
          x->state = X_DONE;
          continue;
        }
      (void)take_prefix(x);
    }
  isolazi_error_release(&ping_err);
  run_xfers(r, xs, n);
  for (i = 0; i < n; i++)
    {
      items[i].result = xs[i]->result;
      if (xs[i]->result < 0)
        {
          items[i].error = xs[i]->error;
          memset(&xs[i]->error, 0, sizeof(xs[i]->error));
          if (ret == 0)
            {
              isolazi_error_take(err, items[i].error.code, xstrdup(items[i].error.msg));
              ret = -1;
            }
        }
      else
        (void)lseek(items[i].fd, 0, SEEK_SET);
      xfer_free(xs[i]);
    }
  free(xs);
  return ret;
}

int
isolazi_registry_check_login(const char *host, const char *username, const char *password,
                             const isolazi_registry_opts_t *opts, isolazi_error_t *err)
{
  isolazi_registry_opts_t o = opts ? *opts : (isolazi_registry_opts_t){ 0 };
  isolazi_registry_t *r;
  int ret = 0;

  if (host == NULL || host[0] == '\0')
    return isolazi_error_set_plain(err, EINVAL, "log in: empty registry name");
  if (username != NULL)
    {
      o.username = username;
      o.password = password;
    }
  r = registry_alloc(host, NULL, &o, err);
  if (r == NULL)
    return isolazi_error_wrap(err, "log in to `%s`", host);
  if (ensure_ping(r, err) < 0)
    ret = isolazi_error_wrap(err, "log in to `%s`", host);
  else if (r->scheme == AUTH_BEARER)
    {
      if (token_fetch(r, NULL, NULL, err) < 0)
        ret = isolazi_error_wrap(err, "log in to `%s`", host);
    }
  else if (r->scheme == AUTH_BASIC)
    {
      cleanup_xfer xfer_t *x = xfer_new(r, xasprintf("log in to `%s`", host), xstrdup("/v2/"));
      x->max = PING_BODY_MAX;
      x->auth_refreshed = true; /* one try: a 401 means the credentials are wrong */
      run_one(r, x);
      if (x->result < 0)
        ret = isolazi_error_take(err, x->error.code, steal_pointer(&x->error.msg));
    }
  isolazi_registry_free(r);
  return ret;
}
