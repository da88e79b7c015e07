#!/usr/bin/env bash
# Run make-captures.sh for the named scenarios inside a QEMU VM that boots
# Debian's own kernel, for tunnel types the host kernel cannot make (geneve,
# gretap, erspan, ipip, sit on a kernel built without them).
#
#   sudo bash captures/vm/make-captures-vm.sh geneve-abortive-close ipip-half-open
#
# The VM (software emulation, no KVM needed) has no network and no disk: its
# root filesystem is this host's, shared read-only over 9p under a tmpfs
# overlay, so it runs the very same make-captures.sh, python3, ip, tcpdump, nft
# and ss. captures/ is shared read-write, so the pcaps and truth files land
# there as with a run on the host. The kernel and its modules come from the
# Debian package linux-image-amd64 (apt-get download, unpacked, never
# installed); the initramfs is busybox plus the virtio, 9p and overlay modules.
# Needs: qemu-system-x86 busybox-static kmod (Debian), and apt with Debian's
# package lists. The kernel package and the built initramfs are cached in
# $TSL_VM_CACHE (default /var/tmp/tsl-vm); TSL_VM_KERNEL_PKG picks another
# kernel package (e.g. linux-image-6.1.0-57-amd64, the one the committed
# captures were made with).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CAPTURES="$(dirname "$HERE")"
CACHE="${TSL_VM_CACHE:-/var/tmp/tsl-vm}"

die() { echo "make-captures-vm: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the scenarios need it inside the VM too)"
[ "$#" -gt 0 ] || die "name the scenarios to run (see captures/README.md, \"Tunnel topology\")"
for tool in qemu-system-x86_64 busybox depmod modprobe apt-get dpkg-deb gzip; do
    command -v "$tool" >/dev/null 2>&1 || die "missing $tool (Debian: qemu-system-x86 busybox-static kmod)"
done
busybox --list | grep -qx cpio || die "busybox has no cpio applet"
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
BUSYBOX="$(command -v busybox)"
file_is_static "$BUSYBOX" || die "$BUSYBOX is not static (install busybox-static)"

# names are checked on the host, so a typo does not cost a VM boot
known="$(python3 "$CAPTURES/scenarios/tsl.py" list)"
for s in "$@"; do
    printf '%s\n' "$known" | grep -qx -- "$s" || die "unknown scenario '$s'"
done

mkdir -p "$CACHE"
PKG="${TSL_VM_KERNEL_PKG:-}"
if [ -z "$PKG" ]; then
    PKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
    [ -n "$PKG" ] || die "apt-cache knows no linux-image-amd64 (run apt-get update)"
fi
KVER="${PKG#linux-image-}"
KROOT="$CACHE/$PKG"
if [ ! -e "$KROOT/boot/vmlinuz-$KVER" ]; then
    echo "make-captures-vm: fetching $PKG"
    rm -rf "$KROOT" "$CACHE/deb"
    mkdir -p "$CACHE/deb" "$KROOT"
    (cd "$CACHE/deb" && apt-get download "$PKG")
    dpkg-deb -x "$CACHE"/deb/"$PKG"_*.deb "$KROOT"
    depmod -b "$KROOT" "$KVER"
    rm -rf "$CACHE/deb"
fi
PKGVER="$(cat "$KROOT/.pkgver" 2>/dev/null || true)"
if [ -z "$PKGVER" ]; then
    PKGVER="$(apt-cache show "$PKG" 2>/dev/null | awk '/^Version:/ {print $2; exit}')"
    echo "$PKGVER" > "$KROOT/.pkgver"
fi

INITRD="$CACHE/initrd-$KVER.gz"
if [ ! -e "$INITRD" ] || [ "$HERE/initramfs-init" -nt "$INITRD" ]; then
    ird="$(mktemp -d "$CACHE/initrd.XXXXXX")"
    mkdir -p "$ird/bin" "$ird/mods" "$ird/proc" "$ird/sys" "$ird/dev"
    cp "$BUSYBOX" "$ird/bin/busybox"
    install -m 0755 "$HERE/initramfs-init" "$ird/init"
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
             netfs fscache 9pnet 9pnet_virtio 9p overlay; do
        ko="$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" | awk 'END {print $2}')"
        [ -n "$ko" ] || die "$PKG has no module $m"
        case "$ko" in
            *.ko) cp "$ko" "$ird/mods/$m.ko" ;;
            *.ko.xz) xz -dc "$ko" > "$ird/mods/$m.ko" ;;
            *.ko.zst) zstd -dcq "$ko" > "$ird/mods/$m.ko" ;;
            *) die "module $ko: unknown compression" ;;
        esac
    done
    (cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 > "$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
    rm -rf "$ird"
fi

# the guest reads what to run from here and leaves its exit status and log here
CTL="$(mktemp -d "$CACHE/run.XXXXXX")"
trap 'rm -rf "$CTL"' EXIT
QEMU_VER="$(qemu-system-x86_64 --version | head -1)"
printf '%s\n' "$@" > "$CTL/scenarios"
echo "QEMU VM, software emulation (TCG, no KVM), 2 vCPUs, 1 GiB: $QEMU_VER; Debian kernel package $PKG $PKGVER; the host's root filesystem shared read-only over 9p (captures/vm/make-captures-vm.sh)" > "$CTL/machine"

echo "make-captures-vm: booting $PKG ($PKGVER) for: $*"
rc=0
# every scenario is a few seconds on the host, some 10-20 s emulated; boot ~10 s
timeout "$((120 + 60 * $#))" qemu-system-x86_64 \
    -accel tcg,thread=multi -smp 2 -m 1024 -nographic -no-reboot -nic none \
    -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 quiet" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$KROOT/lib/modules,mount_tag=kmods,security_model=none,readonly=on" \
    -virtfs "local,path=$CAPTURES,mount_tag=out,security_model=none" \
    -virtfs "local,path=$CTL,mount_tag=ctl,security_model=none" \
    > "$CTL/console.log" 2>&1 || rc=$?
# the console carries make-captures.sh's own report
sed -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\r//g' "$CTL/console.log" |
    grep -v -e '^SeaBIOS' -e '^Booting from ROM' -e '^c*$' || true
[ "$rc" -eq 0 ] || die "qemu exited with $rc"
[ -e "$CTL/rc" ] || die "the VM did not report an exit status"
exit "$(cat "$CTL/rc")"
