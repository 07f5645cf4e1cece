# SPDX-License-Identifier: Apache-2.0
# bats integration tests: real containers, as root.  `make check-integration` runs them
# against the built runtime; ISOLAZI_RUNTIME=runc runs the same suite against runc.
INTEGRATION_TESTS = \
	tests/integration/cgroups.bats \
	tests/integration/containerd.bats \
	tests/integration/delete.bats \
	tests/integration/errors.bats \
	tests/integration/events.bats \
	tests/integration/exec.bats \
	tests/integration/features.bats \
	tests/integration/fds.bats \
	tests/integration/global.bats \
	tests/integration/hooks.bats \
	tests/integration/kill.bats \
	tests/integration/lifecycle.bats \
	tests/integration/list.bats \
	tests/integration/mounts.bats \
	tests/integration/namespaces.bats \
	tests/integration/podman.bats \
	tests/integration/pause.bats \
	tests/integration/process.bats \
	tests/integration/ps.bats \
	tests/integration/run.bats \
	tests/integration/runtime.bats \
	tests/integration/seccomp.bats \
	tests/integration/escapes.bats \
	tests/integration/spec.bats \
	tests/integration/sysctl.bats \
	tests/integration/systemd.bats \
	tests/integration/update.bats \
	tests/integration/terminal.bats \
	tests/integration/userns.bats \
	tests/integration/rootless.bats \
	tests/integration/idmap.bats \
	tests/integration/vm-lifecycle.bats \
	tests/integration/vm-shares.bats \
	tests/integration/sandbox.bats \
	tests/integration/sandbox-net.bats \
	tests/integration/sandbox-presets.bats \
	tests/integration/vm-podman.bats \
	tests/integration/vm-handler.bats \
	tests/integration/vm-containerd.bats \
	tests/integration/vm-krun.bats \
	tests/integration/registry.bats \
	tests/integration/pull.bats
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/helpers.bash tests/integration/clients.bash tests/bench/bench.sh
EXTRA_DIST += tests/integration/registry.bash tests/integration/registry-proxy.py tests/integration/ptyrun.py
EXTRA_DIST += tests/integration/sandbox-common.bash
EXTRA_DIST += tests/integration/vm-helpers.bash tests/bench/vm-bench.sh tests/bench/vm-bench-common.bash tests/bench/vm-share-bench.sh
EXTRA_DIST += tests/integration/images.bash tests/integration/mkfixture.py tests/integration/slow-proxy.py \
	tests/bench/pull-bench.sh

# The payload runs inside containers whose rootfs has no libc: static, and built without the
# sanitizer flags (the per-target flags replace AM_CFLAGS and AM_LDFLAGS).
check_PROGRAMS += tests/payload/payload
tests_payload_payload_SOURCES = tests/payload/payload.c
tests_payload_payload_CFLAGS = $(WARN_CFLAGS)
tests_payload_payload_LDFLAGS = -static
check_PROGRAMS += tests/payload/attack
tests_payload_attack_SOURCES = tests/payload/attack.c
tests_payload_attack_CFLAGS = $(WARN_CFLAGS)
tests_payload_attack_LDFLAGS = -static

# The host side of --console-socket (runs on the host: a normal build).
check_PROGRAMS += tests/payload/recvtty
tests_payload_recvtty_SOURCES = tests/payload/recvtty.c

# vm-krun.bats loads this stand-in for libkrun.so.1 (not packaged in Debian 12) through
# LD_LIBRARY_PATH: a shared library, built without the sanitizer flags (it is dlopen'ed).
check_PROGRAMS += tests/payload/libkrun.so.1
tests_payload_libkrun_so_1_SOURCES = tests/payload/fake-libkrun.c
tests_payload_libkrun_so_1_CFLAGS = $(WARN_CFLAGS) -fPIC
tests_payload_libkrun_so_1_LDFLAGS = -shared -Wl,-soname,libkrun.so.1

# registry.bats drives the registry client through this (isolazi-pull is the real front end).
check_PROGRAMS += tests/unit/registry-tool
tests_unit_registry_tool_SOURCES = tests/unit/registry-tool.c
tests_unit_registry_tool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_registry_tool_LDADD = $(ISOLAZI_IMAGE_LIBS)

BATS = bats
BATS_FLAGS =
check-integration: src/isolazi/isolazi tests/payload/payload tests/payload/recvtty tests/payload/attack \
		tests/payload/libkrun.so.1 \
		tests/unit/registry-tool src/isolazi-pull/isolazi-pull
	@if [ "$$(id -u)" -ne 0 ]; then echo "check-integration: needs root (real containers)" >&2; exit 1; fi
	@for f in $(srcdir)/tests/integration/*.bats; do \
	  case " $(INTEGRATION_TESTS) " in *" tests/integration/$${f##*/} "*) ;; \
	  *) echo "check-integration: $$f is not in INTEGRATION_TESTS (tests/integration/local.mk)" >&2; exit 1 ;; esac; \
	done
	ISOLAZI_BUILDDIR="$(abs_top_builddir)" $(BATS) $(BATS_FLAGS) $(addprefix $(srcdir)/,$(INTEGRATION_TESTS))
.PHONY: check-integration
