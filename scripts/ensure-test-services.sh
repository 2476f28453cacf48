#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis server binaries the integration tests start
# are installed (Debian packages). The tests start and stop the servers themselves.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing test servers: ${missing[*]}; install them with 'sudo apt-get install ${missing[*]}'" >&2
  exit 1
fi
echo "installing ${missing[*]} (Debian packages) for the integration tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
