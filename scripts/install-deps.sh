#!/usr/bin/env bash
# The Debian packages wharf needs at run time and in its tests. Used by .ci/run and the quick start.
# docker.io is the real Docker that test/interop.test.ts and bench/ compare against.
# netavark, aardvark-dns and containernetworking-plugins are networking candidates bench/netsetup.ts measures (issue 8);
# strace lets it count the processes each one makes.
# mmdebstrap builds the Debian systemd image of test/systemd.test.ts (issue 9).
# python3-docker (5.0.3) with python3-pytest, -pytest-timeout and -paramiko run docker-py's own
# integration suite against wharfd (scripts/docker-py.sh, issue 13).
# skopeo, docker-registry (the reference registry), zstd (zstd layers) and apache2-utils (htpasswd -B)
# are the peers and tools of pull, push and wharf registry (issue 11).
# libseccomp-dev builds native/nsexec.c, the setns helper of attached execs (issue 12).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  runc crun conmon tini iptables iproute2 procps busybox-static ca-certificates docker.io \
  netavark aardvark-dns containernetworking-plugins strace mmdebstrap \
  python3-docker python3-pytest python3-pytest-timeout python3-paramiko \
  skopeo docker-registry zstd apache2-utils libseccomp-dev >/dev/null
