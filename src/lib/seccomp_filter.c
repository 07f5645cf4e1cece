/* SPDX-License-Identifier: Apache-2.0 */
/* linux.seccomp through libseccomp (runtime-spec config-linux.md "Seccomp").  See
 * seccomp_filter.h for who calls what and when. */
#include "config.h"
#include "seccomp_filter.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *const isolazi_seccomp_actions[]
    = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",  "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG",   "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",         NULL };

static const struct
{
  const char *name;
  enum scmp_compare op;
} ops[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE },
  { "SCMP_CMP_LT", SCMP_CMP_LT },
  { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ },
  { "SCMP_CMP_GE", SCMP_CMP_GE },
  { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

const char *const isolazi_seccomp_operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
                                                  "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL };

#define ARCH(x)                                                                                                        \
  {                                                                                                                    \
    "SCMP_ARCH_" #x, SCMP_ARCH_##x                                                                                     \
  }
static const struct
{
  const char *name;
  uint32_t arch;
} arches[] = {
  ARCH(X86),         ARCH(X86_64), ARCH(X32),      ARCH(ARM),         ARCH(AARCH64), ARCH(MIPS),  ARCH(MIPS64),
  ARCH(MIPS64N32),   ARCH(MIPSEL), ARCH(MIPSEL64), ARCH(MIPSEL64N32), ARCH(PPC),     ARCH(PPC64), ARCH(PPC64LE),
  ARCH(S390),        ARCH(S390X),  ARCH(PARISC),   ARCH(PARISC64),    ARCH(RISCV64),
#ifdef SCMP_ARCH_LOONGARCH64
  ARCH(LOONGARCH64),
#endif
};
#undef ARCH

const char *const isolazi_seccomp_archs[] = { "SCMP_ARCH_AARCH64",
                                              "SCMP_ARCH_ARM",
                                              "SCMP_ARCH_MIPS",
                                              "SCMP_ARCH_MIPS64",
                                              "SCMP_ARCH_MIPS64N32",
                                              "SCMP_ARCH_MIPSEL",
                                              "SCMP_ARCH_MIPSEL64",
                                              "SCMP_ARCH_MIPSEL64N32",
                                              "SCMP_ARCH_PARISC",
                                              "SCMP_ARCH_PARISC64",
                                              "SCMP_ARCH_PPC",
                                              "SCMP_ARCH_PPC64",
                                              "SCMP_ARCH_PPC64LE",
                                              "SCMP_ARCH_RISCV64",
                                              "SCMP_ARCH_S390",
                                              "SCMP_ARCH_S390X",
                                              "SCMP_ARCH_X32",
                                              "SCMP_ARCH_X86",
                                              "SCMP_ARCH_X86_64",
#ifdef SCMP_ARCH_LOONGARCH64
                                              "SCMP_ARCH_LOONGARCH64",
#endif
                                              NULL };

/* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs libseccomp 2.6 (SCMP_FLTATR_CTL_WAITKILL). */
static const struct
{
  const char *name;
  unsigned int flag;
  bool supported;
} flag_table[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", ISOLAZI_SECCOMP_FLAG_TSYNC, true },
  { "SECCOMP_FILTER_FLAG_LOG", ISOLAZI_SECCOMP_FLAG_LOG, true },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", ISOLAZI_SECCOMP_FLAG_SPEC_ALLOW, true },
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", ISOLAZI_SECCOMP_FLAG_WAIT_KILLABLE_RECV, true },
#else
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", ISOLAZI_SECCOMP_FLAG_WAIT_KILLABLE_RECV, false },
#endif
};

const char *const isolazi_seccomp_flags[]
    = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
#endif
        NULL };

/* ENOSYS for syscalls the profile does not know.  A block-by-default profile written before a
 * syscall existed returns EPERM for it, and libc takes EPERM as final: glibc >= 2.34 calls
 * clone3 for pthread_create and posix_spawn and falls back to clone only on ENOSYS (moby#42680);
 * likewise faccessat2 → faccessat, close_range → a close loop.  runc patches the BPF so that any
 * syscall above the highest number the profile names returns ENOSYS.  We get the same effect
 * with rules: each syscall of this table (those added since Linux 5.1, in order) that the
 * profile does not name and whose native number is above the highest number it names gets
 * ERRNO(ENOSYS); clone3 gets it whenever it is not named (runc 1.1 and docker do the same).
 * Names the linked libseccomp does not know are skipped. */
static const char *const newer_syscalls[] = {
  "pidfd_send_signal",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "open_tree",
  "move_mount",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "pidfd_open",
  "clone3",
  "close_range",
  "openat2",
  "pidfd_getfd",
  "faccessat2",
  "process_madvise",
  "epoll_pwait2",
  "mount_setattr",
  "quotactl_fd",
  "landlock_create_ruleset",
  "landlock_add_rule",
  "landlock_restrict_self",
  "memfd_secret",
  "process_mrelease",
  "futex_waitv",
  "set_mempolicy_home_node",
  "cachestat",
  "fchmodat2",
  "map_shadow_stack",
  "futex_wake",
  "futex_wait",
  "futex_requeue",
  "statmount",
  "listmount",
  "lsm_get_self_attr",
  "lsm_set_self_attr",
  "lsm_list_modules",
  "mseal",
};

/* After the filter is loaded the runtime still makes a few calls itself: a NOTIFY on the one
 * that hands the notify fd to the listener would wait forever for a listener that has no fd yet
 * (runc refuses NOTIFY on write(2) for the same reason). */
static const char *const notify_forbidden[] = { "sendmsg" };

int
isolazi_seccomp_arch_parse(const char *name, uint32_t *ret)
{
  size_t i;

  for (i = 0; i < sizeof arches / sizeof arches[0]; i++)
    if (strcmp(name, arches[i].name) == 0)
      {
        *ret = arches[i].arch;
        return 0;
      }
  return -1;
}

int
isolazi_seccomp_op_parse(const char *name, int *ret)
{
  size_t i;

  for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(name, ops[i].name) == 0)
      {
        *ret = (int)ops[i].op;
        return 0;
      }
  return -1;
}

int
isolazi_seccomp_flag_parse(const char *name, unsigned int *ret_flag)
{
  size_t i;

  for (i = 0; i < sizeof flag_table / sizeof flag_table[0]; i++)
    if (strcmp(name, flag_table[i].name) == 0)
      {
        *ret_flag = flag_table[i].flag;
        return flag_table[i].supported ? 0 : -2;
      }
  return -1;
}

int
isolazi_seccomp_action_parse(const char *name, bool errno_present, uint32_t errno_ret, const char *where, uint32_t *ret,
                             isolazi_error_t *err)
{
  uint32_t e = errno_present ? errno_ret : EPERM;

  if (name == NULL)
    return isolazi_error_set(err, 0, "%s: missing action", where);
  if (errno_present && strcmp(name, "SCMP_ACT_ERRNO") != 0 && strcmp(name, "SCMP_ACT_TRACE") != 0)
    return isolazi_error_set(err, 0, "%s: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not `%s`",
                             where, name);
  /* The kernel keeps 16 bits of data in SECCOMP_RET_ERRNO and SECCOMP_RET_TRACE. */
  if (e > 0xffff)
    return isolazi_error_set(err, 0, "%s: errnoRet %u is out of range", where, (unsigned int)e);
  if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
    *ret = SCMP_ACT_ALLOW;
  else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
    *ret = SCMP_ACT_ERRNO(e);
  else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
    *ret = SCMP_ACT_TRACE(e);
  /* SCMP_ACT_KILL is the historical name of KILL_THREAD (seccomp(2): SECCOMP_RET_KILL). */
  else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
    *ret = SCMP_ACT_KILL_THREAD;
  else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
    *ret = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
    *ret = SCMP_ACT_TRAP;
  else if (strcmp(name, "SCMP_ACT_LOG") == 0)
    *ret = SCMP_ACT_LOG;
  else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
    *ret = SCMP_ACT_NOTIFY;
  else
    return isolazi_error_set(err, 0, "%s: unknown action `%s`", where, name);
  return 0;
}

static bool
blocks_by_default(uint32_t action)
{
  return action != SCMP_ACT_ALLOW && action != SCMP_ACT_LOG && action != SCMP_ACT_NOTIFY
         && (action & 0xffff0000U) != SCMP_ACT_TRACE(0);
}

static isolazi_seccomp_rule_t *
add_rule(isolazi_seccomp_plan_t *p, const char *name, int nr, uint32_t action)
{
  isolazi_seccomp_rule_t *r;

  p->rules = xrealloc(p->rules, (p->n_rules + 1) * sizeof *p->rules);
  r = &p->rules[p->n_rules++];
  memset(r, 0, sizeof *r);
  r->name = xstrdup(name);
  r->nr = nr;
  r->action = action;
  return r;
}

static bool
profile_names(const oci_seccomp *s, const char *name)
{
  size_t i, j;

  for (i = 0; i < s->syscalls_len; i++)
    for (j = 0; j < s->syscalls[i].names_len; j++)
      if (s->syscalls[i].names[j] != NULL && strcmp(s->syscalls[i].names[j], name) == 0)
        return true;
  return false;
}

static int
build_syscall(const oci_seccomp_syscall *sc, size_t i, isolazi_seccomp_plan_t *p, int *max_nr, isolazi_error_t *err)
{
  cleanup_free isolazi_seccomp_cmp_t *cmps = xcalloc(sc->args_len + 1, sizeof *cmps);
  unsigned int seen[ISOLAZI_SECCOMP_MAX_ARGS] = { 0 };
  bool repeated = false;
  cleanup_free char *where = xasprintf("linux.seccomp.syscalls[%zu]", i);
  uint32_t action;
  size_t j, k;

  if (sc->names_len == 0)
    return isolazi_error_set(err, 0, "%s.names: must not be empty", where);
  if (isolazi_seccomp_action_parse(sc->action, sc->errno_ret_present, sc->errno_ret, where, &action, err) < 0)
    return -1;
  for (j = 0; j < sc->args_len; j++)
    {
      const oci_seccomp_arg *a = &sc->args[j];
      int op;

      if (a->index >= ISOLAZI_SECCOMP_MAX_ARGS)
        return isolazi_error_set(err, 0, "%s.args[%zu].index: %u is not an argument index (0-5)", where, j,
                                 (unsigned int)a->index);
      if (a->op == NULL || isolazi_seccomp_op_parse(a->op, &op) < 0)
        return isolazi_error_set(err, 0, "%s.args[%zu].op: unknown operator `%s`", where, j,
                                 a->op != NULL ? a->op : "");
      cmps[j].index = a->index;
      cmps[j].op = op;
      cmps[j].a = a->value;
      cmps[j].b = a->value_two;
      if (seen[a->index]++ > 0)
        repeated = true;
    }
  for (j = 0; j < sc->names_len; j++)
    {
      const char *name = sc->names[j];
      int nr;

      if (name == NULL || name[0] == '\0')
        return isolazi_error_set(err, 0, "%s.names[%zu]: empty syscall name", where, j);
      if (action == SCMP_ACT_NOTIFY)
        for (k = 0; k < sizeof notify_forbidden / sizeof notify_forbidden[0]; k++)
          if (strcmp(name, notify_forbidden[k]) == 0)
            return isolazi_error_set(err, 0,
                                     "%s: SCMP_ACT_NOTIFY on `%s` is not supported: the runtime sends the notify fd "
                                     "with it",
                                     where, name);
      nr = seccomp_syscall_resolve_name(name);
      if (nr == __NR_SCMP_ERROR)
        {
          /* Profiles list syscalls of newer kernels or other architectures; runc and crun skip
             them too. */
          isolazi_debug("seccomp: %s: unknown syscall `%s` skipped", where, name);
          p->n_skipped++;
          continue;
        }
      if (nr > *max_nr)
        *max_nr = nr;
      if (action == p->default_action)
        continue;
      if (action == SCMP_ACT_NOTIFY)
        p->notify = true;
      if (!repeated)
        {
          isolazi_seccomp_rule_t *r = add_rule(p, name, nr, action);
          memcpy(r->cmps, cmps, sc->args_len * sizeof cmps[0]);
          r->n_cmps = sc->args_len;
        }
      else
        /* The same argument compared twice: libseccomp cannot AND two comparisons of one
           argument, and docker's profiles mean OR there (runc: one rule per comparison). */
        for (k = 0; k < sc->args_len; k++)
          {
            isolazi_seccomp_rule_t *r = add_rule(p, name, nr, action);
            r->cmps[0] = cmps[k];
            r->n_cmps = 1;
          }
    }
  return 0;
}

int
isolazi_seccomp_plan_build(const oci_seccomp *s, isolazi_seccomp_plan_t *ret, isolazi_error_t *err)
{
  isolazi_seccomp_plan_t p;
  int max_nr = -1;
  size_t i;

  memset(&p, 0, sizeof p);
  if (s->default_action == NULL)
    return isolazi_error_set(err, 0, "linux.seccomp.defaultAction: missing");
  if (isolazi_seccomp_action_parse(s->default_action, s->default_errno_ret_present, s->default_errno_ret,
                                   "linux.seccomp.defaultAction", &p.default_action, err)
      < 0)
    return -1;
  if (p.default_action == SCMP_ACT_NOTIFY)
    return isolazi_error_set(err, 0, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  for (i = 0; i < s->architectures_len; i++)
    {
      uint32_t a;
      if (isolazi_seccomp_arch_parse(s->architectures[i], &a) < 0)
        {
          isolazi_seccomp_plan_release(&p);
          return isolazi_error_set(err, 0, "linux.seccomp.architectures[%zu]: unknown architecture `%s`", i,
                                   s->architectures[i]);
        }
      p.arches = xrealloc(p.arches, (p.n_arches + 1) * sizeof *p.arches);
      p.arches[p.n_arches++] = a;
    }
  for (i = 0; i < s->flags_len; i++)
    {
      unsigned int f = 0;
      int r = isolazi_seccomp_flag_parse(s->flags[i], &f);
      if (r < 0)
        {
          isolazi_seccomp_plan_release(&p);
          if (r == -2)
            return isolazi_error_set(err, 0, "linux.seccomp.flags[%zu]: `%s` is not supported by libseccomp %u.%u", i,
                                     s->flags[i], SCMP_VER_MAJOR, SCMP_VER_MINOR);
          return isolazi_error_set(err, 0, "linux.seccomp.flags[%zu]: unknown flag `%s`", i, s->flags[i]);
        }
      p.flags |= f;
    }
  for (i = 0; i < s->syscalls_len; i++)
    if (build_syscall(&s->syscalls[i], i, &p, &max_nr, err) < 0)
      {
        isolazi_seccomp_plan_release(&p);
        return -1;
      }
  if (p.notify && (s->listener_path == NULL || s->listener_path[0] == '\0'))
    {
      isolazi_seccomp_plan_release(&p);
      return isolazi_error_set(err, 0, "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY");
    }
  if (blocks_by_default(p.default_action))
    for (i = 0; i < sizeof newer_syscalls / sizeof newer_syscalls[0]; i++)
      {
        const char *name = newer_syscalls[i];
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR || profile_names(s, name))
          continue;
        /* Nothing to add when the default action already is ENOSYS (podman's profiles use
           defaultErrnoRet 38): libseccomp refuses a rule equal to the default with EACCES. */
        if ((nr > max_nr || strcmp(name, "clone3") == 0) && p.default_action != SCMP_ACT_ERRNO(ENOSYS))
          add_rule(&p, name, nr, SCMP_ACT_ERRNO(ENOSYS));
      }
  *ret = p;
  return 0;
}

void
isolazi_seccomp_plan_release(isolazi_seccomp_plan_t *p)
{
  size_t i;

  for (i = 0; i < p->n_rules; i++)
    free(p->rules[i].name);
  free(p->rules);
  free(p->arches);
  memset(p, 0, sizeof *p);
}

char *
isolazi_seccomp_process_state_json(pid_t pid, const char *metadata, const char *state_json)
{
  json_gen *g = json_gen_new(false);
  cleanup_free char *head = NULL, *gen_err = NULL;
  size_t len = 0, n;
  const char *st = state_json != NULL ? state_json : "{}";

  json_gen_object_open(g);
  json_gen_key(g, "ociVersion");
  json_gen_string(g, ISOLAZI_SPEC_VERSION);
  json_gen_key(g, "fds");
  json_gen_array_open(g);
  json_gen_string(g, "seccompFd");
  json_gen_array_close(g);
  json_gen_key(g, "pid");
  json_gen_int64(g, pid);
  json_gen_key(g, "metadata");
  json_gen_string(g, metadata != NULL ? metadata : "");
  json_gen_object_close(g);
  if (json_gen_finish(g, &head, &len, &gen_err) < 0 || len < 2)
    {
      json_gen_free(g);
      return NULL;
    }
  json_gen_free(g);
  /* Embed the state document as it is: cut the closing brace and append `"state":{...}}`. */
  n = strlen(st);
  while (n > 0 && (st[n - 1] == '\n' || st[n - 1] == ' '))
    n--;
  head[len - 1] = '\0';
  return xasprintf("%s,\"state\":%.*s}", head, (int)n, st);
}

/* -- doing -- */

struct isolazi_seccomp
{
  scmp_filter_ctx ctx;
  int listener; /* connected to listenerPath, or -1 */
  char *metadata;
};

void
isolazi_seccomp_free(isolazi_seccomp_t *sc)
{
  if (sc == NULL)
    return;
  if (sc->ctx != NULL)
    seccomp_release(sc->ctx);
  if (sc->listener >= 0)
    close(sc->listener);
  free(sc->metadata);
  free(sc);
}

static int
compile(const isolazi_seccomp_plan_t *p, scmp_filter_ctx ctx, isolazi_error_t *err)
{
  size_t i, j;
  int r;

  for (i = 0; i < p->n_arches; i++)
    {
      r = seccomp_arch_add(ctx, p->arches[i]);
      if (r < 0 && r != -EEXIST)
        return isolazi_error_set(err, -r, "seccomp: add architecture %zu (linux.seccomp.architectures[%zu])", i, i);
    }
  if ((p->flags & ISOLAZI_SECCOMP_FLAG_TSYNC) && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
    return isolazi_error_set(err, -r, "seccomp: set SECCOMP_FILTER_FLAG_TSYNC");
  if ((p->flags & ISOLAZI_SECCOMP_FLAG_LOG) && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)) < 0)
    return isolazi_error_set(err, -r, "seccomp: set SECCOMP_FILTER_FLAG_LOG");
  if ((p->flags & ISOLAZI_SECCOMP_FLAG_SPEC_ALLOW) && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1)) < 0)
    return isolazi_error_set(err, -r, "seccomp: set SECCOMP_FILTER_FLAG_SPEC_ALLOW");
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
  if ((p->flags & ISOLAZI_SECCOMP_FLAG_WAIT_KILLABLE_RECV)
      && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_WAITKILL, 1)) < 0)
    return isolazi_error_set(err, -r, "seccomp: set SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
#endif
  /* The filter does not set no_new_privs itself: that is process.noNewPrivileges' business. */
  if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
    return isolazi_error_set(err, -r, "seccomp: clear the no_new_privs attribute");
  for (i = 0; i < p->n_rules; i++)
    {
      const isolazi_seccomp_rule_t *rule = &p->rules[i];
      struct scmp_arg_cmp cmps[ISOLAZI_SECCOMP_MAX_ARGS];

      for (j = 0; j < rule->n_cmps; j++)
        {
          cmps[j].arg = rule->cmps[j].index;
          cmps[j].op = (enum scmp_compare)rule->cmps[j].op;
          cmps[j].datum_a = rule->cmps[j].a;
          cmps[j].datum_b = rule->cmps[j].b;
        }
      r = seccomp_rule_add_array(ctx, rule->action, rule->nr, (unsigned int)rule->n_cmps, cmps);
      if (r < 0)
        return isolazi_error_set(err, -r, "seccomp: add the rule for `%s`", rule->name);
    }
  return 0;
}

static int
connect_listener(const char *path, isolazi_error_t *err)
{
  struct sockaddr_un sa;
  cleanup_close int fd = -1;

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path)
    return isolazi_error_set(err, ENAMETOOLONG, "linux.seccomp.listenerPath `%s`", path);
  strcpy(sa.sun_path, path);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return isolazi_error_errno(err, "seccomp: create a socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return isolazi_error_errno(err, "connect to the seccomp listener `%s` (linux.seccomp.listenerPath)", path);
  return steal_fd(&fd);
}

int
isolazi_seccomp_prepare(const oci_seccomp *s, isolazi_seccomp_t **ret, isolazi_error_t *err)
{
  isolazi_seccomp_plan_t plan;
  isolazi_seccomp_t *sc;

  *ret = NULL;
  if (s == NULL)
    return 0;
  if (isolazi_seccomp_plan_build(s, &plan, err) < 0)
    return -1;
  sc = xcalloc(1, sizeof *sc);
  sc->listener = -1;
  sc->ctx = seccomp_init(plan.default_action);
  if (sc->ctx == NULL)
    {
      isolazi_seccomp_plan_release(&plan);
      free(sc);
      return isolazi_error_set(err, EINVAL, "seccomp: initialise the filter");
    }
  if (compile(&plan, sc->ctx, err) < 0)
    goto fail;
  isolazi_debug("seccomp: %zu rules, %zu unknown syscalls skipped", plan.n_rules, plan.n_skipped);
  if (plan.notify)
    {
      sc->listener = connect_listener(s->listener_path, err);
      if (sc->listener < 0)
        goto fail;
      sc->metadata = xstrdup(s->listener_metadata);
    }
  isolazi_seccomp_plan_release(&plan);
  *ret = sc;
  return 0;
fail:
  isolazi_seccomp_plan_release(&plan);
  isolazi_seccomp_free(sc);
  return -1;
}

bool
isolazi_seccomp_load_before_set_user(const oci_process *p)
{
  return p == NULL || !p->no_new_privileges;
}

static pid_t
state_pid(const char *state_json)
{
  cleanup_free char *perr = NULL;
  oci_state *st;
  pid_t pid = 0;

  if (state_json == NULL)
    return 0;
  st = oci_state_parse("state", state_json, strlen(state_json), &perr);
  if (st != NULL)
    {
      pid = (pid_t)st->pid;
      oci_state_free(st);
    }
  return pid;
}

static int
send_notify_fd(isolazi_seccomp_t *sc, int nfd, pid_t pid, const char *state_json, isolazi_error_t *err)
{
  cleanup_free char *doc = NULL;
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh;
  struct iovec iov;
  struct cmsghdr *cm;
  size_t off = 0;
  ssize_t n;

  doc = isolazi_seccomp_process_state_json(pid > 0 ? pid : state_pid(state_json), sc->metadata, state_json);
  if (doc == NULL)
    return isolazi_error_set(err, 0, "seccomp: build the container process state");
  memset(&mh, 0, sizeof mh);
  memset(&u, 0, sizeof u);
  iov.iov_base = doc;
  iov.iov_len = strlen(doc);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &nfd, sizeof(int));
  /* The fd rides with the first byte; the rest of the document follows on the stream. */
  while (off < strlen(doc))
    {
      do
        n = sendmsg(sc->listener, &mh, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return isolazi_error_errno(err, "send the seccomp notify fd to the listener");
      off += (size_t)n;
      iov.iov_base = doc + off;
      iov.iov_len = strlen(doc) - off;
      mh.msg_control = NULL;
      mh.msg_controllen = 0;
    }
  return 0;
}

int
isolazi_seccomp_load(isolazi_seccomp_t *sc, pid_t pid, const char *state_json, isolazi_error_t *err)
{
  int r, nfd;

  if (sc == NULL)
    return 0;
  r = seccomp_load(sc->ctx);
  if (r < 0)
    return isolazi_error_set(err, -r, "load the seccomp filter");
  if (sc->listener < 0)
    return 0;
  nfd = seccomp_notify_fd(sc->ctx);
  if (nfd < 0)
    return isolazi_error_set(err, -nfd, "seccomp: get the notify fd");
  r = send_notify_fd(sc, nfd, pid, state_json, err);
  /* The listener has its own copy now.  Ours is close-on-exec (the kernel makes listener fds
     O_CLOEXEC), but close it here so that nothing of the runtime's lingers until execve. */
  (void)close(nfd);
  seccomp_release(sc->ctx);
  sc->ctx = NULL;
  close(sc->listener);
  sc->listener = -1;
  return r;
}
