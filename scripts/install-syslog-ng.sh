#!/usr/bin/env bash
# Puts syslog-ng (the second real receiver of the syslog forwarder tests, beside rsyslog) into
# /opt/syslog-ng without installing its package: Debian's syslog-ng-core conflicts with rsyslog
# (both provide system-log-daemon), and the tests need both. So this installs syslog-ng-core's
# runtime libraries, downloads the .deb and extracts it with dpkg -x; nothing of it is configured or
# started. test/helpers/syslog-ng.ts runs it from there (SYSLOG_NG_ROOT overrides the directory).
# Idempotent: does nothing if the binary is already there. Needs root (apt-get).
set -euo pipefail
root=${SYSLOG_NG_ROOT:-/opt/syslog-ng}
if [ -x "$root/usr/sbin/syslog-ng" ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive

# syslog-ng-core's Depends (apt-cache show syslog-ng-core), minus libc6 and the init-script helpers.
apt-get install -y -qq --no-install-recommends libglib2.0-0 libivykis0 libjson-c5 libnet1 libpcre3 \
  libwrap0 libcap2 libssl3 libsystemd0 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download drops root privileges to _apt, which must be able to write the directory.
chmod 777 "$work"
(cd "$work" && apt-get download -qq syslog-ng-core)
mkdir -p "$root"
dpkg -x "$work"/syslog-ng-core_*.deb "$root"

module_dir=$(find "$root/usr/lib/syslog-ng" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' | head -n 1)
LD_LIBRARY_PATH="$root/usr/lib/syslog-ng" "$root/usr/sbin/syslog-ng" --module-path="$module_dir" --version | head -n 1
