// A cluster on this machine for the cluster benchmark: one real ZooKeeper (Debian's package,
// through test/helpers/zookeeper.ts: standalone, a free loopback port, tickTime 500 so sessions
// of 1 to 20 s are allowed) and N real broker processes (test/helpers/broker_process.ts: ids
// 1..N, ephemeral ports, each its own temp log dir, all under the /milena chroot). Unlike the
// test cluster (test/helpers/cluster.ts) it keeps Kafka's defaults for replication
// (replica.lag.time.max.ms 30000, replica.fetch.backoff.ms 1000, ...) and the broker's default
// writer count; only the ZooKeeper session timeout is given (it bounds failure detection).

import * as fs from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerProcess } from "../test/helpers/broker_process.ts";
import { ZooKeeperServer, zooKeeperInstalled } from "../test/helpers/zookeeper.ts";

export { zooKeeperInstalled };

export interface BenchClusterOptions {
  brokers: number;
  sessionTimeoutMs: number;
  overrides?: Record<string, string | number | boolean>;
}

export class BenchCluster {
  private constructor(
    readonly zk: ZooKeeperServer,
    readonly brokers: BrokerProcess[],
    /** Every broker's settings beyond its id, log dir and listeners. */
    readonly settings: Record<string, string | number | boolean>,
  ) {}

  static async start(opts: BenchClusterOptions): Promise<BenchCluster> {
    const zk = await ZooKeeperServer.start();
    const settings = {
      "zookeeper.connect": zk.connect("/milena"),
      "zookeeper.session.timeout.ms": opts.sessionTimeoutMs,
      // BrokerProcess pins 2 writers (for tests); the bench's single broker has the default
      // (one per core): the same here.
      "num.partition.writers": availableParallelism(),
      ...opts.overrides,
    };
    const brokers: BrokerProcess[] = [];
    try {
      for (let id = 1; id <= opts.brokers; id++) {
        const logDir = fs.mkdtempSync(join(tmpdir(), `milena-bench-cluster-${id}-`));
        brokers.push(await BrokerProcess.start({ logDir, overrides: { ...settings, "broker.id": id } }));
      }
    } catch (e) {
      for (const b of brokers) await b.destroy();
      await zk.destroy();
      throw e;
    }
    return new BenchCluster(zk, brokers, settings);
  }

  /** Broker `id` (1-based). */
  broker(id: number): BrokerProcess {
    return this.brokers[id - 1];
  }

  get ids(): number[] {
    return this.brokers.map((_, i) => i + 1);
  }

  alive(): number[] {
    return this.ids.filter((id) => this.broker(id).alive);
  }

  pids(): number[] {
    return this.brokers.filter((b) => b.alive).map((b) => b.pid!);
  }

  /** A live broker's bootstrap address, or all of them. */
  bootstrap(): string[] {
    return this.brokers.filter((b) => b.alive).map((b) => b.bootstrap);
  }

  /** Start a stopped or killed broker again on its log dir (new ports). */
  async restart(id: number): Promise<void> {
    const b = this.broker(id);
    if (b.alive) await b.stop();
    await b.launch();
  }

  /**
   * Clean stop (SIGTERM) of one broker, SIGKILL after `timeoutMs`. Returns the exit code and
   * whether it had to be killed (a stall worth reporting).
   */
  async stop(id: number, timeoutMs = 30_000): Promise<{ code: number | null; killed: boolean; ms: number }> {
    const b = this.broker(id);
    const t0 = performance.now();
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      void b.kill();
    }, timeoutMs);
    const code = await b.stop();
    clearTimeout(timer);
    return { code, killed, ms: performance.now() - t0 };
  }

  /** Everything down (SIGKILL), log dirs and ZooKeeper's data removed. */
  async destroy(): Promise<void> {
    for (const b of this.brokers) await b.destroy();
    await this.zk.destroy();
  }
}
