#!/usr/bin/env bash
# The Debian packages wharf needs at run time and in its tests. Used by .ci/run and the quick start.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  runc crun conmon tini iptables iproute2 procps busybox-static ca-certificates >/dev/null
