# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets (configure --enable-fuzzing CC=clang).
EXTRA_DIST += tests/fuzz/fuzz-config.c
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer,address
tests_fuzz_fuzz_config_LDADD = $(ISOLAZI_CORE_LIBS)
endif
