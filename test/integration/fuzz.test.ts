// Protocol fuzzing (issue 8, "Hardening"): about 30 s with a fixed seed, then about 30 s with a
// random one (printed), over TCP and WebSocket, of random frames, odd size prefixes, mutated
// valid requests of every advertised API version, corrupted record batches inside Produce
// requests, pipelined bursts and frames cut off by a close (test/fuzz/harness.ts). Afterwards
// the broker must be running, answer ApiVersions within 1 s, hold no more than 100 MB more than
// before, return the 1,000 reference records produced before the fuzz byte for byte, and still
// take (and serve back) a valid batch on every partition (test/fuzz/checks.ts). Log lines of
// requests that failed inside the broker without harm beyond their connection are reported as
// diagnostics, not failures.
//
// Replay a failure: FUZZ_SEED=<seed> node --import tsx --test test/integration/fuzz.test.ts
// (the random phase then uses that seed), or for longer: FUZZ_SEED=<seed> make fuzz. Findings and
// their last frames (hex) are written under /tmp/milena-fuzz-findings/; test/fuzz/replay.ts
// narrows one down to a single frame. FUZZ_TEST_SECONDS changes the length of each phase.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAfterFuzz, FUZZ_BROKER_OVERRIDES, mib, produceReference } from "../fuzz/checks.ts";
import { type Finding, type FuzzStats, formatStats, runFuzz } from "../fuzz/harness.ts";
import { randomSeed } from "../fuzz/prng.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const FIXED_SEED = 20_240_808;
const PHASE_MS = Number(process.env.FUZZ_TEST_SECONDS ?? 30) * 1000;

/** Findings that fail the test: the broker died or hung, or an error escaped request handling. */
function serious(f: Finding): boolean {
  return f.kind !== "log" || /uncaught error|unhandled rejection|fatal/i.test(f.message);
}

function describeFinding(f: Finding): string {
  const first = f.message.split("\n").slice(0, 3).join(" | ").slice(0, 600);
  return `[${f.kind}] seed ${f.seed} x${f.count}: ${first}${f.dir ? ` (frames: ${f.dir})` : ""}`;
}

test("the broker survives 60 s of protocol fuzzing over TCP and WebSocket", {
  timeout: 300_000,
}, async (t) => {
  const broker = await BrokerProcess.start({ overrides: FUZZ_BROKER_OVERRIDES });
  try {
    const reference = await produceReference(broker);
    const rssBeforeBytes = broker.rssBytes();
    const second = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomSeed();
    const runs: FuzzStats[] = [];
    for (const [label, seed] of [
      ["fixed", FIXED_SEED],
      ["random", second],
    ] as const) {
      const line = `fuzz phase "${label}": seed ${seed} (replay: FUZZ_SEED=${seed})`;
      console.log(line);
      t.diagnostic(line);
      const stats = await runFuzz({
        broker,
        seed,
        durationMs: PHASE_MS,
        transports: ["tcp", "ws"],
        log: (l) => t.diagnostic(l),
      });
      runs.push(stats);
      for (const l of formatStats(stats).split("\n")) t.diagnostic(l);
      if (stats.brokerDied || stats.hang) break;
    }

    const problems: string[] = [];
    for (const s of runs) for (const f of s.findings) if (serious(f)) problems.push(describeFinding(f));
    const checks = await checkAfterFuzz(broker, { rssBeforeBytes, reference });
    t.diagnostic(`RSS before ${mib(checks.rssBeforeBytes)} MiB, after ${mib(checks.rssAfterBytes)} MiB`);
    problems.push(...checks.problems);
    for (const s of runs) {
      for (const f of s.findings)
        if (!serious(f)) t.diagnostic(`not failing the test: ${describeFinding(f)}`);
    }
    assert.deepEqual(
      problems,
      [],
      `the fuzz found problems (seeds ${runs.map((s) => s.seed).join(", ")}); broker output:\n${broker.output.slice(-3000)}`,
    );
    for (const s of runs) {
      assert.ok(s.connections.tcp > 0 && s.connections.ws > 0, "both transports were fuzzed");
      assert.ok(s.responses > 0, "the broker answered some requests");
    }
  } finally {
    await broker.destroy();
  }
});
