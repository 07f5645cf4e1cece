# SPDX-License-Identifier: Apache-2.0
include tests/unit/local.mk
include tests/fuzz/local.mk
include tests/integration/local.mk
