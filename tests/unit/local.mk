# SPDX-License-Identifier: Apache-2.0
# C unit tests: no root, TAP output, linked against the core library.
UNIT_TESTS = \
	tests/unit/test-json \
	tests/unit/test-ocispec \
	tests/unit/test-mount-flags \
	tests/unit/test-cgroup \
	tests/unit/test-cgroup-systemd \
	tests/unit/test-signals \
	tests/unit/test-utils \
	tests/unit/test-userns \
	tests/unit/test-devices-bpf \
	tests/unit/test-core \
	tests/unit/test-exec \
	tests/unit/test-seccomp \
	tests/unit/test-lsm \
	tests/unit/test-unpack \
	tests/unit/test-vm-protocol \
	tests/unit/test-vm-agent \
	tests/unit/test-vm-share \
	tests/unit/test-sandbox \
	tests/unit/test-reference \
	tests/unit/test-ocispec-image \
	tests/unit/test-store \
	tests/unit/test-bundle-config \
	tests/unit/test-registry \
	tests/unit/test-certs \
	tests/unit/test-auth
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/unit/tap.h
# Documents for test-ocispec (the contract samples plus full-config/full-features/runc-features).
EXTRA_DIST += \
	tests/unit/data/containerd-config.json \
	tests/unit/data/containerd-cri-style-app-config.json \
	tests/unit/data/containerd-exec-tty-process.json \
	tests/unit/data/containerd-privileged-config.json \
	tests/unit/data/containerd-run-tty-config.json \
	tests/unit/data/containerd-seccomp-config.json \
	tests/unit/data/containerd-update-stdin.json \
	tests/unit/data/full-config.json \
	tests/unit/data/full-features.json \
	tests/unit/data/podman-config.json \
	tests/unit/data/podman-exec-process.json \
	tests/unit/data/podman-exec-tty-process.json \
	tests/unit/data/podman-init-config.json \
	tests/unit/data/podman-pod-infra-config.json \
	tests/unit/data/podman-pod-member-config.json \
	tests/unit/data/podman-privileged-config.json \
	tests/unit/data/podman-readonly-tmpfs-bind-config.json \
	tests/unit/data/podman-run-it-config.json \
	tests/unit/data/podman-update-cpus-resources.json \
	tests/unit/data/podman-update-memory-resources.json \
	tests/unit/data/runc-features.json \
	tests/unit/data/umoci-index.json \
	tests/unit/data/umoci-manifest.json \
	tests/unit/data/umoci-config.json \
	tests/unit/data/skopeo-docker-manifest.json \
	tests/unit/data/skopeo-docker-config.json \
	tests/unit/data/docker-manifest-list.json \
	tests/unit/data/oci-index-attestations.json \
	tests/unit/data/ca-1.crt \
	tests/unit/data/ca-2.crt
UNIT_LDADD = $(ISOLAZI_CORE_LIBS)
tests_unit_test_json_LDADD = $(UNIT_LDADD)
tests_unit_test_ocispec_LDADD = $(UNIT_LDADD)
tests_unit_test_mount_flags_LDADD = $(UNIT_LDADD)
tests_unit_test_cgroup_LDADD = $(UNIT_LDADD)
tests_unit_test_cgroup_systemd_LDADD = $(UNIT_LDADD)
tests_unit_test_signals_LDADD = $(UNIT_LDADD)
tests_unit_test_utils_LDADD = $(UNIT_LDADD)
tests_unit_test_userns_LDADD = $(UNIT_LDADD)
tests_unit_test_core_LDADD = $(UNIT_LDADD)
tests_unit_test_devices_bpf_LDADD = $(UNIT_LDADD)
tests_unit_test_devices_bpf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_exec_LDADD = $(UNIT_LDADD)
tests_unit_test_seccomp_LDADD = $(UNIT_LDADD)
tests_unit_test_seccomp_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
tests_unit_test_lsm_LDADD = $(UNIT_LDADD)
tests_unit_test_unpack_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_unpack_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_test_unpack_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS)
tests_unit_test_core_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_reference_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_reference_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_test_ocispec_image_LDADD = $(UNIT_LDADD)
# isolazi-vm: the guest protocol, and the guest agent's process logic run on the host.
tests_unit_test_vm_protocol_SOURCES = tests/unit/test-vm-protocol.c src/vm/protocol.c
tests_unit_test_vm_protocol_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm
tests_unit_test_vm_agent_SOURCES = tests/unit/test-vm-agent.c src/vm-agent/serve.c src/vm-agent/setup.c \
	src/vm-agent/relay.c src/vm-agent/transport.c src/vm/protocol.c
tests_unit_test_vm_agent_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm -I$(top_srcdir)/src/vm-agent
# The share server, against the real FUSE kernel module where the test may mount.
tests_unit_test_vm_share_LDADD = $(ISOLAZI_VM_LIBS)
tests_unit_test_vm_share_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/vm
tests_unit_test_store_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_store_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_test_registry_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_registry_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_test_registry_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_certs_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_certs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_test_certs_CFLAGS = $(AM_CFLAGS) $(SSL_CFLAGS)
tests_unit_test_auth_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_auth_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
tests_unit_test_bundle_config_LDADD = $(ISOLAZI_IMAGE_LIBS)
tests_unit_test_bundle_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/image
