// `make fuzz`: the protocol fuzz harness (test/fuzz/harness.ts) against a fresh broker for minutes,
// printing the seed, the stats and the findings. Not part of `make test`.
//
//   FUZZ_SECONDS=600        how long (default 600)
//   FUZZ_SEED=1234          replay a run (default: a random seed, printed)
//   FUZZ_CONN=17,18         replay only these connections of the seed
//   FUZZ_TRANSPORTS=tcp,ws  which transports (default both)
//   FUZZ_CONCURRENCY=8      connections at a time
//   FUZZ_OVERRIDES=k=v,k=v  broker settings (default: FUZZ_BROKER_OVERRIDES of checks.ts)
//   FUZZ_RESTART=0          stop at the first death or hang (default: note it, start a new
//                           broker, and go on with the next connections of the same seed)
//
// Exit status 1 when anything was found or a check after the run failed. Reproducers go to
// /tmp/milena-fuzz-findings/ (test/fuzz/replay.ts replays one).

import { BrokerProcess } from "../helpers/broker_process.ts";
import { checkAfterFuzz, FUZZ_BROKER_OVERRIDES, mib, produceReference } from "./checks.ts";
import { type Finding, formatStats, runFuzz, type Transport } from "./harness.ts";
import { randomSeed } from "./prng.ts";

const seconds = Number(process.env.FUZZ_SECONDS ?? 600);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomSeed();
const only = process.env.FUZZ_CONN ? process.env.FUZZ_CONN.split(",").map(Number) : undefined;
const transports = (process.env.FUZZ_TRANSPORTS ?? "tcp,ws").split(",") as Transport[];
const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 8);
const overrides: Record<string, string> = process.env.FUZZ_OVERRIDES
  ? Object.fromEntries(
      process.env.FUZZ_OVERRIDES.split(",").map((kv) => [
        kv.slice(0, kv.indexOf("=")),
        kv.slice(kv.indexOf("=") + 1),
      ]),
    )
  : FUZZ_BROKER_OVERRIDES;
const restart = process.env.FUZZ_RESTART !== "0" && only === undefined;

const log = (line: string) => console.log(`[fuzz] ${line}`);

async function main(): Promise<number> {
  log(`seed ${seed} (replay with FUZZ_SEED=${seed}), ${seconds} s, transports ${transports.join(",")}`);
  const end = Date.now() + seconds * 1000;
  const findings = new Map<string, Finding>();
  let nextConnection = 0;
  let problems: string[] = [];
  for (let round = 0; Date.now() < end; round++) {
    const broker = await BrokerProcess.start({ overrides });
    let keep = false;
    try {
      const reference = await produceReference(broker);
      const rssBeforeBytes = broker.rssBytes();
      log(
        `round ${round}: broker pid ${broker.pid}, RSS ${mib(rssBeforeBytes)} MiB, from connection ${nextConnection}`,
      );
      const stats = await runFuzz({
        broker,
        seed,
        durationMs: end - Date.now(),
        transports,
        concurrency,
        only,
        firstConnection: nextConnection,
        log,
      });
      console.log(formatStats(stats));
      for (const f of stats.findings) {
        const known = findings.get(f.signature);
        if (known) known.count += f.count;
        else findings.set(f.signature, f);
      }
      nextConnection = stats.nextConnection;
      if (stats.brokerDied || stats.hang) {
        if (!restart) break;
        continue;
      }
      const result = await checkAfterFuzz(broker, { rssBeforeBytes, reference });
      log(`checks: RSS ${mib(result.rssBeforeBytes)} -> ${mib(result.rssAfterBytes)} MiB`);
      problems = result.problems;
      for (const p of problems) log(`CHECK FAILED: ${p}`);
      if (problems.length > 0) keep = true;
      break;
    } catch (e) {
      log(`round ${round} failed: ${(e as Error).stack ?? e}\n${broker.output.slice(-2000)}`);
      if (!restart) break;
    } finally {
      if (keep) {
        log(`broker log dir kept: ${broker.logDir}`);
        await broker.kill();
      } else await broker.destroy();
    }
  }
  log(`seed ${seed}: ${findings.size} distinct finding(s)`);
  for (const f of findings.values()) {
    log(`  [${f.kind}] x${f.count} ${f.message.split("\n")[0].slice(0, 300)}`);
    if (f.dir) log(`    ${f.dir}`);
  }
  return findings.size > 0 || problems.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
