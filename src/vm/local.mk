# SPDX-License-Identifier: Apache-2.0
# The VM library: the host side of isolazi-vm (QEMU and libkrun backends, QMP client, the guest
# protocol, the per-VM monitor, the lifecycle).  Never prints or exits, like src/lib.
noinst_LIBRARIES += src/vm/libisolazi-vm.a
src_vm_libisolazi_vm_a_SOURCES = \
	src/vm/vm.h src/vm/vm_internal.h \
	src/vm/protocol.c src/vm/protocol.h \
	src/vm/share.c src/vm/share.h \
	src/vm/vmspec.c src/vm/guest.c src/vm/qemu.c src/vm/qmp.c \
	src/vm/monitor.c src/vm/client.c src/vm/vm.c src/vm/krun.c
src_vm_libisolazi_vm_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm -DISOLAZI_PKGLIBEXECDIR='"$(pkglibexecdir)"'
src_vm_libisolazi_vm_a_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS)

# What isolazi-vm (and the front ends that dispatch to it) link with.
ISOLAZI_VM_LIBS = src/vm/libisolazi-vm.a $(ISOLAZI_CORE_LIBS) -ldl
EXTRA_DIST += contrib/build-guest-kernel.sh
