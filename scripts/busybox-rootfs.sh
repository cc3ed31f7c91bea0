#!/usr/bin/env bash
# Writes a busybox rootfs tarball to stdout (Debian's busybox-static, its applets as symlinks).
# --with-bash adds the host's /bin/bash and the libraries it needs (an "ubuntu-like" shell image).
set -euo pipefail
with_bash=0
[ "${1:-}" = "--with-bash" ] && with_bash=1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,root,tmp,var,usr/bin,usr/sbin,sbin,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
  [ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
if [ "$with_bash" = 1 ]; then
  cp /bin/bash "$root/bin/bash"
  for lib in $(ldd /bin/bash | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # Debian's root prompt, as in the tutorial: root@<container id>:/#
  printf '%s\n' 'PS1='"'"'\u@\h:\w\$ '"'"'' > "$root/root/.bashrc"
fi
tar -C "$root" --numeric-owner -cf - .
