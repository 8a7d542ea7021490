# The commands people know. Each one installs what it needs first
# (scripts/install-deps is idempotent and quick when all is there).

.PHONY: run test bench fuzz soak build-release build-ci format clean

JOBS ?= $(shell nproc)
# make soak: kill cycles, and the build it runs (ci: ASan+UBSan; release also works).
SOAK_CYCLES ?= 1000
SOAK_PRESET ?= ci

run: ## serve the demo site on http://127.0.0.1:8080 (embedded SQLite in ./data)
	scripts/install-deps --run
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	./build/release/depesche demo
	exec ./build/release/depesche serve

test: ## build with sanitizers and run every suite: unit, integration, browser, format
	scripts/install-deps
	cmake --preset ci >/dev/null
	cmake --build --preset ci -j $(JOBS)
	ctest --preset ci -j 2

bench: build-release ## page throughput against nginx; live fanout against Node's ws; acknowledged writes against raw SQLite; hostile clients; two nodes on PostgreSQL and Redis against one
	scripts/install-deps
	bench/page
	bench/live
	bench/writes
	bench/hostile
	bench/cluster

fuzz: ## long libFuzzer runs of every fuzz target (clang; FUZZ_SECONDS per target, default 300)
	scripts/install-deps
	scripts/fuzz $(or $(FUZZ_SECONDS),300)

soak: ## SIGKILL under a mixed write load, $(SOAK_CYCLES) cycles (sanitizer build); summary in bench/results/soak.json
	scripts/install-deps
	cmake --preset $(SOAK_PRESET) >/dev/null
	cmake --build --preset $(SOAK_PRESET) -j $(JOBS) --target depesche
	DEPESCHE_BIN=$(CURDIR)/build/$(SOAK_PRESET)/depesche DEPESCHE_CRASH_CYCLES=$(SOAK_CYCLES) \
	  DEPESCHE_CRASH_REPORT=$(CURDIR)/bench/results/soak.json \
	  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/integration/test_crash_mixed.py

build-release:
	scripts/install-deps --run
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

format: ## rewrite sources in the house format
	find src tests/unit tests/fuzz -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
