#!/usr/bin/env bash
# Installs the system packages and tools the project needs on a fresh Debian bookworm machine (as root), by
# running every piece under scripts/system.d/ in name order. Each piece is idempotent and quick when its work
# is already done, so `make serve` and `make test` can call this every time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
  # apt_install PKG...: installs only what is missing; runs `apt-get update` at most once per call of this script.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then echo "install-system: need root to install ${missing[*]}" >&2; return 1; fi
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
install_failed() {
  # install_failed MESSAGE: a piece could not be set up. Under CI=true that fails the run: a broken install must
  # not turn into skipped tests. Elsewhere it is reported and `classroom doctor` says what is missing.
  echo "install-system: $*" >&2
  case "${CI:-}" in
    1 | true | TRUE | True | yes) echo "install-system: CI=true, so this is fatal" >&2; exit 1 ;;
  esac
  return 0
}
export -f apt_install 2>/dev/null || true
for piece in "$here"/system.d/*.sh; do
  [ -e "$piece" ] || continue
  # shellcheck source=/dev/null
  . "$piece"
done
