# shellcheck shell=bash
# The deployment tools the tests use: mmdebstrap (the image's Debian base, scripts/build-image.sh) and kubectl
# (`kubectl kustomize deploy/k3s`, tests/deploy/test_k3s.py). kubectl comes from Debian (kubernetes-client) unless
# one is on the PATH already; its kustomize is old (v2), which deploy/k3s/kustomization.yaml keeps working with.
# Sourced by scripts/install-system.sh (apt_install, install_failed). Idempotent and quick when done.

apt_install mmdebstrap || install_failed "40-deploy: could not install mmdebstrap (the project's image cannot be built)"
command -v kubectl >/dev/null 2>&1 || apt_install kubernetes-client \
  || install_failed "40-deploy: could not install kubernetes-client (kubectl; the k3s manifests cannot be checked)"
