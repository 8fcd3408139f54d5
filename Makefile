# qemu-atomic-pivot: the entry points.  Each step is a script in scripts/
# that does nothing when its output is up to date.
# SPDX-License-Identifier: GPL-2.0-or-later

include config.mk

TOP := $(CURDIR)
BUILD ?= $(TOP)/build
export TOP BUILD QEMU_DEB_VERSION DEB_SUITE MESON_DEB_VERSION QEMU_CONFIGURE_FLAGS \
	QEMU_SANITIZER_FLAGS

.PHONY: all deps source tools tree build build-sanitizers firmware check demo bench \
	export check-patches clean distclean help

all: build firmware

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## deps           install the Debian packages the build and tests need
deps:
	@scripts/deps.sh

## source         fetch and unpack the pinned QEMU source package (QEMU_SRC= overrides)
source:
	@scripts/fetch-source.sh

tools: source
	@scripts/tools.sh

## tree           build/qemu: pristine source + git am of patches/series
tree: source
	@scripts/make-tree.sh

## build          configure (config.mk flags) and build build/qemu with ninja
build: tree tools
	@scripts/build.sh

## build-sanitizers  the same tree in build/qemu/build-san with ASan and UBSan
build-sanitizers: tree tools
	@SANITIZERS=1 scripts/build.sh
	@SANITIZERS=1 scripts/firmware.sh

firmware: build
	@scripts/firmware.sh

## check          everything above, then all the tests; prints "N passed, N failed"
check: deps
	@$(MAKE) --no-print-directory build firmware build-sanitizers
	@scripts/check.sh

## demo           a live pivot with pause-guest on a throwaway VM
demo: deps
	@$(MAKE) --no-print-directory build firmware
	@scripts/demo.sh

## bench          the pause-window benchmark: bench/results.md and bench/pause-window.png
bench: deps
	@$(MAKE) --no-print-directory build firmware
	@scripts/bench.sh

## export         regenerate patches/ from build/qemu's commits
export:
	@scripts/export-patches.sh

## check-patches  checkpatch.pl on every patch, and the series applies (BUILD_EACH=1: each prefix builds)
check-patches: source
	@scripts/check-patches.sh

clean:
	rm -rf $(BUILD)/qemu/build

distclean:
	rm -rf $(BUILD)
