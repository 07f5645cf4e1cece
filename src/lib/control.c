/* SPDX-License-Identifier: Apache-2.0 */
/* pause, resume, update, ps and events: each opens the container's state, checks its status
 * with runc's error texts, and hands the work to the cgroup layer. */
#include "config.h"
#include "control.h"
#include "cgroup.h"
#include "cgroup_internal.h"
#include "cleanup.h"
#include "container_internal.h"
#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
cleanup_resourcesp(oci_resources **r)
{
  oci_resources_free(*r);
}
#define cleanup_resources __attribute__((cleanup(cleanup_resourcesp)))

static void
cleanup_configp(oci_config **c)
{
  oci_config_free(*c);
}
#define cleanup_config __attribute__((cleanup(cleanup_configp)))

static void
cleanup_openedp(opened_t *c)
{
  container_opened_release(c);
}
#define cleanup_opened __attribute__((cleanup(cleanup_openedp)))

static bool
is(const char *status, const char *s)
{
  return strcmp(status, s) == 0;
}

/* Open the container and require a cgroup (every container isolazi makes has one). */
static int
open_with_cgroup(const isolazi_global_t *g, const char *id, bool lock, opened_t *c, isolazi_error_t *err)
{
  if (container_open(g, id, lock, c, err) < 0)
    return -1;
  if (c->state->cgroup == NULL)
    return isolazi_error_set(err, ENOENT, "container `%s` has no cgroup", id);
  return 0;
}

int
isolazi_container_pause(const isolazi_global_t *g, const char *id, isolazi_error_t *err)
{
  cleanup_opened opened_t c = { -1, -1, NULL, NULL };

  if (open_with_cgroup(g, id, true, &c, err) < 0)
    return -1;
  /* runc pauses created containers too; a paused one is "not running" to runc. */
  if (!is(c.status, "running") && !is(c.status, "created"))
    return isolazi_error_set(err, 0, "container not running");
  return isolazi_cgroup_freeze(c.state->cgroup, true, err);
}

int
isolazi_container_resume(const isolazi_global_t *g, const char *id, isolazi_error_t *err)
{
  cleanup_opened opened_t c = { -1, -1, NULL, NULL };

  if (open_with_cgroup(g, id, true, &c, err) < 0)
    return -1;
  if (!is(c.status, "paused"))
    return isolazi_error_set(err, 0, "container not paused");
  return isolazi_cgroup_freeze(c.state->cgroup, false, err);
}

/* ---- update ---- */

/* What the update writes, completed from the merged resources where a value alone would be
 * misread: v2's cpu.max takes quota and period together, and v2's swap conversion needs the
 * memory limit (runc keeps the old value of the one not given, too). */
static void
complete_delta(oci_resources *r, const oci_resources *m)
{
  if (r->pids != NULL && r->pids->limit_present && r->pids->limit == 0)
    r->pids->limit_present = false;
  if (r->cpu != NULL && m->cpu != NULL)
    {
      bool q = r->cpu->quota_present && r->cpu->quota != 0, p = r->cpu->period_present && r->cpu->period != 0;
      if (q && !p && m->cpu->period_present)
        {
          r->cpu->period = m->cpu->period;
          r->cpu->period_present = true;
        }
      if (p && !q && m->cpu->quota_present)
        {
          r->cpu->quota = m->cpu->quota;
          r->cpu->quota_present = true;
        }
    }
  if (r->memory != NULL && m->memory != NULL && r->memory->swap_present && r->memory->swap != 0
      && !(r->memory->limit_present && r->memory->limit != 0) && m->memory->limit_present)
    {
      r->memory->limit = m->memory->limit;
      r->memory->limit_present = true;
    }
}

int
isolazi_container_update(const isolazi_global_t *g, const char *id, const char *source, const char *json, size_t len,
                         isolazi_error_t *err)
{
  cleanup_opened opened_t c = { -1, -1, NULL, NULL };
  cleanup_resources oci_resources *r = NULL;
  cleanup_resources oci_resources *merged = NULL;
  cleanup_config oci_config *cfg = NULL;
  cleanup_free char *old_json = NULL;
  cleanup_free char *new_json = NULL;
  cleanup_free char *merged_json = NULL;
  cleanup_free char *doc = NULL;
  char *perr = NULL;

  /* Parse first: bad input changes nothing. */
  r = oci_resources_parse(source, json, len, &perr);
  if (r == NULL)
    return isolazi_error_take(err, EINVAL, perr);
  if (open_with_cgroup(g, id, true, &c, err) < 0)
    return -1;
  if (is(c.status, "stopped"))
    return isolazi_error_set(err, 0, "container not running");
  cfg = container_load_config_copy(c.dirfd, err);
  if (cfg == NULL)
    return -1;
  if (cfg->linux_ != NULL && cfg->linux_->resources != NULL
      && (old_json = oci_resources_write(cfg->linux_->resources, false, &perr)) == NULL)
    return isolazi_error_take(err, EINVAL, perr);
  /* The parsed form, written back: only known fields, in our spelling. */
  if ((new_json = oci_resources_write(r, false, &perr)) == NULL
      || (merged_json = cgroup_resources_merge_json(old_json, new_json, &perr)) == NULL
      || (merged = oci_resources_parse("merged resources", merged_json, strlen(merged_json), &perr)) == NULL)
    return isolazi_error_take(err, EINVAL, perr);
  complete_delta(r, merged);
  if (isolazi_cgroup_update(c.state->cgroup, r, err) < 0)
    return -1;
  if (cfg->linux_ == NULL)
    cfg->linux_ = xcalloc(1, sizeof *cfg->linux_);
  oci_resources_free(cfg->linux_->resources);
  cfg->linux_->resources = steal_pointer(&merged);
  if ((doc = oci_config_write(cfg, true, &perr)) == NULL)
    return isolazi_error_take(err, EINVAL, perr);
  if (isolazi_write_file_atomic(c.dirfd, ISOLAZI_CONFIG_COPY, doc, strlen(doc), 0600, false, err) < 0)
    return isolazi_error_wrap(err, "record the new resources in the state of `%s`", id);
  return 0;
}

/* ---- ps ---- */

int
isolazi_container_pids(const isolazi_global_t *g, const char *id, pid_t **ret, size_t *ret_len, isolazi_error_t *err)
{
  cleanup_opened opened_t c = { -1, -1, NULL, NULL };

  if (open_with_cgroup(g, id, false, &c, err) < 0)
    return -1;
  return isolazi_cgroup_pids(c.state->cgroup, ret, ret_len, err);
}

/* ---- events ---- */

static int
emit_stats(const opened_t *c, isolazi_event_fn emit, void *data, isolazi_error_t *err)
{
  json_gen *g = json_gen_new(false);
  cleanup_free char *line = NULL;
  char *gerr = NULL;
  int r;

  json_gen_object_open(g);
  json_gen_key(g, "type");
  json_gen_string(g, "stats");
  json_gen_key(g, "id");
  json_gen_string(g, c->state->id);
  json_gen_key(g, "data");
  r = isolazi_cgroup_stats(c->state->cgroup, g, err);
  json_gen_object_close(g);
  if (r == 0 && json_gen_finish(g, &line, NULL, &gerr) < 0)
    r = isolazi_error_take(err, EINVAL, gerr);
  json_gen_free(g);
  if (r < 0)
    return -1;
  return emit(line, data) != 0 ? 1 : 0;
}

static int
emit_oom(const opened_t *c, isolazi_event_fn emit, void *data)
{
  json_gen *g = json_gen_new(false);
  cleanup_free char *line = NULL;
  char *gerr = NULL;
  int r = 0;

  json_gen_object_open(g);
  json_gen_key(g, "type");
  json_gen_string(g, "oom");
  json_gen_key(g, "id");
  json_gen_string(g, c->state->id);
  json_gen_object_close(g);
  if (json_gen_finish(g, &line, NULL, &gerr) < 0)
    free(gerr);
  else
    r = emit(line, data) != 0 ? 1 : 0;
  json_gen_free(g);
  return r;
}

static long long
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
isolazi_container_events(const isolazi_global_t *g, const char *id, const isolazi_events_options_t *o,
                         isolazi_event_fn emit, void *data, isolazi_error_t *err)
{
  cleanup_opened opened_t c = { -1, -1, NULL, NULL };
  isolazi_cgroup_oom_t *oom = NULL;
  cleanup_close int pidfd = -1;
  long long next;
  unsigned int interval = o->interval_ms ? o->interval_ms : 5000;
  int r = 0;

  if (open_with_cgroup(g, id, false, &c, err) < 0)
    return -1;
  if (is(c.status, "stopped"))
    return isolazi_error_set(err, 0, "container with id %s is not running", id);
  if (o->stats_once)
    return emit_stats(&c, emit, data, err) < 0 ? -1 : 0;

  pidfd = container_pidfd_open(c.state->pid, c.state->pid_start);
  if (pidfd < 0)
    return isolazi_error_set(err, 0, "container with id %s is not running", id);
  if (isolazi_cgroup_oom_watch(c.state->cgroup, &oom, err) < 0)
    return -1;
  /* The state lock is not held: update/pause/delete may run meanwhile. */
  next = now_ms();
  for (;;)
    {
      struct pollfd fds[2] = { { pidfd, POLLIN, 0 }, { isolazi_cgroup_oom_fd(oom), POLLIN, 0 } };
      long long now = now_ms();
      int n;

      if (now >= next)
        {
          isolazi_error_t e = ISOLAZI_ERROR_INIT;
          r = emit_stats(&c, emit, data, &e);
          if (r < 0)
            {
              /* runc logs a failed stats read and carries on. */
              isolazi_warning("read the statistics of `%s`: %s", id, e.msg);
              isolazi_error_release(&e);
              r = 0;
            }
          if (r > 0)
            break;
          next = now + interval;
          continue;
        }
      n = poll(fds, 2, (int)(next - now));
      if (n < 0 && errno != EINTR)
        {
          r = isolazi_error_errno(err, "wait for events of `%s`", id);
          break;
        }
      if (n > 0 && (fds[1].revents & POLLIN))
        {
          unsigned int kills = 0, i;
          bool gone = false;
          (void)isolazi_cgroup_oom_check(oom, &kills, &gone);
          for (i = 0; i < kills && r == 0; i++)
            r = emit_oom(&c, emit, data);
          if (r != 0 || gone)
            break;
        }
      /* The init exited: the container stopped, and so does the stream. */
      if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP)))
        {
          /* An OOM kill of the init itself lands in the counters just before; report it. */
          unsigned int kills = 0, i;
          bool gone = false;
          (void)isolazi_cgroup_oom_check(oom, &kills, &gone);
          for (i = 0; i < kills && r == 0; i++)
            r = emit_oom(&c, emit, data);
          break;
        }
    }
  isolazi_cgroup_oom_free(oom);
  return r < 0 ? -1 : 0;
}
