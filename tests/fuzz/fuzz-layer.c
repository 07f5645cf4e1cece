/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for image layers (src/image/unpack.c): arbitrary bytes, read as gzip, zstd or
 * plain tar, unpacked into a fresh temporary root.  Beyond "no crash, no leak": a failure must
 * say why, and nothing beside the root may change (a sentinel file and the directory's listing
 * are checked after every input).  The input's length picks the mode (apply or overlay form)
 * and whether the unpack is rootless, so one corpus covers all four. */
#include "config.h"
#include "unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/fuzz-layer.XXXXXX";
static char root[64], sentinel[64];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  if (remove(path) < 0 && errno == EACCES)
    {
      (void)chmod(path, 0700);
      (void)remove(path);
    }
  return 0;
}

static void
cleanup(void)
{
  (void)nftw(base, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
  int fd;

  if (mkdtemp(base) == NULL)
    abort();
  snprintf(root, sizeof root, "%s/root", base);
  snprintf(sentinel, sizeof sentinel, "%s/sentinel", base);
  fd = open(sentinel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, "keep", 4) != 4)
    abort();
  close(fd);
  atexit(cleanup);
}

/* The base holds exactly `root` and the untouched sentinel. */
static void
check_outside(void)
{
  DIR *d = opendir(base);
  struct dirent *de;
  char buf[8];
  struct stat st;
  int n = 0, fd;
  ssize_t len;

  if (d == NULL)
    abort();
  while ((de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (strcmp(de->d_name, "root") != 0 && strcmp(de->d_name, "sentinel") != 0)
        {
          fprintf(stderr, "unpack wrote `%s` beside the root\n", de->d_name);
          abort();
        }
      n++;
    }
  closedir(d);
  fd = open(sentinel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (n != 2 || fd < 0 || fstat(fd, &st) < 0 || st.st_nlink != 1)
    {
      fprintf(stderr, "the sentinel beside the root changed\n");
      abort();
    }
  len = read(fd, buf, sizeof buf);
  close(fd);
  if (len != 4 || memcmp(buf, "keep", 4) != 0)
    {
      fprintf(stderr, "the sentinel's content changed\n");
      abort();
    }
}

/* Mutations of a tar header almost always break its checksum, and libarchive (not instrumented)
 * then refuses the entry before unpack.c sees it: put right the checksum of every block that
 * carries the ustar magic, so that the fuzzer explores names, types, links and sizes. */
static void
fix_checksums(uint8_t *p, size_t size)
{
  size_t off;

  for (off = 0; off + 512 <= size; off += 512)
    {
      uint8_t *h = p + off;
      unsigned sum = 0;
      size_t i;

      if (memcmp(h + 257, "ustar", 5) != 0)
        continue;
      memset(h + 148, ' ', 8);
      for (i = 0; i < 512; i++)
        sum += h[i];
      snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
      h[155] = ' ';
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  isolazi_unpack_opts_t opts
      = { (size & 1) ? ISOLAZI_UNPACK_OVERLAY : ISOLAZI_UNPACK_APPLY, (size & 2) != 0, "layer fuzz", 20000 };
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_unpack_stats_t st;
  uint8_t *copy;
  int layer, root_fd, r;

  if (root[0] == '\0')
    setup();
  if (mkdir(root, 0755) < 0)
    abort();
  root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  layer = memfd_create("layer", MFD_CLOEXEC);
  copy = malloc(size + 1);
  if (copy == NULL)
    abort();
  memcpy(copy, data, size);
  fix_checksums(copy, size);
  if (root_fd < 0 || layer < 0 || (size > 0 && write(layer, copy, size) != (ssize_t)size)
      || lseek(layer, 0, SEEK_SET) < 0)
    abort();
  free(copy);
  r = isolazi_unpack_layer(root_fd, layer, &opts, &st, &err);
  if (r < 0 && (err.msg == NULL || strncmp(err.msg, "unpack layer fuzz: ", 19) != 0))
    {
      fprintf(stderr, "a failure without a proper message: %s\n", err.msg ? err.msg : "(null)");
      abort();
    }
  if (r == 0 && strncmp(st.diff_id, "sha256:", 7) != 0)
    abort();
  isolazi_error_release(&err);
  close(layer);
  close(root_fd);
  check_outside();
  (void)nftw(root, rm_one, 64, FTW_DEPTH | FTW_PHYS);
  if (access(root, F_OK) == 0)
    abort();
  return 0;
}
