#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the remote (driver-side) library freestanding with arm-none-eabi-gcc,
# once per CPU, into build-arm/<cpu>/libhvl_remote.a, and print a size table.
#
#   scripts/cross-build.sh             build for cortex-m4 and cortex-r5
#   scripts/cross-build.sh cortex-r5   build for the CPUs named
#   scripts/cross-build.sh --list      print the resolved source list and exit
#
# Sources: cmake/remote-sources.txt (format in its header). CPU flags:
# cmake/arm-none-eabi.cmake. Warnings and -Os: cmake/remote/CMakeLists.txt.
# Fails if a file fails to compile (-Werror) on any CPU, if the list resolves
# to no file, or if the library references the C heap (STYLE.md rule 13).
# Env: JOBS (parallel compiles, default 2), BUILD_ARM_DIR (default build-arm).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIST_FILE="$ROOT/cmake/remote-sources.txt"
OUT="${BUILD_ARM_DIR:-$ROOT/build-arm}"
JOBS="${JOBS:-2}"
CPUS_ALL=(cortex-m4 cortex-r5)
HEAP_SYMS='^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|memalign|_sbrk|sbrk)$'

note() { printf 'cross-build: %s\n' "$*" >&2; }
die() { printf 'cross-build: error: %s\n' "$*" >&2; exit 1; }

# Print the sources named by $LIST_FILE, one per line, relative to $ROOT.
resolve_sources() {
  local line entry f
  local -A seen=()
  local -a matches
  [ -f "$LIST_FILE" ] || die "source list $LIST_FILE not found"
  cd "$ROOT"
  shopt -s nullglob
  while IFS= read -r line || [ -n "$line" ]; do
    entry=${line%%#*}                       # strip comment
    entry=${entry#"${entry%%[![:space:]]*}"}  # and surrounding blanks
    entry=${entry%"${entry##*[![:space:]]}"}
    [ -n "$entry" ] || continue
    if [[ "$entry" == *[\*\?\[]* ]]; then
      # shellcheck disable=SC2206  # glob expansion is the point
      matches=($entry)
      [ "${#matches[@]}" -gt 0 ] || note "note: '$entry' matches no file yet, skipped"
    elif [ -f "$entry" ]; then
      matches=("$entry")
    else
      note "note: '$entry' does not exist yet, skipped"
      matches=()
    fi
    for f in "${matches[@]}"; do
      [ -f "$f" ] || continue
      [ -z "${seen[$f]:-}" ] || continue
      seen[$f]=1
      printf '%s\n' "$f"
    done
  done <"$LIST_FILE"
  shopt -u nullglob
}

cpus=()
for arg in "$@"; do
  case "$arg" in
    --list) resolve_sources; exit 0 ;;
    -h|--help) sed -n '4,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
    cortex-m4|cortex-r5) cpus+=("$arg") ;;
    *) die "unknown argument '$arg' (expected --list, cortex-m4 or cortex-r5)" ;;
  esac
done
[ "${#cpus[@]}" -gt 0 ] || cpus=("${CPUS_ALL[@]}")

for tool in cmake arm-none-eabi-gcc arm-none-eabi-size arm-none-eabi-nm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run scripts/deps.sh (make deps)"
done

mapfile -t SOURCES < <(resolve_sources)
[ "${#SOURCES[@]}" -gt 0 ] || die "no source in $LIST_FILE exists: nothing to build"
note "${#SOURCES[@]} source(s): ${SOURCES[*]}"
src_list=$(IFS=';'; printf '%s' "${SOURCES[*]}")

# Object file of source $2 in build directory $1: CMake names objects after
# the source's path, which here lies outside the project source dir (cmake/remote).
object_of() {
  local dir=$1 src=$2 o
  o="$dir/CMakeFiles/hvl_remote.dir/${ROOT#/}/$src.obj"
  [ -f "$o" ] || o=$(find "$dir/CMakeFiles/hvl_remote.dir" -path "*/$src.obj" -print -quit)
  printf '%s' "$o"
}

failed=()
for cpu in "${cpus[@]}"; do
  dir="$OUT/$cpu"
  note "=== $cpu: configure + build into ${dir#"$ROOT"/}"
  if ! cmake -S "$ROOT/cmake/remote" -B "$dir" -G "Unix Makefiles" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" \
        -DHVL_ARM_CPU="$cpu" -DHVL_ROOT="$ROOT" -DHVL_REMOTE_SOURCES="$src_list" \
        --log-level=WARNING >/dev/null; then
    failed+=("$cpu(configure)"); continue
  fi
  # -k: report every file that fails, not only the first.
  if ! cmake --build "$dir" --parallel "$JOBS" -- -k --no-print-directory; then
    failed+=("$cpu"); continue
  fi

  objs=()
  for s in "${SOURCES[@]}"; do
    o=$(object_of "$dir" "$s")
    [ -n "$o" ] || die "$cpu: object for $s not found under $dir"
    objs+=("$o")
  done

  echo
  echo "== $cpu: ${dir#"$ROOT"/}/libhvl_remote.a (bytes)"
  # Berkeley format: text data bss dec hex filename
  arm-none-eabi-size -B "${objs[@]}" | awk -v n="${#SOURCES[@]}" -v srcs="${SOURCES[*]}" '
    BEGIN { split(srcs, s, " "); printf "%8s %8s %8s %8s  %s\n", "text", "data", "bss", "total", "object" }
    NR > 1 { i++; printf "%8d %8d %8d %8d  %s\n", $1, $2, $3, $4, s[i]
             t += $1; d += $2; b += $3; a += $4 }
    END { printf "%8d %8d %8d %8d  %s\n", t, d, b, a, "TOTAL (" n " objects)" }'

  # Symbols the library needs from outside itself (libc, the firmware).
  ext=$(comm -23 \
    <(arm-none-eabi-nm -u "${objs[@]}" 2>/dev/null | awk 'NF==2 {print $2}' | sort -u) \
    <(arm-none-eabi-nm --defined-only -g "${objs[@]}" 2>/dev/null | awk 'NF==3 {print $3}' | sort -u))
  echo "external symbols: ${ext:-(none)}" | tr '\n' ' '; echo
  heap=$(grep -E "$HEAP_SYMS" <<<"$ext" || true)
  if [ -n "$heap" ]; then
    note "$cpu: the remote library uses the C heap ($(echo $heap)): not allowed (STYLE.md rule 13)"
    failed+=("$cpu(heap)")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  die "failed: ${failed[*]}"
fi
note "OK: ${cpus[*]}"
