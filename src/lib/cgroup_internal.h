/* SPDX-License-Identifier: Apache-2.0 */
/* What cgroup.c shares with its drivers (cgroup_v1.c, cgroup_v2.c) and with the unit test.
 * The functions that decide (parsing, path resolution, resources -> file writes) take text and
 * structs only, so tests/unit/test-cgroup.c runs them without root. */
#ifndef ISOLAZI_CGROUP_INTERNAL_H
#define ISOLAZI_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "cgroup.h"

/* One hierarchy the container lives in. */
typedef struct cgroup_hier
{
  char *name;    /* v1: controllers as /proc/self/cgroup lists them ("cpu,cpuacct", "name=systemd");
                    cgroup2: "" (the "0::" line) */
  char *dir;     /* absolute directory of the container's cgroup */
  char *created; /* topmost directory create made (dir itself or an ancestor); NULL when the
                    cgroup existed already.  destroy removes dir .. created and nothing else. */
} cgroup_hier_t;

struct isolazi_cgroup
{
  isolazi_cgroup_mode_t mode;
  char *path; /* the cgroup path in the primary hierarchy ("/isolazi/ID") */
  cgroup_hier_t *hiers;
  size_t n_hiers;
  int v2_fd; /* O_DIRECTORY fd of the cgroup2 directory, -1 when none */
  /* The systemd driver (cgroup_systemd.c); sd_unit is NULL under the cgroupfs drivers. */
  char *sd_unit;        /* "isolazi-ID.scope", or a slice unit */
  bool sd_user;         /* the user manager's bus (rootless) rather than the system one */
  pid_t sd_placeholder; /* the process holding a new scope until the container init is in it, 0 when none */
};

/* A v1 hierarchy as mounted (from /proc/self/mountinfo). */
typedef struct cgroup_mount
{
  char *controllers; /* "cpu", "cpu,cpuacct", "name=systemd" */
  char *mountpoint;  /* "/sys/fs/cgroup/cpu" */
  char *root;        /* the cgroup mounted there, "/" unless a subtree is bind-mounted */
} cgroup_mount_t;

typedef struct cgroup_host
{
  cgroup_mount_t *v1;
  size_t n_v1;
  char *unified; /* mountpoint of the cgroup2 hierarchy, NULL when none */
} cgroup_host_t;

/* ---- deciding (pure) ---- */

/* Parse /proc/self/mountinfo text: every cgroup v1 hierarchy (first mount of each) and the
 * first cgroup2 mount. */
int cgroup_parse_mountinfo(const char *text, cgroup_host_t *ret, isolazi_error_t *err);
void cgroup_host_clear(cgroup_host_t *h);

/* The cgroup of a hierarchy in /proc/PID/cgroup text: `controllers` is matched as a set
 * ("cpuacct,cpu" == "cpu,cpuacct"); "" selects the cgroup2 line "0::".  NULL when absent. */
char *cgroup_own_path(const char *proc_cgroup, const char *controllers);

/* runc's CleanPath: lexical clean; a relative path cannot climb above its base ("../a" -> "a").
 * Returns "" for an empty or "." path. */
char *cgroup_clean_path(const char *path);

/* Fill cg->hiers (name, dir) and cg->path for the mode: an absolute cgroupsPath names the same
 * path in every hierarchy; a relative one (or the default, the container id, as runc 1.1 does
 * for an empty cgroupsPath) is taken relative to the own cgroup in proc_cgroup.  On pure v2
 * that is the parent of the own cgroup, as runc does: the own cgroup usually has processes, so
 * the "no internal processes" rule would stop us enabling controllers below it. */
int cgroup_plan_dirs(isolazi_cgroup_mode_t mode, const cgroup_host_t *host, const char *v2_mount,
                     const char *proc_cgroup, const char *cgroups_path, const char *id, isolazi_cgroup_t *cg,
                     isolazi_error_t *err);

/* One write of a cgroup file. */
typedef struct cgroup_write
{
  const char *controller; /* the v1 controller holding the file ("memory"); on v2 informative */
  char *file;
  char *value;
  char *field;    /* the config field, for messages ("linux.resources.memory.limit") */
  bool optional;  /* a missing file is skipped with a debug line (swap accounting off) */
  char *alt_file; /* when `file` is missing, write alt_value here instead (BFQ weights) */
  char *alt_value;
} cgroup_write_t;

typedef struct cgroup_writes
{
  cgroup_write_t *v;
  size_t len;
  size_t cap;
} cgroup_writes_t;

cgroup_write_t *cgroup_writes_add(cgroup_writes_t *w, const char *controller, const char *field, const char *file,
                                  char *value /* taken */);
void cgroup_writes_clear(cgroup_writes_t *w);

/* runc 1.1's conversions for cgroup v2. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight);
/* swap is the OCI (v1) memory+swap value; *ret the memory.swap.max value (-1 = "max", 0 with
 * *ret_set false = leave alone).  Fails with a message in err for impossible combinations. */
int cgroup_swap_to_v2(int64_t swap, bool swap_present, int64_t limit, bool limit_present, int64_t *ret, bool *ret_set,
                      isolazi_error_t *err);

/* Resources -> writes, in the order they must happen. */
int cgroup_v1_plan(const oci_resources *r, cgroup_writes_t *w, isolazi_error_t *err);
int cgroup_v2_plan(const oci_resources *r, cgroup_writes_t *w, isolazi_error_t *err);
/* The same for `update` of a live cgroup: device rules are left alone (runc's update does not
 * change them), and on v1 memory.memsw goes first when the new memory+swap limit is above the
 * current memory limit `cur_limit` (runc's setMemoryAndSwap), since the kernel keeps
 * memsw >= limit at every step. */
int cgroup_v1_plan_update(const oci_resources *r, uint64_t cur_limit, cgroup_writes_t *w, isolazi_error_t *err);

/* `update` merges the new resources into the ones kept in the state: objects key by key,
 * anything else (numbers, strings, arrays) replaced.  Both are linux.resources JSON texts;
 * returns the merged text (malloc'd) or NULL with a message in *err. */
char *cgroup_resources_merge_json(const char *old_json, const char *new_json, char **err);

/* "key value" lines (memory.stat, cpu.stat, memory.events): the value of key, false when absent. */
bool cgroup_flat_get(const char *text, const char *key, uint64_t *ret);
/* A cgroup file's single number; "max" is UINT64_MAX.  False when not a number. */
bool cgroup_parse_u64(const char *text, uint64_t *ret);
/* Whitespace-separated numbers (cpuacct.usage_percpu); malloc'd array. */
size_t cgroup_parse_u64_list(const char *text, uint64_t **ret);
/* cpuacct.usage_all ("cpu user system" rows after a header): per-cpu user and system ns. */
size_t cgroup_parse_usage_all(const char *text, uint64_t **ret_user, uint64_t **ret_sys);

/* cgroup v2 device rules as an eBPF program (cgroup_v2_devices.c): the instructions (pure), and
 * loading + attaching them to a cgroup2 directory. */
struct bpf_insn;
int cgroup_v2_devices_program(const oci_device_cgroup *rules, size_t n, struct bpf_insn **ret, size_t *ret_len,
                              isolazi_error_t *err);
int cgroup_v2_devices_attach(int cgroup_fd, const oci_device_cgroup *rules, size_t n, isolazi_error_t *err);

/* ---- doing ---- */

/* Per-driver operations.  Hybrid uses the v1 driver for resources, v1 dirs and the freezer,
 * and only places processes in the cgroup2 hierarchy (it has no controllers there). */
typedef struct cgroup_driver
{
  const char *name;
  /* Resources -> writes. */
  int (*plan)(const oci_resources *r, cgroup_writes_t *w, isolazi_error_t *err);
  /* After mkdir: make the newly created levels usable (v1 cpuset inherits cpus/mems; v2
   * enables controllers in each parent's cgroup.subtree_control). */
  int (*prepare)(const isolazi_cgroup_t *cg, const cgroup_hier_t *h, const oci_resources *r, isolazi_error_t *err);
  /* Signal every process, including ones forked meanwhile. */
  int (*kill)(const isolazi_cgroup_t *cg, int sig, isolazi_error_t *err);
  /* Freeze (waiting until every task is frozen) or thaw. */
  int (*freeze)(const isolazi_cgroup_t *cg, bool freeze, isolazi_error_t *err);
  /* Whether the cgroup is frozen (or being frozen); false when it has no freezer. */
  bool (*frozen)(const isolazi_cgroup_t *cg);
  /* The "data" object of `events --stats` in runc's field names. */
  int (*stats)(const isolazi_cgroup_t *cg, json_gen *g, isolazi_error_t *err);
} cgroup_driver_t;

extern const cgroup_driver_t cgroup_driver_v1;
extern const cgroup_driver_t cgroup_driver_v2;

/* Helpers shared by the drivers (cgroup.c). */
const cgroup_hier_t *cgroup_find_hier(const isolazi_cgroup_t *cg, const char *controller); /* "" = cgroup2 */
bool cgroup_controllers_has(const char *list, const char *controller);
int cgroup_read_pids(const char *dir, pid_t **ret, size_t *ret_len, isolazi_error_t *err);
int cgroup_signal_pids(const char *dir, int sig, isolazi_error_t *err);
int cgroup_write_str(const char *dir, const char *file, const char *value, isolazi_error_t *err);
/* The content of dir/file, NULL when it cannot be read (a missing controller file). */
char *cgroup_read_str(const char *dir, const char *file);
/* dir/file as a number (cgroup_parse_u64), 0 when missing. */
uint64_t cgroup_read_u64(const char *dir, const char *file);
void cgroup_sleep_us(long us);
/* The end of the `events --stats` data object, the same for both drivers: blkio and hugetlb
 * (empty: on this kind of host runc prints them empty too), intel_rdt, network_interfaces, and
 * the closing brace. */
void cgroup_stats_gen_tail(json_gen *g);
/* Every "key value" line of a flat cgroup file as a JSON member (memory.stat -> "raw"). */
void cgroup_stats_gen_flat(json_gen *g, const char *text);

/* ---- the systemd driver (cgroup_systemd.c) ----
 * As runc's: systemd owns the unit (a transient scope with Delegate=yes, or a slice), its
 * cgroup and the resource properties it knows; everything else goes through the file drivers
 * above on the unit's cgroup. */

/* linux.cgroupsPath under --systemd-cgroup, decided. */
typedef struct cgroup_sd_unit
{
  char *slice; /* the parent slice ("system.slice") */
  char *unit;  /* "PREFIX-NAME.scope", "NAME.scope", or NAME itself when it ends in ".slice" */
  char *path;  /* the unit's cgroup below the manager's own ("/system.slice/isolazi-c1.scope") */
  bool is_slice;
} cgroup_sd_unit_t;

/* systemd's slice naming: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", "-.slice" -> "/". */
int cgroup_sd_expand_slice(const char *slice, char **ret, isolazi_error_t *err);
/* "slice:prefix:name", or when empty runc's default with our name: the slice is system.slice
 * (user.slice for `rootless`), the prefix "isolazi", the name the container id. */
int cgroup_sd_parse_path(const char *cgroups_path, const char *id, bool rootless, cgroup_sd_unit_t *ret,
                         isolazi_error_t *err);
void cgroup_sd_unit_clear(cgroup_sd_unit_t *u);

/* One unit property, as D-Bus carries it. */
typedef enum
{
  CGROUP_SD_U64,   /* "t" */
  CGROUP_SD_BOOL,  /* "b" */
  CGROUP_SD_STR,   /* "s" */
  CGROUP_SD_BYTES, /* "ay" (a cpu or node mask, byte i holding bits 8i..8i+7) */
  CGROUP_SD_PID,   /* "au" with one pid */
  CGROUP_SD_STRV1, /* "as" with one string */
} cgroup_sd_type_t;

typedef struct cgroup_sd_prop
{
  const char *name;
  cgroup_sd_type_t type;
  uint64_t u64; /* U64, BOOL (0/1), PID */
  char *str;    /* STR, STRV1 */
  uint8_t *bytes;
  size_t n_bytes;
} cgroup_sd_prop_t;

typedef struct cgroup_sd_props
{
  cgroup_sd_prop_t *v;
  size_t len;
} cgroup_sd_props_t;

void cgroup_sd_props_clear(cgroup_sd_props_t *p);
/* "MemoryMax=67108864", "CPUQuotaPerSecUSec=infinity", "AllowedCPUs=0x05", "Delegate=yes":
 * for tests and debug lines. */
char *cgroup_sd_prop_format(const cgroup_sd_prop_t *p);
/* A cpuset list ("0-2,7") as systemd's mask. */
int cgroup_sd_cpuset_mask(const char *list, const char *field, uint8_t **ret, size_t *ret_len, isolazi_error_t *err);
/* The resources systemd understands as unit properties, in runc's mapping: v2 (MemoryMax,
 * MemoryLow, MemorySwapMax, CPUWeight, IOWeight, AllowedCPUs/AllowedMemoryNodes from systemd
 * 244) or v1 (MemoryLimit, CPUShares, BlockIOWeight); both: TasksMax, CPUQuotaPerSecUSec and,
 * from systemd 242, CPUQuotaPeriodUSec.  Device rules stay with the file drivers (an eBPF
 * program on v2, devices.allow on v1). */
int cgroup_sd_resource_props(const oci_resources *r, bool v2, unsigned sd_version, cgroup_sd_props_t *p,
                             isolazi_error_t *err);

/* Doing: start the unit (a scope holds a placeholder process until isolazi_cgroup_placed) and
 * return its cgroup path below the hierarchy root; stop it; set properties on `update`. */
int cgroup_sd_start(isolazi_cgroup_t *cg, const isolazi_cgroup_config_t *cfg, char **ret_path, isolazi_error_t *err);
int cgroup_sd_stop(isolazi_cgroup_t *cg, isolazi_error_t *err);
int cgroup_sd_update(const isolazi_cgroup_t *cg, const oci_resources *r, isolazi_error_t *err);
void cgroup_sd_drop_placeholder(isolazi_cgroup_t *cg);

#endif
