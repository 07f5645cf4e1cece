# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets (configure --enable-fuzzing CC=clang).  The parser sources are compiled into
# the target itself so that libFuzzer's coverage instrumentation sees them.
EXTRA_DIST += tests/fuzz/fuzz-config.c tests/fuzz/fuzz-image.c
EXTRA_DIST += tests/fuzz/fuzz-layer.c
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c \
	libocispec/json.c libocispec/schema.c libocispec/runtime_spec.c libocispec/validate.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_config_LDADD = $(YAJL_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz-image
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz-image.c \
	libocispec/json.c libocispec/schema.c libocispec/image_spec.c
tests_fuzz_fuzz_image_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_image_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_image_LDADD = $(YAJL_LIBS)
# Layers: unpack.c in the target (instrumented); the core library for errors and allocation.
noinst_PROGRAMS += tests/fuzz/fuzz-layer
tests_fuzz_fuzz_layer_SOURCES = tests/fuzz/fuzz-layer.c src/image/unpack.c src/image/digest.c
tests_fuzz_fuzz_layer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_fuzz_fuzz_layer_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_layer_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_layer_LDADD = $(ISOLAZI_CORE_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS)
endif
