# SPDX-License-Identifier: Apache-2.0
# The core library: everything the front ends do, and nothing that prints or exits.
noinst_LIBRARIES += src/lib/libisolazi.a
src_lib_libisolazi_a_SOURCES = \
	src/lib/cleanup.h \
	src/lib/error.c src/lib/error.h \
	src/lib/log.c src/lib/log.h \
	src/lib/utils.c src/lib/utils.h \
	src/lib/paths.c \
	src/lib/signals.c src/lib/signals.h \
	src/lib/spec.c src/lib/spec.h \
	src/lib/state.c src/lib/state.h \
	src/lib/sync.c src/lib/sync.h \
	src/lib/hooks.c src/lib/hooks.h \
	src/lib/namespaces.c src/lib/namespaces.h \
	src/lib/process.c src/lib/process.h \
	src/lib/init.c src/lib/init.h \
	src/lib/container.c src/lib/container.h src/lib/container_internal.h \
	src/lib/terminal.c src/lib/terminal.h \
	src/lib/exec.c src/lib/exec.h \
	src/lib/runtime_features.c src/lib/runtime_features.h \
	src/lib/control.c src/lib/control.h \
	src/lib/cgroup_v2_devices.c \
	src/lib/seccomp_filter.c src/lib/seccomp_filter.h src/lib/seccomp_profiles.c \
	src/lib/lsm.c src/lib/lsm.h \
	src/lib/userns.c src/lib/userns.h \
	src/lib/rootfs.c src/lib/rootfs.h \
	src/lib/mount_flags.c \
	src/lib/devices.c src/lib/devices.h \
	src/lib/cgroup.c src/lib/cgroup.h src/lib/cgroup_internal.h \
	src/lib/cgroup_v1.c \
	src/lib/cgroup_v2.c \
	src/lib/cgroup_systemd.c \
	src/lib/sdbus.c src/lib/sdbus.h
src_lib_libisolazi_a_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS) $(SECCOMP_CFLAGS) $(CAP_CFLAGS) $(SELINUX_CFLAGS) $(SYSTEMD_CFLAGS)

# What every binary and test that uses the core links with.
ISOLAZI_CORE_LIBS = src/lib/libisolazi.a libocispec/libocispec.a $(YAJL_LIBS) $(SECCOMP_LIBS) $(CAP_LIBS) $(SELINUX_LIBS)
