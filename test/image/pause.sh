#!/usr/bin/env bash
# The pod sandbox image for the test node: a scratch image holding only the static pause binary
# that test/cluster/build.sh compiles from upstream's pause.c, tagged as the sandbox image the
# node's containerd is configured with. Written as a docker-archive for `ctr images import`.
#
# Usage: test/image/pause.sh PAUSE_BINARY TAG    prints the archive's path on its last line
set -euo pipefail
bin=${1:?usage: pause.sh PAUSE_BINARY TAG}
tag=${2:?usage: pause.sh PAUSE_BINARY TAG}
cache_root=${CONFIGSTAMP_CACHE:-$HOME/.cache/configstamp}
cache="$cache_root/pause-image"
archive="$cache/pause-${tag##*:}.tar"
# Rebuilt when the binary changes: its checksum is the key.
sum=$(sha256sum "$bin" | cut -c1-16)
if [ -s "$archive" ] && [ "$(cat "$archive.key" 2>/dev/null)" = "$sum $tag" ]; then
  echo "$archive"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
storage=(--root "$cache/storage" --runroot "$cache/runroot" --storage-driver vfs)
c=$(buildah "${storage[@]}" from --pull=never scratch)
trap 'buildah "${storage[@]}" rm "$c" >/dev/null 2>&1 || true' EXIT
buildah "${storage[@]}" copy --chmod 0755 "$c" "$bin" /pause >/dev/null
buildah "${storage[@]}" config --entrypoint '["/pause"]' --user 65535:65535 --os linux --arch amd64 "$c"
buildah "${storage[@]}" commit --quiet "$c" "$tag" >/dev/null
rm -f "$archive.tmp"
buildah "${storage[@]}" push --quiet "$tag" "docker-archive:$archive.tmp:$tag" >/dev/null
mv "$archive.tmp" "$archive"
echo "$sum $tag" >"$archive.key"
echo "[image] pause image $tag -> $archive" >&2
echo "$archive"
