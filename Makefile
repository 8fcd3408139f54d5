# qemu-atomic-pivot: the entry points.  Each step is a script in scripts/
# that does nothing when its output is up to date.
# SPDX-License-Identifier: GPL-2.0-or-later

include config.mk

TOP := $(CURDIR)
BUILD ?= $(TOP)/build
# The libvirt series: where its pristine source, tree and patches are.
LIBVIRT_PRISTINE := $(BUILD)/src/libvirt-pristine
LIBVIRT_TREE := $(BUILD)/libvirt
LIBVIRT_PATCHES := $(TOP)/libvirt/patches
export TOP BUILD QEMU_DEB_VERSION DEB_SUITE MESON_DEB_VERSION SEABIOS_DEB_VERSION \
	QEMU_CONFIGURE_FLAGS QEMU_SANITIZER_FLAGS \
	LIBVIRT_DEB_VERSION LIBVIRT_MESON_OPTIONS LIBVIRT_PREFIX \
	LIBVIRT_PRISTINE LIBVIRT_TREE LIBVIRT_PATCHES
# make-tree.sh, export-patches.sh and check-patches.sh on the libvirt series
LIBVIRT_SERIES := TREE=$(LIBVIRT_TREE) PRISTINE=$(LIBVIRT_PRISTINE) \
	PATCHES=$(LIBVIRT_PATCHES) TARGET_PREFIX=libvirt- PATCH_CHECK=syntax-check

.PHONY: all deps source tools tree build build-sanitizers firmware check check-qemu demo bench \
	export check-patches clean distclean help libvirt-source libvirt-tree \
	libvirt-build libvirt-check libvirt-export libvirt-check-patches

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
	@$(MAKE) --no-print-directory build firmware build-sanitizers libvirt-build
	@scripts/check.sh

## check-qemu     QEMU's own suites only: unit tests, block/virtio qtests, iotests -g auto (raw, qcow2)
check-qemu: deps
	@$(MAKE) --no-print-directory build firmware
	@CHECK_SUITES="$${CHECK_SUITES:-qemu}" scripts/check.sh

## demo           a live pivot with pause-guest on a throwaway VM (DISKS=4: then a set of four disks)
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

## libvirt-source  fetch and unpack the pinned libvirt source package (LIBVIRT_DEB_VERSION)
libvirt-source:
	@scripts/libvirt-source.sh

## libvirt-tree    build/libvirt: pristine libvirt + git am of libvirt/patches/series
libvirt-tree: libvirt-source
	@$(LIBVIRT_SERIES) scripts/make-tree.sh

## libvirt-build   configure (LIBVIRT_MESON_OPTIONS) and build build/libvirt with ninja
libvirt-build: libvirt-tree tools
	@scripts/libvirt-build.sh

## libvirt-check   libvirt's QEMU driver unit tests; TAP in build/check/libvirt.tap
libvirt-check: libvirt-build
	@scripts/libvirt-check.sh

## libvirt-export  regenerate libvirt/patches from build/libvirt's commits
libvirt-export:
	@$(LIBVIRT_SERIES) scripts/export-patches.sh

## libvirt-check-patches  the series applies; libvirt's syntax-check after each patch
libvirt-check-patches: libvirt-source tools
	@$(LIBVIRT_SERIES) scripts/check-patches.sh

clean:
	rm -rf $(BUILD)/qemu/build

distclean:
	rm -rf $(BUILD)
