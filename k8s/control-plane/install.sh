#!/usr/bin/env bash
# Builds a Kubernetes control plane to test the manifests against: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
# (Kubernetes 1.36.3), kwok (0.8.0, fake kubelets: nodes and pods reported
# Running without containers) with the stages it runs, and Dapr 1.18.3's
# operator, sidecar injector and Sentry (the version dapr/install.sh builds
# for local runs, built here from this module's dependency set) with
# operator-client. Nothing is downloaded from GitHub: everything is built from
# the Go module proxy with the committed go.sum files (-mod=readonly), once
# per machine, and cached under a key of each module's build inputs.
#
# Prints the bin directory on stdout. Progress goes to stderr.
set -euo pipefail

KUBERNETES_VERSION=v1.36.3
DAPR_VERSION=1.18.3
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[k8s] %s\n' "$*" >&2; }

command -v go >/dev/null || { say "Go 1.26 or newer is needed to build the control plane (https://go.dev/dl)"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

# $1 module directory: a key of what goes into its binaries.
key_of() {
  (go version && sha256sum "$here/install.sh" | cut -c1-64 && cd "$here/$1" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | sort | xargs sha256sum) |
    sha256sum | cut -c1-12
}
root=${K8S_CONTROL_PLANE_ROOT:-$HOME/.cache/recommend-recipe/k8s-control-plane}
kubernetes_out="$root/kubernetes-$KUBERNETES_VERSION-$(key_of kubernetes)"
dapr_out="$root/dapr-$DAPR_VERSION-$(key_of dapr)"
bin="$root/bin-$(basename "$kubernetes_out")-$(basename "$dapr_out" | sed 's/.*-//')"

if [ -f "$bin/.complete" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9 # another checkout may be building the same thing

# $1 module directory, $2 output directory, $3 ldflags, then the main
# packages (one binary each).
build() {
  local dir=$1 out=$2 ldflags=$3
  shift 3
  [ -f "$out/.complete" ] && return 0
  say "building $* (first run on this machine only)…"
  local started=$SECONDS
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  # -v lists packages as they compile: a heartbeat every 200 of them.
  (cd "$here/$dir" && nice -n 10 go build -v -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/" "$@") 2>&1 |
    awk '/^#|\.go:[0-9]+|^go: / {print; next} {n++; if (n % 200 == 0) printf "[k8s]   %d packages compiled\n", n; fflush()}' >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || { say "building in $dir failed"; exit 1; }
  touch "$out.tmp/.complete"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  say "built in $((SECONDS - started))s"
}

minor=${KUBERNETES_VERSION#v1.}
minor=${minor%%.*}
k8s_version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
build kubernetes "$kubernetes_out" "$k8s_version_flags" ./etcd \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl sigs.k8s.io/kwok/cmd/kwok
build dapr "$dapr_out" "-X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION" \
  github.com/dapr/dapr/cmd/operator github.com/dapr/dapr/cmd/injector github.com/dapr/dapr/cmd/sentry ./operator-client

rm -rf "$bin.tmp"
mkdir -p "$bin.tmp"
for f in "$kubernetes_out"/* "$dapr_out"/*; do ln -s "$f" "$bin.tmp/"; done

# kwok has no built-in behaviour: its module's "fast" stages (nodes Ready at
# once, pods Running and Ready at once, deleted pods gone) and node heartbeats
# with leases, as kwokctl configures them.
kwok_dir=$(cd "$here/kubernetes" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
  printf -- '---\n'
  cat "$kwok_dir/kustomize/stage/$stage.yaml"
done >"$bin.tmp/kwok-stages.yaml"

"$bin.tmp/kube-apiserver" --version >&2
"$bin.tmp/etcd" --version | head -1 >&2
touch "$bin.tmp/.complete"
rm -rf "$bin"
mv "$bin.tmp" "$bin"
say "control plane ready in $bin"
echo "$bin"
