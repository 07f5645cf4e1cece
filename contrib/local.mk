# SPDX-License-Identifier: Apache-2.0
# Developer and CI scripts: shipped in the tarball so a release can be tested the same way.
EXTRA_DIST += \
	.ci/run \
	contrib/demo.sh \
	contrib/install-deps.sh \
	contrib/mkbundle.sh \
	contrib/test.sh
