# SPDX-License-Identifier: Apache-2.0
# libocispec: the OCI data model.  json.c is the only user of yajl in the project.
noinst_LIBRARIES += libocispec/libocispec.a
libocispec_libocispec_a_SOURCES = \
	libocispec/json.c libocispec/json.h \
	libocispec/ocispec.h libocispec/ocispec_image.h \
	libocispec/image_spec.c \
	libocispec/schema.c libocispec/schema.h libocispec/schema_rows.h \
	libocispec/runtime_spec.c \
	libocispec/validate.c
libocispec_libocispec_a_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS)
