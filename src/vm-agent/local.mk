# SPDX-License-Identifier: Apache-2.0
# The guest agent: pid 1 of an isolazi-vm guest.  Static (the initramfs has no libc) and built
# without the sanitizer flags (the per-target flags replace AM_CFLAGS and AM_LDFLAGS).
pkglibexec_PROGRAMS = src/vm-agent/isolazi-vm-agent
src_vm_agent_isolazi_vm_agent_SOURCES = \
	src/vm-agent/agent.h src/vm-agent/main.c src/vm-agent/serve.c src/vm-agent/setup.c \
	src/vm-agent/transport.c src/vm-agent/relay.c src/vm/protocol.c src/vm/protocol.h src/vm/share.h
src_vm_agent_isolazi_vm_agent_CPPFLAGS = -I$(top_srcdir)/src/vm -I$(top_srcdir)/src/vm-agent -I$(top_srcdir)/src/lib
src_vm_agent_isolazi_vm_agent_CFLAGS = $(WARN_CFLAGS)
src_vm_agent_isolazi_vm_agent_LDFLAGS = -static
