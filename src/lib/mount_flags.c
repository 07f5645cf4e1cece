/* SPDX-License-Identifier: Apache-2.0 */
/* Mount options (config.json mounts[].options) to mount(2) flags, propagation and data.
 * Pure: no system calls, unit-tested in tests/unit/test-mount-flags.c. */
#include "config.h"
#include "rootfs.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "utils.h"

/* runc's table (libcontainer/specconv): `clear` means the option removes the flag ("rw" removes
 * MS_RDONLY). */
struct flag_option
{
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct flag_option flag_options[] = {
  { "defaults", false, 0 },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "suid", true, MS_NOSUID },
  { "nosuid", false, MS_NOSUID },
  { "dev", true, MS_NODEV },
  { "nodev", false, MS_NODEV },
  { "exec", true, MS_NOEXEC },
  { "noexec", false, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS },
  { "async", true, MS_SYNCHRONOUS },
  { "dirsync", false, MS_DIRSYNC },
  { "remount", false, MS_REMOUNT },
  { "mand", false, MS_MANDLOCK },
  { "nomand", true, MS_MANDLOCK },
  { "atime", true, MS_NOATIME },
  { "noatime", false, MS_NOATIME },
  { "diratime", true, MS_NODIRATIME },
  { "nodiratime", false, MS_NODIRATIME },
  { "relatime", false, MS_RELATIME },
  { "norelatime", true, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME },
  { "nostrictatime", true, MS_STRICTATIME },
  { "iversion", false, MS_I_VERSION },
  { "noiversion", true, MS_I_VERSION },
  { "lazytime", false, MS_LAZYTIME },
  { "nolazytime", true, MS_LAZYTIME },
  { "silent", false, MS_SILENT },
  { "loud", true, MS_SILENT },
  { "symfollow", true, MS_NOSYMFOLLOW },
  { "nosymfollow", false, MS_NOSYMFOLLOW },
};

/* runc 1.1's recursive attributes (mount_setattr(2) with AT_RECURSIVE, kernel >= 5.12). */
struct rec_option
{
  const char *name;
  bool clear;
  uint64_t attr;
};

static const struct rec_option rec_options[] = {
  { "rro", false, MOUNT_ATTR_RDONLY },
  { "rrw", true, MOUNT_ATTR_RDONLY },
  { "rnosuid", false, MOUNT_ATTR_NOSUID },
  { "rsuid", true, MOUNT_ATTR_NOSUID },
  { "rnodev", false, MOUNT_ATTR_NODEV },
  { "rdev", true, MOUNT_ATTR_NODEV },
  { "rnoexec", false, MOUNT_ATTR_NOEXEC },
  { "rexec", true, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", false, MOUNT_ATTR_NODIRATIME },
  { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
  { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW },
  { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
  /* The atime field is one value: set the mode and clear the whole field. */
  { "rrelatime", false, MOUNT_ATTR_RELATIME },
  { "rnoatime", false, MOUNT_ATTR_NOATIME },
  { "rstrictatime", false, MOUNT_ATTR_STRICTATIME },
  { "ratime", false, MOUNT_ATTR_RELATIME },
};

struct propagation_option
{
  const char *name;
  unsigned long flags;
};

static const struct propagation_option propagation_options[] = {
  { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

int
isolazi_mount_propagation_parse(const char *s, unsigned long *ret, isolazi_error_t *err)
{
  size_t i;

  *ret = 0;
  if (s == NULL || *s == '\0')
    return 0;
  for (i = 0; i < N_ELEMENTS(propagation_options); i++)
    if (strcmp(s, propagation_options[i].name) == 0)
      {
        *ret = propagation_options[i].flags;
        return 0;
      }
  return isolazi_error_set(err, 0, "parse propagation `%s`: unknown propagation mode", s);
}

static void
append_data(char **data, const char *opt)
{
  char *joined;

  if (*data == NULL)
    {
      *data = xstrdup(opt);
      return;
    }
  joined = xasprintf("%s,%s", *data, opt);
  free(*data);
  *data = joined;
}

static bool
parse_one(const char *opt, isolazi_mount_flags_t *f)
{
  size_t i;

  for (i = 0; i < N_ELEMENTS(flag_options); i++)
    if (strcmp(opt, flag_options[i].name) == 0)
      {
        unsigned long fl = flag_options[i].flag;
        if (flag_options[i].clear)
          {
            f->flags &= ~fl;
            f->clear |= fl;
          }
        else
          {
            f->flags |= fl;
            f->clear &= ~fl;
          }
        return true;
      }
  for (i = 0; i < N_ELEMENTS(rec_options); i++)
    if (strcmp(opt, rec_options[i].name) == 0)
      {
        uint64_t a = rec_options[i].attr;
        if (a == MOUNT_ATTR_RELATIME || a == MOUNT_ATTR_NOATIME || a == MOUNT_ATTR_STRICTATIME)
          {
            f->rec_attr_set = (f->rec_attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | a;
            f->rec_attr_clr |= MOUNT_ATTR__ATIME;
          }
        else if (rec_options[i].clear)
          {
            f->rec_attr_set &= ~a;
            f->rec_attr_clr |= a;
          }
        else
          {
            f->rec_attr_set |= a;
            f->rec_attr_clr &= ~a;
          }
        return true;
      }
  for (i = 0; i < N_ELEMENTS(propagation_options); i++)
    if (strcmp(opt, propagation_options[i].name) == 0)
      {
        /* The last propagation option wins, as a second mount(2) call would override the first. */
        f->propagation = propagation_options[i].flags;
        if (f->propagation & MS_REC)
          f->recursive = true;
        return true;
      }
  if (strcmp(opt, "bind") == 0)
    {
      f->bind = true;
      f->flags |= MS_BIND;
      return true;
    }
  if (strcmp(opt, "rbind") == 0)
    {
      f->bind = true;
      f->recursive = true;
      f->flags |= MS_BIND | MS_REC;
      return true;
    }
  if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0)
    {
      f->idmap = true;
      if (opt[0] == 'r')
        f->recursive = true;
      return true;
    }
  if (strcmp(opt, "tmpcopyup") == 0)
    {
      f->tmpcopyup = true;
      return true;
    }
  return false;
}

int
isolazi_mount_flags_parse(char *const *options, size_t n, isolazi_mount_flags_t *ret, isolazi_error_t *err)
{
  isolazi_mount_flags_t f;
  size_t i;

  memset(&f, 0, sizeof f);
  for (i = 0; i < n; i++)
    {
      const char *opt = options[i];

      if (opt == NULL)
        {
          isolazi_mount_flags_release(&f);
          return isolazi_error_set(err, 0, "parse mount options: option %zu is null", i);
        }
      if (*opt == '\0')
        continue;
      /* Anything else is filesystem specific ("mode=755", "newinstance", "size=65536k"): mount(2)
         gets it as data, comma-joined in the order given (runc does the same). */
      if (!parse_one(opt, &f))
        append_data(&f.data, opt);
    }
  *ret = f;
  return 0;
}

void
isolazi_mount_flags_release(isolazi_mount_flags_t *f)
{
  if (f == NULL)
    return;
  free(f->data);
  f->data = NULL;
}

void
isolazi_mount_flags_to_attr(unsigned long flags, unsigned long clear, uint64_t *set, uint64_t *clr)
{
  static const struct
  {
    unsigned long ms;
    uint64_t attr;
  } map[] = {
    { MS_RDONLY, MOUNT_ATTR_RDONLY },         { MS_NOSUID, MOUNT_ATTR_NOSUID },
    { MS_NODEV, MOUNT_ATTR_NODEV },           { MS_NOEXEC, MOUNT_ATTR_NOEXEC },
    { MS_NODIRATIME, MOUNT_ATTR_NODIRATIME }, { MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW },
  };
  size_t i;

  *set = 0;
  *clr = 0;
  for (i = 0; i < N_ELEMENTS(map); i++)
    {
      if (flags & map[i].ms)
        *set |= map[i].attr;
      else if (clear & map[i].ms)
        *clr |= map[i].attr;
    }
  /* MOUNT_ATTR__ATIME is a 3-value field: to change it, clear the whole field and set one mode.
     Precedence as the kernel's mount(2) path: noatime over strictatime over relatime. */
  if (flags & MS_NOATIME)
    *set |= MOUNT_ATTR_NOATIME;
  else if (flags & MS_STRICTATIME)
    *set |= MOUNT_ATTR_STRICTATIME;
  else if (flags & MS_RELATIME)
    *set |= MOUNT_ATTR_RELATIME;
  /* "atime" / "norelatime" alone leave the field as it is (mount(2) would fall back to its
     relatime default, which is what a fresh bind already has). */
  if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
    *clr |= MOUNT_ATTR__ATIME;
}
