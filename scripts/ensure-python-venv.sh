#!/usr/bin/env bash
# Debian's python3 needs the python3-venv package before `python3 -m venv` works.
set -euo pipefail
python="${1:-python3}"
if "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "python venv support is missing: run 'sudo apt-get install python3-venv'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-venv >/dev/null
