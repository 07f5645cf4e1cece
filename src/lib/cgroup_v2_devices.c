/* SPDX-License-Identifier: Apache-2.0 */
/* Device rules on cgroup v2: there is no devices controller, so the rules become an eBPF program
 * of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup
 * (Documentation/admin-guide/cgroup-v2.rst, "Device controller").
 *
 * Semantics follow the v1 devices list that runc emulates: rules apply in order and a later
 * rule overrides an earlier one for the devices it matches, so the program checks the rules
 * from the last to the first and the first match decides; no match denies.  A rule matches an
 * access when the type and numbers match (absent = any) and every requested access bit is in
 * the rule's "rwm" (runc's devicefilter does the same). */
#include "config.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "utils.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* bpf_insn builders (the kernel's BPF_* instruction macros are not part of the uapi). */
static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  struct bpf_insn i;

  memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

#define LDX_W(dst, src, off)   insn(BPF_LDX | BPF_MEM | BPF_W, (dst), (src), (off), 0)
#define MOV_REG(dst, src)      insn(BPF_ALU64 | BPF_MOV | BPF_X, (dst), (src), 0, 0)
#define MOV_IMM(dst, imm)      insn(BPF_ALU64 | BPF_MOV | BPF_K, (dst), 0, 0, (imm))
#define AND_IMM(dst, imm)      insn(BPF_ALU64 | BPF_AND | BPF_K, (dst), 0, 0, (imm))
#define RSH_IMM(dst, imm)      insn(BPF_ALU64 | BPF_RSH | BPF_K, (dst), 0, 0, (imm))
#define JNE_IMM(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, (dst), 0, (off), (imm))
#define EXIT()                 insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers: r1 = ctx (struct bpf_cgroup_dev_ctx), r2 = access bits, r3 = type, r4 = major,
   r5 = minor, r6 = scratch. */
enum
{
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6
};

static int
access_bits(const char *access, const char *where, uint32_t *ret, isolazi_error_t *err)
{
  uint32_t bits = 0;
  const char *p;

  if (access == NULL || access[0] == '\0')
    access = "rwm";
  for (p = access; *p; p++)
    switch (*p)
      {
      case 'r':
        bits |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        bits |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        bits |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        return isolazi_error_set(err, 0, "%s.access: `%s` is not made of r, w and m", where, access);
      }
  *ret = bits;
  return 0;
}

int
cgroup_v2_devices_program(const oci_device_cgroup *rules, size_t n, struct bpf_insn **ret, size_t *ret_len,
                          isolazi_error_t *err)
{
  /* header (6) + at most 9 instructions per rule + the final deny (2) */
  struct bpf_insn *p = xcalloc(8 + 9 * n, sizeof *p);
  size_t len = 0, i;

  p[len++] = LDX_W(R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[len++] = MOV_REG(R3, R2);
  p[len++] = AND_IMM(R3, 0xffff); /* type: BPF_DEVCG_DEV_BLOCK or _CHAR */
  p[len++] = RSH_IMM(R2, 16);     /* access: BPF_DEVCG_ACC_* bits */
  p[len++] = LDX_W(R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major));
  p[len++] = LDX_W(R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor));
  for (i = n; i > 0; i--)
    {
      const oci_device_cgroup *r = &rules[i - 1];
      struct bpf_insn block[9];
      size_t b = 0, j, jumps[4], n_jumps = 0;
      char where[64];
      uint32_t bits = 0;
      int type = 0;

      snprintf(where, sizeof where, "linux.resources.devices[%zu]", i - 1);
      if (access_bits(r->access, where, &bits, err) < 0)
        {
          free(p);
          return -1;
        }
      if (r->type != NULL && strcmp(r->type, "c") == 0)
        type = BPF_DEVCG_DEV_CHAR;
      else if (r->type != NULL && strcmp(r->type, "b") == 0)
        type = BPF_DEVCG_DEV_BLOCK;
      else if (r->type != NULL && r->type[0] != '\0' && strcmp(r->type, "a") != 0)
        {
          free(p);
          return isolazi_error_set(err, 0, "%s.type: unknown device type `%s`", where, r->type);
        }
      if (type != 0)
        {
          jumps[n_jumps++] = b;
          block[b++] = JNE_IMM(R3, type, 0);
        }
      if (bits != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD))
        {
          /* requested bits outside the rule's: not this rule */
          block[b++] = MOV_REG(R6, R2);
          block[b++] = AND_IMM(R6, (int32_t)(~bits & 7u));
          jumps[n_jumps++] = b;
          block[b++] = JNE_IMM(R6, 0, 0);
        }
      if (r->major_present && r->major >= 0)
        {
          jumps[n_jumps++] = b;
          block[b++] = JNE_IMM(R4, (int32_t)r->major, 0);
        }
      if (r->minor_present && r->minor >= 0)
        {
          jumps[n_jumps++] = b;
          block[b++] = JNE_IMM(R5, (int32_t)r->minor, 0);
        }
      block[b++] = MOV_IMM(R0, r->allow ? 1 : 0);
      block[b++] = EXIT();
      /* every mismatch jumps past this rule's block */
      for (j = 0; j < n_jumps; j++)
        block[jumps[j]].off = (int16_t)(b - jumps[j] - 1);
      memcpy(p + len, block, b * sizeof block[0]);
      len += b;
      /* A rule that matches everything (the usual leading "deny all") ends the program: the
         verifier refuses unreachable instructions after it. */
      if (n_jumps == 0)
        break;
    }
  if (i == 0)
    {
      p[len++] = MOV_IMM(R0, 0);
      p[len++] = EXIT();
    }
  *ret = p;
  *ret_len = len;
  return 0;
}

int
cgroup_v2_devices_attach(int cgroup_fd, const oci_device_cgroup *rules, size_t n, isolazi_error_t *err)
{
  cleanup_free struct bpf_insn *prog = NULL;
  char log[4096] = "";
  cleanup_close int prog_fd = -1;
  union bpf_attr attr;
  size_t len;

  if (cgroup_v2_devices_program(rules, n, &prog, &len, err) < 0)
    return -1;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)len;
  attr.license = (uint64_t)(uintptr_t) "Apache-2.0"; /* no GPL-only helper is called */
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof log;
  attr.log_level = 1;
  prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog_fd < 0)
    {
      int saved = errno;
      /* The verifier's reason is its last line before the "processed N insns" statistics. */
      char *line, *save = NULL, *why = NULL;
      for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, "processed ", 10) != 0)
          why = line;
      return isolazi_error_set(err, saved, "load the device filter for linux.resources.devices%s%s",
                               why != NULL ? ": " : "", why != NULL ? why : "");
    }
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* ALLOW_MULTI: a program attached higher up (by a parent manager) still applies too. */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0)
    return isolazi_error_errno(err, "attach the device filter for linux.resources.devices");
  /* The attachment holds the program: our fd can go.  It is detached with the cgroup. */
  return 0;
}
