#!/usr/bin/env bash
# Builds kfake, the Kafka-protocol test broker of the end-to-end suite
# (test/kafka/kfake: franz-go's in-memory fake of a Kafka cluster; not Apache
# Kafka, which cannot be installed on these machines), from the Go module
# proxy with the committed go.sum, once per machine, cached by a hash of its
# inputs. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null || { echo "[kfake] Go 1.26 or newer is needed" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
key=$( (go version; cd "$here/kfake" && sha256sum go.mod go.sum main.go) | sha256sum | cut -c1-12)
dest="${DAPR_RUNTIME_ROOT:-$HOME/.dapr/recommend-recipe}/kfake-$key"
if [ ! -x "$dest/kfake" ]; then
  mkdir -p "$dest"
  echo "[kfake] building the Kafka-protocol test broker (first run on this machine only)…" >&2
  (cd "$here/kfake" && go build -trimpath -ldflags "-s -w" -o "$dest/kfake.tmp" .) >&2
  mv "$dest/kfake.tmp" "$dest/kfake"
fi
echo "$dest/kfake"
