#!/usr/bin/env bash
# Prints the path of a kustomize v5.8.1 built from the Go module proxy with
# this directory's go.mod/go.sum (see install.sh). KUSTOMIZE=<path> uses that
# binary instead.
set -euo pipefail
if [ -n "${KUSTOMIZE:-}" ]; then
  echo "$KUSTOMIZE"
  exit 0
fi
exec bash "$(dirname "$0")/install.sh" kustomize
