#!/usr/bin/env bash
# Builds the real control-plane binaries the end-to-end tests run (etcd, kube-apiserver,
# kube-controller-manager, kubectl), the node's (kubelet, kube-proxy, kube-scheduler and the
# pause container's static binary, from upstream's pause.c) and helm, from the Go modules pinned under test/cluster/go/,
# into a cache outside the repo. A binary already cached for the pinned version is reused; a
# cold build on a 2-core machine takes a while and prints progress as it goes.
#
# Usage: test/cluster/build.sh            build what is missing, print the cache directory
#        CONFIGSTAMP_CACHE=/dir build.sh  cache somewhere else (default ~/.cache/configstamp)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
gomods="$here/go"
# The pinned version of a module: its require line, whether alone or inside a require block.
pin() { awk -v m="$1" '$1=="require" && $2==m {print $3; exit} $1==m {print $2; exit}' "$2" 2>/dev/null || true; }
k8s_version=$(pin k8s.io/kubernetes "$gomods/kubernetes/go.mod")
etcd_version=$(pin go.etcd.io/etcd/server/v3 "$gomods/etcd/go.mod")
helm_version=$(pin helm.sh/helm/v3 "$gomods/helm/go.mod")
cache_root=${CONFIGSTAMP_CACHE:-$HOME/.cache/configstamp}
out="$cache_root/k8s-$k8s_version-etcd-$etcd_version"
mkdir -p "$out"

log() { printf '[cluster-build] %s\n' "$*" >&2; }

# Test files start in parallel: on a cold cache one of them builds and the others wait for it,
# instead of all writing the same $name.tmp. The lock dies with its holder.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.build.lock"
  if ! flock -n 9; then
    log "another build into $out is running; waiting for it"
    flock 9
  fi
fi

if ! command -v go >/dev/null 2>&1; then
  log "Go is not on PATH (looked for 'go'; /usr/local/go/bin is the usual place)."
  exit 1
fi

# Memory is the limit on small machines: one package at a time when asked to.
parallel=${CONFIGSTAMP_GO_PARALLEL:-}
pflag=()
[ -n "$parallel" ] && pflag=(-p "$parallel")

build() { # build NAME MODULE_DIR PACKAGE [LDFLAGS] [OUT_DIR]
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-} out=${5:-$out}
  if [ -x "$out/$name" ]; then
    log "$name: cached at $out/$name"
    return
  fi
  log "$name: building $pkg (cold builds take minutes; Go's own cache makes rebuilds fast)"
  local start=$SECONDS
  # A cold kube-apiserver takes minutes: say so every 30 s rather than stay silent.
  ( while sleep 30 </dev/null >/dev/null 2>&1; do log "$name: still building ($((SECONDS - start)) s)"; done ) &
  local ticker=$!
  if ! (cd "$dir" && CGO_ENABLED=0 go build "${pflag[@]}" -trimpath -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg"); then
    kill "$ticker" 2>/dev/null
    log "$name: build failed (see above)"
    return 1
  fi
  kill "$ticker" 2>/dev/null
  mv "$out/$name.tmp" "$out/$name"
  log "$name: built in $((SECONDS - start)) s"
}

minor=${k8s_version#v1.}; minor=${minor%%.*}
vflags="-X k8s.io/component-base/version.gitVersion=$k8s_version"
vflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
vflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
vflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
vflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

log "Kubernetes $k8s_version, etcd $etcd_version${helm_version:+, helm $helm_version} -> $out"
build etcd "$gomods/etcd" .
build kube-apiserver "$gomods/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver "$vflags"
build kube-controller-manager "$gomods/kubernetes" k8s.io/kubernetes/cmd/kube-controller-manager "$vflags"
build kubectl "$gomods/kubernetes" k8s.io/kubernetes/cmd/kubectl "$vflags"
# The node: most of their packages are already compiled for kube-apiserver, so about half a
# minute more on a cold cache.
build kubelet "$gomods/kubernetes" k8s.io/kubernetes/cmd/kubelet "$vflags"
build kube-proxy "$gomods/kubernetes" k8s.io/kubernetes/cmd/kube-proxy "$vflags"
build kube-scheduler "$gomods/kubernetes" k8s.io/kubernetes/cmd/kube-scheduler "$vflags"
# The pod sandbox's process: upstream's pause.c from the same k8s.io/kubernetes module, built as
# its Makefile builds it (-Os -static), stamped with the Makefile's TAG (its REV comes from git).
if [ -x "$out/pause" ]; then
  log "pause: cached at $out/pause"
else
  k8s_dir=$(cd "$gomods/kubernetes" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
  pause_tag=$(awk -F' *= *' '$1=="TAG ?" || $1=="TAG" {print $2; exit}' "$k8s_dir/build/pause/Makefile")
  log "pause: gcc -Os -static $k8s_dir/build/pause/linux/pause.c (v${pause_tag:-unknown})"
  gcc -Os -Wall -Werror -static "-DVERSION=v${pause_tag:-0}" \
    -o "$out/pause.tmp" "$k8s_dir/build/pause/linux/pause.c"
  mv "$out/pause.tmp" "$out/pause"
fi
if [ -n "$helm_version" ]; then
  # helm has its own pin, so its own cache directory; the tests find it next to the others.
  helm_out="$cache_root/helm-$helm_version"
  mkdir -p "$helm_out"
  build helm "$gomods/helm" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$helm_version" "$helm_out"
  ln -sf "$helm_out/helm" "$out/helm"
fi
du -sh "$out" | awk '{print "[cluster-build] cache size: " $1}' >&2
echo "$out"
