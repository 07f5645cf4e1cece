# SPDX-License-Identifier: Apache-2.0
# The `isolazi` front end: one file per command, each parses its flags and calls the core.
bin_PROGRAMS += src/isolazi/isolazi
src_isolazi_isolazi_SOURCES = \
	src/isolazi/main.c src/isolazi/cli.c src/isolazi/cli.h src/frontend/frontend.c src/frontend/frontend.h \
	src/isolazi/create.c src/isolazi/start.c src/isolazi/state.c src/isolazi/kill.c \
	src/isolazi/delete.c src/isolazi/run.c src/isolazi/list.c src/isolazi/spec.c \
	src/isolazi/exec.c src/isolazi/features.c \
	src/isolazi/events.c src/isolazi/pause.c src/isolazi/ps.c src/isolazi/resume.c src/isolazi/update.c \
	src/isolazi/handler.c src/isolazi/handler.h
# handler.c: bundles annotated run.oci.handler=vm (and their ids) go to the VM library.
src_isolazi_isolazi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm
src_isolazi_isolazi_LDADD = $(ISOLAZI_VM_LIBS)
