/* SPDX-License-Identifier: Apache-2.0 */
/* A thin command line over the registry client and the auth files, for registry.bats (the
 * real front end is isolazi-pull):
 *
 *   registry-tool [OPTIONS] get-manifest REF -o FILE     prints "MEDIATYPE DIGEST LENGTH"
 *   registry-tool [OPTIONS] get-blob REF DIGEST -o FILE  prints "LENGTH"
 *   registry-tool [OPTIONS] fetch-blob REF DIGEST SIZE FILE [DIGEST SIZE FILE]...
 *                                                      resumes from what FILE holds; prints
 *                                                      "ok DIGEST" or "error DIGEST: MESSAGE"
 *   registry-tool [OPTIONS] check-login HOST
 *   registry-tool [OPTIONS] login HOST USER PASSWORD     (isolazi_auth_store)
 *   registry-tool [OPTIONS] logout HOST
 *
 * REF is HOST/PATH[:TAG][@DIGEST].  OPTIONS: --tls-verify=true|false, --creds USER:PASS,
 * --authfile FILE, --retries N, --retry-base-ms N, --parallel N, --max-size N, --progress
 * (progress lines on stderr).  Exit status 0, or 1 with "registry-tool: MESSAGE" on stderr. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "registry.h"
#include "utils.h"

static void
usage(void)
{
  fprintf(stderr, "usage: registry-tool [OPTIONS] get-manifest|get-blob|fetch-blob|check-login|login|logout ...\n");
  exit(2);
}

static int
fail(isolazi_error_t *err)
{
  fprintf(stderr, "registry-tool: %s\n", err->msg ? err->msg : "unknown error");
  isolazi_error_release(err);
  return 1;
}

/* HOST/PATH[:TAG][@DIGEST], by hand: reference.c is another part's. */
static int
parse_ref(const char *text, isolazi_image_ref_t *ref)
{
  cleanup_free char *s = xstrdup(text);
  char *slash = strchr(s, '/'), *at, *colon;

  memset(ref, 0, sizeof(*ref));
  if (slash == NULL)
    return -1;
  *slash = '\0';
  ref->domain = xstrdup(s);
  at = strchr(slash + 1, '@');
  if (at != NULL)
    {
      *at = '\0';
      ref->digest = xstrdup(at + 1);
    }
  colon = strrchr(slash + 1, ':');
  if (colon != NULL && strchr(colon, '/') == NULL)
    {
      *colon = '\0';
      ref->tag = xstrdup(colon + 1);
    }
  ref->path = xstrdup(slash + 1);
  return 0;
}

static void
free_ref(isolazi_image_ref_t *ref)
{
  free(ref->domain);
  free(ref->path);
  free(ref->tag);
  free(ref->digest);
}

static void
on_progress(void *data, const char *digest, int64_t done, int64_t total)
{
  fprintf(stderr, "progress %s %" PRId64 " %" PRId64 "\n", digest, done, total);
}

static int
write_out(const char *path, const char *buf, size_t len, isolazi_error_t *err)
{
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || isolazi_write_all(fd, buf, len) < 0)
    return isolazi_error_errno(err, "write `%s`", path);
  return 0;
}

int
main(int argc, char **argv)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_registry_opts_t opts = { 0 };
  cleanup_free char *creds = NULL;
  const char *out = NULL;
  size_t max_size = 0;
  int i = 1, ret = 0;
  const char *cmd;

  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      if (strcmp(a, "--tls-verify=false") == 0)
        opts.tls_insecure = true;
      else if (strcmp(a, "--tls-verify=true") == 0)
        opts.tls_insecure = false;
      else if (strcmp(a, "--progress") == 0)
        opts.progress = on_progress;
      else if (i + 1 < argc && strcmp(a, "--creds") == 0)
        creds = xstrdup(argv[++i]);
      else if (i + 1 < argc && strcmp(a, "--authfile") == 0)
        opts.auth_file = argv[++i];
      else if (i + 1 < argc && strcmp(a, "--retries") == 0)
        opts.max_retries = atoi(argv[++i]);
      else if (i + 1 < argc && strcmp(a, "--retry-base-ms") == 0)
        opts.retry_base_ms = atol(argv[++i]);
      else if (i + 1 < argc && strcmp(a, "--parallel") == 0)
        opts.parallel = atoi(argv[++i]);
      else if (i + 1 < argc && strcmp(a, "--max-size") == 0)
        max_size = (size_t)strtoull(argv[++i], NULL, 10);
      else
        usage();
    }
  if (creds != NULL)
    {
      char *colon = strchr(creds, ':');
      if (colon == NULL)
        usage();
      *colon = '\0';
      opts.username = creds;
      opts.password = colon + 1;
    }
  if (i >= argc)
    usage();
  cmd = argv[i++];
  /* -o FILE anywhere after the command */
  for (int j = i; j + 1 < argc; j++)
    if (strcmp(argv[j], "-o") == 0)
      {
        out = argv[j + 1];
        memmove(&argv[j], &argv[j + 2], (size_t)(argc - j - 2) * sizeof(char *));
        argc -= 2;
        break;
      }

  if (strcmp(cmd, "login") == 0 || strcmp(cmd, "logout") == 0 || strcmp(cmd, "check-login") == 0)
    {
      if (strcmp(cmd, "login") == 0)
        {
          if (argc - i != 3)
            usage();
          if (isolazi_auth_store(argv[i], argv[i + 1], argv[i + 2], opts.auth_file, &err) < 0)
            return fail(&err);
        }
      else if (strcmp(cmd, "logout") == 0)
        {
          if (argc - i != 1)
            usage();
          if (isolazi_auth_remove(argv[i], opts.auth_file, &err) < 0)
            return fail(&err);
        }
      else
        {
          if (argc - i != 1)
            usage();
          if (isolazi_registry_check_login(argv[i], opts.username, opts.password, &opts, &err) < 0)
            return fail(&err);
          printf("login ok\n");
        }
      return 0;
    }

  {
    isolazi_image_ref_t ref;
    isolazi_registry_t *r;

    if (i >= argc || parse_ref(argv[i], &ref) < 0)
      usage();
    i++;
    r = isolazi_registry_new(&ref, &opts, &err);
    if (r == NULL)
      {
        free_ref(&ref);
        return fail(&err);
      }
    if (strcmp(cmd, "get-manifest") == 0 && out != NULL && argc == i)
      {
        cleanup_free char *body = NULL;
        cleanup_free char *type = NULL;
        cleanup_free char *digest = NULL;
        size_t len = 0;
        const char *what = ref.digest ? ref.digest : ref.tag ? ref.tag : "latest";

        if (isolazi_registry_get_manifest(r, what, max_size, &body, &len, &type, &digest, &err) < 0
            || write_out(out, body, len, &err) < 0)
          ret = fail(&err);
        else
          printf("%s %s %zu\n", type, digest, len);
      }
    else if (strcmp(cmd, "get-blob") == 0 && out != NULL && argc == i + 1)
      {
        cleanup_free char *body = NULL;
        size_t len = 0;

        if (isolazi_registry_get_blob(r, argv[i], max_size, &body, &len, &err) < 0
            || write_out(out, body, len, &err) < 0)
          ret = fail(&err);
        else
          printf("%zu\n", len);
      }
    else if (strcmp(cmd, "fetch-blob") == 0 && argc > i && (argc - i) % 3 == 0)
      {
        size_t n = (size_t)(argc - i) / 3, k;
        isolazi_blob_fetch_t *items = xcalloc(n, sizeof(*items));

        for (k = 0; k < n; k++)
          {
            items[k].digest = argv[i + 3 * k];
            items[k].size = strtoll(argv[i + 3 * k + 1], NULL, 10);
            items[k].fd = open(argv[i + 3 * k + 2], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (items[k].fd < 0)
              {
                isolazi_error_errno(&err, "open `%s`", argv[i + 3 * k + 2]);
                return fail(&err);
              }
          }
        if (isolazi_registry_fetch_blobs(r, items, n, &err) < 0)
          {
            ret = 1;
            fprintf(stderr, "registry-tool: %s\n", err.msg);
            isolazi_error_release(&err);
          }
        for (k = 0; k < n; k++)
          {
            if (items[k].result == 0)
              printf("ok %s\n", items[k].digest);
            else
              printf("error %s: %s\n", items[k].digest, items[k].error.msg);
            isolazi_error_release(&items[k].error);
            close(items[k].fd);
          }
        free(items);
      }
    else
      usage();
    isolazi_registry_free(r);
    free_ref(&ref);
  }
  return ret;
}
