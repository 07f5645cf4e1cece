# SPDX-License-Identifier: Apache-2.0
# The `isolazi-vm` front end: runc's CLI for bundles run in microVMs.  It links src/isolazi's
# CLI helpers (cli.c, and create.c for the flags create and run share) and the commands that
# work on any state root or dispatch VM containers to src/vm themselves (handler.c): state,
# list, spec, ps, pause, resume, update and events.
bin_PROGRAMS += src/isolazi-vm/isolazi-vm
src_isolazi_vm_isolazi_vm_SOURCES = \
	src/isolazi-vm/vmcli.h src/isolazi-vm/main.c \
	src/isolazi-vm/create.c src/isolazi-vm/start.c src/isolazi-vm/kill.c src/isolazi-vm/delete.c \
	src/isolazi-vm/run.c src/isolazi-vm/exec.c src/isolazi-vm/features.c \
	src/isolazi/cli.c src/isolazi/cli.h src/frontend/frontend.c src/frontend/frontend.h src/isolazi/create.c src/isolazi/state.c src/isolazi/list.c src/isolazi/spec.c \
	src/isolazi/handler.c src/isolazi/handler.h src/isolazi/ps.c src/isolazi/pause.c src/isolazi/resume.c \
	src/isolazi/update.c src/isolazi/events.c
src_isolazi_vm_isolazi_vm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/isolazi -I$(top_srcdir)/src/vm
src_isolazi_vm_isolazi_vm_LDADD = $(ISOLAZI_VM_LIBS)
