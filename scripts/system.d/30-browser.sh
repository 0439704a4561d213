# shellcheck shell=bash
# The browser side: Debian's Chromium for the Playwright tests (tests/browser drive /usr/bin/chromium; no browser
# is ever downloaded), Node.js + npm when missing, and the front-end bundle in web/dist. Sourced by
# scripts/install-system.sh, which defines apt_install and install_failed. Idempotent and quick when done; a failure
# is reported: fatal under CI=true, elsewhere the browser tests skip without /usr/bin/chromium and the pages say
# when the bundle is missing.
_web_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/web"

apt_install chromium fonts-dejavu-core || install_failed "30-browser: could not install chromium (browser tests will skip)"
command -v npm >/dev/null 2>&1 || apt_install nodejs npm \
  || install_failed "30-browser: could not install nodejs/npm (the front end cannot be built)"

if command -v npm >/dev/null 2>&1 && [ -f "$_web_root/package.json" ]; then
  (
    cd "$_web_root"
    [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
      || npm ci --no-audit --no-fund --loglevel=error
    npm run --silent build
  ) || install_failed "30-browser: could not build the front end in $_web_root"
fi
unset _web_root
