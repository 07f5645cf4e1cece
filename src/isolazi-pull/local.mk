# SPDX-License-Identifier: Apache-2.0
# The `isolazi-pull` front end: one file per command, each parses its flags and calls the image
# library (src/image/).
bin_PROGRAMS += src/isolazi-pull/isolazi-pull
src_isolazi_pull_isolazi_pull_SOURCES = \
	src/isolazi-pull/main.c src/isolazi-pull/cli.c src/isolazi-pull/cli.h src/frontend/frontend.c src/frontend/frontend.h \
	src/isolazi-pull/pull.c src/isolazi-pull/bundle.c src/isolazi-pull/images.c \
	src/isolazi-pull/inspect.c src/isolazi-pull/rm.c src/isolazi-pull/prune.c \
	src/isolazi-pull/login.c src/isolazi-pull/logout.c src/isolazi-pull/mount.c \
	src/isolazi-pull/rm_bundle.c
src_isolazi_pull_isolazi_pull_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
src_isolazi_pull_isolazi_pull_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS)
src_isolazi_pull_isolazi_pull_LDADD = $(ISOLAZI_IMAGE_LIBS) -lm
