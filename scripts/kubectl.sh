#!/usr/bin/env bash
# Runs the kubectl that Holdfast's Kubernetes-mode tests use: $HOLDFAST_KUBECTL if set, else the
# kubectl 1.20 that `scripts/setup.sh test` unpacks into .tools/bin (a system kubectl may be a
# different version or a cloud SDK's wrapper).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBECTL="${HOLDFAST_KUBECTL:-$ROOT/.tools/bin/kubectl}"
if [[ ! -x $KUBECTL ]]; then
  echo "kubectl.sh: $KUBECTL not found: run 'bash scripts/setup.sh test'" >&2
  exit 1
fi
exec "$KUBECTL" "$@"
