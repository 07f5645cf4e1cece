#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# isolazi-vm sandbox presets beyond python: node, ruby and go, each built by
# contrib/sandbox-preset.sh from the apt mirror into the cache (keyed by the package versions:
# a second build is a no-op) and run for real in a sandbox.  Each test prints how long the
# preset build and the first create (which makes the ext4 base image) took, to fd 3.

load sandbox-common

# preset NAME: build (or find cached) the preset; skip when the mirror cannot provide it.
preset() {
	local t0=$SECONDS
	bash "$SRCDIR/contrib/sandbox-preset.sh" "$1" >/dev/null 2>"$BATS_TEST_TMPDIR/preset.err" ||
		skip "cannot build the $1 preset (apt mirror?): $(tail -n 1 "$BATS_TEST_TMPDIR/preset.err")"
	echo "# preset $1: built or found in $((SECONDS - t0)) s" >&3
	# cached: the same package versions, nothing to do
	run bash "$SRCDIR/contrib/sandbox-preset.sh" "$1"
	[ "$status" -eq 0 ]
	assert_contains "(up to date)"
}

# timed_create NAME ARGS...: sb create, with its time on fd 3.
timed_create() {
	local t0 t1 name="$1"
	shift
	t0=$(date +%s%N)
	sb create "$@" "$name"
	t1=$(date +%s%N)
	echo "# create $name ($*): $(((t1 - t0) / 1000000)) ms" >&3
}

@test "sandbox preset node: node -e runs, with the Debian nodejs" {
	preset node
	timed_create n1 --preset node
	[ "$(sb info n1 | jq -r .source)" = preset:node ]
	run sb exec n1 node -e 'console.log(6 * 7, typeof require("fs").readFileSync)'
	[ "$status" -eq 0 ]
	[ "$output" = "42 function" ]
	run sb exec n1 node -e 'process.exit(3)'
	[ "$status" -eq 3 ]
	run sb exec n1 node --version
	[[ "$output" == v* ]]
}

@test "sandbox preset ruby: ruby -e runs, with its standard library" {
	preset ruby
	timed_create r1 --preset ruby
	run sb exec r1 ruby -e 'require "json"; puts JSON.generate({"answer" => 6 * 7})'
	[ "$status" -eq 0 ]
	[ "$output" = '{"answer":42}' ]
	run sb exec r1 ruby -e 'exit 4'
	[ "$status" -eq 4 ]
}

@test "sandbox preset go: go version, and go run builds and runs a program" {
	preset go
	# the toolchain is large: a bigger disk, and RAM for the compiler
	timed_create g1 --preset go --disk 2g --memory 1g
	run sb exec g1 go version
	[ "$status" -eq 0 ]
	[[ "$output" == "go version go1."* ]]
	[ "${ISOLAZI_TEST_GO_RUN:-1}" = 1 ] || return 0
	sb write g1 /root/hello/main.go <<<'package main

import "fmt"

func main() { fmt.Println("hello from go", 6*7) }'
	local t0=$SECONDS
	RUNTIME_TIMEOUT=700 run sb exec --timeout 600 --cwd /root/hello -e HOME=/root -e GOCACHE=/root/.cache/go -e GOFLAGS=-buildvcs=false g1 go run main.go
	echo "# go run (cold build cache, TCG): $((SECONDS - t0)) s" >&3
	[ "$status" -eq 0 ]
	[ "$output" = "hello from go 42" ]
}
