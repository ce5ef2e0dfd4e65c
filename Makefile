# SPDX-License-Identifier: MIT
# The two commands: `make demo` and `make test`. Everything else wraps CMake.
BUILD   ?= build
CC      ?= cc
CXX     ?= c++
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

BUILD_DEPS := cmake make gcc g++ pkg-config
TEST_DEPS  := $(BUILD_DEPS) libcmocka-dev python3-jsonschema liblua5.4-dev libchipmunk-dev \
	libxml2-utils chromium
CHECK_DEPS := $(TEST_DEPS) clang libclang-rt-14-dev valgrind

.PHONY: all deps configure build demo test install bench clean asan tsan memcheck clang-check minimal assert check \
	fuzz stress soak windows windows-msvc

all: build

# Every Debian package a target needs goes through here (DEPS: which).
DEPS ?= $(TEST_DEPS)
deps:
	@tools/deps.sh $(DEPS)

configure: deps
	@cmake -S . -B $(BUILD) --log-level=WARNING -DCMAKE_C_COMPILER=$(CC) -DCMAKE_CXX_COMPILER=$(CXX) \
		$(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Only what the demo needs, quietly: the library and the demo; the run also
# leaves its statistics snapshot and its trace, and fa-report makes the HTML
# report of the two.
demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target demo -- --no-print-directory >/dev/null
	@$(BUILD)/examples/demo --json $(BUILD)/demo-snapshot.json --trace $(BUILD)/demo-trace.json
	@python3 tools/fa-report $(BUILD)/demo-snapshot.json $(BUILD)/demo-trace.json -o $(BUILD)/demo-report.html
	@echo
	@echo "snapshot  $(BUILD)/demo-snapshot.json"
	@echo "trace     $(BUILD)/demo-trace.json (https://ui.perfetto.dev or chrome://tracing)"
	@echo "report    $(BUILD)/demo-report.html (any browser)"

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Release, in a build directory of its own holding the library alone (no
# tests, examples or benchmark): quick, and $(BUILD) stays as it is.
RELEASE_BUILD ?= build-release
install:
	@$(MAKE) -s deps DEPS="$(BUILD_DEPS)"
	@cmake -S . -B $(RELEASE_BUILD) --log-level=WARNING -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=$(CC) \
		-DFA_BUILD_TESTS=OFF -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF -DFA_BUILD_ENGINES=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(RELEASE_BUILD) -j $(JOBS)
	cmake --install $(RELEASE_BUILD) --prefix $(PREFIX)

# The API reference, from the headers' comments, with the guides: HTML in
# $(BUILD)/docs/html (Debian doxygen; docs/Doxyfile). A warning fails it.
.PHONY: docs
docs:
	@$(MAKE) -s deps DEPS=doxygen
	@mkdir -p $(BUILD)/docs
	FA_VERSION=$$(sed -n 's/^project(framealloc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt) FA_DOCS_DIR=$(BUILD)/docs \
		doxygen docs/Doxyfile
	@echo "API reference: $(BUILD)/docs/html/index.html"

# Figures, not tests: every figure the docs quote, measured again into
# docs/figures.json and from there into the docs (tools/figures.py collect,
# then render; a figure's run and machine are in the file). It runs the
# instruction counts of the gcc, clang and minimal builds, every peer on every
# workload (bench/run.py; the tables also go to build/bench-results.{md,json,svg})
# and the framealloc benchmarks. The clang and minimal probes build in
# directories of their own: clang-check's and minimal's keep their settings
# (clang's with DWARF 4: valgrind 3.19 gives up on clang 14's DWARF 5, and
# count-instructions.sh then reads 0).
PEER_DEPS := libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev libapr1-dev libtalloc-dev python3 valgrind clang
INSTR_PROBES := --target instr_frame --target instr_pool --target instr_ideal
INSTR_ONLY := -DFA_BUILD_TESTS=OFF -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_ENGINES=OFF

bench:
	@$(MAKE) -s deps DEPS="$(TEST_DEPS) $(PEER_DEPS)"
	$(MAKE) build
	@cmake -S . -B $(BUILD)-instr-clang --log-level=WARNING -DCMAKE_C_COMPILER=clang -DCMAKE_C_FLAGS=-gdwarf-4 \
		$(INSTR_ONLY) >/dev/null
	@cmake -S . -B $(BUILD)-instr-minimal --log-level=WARNING -DCMAKE_C_COMPILER=$(CC) -DFA_MINIMAL=ON \
		$(INSTR_ONLY) >/dev/null
	cmake --build $(BUILD)-instr-clang -j $(JOBS) $(INSTR_PROBES)
	cmake --build $(BUILD)-instr-minimal -j $(JOBS) $(INSTR_PROBES)
	python3 tools/figures.py collect $(BUILD) --clang $(BUILD)-instr-clang --minimal $(BUILD)-instr-minimal
	python3 tools/figures.py render

# ---- the checks CI runs after `make test` (docs/reliability.md) -----------

# ASan + UBSan, every suite.
asan:
	@$(MAKE) -s deps DEPS="$(CHECK_DEPS)"
	FA_NO_DEATH_TESTS=1 $(MAKE) test BUILD=build-asan CC=clang CXX=clang++ \
		CMAKE_FLAGS="-DFA_SANITIZE=address,undefined -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF"

# TSan, every suite (the threaded ones are what it is for).
tsan:
	@$(MAKE) -s deps DEPS="$(CHECK_DEPS)"
	FA_NO_DEATH_TESTS=1 $(MAKE) test BUILD=build-tsan CC=clang CXX=clang++ \
		CMAKE_FLAGS="-DFA_SANITIZE=thread -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF"

# valgrind memcheck, every suite: 0 errors, 0 leaks.
memcheck:
	@$(MAKE) -s deps DEPS="$(CHECK_DEPS)"
	FA_NO_DEATH_TESTS=1 $(MAKE) test BUILD=build-memcheck CMAKE_FLAGS="-DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF -DFA_VALGRIND=ON \
		'-DFA_TEST_LAUNCHER=valgrind;--error-exitcode=1;--leak-check=full;--errors-for-leak-kinds=all;--show-leak-kinds=all;--quiet'"

# The clang build, warnings as errors, with its own suite run.
clang-check:
	@$(MAKE) -s deps DEPS="$(CHECK_DEPS)"
	$(MAKE) test BUILD=build-clang CC=clang CXX=clang++

# Minimal mode (-DFA_MINIMAL=ON): every suite but those of statistics, tags
# and budgets, with the inline fast paths counting nothing.
minimal:
	$(MAKE) test BUILD=build-minimal CMAKE_FLAGS="-DFA_MINIMAL=ON"

# Every suite with the library's internal checks at their highest level
# (FA_ASSERT_LEVEL=3, src/invariant.h): the validators run after every
# slow-path change.
assert:
	$(MAKE) test BUILD=build-assert CMAKE_FLAGS="-DFA_ASSERT_LEVEL=3 -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF"

check: test clang-check asan tsan memcheck minimal assert windows docs
	tools/check-layers.sh
	tools/spdx.sh --check

# ---- Windows (docs/platforms.md) -------------------------------------------

# The mingw-w64 cross build: the static library and the DLL, and the smoke
# test, the portable examples and the demo against each, run by ctest under
# wine (a prefix of its own in the build folder; made on the first run,
# ~10 s); then the MSVC branch compiled by clang in MSVC mode.
WINDOWS_BUILD ?= build-windows
WINDOWS_DEPS  := cmake make gcc-mingw-w64-x86-64 wine64 wine clang
windows:
	@$(MAKE) -s deps DEPS="$(WINDOWS_DEPS)"
	@cmake -S . -B $(WINDOWS_BUILD) --log-level=WARNING -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
		-DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF -DFA_BUILD_ENGINES=OFF >/dev/null
	cmake --build $(WINDOWS_BUILD) -j $(JOBS)
	@# One wine server for the whole run: programs started in parallel while a
	@# first server still sets the prefix up, or exits, can fail to reach it.
	@mkdir -p $(WINDOWS_BUILD)/wine
	WINEPREFIX=$(abspath $(WINDOWS_BUILD))/wine WINEDEBUG=-all wineserver -p 30
	WINEPREFIX=$(abspath $(WINDOWS_BUILD))/wine WINEDEBUG=-all wineboot -i >/dev/null 2>&1
	WINEPREFIX=$(abspath $(WINDOWS_BUILD))/wine WINEDEBUG=-all ctest --test-dir $(WINDOWS_BUILD) --output-on-failure -j $(JOBS)
	WINEPREFIX=$(abspath $(WINDOWS_BUILD))/wine wineserver -k || true
	$(MAKE) -s windows-msvc

# The MSVC branch of the portability layer, as near as this machine gets:
# clang in MSVC mode (_MSC_VER, __declspec, the MSVC ABI) over mingw-w64's
# headers, which need __GNUC__ (-fgnuc-version), compiles every library
# source for the static library and for the DLL, and the smoke test as a
# program of the DLL. Nothing is linked or run (docs/platforms.md).
MSVC_CC := clang --target=x86_64-pc-windows-msvc -fms-extensions -fms-compatibility -fgnuc-version=12 -std=c11 \
	-isystem /usr/x86_64-w64-mingw32/include -Iinclude -Isrc -Wall -Wextra -Werror
MSVC_SOURCES := $(filter-out src/os_posix.c,$(sort $(wildcard src/*.c src/source/*.c)))
windows-msvc:
	@mkdir -p $(WINDOWS_BUILD)/msvc
	@for f in $(MSVC_SOURCES); do \
		o=$(WINDOWS_BUILD)/msvc/$$(echo $$f | tr / _); \
		$(MSVC_CC) -c $$f -o $$o.obj && $(MSVC_CC) -DFA_DLL -DFA__DLL_EXPORT -c $$f -o $$o.dll.obj || exit 1; \
	done
	@$(MSVC_CC) -DFA_DLL -c tests/windows/smoke.c -o $(WINDOWS_BUILD)/msvc/smoke.obj
	@echo "windows-msvc: $(words $(MSVC_SOURCES)) sources compiled in MSVC mode, static and DLL, and a DLL program"

# ---- the long reliability runs (docs/reliability.md), outside CI -----------

# Stress: 8 threads x 400 rounds (3,200 thread exits) x 2,500 frames over
# 2,048 shared slots, budgets crossed by racing threads (a few minutes).
stress: build
	FA_STRESS_THREADS=8 FA_STRESS_ROUNDS=400 FA_STRESS_FRAMES=2500 FA_STRESS_SLOTS=2048 \
		$(BUILD)/tests/stress/stress

# Soak: 3 threads x 1,000,000 frames; the backend's bytes stay flat after
# warm-up, and resident memory within 1 % (the plain build: RSS means
# nothing under the sanitizers).
soak: build
	FA_SOAK_FRAMES=1000000 FA_SOAK_RSS_PERCENT=1 $(BUILD)/tests/stress/soak

# libFuzzer over the model-based engine, under ASan + UBSan, for FUZZ_SECONDS,
# starting from the checked-in corpus; what it learns stays in build-fuzz/corpus
# and a divergence leaves its input as build-fuzz/crash-*.
FUZZ_SECONDS ?= 600
fuzz:
	@$(MAKE) -s deps DEPS="$(CHECK_DEPS)"
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFA_FUZZ=ON \
		-DFA_SANITIZE=address,undefined,fuzzer-no-link -DFA_ASSERT_LEVEL=3 -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz_libfuzzer
	mkdir -p build-fuzz/corpus
	cd build-fuzz && tests/fuzz/fuzz_libfuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 corpus ../tests/fuzz/corpus

clean:
	rm -rf build build-*
