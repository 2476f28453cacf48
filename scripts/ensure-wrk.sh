#!/usr/bin/env bash
# Make sure `wrk` (the HTTP load generator benchmarks/http_load.py drives) is installed
# (Debian package). The benchmark starts and stops its servers itself.
set -euo pipefail
command -v wrk >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing benchmark tool: wrk; install it with 'sudo apt-get install wrk'" >&2
  exit 1
fi
echo "installing wrk (Debian package) for the HTTP load benchmark"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq wrk >/dev/null
