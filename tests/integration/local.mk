# SPDX-License-Identifier: Apache-2.0
# bats integration tests: real containers, as root.  `make check-integration`.
EXTRA_DIST += $(wildcard $(srcdir)/tests/integration/*.bats) tests/integration/helpers.bash
