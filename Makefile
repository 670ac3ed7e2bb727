# Milena: make run | make test | make bench | make lint | make format
# Every target installs what is missing first (node_modules from the lock file).

NODE ?= node
TSX = $(NODE) --import tsx
CONFIG ?= config/server.properties

.PHONY: chaos cluster run test typecheck lint format unit integration conformance bench install test-deps console

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

# The web console (src/console/), bundled for browsers with esbuild into dist/console/ (generated,
# not in git), which src/console/serve.ts serves. Rebuilt when a source file is newer than it.
CONSOLE_SOURCES := $(shell find src -name '*.ts' -o -name '*.css')
dist/console/app.js: $(CONSOLE_SOURCES) node_modules/.package-lock.json
	$(TSX) src/console/build.ts

console: install dist/console/app.js

# Start one broker from config/server.properties: Kafka protocol on 127.0.0.1:9092,
# WebSocket on 127.0.0.1:9094, data under ./data. (TypeScript runs through tsx: the build is
# the type check.)
run: install typecheck console
	$(TSX) src/cli/main.ts broker $(CONFIG)

# A local cluster: ZooKeeper on 127.0.0.1:2181 (Debian's package, installed when missing) and
# three brokers from config/cluster/ (Kafka protocol on 19092, 29092, 39092; WebSocket on 19094,
# 29094, 39094; data under ./data/broker-N). Ctrl-C stops them all cleanly.
cluster: install typecheck
	@bash .ci/cluster.sh

# Random faults against a three-broker cluster for CHAOS_SECONDS (not part of `make test`):
# kills, pauses past the ZooKeeper session, ZooKeeper restarts, network partitions (as root);
# reports acknowledged vs lost vs duplicated writes (test/chaos/run.ts). CHAOS_SEED replays.
CHAOS_SECONDS ?= 300
chaos: install
	CHAOS_SECONDS=$(CHAOS_SECONDS) $(TSX) test/chaos/run.ts

typecheck: install
	npx tsc --noEmit

lint: install
	npx biome check .

format: install
	npx biome check --write .

# Every test: type check, lint, unit, integration (real broker process), conformance (kafkajs, kcat).
test: install typecheck lint test-deps console
	$(TSX) --test --test-concurrency=2 --test-timeout=300000 test/unit/*.test.ts test/integration/*.test.ts test/conformance/*.test.ts

# kcat and chromium from Debian when missing (.ci/install-test-deps.sh).
test-deps:
	@bash .ci/install-test-deps.sh

unit: install
	$(TSX) --test test/unit/*.test.ts

integration: install console
	$(TSX) --test --test-concurrency=1 test/integration/*.test.ts

conformance: install
	$(TSX) --test --test-concurrency=1 test/conformance/*.test.ts

# Benchmarks (not tests): Milena against NATS JetStream and Redis Streams and the machine's limits;
# writes native-bench/RESULTS.md. QUICK=1 for a small run (under a minute on a quiet machine; the
# full one takes about 10). Installs nats-server, redis-server and fio from Debian first when it
# can (as root); a peer that cannot be installed is left out and said so.
bench: install
	@bash native-bench/install-peers.sh
	QUICK=$(QUICK) $(TSX) native-bench/run.ts

# Protocol fuzzing (not part of `make test`): random, mutated and corrupted requests over TCP and
# WebSocket against a fresh broker for FUZZ_SECONDS (default 600), then the checks of
# test/fuzz/checks.ts. Prints the seed (replay with FUZZ_SEED=...), the stats and the findings;
# reproducers go to /tmp/milena-fuzz-findings/ (narrow one down with test/fuzz/replay.ts).
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz: install
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) $(TSX) test/fuzz/run.ts
