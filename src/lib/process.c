/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "process.h"
#include "userns.h"
#include "cleanup.h"
#include "log.h"
#include "lsm.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

int
isolazi_rlimit_resource(const char *name)
{
  size_t i;

  for (i = 0; name != NULL && i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
    if (strcmp(rlimit_names[i].name, name) == 0)
      return rlimit_names[i].resource;
  return -1;
}

int
isolazi_process_set_rlimits(const oci_process *p, isolazi_error_t *err)
{
  size_t i;

  for (i = 0; i < p->rlimits_len; i++)
    {
      const oci_rlimit *r = &p->rlimits[i];
      struct rlimit lim = { (rlim_t)r->soft, (rlim_t)r->hard };
      int resource = isolazi_rlimit_resource(r->type);
      if (resource < 0)
        return isolazi_error_set(err, 0, "process.rlimits[%zu].type: unknown rlimit `%s`", i, r->type);
      if (setrlimit((__rlimit_resource_t)resource, &lim) < 0)
        return isolazi_error_errno(err, "set %s to soft %llu, hard %llu (process.rlimits[%zu])", r->type,
                                   (unsigned long long)r->soft, (unsigned long long)r->hard, i);
    }
  return 0;
}

int
isolazi_process_set_oom_score_adj(const oci_process *p, isolazi_error_t *err)
{
  char buf[16];
  int n;

  if (!p->oom_score_adj_present)
    return 0;
  n = snprintf(buf, sizeof buf, "%d", (int)p->oom_score_adj);
  /* Through the checked procfs, so that a mount over /proc/self cannot take the write
     (CVE-2025-52881). */
  if (isolazi_proc_write("self/oom_score_adj", buf, (size_t)n, err) < 0)
    return isolazi_error_wrap(err, "set process.oomScoreAdj to %d", (int)p->oom_score_adj);
  return 0;
}

int
isolazi_process_chdir(const oci_process *p, isolazi_error_t *err)
{
  const char *cwd = p->cwd != NULL && p->cwd[0] ? p->cwd : "/";

  /* A missing cwd is an error, as with runc 1.1: creating it would hide a typo. */
  if (chdir(cwd) < 0)
    return isolazi_error_errno(err, "chdir to cwd `%s` (process.cwd)", cwd);
  return 0;
}

static const char *
env_get(const oci_process *p, const char *name)
{
  size_t i, n = strlen(name);

  for (i = 0; i < p->env_len; i++)
    if (strncmp(p->env[i], name, n) == 0 && p->env[i][n] == '=')
      return p->env[i] + n + 1;
  return NULL;
}

static int
check_executable(const char *path, const char *arg0, isolazi_error_t *err)
{
  struct stat st;

  if (stat(path, &st) < 0)
    return isolazi_error_errno(err, "exec `%s`", arg0);
  if (S_ISDIR(st.st_mode))
    return isolazi_error_set(err, 0, "exec `%s`: is a directory", arg0);
  if (access(path, X_OK) < 0)
    return isolazi_error_errno(err, "exec `%s`", arg0);
  return 0;
}

int
isolazi_process_find_executable(const oci_process *p, char **ret, isolazi_error_t *err)
{
  const char *arg0 = p->args_len > 0 ? p->args[0] : NULL;
  const char *path_env;
  cleanup_free char *dirs = NULL;
  char *dir, *save = NULL;

  if (arg0 == NULL || arg0[0] == '\0')
    return isolazi_error_set(err, 0, "process.args: no command given");
  if (strchr(arg0, '/') != NULL)
    {
      if (check_executable(arg0, arg0, err) < 0)
        return -1;
      *ret = xstrdup(arg0);
      return 0;
    }
  /* Go's exec.LookPath semantics (runc): search the container's PATH; an empty entry is ".". */
  path_env = env_get(p, "PATH");
  if (path_env == NULL)
    path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  dirs = xstrdup(path_env);
  for (dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
    {
      cleanup_free char *cand = xasprintf("%s/%s", dir[0] ? dir : ".", arg0);
      struct stat st;
      if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
        {
          *ret = steal_pointer(&cand);
          return 0;
        }
    }
  return isolazi_error_set(err, 0, "exec `%s`: executable file not found in $PATH", arg0);
}

static char *
home_of(uid_t uid)
{
  cleanup_fclose FILE *f = fopen("/etc/passwd", "re");
  char line[1024];

  if (f == NULL)
    return NULL;
  while (fgets(line, sizeof line, f) != NULL)
    {
      char *fields[7], *s = line, *save = NULL;
      int n = 0;
      for (char *t = strsep(&s, ":"); t != NULL && n < 7; t = strsep(&s, ":"))
        fields[n++] = t;
      (void)save;
      if (n < 6)
        continue;
      if ((uid_t)strtoul(fields[2], NULL, 10) == uid && fields[5][0] != '\0')
        return xstrdup(fields[5]);
    }
  return NULL;
}

char **
isolazi_process_environ(const oci_process *p)
{
  char **env = xcalloc(p->env_len + 2, sizeof(char *));
  size_t i;

  for (i = 0; i < p->env_len; i++)
    env[i] = p->env[i];
  if (env_get(p, "HOME") == NULL)
    {
      cleanup_free char *home = home_of(p->user.uid);
      env[i++] = xasprintf("HOME=%s", home != NULL ? home : "/");
    }
  env[i] = NULL;
  return env;
}

/* Fill one capability set; unknown names and capabilities this kernel lacks are skipped with a
   warning, as runc does, so that a newer profile still runs on an older kernel. */
static void
fill_caps(cap_t caps, cap_flag_t flag, char **names, size_t n, const char *what)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      cap_value_t v;
      if (cap_from_name(names[i], &v) < 0 || v >= (cap_value_t)cap_max_bits())
        {
          isolazi_warning("process.capabilities.%s[%zu]: unknown capability `%s` ignored", what, i, names[i]);
          continue;
        }
      (void)cap_set_flag(caps, flag, 1, &v, CAP_SET);
    }
}

static bool
in_list(char **names, size_t n, cap_value_t v)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      cap_value_t c;
      if (cap_from_name(names[i], &c) == 0 && c == v)
        return true;
    }
  return false;
}

int
isolazi_process_set_user(const oci_process *p, isolazi_error_t *err)
{
  const oci_capabilities *c = p->capabilities;
  const oci_user *u = &p->user;
  cap_value_t v, last = (cap_value_t)cap_max_bits();

  if (c != NULL)
    {
      /* The bounding set first, while we still hold CAP_SETPCAP. */
      for (v = 0; v < last; v++)
        if (!in_list(c->bounding, c->bounding_len, v) && prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
          return isolazi_error_errno(err, "drop capability %d from the bounding set", v);
      /* Keep the permitted set across setuid, then set the configured sets explicitly. */
      if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return isolazi_error_errno(err, "prctl(PR_SET_KEEPCAPS)");
    }
  /* In a user namespace whose setgroups is "deny" (rootless, user_namespaces(7)) setgroups(2)
     always fails; with no additional gids there is nothing to set, as runc does. */
  if (setgroups(u->additional_gids_len, (const gid_t *)u->additional_gids) < 0
      && !(errno == EPERM && u->additional_gids_len == 0 && isolazi_userns_setgroups_denied()))
    return isolazi_error_errno(err, "set additional gids (process.user.additionalGids)");
  if (setresgid(u->gid, u->gid, u->gid) < 0)
    return isolazi_error_errno(err, "set gid %u (process.user.gid)", u->gid);
  if (setresuid(u->uid, u->uid, u->uid) < 0)
    return isolazi_error_errno(err, "set uid %u (process.user.uid)", u->uid);
  if (c != NULL)
    {
      cap_t caps = cap_init();
      int r;
      if (caps == NULL)
        return isolazi_error_errno(err, "cap_init");
      fill_caps(caps, CAP_EFFECTIVE, c->effective, c->effective_len, "effective");
      fill_caps(caps, CAP_PERMITTED, c->permitted, c->permitted_len, "permitted");
      /* The inheritable set is exactly what is configured, never wider (CVE-2022-29162). */
      fill_caps(caps, CAP_INHERITABLE, c->inheritable, c->inheritable_len, "inheritable");
      r = cap_set_proc(caps);
      cap_free(caps);
      if (r < 0)
        return isolazi_error_errno(err, "set capabilities (process.capabilities)");
      if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return isolazi_error_errno(err, "prctl(PR_SET_KEEPCAPS)");
      if (cap_reset_ambient() < 0 && errno != EINVAL)
        return isolazi_error_errno(err, "clear ambient capabilities");
      for (size_t i = 0; i < c->ambient_len; i++)
        {
          if (cap_from_name(c->ambient[i], &v) < 0 || v >= last)
            {
              isolazi_warning("process.capabilities.ambient[%zu]: unknown capability `%s` ignored", i, c->ambient[i]);
              continue;
            }
          /* The kernel raises an ambient capability only if it is both permitted and
             inheritable; runc's default spec lists ambient caps without an inheritable set, and
             runc then runs without them.  Do the same, but say so. */
          if (!in_list(c->inheritable, c->inheritable_len, v) || !in_list(c->permitted, c->permitted_len, v))
            {
              isolazi_debug("process.capabilities.ambient[%zu]: `%s` is not both inheritable and permitted; "
                            "not raised",
                            i, c->ambient[i]);
              continue;
            }
          if (cap_set_ambient(v, CAP_SET) < 0)
            return isolazi_error_errno(err, "raise ambient capability `%s` (process.capabilities.ambient[%zu])",
                                       c->ambient[i], i);
        }
    }
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return isolazi_error_errno(err, "set no_new_privs (process.noNewPrivileges)");
  return 0;
}

void
isolazi_process_reset_signals(void)
{
  struct sigaction sa;
  sigset_t none;
  int sig;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      (void)sigaction(sig, &sa, NULL);
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
}
