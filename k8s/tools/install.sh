#!/usr/bin/env bash
# Builds one of the Go tools the Kubernetes manifests are checked with, from
# the Go module proxy and the committed go.sum (-mod=readonly: exactly the
# verified modules), once per machine, cached under a key of the build
# inputs. Prints the binary's path on stdout; progress goes to stderr.
#
#   k8s/tools/install.sh kustomize     # sigs.k8s.io/kustomize/kustomize/v5 v5.8.1 (tool directive in go.mod)
#   k8s/tools/install.sh kubevalidate  # strict decoding into k8s.io/api types
#   k8s/tools/install.sh aclcheck      # Dapr 1.18.3's own access control code
#
# Cache: ${RECOMMEND_RECIPE_CACHE:-~/.cache/recommend-recipe}/<tool>-<key>/<tool>.
set -euo pipefail

tool=${1:?usage: install.sh kustomize|kubevalidate|aclcheck}
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[k8s-tools] %s\n' "$*" >&2; }

case "$tool" in
  kustomize) dir=$here pkg=sigs.k8s.io/kustomize/kustomize/v5 ;;
  kubevalidate) dir=$here/kubevalidate pkg=. ;;
  aclcheck) dir=$here/aclcheck pkg=. ;;
  *) say "unknown tool: $tool"; exit 2 ;;
esac

command -v go >/dev/null || { say "Go 1.26 or newer is needed to build $tool (https://go.dev/dl)"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

key=$( (go version; echo "$tool"; cd "$dir" && find . -maxdepth 1 -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | sort | xargs sha256sum) | sha256sum | cut -c1-12)
root=${RECOMMEND_RECIPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/recommend-recipe}
dest="$root/$tool-$key"
bin="$dest/$tool"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.lock-$tool"
flock 9 # another checkout may be building the same thing
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dest"

say "building $tool (first run on this machine only)…"
started=$SECONDS
# -v lists packages as they compile: a heartbeat every 50 of them.
(cd "$dir" && go build -v -trimpath -ldflags "-s -w" -o "$bin.tmp" "$pkg") 2>&1 |
  awk -v name="$tool" '/^#|^go: |\.go:[0-9]+:/ {print; next} {n++; if (n % 50 == 0) printf "[k8s-tools]   %s: %d packages compiled\n", name, n; fflush()}' >&2
[ "${PIPESTATUS[0]}" -eq 0 ] || { say "building $tool failed"; exit 1; }
mv "$bin.tmp" "$bin"
say "built $tool in $((SECONDS - started))s: $bin"
echo "$bin"
