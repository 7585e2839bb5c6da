#!/usr/bin/env bash
# Runs docker-py's own integration suite (tests/integration of docker/docker-py at the tag of
# Debian's python3-docker, 5.0.3) against a private wharfd, or with ENGINE=docker against a
# private Debian dockerd for comparison. The tests are not part of wharf: DOCKER_PY_TESTS names
# a checkout (or an export) of docker-py at that tag, the directory that holds tests/integration.
#
#   DOCKER_PY_TESTS=/tmp/docker-py-tests bash scripts/docker-py.sh [pytest args...]
#
# Left out (scripts/docker-py/wharf_selection.py): swarm, services, nodes, secrets, configs,
# plugins, and the tests that pull from Docker Hub. The images the suite names (alpine:3.10,
# busybox, ...) are the embedded busybox under those names, so nothing needs the network.
# Exit status: pytest's (0 when every selected test passed). Needs root, like wharfd.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
engine="${ENGINE:-wharf}"
tests="${DOCKER_PY_TESTS:-}"
if [ -z "$tests" ] || [ ! -d "$tests/tests/integration" ]; then
  echo "docker-py: skipped (set DOCKER_PY_TESTS to a docker/docker-py 5.0.3 checkout holding tests/integration)"
  exit 0
fi
# Debian's interpreter, which has python3-docker; not whatever python3 comes first on PATH.
py=/usr/bin/python3
if ! "$py" -c 'import docker, pytest, pytest_timeout, paramiko' 2>/dev/null; then
  echo "docker-py: $py lacks python3-docker, python3-pytest, python3-pytest-timeout or python3-paramiko (scripts/install-deps.sh installs them)" >&2
  exit 1
fi

work="$(mktemp -d /tmp/wharf-dockerpy.XXXXXX)"
sock="$work/engine.sock"
pid=""
bridge=""
cleanup() {
  # dockerd keeps the bridges of its user networks when it stops (br-<first 12 of the ID>): the
  # suite's leftovers go through it first, and what it could not remove goes by those names.
  local dockerd_bridges=""
  if [ "$engine" = docker ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    local ids
    ids="$(/usr/local/bin/docker -H "unix://$sock" ps -aq 2>/dev/null || true)"
    if [ -n "$ids" ]; then /usr/local/bin/docker -H "unix://$sock" rm -f $ids >/dev/null 2>&1 || true; fi
    dockerd_bridges="$(/usr/local/bin/docker -H "unix://$sock" network ls -q --filter type=custom 2>/dev/null | cut -c1-12 | sed 's/^/br-/' || true)"
    /usr/local/bin/docker -H "unix://$sock" network prune -f >/dev/null 2>&1 || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Containers the suite left running die with their runtime state; nothing stays mounted.
  for rt in "$work"/run/runtime/*/runc "$work/exec"; do
    [ -d "$rt" ] || continue
    for id in $(/usr/sbin/runc --root "$rt" list -q 2>/dev/null); do
      /usr/sbin/runc --root "$rt" kill "$id" KILL 2>/dev/null || true
      /usr/sbin/runc --root "$rt" delete --force "$id" 2>/dev/null || true
    done
  done
  # conmon outlives wharfd by design; so does its name server (aardvark-dns, by the pid it wrote).
  for p in /proc/[0-9]*; do
    case "$( (tr '\0' ' ' <"$p/cmdline") 2>/dev/null)" in /usr/bin/conmon*"$work"*) kill -9 "${p#/proc/}" 2>/dev/null || true ;; esac
  done
  dns="$(cat "$work/run/network/dns/aardvark.pid" 2>/dev/null || true)"
  if [ -n "$dns" ] && grep -q aardvark-dns "/proc/$dns/cmdline" 2>/dev/null; then kill "$dns" 2>/dev/null || true; fi
  # wharfd's bridge, veths, namespaces and firewall rules: everything tagged with its bridge.
  if [ -n "${bridge:-}" ]; then
    node --input-type=module -e "
      const { BridgeDriver, bridgeTag } = await import('$repo/dist/src/network/index.js');
      await new BridgeDriver({ netnsDir: '$work/run/netns', tag: bridgeTag('$bridge', '$work/data') }).cleanup({ networks: [], endpoints: [] });
    " || echo "docker-py: cleaning up the network of $work failed" >&2
  fi
  for b in $dockerd_bridges; do
    ip link show "$b" >/dev/null 2>&1 || continue
    for v in $(ip -o link show master "$b" | awk -F': ' '{print $2}' | cut -d@ -f1); do ip link del "$v" 2>/dev/null || true; done
    ip link del "$b" 2>/dev/null || true
  done
  # Nothing mounted any more is the usual case: grep's "no match" must not end the cleanup
  # (errexit and pipefail hold in this trap) before the work directory goes.
  { grep -o " $work[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ready() {
  for _ in $(seq 1 300); do
    [ -S "$sock" ] && /usr/local/bin/docker -H "unix://$sock" version >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "docker-py: the engine exited; its log:" >&2; cat "$work/engine.log" >&2; return 1; }
    sleep 0.1
  done
  echo "docker-py: the engine did not answer within 30 s; its log:" >&2
  cat "$work/engine.log" >&2
  return 1
}

# The images the suite names, made here from Debian's busybox-static, so nothing needs Docker
# Hub: alpine:3.10 and alpine:latest get what the suite uses of Alpine (a postgres user, /var/opt).
standin() {
  local rootfs="$work/standin"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/var/opt" "$rootfs/var/lib/postgresql" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:70:70::/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:root\npostgres:x:70:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | /usr/local/bin/docker -H "unix://$sock" import -c 'CMD ["/bin/sh"]' - "$1" >/dev/null
}

if [ "$engine" = docker ]; then
  dockerd -H "unix://$sock" --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    --bridge=none --iptables=false --ip6tables=false \
    --containerd-namespace "dockerpy$$" --containerd-plugins-namespace "dockerpy$$p" >"$work/engine.log" 2>&1 &
  pid=$!
  ready
  standin busybox:latest
else
  echo "{}" >"$work/daemon.json"
  bridge="wp$(echo "$work" | sha256sum | cut -c1-8)"
  node "$repo/dist/src/cmd/wharfd.cjs" -H "unix://$sock" --data-root "$work/data" --exec-root "$work/run" \
    --pidfile "$work/wharfd.pid" --config-file "$work/daemon.json" --group root --bridge "$bridge" >"$work/engine.log" 2>&1 &
  pid=$!
  ready
fi
standin alpine:3.10
/usr/local/bin/docker -H "unix://$sock" tag alpine:3.10 alpine:latest
/usr/local/bin/docker -H "unix://$sock" tag busybox:latest busybox:buildroot-2014.02

echo "docker-py: $($py -c 'import docker; print(docker.__version__)') against $engine ($sock)"
# Test paths or node IDs among the arguments replace the whole suite (for a rerun of some tests).
targets=(tests/integration)
for a in "$@"; do case "$a" in tests/*) targets=() ;; esac; done
set +e
mkdir -p "$work/home/.docker" && echo "{}" >"$work/home/.docker/config.json"
# A home of its own: the suite writes docker contexts beside ~/.docker/config.json (or, without
# one, under the current directory: the tests checkout). Warnings stay warnings (-W default;
# wharf_selection undoes the conftest's simplefilter('error')).
(cd "$tests" && HOME="$work/home" DOCKER_HOST="unix://$sock" PYTHONPATH="$here/docker-py" PYTHONDONTWRITEBYTECODE=1 \
  "$py" -W default -m pytest -p wharf_selection -p no:cacheprovider --timeout="${DOCKER_PY_TIMEOUT:-120}" \
  -rfE -q "${targets[@]}" "$@")
rc=$?
set -e
[ "$rc" -eq 0 ] || echo "docker-py: pytest exited $rc; the engine's log is $work/engine.log (removed on exit)"
exit "$rc"
