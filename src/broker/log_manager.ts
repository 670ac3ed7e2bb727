// The acceptor's registry of topics and partitions, and the log's lifecycle around it: claim
// the log dirs, open every partition through the recovery pool at start, place new partitions,
// create and delete topics, and close everything cleanly at shutdown.
//
// Each partition has a slot (its row in the partition state table and its owner writer),
// a directory in one log dir, and a PartitionReader for fetches.
//
// Topic ids (KIP-516). Every topic gets a random 16-byte id when it is created (Kafka's
// Uuid.randomUuid(); a topic created again under the same name gets a new one), kept in each
// of its partition directories as Kafka's partition.metadata (src/log/partition_metadata.ts),
// written durably before the partition's writer opens it, also for partitions added later
// (addPartitions) and for partitions recreated at startup. topicById() finds a topic by it.
//
// At startup every partition's partition.metadata is read (in the recovery pool), and:
//
//   file                                        what happens
//   present, same id in all of a topic's dirs   that is the topic's id
//   missing in some or all (an older Milena's   the topic's id (its other partitions', else a
//     logs, or a crash between mkdir and the      new one, drawn once per topic) is written to
//     file)                                       every partition lacking the file; a recovery
//                                                 note names the topic and the id. If that write
//                                                 fails, a note says so and the partition opens
//                                                 anyway with the id (written at a later start).
//   unreadable or corrupt (garbage, truncated,  the broker does not start: LogDirError naming
//     all-zero or reserved id)                    the file and what is wrong
//   a topic's partitions hold different ids     the broker does not start: LogDirError naming
//                                                 each id and the directories holding it
//   two topics hold the same id                 the broker does not start (topicById would be
//                                                 ambiguous): LogDirError naming both
//
// Why not start: Kafka takes a log dir with an unreadable or inconsistent partition.metadata
// offline (KafkaStorageException / InconsistentTopicIdException), and so do we, the whole
// broker being the unit that can go offline here. Every alternative is worse for the data:
// serving the topic would mix two topics' records under one id, or change the id clients know;
// leaving it out would let a new topic of that name be created over its directories; picking
// an id would be a guess. Startup fails before any partition is opened or any file written
// for one: no partition.metadata, no checkpoint, and the clean-shutdown marker neither removed
// nor written (close() after a failed open() writes nothing). Only what recovery does at any
// start has been done (a torn tail cut, indexes rebuilt, interrupted creations and deletions
// finished). The operator fixes the files named and starts again: deleting a bad
// partition.metadata makes that partition take its siblings' id (the "missing" row).

import * as fs from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import type { OpenResult, RecoveryTask } from "../../workers/log_recovery.ts";
import {
  claimLogDir,
  LOG_START_CHECKPOINT,
  LogDirError,
  RECOVERY_POINT_CHECKPOINT,
  readCheckpoint,
  removeCleanShutdownMarker,
  wasCleanShutdown,
} from "../log/log_dir.ts";
import {
  PARTITION_METADATA_FILE,
  type PartitionMetadataRead,
  randomTopicId,
  topicIdKey,
  topicIdToString,
  writePartitionMetadata,
} from "../log/partition_metadata.ts";
import { PartitionReader } from "../log/partition_reader.ts";
import {
  F_FLUSHED_OFFSET,
  F_LOG_START_OFFSET,
  F_STATUS,
  type PartitionState,
  STATUS_OFFLINE,
} from "../log/partition_state.ts";
import type { PartitionLogConfig } from "../log/partition_writer.ts";
import type { PartitionScan, ScannedSegment, ScanOptions } from "../log/recovery.ts";
import { parsePartitionDirName, partitionDirName } from "../log/segment_files.ts";
import {
  clearIntent,
  deletedDirName,
  isDeletedDirName,
  readIntents,
  removeInBackground,
  removeIntentSync,
  writeIntent,
} from "../log/topic_intents.ts";
import type { BrokerConfig } from "./config.ts";
import type { OffsetsRecord } from "./groups/offsets_records.ts";
import { RecoveryProgress } from "./recovery_progress.ts";
import { readTopicConfig, renderTopicConfig } from "./topic_config_store.ts";
import { partitionLogConfig } from "./topic_configs.ts";
import type { TxnLogRecord } from "./txn/transaction_log.ts";

/** Structured clone turns Buffers into Uint8Arrays: make the byte fields Buffers again. */
function revive(r: OffsetsRecord): OffsetsRecord {
  if (r.kind === "group" && r.value !== null) {
    for (const m of r.value.members) {
      m.subscription = Buffer.from(m.subscription);
      m.assignment = Buffer.from(m.assignment);
    }
  }
  return r;
}

import type { WriterPool } from "./writers.ts";

/**
 * An offset checkpoint (log_dir.ts's format) written durably without blocking the acceptor: a
 * temporary file written and fsynced, renamed over the old one, the directory fsynced.
 */
export async function writeOffsetCheckpoint(
  path: string,
  entries: { topic: string; partition: number; offset: number }[],
): Promise<void> {
  const lines = ["0", String(entries.length), ...entries.map((e) => `${e.topic} ${e.partition} ${e.offset}`)];
  const tmp = `${path}.tmp`;
  const file = await fs.promises.open(tmp, "w");
  try {
    await file.writeFile(`${lines.join("\n")}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.promises.rename(tmp, path);
  const dir = await fs.promises.open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export interface PartitionEntry {
  topic: string;
  partition: number;
  slot: number;
  logDir: string;
  dir: string;
  reader: PartitionReader;
  /** Fetches parked until this partition's log end moves. */
  waiters: Set<() => void>;
  /**
   * Client traffic (/metrics: Kafka's BrokerTopicMetrics, summed per topic when scraped): records
   * and record batch bytes of Produce requests appended, record bytes Fetch returned to consumers.
   */
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

export interface TopicEntry {
  name: string;
  /**
   * Kafka's topic id (KIP-516): 16 random bytes drawn at creation, never reused, kept in every
   * partition's partition.metadata. Kafka's string form: topicIdToString().
   */
  topicId: Buffer;
  partitions: PartitionEntry[];
  /** Topic-level config overrides (Kafka's topic config names). */
  overrides: Map<string, string>;
  /** The partitions' log config: broker defaults under the overrides. */
  logConfig: PartitionLogConfig;
}

export interface RecoveryReport {
  poolThreads: number;
  partitions: number;
  threadsUsed: number;
  clean: boolean;
  truncated: { partition: string; segmentBase: number; atByte: number; lostBytes: number; reason: string }[];
  /** What recovery left out or finished: directories it could not open, interrupted work. */
  notes: string[];
}

/** A creation refused before anything was written (limits). */
export class PartitionLimitError extends Error {
  override name = "PartitionLimitError";
}

/** A topic of that name is still being deleted: retry once it is gone. */
export class TopicDeletingError extends Error {
  override name = "TopicDeletingError";
  constructor(topic: string) {
    super(`Topic '${topic}' is marked for deletion.`);
  }
}

/** Partitions created (or closed) at a time: the acceptor answers other requests in between. */
const CREATE_CHUNK = 128;

const RECOVERY_WORKER = new URL("../../workers/log_recovery_entry.mjs", import.meta.url);

export class LogManager {
  readonly topics = new Map<string, TopicEntry>();
  /** The topics of `topics` by id (topicIdKey of their topicId). */
  private readonly byId = new Map<string, TopicEntry>();
  /** open() finished: only then does close() write checkpoints and the clean-shutdown marker. */
  private opened = false;
  /** Topics being created (createTopic), not yet in `topics`. */
  readonly creating = new Map<string, Promise<TopicEntry>>();
  /** Topics being deleted (deleteTopic): their name cannot be created again until it is done. */
  readonly deleting = new Map<string, Promise<void>>();
  /** Topics gaining partitions (addPartitions), to run one grow of a topic at a time. */
  private readonly growing = new Map<string, Promise<void>>();
  /** Replicas being created for the cluster (ensureReplica), by "topic\0partition". */
  private readonly replicaCreations = new Map<string, Promise<PartitionEntry>>();
  readonly bySlot: (PartitionEntry | undefined)[] = [];
  /** Startup: partition directories the recovery pool has to open, and has opened (/metrics). */
  readonly recoveryProgress = { total: 0, done: 0 };
  /**
   * Partition directories found at start that could not be opened (name -> why): left where they
   * are, offline, and never made again over their data (by the gap fill, a CreateTopics or an
   * auto-creation of their topic) until moved away and the broker restarted.
   */
  readonly unopened = new Map<string, string>();
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];
  clusterId = "";
  recovery: RecoveryReport | null = null;
  private pool: Piscina | null = null;
  /** Partitions per log dir (placement), kept as they are added and removed. */
  private readonly perDir = new Map<string, number>();
  /** Partitions open plus those being created (max.broker.partitions). */
  private reserved = 0;
  /**
   * Each open partition's log start offset as it is held durably: by its segments and the
   * log-start-offset checkpoint read when it opened, then by each checkpoint written since
   * (persistLogStarts). Only open partitions are here (their writer has answered "open"): a
   * checkpoint never names a partition being created, whose slot may still show a former
   * partition's start.
   */
  private readonly durableStarts = new Map<PartitionEntry, number>();
  /** Per log dir: the last log-start checkpoint write queued or running, and one not started yet. */
  private readonly startWrites = new Map<string, { last: Promise<void>; queued: Promise<void> | null }>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly state: PartitionState,
    private readonly writers: WriterPool,
    private readonly report: (line: string) => void = () => {},
    /** Lines not rate-limited: startup recovery's progress (recovery_progress.ts). */
    private readonly info: (line: string) => void = report,
  ) {
    for (const d of config.logDirs) this.perDir.set(d, 0);
  }

  /** Partitions this broker holds or is creating. */
  get partitionCount(): number {
    return this.reserved;
  }

  /**
   * Reserve room for `n` new partitions under max.broker.partitions (and the state table's
   * size); PartitionLimitError when there is none. Give it back with unreserve() on failure.
   */
  reservePartitions(n: number): void {
    const problem = this.partitionRoomProblem(n);
    if (problem !== null) throw new PartitionLimitError(problem);
    this.reserved += n;
  }

  /** Why n more partitions would not fit (max.broker.partitions), or null when they would. */
  partitionRoomProblem(n: number): string | null {
    const max = Math.min(this.config.maxBrokerPartitions, this.state.v.length);
    return this.reserved + n > max
      ? `this broker holds ${this.reserved} partition(s); ${n} more would pass max.broker.partitions (${max})`
      : null;
  }

  private unreserve(n: number): void {
    this.reserved -= n;
  }

  private newTopicEntry(name: string, overrides: Map<string, string>, topicId: Buffer): TopicEntry {
    return {
      name,
      topicId,
      partitions: [],
      overrides,
      logConfig: partitionLogConfig(this.config, overrides),
    };
  }

  /** A topic by its id (KIP-516), among the topics in `topics`. */
  topicById(id: Uint8Array): TopicEntry | undefined {
    return this.byId.get(topicIdKey(id));
  }

  /** A new topic id, unlike any topic's here (Kafka's controller draws again on a clash too). */
  private newTopicId(): Buffer {
    for (;;) {
      const id = randomTopicId();
      if (!this.byId.has(topicIdKey(id))) return id;
    }
  }

  /** A topic joins `topics` and the id lookup. */
  private register(t: TopicEntry): void {
    this.topics.set(t.name, t);
    this.byId.set(topicIdKey(t.topicId), t);
  }

  private unregister(t: TopicEntry): void {
    this.topics.delete(t.name);
    if (this.byId.get(topicIdKey(t.topicId)) === t) this.byId.delete(topicIdKey(t.topicId));
  }

  /** The recovery pool: num.recovery.threads.per.data.dir x log dirs threads. */
  private recoveryPool(): Piscina {
    if (this.pool === null) {
      const threads = this.config.recoveryThreadsPerDataDir * this.config.logDirs.length;
      this.pool = new Piscina({
        filename: fileURLToPath(RECOVERY_WORKER),
        minThreads: threads,
        maxThreads: threads,
        idleTimeout: 1000,
      });
    }
    return this.pool;
  }

  /** Claim every log dir and open every partition found in them. */
  async open(): Promise<RecoveryReport> {
    // In a ZooKeeper cluster the cluster's id (/cluster/id) is given: every log dir must be of it.
    let clusterId: string | null = this.clusterId === "" ? null : this.clusterId;
    const created = new Set<string>();
    for (const dir of this.config.logDirs) {
      const given = clusterId;
      let claim: { clusterId: string; created: boolean };
      try {
        claim = claimLogDir(dir, this.config.brokerId, clusterId);
      } catch (e) {
        if (
          given !== null &&
          this.config.zookeeperConnect !== null &&
          /belongs to cluster/.test((e as Error).message)
        )
          throw new Error(
            `log dir ${dir} belongs to another cluster than the one in ZooKeeper at ${this.config.zookeeperConnect} (cluster id ${given}); see its meta.properties`,
          );
        throw e;
      }
      clusterId = claim.clusterId;
      if (claim.created) created.add(dir);
    }
    this.clusterId = clusterId!;
    const pool = this.recoveryPool();
    const report: RecoveryReport = {
      poolThreads: pool.options.maxThreads,
      partitions: 0,
      threadsUsed: 0,
      clean: true,
      truncated: [],
      notes: [],
    };
    const threads = new Set<number>();
    const jobs: Promise<void>[] = [];
    const found: {
      topic: string;
      partition: number;
      logDir: string;
      scan: PartitionScan;
      metadata: PartitionMetadataRead;
    }[] = [];
    // Partitions go to the pool in chunks (a task per partition costs more in messaging than a
    // clean open costs in work); every thread gets several chunks.
    const toOpen: {
      dir: string;
      name: string;
      logDir: string;
      tp: { topic: string; partition: number };
      options: ScanOptions;
    }[] = [];
    // Topics whose creation or deletion was cut short: removed before anything opens them.
    const undone = new Map<string, string>();
    for (const logDir of this.config.logDirs) {
      for (const i of readIntents(logDir)) undone.set(i.topic, i.kind);
    }
    for (const logDir of this.config.logDirs) {
      // A dir just claimed (no meta.properties yet) is clean only when it holds no partitions:
      // partition data without the marker is checked like after a crash.
      const holdsPartitions = fs.readdirSync(logDir).some((n) => parsePartitionDirName(n) !== null);
      const clean = (created.has(logDir) && !holdsPartitions) || wasCleanShutdown(logDir);
      if (!clean) report.clean = false;
      const recoveryPoints = readCheckpoint(logDir, RECOVERY_POINT_CHECKPOINT);
      for (const name of fs.readdirSync(logDir)) {
        const dir = join(logDir, name);
        if (isDeletedDirName(name)) {
          removeInBackground(dir, this.report);
          continue;
        }
        const tp = parsePartitionDirName(name);
        let isDir = false;
        try {
          isDir = fs.statSync(dir).isDirectory();
        } catch {
          // vanished meanwhile
        }
        if (tp === null || !isDir) continue;
        const intent = undone.get(tp.topic);
        if (intent !== undefined) {
          const gone = deletedDirName(dir);
          fs.renameSync(dir, gone);
          removeInBackground(gone, this.report);
          continue;
        }
        const options = {
          clean,
          recoveryPoint: recoveryPoints.get(name) ?? 0,
          indexIntervalBytes: this.config.indexIntervalBytes,
        };
        toOpen.push({ dir, name, logDir, tp, options });
      }
    }
    this.recoveryProgress.total = toOpen.length;
    const progress = new RecoveryProgress(this.config.logDirs, this.info);
    const slotOf = (logDir: string) => this.config.logDirs.indexOf(logDir);
    progress.begin(toOpen.map((p) => ({ dir: p.dir, slot: slotOf(p.logDir) })));
    const chunk = Math.max(1, Math.ceil(toOpen.length / (pool.options.maxThreads * 4)));
    for (let i = 0; i < toOpen.length; i += chunk) {
      const part = toOpen.slice(i, i + chunk);
      const task: RecoveryTask = {
        op: "open",
        partitions: part.map((p) => ({ dir: p.dir, options: p.options, slot: slotOf(p.logDir) })),
        progress: progress.buffer,
      };
      jobs.push(
        (pool.run(task) as Promise<OpenResult>).then((r) => {
          threads.add(r.threadId);
          this.recoveryProgress.done += part.length;
          r.scans.forEach((scan, j) => {
            const p = part[j];
            progress.partitionDone(slotOf(p.logDir));
            if ("error" in scan) {
              // A directory that cannot be read is left where it is, reported, and skipped:
              // the rest of the broker starts.
              report.notes.push(`skipped ${p.dir}: ${scan.error}`);
              this.unopened.set(partitionDirName(p.tp.topic, p.tp.partition), scan.error);
              return;
            }
            const { metadata, ...rest } = scan;
            found.push({ ...p.tp, logDir: p.logDir, scan: rest, metadata });
            if (scan.truncate) report.truncated.push({ partition: p.name, ...scan.truncate });
          });
        }),
      );
    }
    try {
      await Promise.all(jobs);
    } catch (e) {
      progress.end(false);
      throw e;
    }
    progress.end(true);
    for (const [topic, kind] of undone) {
      report.notes.push(
        kind === "create"
          ? `topic ${topic}: its creation was interrupted; its partitions were removed`
          : `topic ${topic}: its deletion was interrupted; it is finished`,
      );
    }
    for (const logDir of this.config.logDirs) {
      for (const i of readIntents(logDir)) removeIntentSync(logDir, i);
    }
    found.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    // Refuses to start (LogDirError) on an unreadable or inconsistent id, before anything opens.
    const topicIds = await this.settleTopicIds(found, report);
    report.partitions = found.length;
    report.threadsUsed = threads.size;
    const logStarts = new Map<string, Map<string, number>>();
    const opening: Promise<PartitionEntry | null>[] = [];
    for (const f of found) {
      let starts = logStarts.get(f.logDir);
      if (!starts) logStarts.set(f.logDir, (starts = readCheckpoint(f.logDir, LOG_START_CHECKPOINT)));
      const first = f.scan.segments[0]?.baseOffset ?? 0;
      const start = Math.max(
        first,
        Math.min(starts.get(partitionDirName(f.topic, f.partition)) ?? first, f.scan.logEndOffset),
      );
      let t = this.topics.get(f.topic);
      if (t === undefined) {
        t = this.newTopicEntry(
          f.topic,
          readTopicConfig(join(f.logDir, partitionDirName(f.topic, f.partition))),
          topicIds.get(f.topic)!,
        );
        this.topics.set(f.topic, t);
      }
      if (this.reserved >= this.state.v.length) {
        report.notes.push(
          `skipped ${partitionDirName(f.topic, f.partition)}: more partitions than one broker holds`,
        );
        continue;
      }
      this.reserved++;
      const where = join(f.logDir, partitionDirName(f.topic, f.partition));
      opening.push(
        this.addPartition(t, f.partition, f.logDir, f.scan.segments, start, f.scan.logEndOffset).catch(
          (e) => {
            this.reserved--;
            report.notes.push(`skipped ${where}: ${(e as Error).message}`);
            this.unopened.set(partitionDirName(f.topic, f.partition), (e as Error).message);
            return null;
          },
        ),
      );
    }
    await Promise.all(opening);
    // A partition that could not be opened still counts in its topic (offline, not shrunk away).
    for (const name of this.unopened.keys()) {
      const tp = parsePartitionDirName(name);
      const t = tp === null ? undefined : this.topics.get(tp.topic);
      if (tp !== null && t !== undefined && t.partitions.length <= tp.partition)
        t.partitions.length = tp.partition + 1;
    }
    // Fill gaps (a partition dir lost by hand): a topic's partitions are 0..n-1.
    const filling: Promise<unknown>[] = [];
    for (const t of this.topics.values()) {
      for (let p = 0; p < t.partitions.length; p++) {
        if (t.partitions[p] !== undefined) continue;
        if (this.unopened.has(partitionDirName(t.name, p))) {
          report.notes.push(
            `${partitionDirName(t.name, p)} stays offline: it could not be opened, and is not made again over its data`,
          );
          continue;
        }
        if (this.reserved < this.state.v.length) {
          this.reserved++;
          filling.push(
            this.addNewPartition(t, p).catch((e) => {
              this.reserved--;
              report.notes.push(`could not recreate ${t.name}-${p}: ${(e as Error).message}`);
            }),
          );
        }
      }
    }
    await Promise.all(filling);
    // A topic none of whose partitions opened is not a topic.
    for (const [name, t] of this.topics)
      if (t.partitions.every((p) => p === undefined)) this.topics.delete(name);
    for (const t of this.topics.values()) this.byId.set(topicIdKey(t.topicId), t);
    // A checkpoint naming a partition that is gone (a deletion cut short, a dir removed by hand)
    // or holding another start than the one opened is written again: its stale entry would
    // otherwise hide records of a partition created later under that name, after a crash.
    for (const dir of this.config.logDirs) {
      if (!this.logStartsStale(dir)) continue;
      await this.persistLogStarts(dir).catch((e) =>
        report.notes.push(`could not rewrite ${join(dir, LOG_START_CHECKPOINT)}: ${(e as Error).message}`),
      );
    }
    for (const dir of this.config.logDirs) removeCleanShutdownMarker(dir);
    this.recovery = report;
    this.opened = true;
    return report;
  }

  /**
   * Each found topic's id from its partitions' partition.metadata (see the table at the top):
   * the id they agree on, written where it is missing, or a new one when none has it. Throws
   * LogDirError, naming every file and directory at fault, when a file is unreadable or the ids
   * disagree; nothing has been opened or written by then.
   */
  private async settleTopicIds(
    found: { topic: string; scan: PartitionScan; metadata: PartitionMetadataRead }[],
    report: RecoveryReport,
  ): Promise<Map<string, Buffer>> {
    const byTopic = new Map<string, { dir: string; metadata: PartitionMetadataRead }[]>();
    for (const f of found) {
      let list = byTopic.get(f.topic);
      if (list === undefined) byTopic.set(f.topic, (list = []));
      list.push({ dir: f.scan.dir, metadata: f.metadata });
    }
    const some = (dirs: string[]) =>
      dirs.length <= 5 ? dirs.join(", ") : `${dirs.slice(0, 5).join(", ")} and ${dirs.length - 5} more`;
    const problems: string[] = [];
    const ids = new Map<string, Buffer>();
    const owners = new Map<string, string[]>(); // id key -> topics holding it
    const toWrite: { topic: string; dirs: string[]; id: Buffer; fresh: boolean }[] = [];
    for (const [topic, parts] of byTopic) {
      const held = new Map<string, { id: Buffer; dirs: string[] }>();
      const missing: string[] = [];
      let bad = false;
      for (const { dir, metadata: m } of parts) {
        if (m.kind === "corrupt") {
          problems.push(`${join(dir, PARTITION_METADATA_FILE)}: ${m.problem}`);
          bad = true;
        } else if (m.kind === "missing") {
          missing.push(dir);
        } else {
          const id = Buffer.from(m.topicId);
          const key = topicIdKey(id);
          const h = held.get(key);
          if (h === undefined) held.set(key, { id, dirs: [dir] });
          else h.dirs.push(dir);
        }
      }
      if (held.size > 1) {
        const each = [...held.values()].map((h) => `${topicIdToString(h.id)} in ${some(h.dirs)}`);
        problems.push(`topic ${topic}: its partitions disagree on the topic id: ${each.join("; ")}`);
        bad = true;
      }
      if (bad) continue;
      const known = [...held.values()][0]?.id;
      const id = known ?? randomTopicId();
      ids.set(topic, id);
      const key = topicIdKey(id);
      owners.set(key, [...(owners.get(key) ?? []), topic]);
      if (missing.length > 0) toWrite.push({ topic, dirs: missing, id, fresh: known === undefined });
    }
    for (const [key, topics] of owners) {
      if (topics.length > 1) {
        const id = topicIdToString(Buffer.from(key, "hex"));
        problems.push(`topics ${topics.join(", ")} all hold the topic id ${id} (partition.metadata)`);
      }
    }
    if (problems.length > 0) {
      const listed = problems.slice(0, 20).map((p) => `\n  ${p}`);
      if (problems.length > 20) listed.push(`\n  and ${problems.length - 20} more`);
      throw new LogDirError(
        `unreadable or inconsistent topic ids (partition.metadata); no partition was opened. ` +
          `Kafka takes such a log dir offline. Fix or remove the files named (a partition without ` +
          `the file takes its topic's id), then start again:${listed.join("")}`,
      );
    }
    for (const w of toWrite) {
      const failed: string[] = [];
      for (let from = 0; from < w.dirs.length; from += CREATE_CHUNK) {
        const part = w.dirs.slice(from, from + CREATE_CHUNK);
        const done = await Promise.allSettled(part.map((d) => writePartitionMetadata(d, w.id)));
        done.forEach((d, i) => {
          if (d.status === "rejected") failed.push(`${part[i]} (${(d.reason as Error).message})`);
        });
      }
      const id = topicIdToString(w.id);
      const whose = w.fresh ? "a new topic id" : "the topic id of its other partitions,";
      report.notes.push(
        `topic ${w.topic}: ${w.dirs.length} partition(s) had no ${PARTITION_METADATA_FILE} ` +
          `(logs of an older Milena); gave them ${whose} ${id}`,
      );
      if (failed.length > 0)
        report.notes.push(
          `topic ${w.topic}: could not write ${PARTITION_METADATA_FILE} in ${some(failed)}; ` +
            `they open with topic id ${id}, and the file is written at a later start`,
        );
    }
    return ids;
  }

  /** Log dir for a new partition: the one holding the fewest partitions (ties: first listed). */
  placement(): string {
    let best = this.config.logDirs[0];
    for (const d of this.config.logDirs) if (this.perDir.get(d)! < this.perDir.get(best)!) best = d;
    return best;
  }

  private allocateSlot(): number {
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    if (slot >= this.state.v.length) throw new Error(`too many partitions (max ${this.state.v.length})`);
    return slot;
  }

  /**
   * A new, empty partition in the least-used log dir, with the topic's config file and its
   * partition.metadata (the topic's id).
   */
  private addNewPartition(t: TopicEntry, partition: number): Promise<PartitionEntry> {
    const name = partitionDirName(t.name, partition);
    const why = this.unopened.get(name);
    if (why !== undefined)
      return Promise.reject(
        new Error(
          `${name} is on disk but could not be opened at start (${why}): it is not made again over its data (move it away and restart)`,
        ),
      );
    return this.addPartition(t, partition, this.placement(), [], 0, 0, renderTopicConfig(t.overrides), true);
  }

  /**
   * A new partition's directory with its partition.metadata, durably, before its writer opens
   * it. A directory this made is removed again when the file cannot be written.
   */
  private async prepareNewPartitionDir(dir: string, topicId: Buffer): Promise<void> {
    const made = await fs.promises.mkdir(dir, { recursive: true });
    try {
      await writePartitionMetadata(dir, topicId);
    } catch (e) {
      if (made === dir) await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
  }

  /**
   * Register a partition (slot, reader, entry) at once, so placement counts it, then have its
   * writer open it (a new one, `fresh`, gets its directory and partition.metadata first). Many
   * partitions open concurrently.
   */
  private addPartition(
    t: TopicEntry,
    partition: number,
    logDir: string,
    segments: ScannedSegment[],
    logStartOffset: number,
    logEndOffset: number,
    topicConfig?: string | null,
    fresh = false,
  ): Promise<PartitionEntry> {
    const slot = this.allocateSlot();
    this.perDir.set(logDir, this.perDir.get(logDir)! + 1);
    const topic = t.name;
    const dir = join(logDir, partitionDirName(topic, partition));
    const reader = new PartitionReader(dir, slot, this.state, segments, t.logConfig.indexIntervalBytes);
    const entry: PartitionEntry = {
      topic,
      partition,
      slot,
      logDir,
      dir,
      reader,
      waiters: new Set(),
      messagesIn: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
    t.partitions[partition] = entry;
    this.bySlot[slot] = entry;
    const closed = segments.slice(0, -1).map((g) => ({
      baseOffset: g.baseOffset,
      bytes: g.bytes,
      maxTimestamp: g.index.maxTimestamp,
      mtimeMs: 0,
    }));
    const open = {
      slot,
      dir,
      config: t.logConfig,
      logStartOffset,
      logEndOffset,
      active: segments[segments.length - 1] ?? null,
      closed,
    };
    const ready = fresh ? this.prepareNewPartitionDir(dir, t.topicId) : Promise.resolve();
    return ready
      .then(() => this.writers.control(this.writers.writerOf(slot), { op: "open", open, topicConfig }))
      .then(
        () => {
          this.durableStarts.set(entry, logStartOffset);
          return entry;
        },
        (e) => {
          reader.close();
          this.bySlot[slot] = undefined;
          delete t.partitions[partition];
          this.freeSlots.push(slot);
          this.perDir.set(logDir, this.perDir.get(logDir)! - 1);
          throw e;
        },
      );
  }

  /**
   * Create a topic's partitions, each in the least-used log dir at the time. The topic joins
   * `topics` only once every partition is open (until then it is in `creating`), so a request
   * arriving meanwhile never sees a topic with missing partitions. Atomic across a crash: the
   * intent is written first (topic_intents.ts) and recovery removes a creation never finished;
   * a creation that fails removes what it made. Partitions open in chunks, so other requests
   * are answered meanwhile. PartitionLimitError when max.broker.partitions has no room.
   */
  createTopic(name: string, partitions: number, overrides = new Map<string, string>()): Promise<TopicEntry> {
    if (this.topics.has(name) || this.creating.has(name))
      return Promise.reject(new Error(`topic ${name} exists`));
    if (this.deleting.has(name)) return Promise.reject(new TopicDeletingError(name));
    try {
      this.reservePartitions(partitions);
    } catch (e) {
      return Promise.reject(e);
    }
    const created = this.openNewTopic(name, partitions, overrides).finally(() => this.creating.delete(name));
    this.creating.set(name, created);
    return created;
  }

  private async openNewTopic(
    name: string,
    partitions: number,
    overrides: Map<string, string>,
  ): Promise<TopicEntry> {
    const t = this.newTopicEntry(name, overrides, this.newTopicId());
    const dirs = this.config.logDirs;
    try {
      await writeIntent(dirs, "create", name);
    } catch (e) {
      this.unreserve(partitions);
      throw e;
    }
    try {
      for (let from = 0; from < partitions; from += CREATE_CHUNK) {
        const opening: Promise<PartitionEntry>[] = [];
        for (let p = from; p < Math.min(partitions, from + CREATE_CHUNK); p++)
          opening.push(this.addNewPartition(t, p));
        const done = await Promise.allSettled(opening);
        const failed = done.find((d) => d.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
      }
    } catch (e) {
      const opened = t.partitions.filter((p) => p !== undefined).length;
      await this.closeTopic(t, true);
      this.unreserve(partitions - opened);
      await clearIntent(dirs, "create", name).catch(() => {});
      throw e;
    }
    await clearIntent(dirs, "create", name);
    this.register(t);
    return t;
  }

  /**
   * A ZooKeeper cluster's replica: this broker holds `partition` of `topic` (the controller's
   * LeaderAndIsr says so). The topic joins `topics` with its cluster-wide id and only the
   * partitions this broker replicates (the others stay holes); a partition already here is
   * returned as it is. A topic here under another id is an older topic of the same name,
   * deleted while this broker was away: the caller removes it first (deleteTopic).
   */
  async ensureReplica(
    name: string,
    partition: number,
    topicId: Buffer,
    overrides: Map<string, string>,
  ): Promise<PartitionEntry> {
    const key = `${name}\u0000${partition}`;
    for (;;) {
      const pending = this.replicaCreations.get(key);
      if (pending !== undefined) {
        await pending.catch(() => {});
        continue;
      }
      const deleting = this.deleting.get(name);
      if (deleting !== undefined) {
        await deleting;
        continue;
      }
      let t = this.topics.get(name);
      const have = t?.partitions[partition];
      if (have !== undefined) return have;
      if (t === undefined) {
        t = this.newTopicEntry(name, overrides, topicId);
        this.register(t);
      }
      this.reservePartitions(1);
      const made = this.addNewPartition(t, partition).catch((e) => {
        this.unreserve(1);
        throw e;
      });
      this.replicaCreations.set(key, made);
      try {
        return await made;
      } finally {
        this.replicaCreations.delete(key);
      }
    }
  }

  /**
   * A cluster replica moved away (a reassignment removed this broker): close the partition and
   * remove its directory (renamed away at once, deleted in the background). The topic stays while
   * it has other partitions here.
   */
  async deleteReplica(name: string, partition: number): Promise<void> {
    const t = this.topics.get(name);
    const p = t?.partitions[partition];
    if (t === undefined || p === undefined) return;
    delete t.partitions[partition];
    await this.closePartition(p, true);
    await this.persistLogStarts(p.logDir).catch((e) =>
      this.report(`rewriting ${join(p.logDir, LOG_START_CHECKPOINT)} failed: ${(e as Error).message}`),
    );
    if (t.partitions.every((x) => x === undefined)) this.unregister(t);
  }

  /**
   * Grow a topic to `count` partitions (CreatePartitions; checked by the caller). The new ones
   * open one at a time in ascending order, so a crash halfway leaves the topic with a prefix of
   * them, a consistent smaller count. Grows of one topic run one after another.
   * PartitionLimitError when max.broker.partitions has no room.
   */
  addPartitions(name: string, count: number): Promise<void> {
    const grown = (this.growing.get(name) ?? Promise.resolve()).then(async () => {
      const t = this.topics.get(name);
      if (t === undefined) throw new Error(`topic ${name} does not exist`);
      const from = t.partitions.length;
      if (count <= from) return;
      this.reservePartitions(count - from);
      for (let p = from; p < count; p++) {
        try {
          await this.addNewPartition(t, p);
        } catch (e) {
          this.unreserve(count - p);
          throw e;
        }
      }
    });
    const settled = grown.catch(() => {});
    this.growing.set(name, settled);
    void settled.then(() => {
      if (this.growing.get(name) === settled) this.growing.delete(name);
    });
    return grown;
  }

  /**
   * Close every partition of a topic and remove its files: the intent first, then each
   * partition directory renamed away (atomic) and deleted in the background. `after` runs
   * before the name is free again (the broker drops the topic's committed offsets there), so
   * a topic created again under the same name never meets the old one's files or offsets.
   */
  deleteTopic(name: string, after: () => Promise<void> = async () => {}): Promise<void> {
    const t = this.topics.get(name);
    if (!t) return Promise.resolve();
    this.unregister(t);
    const deleted = (async () => {
      await writeIntent(this.config.logDirs, "delete", name);
      const dirs = new Set(t.partitions.filter((p) => p !== undefined).map((p) => p.logDir));
      await this.closeTopic(t, true);
      // The checkpoints lose the topic's entries before its name is free again: a topic created
      // under it later must not open at the deleted one's start after a crash.
      for (const dir of dirs) {
        await this.persistLogStarts(dir).catch((e) =>
          this.report(`rewriting ${join(dir, LOG_START_CHECKPOINT)} failed: ${(e as Error).message}`),
        );
      }
      await clearIntent(this.config.logDirs, "delete", name);
      await after();
    })().finally(() => this.deleting.delete(name));
    this.deleting.set(name, deleted);
    return deleted;
  }

  private async closeTopic(t: TopicEntry, remove: boolean): Promise<void> {
    const parts = t.partitions.filter((p): p is PartitionEntry => p !== undefined);
    for (let from = 0; from < parts.length; from += CREATE_CHUNK) {
      await Promise.all(parts.slice(from, from + CREATE_CHUNK).map((p) => this.closePartition(p, remove)));
    }
  }

  private async closePartition(p: PartitionEntry, remove: boolean): Promise<void> {
    p.reader.close();
    for (const w of p.waiters) w();
    p.waiters.clear();
    this.bySlot[p.slot] = undefined;
    this.durableStarts.delete(p);
    const deleteTo = remove ? deletedDirName(p.dir) : null;
    try {
      await this.writers.control(this.writers.writerOf(p.slot), { op: "close", slot: p.slot, deleteTo });
      if (deleteTo !== null) removeInBackground(deleteTo, this.report);
    } catch (e) {
      this.report(`closing ${p.dir} failed: ${(e as Error).message}`);
    }
    this.freeSlots.push(p.slot);
    this.perDir.set(p.logDir, this.perDir.get(p.logDir)! - 1);
    this.reserved--;
  }

  /**
   * Replace a topic's config overrides (already checked): handed to each partition's writer,
   * which stores them beside the partition and applies them from its next append.
   */
  async setTopicConfig(name: string, overrides: Map<string, string>): Promise<void> {
    const t = this.topics.get(name);
    if (t === undefined) throw new Error(`topic ${name} does not exist`);
    t.overrides = overrides;
    t.logConfig = partitionLogConfig(this.config, overrides);
    const topicConfig = renderTopicConfig(overrides);
    const parts = t.partitions.filter((p): p is PartitionEntry => p !== undefined);
    for (let from = 0; from < parts.length; from += CREATE_CHUNK) {
      await Promise.all(
        parts.slice(from, from + CREATE_CHUNK).map((p) =>
          this.writers.control(this.writers.writerOf(p.slot), {
            op: "configure",
            slot: p.slot,
            config: t.logConfig,
            topicConfig,
          }),
        ),
      );
    }
  }

  /** Decode a __consumer_offsets partition's records (in the recovery pool). */
  async replayOffsets(dir: string): Promise<OffsetsRecord[]> {
    const r = (await this.recoveryPool().run({ op: "replay-offsets", dir } satisfies RecoveryTask)) as {
      records: OffsetsRecord[];
    };
    return r.records.map(revive);
  }

  /** Decode a __transaction_state partition's records (in the recovery pool). */
  async replayTxns(dir: string): Promise<TxnLogRecord[]> {
    const r = (await this.recoveryPool().run({ op: "replay-txns", dir } satisfies RecoveryTask)) as {
      records: TxnLogRecord[];
    };
    return r.records;
  }

  partitionOf(topic: string, partition: number): PartitionEntry | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  isOffline(p: PartitionEntry): boolean {
    return this.state.get(p.slot, F_STATUS) === STATUS_OFFLINE;
  }

  logStartOffset(p: PartitionEntry): number {
    return this.state.get(p.slot, F_LOG_START_OFFSET);
  }

  /**
   * Make a partition's log start offset (moved by its writer: DeleteRecords) durable before it
   * is acknowledged: unless the log dir's log-start-offset checkpoint already holds at least
   * `offset` for it, the checkpoint is written again (fsynced, renamed, the dir fsynced). False
   * when the partition is no longer open (deleted meanwhile); throws when the write fails.
   */
  /**
   * A replica's log was cut back to `logEndOffset` (a follower truncating its divergent tail):
   * its recovery point in the dir's checkpoint must not stay above the cut, or a crash later
   * would trust re-appended bytes without checking them; after a full truncation the log start
   * (which may have moved back) is checkpointed again.
   */
  async afterTruncation(p: PartitionEntry, logEndOffset: number, full: boolean): Promise<void> {
    const points = readCheckpoint(p.logDir, RECOVERY_POINT_CHECKPOINT);
    const name = partitionDirName(p.topic, p.partition);
    const held = points.get(name);
    if (held !== undefined && held > logEndOffset) {
      points.set(name, logEndOffset);
      await writeOffsetCheckpoint(
        join(p.logDir, RECOVERY_POINT_CHECKPOINT),
        [...points].flatMap(([n, offset]) => {
          const tp = parsePartitionDirName(n);
          return tp === null ? [] : [{ topic: tp.topic, partition: tp.partition, offset }];
        }),
      );
    }
    if (full) await this.persistLogStarts(p.logDir);
  }

  async makeLogStartDurable(p: PartitionEntry, offset: number): Promise<boolean> {
    const held = this.durableStarts.get(p);
    if (held === undefined) return false;
    if (held >= offset) return true;
    await this.persistLogStarts(p.logDir);
    const now = this.durableStarts.get(p);
    if (now === undefined) return false;
    if (now < offset) throw new Error(`log start ${offset} of ${p.dir} was not checkpointed`);
    return true;
  }

  /**
   * Write a log dir's log-start-offset checkpoint from its open partitions' current log starts
   * (the state table). Writes of one dir run one at a time; a call while one runs shares the
   * next one (which reads the starts when it begins, so it holds every start moved before the
   * call).
   */
  persistLogStarts(logDir: string): Promise<void> {
    const w = this.startWrites.get(logDir) ?? { last: Promise.resolve(), queued: null };
    if (w.queued !== null) return w.queued;
    const write = w.last
      .catch(() => {})
      .then(() => {
        w.queued = null;
        return this.writeLogStarts(logDir);
      });
    w.queued = write;
    w.last = write;
    this.startWrites.set(logDir, w);
    void write
      .catch(() => {})
      .then(() => {
        if (w.last === write) this.startWrites.delete(logDir);
      });
    return write;
  }

  private async writeLogStarts(logDir: string): Promise<void> {
    const entries: { p: PartitionEntry; offset: number }[] = [];
    for (const p of this.durableStarts.keys())
      if (p.logDir === logDir) entries.push({ p, offset: this.logStartOffset(p) });
    entries.sort((a, b) =>
      a.p.topic === b.p.topic ? a.p.partition - b.p.partition : a.p.topic < b.p.topic ? -1 : 1,
    );
    await writeOffsetCheckpoint(
      join(logDir, LOG_START_CHECKPOINT),
      entries.map(({ p, offset }) => ({ topic: p.topic, partition: p.partition, offset })),
    );
    for (const { p, offset } of entries) {
      const held = this.durableStarts.get(p);
      if (held !== undefined && offset > held) this.durableStarts.set(p, offset);
    }
  }

  /** Whether a log dir's log-start checkpoint names a partition not open or another start. */
  private logStartsStale(logDir: string): boolean {
    const onDisk = readCheckpoint(logDir, LOG_START_CHECKPOINT);
    if (onDisk.size === 0) return false;
    const open = new Map<string, number>();
    for (const p of this.durableStarts.keys())
      if (p.logDir === logDir) open.set(partitionDirName(p.topic, p.partition), this.logStartOffset(p));
    for (const [name, offset] of onDisk) if (open.get(name) !== offset) return true;
    return false;
  }

  /**
   * Clean shutdown: writers have flushed and closed every segment; write each dir's
   * checkpoints, and its clean-shutdown marker unless a partition there went offline.
   */
  async close(): Promise<void> {
    if (!this.opened) {
      // open() failed (or never ran): what is on disk is as it was found, and stays so. Empty
      // checkpoints and a clean-shutdown marker written now would hide an unclean last stop.
      for (const e of this.bySlot) e?.reader.close();
      await this.pool?.destroy();
      this.pool = null;
      return;
    }
    // A log-start checkpoint being written (DeleteRecords) finishes before close-dir writes it.
    await Promise.allSettled([...this.startWrites.values()].map((w) => w.last));
    const pool = this.recoveryPool();
    const jobs = this.config.logDirs.map((dir) => {
      const entries = this.bySlot.filter((e): e is PartitionEntry => e !== undefined && e.logDir === dir);
      const task: RecoveryTask = {
        op: "close-dir",
        dir,
        recoveryPoints: entries.map((e) => ({
          topic: e.topic,
          partition: e.partition,
          offset: this.state.get(e.slot, F_FLUSHED_OFFSET),
        })),
        logStarts: entries.map((e) => ({
          topic: e.topic,
          partition: e.partition,
          offset: this.logStartOffset(e),
        })),
        clean: !entries.some((e) => this.isOffline(e)),
      };
      return pool.run(task);
    });
    await Promise.all(jobs);
    for (const e of this.bySlot) e?.reader.close();
    await pool.destroy();
    this.pool = null;
  }
}
