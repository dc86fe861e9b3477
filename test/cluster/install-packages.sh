#!/usr/bin/env bash
# Installs the Debian packages the real-node tests and `npm run image` need: a container runtime
# (containerd, runc, the CNI plugins), buildah and debootstrap for the image, and the packet
# filters kube-proxy and the CNI bridge use. A fresh machine has none of them; nothing starts on
# install (there is no systemd). Already installed: returns at once.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins buildah debootstrap iptables nftables)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[packages] all present: ${pkgs[*]}" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[packages] missing ${missing[*]}; run this as root (apt-get install)" >&2
  exit 1
fi
echo "[packages] installing ${missing[*]}" >&2
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[packages] installed in $((SECONDS - start)) s" >&2
