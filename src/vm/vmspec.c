/* SPDX-License-Identifier: Apache-2.0 */
/* Deciding, on the host: config.json → the guest's spec (protocol.h) and the machine's size.
 * No system calls beyond stat of bind mounts' sources and reading small bind-mounted files,
 * so that it is unit-tested. */
#define _GNU_SOURCE
#include "config.h"
#include "vm_internal.h"
#include "cleanup.h"
#include "log.h"
#include "process.h"
#include "rootfs.h"
#include "share.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* A bind-mounted regular file up to this size is copied into the guest (podman's /etc/hosts,
 * /etc/resolv.conf, /etc/hostname, /run/.containerenv). */
#define VM_FILE_COPY_MAX (256 * 1024)

int
vm_spec_set_process(vm_spec_t *s, const oci_process *p, isolazi_error_t *err)
{
  size_t i;

  if (p == NULL || p->args_len == 0)
    return isolazi_error_set(err, EINVAL, "config.json: process.args: must not be empty");
  for (i = 0; i < p->args_len; i++)
    if (!vm_spec_add_arg(s, p->args[i]))
      return isolazi_error_set(err, ENOMEM, "encode the process");
  for (i = 0; i < p->env_len; i++)
    if (!vm_spec_add_env(s, p->env[i]))
      return isolazi_error_set(err, ENOMEM, "encode the process");
  free(s->cwd);
  s->cwd = xstrdup(p->cwd != NULL ? p->cwd : "/");
  s->uid = p->user.uid;
  s->gid = p->user.gid;
  s->umask = p->user.umask;
  s->umask_present = p->user.umask_present;
  if (p->user.additional_gids_len > 0)
    {
      s->gids = xcalloc(p->user.additional_gids_len, sizeof *s->gids);
      memcpy(s->gids, p->user.additional_gids, p->user.additional_gids_len * sizeof *s->gids);
      s->gids_len = p->user.additional_gids_len;
    }
  if (p->rlimits_len > 0)
    s->rlimits = xcalloc(p->rlimits_len, sizeof *s->rlimits);
  for (i = 0; i < p->rlimits_len; i++)
    {
      int resource = isolazi_rlimit_resource(p->rlimits[i].type);
      if (resource < 0)
        return isolazi_error_set(err, EINVAL, "config.json: process.rlimits[%zu].type: unknown rlimit `%s`", i,
                                 p->rlimits[i].type != NULL ? p->rlimits[i].type : "");
      s->rlimits[s->rlimits_len].resource = (uint32_t)resource;
      s->rlimits[s->rlimits_len].soft = p->rlimits[i].soft;
      s->rlimits[s->rlimits_len].hard = p->rlimits[i].hard;
      s->rlimits_len++;
    }
  s->terminal = p->terminal;
  if (p->console_size != NULL)
    {
      s->rows = (uint16_t)p->console_size->height;
      s->cols = (uint16_t)p->console_size->width;
    }
  s->no_new_privileges = p->no_new_privileges;
  return 0;
}

/* A bind mount of a small regular file: read it for the guest.  1: copied, 0: not a file. */
static int
copy_bind_file(vm_spec_t *s, const oci_mount *m, isolazi_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *content = NULL;
  struct stat st;
  size_t len = 0;
  vm_file_t *f;

  fd = open(m->source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > VM_FILE_COPY_MAX)
    return 0;
  content = xmalloc((size_t)st.st_size + 1);
  while (len < (size_t)st.st_size)
    {
      ssize_t n = read(fd, content + len, (size_t)st.st_size - len);
      if (n < 0)
        return isolazi_error_errno(err, "read `%s` for the mount on `%s`", m->source, m->destination);
      if (n == 0)
        break;
      len += (size_t)n;
    }
  s->files = xrealloc(s->files, (s->files_len + 1) * sizeof *s->files);
  f = &s->files[s->files_len++];
  f->path = xstrdup(m->destination);
  f->content = steal_pointer(&content);
  f->content_len = len;
  f->mode = st.st_mode & 07777;
  return 1;
}

static const char *
file_kind(mode_t mode)
{
  if (S_ISREG(mode))
    return "regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "device node";
  if (S_ISSOCK(mode))
    return "socket";
  if (S_ISFIFO(mode))
    return "fifo";
  return "file of another kind";
}

int
vm_spec_from_config(const oci_config *c, const char *bundle, vm_spec_t *ret, isolazi_error_t *err)
{
  vm_spec_t s;
  size_t i;

  memset(&s, 0, sizeof s);
  if (vm_spec_set_process(&s, c->process, err) < 0)
    goto fail;
  s.hostname = xstrdup(c->hostname);
  s.domainname = xstrdup(c->domainname);
  s.rootfs_device = xstrdup("/dev/vda");
  s.rootfs_readonly = c->root != NULL && c->root->readonly;
  for (i = 0; i < c->mounts_len; i++)
    {
      const oci_mount *m = &c->mounts[i];
      isolazi_mount_flags_t fl;
      vm_mount_t *vm;
      const char *type = m->type != NULL ? m->type : "none";

      if (m->destination == NULL || m->destination[0] != '/')
        {
          isolazi_error_set(err, EINVAL, "config.json: mounts[%zu].destination: must be an absolute path", i);
          goto fail;
        }
      memset(&fl, 0, sizeof fl);
      if (isolazi_mount_flags_parse(m->options, m->options_len, &fl, err) < 0)
        {
          isolazi_error_wrap(err, "config.json: mounts[%zu].options", i);
          goto fail;
        }
      if (fl.bind || strcmp(type, "bind") == 0)
        {
          struct stat st;
          int r;

          if (m->source == NULL || m->source[0] == '\0')
            {
              isolazi_mount_flags_release(&fl);
              isolazi_error_set(err, EINVAL, "config.json: mounts[%zu].source: a bind mount needs a source", i);
              goto fail;
            }
          if (stat(m->source, &st) < 0)
            {
              isolazi_mount_flags_release(&fl);
              isolazi_error_errno(err, "config.json: mounts[%zu].source: `%s`", i, m->source);
              goto fail;
            }
          if (S_ISDIR(st.st_mode))
            {
              bool ro = (fl.flags & MS_RDONLY) != 0 || (fl.rec_attr_set & MOUNT_ATTR_RDONLY) != 0;
              /* A share (share.h): the guest mounts it at this place in the list, as mounts may
               * nest; the host serves the directory.  Propagation means nothing there. */
              s.shares = xrealloc(s.shares, (s.shares_len + 1) * sizeof *s.shares);
              s.shares[s.shares_len] = (vm_share_dir_t){ .path = xstrdup(m->source), .readonly = ro, .mount_index = i };
              s.mounts = xrealloc(s.mounts, (s.mounts_len + 1) * sizeof *s.mounts);
              vm = &s.mounts[s.mounts_len++];
              memset(vm, 0, sizeof *vm);
              vm->destination = xstrdup(m->destination);
              vm->type = xstrdup(VM_SHARE_MOUNT_TYPE);
              vm->source = xasprintf("%zu", s.shares_len++);
              /* For the guest's errors: which mount of config.json this is. */
              vm->data = xasprintf("mounts[%zu]", i);
              vm->flags = (fl.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) | (ro ? MS_RDONLY : 0);
              isolazi_mount_flags_release(&fl);
              continue;
            }
          r = !s.rootfs_readonly ? copy_bind_file(&s, m, err) : 0;
          isolazi_mount_flags_release(&fl);
          if (r < 0)
            goto fail;
          if (r == 0)
            isolazi_debug("vm: skipping the bind mount of `%s` on `%s`: a %s is neither a directory (shared) nor "
                          "a regular file up to %d KiB (copied)%s",
                          m->source, m->destination, file_kind(st.st_mode), VM_FILE_COPY_MAX / 1024,
                          s.rootfs_readonly ? " and the root is read-only" : "");
          continue;
        }
      s.mounts = xrealloc(s.mounts, (s.mounts_len + 1) * sizeof *s.mounts);
      vm = &s.mounts[s.mounts_len++];
      memset(vm, 0, sizeof *vm);
      vm->destination = xstrdup(m->destination);
      vm->type = xstrdup(type);
      vm->source = xstrdup(m->source != NULL ? m->source : type);
      vm->data = steal_pointer(&fl.data);
      vm->flags = fl.flags;
      vm->propagation = fl.propagation;
      isolazi_mount_flags_release(&fl);
    }
  (void)bundle;
  *ret = s;
  return 0;
fail:
  vm_spec_release(&s);
  return -1;
}

void
vm_machine_from_config(const oci_config *c, unsigned host_cpus, vm_machine_t *ret)
{
  const oci_resources *r = c != NULL && c->linux_ != NULL ? c->linux_->resources : NULL;

  ret->ram_mib = VM_DEFAULT_RAM_MIB;
  ret->vcpus = 1;
  if (r != NULL && r->memory != NULL && r->memory->limit_present && r->memory->limit > 0)
    {
      int64_t mib = (r->memory->limit + (1 << 20) - 1) >> 20;
      ret->ram_mib = mib < VM_MIN_RAM_MIB ? VM_MIN_RAM_MIB : mib > 1 << 20 ? 1 << 20 : (unsigned)mib;
    }
  if (r != NULL && r->cpu != NULL && r->cpu->quota_present && r->cpu->quota > 0)
    {
      uint64_t period = r->cpu->period_present && r->cpu->period > 0 ? r->cpu->period : 100000;
      uint64_t n = ((uint64_t)r->cpu->quota + period - 1) / period;
      ret->vcpus = n < 1 ? 1 : n > 255 ? 255 : (unsigned)n;
    }
  if (host_cpus > 0 && ret->vcpus > host_cpus)
    ret->vcpus = host_cpus;
}
