/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the core: memory, files, paths, time. */
#ifndef ISOLAZI_UTILS_H
#define ISOLAZI_UTILS_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>
#include "error.h"

/* Allocation failure aborts: a short-lived runtime that cannot get a few bytes has nothing
 * useful left to do, and threading ENOMEM through every string operation would hide the
 * errors that matter.  (abort() leaves a core, unlike a silent exit.) */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* write()/read() that retry on EINTR and short counts. Return len, or -1 with errno. */
ssize_t isolazi_write_all(int fd, const void *buf, size_t len);
ssize_t isolazi_read_all(int fd, void *buf, size_t len); /* stops early only at EOF */

/* Read a whole file (NUL-terminated; *ret_len excludes the NUL).  dirfd may be AT_FDCWD. */
int isolazi_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, isolazi_error_t *err);
#define isolazi_read_file(path, ret, ret_len, err) isolazi_read_file_at(AT_FDCWD, (path), (ret), (ret_len), (err))

/* Write an existing file (cgroup, proc, sysfs knobs): O_WRONLY|O_CLOEXEC, no creation. */
int isolazi_write_file_at(int dirfd, const char *path, const char *buf, size_t len, isolazi_error_t *err);

/* Create or replace `name` in dirfd atomically: a temporary file, fsync when `durable`, rename.
 * A crash leaves either the old or the new content, never a half-written file. */
int isolazi_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode, bool durable,
                              isolazi_error_t *err);

/* mkdir -p; existing directories are fine. */
int isolazi_mkdir_p(const char *path, mode_t mode, isolazi_error_t *err);

/* openat2(rootfd, path, oflags|O_CLOEXEC, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS [|RESOLVE_NO_SYMLINKS]):
 * symlinks and ".." resolve as if rootfd were "/", so nothing planted under it leads outside.
 * Retries EAGAIN.  -1 with errno (no error object: callers word their own). */
int isolazi_openat2_in_root(int rootfd, const char *path, int oflags, bool no_symlinks);

/* Current time as RFC 3339 UTC with nanoseconds ("2026-11-22T22:24:46.344887578Z"). */
char *isolazi_now_rfc3339(void);
/* The same for seconds precision, for log records ("2026-11-22T22:09:23Z"). */
void isolazi_format_rfc3339_seconds(char buf[32]);

bool isolazi_has_prefix(const char *s, const char *prefix);
bool isolazi_has_suffix(const char *s, const char *suffix);

/* The caller's home directory: $HOME when it is absolute, else the password database's entry
 * for the effective uid; NULL when neither gives one.  A malloc'd string. */
char *isolazi_home_dir(void);

/* Make `path` absolute against the current directory and drop "." and duplicate slashes
 * (no symlink resolution). */
char *isolazi_abspath(const char *path, isolazi_error_t *err);

/* Close every fd >= first except those in keep[0..nkeep). Uses close_range where it can. */
int isolazi_close_fds_from(int first, const int *keep, size_t nkeep, isolazi_error_t *err);
/* Mark every fd >= first close-on-exec (for fds we must keep until exec). */
int isolazi_cloexec_fds_from(int first, isolazi_error_t *err);

/* Block every signal but SIGKILL/SIGSTOP and the synchronous faults (which must stay
 * deliverable to ourselves), saving the old mask in *old, and return a signalfd that reads
 * them: the loops that forward signals to a container process use it. */
int isolazi_signalfd_forwarding(sigset_t *old, isolazi_error_t *err);

/* Start time of a process in clock ticks since boot (/proc/PID/stat field 22); guards
 * against pid reuse when a saved pid is signalled later.  0 if the process is gone. */
unsigned long long isolazi_process_start_time(pid_t pid);

#endif
