// Followers copy their leaders' logs through the Fetch API, as Kafka's ReplicaFetcherThread:
// per leader broker, num.replica.fetchers fetchers (a partition goes to fetcher
// hash(topic, partition) % n), each a loop of Fetch v12 requests with replica_id = this broker,
// replica.fetch.wait.max.ms, replica.fetch.min.bytes, replica.fetch.response.max.bytes and
// replica.fetch.max.bytes per partition. The leader's batches are appended unchanged (offsets
// and leader epochs kept) through the partition's own writer. A follower that just started
// following first asks its leader where its own last epoch ends (OffsetForLeaderEpoch, KIP-101)
// and truncates its divergent tail to that point, so a returning old leader drops the writes
// no one else had.

import type { PartitionEntry } from "../broker/log_manager.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { fetchCodec, fetchRecordsBuffer } from "../protocol/fetch.ts";
import { offsetForLeaderEpochCodec } from "../protocol/offset_for_leader_epoch.ts";
import { BrokerChannel, type Endpoint } from "./broker_channel.ts";
import type { ChannelSecurity } from "./inter_broker_security.ts";
import type { PartitionReplica, ReplicaLog, ReplicaManager } from "./replicas.ts";

export interface FetcherOptions {
  brokerId: number;
  numReplicaFetchers: number;
  replicaFetchMaxBytes: number;
  replicaFetchResponseMaxBytes: number;
  replicaFetchWaitMaxMs: number;
  replicaFetchMinBytes: number;
  replicaFetchBackoffMs: number;
  /** TLS and SASL of the connections to the leaders. */
  security: ChannelSecurity;
  log(kind: string, line: string): void;
}

/** What a fetcher needs beyond the replica manager: the leader's address and local appends. */
export interface FetcherDeps {
  endpointOf(broker: number): Endpoint | undefined;
  /** Append the leader's batches unchanged; resolves with an error code and the new log end. */
  appendReplica(
    entry: PartitionEntry,
    records: Uint8Array,
  ): Promise<{ errorCode: number; logEndOffset: number }>;
  log: ReplicaLog;
}

const FETCH_VERSION = 12;
const EPOCH_VERSION = 3;

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

class ReplicaFetcher {
  readonly partitions = new Set<PartitionReplica>();
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly channel: BrokerChannel;

  constructor(
    readonly leader: number,
    readonly endpoint: Endpoint,
    private readonly opts: FetcherOptions,
    private readonly deps: FetcherDeps,
    private readonly replicas: ReplicaManager,
  ) {
    this.channel = new BrokerChannel(
      leader,
      endpoint,
      `milena-replica-fetcher-${opts.brokerId}`,
      opts.security,
      opts.replicaFetchWaitMaxMs + 30_000,
    );
    void this.run();
  }

  add(r: PartitionReplica): void {
    this.partitions.add(r);
    this.wake?.();
  }

  remove(r: PartitionReplica): void {
    this.partitions.delete(r);
  }

  stop(): void {
    this.stopped = true;
    this.channel.close();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private following(r: PartitionReplica): boolean {
    return this.partitions.has(r) && r.role === "follower" && r.leader === this.leader;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const live = [...this.partitions].filter((r) => this.following(r));
      if (live.length === 0) {
        await this.sleep(1000);
        continue;
      }
      // A partition that failed waits replica.fetch.backoff.ms on its own (Kafka's delayed
      // partitions); the others go on.
      const now = Date.now();
      const eligible = live.filter((r) => r.fetchDelayedUntil <= now);
      if (eligible.length === 0) {
        await this.sleep(Math.max(10, Math.min(...live.map((r) => r.fetchDelayedUntil)) - now));
        continue;
      }
      try {
        const truncating = eligible.filter((r) => r.needsTruncation);
        if (truncating.length > 0) await this.truncate(truncating);
        const ready = eligible.filter((r) => !r.needsTruncation && this.following(r));
        if (ready.length > 0) await this.fetchOnce(ready);
      } catch (e) {
        if (this.stopped) return;
        this.opts.log(
          "replica fetch failed",
          `fetching from broker ${this.leader} failed: ${(e as Error).message}`,
        );
        this.channel.reset();
        await this.sleep(this.opts.replicaFetchBackoffMs);
      }
    }
  }

  /** KIP-101: find where this log leaves the leader's, and cut there. */
  private async truncate(rs: PartitionReplica[]): Promise<void> {
    const mine = new Map<PartitionReplica, { epoch: number; end: number }>();
    for (const r of rs) {
      const latest = await this.deps.log.latestEpoch(r.entry);
      mine.set(r, { epoch: latest.epoch, end: latest.logEndOffset });
    }
    const asked = rs.filter((r) => mine.get(r)!.epoch >= 0);
    for (const r of rs) {
      if (mine.get(r)!.epoch < 0) {
        // An empty log (or one without epochs): nothing to cut above the high watermark.
        await this.cutTo(r, r.highWatermark);
        r.needsTruncation = false;
      }
    }
    if (asked.length === 0) return;
    const byTopic = new Map<string, PartitionReplica[]>();
    for (const r of asked) {
      let l = byTopic.get(r.entry.topic);
      if (l === undefined) byTopic.set(r.entry.topic, (l = []));
      l.push(r);
    }
    const res = await this.channel.request(offsetForLeaderEpochCodec, EPOCH_VERSION, {
      replicaId: this.opts.brokerId,
      topics: [...byTopic].map(([topic, l]) => ({
        topic,
        partitions: l.map((r) => ({
          partition: r.entry.partition,
          currentLeaderEpoch: r.leaderEpoch,
          leaderEpoch: mine.get(r)!.epoch,
        })),
      })),
    });
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const r = byTopic.get(t.topic)?.find((x) => x.entry.partition === p.partition);
        if (r === undefined || !this.following(r)) continue;
        if (p.errorCode !== ErrorCode.NONE) {
          this.delay(r);
          this.opts.log(
            "epoch lookup refused",
            `OffsetForLeaderEpoch of ${t.topic}-${p.partition} at broker ${this.leader}: error ${p.errorCode}`,
          );
          continue; // retried on the next round (a LeaderAndIsr may be on its way)
        }
        const m = mine.get(r)!;
        if (p.leaderEpoch < 0 || p.endOffset < 0) {
          await this.cutTo(r, r.highWatermark);
          r.needsTruncation = false;
        } else if (p.leaderEpoch === m.epoch) {
          await this.cutTo(r, Math.min(p.endOffset, m.end));
          r.needsTruncation = false;
        } else {
          // The leader never had our last epoch (Kafka's getOffsetTruncationState): cut to where
          // its answer's epoch ends here and ask again with the epoch that is last then, until
          // both logs agree on an epoch.
          const local = await this.deps.log.epochEndOffset(r.entry, p.leaderEpoch);
          await this.cutTo(r, Math.min(p.endOffset, local.endOffset >= 0 ? local.endOffset : p.endOffset));
        }
      }
    }
  }

  private async cutTo(r: PartitionReplica, offset: number): Promise<void> {
    const leo = r.entry.reader.logEndOffset;
    if (offset >= leo) return;
    const end = await this.deps.log.truncate(r.entry, offset);
    this.opts.log(
      "truncated",
      `truncated ${r.entry.topic}-${r.entry.partition} from ${leo} to ${end} (divergent from leader ${this.leader})`,
    );
    if (r.highWatermark > end) r.highWatermark = end;
  }

  private async fetchOnce(rs: PartitionReplica[]): Promise<void> {
    const byTopic = new Map<string, PartitionReplica[]>();
    for (const r of rs) {
      let l = byTopic.get(r.entry.topic);
      if (l === undefined) byTopic.set(r.entry.topic, (l = []));
      l.push(r);
    }
    const res = await this.channel.request(
      fetchCodec,
      FETCH_VERSION,
      {
        replicaId: this.opts.brokerId,
        maxWaitMs: this.opts.replicaFetchWaitMaxMs,
        minBytes: this.opts.replicaFetchMinBytes,
        maxBytes: this.opts.replicaFetchResponseMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, l]) => ({
          topic,
          partitions: l.map((r) => ({
            partition: r.entry.partition,
            currentLeaderEpoch: r.leaderEpoch,
            fetchOffset: r.entry.reader.logEndOffset,
            lastFetchedEpoch: -1,
            logStartOffset: r.entry.reader.logStartOffset,
            partitionMaxBytes: this.opts.replicaFetchMaxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: "",
      },
      this.opts.replicaFetchWaitMaxMs,
    );
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`Fetch answered error ${res.errorCode}`);
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const r = byTopic.get(t.topic)?.find((x) => x.entry.partition === p.partitionIndex);
        if (r === undefined || !this.following(r)) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.outOfRange(r, p.logStartOffset, p.highWatermark);
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          this.delay(r);
          this.opts.log(
            "replica fetch error",
            `fetch of ${t.topic}-${p.partitionIndex} from broker ${this.leader}: error ${p.errorCode}`,
          );
          continue;
        }
        const data = fetchRecordsBuffer(p.records);
        if (data.length > 0) {
          // The frame is reused after this returns: the writer gets its own copy.
          const out = await this.deps.appendReplica(r.entry, new Uint8Array(data));
          if (out.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) r.needsTruncation = true;
          else if (out.errorCode !== ErrorCode.NONE) {
            this.delay(r);
            this.opts.log(
              "replica append failed",
              `appending ${t.topic}-${p.partitionIndex} from broker ${this.leader}: error ${out.errorCode}`,
            );
          }
        }
        this.replicas.followerHighWatermark(r, p.highWatermark);
      }
    }
  }

  /** This partition waits replica.fetch.backoff.ms before its next fetch or epoch lookup. */
  private delay(r: PartitionReplica): void {
    r.fetchDelayedUntil = Date.now() + this.opts.replicaFetchBackoffMs;
  }

  /** Our offset is outside the leader's log: past its end (cut back), or below its start (restart there). */
  private async outOfRange(r: PartitionReplica, leaderStart: number, leaderHw: number): Promise<void> {
    const leo = r.entry.reader.logEndOffset;
    if (leaderStart >= 0 && leo < leaderStart) {
      await this.deps.log.truncateFully(r.entry, leaderStart);
      r.highWatermark = leaderStart;
      this.opts.log(
        "truncated",
        `${r.entry.topic}-${r.entry.partition}: leader ${this.leader}'s log starts at ${leaderStart}, past ours (${leo}): restarted there`,
      );
    } else r.needsTruncation = true;
    void leaderHw;
  }
}

/** The fetchers of this broker, by leader and fetcher index. */
export class FetcherManager {
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  private readonly assigned = new Map<PartitionReplica, ReplicaFetcher>();
  replicas!: ReplicaManager;

  constructor(
    private readonly opts: FetcherOptions,
    private readonly deps: FetcherDeps,
  ) {}

  follow(r: PartitionReplica): void {
    this.unfollow(r);
    const ep = this.deps.endpointOf(r.leader);
    if (ep === undefined) {
      this.opts.log("no leader endpoint", `no endpoint known for broker ${r.leader}: not fetching yet`);
      return;
    }
    const n = hash(`${r.entry.topic}-${r.entry.partition}`) % Math.max(1, this.opts.numReplicaFetchers);
    const k = `${r.leader}/${n}/${ep.host}:${ep.port}`;
    let f = this.fetchers.get(k);
    if (f === undefined) {
      f = new ReplicaFetcher(r.leader, ep, this.opts, this.deps, this.replicas);
      this.fetchers.set(k, f);
    }
    f.add(r);
    this.assigned.set(r, f);
  }

  /**
   * Broker endpoints changed (UpdateMetadata): a partition whose leader now listens elsewhere (it
   * restarted on new ports, and kept its leadership because no controller moved it meanwhile)
   * is fetched from the new endpoint; the old fetcher would retry a dead address forever.
   */
  endpointsChanged(): void {
    for (const [r, f] of [...this.assigned]) {
      const ep = this.deps.endpointOf(r.leader);
      if (ep !== undefined && (ep.host !== f.endpoint.host || ep.port !== f.endpoint.port)) this.follow(r);
    }
  }

  unfollow(r: PartitionReplica): void {
    const f = this.assigned.get(r);
    if (f === undefined) return;
    f.remove(r);
    this.assigned.delete(r);
    if (f.partitions.size === 0) {
      f.stop();
      for (const [k, x] of this.fetchers) if (x === f) this.fetchers.delete(k);
    }
  }

  stop(): void {
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    this.assigned.clear();
  }
}
