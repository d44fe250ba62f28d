#!/usr/bin/env bash
# Installs the Dapr runtime this project runs on: daprd 1.18.3 (with the
# components the project uses), placement and sentry from the same module,
# and the dapr CLI. Nothing is downloaded from GitHub: binaries are built from
# the Go module proxy with the committed go.sum (-mod=readonly), once per
# machine, and cached under a key of the build inputs.
#
# Prints the runtime directory on stdout (pass it to `dapr --runtime-path`;
# binaries are in <dir>/.dapr/bin). Progress goes to stderr.
#
# Existing binaries are reused: DAPRD/PLACEMENT/SENTRY/DAPR_CLI may point at
# them, and a daprd/placement of version 1.18.3 in ~/.dapr/bin (after
# `dapr init --runtime-version 1.18.3`) is linked instead of built.
set -euo pipefail

RUNTIME_VERSION=1.18.3
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[dapr] %s\n' "$*" >&2; }

command -v go >/dev/null || { say "Go 1.26 or newer is needed to build the Dapr runtime (https://go.dev/dl)"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

key=$( (go version; cd "$here" && find runtime cli -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | sort | xargs sha256sum) | sha256sum | cut -c1-12)
root=${DAPR_RUNTIME_ROOT:-$HOME/.dapr/recommend-recipe}
dest="$root/$RUNTIME_VERSION-$key"
bin="$dest/.dapr/bin"

if [ -f "$bin/.complete" ]; then
  echo "$dest"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9 # another checkout may be building the same thing
if [ -f "$bin/.complete" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$bin"

# $1 name, $2 override variable's value, $3 candidate path, $4 version check (empty: none)
reuse() {
  local name=$1 override=$2 candidate=$3 version_check=$4
  if [ -n "$override" ]; then
    ln -sf "$override" "$bin/$name" && say "using $name from $override" && return 0
  fi
  if [ -x "$candidate" ] && [ -n "$version_check" ] && [ "$("$candidate" $version_check 2>/dev/null | tail -1)" = "$RUNTIME_VERSION" ]; then
    ln -sf "$candidate" "$bin/$name" && say "reusing $candidate ($RUNTIME_VERSION)" && return 0
  fi
  return 1
}

build() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4
  say "building $name (first run on this machine only)…"
  local started=$SECONDS
  # -v lists packages as they compile: a heartbeat every 100 of them.
  (cd "$here/$dir" && go build -v -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name.tmp" "$pkg") 2>&1 |
    awk -v name="$name" '/^#|\.go:[0-9]+|^go: / {print; next} {n++; if (n % 100 == 0) printf "[dapr]   %s: %d packages compiled\n", name, n; fflush()}' >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || { say "building $name failed"; exit 1; }
  mv "$bin/$name.tmp" "$bin/$name"
  say "built $name in $((SECONDS - started))s"
}

version_flag="-X github.com/dapr/dapr/pkg/buildinfo.version=$RUNTIME_VERSION"
reuse daprd "${DAPRD:-}" "$HOME/.dapr/bin/daprd" --version || build daprd runtime ./daprd "$version_flag"
reuse placement "${PLACEMENT:-}" "$HOME/.dapr/bin/placement" "" || build placement runtime ./placement "$version_flag"
reuse sentry "${SENTRY:-}" "$HOME/.dapr/bin/sentry" "" || build sentry runtime ./sentry "$version_flag"
reuse dapr "${DAPR_CLI:-}" "" "" || build dapr cli github.com/dapr/cli "-X main.version=1.12.0"

"$bin/daprd" --version >/dev/null
touch "$bin/.complete"
say "Dapr runtime ready in $bin"
echo "$dest"
