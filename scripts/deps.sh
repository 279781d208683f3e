#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Check for, and as root install, the Debian packages hvl-virtio needs to
# build, test, cross-build and lint (`make deps`; `make test` runs it first).
#
#   scripts/deps.sh            check; as root install what is missing
#   scripts/deps.sh --check    check only, never install (exit 1 if missing)
#   scripts/deps.sh --list     print the package list and exit
#
# Quick and idempotent: when everything is installed it only asks dpkg-query.
# apt-get update runs once, and only if something has to be installed.
# Not root and something missing: prints the apt-get command and fails.
set -euo pipefail

# The one package list. Append here (one per line, comment why) when a
# feature needs a new package, e.g. diod, liblwip-dev, libseccomp-dev.
PACKAGES=(
  build-essential          # host gcc, make, libc headers
  cmake                    # build system (>= 3.20 for ctest --test-dir)
  pkg-config
  libinih-dev              # hvl-pmm configuration file parser
  gcc-arm-none-eabi        # freestanding remote library: Cortex-M4 / Cortex-R5
  libnewlib-arm-none-eabi  # C headers (string.h, ...) for arm-none-eabi
  clang                    # libFuzzer (make fuzz, the fuzz step of make test)
  libclang-rt-14-dev       # clang's sanitizer and libFuzzer runtimes (-fsanitize=fuzzer)
  cppcheck                 # scripts/cppcheck.sh, with its misra addon
  python3                  # the cppcheck misra addon is a python script
  diod                     # independent 9P2000.L server and clients for test_9p_e2e
  libseccomp-dev           # hvl-pmm's seccomp sandbox (src/pmm/sandbox.c)
  liblwip-dev              # lwIP for the simulated remote (src/remote/lwip, net test + demo)
  iproute2                 # ip netns/link/addr: the net TAP test's private namespace
  iputils-ping             # ping from that namespace to the remote's lwIP
)

die() { printf 'deps.sh: error: %s\n' "$*" >&2; exit 1; }

mode=install
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  --list) printf '%s\n' "${PACKAGES[@]}"; exit 0 ;;
  -h|--help) sed -n '4,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

command -v dpkg-query >/dev/null 2>&1 ||
  die "dpkg-query not found: this script supports Debian/Ubuntu only; install by hand: ${PACKAGES[*]}"

# One dpkg-query call for the whole list; packages dpkg has never heard of
# are simply absent from its output (their error goes to /dev/null).
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
            awk '$2 == "installed" { sub(/:.*/, "", $1); print $1 }' || true)
missing=()
for p in "${PACKAGES[@]}"; do
  grep -qxF -- "$p" <<<"$installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps.sh: all ${#PACKAGES[@]} packages installed"
  exit 0
fi

echo "deps.sh: missing packages: ${missing[*]}"
if [ "$mode" = check ]; then
  echo "deps.sh: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: not root, so not installing. Run (or run 'make deps' as root):" >&2
  echo "    sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
echo "deps.sh: apt-get update"
apt-get "${apt_opts[@]}" update -q || die "apt-get update failed"
echo "deps.sh: apt-get install ${missing[*]}"
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
  die "apt-get install failed for: ${missing[*]}"
echo "deps.sh: installed ${#missing[@]} package(s)"
