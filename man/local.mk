# SPDX-License-Identifier: Apache-2.0
# Man pages: written in markdown (man/*.8.md), converted with go-md2man.  Both the markdown and
# the generated pages go into the tarball, so that a build from it needs no go-md2man.
MAN_MD = \
	man/isolazi.8.md \
	man/isolazi-create.8.md \
	man/isolazi-delete.8.md \
	man/isolazi-events.8.md \
	man/isolazi-exec.8.md \
	man/isolazi-features.8.md \
	man/isolazi-kill.8.md \
	man/isolazi-list.8.md \
	man/isolazi-pause.8.md \
	man/isolazi-ps.8.md \
	man/isolazi-resume.8.md \
	man/isolazi-run.8.md \
	man/isolazi-spec.8.md \
	man/isolazi-start.8.md \
	man/isolazi-state.8.md \
	man/isolazi-update.8.md \
	man/isolazi-vm.8.md \
	man/isolazi-vm-sandbox.8.md \
	man/isolazi-pull.1.md
MAN_PAGES = $(MAN_MD:.md=)

dist_man_MANS += $(MAN_PAGES)
EXTRA_DIST += $(MAN_MD)
MAINTAINERCLEANFILES = $(MAN_PAGES)

if HAVE_GO_MD2MAN
man/%.8: man/%.8.md
	@$(MKDIR_P) $(@D)
	$(AM_V_GEN)$(GO_MD2MAN) -in $< -out $@
man/%.1: man/%.1.md
	@$(MKDIR_P) $(@D)
	$(AM_V_GEN)$(GO_MD2MAN) -in $< -out $@
else
man/%.1: man/%.1.md
	@echo "$@: go-md2man is needed to build the man pages from a git checkout (apt-get install go-md2man)" >&2
	@exit 1
man/%.8: man/%.8.md
	@echo "$@: go-md2man is needed to build the man pages from a git checkout (apt-get install go-md2man)" >&2
	@exit 1
endif

man: $(MAN_PAGES)
.PHONY: man
