#!/usr/bin/env bash
# Build the classroom image (one image for the web edge, the Ray head and the sandbox workers) with no container
# registry: the base is a Debian bookworm root filesystem made by mmdebstrap from Debian's packages and loaded with
# `docker import`; deploy/Dockerfile builds on it (multi-stage: Node 20 and uv exist only in the build stages).
#
#   scripts/build-image.sh [TAG]          (default classroom:0.1.0; the base rootfs is cached in ~/.cache/classroom)
#
# Then, for k3s:  docker save TAG | k3s ctr images import -
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-classroom:0.1.0}
BASE=classroom-base:bookworm
CACHE=${CLASSROOM_IMAGE_CACHE:-$HOME/.cache/classroom}
PACKAGES=python3.11,python3.11-venv,ca-certificates,bubblewrap,util-linux,procps,tini,curl,apt

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    mkdir -p "$CACHE"
    if [ ! -s "$CACHE/base-bookworm.tar" ]; then
        command -v mmdebstrap >/dev/null || { echo "build-image: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
        mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
            --customize-hook='chroot "$1" useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin classroom' \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
            bookworm "$CACHE/base-bookworm.part.tar"
        mv "$CACHE/base-bookworm.part.tar" "$CACHE/base-bookworm.tar"
    fi
    docker import --change 'CMD ["/bin/bash"]' "$CACHE/base-bookworm.tar" "$BASE" >/dev/null
fi

# The build stages reach PyPI and npm through this machine's TLS setup: hand them its CA bundle (a file ignored by
# git; only the build stages read it, the final image does not contain it).
mkdir -p .build
cp /etc/ssl/certs/ca-certificates.crt .build/ca-bundle.crt
docker build --quiet -f deploy/Dockerfile --build-arg BASE="$BASE" -t "$TAG" . >/dev/null
echo "image ready: $TAG"
