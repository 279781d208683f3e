# SPDX-License-Identifier: BSD-3-Clause
#
# hvl-virtio top-level Makefile: a thin driver over CMake and scripts/.
#
#   make demo     install deps (as root), build, run scripts/demo.sh
#   make test     install deps, build, ctest; ASan+UBSan build and ctest;
#                 TSan build and ctest; each fuzz target briefly;
#                 freestanding ARM build of the remote library; cppcheck
#   make          configure + build into build/
#   make bench    build, run ./build/hvl-bench $(BENCH_ARGS)
#   make cross    scripts/cross-build.sh (Cortex-M4 and Cortex-R5)
#   make cppcheck scripts/cppcheck.sh (cppcheck + MISRA report)
#   make fuzz     libFuzzer targets of fuzz/, FUZZ_SECONDS (300) each
#   make soak     the long versions of the end-to-end tests (1 GiB vsock
#                 streams each way against hvl-pmm and hvl_vsockd)
#   make deps     scripts/deps.sh: check / install Debian packages
#   make clean    remove every build directory
#
# Knobs: JOBS (parallel jobs, default 2), BENCH_ARGS, BUILD_DIR, SAN_DIR,
# FUZZ_RUNS (per target in make test), FUZZ_SECONDS (per target in make fuzz).

JOBS       ?= 2
BUILD_DIR  ?= build
SAN_DIR    ?= build-san
TSAN_DIR   ?= build-tsan
BENCH_ARGS ?=
# make test runs each fuzz target this many times from its seeds; make fuzz
# runs each for FUZZ_SECONDS (scripts/fuzz.sh, build-fuzz/).
FUZZ_RUNS    ?= 20000
FUZZ_SECONDS ?= 300
CMAKE      ?= cmake
CTEST      ?= ctest

# Release-ish: -O2 -g, but without -DNDEBUG: the tests run from this tree and
# assert() on our own invariants must stay live.
BUILD_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g"
# Sanitizers (the tree adds -fsanitize=address,undefined): -O1 keeps stack
# traces readable and the run fast enough.
SAN_FLAGS  := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
              -DHVL_SANITIZE=ON
CTEST_ARGS := --output-on-failure -j$(JOBS) --no-tests=error
TSAN_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
              -DHVL_TSAN=ON
# The doorbell stress test and the bench time themselves: under TSan they
# only measure TSan.  Everything that runs the PMM's threads stays in.
TSAN_CTEST := --output-on-failure -j$(JOBS) --no-tests=error -E 'bench_quick|test_doorbell'
TSAN_ENV   := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# CMake's own make runs with JOBS jobs, apart from this make's -j/jobserver
# (which it would otherwise inherit half-way and warn about).
CMAKE_BUILD = MAKEFLAGS= $(CMAKE) --build
SAN_ENV    := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
              UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

MAKEFLAGS += --no-print-directory
T0 := $(shell date +%s)

# $(call step,NAME,TARGET): run `make TARGET` under a banner, report its time.
# '+' hands the jobserver to the sub-make even though $(MAKE) sits in a macro.
step = +@printf '\n==> %s\n' '$(1)'; t0=$$(date +%s); \
	if $(MAKE) $(2); then printf '<== %s: ok (%ss)\n' '$(1)' $$(( $$(date +%s) - t0 )); \
	else printf '<== %s: FAILED after %ss\n' '$(1)' $$(( $$(date +%s) - t0 )); exit 1; fi

.PHONY: all build deps configure check san san-build san-check tsan-build tsan-check test demo bench \
        fuzz fuzz-quick soak cross cppcheck clean help

all: build

help:
	@sed -n '3,20s/^# \{0,1\}//p' Makefile

deps:
	@scripts/deps.sh

# --- host build ------------------------------------------------------------
need-cmake = @command -v $(CMAKE) >/dev/null 2>&1 || \
	{ echo "$(CMAKE) not found: run 'make deps' (as root) or scripts/deps.sh"; exit 1; }

configure:
	$(need-cmake)
	$(CMAKE) -S . -B $(BUILD_DIR) $(BUILD_FLAGS)

build: configure
	$(CMAKE_BUILD) $(BUILD_DIR) --parallel $(JOBS)

check:
	$(CTEST) --test-dir $(BUILD_DIR) $(CTEST_ARGS)

san-build:
	$(need-cmake)
	$(CMAKE) -S . -B $(SAN_DIR) $(SAN_FLAGS)
	$(CMAKE_BUILD) $(SAN_DIR) --parallel $(JOBS)

san-check:
	$(SAN_ENV) $(CTEST) --test-dir $(SAN_DIR) $(CTEST_ARGS)

san:
	@$(MAKE) san-build
	@$(MAKE) san-check

tsan-build:
	$(need-cmake)
	$(CMAKE) -S . -B $(TSAN_DIR) $(TSAN_FLAGS)
	$(CMAKE_BUILD) $(TSAN_DIR) --parallel $(JOBS)

tsan-check:
	$(TSAN_ENV) $(CTEST) --test-dir $(TSAN_DIR) $(TSAN_CTEST)

# --- the two commands of the README ----------------------------------------
# Steps run one after the other (also under make -j) and stop at the first
# failure.
test:
	$(call step,deps,deps)
	$(call step,build,build)
	$(call step,ctest,check)
	$(call step,sanitizer build (ASan+UBSan),san-build)
	$(call step,sanitizer ctest,san-check)
	$(call step,thread sanitizer build,tsan-build)
	$(call step,thread sanitizer ctest (PMM threads),tsan-check)
	$(call step,fuzz targets ($(FUZZ_RUNS) runs each),fuzz-quick)
	$(call step,cross build (arm-none-eabi),cross)
	$(call step,cppcheck,cppcheck)
	@printf '\nmake test: all steps passed in %ss\n' $$(( $$(date +%s) - $(T0) ))

demo:
	@$(MAKE) deps
	@$(MAKE) build
	@if [ ! -f scripts/demo.sh ]; then \
	  echo "make demo: scripts/demo.sh does not exist yet (the demo is still being written)"; \
	  exit 1; \
	fi
	bash scripts/demo.sh

bench:
	@$(MAKE) build
	@test -x $(BUILD_DIR)/hvl-bench || \
	  { echo "make bench: $(BUILD_DIR)/hvl-bench was not built (bench/ has no target yet?)"; exit 1; }
	./$(BUILD_DIR)/hvl-bench $(BENCH_ARGS)

# libFuzzer (clang, separate tree build-fuzz/): short in make test, long here.
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) scripts/fuzz.sh --long

fuzz-quick:
	FUZZ_RUNS=$(FUZZ_RUNS) JOBS=$(JOBS) scripts/fuzz.sh --quick

# make test runs the same tests with their short defaults (through ctest,
# whose per-test timeouts suit those; here each bounds itself by alarm()).
soak: build
	HVL_VSOCK_BIG=1 ./$(BUILD_DIR)/test_vsock_e2e ./$(BUILD_DIR)/hvl-pmm
	HVL_VSOCK_BIG=1 ./$(BUILD_DIR)/test_vsockd

cross:
	MAKEFLAGS= JOBS=$(JOBS) scripts/cross-build.sh

cppcheck:
	JOBS=$(JOBS) scripts/cppcheck.sh

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(TSAN_DIR) build-arm build-cppcheck build-fuzz
