#!/bin/sh
# Install the Debian packages profiling-bpf needs to build, test and benchmark.
# libunwind-dev: only for tools/bench/unwbench (libdw against libunwind), not the product.
# Idempotent: prints nothing and installs nothing when everything is present.
set -eu

PKGS="make gcc g++ clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev
libcmocka-dev protobuf-c-compiler libprotobuf-c-dev golang-go golang-github-google-pprof-dev
systemtap-sdt-dev python3 python3-minimal libxml2-utils linux-perf bpftrace pkg-config libjson-c-dev
man-db libcap2-bin util-linux
python3.11 python3.11-dev xz-utils libiberty-dev libdebuginfod-dev debuginfod libcurl4-openssl-dev
libunwind-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
