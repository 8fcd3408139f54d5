# The one place where the pipeline's pins and build flags live.
# SPDX-License-Identifier: GPL-2.0-or-later

# Debian 13 "trixie" source package the series applies to.  To re-pin,
# change this line (make source names the newest 10.0.x the archive has).
QEMU_DEB_VERSION := 1:10.0.13+ds-0+deb13u1

# Suite the source, qemu-system-data (same version), seabios and meson
# come from.
DEB_SUITE := trixie

# The BIOS: qemu-system-x86 10.0.13 depends on seabios >> 1.16.3-1~.
# Debian 12's 1.16.2 relies on bugs of the ESP emulation that QEMU 9.0
# fixed: it hangs probing an am53c974 disk (cdrom-test's boot case).
SEABIOS_DEB_VERSION := 1.16.3-2

# QEMU 10.0 needs meson >= 1.5; Debian 12 has 1.0.1.  The suite above has
# this one (arch all, pure Python), unpacked into a venv under build/.
MESON_DEB_VERSION := 1.7.0-1

# configure flags: the product is x86_64 system emulation plus the tools
# and qemu-storage-daemon that qemu-iotests need.
QEMU_CONFIGURE_FLAGS := --target-list=x86_64-softmmu --enable-tools \
	--disable-docs --disable-download --disable-install-blobs \
	--enable-werror

# The second build directory (make build-sanitizers) adds these.
QEMU_SANITIZER_FLAGS := --enable-asan --enable-ubsan

# The libvirt series: Debian 13's libvirt source package (same suite as
# above).  To re-pin, change this line (make libvirt-source names the newest
# 11.3.x the archive has).
LIBVIRT_DEB_VERSION := 11.3.0-3+deb13u3

# meson options for build/libvirt/build: the QEMU driver and the unit tests,
# no docs, no other hypervisor driver.  Installed (if ever) under
# build/libvirt-prefix; runstatedir follows the prefix so that virsh finds
# the daemon's socket there.  (Recursive "=": BUILD is set by the Makefile.)
LIBVIRT_PREFIX = $(BUILD)/libvirt-prefix
LIBVIRT_MESON_OPTIONS = --prefix=$(LIBVIRT_PREFIX) \
	-Drunstatedir=$(LIBVIRT_PREFIX)/var/run \
	-Ddriver_qemu=enabled -Dqemu_user=root -Dqemu_group=root \
	-Dtests=enabled -Dexpensive_tests=disabled -Ddocs=disabled \
	-Ddriver_lxc=disabled -Ddriver_openvz=disabled -Ddriver_vbox=disabled \
	-Ddriver_vmware=disabled -Ddriver_esx=disabled -Ddriver_hyperv=disabled \
	-Ddriver_ch=disabled -Ddriver_bhyve=disabled -Ddriver_libxl=disabled \
	-Ddriver_vz=disabled -Dstorage_vstorage=disabled -Dstorage_zfs=disabled
