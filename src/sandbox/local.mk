# SPDX-License-Identifier: Apache-2.0
# The sandbox library: long-lived microVMs for agents on top of src/vm (per-sandbox daemon,
# qcow2 layers, warm pool).  Never prints or exits, like src/lib.  It also adds its operations
# to the guest agent and its commands (`sandbox`, `mcp`) to isolazi-vm.
noinst_LIBRARIES += src/sandbox/libisolazi-sandbox.a
src_sandbox_libisolazi_sandbox_a_SOURCES = \
	src/sandbox/sandbox.h src/sandbox/sandbox_internal.h src/sandbox/sbproto.h src/sandbox/sbproto.c \
	src/sandbox/store.c src/sandbox/disk.c src/sandbox/guest.c src/sandbox/daemon.c src/sandbox/client.c \
	src/sandbox/sandbox.c src/sandbox/pool.c src/sandbox/peer.c
src_sandbox_libisolazi_sandbox_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm -I$(top_srcdir)/src/sandbox \
	-DISOLAZI_PKGLIBEXECDIR='"$(pkglibexecdir)"'

# The agent's side: SB_* operations (src/vm-agent/sandbox_ops.c), payloads shared with the host.
src_vm_agent_isolazi_vm_agent_SOURCES += src/vm-agent/sandbox_ops.c src/sandbox/sbproto.c src/sandbox/sbproto.h
src_vm_agent_isolazi_vm_agent_CPPFLAGS += -I$(top_srcdir)/src/sandbox

# The front end's side: `isolazi-vm sandbox ...` and `isolazi-vm mcp`.
src_isolazi_vm_isolazi_vm_SOURCES += \
	src/isolazi-vm/sandbox.c src/isolazi-vm/sandbox_files.c src/isolazi-vm/sandbox_snap.c \
	src/isolazi-vm/sandbox_net.c src/isolazi-vm/sandbox_pool.c src/isolazi-vm/sandboxcli.h src/isolazi-vm/mcp.c
src_isolazi_vm_isolazi_vm_CPPFLAGS += -I$(top_srcdir)/src/sandbox
src_isolazi_vm_isolazi_vm_LDADD += src/sandbox/libisolazi-sandbox.a $(ISOLAZI_VM_LIBS)

# The agent's unit test links serve.c, which now dispatches to the sandbox operations.
tests_unit_test_vm_agent_SOURCES += src/vm-agent/sandbox_ops.c src/sandbox/sbproto.c
tests_unit_test_vm_agent_CPPFLAGS += -I$(top_srcdir)/src/sandbox

EXTRA_DIST += contrib/sandbox-preset.sh tests/bench/sandbox-bench.sh

# Unit tests: payloads, state.json, names and ports, and the agent's operations on the host.
tests_unit_test_sandbox_SOURCES = tests/unit/test-sandbox.c src/vm-agent/sandbox_ops.c src/vm-agent/serve.c \
	src/vm-agent/setup.c
tests_unit_test_sandbox_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm -I$(top_srcdir)/src/vm-agent \
	-I$(top_srcdir)/src/sandbox
tests_unit_test_sandbox_LDADD = src/sandbox/libisolazi-sandbox.a $(ISOLAZI_VM_LIBS)

# libFuzzer target for the payload decoders (configure --enable-fuzzing CC=clang).
EXTRA_DIST += tests/fuzz/fuzz-sandbox.c
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-sandbox
tests_fuzz_fuzz_sandbox_SOURCES = tests/fuzz/fuzz-sandbox.c src/sandbox/sbproto.c
tests_fuzz_fuzz_sandbox_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/sandbox
tests_fuzz_fuzz_sandbox_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_sandbox_LDFLAGS = -fsanitize=fuzzer,address,undefined
endif
