// The transaction coordinator (Kafka's TransactionCoordinator + TransactionStateManager +
// TransactionMarkerChannelManager): each transactional id's state (transaction_metadata.ts)
// kept in memory and in __transaction_state (transaction_log.ts records, compacted), the
// coordinator of an id being the leader of its partition (transactionPartitionFor).
//
//   InitProducerId     a producer id and epoch for the id (a bump fences the previous
//                      producer; an ongoing transaction is aborted first: the client retries on
//                      CONCURRENT_TRANSACTIONS)
//   AddPartitionsToTxn / AddOffsetsToTxn   Ongoing, with its partitions
//   EndTxn             PrepareCommit / PrepareAbort appended, answered; then a marker written to
//                      every partition of the transaction (the partitions' leaders: WriteTxnMarkers,
//                      or this broker's writers), then CompleteCommit / CompleteAbort appended
//   timeouts           an Ongoing transaction past its transaction.timeout.ms is aborted with the
//                      epoch bumped (the producer is fenced), every
//                      transaction.abort.timed.out.transaction.cleanup.interval.ms
//   expiry             an id idle for transactional.id.expiration.ms is tombstoned
//   load               a partition's ids replayed (broker start, or leadership in a cluster);
//                      every id found in PrepareCommit / PrepareAbort gets its markers and its
//                      completion written again (a restart in the middle of a transaction)
//
// Every state change is appended (acks=all) before it takes effect; a change being appended makes
// other requests for the id answer CONCURRENT_TRANSACTIONS (retriable).

import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  encodeTxnKey,
  encodeTxnValue,
  type TxnLogRecord,
  transactionPartitionFor,
} from "./transaction_log.ts";
import {
  beginTransition,
  cancelTransition,
  clientError,
  completeTransition,
  expired,
  fromLogValue,
  isEpochExhausted,
  parsePartitionKey,
  partitionKey,
  prepareAbortOnTimeout,
  prepareAddPartitions,
  prepareComplete,
  prepareDead,
  prepareEndTxn,
  prepareInitProducerId,
  type TransactionMetadata,
  TXN_STATE_NAMES,
  TxnState,
  type TxnTransit,
  toLogValue,
  txnStateFromName,
} from "./transaction_metadata.ts";

export interface TxnCoordinatorConfig {
  partitions: number;
  maxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  abortTimedOutIntervalMs: number;
  removeExpiredIntervalMs: number;
}

/** What the coordinator needs from the broker. */
export interface TxnCoordinatorDeps {
  /** Append one record (acks=all) to a __transaction_state partition; resolves to an error code. */
  append(partition: number, key: Buffer, value: Buffer | null): Promise<number>;
  /** NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for a __transaction_state partition. */
  coordinates(partition: number): number;
  /** The coordinator epoch of a partition (its leader epoch; 0 on a single broker). */
  coordinatorEpoch(partition: number): number;
  /** Write a marker to a partition (its leader); resolves to an error code. */
  writeMarker(
    topic: string,
    partition: number,
    m: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number },
  ): Promise<number>;
  /** A new producer id. */
  allocateProducerId(): Promise<number>;
  /** Whether a topic partition exists (AddPartitionsToTxn: UNKNOWN_TOPIC_OR_PARTITION). */
  partitionExists(topic: string, partition: number): boolean;
  log(line: string): void;
}

export interface InitProducerIdAnswer {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

/** How long AddPartitionsToTxn / EndTxn / InitProducerId wait for a completion being written. */
const CONCURRENT_WAIT_MS = 2000;

/** Marker errors after which a partition is left out (it is gone), rather than retried. */
const MARKER_GIVE_UP = new Set<number>([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID]);

export class TransactionCoordinator {
  private readonly txns = new Map<string, TransactionMetadata>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** Markers being written (for tests and shutdown). */
  private readonly completing = new Set<Promise<void>>();
  /** The completion being written for each transactional id (markers, then Complete*). */
  private readonly completions = new Map<string, Promise<void>>();

  /** Wait until the id's completion (if one runs) is written, for at most `ms`. */
  private async settled(transactionalId: string, ms: number): Promise<void> {
    const job = this.completions.get(transactionalId);
    if (job === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      job.catch(() => {}),
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  constructor(
    private readonly cfg: TxnCoordinatorConfig,
    private readonly deps: TxnCoordinatorDeps,
  ) {}

  start(): void {
    const t1 = setInterval(() => this.abortTimedOut(), this.cfg.abortTimedOutIntervalMs);
    const t2 = setInterval(() => void this.removeExpired(), this.cfg.removeExpiredIntervalMs);
    t1.unref();
    t2.unref();
    this.timers.push(t1, t2);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await Promise.allSettled([...this.completing]);
  }

  partitionFor(transactionalId: string): number {
    return transactionPartitionFor(transactionalId, this.cfg.partitions);
  }

  /** The records of a loaded __transaction_state partition; unfinished ends are finished. */
  load(partition: number, records: readonly TxnLogRecord[]): void {
    const found = new Map<string, TransactionMetadata | null>();
    for (const r of records)
      found.set(r.transactionalId, r.value === null ? null : fromLogValue(r.transactionalId, r.value));
    for (const [id, meta] of found) {
      if (this.partitionFor(id) !== partition) continue;
      if (meta === null) {
        this.txns.delete(id);
        continue;
      }
      this.txns.set(id, meta);
      if (meta.state === TxnState.PrepareCommit || meta.state === TxnState.PrepareAbort) {
        const t: TxnTransit = { ...meta, partitions: new Set(meta.partitions) };
        this.complete(meta, t);
      }
    }
  }

  /** A __transaction_state partition is no longer led here: its ids go. */
  unload(partition: number): void {
    for (const id of [...this.txns.keys()]) if (this.partitionFor(id) === partition) this.txns.delete(id);
  }

  /** NONE, or why this broker does not answer for the id now. */
  private coordinatorProblem(transactionalId: string): number {
    return this.deps.coordinates(this.partitionFor(transactionalId));
  }

  /** Append a transit's record; durable: completeTransition, else cancelTransition. Resolves to an error code. */
  private async persist(meta: TransactionMetadata, t: TxnTransit): Promise<number> {
    beginTransition(meta, t);
    const value = t.state === TxnState.Dead ? null : encodeTxnValue(toLogValue(t));
    let code: number;
    try {
      code = await this.deps.append(
        this.partitionFor(meta.transactionalId),
        encodeTxnKey(meta.transactionalId),
        value,
      );
    } catch (e) {
      this.deps.log(
        `transaction coordinator: appending ${meta.transactionalId} failed: ${(e as Error).message}`,
      );
      code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (code !== ErrorCode.NONE) {
      cancelTransition(meta);
      // Kafka's mapping of log append errors (TransactionStateManager.appendTransactionToLog).
      if (
        code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
        code === ErrorCode.KAFKA_STORAGE_ERROR ||
        code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      )
        return ErrorCode.NOT_COORDINATOR;
      if (
        code === ErrorCode.NOT_ENOUGH_REPLICAS ||
        code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND ||
        code === ErrorCode.REQUEST_TIMED_OUT
      )
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      return code === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.UNKNOWN_SERVER_ERROR : code;
    }
    if (t.state === TxnState.Dead) {
      cancelTransition(meta);
      if (this.txns.get(meta.transactionalId) === meta) this.txns.delete(meta.transactionalId);
    } else completeTransition(meta, t);
    return ErrorCode.NONE;
  }

  async initProducerId(
    req: { transactionalId: string; transactionTimeoutMs: number; producerId: number; producerEpoch: number },
    version: number,
  ): Promise<InitProducerIdAnswer> {
    const fail = (errorCode: number): InitProducerIdAnswer => ({
      errorCode: clientError(errorCode, "InitProducerId", version),
      producerId: -1,
      producerEpoch: -1,
    });
    const problem = this.coordinatorProblem(req.transactionalId);
    if (problem !== ErrorCode.NONE) return fail(problem);
    await this.settled(req.transactionalId, CONCURRENT_WAIT_MS);
    const existing = this.txns.get(req.transactionalId) ?? null;
    // A producer id is drawn only when one may be needed (a new id, or the epochs run out).
    const needsId = existing === null || isEpochExhausted(existing.producerEpoch);
    let drawn = -1;
    if (needsId) {
      try {
        drawn = await this.deps.allocateProducerId();
      } catch (e) {
        this.deps.log(`transaction coordinator: no producer id: ${(e as Error).message}`);
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
    }
    // The await above may have let another request in: decide on the state as it is now.
    const meta = this.txns.get(req.transactionalId) ?? null;
    const d = prepareInitProducerId(
      meta,
      req,
      () => {
        if (drawn < 0) throw new Error("no producer id drawn");
        return drawn;
      },
      Date.now(),
      this.cfg.maxTimeoutMs,
    );
    if (d.kind === "error") return fail(d.error);
    if (d.kind === "transit" && d.created) this.txns.set(req.transactionalId, d.meta);
    const code = await this.persist(d.meta, d.transit);
    if (code !== ErrorCode.NONE) return fail(code);
    if (d.kind === "fence") {
      // The ongoing transaction is aborted (its producer fenced); the client asks again.
      this.complete(d.meta, d.transit);
      return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    return { errorCode: ErrorCode.NONE, producerId: d.meta.producerId, producerEpoch: d.meta.producerEpoch };
  }

  /** AddPartitionsToTxn: one error code for every partition asked (Kafka answers them alike). */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: { topic: string; partition: number }[],
    version: number,
  ): Promise<number[]> {
    const all = (code: number) => partitions.map(() => code);
    const problem = this.coordinatorProblem(transactionalId);
    if (problem !== ErrorCode.NONE) return all(problem);
    const unknown = partitions.map((p) => !this.deps.partitionExists(p.topic, p.partition));
    if (unknown.some((u) => u))
      // Kafka: the unknown ones UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED.
      return unknown.map((u) =>
        u ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED,
      );
    const code = await this.add(
      transactionalId,
      producerId,
      producerEpoch,
      partitions.map((p) => partitionKey(p.topic, p.partition)),
    );
    return all(clientError(code, "AddPartitionsToTxn", version));
  }

  /** AddOffsetsToTxn: the group's __consumer_offsets partition joins the transaction. */
  async addOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    offsetsPartition: { topic: string; partition: number },
    version: number,
  ): Promise<number> {
    const problem = this.coordinatorProblem(transactionalId);
    if (problem !== ErrorCode.NONE) return problem;
    const code = await this.add(transactionalId, producerId, producerEpoch, [
      partitionKey(offsetsPartition.topic, offsetsPartition.partition),
    ]);
    return clientError(code, "AddOffsetsToTxn", version);
  }

  private async add(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    keys: string[],
  ): Promise<number> {
    // The previous transaction's markers still being written: wait for them (a little) rather
    // than answer CONCURRENT_TRANSACTIONS at once, which kafkajs retries only after ~300 ms.
    await this.settled(transactionalId, CONCURRENT_WAIT_MS);
    const meta = this.txns.get(transactionalId) ?? null;
    const d = prepareAddPartitions(meta, producerId, producerEpoch, keys, Date.now());
    if (d.kind === "error") return d.error;
    if (d.kind === "none") return ErrorCode.NONE;
    return this.persist(meta!, d.transit);
  }

  /** AddPartitionsToTxn v4+ verifyOnly (KIP-890): whether the partition is in the ongoing transaction. */
  verifyPartition(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): number {
    const problem = this.coordinatorProblem(transactionalId);
    if (problem !== ErrorCode.NONE) return problem;
    const meta = this.txns.get(transactionalId);
    if (meta === undefined || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return meta.state === TxnState.Ongoing && meta.partitions.has(partitionKey(topic, partition))
      ? ErrorCode.NONE
      : ErrorCode.INVALID_TXN_STATE;
  }

  /** Whether (producer id, epoch) holds the transaction of the id, Ongoing (TxnOffsetCommit). */
  ongoing(transactionalId: string, producerId: number, producerEpoch: number): number {
    const meta = this.txns.get(transactionalId);
    if (meta === undefined) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return ErrorCode.NONE;
  }

  async endTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
    version: number,
  ): Promise<number> {
    const problem = this.coordinatorProblem(transactionalId);
    if (problem !== ErrorCode.NONE) return problem;
    await this.settled(transactionalId, CONCURRENT_WAIT_MS);
    const meta = this.txns.get(transactionalId) ?? null;
    const d = prepareEndTxn(meta, producerId, producerEpoch, commit, Date.now());
    if (d.kind === "error") return clientError(d.error, "EndTxn", version);
    if (d.kind === "none") return ErrorCode.NONE;
    const code = await this.persist(meta!, d.transit);
    if (code !== ErrorCode.NONE) return code;
    this.complete(meta!, d.transit);
    return ErrorCode.NONE;
  }

  /**
   * Write the markers of a transit (PrepareCommit / PrepareAbort, durable) to every partition of
   * its transaction, retried until each partition has it (or is gone), then append the
   * completion (retried too). In the background; the client has its answer already.
   */
  private complete(meta: TransactionMetadata, t: TxnTransit): void {
    const commit = t.state === TxnState.PrepareCommit;
    const epoch = this.deps.coordinatorEpoch(this.partitionFor(meta.transactionalId));
    const job = (async () => {
      const left = new Set(t.partitions);
      for (let attempt = 0; left.size > 0 && !this.stopped; attempt++) {
        await Promise.all(
          [...left].map(async (key) => {
            const { topic, partition } = parsePartitionKey(key);
            const code = await this.deps
              .writeMarker(topic, partition, {
                producerId: t.producerId,
                producerEpoch: t.producerEpoch,
                commit,
                coordinatorEpoch: epoch,
              })
              .catch(() => ErrorCode.NETWORK_EXCEPTION);
            if (code === ErrorCode.NONE || MARKER_GIVE_UP.has(code)) left.delete(key);
            else if (attempt % 20 === 5)
              this.deps.log(
                `transaction coordinator: ${commit ? "COMMIT" : "ABORT"} marker of ${meta.transactionalId} to ${topic}-${partition} failed (error ${code}), retrying`,
              );
          }),
        );
        if (left.size > 0) await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
      for (let attempt = 0; !this.stopped; attempt++) {
        if (this.txns.get(meta.transactionalId) !== meta) return; // unloaded meanwhile
        const d = prepareComplete(meta, Date.now(), {
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
        });
        if (d.kind !== "transit") {
          if (d.kind === "error" && d.error === ErrorCode.CONCURRENT_TRANSACTIONS) {
            await sleep(50);
            continue;
          }
          return;
        }
        if ((await this.persist(meta, d.transit)) === ErrorCode.NONE) return;
        await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)));
      }
    })();
    this.completing.add(job);
    this.completions.set(meta.transactionalId, job);
    void job.finally(() => {
      if (this.completions.get(meta.transactionalId) === job) this.completions.delete(meta.transactionalId);
    });
    void job
      .catch((e) =>
        this.deps.log(
          `transaction coordinator: completing ${meta.transactionalId} failed: ${(e as Error).message}`,
        ),
      )
      .finally(() => this.completing.delete(job));
  }

  /** Abort the transactions past their timeout (the producer is fenced). */
  abortTimedOut(now = Date.now()): void {
    for (const meta of this.txns.values()) {
      if (this.coordinatorProblem(meta.transactionalId) !== ErrorCode.NONE) continue;
      const d = prepareAbortOnTimeout(meta, now);
      if (d === null) continue;
      this.deps.log(
        `transaction coordinator: aborting the transaction of ${meta.transactionalId} (producer id ${meta.producerId}): older than its timeout of ${meta.txnTimeoutMs} ms`,
      );
      void this.persist(meta, d.transit).then((code) => {
        if (code === ErrorCode.NONE) this.complete(meta, d.transit);
      });
    }
  }

  /** Tombstone the ids idle past transactional.id.expiration.ms. */
  private async removeExpired(now = Date.now()): Promise<void> {
    for (const meta of [...this.txns.values()]) {
      if (this.stopped) return;
      if (this.coordinatorProblem(meta.transactionalId) !== ErrorCode.NONE) continue;
      if (!expired(meta, now, this.cfg.transactionalIdExpirationMs)) continue;
      await this.persist(meta, prepareDead(meta));
    }
  }

  /** Wait for the markers being written (tests). */
  async idle(): Promise<void> {
    while (this.completing.size > 0) await Promise.allSettled([...this.completing]);
  }

  describe(transactionalId: string): {
    errorCode: number;
    state: string;
    timeoutMs: number;
    startTimeMs: number;
    producerId: number;
    producerEpoch: number;
    partitions: { topic: string; partition: number }[];
  } {
    const problem = this.coordinatorProblem(transactionalId);
    const meta = this.txns.get(transactionalId);
    if (problem !== ErrorCode.NONE || meta === undefined)
      return {
        errorCode: problem !== ErrorCode.NONE ? problem : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        state: "",
        timeoutMs: 0,
        startTimeMs: -1,
        producerId: -1,
        producerEpoch: -1,
        partitions: [],
      };
    return {
      errorCode: ErrorCode.NONE,
      state: TXN_STATE_NAMES[meta.state],
      timeoutMs: meta.txnTimeoutMs,
      startTimeMs: meta.txnStartTimestamp,
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      partitions: [...meta.partitions].map(parsePartitionKey),
    };
  }

  /** ListTransactions: the ids coordinated here, filtered (state names, producer ids, running for at least durationMs). */
  list(
    states: readonly string[],
    producerIds: readonly number[],
    durationMs: number,
  ): { unknownStates: string[]; txns: { transactionalId: string; producerId: number; state: string }[] } {
    const unknownStates = states.filter((s) => txnStateFromName(s) === null);
    const now = Date.now();
    const txns = [...this.txns.values()]
      .filter((m) => this.coordinatorProblem(m.transactionalId) === ErrorCode.NONE)
      .filter((m) => states.length === 0 || states.includes(TXN_STATE_NAMES[m.state]))
      .filter((m) => producerIds.length === 0 || producerIds.includes(m.producerId))
      .filter((m) => durationMs < 0 || (m.txnStartTimestamp >= 0 && now - m.txnStartTimestamp >= durationMs))
      .map((m) => ({
        transactionalId: m.transactionalId,
        producerId: m.producerId,
        state: TXN_STATE_NAMES[m.state],
      }));
    return { unknownStates, txns };
  }
}

const sleep = (ms: number) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    t.unref();
  });
