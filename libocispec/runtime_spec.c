/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime-spec 1.2 documents as schema tables (config.md, config-linux.md, runtime.md "State",
 * features.md), and the public parse/write/free functions over them.  Rows are in the order of
 * the spec's Go bindings (specs-go), which is the order runc writes, so our output diffs cleanly
 * against runc's. */
#include "config.h"
#include "ocispec.h"
#include "schema.h"
#include "schema_rows.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Object-keyed maps keep the JSON key in the element's first member (schema.h, SK_OBJECT_MAP). */
_Static_assert(offsetof(oci_time_offset, clock) == 0, "map key first");
_Static_assert(offsetof(oci_rdma_entry, name) == 0, "map key first");
_Static_assert(offsetof(oci_net_device, host_name) == 0, "map key first");

/* ---- process (config.md "Process") ---- */

TYPE(static, oci_box, U32(oci_box, "height", height), U32(oci_box, "width", width));

TYPE(static, oci_user, U32(oci_user, "uid", uid), U32(oci_user, "gid", gid), OPT_U32(oci_user, "umask", umask),
     U32S(oci_user, "additionalGids", additional_gids), STR(oci_user, "username", username));

TYPE(static, oci_capabilities, STRS(oci_capabilities, "bounding", bounding),
     STRS(oci_capabilities, "effective", effective), STRS(oci_capabilities, "inheritable", inheritable),
     STRS(oci_capabilities, "permitted", permitted), STRS(oci_capabilities, "ambient", ambient));

TYPE(static, oci_rlimit, STR(oci_rlimit, "type", type), U64(oci_rlimit, "hard", hard), U64(oci_rlimit, "soft", soft));

TYPE(static, oci_scheduler, STR(oci_scheduler, "policy", policy), OPT_I32(oci_scheduler, "nice", nice),
     OPT_I32(oci_scheduler, "priority", priority), STRS(oci_scheduler, "flags", flags),
     OPT_U64(oci_scheduler, "runtime", runtime), OPT_U64(oci_scheduler, "deadline", deadline),
     OPT_U64(oci_scheduler, "period", period));

TYPE(static, oci_io_priority, STR(oci_io_priority, "class", klass), I32(oci_io_priority, "priority", priority));

TYPE(static, oci_exec_cpu_affinity, STR(oci_exec_cpu_affinity, "initial", initial),
     STR(oci_exec_cpu_affinity, "final", final));

TYPE(, oci_process, BOOL_OMIT(oci_process, "terminal", terminal),
     OBJ(oci_process, "consoleSize", console_size, oci_box), INLINE(oci_process, "user", user, oci_user),
     STRS(oci_process, "args", args), STR(oci_process, "commandLine", command_line), STRS(oci_process, "env", env),
     STR(oci_process, "cwd", cwd), OBJ(oci_process, "capabilities", capabilities, oci_capabilities),
     OBJS(oci_process, "rlimits", rlimits, oci_rlimit), BOOL_OMIT(oci_process, "noNewPrivileges", no_new_privileges),
     STR(oci_process, "apparmorProfile", apparmor_profile), OPT_I32(oci_process, "oomScoreAdj", oom_score_adj),
     OBJ(oci_process, "scheduler", scheduler, oci_scheduler), STR(oci_process, "selinuxLabel", selinux_label),
     OBJ(oci_process, "ioPriority", io_priority, oci_io_priority),
     OBJ(oci_process, "execCPUAffinity", exec_cpu_affinity, oci_exec_cpu_affinity));

/* ---- root, mounts, hooks ---- */

TYPE(static, oci_root, STR(oci_root, "path", path), BOOL_OMIT(oci_root, "readonly", readonly));

TYPE(static, oci_id_mapping, U32(oci_id_mapping, "containerID", container_id), U32(oci_id_mapping, "hostID", host_id),
     U32(oci_id_mapping, "size", size));

TYPE(static, oci_mount, STR(oci_mount, "destination", destination), STR(oci_mount, "type", type),
     STR(oci_mount, "source", source), STRS(oci_mount, "options", options),
     OBJS(oci_mount, "uidMappings", uid_mappings, oci_id_mapping),
     OBJS(oci_mount, "gidMappings", gid_mappings, oci_id_mapping));

TYPE(static, oci_hook, STR(oci_hook, "path", path), STRS(oci_hook, "args", args), STRS(oci_hook, "env", env),
     OPT_I64(oci_hook, "timeout", timeout));

TYPE(static, oci_hooks, OBJS(oci_hooks, "prestart", prestart, oci_hook),
     OBJS(oci_hooks, "createRuntime", create_runtime, oci_hook),
     OBJS(oci_hooks, "createContainer", create_container, oci_hook),
     OBJS(oci_hooks, "startContainer", start_container, oci_hook), OBJS(oci_hooks, "poststart", poststart, oci_hook),
     OBJS(oci_hooks, "poststop", poststop, oci_hook));

/* ---- linux (config-linux.md) ---- */

TYPE(static, oci_namespace, STR(oci_namespace, "type", type), STR(oci_namespace, "path", path));

TYPE(static, oci_device, STR(oci_device, "path", path), STR(oci_device, "type", type),
     OPT_I64(oci_device, "major", major), OPT_I64(oci_device, "minor", minor),
     OPT_U32(oci_device, "fileMode", file_mode), OPT_U32(oci_device, "uid", uid), OPT_U32(oci_device, "gid", gid));

TYPE(static, oci_device_cgroup, BOOL(oci_device_cgroup, "allow", allow), STR(oci_device_cgroup, "type", type),
     OPT_I64(oci_device_cgroup, "major", major), OPT_I64(oci_device_cgroup, "minor", minor),
     STR(oci_device_cgroup, "access", access));

TYPE(static, oci_memory, OPT_I64(oci_memory, "limit", limit), OPT_I64(oci_memory, "reservation", reservation),
     OPT_I64(oci_memory, "swap", swap), OPT_I64(oci_memory, "kernel", kernel),
     OPT_I64(oci_memory, "kernelTCP", kernel_tcp), OPT_U64(oci_memory, "swappiness", swappiness),
     OPT_BOOL(oci_memory, "disableOOMKiller", disable_oom_killer), OPT_BOOL(oci_memory, "useHierarchy", use_hierarchy),
     OPT_BOOL(oci_memory, "checkBeforeUpdate", check_before_update));

TYPE(static, oci_cpu, OPT_U64(oci_cpu, "shares", shares), OPT_I64(oci_cpu, "quota", quota),
     OPT_U64(oci_cpu, "burst", burst), OPT_U64(oci_cpu, "period", period),
     OPT_I64(oci_cpu, "realtimeRuntime", realtime_runtime), OPT_U64(oci_cpu, "realtimePeriod", realtime_period),
     STR(oci_cpu, "cpus", cpus), STR(oci_cpu, "mems", mems), OPT_I64(oci_cpu, "idle", idle));

TYPE(static, oci_pids, OPT_I64(oci_pids, "limit", limit));

TYPE(static, oci_weight_device, I64(oci_weight_device, "major", major), I64(oci_weight_device, "minor", minor),
     OPT_U16(oci_weight_device, "weight", weight), OPT_U16(oci_weight_device, "leafWeight", leaf_weight));

TYPE(static, oci_throttle_device, I64(oci_throttle_device, "major", major), I64(oci_throttle_device, "minor", minor),
     U64(oci_throttle_device, "rate", rate));

TYPE(static, oci_block_io, OPT_U16(oci_block_io, "weight", weight), OPT_U16(oci_block_io, "leafWeight", leaf_weight),
     OBJS(oci_block_io, "weightDevice", weight_device, oci_weight_device),
     OBJS(oci_block_io, "throttleReadBpsDevice", throttle_read_bps_device, oci_throttle_device),
     OBJS(oci_block_io, "throttleWriteBpsDevice", throttle_write_bps_device, oci_throttle_device),
     OBJS(oci_block_io, "throttleReadIOPSDevice", throttle_read_iops_device, oci_throttle_device),
     OBJS(oci_block_io, "throttleWriteIOPSDevice", throttle_write_iops_device, oci_throttle_device));

TYPE(static, oci_hugepage_limit, STR(oci_hugepage_limit, "pageSize", page_size),
     U64(oci_hugepage_limit, "limit", limit));

TYPE(static, oci_interface_priority, STR(oci_interface_priority, "name", name),
     U32(oci_interface_priority, "priority", priority));

TYPE(static, oci_network, OPT_U32(oci_network, "classID", class_id),
     OBJS(oci_network, "priorities", priorities, oci_interface_priority));

/* The device name (the map key) is not a field of the value. */
TYPE(static, oci_rdma_entry, OPT_U32(oci_rdma_entry, "hcaHandles", hca_handles),
     OPT_U32(oci_rdma_entry, "hcaObjects", hca_objects));

TYPE(, oci_resources, OBJS(oci_resources, "devices", devices, oci_device_cgroup),
     OBJ(oci_resources, "memory", memory, oci_memory), OBJ(oci_resources, "cpu", cpu, oci_cpu),
     OBJ(oci_resources, "pids", pids, oci_pids), OBJ(oci_resources, "blockIO", block_io, oci_block_io),
     OBJS(oci_resources, "hugepageLimits", hugepage_limits, oci_hugepage_limit),
     OBJ(oci_resources, "network", network, oci_network), OMAP(oci_resources, "rdma", rdma, oci_rdma_entry),
     MAP(oci_resources, "unified", unified));

TYPE(static, oci_seccomp_arg, U32(oci_seccomp_arg, "index", index), U64(oci_seccomp_arg, "value", value),
     OPT_U64(oci_seccomp_arg, "valueTwo", value_two), STR(oci_seccomp_arg, "op", op));

TYPE(static, oci_seccomp_syscall, STRS(oci_seccomp_syscall, "names", names), STR(oci_seccomp_syscall, "action", action),
     OPT_U32(oci_seccomp_syscall, "errnoRet", errno_ret), OBJS(oci_seccomp_syscall, "args", args, oci_seccomp_arg));

TYPE(static, oci_seccomp, STR(oci_seccomp, "defaultAction", default_action),
     OPT_U32(oci_seccomp, "defaultErrnoRet", default_errno_ret), STRS(oci_seccomp, "architectures", architectures),
     STRS(oci_seccomp, "flags", flags), STR(oci_seccomp, "listenerPath", listener_path),
     STR(oci_seccomp, "listenerMetadata", listener_metadata),
     OBJS(oci_seccomp, "syscalls", syscalls, oci_seccomp_syscall));

TYPE(static, oci_personality, STR(oci_personality, "domain", domain), STRS(oci_personality, "flags", flags));

TYPE(static, oci_time_offset, I64(oci_time_offset, "secs", secs), U32(oci_time_offset, "nanosecs", nanosecs));

TYPE(static, oci_intel_rdt, STR(oci_intel_rdt, "closID", clos_id), STR(oci_intel_rdt, "l3CacheSchema", l3_cache_schema),
     STR(oci_intel_rdt, "memBwSchema", mem_bw_schema), BOOL_OMIT(oci_intel_rdt, "enableCMT", enable_cmt),
     BOOL_OMIT(oci_intel_rdt, "enableMBM", enable_mbm));

TYPE(static, oci_net_device, STR(oci_net_device, "name", name));

TYPE(static, oci_linux, OBJS(oci_linux, "uidMappings", uid_mappings, oci_id_mapping),
     OBJS(oci_linux, "gidMappings", gid_mappings, oci_id_mapping), MAP(oci_linux, "sysctl", sysctl),
     OBJ(oci_linux, "resources", resources, oci_resources), STR(oci_linux, "cgroupsPath", cgroups_path),
     OBJS(oci_linux, "namespaces", namespaces, oci_namespace), OBJS(oci_linux, "devices", devices, oci_device),
     OBJ(oci_linux, "seccomp", seccomp, oci_seccomp), STR(oci_linux, "rootfsPropagation", rootfs_propagation),
     STRS(oci_linux, "maskedPaths", masked_paths), STRS(oci_linux, "readonlyPaths", readonly_paths),
     STR(oci_linux, "mountLabel", mount_label), OBJ(oci_linux, "intelRdt", intel_rdt, oci_intel_rdt),
     OBJ(oci_linux, "personality", personality, oci_personality),
     OMAP(oci_linux, "timeOffsets", time_offsets, oci_time_offset),
     OMAP(oci_linux, "netDevices", net_devices, oci_net_device));

/* ---- the documents ---- */

TYPE(, oci_config, STR(oci_config, "ociVersion", oci_version), OBJ(oci_config, "process", process, oci_process),
     OBJ(oci_config, "root", root, oci_root), STR(oci_config, "hostname", hostname),
     STR(oci_config, "domainname", domainname), OBJS(oci_config, "mounts", mounts, oci_mount),
     OBJ(oci_config, "hooks", hooks, oci_hooks), MAP(oci_config, "annotations", annotations),
     OBJ(oci_config, "linux", linux_, oci_linux));

/* runtime.md "State", plus runc's rootfs/created/owner in runc's order. */
TYPE(, oci_state, STR(oci_state, "ociVersion", oci_version), STR(oci_state, "id", id), OPT_I64(oci_state, "pid", pid),
     STR(oci_state, "status", status), STR(oci_state, "bundle", bundle), STR(oci_state, "rootfs", rootfs),
     STR(oci_state, "created", created), MAP(oci_state, "annotations", annotations), STR(oci_state, "owner", owner));

/* features.md */
TYPE(static, oci_features_enabled, OPT_BOOL(oci_features_enabled, "enabled", enabled));

TYPE(static, oci_features_cgroup, OPT_BOOL(oci_features_cgroup, "v1", v1), OPT_BOOL(oci_features_cgroup, "v2", v2),
     OPT_BOOL(oci_features_cgroup, "systemd", systemd), OPT_BOOL(oci_features_cgroup, "systemdUser", systemd_user),
     OPT_BOOL(oci_features_cgroup, "rdma", rdma));

TYPE(static, oci_features_seccomp, OPT_BOOL(oci_features_seccomp, "enabled", enabled),
     STRS(oci_features_seccomp, "actions", actions), STRS(oci_features_seccomp, "operators", operators),
     STRS(oci_features_seccomp, "archs", archs), STRS(oci_features_seccomp, "knownFlags", known_flags),
     STRS(oci_features_seccomp, "supportedFlags", supported_flags));

TYPE(static, oci_features_mount_extensions, OBJ(oci_features_mount_extensions, "idmap", idmap, oci_features_enabled));

TYPE(static, oci_features_linux, STRS(oci_features_linux, "namespaces", namespaces),
     STRS(oci_features_linux, "capabilities", capabilities),
     OBJ(oci_features_linux, "cgroup", cgroup, oci_features_cgroup),
     OBJ(oci_features_linux, "seccomp", seccomp, oci_features_seccomp),
     OBJ(oci_features_linux, "apparmor", apparmor, oci_features_enabled),
     OBJ(oci_features_linux, "selinux", selinux, oci_features_enabled),
     OBJ(oci_features_linux, "intelRdt", intel_rdt, oci_features_enabled),
     OBJ(oci_features_linux, "mountExtensions", mount_extensions, oci_features_mount_extensions));

TYPE(, oci_features, STR(oci_features, "ociVersionMin", oci_version_min),
     STR(oci_features, "ociVersionMax", oci_version_max), STRS(oci_features, "hooks", hooks),
     STRS(oci_features, "mountOptions", mount_options), OBJ(oci_features, "linux", linux_, oci_features_linux),
     MAP(oci_features, "annotations", annotations),
     STRS(oci_features, "potentiallyUnsafeConfigAnnotations", potentially_unsafe_config_annotations));

/* ---- public functions ---- */

const char *
oci_string_map_get(const oci_string_map *m, const char *key)
{
  size_t i;

  if (m == NULL || key == NULL)
    return NULL;
  /* The parser keeps one entry per key; search from the end anyway so that a map built by hand
     with duplicates behaves like JSON's last-wins. */
  for (i = m->len; i > 0; i--)
    if (m->keys[i - 1] != NULL && strcmp(m->keys[i - 1], key) == 0)
      return m->values[i - 1];
  return NULL;
}

#define DOCUMENT(name, T)                                                                                              \
  T *name##_parse(const char *source, const char *text, size_t len, char **err)                                        \
  {                                                                                                                    \
    return schema_parse_document(&T##_type, source, text, len, err);                                                   \
  }                                                                                                                    \
  void name##_free(T *obj)                                                                                             \
  {                                                                                                                    \
    schema_free(&T##_type, obj);                                                                                       \
  }                                                                                                                    \
  char *name##_write(const T *obj, bool pretty, char **err)                                                            \
  {                                                                                                                    \
    return schema_write_document(&T##_type, obj, pretty, err);                                                         \
  }

DOCUMENT(oci_config, oci_config)
DOCUMENT(oci_process, oci_process)
DOCUMENT(oci_state, oci_state)
DOCUMENT(oci_features, oci_features)
DOCUMENT(oci_resources, oci_resources)

/* Go's error text is lower case ("open config.json: no such file or directory"); runc users and
   scripts match on it. */
static char *
errno_message(const char *verb, const char *path, int errnum)
{
  char buf[256], *msg = NULL;
  const char *s = strerror_r(errnum, buf, sizeof buf);

  if (asprintf(&msg, "%s `%s`: %s", verb, path, s) < 0)
    return strdup("out of memory");
  {
    char *p = msg + strlen(verb) + strlen(path) + 5;
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  }
  return msg;
}

oci_config *
oci_config_parse_file(const char *path, char **err)
{
  char *buf = NULL, *tmp;
  size_t len = 0, cap = 0;
  oci_config *c;
  int fd, saved;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      if (err != NULL)
        *err = errno_message("open", path, errno);
      return NULL;
    }
  for (;;)
    {
      ssize_t n;

      if (len == cap)
        {
          cap = cap ? cap * 2 : 16384;
          tmp = realloc(buf, cap);
          if (tmp == NULL)
            {
              free(buf);
              close(fd);
              if (err != NULL)
                *err = strdup("out of memory");
              return NULL;
            }
          buf = tmp;
        }
      n = read(fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved = errno;
          free(buf);
          close(fd);
          if (err != NULL)
            *err = errno_message("read", path, saved);
          return NULL;
        }
      if (n == 0)
        break;
      len += (size_t)n;
    }
  close(fd);
  c = oci_config_parse(path, buf, len, err);
  free(buf);
  return c;
}

char **
oci_config_unknown_keys(const char *text, size_t len, char **err)
{
  return schema_unknown_keys(&oci_config_type, "config.json", text, len, err);
}

char **
oci_process_unknown_keys(const char *text, size_t len, char **err)
{
  return schema_unknown_keys(&oci_process_type, "process.json", text, len, err);
}

void
oci_string_list_free(char **list)
{
  size_t i;

  if (list == NULL)
    return;
  for (i = 0; list[i] != NULL; i++)
    free(list[i]);
  free(list);
}

bool
oci_config_equal(const oci_config *a, const oci_config *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return schema_equal(&oci_config_type, a, b);
}
