#!/bin/sh
# The one install recipe of every image's build stage. deploy/images/wheel/Dockerfile
# puts it, constraints.txt and the build host's CAs in /build of the codetutor/wheel
# image, with the distribution's wheel in /dist; every other image's build stage copies
# /build from it first and /dist last (so only the last layers change with our code),
# and runs:
#
#   install.sh system [APT_PACKAGE...]      Debian's Python 3 and venv (and the packages
#                                           named), trusting /build/ca-certificates
#   install.sh wheel SOURCE                 build the distribution's wheel from the source
#                                           tree SOURCE into /dist
#   install.sh venv REQUIREMENTS [PIP_ARG...]
#                                           /opt/venv: REQUIREMENTS (and PIP_ARGs) pinned by
#                                           constraints.txt (what the image's services import)
#   install.sh distribution                 then the whole distribution from /dist (no
#                                           dependencies), and no pip. A step of its own, last,
#                                           so a change of our code rebuilds only this layer.
#   install.sh kernel REQUIREMENTS          /opt/venv as venv does, without the distribution
#                                           (the judge's sandbox runs no Code Tutor code)
set -eu

BUILD=/build
VENV=/opt/venv
# CAs of a TLS-inspecting proxy on the way to the package index, if any.
export PIP_CERT=/etc/ssl/certs/ca-certificates.crt
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

pip_install() {
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -c "$BUILD/constraints.txt" "$@"
}

without_pip() {
    "$VENV/bin/pip" uninstall -y -q pip setuptools
}

command="$1"
shift
case "$command" in
    system)
        apt-get update
        apt-get install -y --no-install-recommends ca-certificates python3 python3-venv "$@"
        rm -rf /var/lib/apt/lists/*
        cp -r "$BUILD/ca-certificates/." /usr/local/share/ca-certificates/
        update-ca-certificates
        ;;
    wheel)
        python3 -m venv /tmp/wheel-venv
        /tmp/wheel-venv/bin/pip wheel --no-deps --wheel-dir /dist "$1"
        rm -rf /tmp/wheel-venv
        ls /dist/codetutor-*.whl
        ;;
    venv)
        requirements="$1"
        shift
        pip_install -r "$requirements" "$@"
        ;;
    distribution)
        pip_install --no-deps /dist/codetutor-*.whl
        without_pip
        ;;
    kernel)
        pip_install -r "$1"
        without_pip
        ;;
    *)
        echo "install.sh: unknown command $command" >&2
        exit 2
        ;;
esac
