# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets (configure --enable-fuzzing CC=clang).  The parser sources are compiled into
# the target itself so that libFuzzer's coverage instrumentation sees them.
EXTRA_DIST += tests/fuzz/fuzz-config.c
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c \
	libocispec/json.c libocispec/schema.c libocispec/runtime_spec.c libocispec/validate.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_config_LDADD = $(YAJL_LIBS)
endif
