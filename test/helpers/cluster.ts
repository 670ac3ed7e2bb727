// A real cluster for the tests: one ZooKeeper (test/helpers/zookeeper.ts) and N broker
// processes (ids 1..N, each on ephemeral ports with its own temp log dir), all under a chroot
// of their own. Short timeouts so failures are noticed in seconds: a 6 s ZooKeeper session,
// replica.lag.time.max.ms 4 s.

import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { RawClient } from "../integration/raw_client.ts";
import { BrokerProcess } from "./broker_process.ts";
import type { TestNetwork } from "./netns.ts";
import { ZooKeeperServer } from "./zookeeper.ts";

export interface ClusterOptions {
  brokers?: number;
  overrides?: Record<string, string | number | boolean>;
  chroot?: string;
  /** Each broker in its own network namespace on this bridge (partition tests). */
  network?: TestNetwork;
  /** Run once ZooKeeper is up, before any broker starts (e.g. `milena users --zookeeper`). */
  beforeBrokers?: (connect: string) => Promise<void>;
  /**
   * The PLAINTEXT listener settled() and bootstrap() use, when the inter-broker one (each
   * broker's `bootstrap`) is secured.
   */
  probeListener?: string;
}

export class TestCluster {
  private constructor(
    readonly zk: ZooKeeperServer,
    readonly brokers: BrokerProcess[],
    readonly connect: string,
    private readonly overrides: Record<string, string | number | boolean>,
    private readonly probeListener: string | undefined,
  ) {}

  /** Where a plaintext client reaches broker `b`. */
  private address(b: BrokerProcess): string {
    return this.probeListener === undefined ? b.bootstrap : `${b.host}:${b.ports[this.probeListener]}`;
  }

  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const net = opts.network;
    const zk = await ZooKeeperServer.start(undefined, net?.hostIp);
    const connect = zk.connect(opts.chroot ?? "/milena");
    const overrides = {
      "zookeeper.connect": connect,
      "zookeeper.session.timeout.ms": 6000,
      "replica.lag.time.max.ms": 4000,
      "replica.fetch.backoff.ms": 200,
      "controlled.shutdown.retry.backoff.ms": 200,
      ...opts.overrides,
    };
    const brokers: BrokerProcess[] = [];
    try {
      await opts.beforeBrokers?.(connect);
      for (let id = 1; id <= (opts.brokers ?? 3); id++) {
        const own: Record<string, string> =
          net === undefined
            ? {}
            : { listeners: `PLAINTEXT://${net.ipOf(id)}:0,WEBSOCKET://${net.ipOf(id)}:0` };
        brokers.push(
          await BrokerProcess.start({
            overrides: { ...overrides, ...own, "broker.id": id },
            wrapper: net?.wrapper(id),
          }),
        );
      }
    } catch (e) {
      for (const b of brokers) await b.destroy();
      await zk.destroy();
      throw e;
    }
    const c = new TestCluster(zk, brokers, connect, overrides, opts.probeListener);
    await c.settled();
    return c;
  }

  /** Until every live broker's Metadata lists every live broker (the controller told them all). */
  async settled(): Promise<void> {
    const live = this.brokers.filter((b) => b.alive);
    for (const b of live)
      await eventually(
        async () => {
          const client = await RawClient.tcp(this.address(b));
          try {
            const md = await client.request(metadataCodec, 9, metadataRequest([], false));
            return md.brokers.length === live.length && md.controllerId > 0;
          } finally {
            client.close();
          }
        },
        30_000,
        `broker ${this.brokers.indexOf(b) + 1} to see the whole cluster`,
      );
  }

  /** The overrides every broker of the cluster started with (to start one more). */
  brokerOverrides(): Record<string, string | number | boolean> {
    return { ...this.overrides };
  }

  broker(id: number): BrokerProcess {
    return this.brokers[id - 1];
  }

  /** Every live broker's bootstrap address. */
  bootstrap(): string[] {
    return this.brokers.filter((b) => b.alive).map((b) => this.address(b));
  }

  /** Restart a broker that was stopped or killed, on the same log dir (new ports). */
  async restart(id: number): Promise<void> {
    const b = this.broker(id);
    if (b.alive) await b.stop();
    await b.launch();
  }

  async destroy(): Promise<void> {
    for (const b of this.brokers) await b.destroy();
    await this.zk.destroy();
  }
}

/** Poll `f` until it returns a value that is not undefined/false, or fail after `ms`. */
export async function eventually<T>(
  f: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 30_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
