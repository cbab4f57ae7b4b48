#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages listed in .ci/debian-packages (as root).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pkgs=$(grep -v '^#' "$top/.ci/debian-packages" | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (apt-get install $pkgs)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
