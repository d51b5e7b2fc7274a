#!/usr/bin/env bash
# Build the Debian base image of our Dockerfiles without any image registry.
#
#   deploy/images/base-image.sh            # tags debian:bookworm-slim unless it exists
#   deploy/images/base-image.sh --force    # rebuild it
#
# Every Dockerfile under deploy/images starts FROM debian:bookworm-slim. Where a
# registry is reachable that name is Debian's official image. Where none is (our
# development machines and CI), this script makes the same thing from the Debian
# package mirror alone: debootstrap a minimal bookworm, trim it as the slim image
# is trimmed (no docs, man pages or locales; apt lists dropped), `docker import` it
# and tag it debian:bookworm-slim, so the same Dockerfiles build unchanged.
#
# The root file system tarball is cached in $CODETUTOR_CACHE/images (debootstrap
# takes minutes) and re-imported from there on a machine whose Docker lost it.
set -euo pipefail

CACHE="${CODETUTOR_CACHE:-/var/cache/codetutor}"
TAG="${CODETUTOR_BASE_TAG:-debian:bookworm-slim}"
SUITE="${CODETUTOR_BASE_SUITE:-bookworm}"
MIRROR="${CODETUTOR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TARBALL="$CACHE/images/debian-$SUITE-slim-rootfs.tar.gz"

log() { printf '\033[1m[base-image]\033[0m %s\n' "$*" >&2; }

force=0
[ "${1:-}" = "--force" ] && force=1

if [ "$force" -eq 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    log "$TAG is already present"
    exit 0
fi

if [ "$force" -eq 1 ] || [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
        log "debootstrap is missing (apt-get install debootstrap)"
        exit 1
    }
    root="$(mktemp -d "${TMPDIR:-/tmp}/codetutor-rootfs.XXXXXX")"
    trap 'rm -rf "$root"' EXIT
    log "debootstrap $SUITE from $MIRROR (a few minutes; cached in $TARBALL)"
    debootstrap --variant=minbase --merged-usr --include=ca-certificates \
        "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
        tail -20 "$root.log" >&2
        exit 1
    }
    rm -f "$root.log"
    # The official slim image's trimming: no documentation, manuals or locales, now
    # or in packages installed later; no apt lists or caches in the image.
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
CFG
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$root/etc/apt/apt.conf.d/docker-no-recommends"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<CFG
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
CFG
    rm -f "$root/etc/apt/sources.list"
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
        "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/*
    : >"$root/etc/hostname"
    mkdir -p "$(dirname "$TARBALL")"
    tar --numeric-owner -C "$root" -czf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
fi

log "importing $TARBALL as $TAG"
docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$TARBALL" "$TAG" >/dev/null
log "$TAG ready ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
