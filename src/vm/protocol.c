/* SPDX-License-Identifier: Apache-2.0 */
/* The guest protocol's encoding (see protocol.h).  Shared by the host and the static agent:
 * libc only, errors as negative errno values. */
#include "config.h"
#include "protocol.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const type_names[] = {
  [VM_MSG_HELLO] = "HELLO",     [VM_MSG_CREATE] = "CREATE",
  [VM_MSG_CREATED] = "CREATED", [VM_MSG_START] = "START",
  [VM_MSG_EXEC] = "EXEC",       [VM_MSG_STARTED] = "STARTED",
  [VM_MSG_ERROR] = "ERROR",     [VM_MSG_STDIN] = "STDIN",
  [VM_MSG_STDOUT] = "STDOUT",   [VM_MSG_STDERR] = "STDERR",
  [VM_MSG_SIGNAL] = "SIGNAL",   [VM_MSG_WINSIZE] = "WINSIZE",
  [VM_MSG_EXIT] = "EXIT",       [VM_MSG_SB_SETUP] = "SB_SETUP",
  [VM_MSG_SB_DONE] = "SB_DONE", [VM_MSG_SB_WRITE] = "SB_WRITE",
  [VM_MSG_SB_READ] = "SB_READ", [VM_MSG_SB_FREEZE] = "SB_FREEZE",
  [VM_MSG_SB_CTL] = "SB_CTL",   [VM_MSG_PS] = "PS",
  [VM_MSG_STATS] = "STATS",     [VM_MSG_PAUSE] = "PAUSE",
  [VM_MSG_RESUME] = "RESUME",
};

const char *
vm_msg_type_name(unsigned type)
{
  if (type == 0 || type >= VM_MSG_TYPE_MAX)
    return "?";
  return type_names[type];
}

void
vm_put_u32(uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static void
put_u16(uint8_t *p, uint16_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
  vm_put_u32(p, (uint32_t)v);
  vm_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint32_t
vm_get_u32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
get_u16(const uint8_t *p)
{
  return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t
get_u64(const uint8_t *p)
{
  return (uint64_t)vm_get_u32(p) | (uint64_t)vm_get_u32(p + 4) << 32;
}

void
vm_frame_header_encode(const vm_frame_header_t *h, uint8_t out[VM_FRAME_HEADER_SIZE])
{
  vm_put_u32(out, h->len);
  put_u16(out + 4, h->type);
  put_u16(out + 6, h->flags);
  vm_put_u32(out + 8, h->proc);
}

int
vm_frame_header_decode(const uint8_t in[VM_FRAME_HEADER_SIZE], vm_frame_header_t *ret)
{
  vm_frame_header_t h;

  h.len = vm_get_u32(in);
  h.type = get_u16(in + 4);
  h.flags = get_u16(in + 6);
  h.proc = vm_get_u32(in + 8);
  if (h.type == 0 || h.type >= VM_MSG_TYPE_MAX || h.len > VM_FRAME_MAX_PAYLOAD)
    return -EPROTO;
  *ret = h;
  return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
  const uint8_t *p = buf;

  while (len > 0)
    {
      ssize_t n = write(fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            {
              /* A non-blocking fd (the relays' own): wait until it takes more, as a blocking
               * one would. */
              struct pollfd pf = { .fd = fd, .events = POLLOUT };
              (void)poll(&pf, 1, -1);
              continue;
            }
          return -errno;
        }
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

/* Returns the bytes read (short only at EOF) or -errno. */
static ssize_t
read_all(int fd, void *buf, size_t len)
{
  uint8_t *p = buf;
  size_t got = 0;

  while (got < len)
    {
      ssize_t n = read(fd, p + got, len - got);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            {
              struct pollfd pf = { .fd = fd, .events = POLLIN };
              (void)poll(&pf, 1, -1);
              continue;
            }
          return -errno;
        }
      if (n == 0)
        break;
      got += (size_t)n;
    }
  return (ssize_t)got;
}

int
vm_frame_write(int fd, unsigned type, unsigned flags, uint32_t proc, const void *payload, size_t len)
{
  vm_frame_header_t h = { .len = (uint32_t)len, .type = (uint16_t)type, .flags = (uint16_t)flags, .proc = proc };
  uint8_t hdr[VM_FRAME_HEADER_SIZE];
  int r;

  if (len > VM_FRAME_MAX_PAYLOAD)
    return -EMSGSIZE;
  vm_frame_header_encode(&h, hdr);
  /* One buffer for small frames, so that a frame is one write on the port. */
  if (len <= 4096)
    {
      uint8_t buf[VM_FRAME_HEADER_SIZE + 4096];
      memcpy(buf, hdr, sizeof hdr);
      if (len > 0)
        memcpy(buf + sizeof hdr, payload, len);
      return write_all(fd, buf, sizeof hdr + len);
    }
  r = write_all(fd, hdr, sizeof hdr);
  if (r < 0)
    return r;
  return write_all(fd, payload, len);
}

int
vm_frame_read(int fd, vm_frame_header_t *ret, uint8_t **ret_payload)
{
  uint8_t hdr[VM_FRAME_HEADER_SIZE], *payload;
  vm_frame_header_t h;
  ssize_t n;
  int r;

  *ret_payload = NULL;
  n = read_all(fd, hdr, sizeof hdr);
  if (n < 0)
    return (int)n;
  if (n == 0)
    return -ECONNRESET;
  if ((size_t)n < sizeof hdr)
    return -EPROTO;
  r = vm_frame_header_decode(hdr, &h);
  if (r < 0)
    return r;
  payload = NULL;
  if (h.len > 0)
    {
      payload = malloc(h.len + 1);
      if (payload == NULL)
        return -ENOMEM;
      n = read_all(fd, payload, h.len);
      if (n < 0 || (size_t)n < h.len)
        {
          free(payload);
          return n < 0 ? (int)n : -EPROTO;
        }
      payload[h.len] = '\0';
    }
  *ret = h;
  *ret_payload = payload;
  return 0;
}

int
vm_frame_reader_feed(vm_frame_reader_t *r, const void *data, size_t len)
{
  if (r->len + len > r->cap)
    {
      size_t cap = r->cap ? r->cap : 4096;
      uint8_t *b;
      while (cap < r->len + len)
        cap *= 2;
      b = realloc(r->buf, cap);
      if (b == NULL)
        return -ENOMEM;
      r->buf = b;
      r->cap = cap;
    }
  memcpy(r->buf + r->len, data, len);
  r->len += len;
  return 0;
}

int
vm_frame_reader_next(vm_frame_reader_t *r, vm_frame_header_t *ret, uint8_t **ret_payload)
{
  vm_frame_header_t h;
  uint8_t *payload = NULL;
  int e;

  *ret_payload = NULL;
  if (r->len < VM_FRAME_HEADER_SIZE)
    return 0;
  e = vm_frame_header_decode(r->buf, &h);
  if (e < 0)
    return e;
  if (r->len < VM_FRAME_HEADER_SIZE + (size_t)h.len)
    return 0;
  if (h.len > 0)
    {
      payload = malloc(h.len + 1);
      if (payload == NULL)
        return -ENOMEM;
      memcpy(payload, r->buf + VM_FRAME_HEADER_SIZE, h.len);
      payload[h.len] = '\0';
    }
  memmove(r->buf, r->buf + VM_FRAME_HEADER_SIZE + h.len, r->len - VM_FRAME_HEADER_SIZE - h.len);
  r->len -= VM_FRAME_HEADER_SIZE + h.len;
  *ret = h;
  *ret_payload = payload;
  return 1;
}

void
vm_frame_reader_release(vm_frame_reader_t *r)
{
  free(r->buf);
  r->buf = NULL;
  r->len = r->cap = 0;
}

int
vm_payload_u32(const uint8_t *p, size_t len, uint32_t *ret)
{
  if (p == NULL || len != 4)
    return -EPROTO;
  *ret = vm_get_u32(p);
  return 0;
}

uint8_t *
vm_error_encode(int errnum, int status, const char *msg, size_t *ret_len)
{
  size_t n = msg != NULL ? strlen(msg) : 0;
  uint8_t *p;

  if (n > VM_FRAME_MAX_PAYLOAD - 8)
    n = VM_FRAME_MAX_PAYLOAD - 8;
  p = malloc(8 + n);
  if (p == NULL)
    return NULL;
  vm_put_u32(p, (uint32_t)errnum);
  vm_put_u32(p + 4, (uint32_t)status);
  if (n > 0)
    memcpy(p + 8, msg, n);
  *ret_len = 8 + n;
  return p;
}

int
vm_error_decode(const uint8_t *p, size_t len, int *ret_errnum, int *ret_status, char **ret_msg)
{
  char *m;

  if (p == NULL || len < 8)
    return -EPROTO;
  m = malloc(len - 8 + 1);
  if (m == NULL)
    return -ENOMEM;
  memcpy(m, p + 8, len - 8);
  m[len - 8] = '\0';
  *ret_errnum = (int)vm_get_u32(p);
  *ret_status = (int)vm_get_u32(p + 4);
  *ret_msg = m;
  return 0;
}

/* ---- specs ------------------------------------------------------------------------------- */

enum
{
  TAG_ARG = 1,
  TAG_ENV,
  TAG_CWD,
  TAG_UID,
  TAG_GID,
  TAG_GROUP,
  TAG_UMASK,
  TAG_RLIMIT, /* u32 resource, u64 soft, u64 hard */
  TAG_TERMINAL,
  TAG_WINSIZE, /* u16 rows, u16 cols */
  TAG_NO_NEW_PRIVS,
  TAG_HOSTNAME,
  TAG_DOMAINNAME,
  TAG_ROOTFS_DEVICE,
  TAG_ROOTFS_TYPE,
  TAG_ROOTFS_READONLY,
  TAG_MOUNT, /* u64 flags, u64 propagation, then destination, type, source, data: each NUL-terminated */
  TAG_FILE,  /* u32 mode, path NUL-terminated, then the content */
};

typedef struct buf
{
  uint8_t *p;
  size_t len, cap;
  bool failed;
} buf_t;

static uint8_t *
buf_field(buf_t *b, uint16_t tag, size_t len)
{
  uint8_t *f;

  if (b->failed)
    return NULL;
  if (b->len + 6 + len > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      uint8_t *n;
      while (cap < b->len + 6 + len)
        cap *= 2;
      n = realloc(b->p, cap);
      if (n == NULL)
        {
          b->failed = true;
          return NULL;
        }
      b->p = n;
      b->cap = cap;
    }
  f = b->p + b->len;
  put_u16(f, tag);
  vm_put_u32(f + 2, (uint32_t)len);
  b->len += 6 + len;
  return f + 6;
}

static void
buf_str(buf_t *b, uint16_t tag, const char *s)
{
  size_t n;
  uint8_t *f;

  if (s == NULL)
    return;
  n = strlen(s);
  f = buf_field(b, tag, n);
  if (f != NULL && n > 0)
    memcpy(f, s, n);
}

static void
buf_u32(buf_t *b, uint16_t tag, uint32_t v)
{
  uint8_t *f = buf_field(b, tag, 4);
  if (f != NULL)
    vm_put_u32(f, v);
}

static void
buf_flag(buf_t *b, uint16_t tag, bool v)
{
  if (v)
    (void)buf_field(b, tag, 0);
}

uint8_t *
vm_spec_encode(const vm_spec_t *s, size_t *ret_len)
{
  buf_t b = { NULL, 0, 0, false };
  uint8_t *f;
  size_t i;

  for (i = 0; i < s->args_len; i++)
    buf_str(&b, TAG_ARG, s->args[i]);
  for (i = 0; i < s->env_len; i++)
    buf_str(&b, TAG_ENV, s->env[i]);
  buf_str(&b, TAG_CWD, s->cwd);
  buf_u32(&b, TAG_UID, s->uid);
  buf_u32(&b, TAG_GID, s->gid);
  for (i = 0; i < s->gids_len; i++)
    buf_u32(&b, TAG_GROUP, s->gids[i]);
  if (s->umask_present)
    buf_u32(&b, TAG_UMASK, s->umask);
  for (i = 0; i < s->rlimits_len; i++)
    if ((f = buf_field(&b, TAG_RLIMIT, 20)) != NULL)
      {
        vm_put_u32(f, s->rlimits[i].resource);
        put_u64(f + 4, s->rlimits[i].soft);
        put_u64(f + 12, s->rlimits[i].hard);
      }
  buf_flag(&b, TAG_TERMINAL, s->terminal);
  if ((s->rows != 0 || s->cols != 0) && (f = buf_field(&b, TAG_WINSIZE, 4)) != NULL)
    {
      put_u16(f, s->rows);
      put_u16(f + 2, s->cols);
    }
  buf_flag(&b, TAG_NO_NEW_PRIVS, s->no_new_privileges);
  buf_str(&b, TAG_HOSTNAME, s->hostname);
  buf_str(&b, TAG_DOMAINNAME, s->domainname);
  buf_str(&b, TAG_ROOTFS_DEVICE, s->rootfs_device);
  buf_str(&b, TAG_ROOTFS_TYPE, s->rootfs_type);
  buf_flag(&b, TAG_ROOTFS_READONLY, s->rootfs_readonly);
  for (i = 0; i < s->mounts_len; i++)
    {
      const vm_mount_t *m = &s->mounts[i];
      const char *parts[4] = { m->destination, m->type, m->source, m->data };
      size_t lens[4], total = 16, j;
      for (j = 0; j < 4; j++)
        total += (lens[j] = parts[j] != NULL ? strlen(parts[j]) : 0) + 1;
      if ((f = buf_field(&b, TAG_MOUNT, total)) == NULL)
        continue;
      put_u64(f, m->flags);
      put_u64(f + 8, m->propagation);
      f += 16;
      for (j = 0; j < 4; j++)
        {
          if (lens[j] > 0)
            memcpy(f, parts[j], lens[j]);
          f[lens[j]] = '\0';
          f += lens[j] + 1;
        }
    }
  for (i = 0; i < s->files_len; i++)
    {
      const vm_file_t *fl = &s->files[i];
      size_t pl = strlen(fl->path);
      if ((f = buf_field(&b, TAG_FILE, 4 + pl + 1 + fl->content_len)) == NULL)
        continue;
      vm_put_u32(f, fl->mode);
      memcpy(f + 4, fl->path, pl + 1);
      if (fl->content_len > 0)
        memcpy(f + 4 + pl + 1, fl->content, fl->content_len);
    }
  if (b.failed)
    {
      free(b.p);
      return NULL;
    }
  if (b.p == NULL)
    b.p = malloc(1); /* an empty spec is valid; never return NULL for it */
  *ret_len = b.len;
  return b.p;
}

static char *
dup_field(const uint8_t *p, size_t len)
{
  char *s;

  if (memchr(p, '\0', len) != NULL)
    return NULL;
  s = malloc(len + 1);
  if (s == NULL)
    return NULL;
  if (len > 0)
    memcpy(s, p, len);
  s[len] = '\0';
  return s;
}

/* Append to a NULL-terminated vector. */
static bool
strv_add(char ***v, size_t *n, char *s)
{
  char **nv;

  if (s == NULL)
    return false;
  nv = realloc(*v, (*n + 2) * sizeof **v);
  if (nv == NULL)
    {
      free(s);
      return false;
    }
  nv[(*n)++] = s;
  nv[*n] = NULL;
  *v = nv;
  return true;
}

bool
vm_spec_add_arg(vm_spec_t *s, const char *arg)
{
  return strv_add(&s->args, &s->args_len, strdup(arg));
}

bool
vm_spec_add_env(vm_spec_t *s, const char *kv)
{
  return strv_add(&s->env, &s->env_len, strdup(kv));
}

/* One NUL-terminated string at *p (within end); advances *p. */
static char *
take_cstr(const uint8_t **p, const uint8_t *end)
{
  const uint8_t *z = memchr(*p, '\0', (size_t)(end - *p));
  char *s;

  if (z == NULL)
    return NULL;
  s = strdup((const char *)*p);
  *p = z + 1;
  return s;
}

static int
set_str(char **dst, const uint8_t *p, size_t len)
{
  char *s = dup_field(p, len);
  if (s == NULL)
    return -EPROTO;
  free(*dst);
  *dst = s;
  return 0;
}

static int
decode_field(vm_spec_t *s, uint16_t tag, const uint8_t *p, size_t len)
{
  void *n;

  switch (tag)
    {
    case TAG_ARG:
      return strv_add(&s->args, &s->args_len, dup_field(p, len)) ? 0 : -EPROTO;
    case TAG_ENV:
      return strv_add(&s->env, &s->env_len, dup_field(p, len)) ? 0 : -EPROTO;
    case TAG_CWD:
      return set_str(&s->cwd, p, len);
    case TAG_HOSTNAME:
      return set_str(&s->hostname, p, len);
    case TAG_DOMAINNAME:
      return set_str(&s->domainname, p, len);
    case TAG_ROOTFS_DEVICE:
      return set_str(&s->rootfs_device, p, len);
    case TAG_ROOTFS_TYPE:
      return set_str(&s->rootfs_type, p, len);
    case TAG_UID:
    case TAG_GID:
    case TAG_GROUP:
    case TAG_UMASK:
      if (len != 4)
        return -EPROTO;
      if (tag == TAG_UID)
        s->uid = vm_get_u32(p);
      else if (tag == TAG_GID)
        s->gid = vm_get_u32(p);
      else if (tag == TAG_UMASK)
        {
          s->umask = vm_get_u32(p);
          s->umask_present = true;
        }
      else
        {
          n = realloc(s->gids, (s->gids_len + 1) * sizeof *s->gids);
          if (n == NULL)
            return -ENOMEM;
          s->gids = n;
          s->gids[s->gids_len++] = vm_get_u32(p);
        }
      return 0;
    case TAG_RLIMIT:
      if (len != 20)
        return -EPROTO;
      n = realloc(s->rlimits, (s->rlimits_len + 1) * sizeof *s->rlimits);
      if (n == NULL)
        return -ENOMEM;
      s->rlimits = n;
      s->rlimits[s->rlimits_len].resource = vm_get_u32(p);
      s->rlimits[s->rlimits_len].soft = get_u64(p + 4);
      s->rlimits[s->rlimits_len].hard = get_u64(p + 12);
      s->rlimits_len++;
      return 0;
    case TAG_TERMINAL:
      s->terminal = true;
      return len == 0 ? 0 : -EPROTO;
    case TAG_NO_NEW_PRIVS:
      s->no_new_privileges = true;
      return len == 0 ? 0 : -EPROTO;
    case TAG_ROOTFS_READONLY:
      s->rootfs_readonly = true;
      return len == 0 ? 0 : -EPROTO;
    case TAG_WINSIZE:
      if (len != 4)
        return -EPROTO;
      s->rows = get_u16(p);
      s->cols = get_u16(p + 2);
      return 0;
    case TAG_MOUNT:
      {
        const uint8_t *q = p + 16, *end = p + len;
        vm_mount_t m;
        if (len < 16 + 4)
          return -EPROTO;
        memset(&m, 0, sizeof m);
        m.flags = get_u64(p);
        m.propagation = get_u64(p + 8);
        m.destination = take_cstr(&q, end);
        m.type = m.destination ? take_cstr(&q, end) : NULL;
        m.source = m.type ? take_cstr(&q, end) : NULL;
        m.data = m.source ? take_cstr(&q, end) : NULL;
        n = m.data != NULL && q == end ? realloc(s->mounts, (s->mounts_len + 1) * sizeof *s->mounts) : NULL;
        if (n == NULL)
          {
            free(m.destination);
            free(m.type);
            free(m.source);
            free(m.data);
            return -EPROTO;
          }
        if (m.data[0] == '\0')
          {
            free(m.data);
            m.data = NULL;
          }
        s->mounts = n;
        s->mounts[s->mounts_len++] = m;
        return 0;
      }
    case TAG_FILE:
      {
        const uint8_t *q = p + 4, *end = p + len;
        vm_file_t f;
        if (len < 4 + 2)
          return -EPROTO;
        memset(&f, 0, sizeof f);
        f.mode = vm_get_u32(p);
        f.path = take_cstr(&q, end);
        if (f.path == NULL)
          return -EPROTO;
        f.content_len = (size_t)(end - q);
        f.content = malloc(f.content_len + 1);
        n = f.content != NULL ? realloc(s->files, (s->files_len + 1) * sizeof *s->files) : NULL;
        if (n == NULL)
          {
            free(f.path);
            free(f.content);
            return -ENOMEM;
          }
        memcpy(f.content, q, f.content_len);
        f.content[f.content_len] = '\0';
        s->files = n;
        s->files[s->files_len++] = f;
        return 0;
      }
    default:
      /* A newer host's field: ignore it, as unknown config keys are. */
      return 0;
    }
}

int
vm_spec_decode(const uint8_t *p, size_t len, vm_spec_t *ret)
{
  size_t off = 0;

  memset(ret, 0, sizeof *ret);
  while (off < len)
    {
      uint16_t tag;
      uint32_t flen;
      int r;
      if (len - off < 6)
        goto bad;
      tag = get_u16(p + off);
      flen = vm_get_u32(p + off + 2);
      off += 6;
      if (flen > len - off)
        goto bad;
      r = decode_field(ret, tag, p + off, flen);
      if (r < 0)
        {
          vm_spec_release(ret);
          return r;
        }
      off += flen;
    }
  return 0;
bad:
  vm_spec_release(ret);
  return -EPROTO;
}

static void
strv_free(char **v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void
vm_spec_release(vm_spec_t *s)
{
  size_t i;

  if (s == NULL)
    return;
  strv_free(s->args, s->args_len);
  strv_free(s->env, s->env_len);
  free(s->cwd);
  free(s->gids);
  free(s->rlimits);
  free(s->hostname);
  free(s->domainname);
  free(s->rootfs_device);
  free(s->rootfs_type);
  for (i = 0; i < s->mounts_len; i++)
    {
      free(s->mounts[i].destination);
      free(s->mounts[i].type);
      free(s->mounts[i].source);
      free(s->mounts[i].data);
    }
  free(s->mounts);
  for (i = 0; i < s->files_len; i++)
    {
      free(s->files[i].path);
      free(s->files[i].content);
    }
  free(s->files);
  for (i = 0; i < s->shares_len; i++)
    free(s->shares[i].path);
  free(s->shares);
  memset(s, 0, sizeof *s);
}

/* ---- output queues ----------------------------------------------------------------------- */

int
vm_outq_frame(vm_outq_t *q, unsigned type, unsigned flags, uint32_t proc, const void *payload, size_t len)
{
  vm_frame_header_t h = { .len = (uint32_t)len, .type = (uint16_t)type, .flags = (uint16_t)flags, .proc = proc };
  size_t need;

  if (len > VM_FRAME_MAX_PAYLOAD)
    return -EMSGSIZE;
  if (q->off > 0 && q->off == q->len)
    q->off = q->len = 0;
  need = q->len + VM_FRAME_HEADER_SIZE + len;
  if (need > q->cap && q->off > 0)
    {
      /* Reuse the space already written out before growing. */
      memmove(q->buf, q->buf + q->off, q->len - q->off);
      q->len -= q->off;
      q->off = 0;
      need = q->len + VM_FRAME_HEADER_SIZE + len;
    }
  if (need > q->cap)
    {
      size_t cap = q->cap ? q->cap : 16384;
      uint8_t *b;
      while (cap < need)
        cap *= 2;
      b = realloc(q->buf, cap);
      if (b == NULL)
        return -ENOMEM;
      q->buf = b;
      q->cap = cap;
    }
  vm_frame_header_encode(&h, q->buf + q->len);
  if (len > 0)
    memcpy(q->buf + q->len + VM_FRAME_HEADER_SIZE, payload, len);
  q->len = need;
  return 0;
}

int
vm_outq_flush(vm_outq_t *q, int fd)
{
  while (q->off < q->len)
    {
      ssize_t n = write(fd, q->buf + q->off, q->len - q->off);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            return 0;
          return -errno;
        }
      q->off += (size_t)n;
    }
  q->off = q->len = 0;
  return 0;
}

size_t
vm_outq_pending(const vm_outq_t *q)
{
  return q->len - q->off;
}

void
vm_outq_release(vm_outq_t *q)
{
  free(q->buf);
  q->buf = NULL;
  q->off = q->len = q->cap = 0;
}
