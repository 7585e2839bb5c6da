#!/usr/bin/env bash
# Sets everything up on a fresh Debian machine (as root, offline but for Debian's archive and
# the npm registry), starts wharfd in the background and runs a container from the embedded
# busybox image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
SOCK=/run/wharf/wharf.sock
if ! node dist/src/cmd/wharf.js version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup node dist/src/cmd/wharfd.cjs >>/var/log/wharfd.log 2>&1 &
  for _ in $(seq 1 100); do
    [ -S "$SOCK" ] && node dist/src/cmd/wharf.js version >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
echo "wharfd is running (log: /var/log/wharfd.log, socket: $SOCK)"
node dist/src/cmd/wharf.js run --rm busybox echo "hello from a wharf container"
echo "The docker CLI works too: DOCKER_HOST=unix://$SOCK docker ps -a"
