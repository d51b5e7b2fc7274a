#!/usr/bin/env bash
# Run a command in a throwaway VM whose cgroups are v2 (the unified hierarchy):
#
#   tests/vm/run.sh COMMAND [ARGS]    # exit status: the command's; its output on stdout
#
# The VM is QEMU under TCG (software emulation: /dev/kvm hangs on our machines) booting
# Debian's kernel (package linux-image-amd64) with a busybox initramfs (tests/vm/init,
# built once per kernel into $CODETUTOR_CACHE/vm). Its root file system is this host's,
# shared read-only over 9p, so the checkout, its .venv and the Python under /root/.pyenv
# it points at are at the same paths inside with the same packages (bubblewrap,
# util-linux); /tmp, /run and /dev/shm are fresh tmpfs. The command runs in the checkout
# (see tests/vm/inner.sh for the cgroup set-up), 2 vCPUs, CODETUTOR_VM_MEMORY_MB of RAM.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${CODETUTOR_CACHE:-/var/cache/codetutor}"
MEMORY="${CODETUTOR_VM_MEMORY_MB:-3584}"
KERNEL="${CODETUTOR_VM_KERNEL:-$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' | sort -V | tail -n 1)}"
[ -r "$KERNEL" ] || {
    echo "run.sh: no Debian kernel in /boot (apt-get install linux-image-amd64)" >&2
    exit 3
}
command -v qemu-system-x86_64 >/dev/null || {
    echo "run.sh: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2
    exit 3
}
KVER="${KERNEL##*/vmlinuz-}"
MODULES=(netfs fscache 9pnet 9p virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
    virtio_pci 9pnet_virtio)

initramfs="$CACHE/vm/initramfs-$KVER.cpio.gz"
if [ ! -s "$initramfs" ] || [ "$HERE/init" -nt "$initramfs" ]; then
    build="$(mktemp -d)"
    mkdir -p "$build"/{bin,proc,sys,dev,modules} "$CACHE/vm"
    cp "$(command -v busybox)" "$build/bin/busybox"
    for module in "${MODULES[@]}"; do
        file="$(modinfo -k "$KVER" -F filename "$module")"
        case "$file" in
            *.ko.xz) xz -dc "$file" >"$build/modules/$module.ko" ;;
            *.ko.zst) zstd -qdc "$file" >"$build/modules/$module.ko" ;;
            *) cp "$file" "$build/modules/$module.ko" ;;
        esac
    done
    printf '%s\n' "${MODULES[@]}" >"$build/modules.order"
    install -m 755 "$HERE/init" "$build/init"
    (cd "$build" && find . | cpio -o -H newc --quiet | gzip -1) >"$initramfs.partial"
    mv "$initramfs.partial" "$initramfs"
    rm -rf "$build"
fi

io="$(mktemp -d)"
trap 'rm -rf "$io"' EXIT
printf '%q ' "$@" >"$io/cmd"
pwd >"$io/cwd"
# No -enable-kvm: KVM hangs here; multi-threaded TCG uses both vCPUs.
timeout "${CODETUTOR_VM_TIMEOUT_S:-1200}" qemu-system-x86_64 \
    -machine q35 -accel tcg,thread=multi -cpu max -smp 2 -m "$MEMORY" \
    -display none -no-reboot -serial stdio -monitor none \
    -kernel "$KERNEL" -initrd "$initramfs" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 codetutor.checkout=$ROOT" \
    -fsdev local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
    -fsdev local,id=io,path="$io",security_model=passthrough \
    -device virtio-9p-pci,fsdev=io,mount_tag=io </dev/null
[ -s "$io/rc" ] || {
    echo "run.sh: the VM stopped before the command finished" >&2
    exit 4
}
exit "$(cat "$io/rc")"
