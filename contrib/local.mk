# SPDX-License-Identifier: Apache-2.0
# Developer and CI scripts: shipped in the tarball so a release can be tested the same way.
EXTRA_DIST += \
	.ci/run \
	contrib/demo.sh \
	contrib/install-deps.sh \
	contrib/mkbundle.sh \
	contrib/test.sh

# Client integration: bash completion (installed), podman and containerd config snippets and
# the test image builder (shipped).
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = contrib/bash-completion/isolazi
EXTRA_DIST += \
	contrib/containerd-isolazi.toml \
	contrib/containers.conf \
	contrib/mkimage.sh
