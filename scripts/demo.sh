#!/usr/bin/env bash
# make demo: start hithed if needed, make a busybox base image, run a container.
set -euo pipefail
cd "$(dirname "$0")/.."
HITHE=".venv/bin/hithe"
export PATH="$PWD/.venv/bin:$PATH"
if ! "$HITHE" version >/dev/null 2>&1; then
  echo "starting hithed..."
  nohup .venv/bin/hithed >/var/log/hithed.log 2>&1 &
  for _ in $(seq 50); do "$HITHE" version >/dev/null 2>&1 && break; sleep 0.1; done
fi
if ! "$HITHE" image inspect busybox >/dev/null 2>&1; then
  echo "importing a busybox base image from busybox-static..."
  scripts/busybox-rootfs.sh | "$HITHE" import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["sh"]' - busybox:latest
fi
echo '$ hithe build -t hello-hithe:latest .   (Dockerfile: FROM busybox, COPY, RUN, CMD)'
BUILD_DIR="$(mktemp -d)"
trap 'rm -rf "$BUILD_DIR"' EXIT
echo "Hello from an image built by hithe" > "$BUILD_DIR/hello.txt"
printf '%s\n' 'FROM busybox' 'COPY hello.txt /hello.txt' \
  'RUN echo "built in a hithe container" >> /hello.txt' 'CMD ["cat", "/hello.txt"]' > "$BUILD_DIR/Dockerfile"
"$HITHE" build -t hello-hithe:latest "$BUILD_DIR"
"$HITHE" images
echo '$ hithe run --rm hello-hithe'
"$HITHE" run --rm hello-hithe
echo '$ hithe run --rm busybox echo "Hello from a hithe container"'
"$HITHE" run --rm busybox echo "Hello from a hithe container"
echo '$ hithe run --rm busybox uname -a'
"$HITHE" run --rm busybox uname -a
