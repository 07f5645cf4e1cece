# SPDX-License-Identifier: Apache-2.0
# The image library behind isolazi-pull (and isolazi-vm's sandboxes): references, the registry
# client, the store, layer unpacking and image config → bundle.  Beside the runtime's core, not in it.
noinst_LIBRARIES += src/image/libisolazi-image.a
src_image_libisolazi_image_a_SOURCES = \
	src/image/digest.c src/image/digest.h \
	src/image/reference.c src/image/reference.h \
	src/image/auth.c src/image/auth.h \
	src/image/certs.c src/image/certs.h \
	src/image/registry.c src/image/registry.h \
	src/image/store.c src/image/store.h \
	src/image/unpack.c src/image/unpack.h \
	src/image/bundle.c src/image/bundle.h \
	src/image/pull.c src/image/assemble.c src/image/pull.h
src_image_libisolazi_image_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
src_image_libisolazi_image_a_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS) $(CURL_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS) $(SSL_CFLAGS) -pthread

# What isolazi-pull and the image unit tests link with.
ISOLAZI_IMAGE_LIBS = src/image/libisolazi-image.a $(ISOLAZI_CORE_LIBS) $(CURL_LIBS) $(ARCHIVE_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS)
