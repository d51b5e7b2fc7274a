#!/usr/bin/env bash
# Build Code Tutor's images from deploy/images/<name>/Dockerfile (context: the repository).
#
#   deploy/images/build.sh [NAME...]     # default: hub singleuser judge-worker judge-kernel llm
#   deploy/images/build.sh --sizes       # print the size of each built image
#
# Tags: $CODETUTOR_IMAGE_PREFIX/<name>:$CODETUTOR_TAG (default codetutor/<name>:latest).
# The `wheel` image comes first, whatever is named: what every other image's build stage
# copies from, holding install.sh and the distribution's wheel built from the source tree
# (wheel/Dockerfile); each image installs the whole distribution from it (install.sh).
# Works without an image registry: the Debian base comes from base-image.sh when it is
# not there. Each image is labelled with a hash of its inputs (Dockerfile, files it
# copies, base image); an image whose inputs did not change is not rebuilt, and a built
# image is saved to $CODETUTOR_CACHE/images, from where a fresh machine (CI) loads it
# instead of building. llm-cuda needs NVIDIA's CUDA images from a registry: it is only
# built when named.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${CODETUTOR_CACHE:-/var/cache/codetutor}"
PREFIX="${CODETUTOR_IMAGE_PREFIX:-codetutor}"
TAG="${CODETUTOR_TAG:-latest}"
DEFAULT_IMAGES=(hub singleuser judge-worker judge-kernel llm)

log() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }

# What the wheel is built from: pyproject.toml, README.md and the folders its
# package-dir maps into the package (so a new package needs no change here).
wheel_sources() {
    python3 - "$ROOT/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    setuptools = tomllib.load(f)["tool"]["setuptools"]
print("pyproject.toml README.md", *sorted(set(setuptools["package-dir"].values())))
PY
}

# The files an image's build reads besides its own folder: the wheel image's (its
# Dockerfile, install.sh, constraints and, but for the sandbox, the sources).
inputs_of() {
    local stage="deploy/images/wheel deploy/images/install.sh deploy/images/constraints.txt"
    case "$1" in
        wheel) echo "$stage $(wheel_sources)" ;;
        judge-kernel) echo "$stage" ;;
        hub) echo "$stage $(wheel_sources) jupyterhub_config.py" ;;
        *) echo "$stage $(wheel_sources)" ;;
    esac
}

input_hash() {
    local name="$1" base_id
    base_id="$(docker image inspect -f '{{.Id}}' debian:bookworm-slim 2>/dev/null || true)"
    (
        cd "$ROOT"
        echo "$base_id"
        # shellcheck disable=SC2046
        find "deploy/images/$name" $(inputs_of "$name") -type f \
            -not -path '*/__pycache__/*' -not -path '*/node_modules/*' -not -name '*.pyc' \
            -print0 | sort -z | xargs -0 sha256sum
        find deploy/images/ca-certificates -name '*.crt' -print0 | sort -z | xargs -0 -r sha256sum
    ) | sha256sum | cut -c1-16
}

copy_build_host_cas() {
    # A TLS-inspecting proxy between this machine and the package index: trust its CA
    # in the build stages too (see deploy/images/ca-certificates/README.md).
    local crt
    for crt in /usr/local/share/ca-certificates/*.crt; do
        [ -f "$crt" ] && cp -f "$crt" "$HERE/ca-certificates/"
    done
    return 0
}

stage_wheels() {
    # The llm image installs llama-cpp-python from a wheel in its folder when one is
    # there: the one ./dev setup compiled with the same portable flags (no rebuild).
    [ "$1" = llm ] || return 0
    local version wheel
    version="$(sed -n 's/^llama_cpp_python==//p' "$HERE/constraints.txt")"
    rm -f "$HERE/llm/wheels/"*.whl
    for wheel in "$CACHE/wheels/llama_cpp_python-$version-"*.whl; do
        [ -f "$wheel" ] || continue
        log "llm: installing the cached $(basename "$wheel") instead of compiling llama.cpp"
        cp -f "$wheel" "$HERE/llm/wheels/"
    done
    return 0
}

build_one() {
    local name="$1" ref="$PREFIX/$1:$TAG" key have tarball
    key="$(input_hash "$name")"
    have="$(docker image inspect -f '{{index .Config.Labels "codetutor.inputs"}}' "$ref" 2>/dev/null || true)"
    if [ "$have" = "$key" ]; then
        log "$ref is up to date"
        return
    fi
    tarball="$CACHE/images/$name-$key.tar.gz"
    if [ -s "$tarball" ]; then
        log "loading $ref from $tarball"
        gunzip -c "$tarball" | docker load -q >/dev/null
        docker tag "codetutor-cache/$name:$key" "$ref"
        return
    fi
    log "building $ref"
    local started=$SECONDS
    docker build -q -f "$HERE/$name/Dockerfile" --label "codetutor.inputs=$key" \
        --build-arg "WHEEL_IMAGE=$PREFIX/wheel:$TAG" \
        -t "$ref" -t "codetutor-cache/$name:$key" "$ROOT" >/dev/null
    log "built $ref in $((SECONDS - started)) s; caching it in $tarball"
    # Earlier builds of this image are superseded: drop their cache tags (layers still in use stay).
    docker image ls --format '{{.Repository}}:{{.Tag}}' "codetutor-cache/$name" |
        grep -v ":$key\$" | xargs -r docker image rm >/dev/null 2>&1 || true
    mkdir -p "$CACHE/images"
    rm -f "$CACHE/images/$name"-*.tar.gz
    docker save "codetutor-cache/$name:$key" | gzip -1 >"$tarball.partial"
    mv "$tarball.partial" "$tarball"
}

sizes() {
    local name
    local size
    for name in "${DEFAULT_IMAGES[@]}" llm-cuda; do
        size="$(docker image inspect -f "{{.Size}}" "$PREFIX/$name:$TAG" 2>/dev/null)" || continue
        awk -v n="$PREFIX/$name:$TAG" -v s="$size" 'BEGIN {printf "%-40s %6.0f MB\n", n, s/1e6}'
    done
}

if [ "${1:-}" = "--sizes" ]; then
    sizes
    exit 0
fi

"$HERE/base-image.sh"
copy_build_host_cas
images=("$@")
[ ${#images[@]} -eq 0 ] && images=("${DEFAULT_IMAGES[@]}")
# the build stage of all the others first
build_one wheel
for name in "${images[@]}"; do
    [ "$name" = wheel ] && continue
    [ -f "$HERE/$name/Dockerfile" ] || {
        log "no such image: $name"
        exit 2
    }
    stage_wheels "$name"
    build_one "$name"
done
