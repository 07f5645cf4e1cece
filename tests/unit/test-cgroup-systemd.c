/* SPDX-License-Identifier: Apache-2.0 */
/* The deciding half of the systemd cgroup driver: linux.cgroupsPath as "slice:prefix:name",
 * slice expansion, cpuset masks, resources -> unit properties, and the state round trip of a
 * systemd-managed cgroup.  No systemd needed. */
#include "config.h"
#include "../unit/tap.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "utils.h"

#include <stdlib.h>
#include <string.h>

static void
expand(const char *slice, const char *want)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cleanup_free char *got = NULL;

  if (want == NULL)
    {
      tap_ok(cgroup_sd_expand_slice(slice, &got, &err) < 0 && err.msg != NULL && strstr(err.msg, slice) != NULL,
             "expand `%s`: refused naming it (%s)", slice, err.msg ? err.msg : "accepted");
      isolazi_error_release(&err);
      return;
    }
  tap_ok(cgroup_sd_expand_slice(slice, &got, &err) == 0, "expand `%s`", slice);
  tap_streq(got, want, "expand `%s`: path", slice);
  isolazi_error_release(&err);
}

static void
test_expand(void)
{
  expand("system.slice", "/system.slice");
  expand("a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice");
  expand("machine-podman.slice", "/machine.slice/machine-podman.slice");
  expand("-.slice", "/");
  expand("a--b.slice", NULL);
  expand("-a.slice", NULL);
  expand("a-.slice", NULL);
  expand(".slice", NULL);
  expand("a.scope", NULL);
  expand("a/b.slice", NULL);
  expand("", NULL);
}

/* parse PATH ID ROOTLESS -> "slice unit path" or NULL for an error containing `want_err`. */
static void
parse(const char *path, bool rootless, const char *want, const char *want_err)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cgroup_sd_unit_t u = { NULL, NULL, NULL, false };
  cleanup_free char *got = NULL;
  int r = cgroup_sd_parse_path(path, "c1", rootless, &u, &err);

  if (want_err != NULL)
    {
      tap_ok(r < 0 && err.msg != NULL && strstr(err.msg, want_err) != NULL && strstr(err.msg, "linux.cgroupsPath"),
             "cgroupsPath \"%s\" refused: %s", path ? path : "(null)", err.msg ? err.msg : "(accepted)");
      if (err.msg != NULL && strstr(err.msg, want_err) == NULL)
        printf("#   want an error containing: %s\n", want_err);
    }
  else
    {
      tap_ok(r == 0, "cgroupsPath \"%s\" accepted%s%s", path ? path : "(null)", err.msg ? ": " : "",
             err.msg ? err.msg : "");
      if (r == 0)
        got = xasprintf("%s %s %s%s", u.slice, u.unit, u.path, u.is_slice ? " slice" : "");
      tap_streq(got, want, "cgroupsPath \"%s\" -> slice, unit, path", path ? path : "(null)");
    }
  cgroup_sd_unit_clear(&u);
  isolazi_error_release(&err);
}

static void
test_parse(void)
{
  /* runc's defaults, with our name as the prefix. */
  parse(NULL, false, "system.slice isolazi-c1.scope /system.slice/isolazi-c1.scope", NULL);
  parse("", false, "system.slice isolazi-c1.scope /system.slice/isolazi-c1.scope", NULL);
  parse("", true, "user.slice isolazi-c1.scope /user.slice/isolazi-c1.scope", NULL);
  parse("system.slice:docker:abc", false, "system.slice docker-abc.scope /system.slice/docker-abc.scope", NULL);
  parse("machine-pod1.slice:libpod:abc", false,
        "machine-pod1.slice libpod-abc.scope /machine.slice/machine-pod1.slice/libpod-abc.scope", NULL);
  parse(":crio:abc", false, "system.slice crio-abc.scope /system.slice/crio-abc.scope", NULL);
  parse(":crio:abc", true, "user.slice crio-abc.scope /user.slice/crio-abc.scope", NULL);
  parse("system.slice::abc", false, "system.slice abc.scope /system.slice/abc.scope", NULL);
  parse("-.slice:p:abc", false, "-.slice p-abc.scope /p-abc.scope", NULL);
  /* A name ending in .slice is a slice unit, placed by its own name. */
  parse("system.slice:p:kube-pod1.slice", false, "system.slice kube-pod1.slice /kube.slice/kube-pod1.slice slice",
        NULL);
  parse("/isolazi/c1", false, NULL, "expected \"slice:prefix:name\"");
  parse("a:b", false, NULL, "got \"a:b\"");
  parse("a.slice:b:c:d", false, NULL, "expected \"slice:prefix:name\"");
  parse("system.slice:p:", false, NULL, "name");
  parse("nope:p:c", false, NULL, "invalid slice name `nope`");
  parse("a--b.slice:p:c", false, NULL, "empty component");
  parse("system.slice:p:c d", false, NULL, "invalid systemd unit name `p-c d.scope`");
  parse("system.slice:p:x/y", false, NULL, "invalid systemd unit name");
}

static void
mask(const char *list, const char *want)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cgroup_sd_prop_t p = { "AllowedCPUs", CGROUP_SD_BYTES, 0, NULL, NULL, 0 };
  cleanup_free char *got = NULL;

  if (cgroup_sd_cpuset_mask(list, "linux.resources.cpu.cpus", &p.bytes, &p.n_bytes, &err) == 0)
    got = cgroup_sd_prop_format(&p);
  if (want == NULL)
    tap_ok(got == NULL && err.msg != NULL && strstr(err.msg, "linux.resources.cpu.cpus") != NULL,
           "cpu list `%s` refused naming the field (%s)", list, err.msg ? err.msg : got);
  else
    tap_streq(got, want, "cpu list `%s` as a mask", list);
  free(p.bytes);
  isolazi_error_release(&err);
}

static void
test_masks(void)
{
  mask("0", "AllowedCPUs=0x01");
  mask("0-2,4", "AllowedCPUs=0x17");
  mask("1,3", "AllowedCPUs=0x0a");
  mask("8", "AllowedCPUs=0x0100");
  mask("0-9", "AllowedCPUs=0x03ff");
  mask("3-1", NULL);
  mask("a", NULL);
  mask("1,", NULL);
  mask("", NULL);
  mask("99999", NULL);
}

/* The properties for a resources document, one "Name=value" per line. */
static char *
props_of(const char *json, bool v2, unsigned version, char **ret_err)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  cgroup_sd_props_t p = { NULL, 0 };
  oci_resources *r;
  char *perr = NULL, *out = xstrdup("");
  size_t i;

  *ret_err = NULL;
  r = oci_resources_parse("test", json, strlen(json), &perr);
  if (r == NULL)
    {
      *ret_err = perr;
      free(out);
      return NULL;
    }
  if (cgroup_sd_resource_props(r, v2, version, &p, &err) < 0)
    {
      *ret_err = steal_pointer(&err.msg);
      free(out);
      out = NULL;
    }
  for (i = 0; out != NULL && i < p.len; i++)
    {
      cleanup_free char *one = cgroup_sd_prop_format(&p.v[i]);
      char *n = xasprintf("%s%s%s", out, *out ? "\n" : "", one);
      free(out);
      out = n;
    }
  cgroup_sd_props_clear(&p);
  oci_resources_free(r);
  return out;
}

static void
props(const char *json, bool v2, unsigned version, const char *want, const char *what)
{
  cleanup_free char *err = NULL;
  cleanup_free char *got = props_of(json, v2, version, &err);

  if (got == NULL)
    printf("# error: %s\n", err ? err : "");
  tap_streq(got, want, "%s", what);
}

static void
test_props(void)
{
  cleanup_free char *err = NULL;
  cleanup_free char *got = NULL;

  props("{}", true, 252, "", "no resources, no properties");
  props("{\"memory\":{\"limit\":67108864,\"reservation\":33554432,\"swap\":134217728}}", true, 252,
        "MemoryMax=67108864\nMemoryLow=33554432\nMemorySwapMax=67108864", "v2 memory: max, low, swap alone");
  props("{\"memory\":{\"limit\":-1}}", true, 252, "MemoryMax=infinity\nMemorySwapMax=infinity",
        "v2: unlimited memory is infinity, swap too");
  props("{\"memory\":{\"limit\":67108864,\"swap\":134217728}}", false, 252, "MemoryLimit=67108864",
        "v1 memory: MemoryLimit (swap stays with the files)");
  props("{\"cpu\":{\"shares\":1024}}", true, 252, "CPUWeight=39", "v2 shares as runc's weight");
  props("{\"cpu\":{\"shares\":1024}}", false, 252, "CPUShares=1024", "v1 shares as they are");
  props("{\"cpu\":{\"quota\":50000,\"period\":100000}}", true, 252,
        "CPUQuotaPeriodUSec=100000\nCPUQuotaPerSecUSec=500000", "quota and period");
  props("{\"cpu\":{\"quota\":50000,\"period\":100000}}", true, 241, "CPUQuotaPerSecUSec=500000",
        "no CPUQuotaPeriodUSec before systemd 242");
  props("{\"cpu\":{\"quota\":12345,\"period\":100000}}", true, 252,
        "CPUQuotaPeriodUSec=100000\nCPUQuotaPerSecUSec=130000", "a fraction of a percent rounds up to 10 ms");
  props("{\"cpu\":{\"quota\":20000}}", true, 252, "CPUQuotaPerSecUSec=200000", "quota alone: systemd's period");
  props("{\"cpu\":{\"quota\":-1,\"period\":50000}}", true, 252, "CPUQuotaPeriodUSec=50000\nCPUQuotaPerSecUSec=infinity",
        "no quota is infinity");
  props("{\"cpu\":{\"cpus\":\"0-1\",\"mems\":\"0\"}}", true, 252, "AllowedCPUs=0x03\nAllowedMemoryNodes=0x01",
        "cpuset as masks");
  props("{\"cpu\":{\"cpus\":\"0-1\"}}", true, 243, "", "no AllowedCPUs before systemd 244");
  props("{\"cpu\":{\"cpus\":\"0-1\"}}", false, 252, "", "no AllowedCPUs on v1");
  props("{\"pids\":{\"limit\":10}}", true, 252, "TasksMax=10", "pids");
  props("{\"pids\":{\"limit\":-1}}", true, 252, "TasksMax=infinity", "pids unlimited");
  props("{\"blockIO\":{\"weight\":500}}", true, 252, "IOWeight=4950", "v2 blkio weight as io weight");
  props("{\"blockIO\":{\"weight\":500}}", false, 252, "BlockIOWeight=500", "v1 blkio weight");
  props("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":0}]}",
        true, 252, "", "devices and hugetlb stay with the files");

  got = props_of("{\"memory\":{\"limit\":67108864,\"swap\":1024}}", true, 252, &err);
  tap_ok(got == NULL && err != NULL && strstr(err, "linux.resources.memory.swap") != NULL,
         "swap below the limit refused naming the field (%s)", err ? err : "");
  free(err);
  free(got);
  got = props_of("{\"cpu\":{\"cpus\":\"x\"}}", true, 252, &err);
  tap_ok(got == NULL && err != NULL && strstr(err, "linux.resources.cpu.cpus") != NULL,
         "a bad cpu list refused naming the field (%s)", err ? err : "");
}

static void
test_state(void)
{
  isolazi_error_t err = ISOLAZI_ERROR_INIT;
  isolazi_cgroup_t *back = NULL;
  json_value *v;
  char *jerr = NULL;
  json_gen *g;
  cleanup_free char *text = NULL;
  int r;
  static const char doc[] = "{\"mode\":\"v2\",\"path\":\"/system.slice/isolazi-c1.scope\",\"hierarchies\":[{\"name\":"
                            "\"\",\"dir\":\"/sys/fs/cgroup/system.slice/isolazi-c1.scope\",\"created\":null}],"
                            "\"systemd\":{\"unit\":\"isolazi-c1.scope\",\"user\":false}}";
  static const char bad[] = "{\"mode\":\"v2\",\"path\":\"/a\",\"hierarchies\":[],\"systemd\":{\"unit\":\"../x\"}}";

  v = json_parse(doc, strlen(doc), &jerr);
  r = v != NULL ? isolazi_cgroup_from_json(v, &back, &err) : -1;
  tap_ok(r == 0, "load a systemd cgroup%s%s", err.msg ? ": " : "", err.msg ? err.msg : "");
  if (back != NULL)
    {
      tap_streq(back->sd_unit, "isolazi-c1.scope", "unit kept");
      tap_ok(!back->sd_user && back->sd_placeholder == 0, "system bus, no placeholder");
      g = json_gen_new(false);
      isolazi_cgroup_to_json(back, g);
      (void)json_gen_finish(g, &text, NULL, &jerr);
      json_gen_free(g);
      tap_streq(text, doc, "round trip is identical");
      isolazi_cgroup_free(back);
      back = NULL;
    }
  json_value_free(v);
  v = json_parse(bad, strlen(bad), &jerr);
  r = v != NULL ? isolazi_cgroup_from_json(v, &back, &err) : 0;
  tap_ok(r < 0 && err.msg != NULL && strstr(err.msg, "systemd.unit") != NULL, "a unit name with a slash refused: %s",
         err.msg ? err.msg : "accepted");
  isolazi_cgroup_free(back);
  json_value_free(v);
  isolazi_error_release(&err);
}

int
main(void)
{
  test_expand();
  test_parse();
  test_masks();
  test_props();
  test_state();
  return tap_done();
}
