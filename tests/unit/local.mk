# SPDX-License-Identifier: Apache-2.0
# C unit tests: no root, TAP output, linked against the core library.
UNIT_TESTS = \
	tests/unit/test-json \
	tests/unit/test-ocispec \
	tests/unit/test-mount-flags \
	tests/unit/test-cgroup \
	tests/unit/test-signals \
	tests/unit/test-utils \
	tests/unit/test-core
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/unit/tap.h
UNIT_LDADD = $(ISOLAZI_CORE_LIBS)
tests_unit_test_json_LDADD = $(UNIT_LDADD)
tests_unit_test_ocispec_LDADD = $(UNIT_LDADD)
tests_unit_test_mount_flags_LDADD = $(UNIT_LDADD)
tests_unit_test_cgroup_LDADD = $(UNIT_LDADD)
tests_unit_test_signals_LDADD = $(UNIT_LDADD)
tests_unit_test_utils_LDADD = $(UNIT_LDADD)
tests_unit_test_core_LDADD = $(UNIT_LDADD)
tests_unit_test_core_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
