/* SPDX-License-Identifier: Apache-2.0 */
/* The typed OCI runtime-spec 1.2 data model: config.json, process.json (exec), state and
 * features documents.
 *
 * Conventions:
 *  - strings are malloc'd, NUL-terminated, NULL when absent;
 *  - arrays are `T *name; size_t name_len;` (string arrays are also NULL-terminated);
 *  - optional scalars have a companion `bool name_present`;
 *  - optional objects are pointers, NULL when absent;
 *  - JSON names are the spec's camelCase; C names are snake_case of the same words.
 * Parsers ignore unknown keys (runtime-spec: "MUST ignore unknown properties"); the strict
 * validator reports them.  Errors name the file and the JSON path, e.g.
 *   config.json: process.args: expected an array of strings */
#ifndef OCISPEC_OCISPEC_H
#define OCISPEC_OCISPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oci_string_map
{
  char **keys;
  char **values;
  size_t len;
} oci_string_map;

/* Returns the value for key, or NULL. */
const char *oci_string_map_get(const oci_string_map *m, const char *key);

/* ---- process ---- */

typedef struct oci_box
{
  uint32_t height;
  uint32_t width;
} oci_box;

typedef struct oci_user
{
  uint32_t uid;
  uint32_t gid;
  uint32_t umask;
  bool umask_present;
  uint32_t *additional_gids;
  size_t additional_gids_len;
  char *username; /* Windows only; kept for round trips */
} oci_user;

typedef struct oci_capabilities
{
  char **bounding;
  size_t bounding_len;
  char **effective;
  size_t effective_len;
  char **inheritable;
  size_t inheritable_len;
  char **permitted;
  size_t permitted_len;
  char **ambient;
  size_t ambient_len;
} oci_capabilities;

typedef struct oci_rlimit
{
  char *type; /* "RLIMIT_NOFILE" */
  uint64_t hard;
  uint64_t soft;
} oci_rlimit;

typedef struct oci_scheduler
{
  char *policy; /* SCHED_OTHER, SCHED_FIFO, ... (required when scheduler is present) */
  int32_t nice;
  bool nice_present;
  int32_t priority;
  bool priority_present;
  char **flags;
  size_t flags_len;
  uint64_t runtime;
  bool runtime_present;
  uint64_t deadline;
  bool deadline_present;
  uint64_t period;
  bool period_present;
} oci_scheduler;

typedef struct oci_io_priority
{
  char *klass; /* JSON "class": IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE */
  int32_t priority;
} oci_io_priority;

typedef struct oci_exec_cpu_affinity
{
  char *initial;
  char *final;
} oci_exec_cpu_affinity;

typedef struct oci_process
{
  bool terminal;
  oci_box *console_size;
  oci_user user;
  char **args;
  size_t args_len;
  char *command_line; /* Windows only */
  char **env;
  size_t env_len;
  char *cwd; /* required for config.json */
  oci_capabilities *capabilities;
  oci_rlimit *rlimits;
  size_t rlimits_len;
  bool no_new_privileges;
  char *apparmor_profile;
  int32_t oom_score_adj;
  bool oom_score_adj_present;
  char *selinux_label;
  oci_scheduler *scheduler;
  oci_io_priority *io_priority;
  oci_exec_cpu_affinity *exec_cpu_affinity;
} oci_process;

/* ---- root, mounts, hooks ---- */

typedef struct oci_root
{
  char *path;
  bool readonly;
} oci_root;

typedef struct oci_id_mapping
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
} oci_id_mapping;

typedef struct oci_mount
{
  char *destination;
  char *type;
  char *source;
  char **options;
  size_t options_len;
  oci_id_mapping *uid_mappings;
  size_t uid_mappings_len;
  oci_id_mapping *gid_mappings;
  size_t gid_mappings_len;
} oci_mount;

typedef struct oci_hook
{
  char *path;
  char **args;
  size_t args_len;
  char **env;
  size_t env_len;
  int64_t timeout; /* seconds, > 0 */
  bool timeout_present;
} oci_hook;

typedef struct oci_hooks
{
  oci_hook *prestart; /* deprecated, still run (between createRuntime and createContainer time) */
  size_t prestart_len;
  oci_hook *create_runtime;
  size_t create_runtime_len;
  oci_hook *create_container;
  size_t create_container_len;
  oci_hook *start_container;
  size_t start_container_len;
  oci_hook *poststart;
  size_t poststart_len;
  oci_hook *poststop;
  size_t poststop_len;
} oci_hooks;

/* ---- linux ---- */

typedef struct oci_namespace
{
  char *type; /* pid network mount ipc uts user cgroup time */
  char *path;
} oci_namespace;

typedef struct oci_device
{
  char *type; /* c b u p */
  char *path;
  int64_t major;
  bool major_present;
  int64_t minor;
  bool minor_present;
  uint32_t file_mode;
  bool file_mode_present;
  uint32_t uid;
  bool uid_present;
  uint32_t gid;
  bool gid_present;
} oci_device;

typedef struct oci_device_cgroup
{
  bool allow;
  char *type;    /* a c b; NULL = all */
  int64_t major; /* absent = all */
  bool major_present;
  int64_t minor;
  bool minor_present;
  char *access; /* rwm */
} oci_device_cgroup;

typedef struct oci_memory
{
  int64_t limit;
  bool limit_present;
  int64_t reservation;
  bool reservation_present;
  int64_t swap;
  bool swap_present;
  int64_t kernel;
  bool kernel_present;
  int64_t kernel_tcp;
  bool kernel_tcp_present;
  uint64_t swappiness;
  bool swappiness_present;
  bool disable_oom_killer;
  bool disable_oom_killer_present;
  bool use_hierarchy;
  bool use_hierarchy_present;
  bool check_before_update;
  bool check_before_update_present;
} oci_memory;

typedef struct oci_cpu
{
  uint64_t shares;
  bool shares_present;
  int64_t quota;
  bool quota_present;
  uint64_t burst;
  bool burst_present;
  uint64_t period;
  bool period_present;
  int64_t realtime_runtime;
  bool realtime_runtime_present;
  uint64_t realtime_period;
  bool realtime_period_present;
  char *cpus;
  char *mems;
  int64_t idle;
  bool idle_present;
} oci_cpu;

typedef struct oci_pids
{
  int64_t limit; /* -1 or 0: unlimited (per spec, <= 0 means no limit) */
  bool limit_present;
} oci_pids;

typedef struct oci_weight_device
{
  int64_t major;
  int64_t minor;
  uint16_t weight;
  bool weight_present;
  uint16_t leaf_weight;
  bool leaf_weight_present;
} oci_weight_device;

typedef struct oci_throttle_device
{
  int64_t major;
  int64_t minor;
  uint64_t rate;
} oci_throttle_device;

typedef struct oci_block_io
{
  uint16_t weight;
  bool weight_present;
  uint16_t leaf_weight;
  bool leaf_weight_present;
  oci_weight_device *weight_device;
  size_t weight_device_len;
  oci_throttle_device *throttle_read_bps_device;
  size_t throttle_read_bps_device_len;
  oci_throttle_device *throttle_write_bps_device;
  size_t throttle_write_bps_device_len;
  oci_throttle_device *throttle_read_iops_device;
  size_t throttle_read_iops_device_len;
  oci_throttle_device *throttle_write_iops_device;
  size_t throttle_write_iops_device_len;
} oci_block_io;

typedef struct oci_hugepage_limit
{
  char *page_size; /* "2MB" */
  uint64_t limit;
} oci_hugepage_limit;

typedef struct oci_interface_priority
{
  char *name;
  uint32_t priority;
} oci_interface_priority;

typedef struct oci_network
{
  uint32_t class_id; /* JSON "classID" */
  bool class_id_present;
  oci_interface_priority *priorities;
  size_t priorities_len;
} oci_network;

typedef struct oci_rdma_entry
{
  char *name; /* the map key */
  uint32_t hca_handles;
  bool hca_handles_present;
  uint32_t hca_objects;
  bool hca_objects_present;
} oci_rdma_entry;

typedef struct oci_resources
{
  oci_device_cgroup *devices;
  size_t devices_len;
  oci_memory *memory;
  oci_cpu *cpu;
  oci_pids *pids;
  oci_block_io *block_io; /* JSON "blockIO" */
  oci_hugepage_limit *hugepage_limits;
  size_t hugepage_limits_len;
  oci_network *network;
  oci_rdma_entry *rdma; /* JSON object keyed by device name */
  size_t rdma_len;
  oci_string_map unified;
} oci_resources;

typedef struct oci_seccomp_arg
{
  uint32_t index;
  uint64_t value;
  uint64_t value_two;
  bool value_two_present;
  char *op; /* SCMP_CMP_EQ ... */
} oci_seccomp_arg;

typedef struct oci_seccomp_syscall
{
  char **names;
  size_t names_len;
  char *action;
  uint32_t errno_ret;
  bool errno_ret_present;
  oci_seccomp_arg *args;
  size_t args_len;
} oci_seccomp_syscall;

typedef struct oci_seccomp
{
  char *default_action;
  uint32_t default_errno_ret;
  bool default_errno_ret_present;
  char **architectures;
  size_t architectures_len;
  char **flags;
  size_t flags_len;
  char *listener_path;
  char *listener_metadata;
  oci_seccomp_syscall *syscalls;
  size_t syscalls_len;
} oci_seccomp;

typedef struct oci_personality
{
  char *domain; /* LINUX, LINUX32 */
  char **flags;
  size_t flags_len;
} oci_personality;

typedef struct oci_time_offset
{
  char *clock; /* the map key: "monotonic" or "boottime" */
  int64_t secs;
  uint32_t nanosecs;
} oci_time_offset;

typedef struct oci_intel_rdt
{
  char *clos_id; /* JSON "closID" */
  char *l3_cache_schema;
  char *mem_bw_schema;
  bool enable_cmt; /* JSON "enableCMT" */
  bool enable_mbm; /* JSON "enableMBM" */
} oci_intel_rdt;

typedef struct oci_net_device
{
  char *host_name; /* the map key */
  char *name;
} oci_net_device;

typedef struct oci_linux
{
  oci_namespace *namespaces;
  size_t namespaces_len;
  oci_id_mapping *uid_mappings;
  size_t uid_mappings_len;
  oci_id_mapping *gid_mappings;
  size_t gid_mappings_len;
  oci_time_offset *time_offsets; /* JSON object keyed by clock */
  size_t time_offsets_len;
  oci_device *devices;
  size_t devices_len;
  oci_net_device *net_devices; /* JSON object keyed by host interface name */
  size_t net_devices_len;
  char *cgroups_path;
  oci_resources *resources;
  char *rootfs_propagation;
  oci_seccomp *seccomp;
  oci_string_map sysctl;
  char **masked_paths;
  size_t masked_paths_len;
  char **readonly_paths;
  size_t readonly_paths_len;
  char *mount_label;
  oci_intel_rdt *intel_rdt;
  oci_personality *personality;
} oci_linux;

/* ---- the documents ---- */

typedef struct oci_config
{
  char *oci_version; /* required */
  oci_process *process;
  oci_root *root;
  char *hostname;
  char *domainname;
  oci_mount *mounts;
  size_t mounts_len;
  oci_hooks *hooks;
  oci_string_map annotations;
  oci_linux *linux_; /* JSON "linux" ("linux" is a predefined macro in GNU C) */
} oci_config;

typedef struct oci_state
{
  char *oci_version;
  char *id;
  char *status; /* creating created running stopped (and "paused", which runc reports) */
  int64_t pid;
  bool pid_present;
  char *bundle;
  oci_string_map annotations;
  /* runc's additions to the state document (`runc state` prints them; tools read them) */
  char *rootfs;
  char *created; /* RFC 3339 with nanoseconds */
  char *owner;
} oci_state;

/* features.json (runtime-spec features.md) as `isolazi features` prints it. */
typedef struct oci_features_seccomp
{
  bool enabled;
  bool enabled_present;
  char **actions;
  size_t actions_len;
  char **operators;
  size_t operators_len;
  char **archs;
  size_t archs_len;
  char **known_flags;
  size_t known_flags_len;
  char **supported_flags;
  size_t supported_flags_len;
} oci_features_seccomp;

/* runtime-spec features.md: every member is optional, hence the _present flags and pointers. */
typedef struct oci_features_enabled
{
  bool enabled;
  bool enabled_present;
} oci_features_enabled;

typedef struct oci_features_cgroup
{
  bool v1;
  bool v1_present;
  bool v2;
  bool v2_present;
  bool systemd;
  bool systemd_present;
  bool systemd_user; /* JSON "systemdUser" */
  bool systemd_user_present;
  bool rdma;
  bool rdma_present;
} oci_features_cgroup;

typedef struct oci_features_mount_extensions
{
  oci_features_enabled *idmap;
} oci_features_mount_extensions;

typedef struct oci_features_linux
{
  char **namespaces;
  size_t namespaces_len;
  char **capabilities;
  size_t capabilities_len;
  oci_features_cgroup *cgroup;
  oci_features_seccomp *seccomp;
  oci_features_enabled *apparmor;
  oci_features_enabled *selinux;
  oci_features_enabled *intel_rdt; /* JSON "intelRdt" */
  oci_features_mount_extensions *mount_extensions;
} oci_features_linux;

typedef struct oci_features
{
  char *oci_version_min;
  char *oci_version_max;
  char **hooks;
  size_t hooks_len;
  char **mount_options;
  size_t mount_options_len;
  oci_features_linux *linux_;
  oci_string_map annotations;
  char **potentially_unsafe_config_annotations;
  size_t potentially_unsafe_config_annotations_len;
} oci_features;

/* ---- parsing and writing ----
 * `source` names the document in error messages ("config.json", "/path/to/process.json").
 * On failure the parsers return NULL and set *err to a malloc'd message of the form
 *   "<source>: <json.path>: <reason>"  (path omitted for whole-document errors). */

oci_config *oci_config_parse(const char *source, const char *text, size_t len, char **err);
oci_config *oci_config_parse_file(const char *path, char **err);
/* The process object alone, as `exec --process FILE` takes it. */
oci_process *oci_process_parse(const char *source, const char *text, size_t len, char **err);
oci_state *oci_state_parse(const char *source, const char *text, size_t len, char **err);
oci_features *oci_features_parse(const char *source, const char *text, size_t len, char **err);
/* linux.resources alone, as `update --resources FILE` takes it. */
oci_resources *oci_resources_parse(const char *source, const char *text, size_t len, char **err);

void oci_config_free(oci_config *c);
void oci_process_free(oci_process *p);
void oci_state_free(oci_state *s);
void oci_features_free(oci_features *f);
void oci_resources_free(oci_resources *r);

/* Writers: a malloc'd JSON document (pretty: 2-space indent as runc spec writes it).
 * Absent optional fields are not written, so parse → write → parse round-trips. */
char *oci_config_write(const oci_config *c, bool pretty, char **err);
char *oci_process_write(const oci_process *p, bool pretty, char **err);
char *oci_state_write(const oci_state *s, bool pretty, char **err);
char *oci_features_write(const oci_features *f, bool pretty, char **err);
char *oci_resources_write(const oci_resources *r, bool pretty, char **err);

/* Semantic validation of a parsed config beyond types: required fields (ociVersion, root.path,
 * process.cwd absolute, process.args non-empty), enumerations (namespace types, mount
 * propagation, device types, seccomp actions/operators, rlimit names, rootfsPropagation),
 * duplicate namespace types, absolute mount destinations.  Returns 0, or -1 with *err naming
 * the path ("config.json: linux.namespaces[2].type: unknown namespace type \"foo\""). */
int oci_config_validate(const char *source, const oci_config *c, char **err);
int oci_process_validate(const char *source, const oci_process *p, char **err);

/* Strict mode: list the keys of the document that the model does not know, one JSON path per
 * entry (NULL-terminated, malloc'd).  For `isolazi spec --validate`-style checks and tests. */
char **oci_config_unknown_keys(const char *text, size_t len, char **err);
char **oci_process_unknown_keys(const char *text, size_t len, char **err);
/* Frees a list from the *_unknown_keys functions. */
void oci_string_list_free(char **list);

/* Deep comparison of two models (for round-trip checks). */
bool oci_config_equal(const oci_config *a, const oci_config *b);

#endif
