// A transactional id's state at its transaction coordinator, Kafka's TransactionMetadata state
// machine (core/.../coordinator/transaction/TransactionMetadata.scala) and the decisions of
// TransactionCoordinator.scala (handleInitProducerId, handleAddPartitionsToTransaction,
// handleEndTransaction, abortTimedOutTransactions) and TransactionStateManager.scala (timed-out
// transactions, expired ids), as pure logic: Kafka 3.x semantics, i.e. Kafka 4.0 with
// transaction.version < 2 (no epoch bump per transaction, KIP-890 part 2 left out).
//
// Every decision function looks at a metadata and a request and returns either a Kafka error
// code to answer, "none" (answer NONE, nothing to write), or a TxnTransit: the state to append
// to __transaction_state (transaction_log.ts, toLogValue). The coordinator then
//   beginTransition(meta, transit)      marks it pending (other requests meanwhile get
//                                       CONCURRENT_TRANSACTIONS, as Kafka's pendingState),
//   appends toLogValue(transit) to the id's __transaction_state partition (acks=all),
//   completeTransition(meta, transit)   once the append is durable, or
//   cancelTransition(meta)              when it failed (answer its error: NOT_COORDINATOR ...).
// Nothing changes before the append is durable.
//
// States (transaction_status byte ids) and the transitions Kafka allows (to <- from):
//   0 Empty              <- Empty, CompleteCommit, CompleteAbort        (InitProducerId)
//   1 Ongoing            <- Ongoing, Empty, CompleteCommit, CompleteAbort  (AddPartitions/Offsets)
//   2 PrepareCommit      <- Ongoing                                      (EndTxn commit)
//   3 PrepareAbort       <- Ongoing, PrepareEpochFence                   (EndTxn abort, fencing)
//   4 CompleteCommit     <- PrepareCommit                                (markers all written)
//   5 CompleteAbort      <- PrepareAbort
//   6 Dead               <- Empty, CompleteAbort, CompleteCommit         (expired: tombstone)
//   7 PrepareEpochFence  <- Ongoing   (a pending state only: Kafka never writes it; the fence is
//                                      written as PrepareAbort with the bumped epoch, as here)

import { ErrorCode } from "../../protocol/error_codes.ts";
import type { TxnLogTopicPartitions, TxnLogValue } from "./transaction_log.ts";

export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnStateId = (typeof TxnState)[keyof typeof TxnState];

/** Kafka's state names (DescribeTransactions, ListTransactions filters). */
export const TXN_STATE_NAMES: readonly string[] = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
  "Dead",
  "PrepareEpochFence",
];

const S = TxnState;
const VALID_PREVIOUS: Record<TxnStateId, readonly TxnStateId[]> = {
  [S.Empty]: [S.Empty, S.CompleteCommit, S.CompleteAbort],
  [S.Ongoing]: [S.Ongoing, S.Empty, S.CompleteCommit, S.CompleteAbort],
  [S.PrepareCommit]: [S.Ongoing],
  [S.PrepareAbort]: [S.Ongoing, S.PrepareEpochFence],
  [S.CompleteCommit]: [S.PrepareCommit],
  [S.CompleteAbort]: [S.PrepareAbort],
  [S.Dead]: [S.Empty, S.CompleteAbort, S.CompleteCommit],
  [S.PrepareEpochFence]: [S.Ongoing],
};

/** Whether Kafka allows `from` -> `to`. */
export function validTransition(from: TxnStateId, to: TxnStateId): boolean {
  return VALID_PREVIOUS[to].includes(from);
}

/** A transaction_status byte as a state; throws on an unknown id, as Kafka's fromId does. */
export function txnStateFromId(id: number): TxnStateId {
  if (!Number.isInteger(id) || id < 0 || id > 7) throw new RangeError(`unknown transaction state id ${id}`);
  return id as TxnStateId;
}

export function txnStateFromName(name: string): TxnStateId | null {
  const i = TXN_STATE_NAMES.indexOf(name);
  return i < 0 ? null : (i as TxnStateId);
}

/**
 * The transaction error codes of Errors.java. error_codes.ts has the first four; the others are
 * here until it has them (the wiring should add them there, and to isRetriable: 51
 * CONCURRENT_TRANSACTIONS is retriable for clients, the rest not).
 */
export const TxnErrorCode = {
  NONE: ErrorCode.NONE,
  UNKNOWN_SERVER_ERROR: ErrorCode.UNKNOWN_SERVER_ERROR,
  INVALID_REQUEST: ErrorCode.INVALID_REQUEST,
  INVALID_PRODUCER_EPOCH: ErrorCode.INVALID_PRODUCER_EPOCH,
  INVALID_TXN_STATE: ErrorCode.INVALID_TXN_STATE,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTION_COORDINATOR_FENCED: 52,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  OPERATION_NOT_ATTEMPTED: 55,
  PRODUCER_FENCED: 90,
  TRANSACTIONAL_ID_NOT_FOUND: 105,
} as const;

const TXN_ERROR_NAMES = new Map<number, string>(Object.entries(TxnErrorCode).map(([k, v]) => [v, k]));

export function txnErrorName(code: number): string {
  return TXN_ERROR_NAMES.get(code) ?? `UNKNOWN_ERROR_${code}`;
}

export type TxnApi = "InitProducerId" | "AddPartitionsToTxn" | "AddOffsetsToTxn" | "EndTxn";

/** The first version of each API whose clients understand PRODUCER_FENCED (KafkaApis). */
export const PRODUCER_FENCED_SINCE: Record<TxnApi, number> = {
  InitProducerId: 4,
  AddPartitionsToTxn: 2,
  AddOffsetsToTxn: 2,
  EndTxn: 2,
};

/**
 * The code to send a client of `api` at `version`: older clients do not know PRODUCER_FENCED
 * and get INVALID_PRODUCER_EPOCH instead, with the same handling (KafkaApis'
 * handleInitProducerIdRequest, handleEndTxnRequest, handleAddPartitionsToTxnRequest,
 * handleAddOffsetsToTxnRequest).
 */
export function clientError(error: number, api: TxnApi, version: number): number {
  return error === TxnErrorCode.PRODUCER_FENCED && version < PRODUCER_FENCED_SINCE[api]
    ? TxnErrorCode.INVALID_PRODUCER_EPOCH
    : error;
}

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
/** Short.MaxValue. */
export const MAX_PRODUCER_EPOCH = 32767;

/**
 * Kafka's TransactionMetadata.isEpochExhausted: epoch >= Short.MaxValue - 1. A client is never
 * given 32767, so the coordinator can always fence it once more.
 */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_PRODUCER_EPOCH - 1;
}

/** A transaction's partition: "topic\u0000partition" (a topic name has no NUL). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function parsePartitionKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf("\u0000");
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export interface TransactionMetadata {
  readonly transactionalId: string;
  producerId: number;
  /** The producer id before the last rotation (-1 after a load: version 0 does not store it). */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch before the last bump (KIP-360 retries); -1 after a fence or a load. */
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TxnStateId;
  /** partitionKey()s of the ongoing or completing transaction. */
  partitions: Set<string>;
  /** When the first partition was added; -1 when no transaction ran since InitProducerId. */
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  /** The state being appended (beginTransition), null when none. */
  pendingState: TxnStateId | null;
}

/** The target of a transition: what is appended, and what the metadata becomes once durable. */
export interface TxnTransit {
  producerId: number;
  lastProducerId: number;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TxnStateId;
  partitions: ReadonlySet<string>;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
}

export interface TxnError {
  kind: "error";
  error: number;
  message: string;
}

/** AddPartitions, EndTxn, completion, timeout: answer an error, answer NONE, or append. */
export type TxnDecision = TxnError | { kind: "none" } | { kind: "transit"; transit: TxnTransit };

/**
 * InitProducerId:
 *   "transit"  append; once durable answer transit.producerId / transit.producerEpoch. `created`:
 *              meta is new (no state for the id yet): put it in the cache before the append
 *              (Kafka's putTransactionStateIfNotExists), and keep it there if the append fails.
 *   "fence"    the id has a transaction ongoing: it must be aborted first. Append the transit
 *              (PrepareAbort, the epoch bumped: the old producer is fenced); once durable answer
 *              CONCURRENT_TRANSACTIONS (on failure, the append's error); then write ABORT
 *              markers with transit.producerEpoch to every partition of transit.partitions and
 *              append prepareComplete (CompleteAbort). The client retries InitProducerId
 *              (retriable) and, once CompleteAbort, gets the epoch bumped once more, or a new
 *              producer id when that exhausts the epochs.
 */
export type InitDecision =
  | TxnError
  | { kind: "transit"; meta: TransactionMetadata; created: boolean; transit: TxnTransit }
  | { kind: "fence"; meta: TransactionMetadata; transit: TxnTransit };

const err = (error: number, message: string): TxnError => ({ kind: "error", error, message });

/** A new id's metadata (Kafka's, before its first InitProducerId is appended). */
export function newTransactionMetadata(
  transactionalId: string,
  producerId: number,
  txnTimeoutMs: number,
  now: number,
): TransactionMetadata {
  return {
    transactionalId,
    producerId,
    lastProducerId: NO_PRODUCER_ID,
    producerEpoch: NO_PRODUCER_EPOCH,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    txnTimeoutMs,
    state: TxnState.Empty,
    partitions: new Set(),
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: now,
    pendingState: null,
  };
}

/** Kafka's prepareTransitionTo: lastProducerId always becomes the current producer id. */
function transit(
  meta: TransactionMetadata,
  fields: Partial<TxnTransit> & Pick<TxnTransit, "state" | "txnLastUpdateTimestamp">,
): TxnTransit {
  return {
    producerId: meta.producerId,
    lastProducerId: meta.producerId,
    producerEpoch: meta.producerEpoch,
    lastProducerEpoch: meta.lastProducerEpoch,
    txnTimeoutMs: meta.txnTimeoutMs,
    partitions: new Set(meta.partitions), // a copy: the coordinator may shrink meta's as markers land
    txnStartTimestamp: meta.txnStartTimestamp,
    ...fields,
  };
}

function illegal(meta: TransactionMetadata): never {
  // Kafka: fatal + IllegalStateException ("we should never have transitioned to this state").
  throw new Error(`transactional id ${meta.transactionalId} is in state ${TXN_STATE_NAMES[meta.state]}`);
}

export interface InitProducerIdInput {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** KIP-360 (InitProducerId v3+): the producer's current id and epoch; -1 and -1 when absent. */
  producerId: number;
  producerEpoch: number;
}

/**
 * InitProducerId of a transactional id (a null transactional id is not for this: Kafka just
 * allocates an id, epoch 0, no state). TransactionCoordinator.handleInitProducerId and
 * prepareInitProducerIdTransit; the -1 / -1 pairing rule is KafkaApis'. `allocateId` is called
 * only when a producer id is needed (a new id, or the epochs exhausted).
 */
export function prepareInitProducerId(
  meta: TransactionMetadata | null,
  req: InitProducerIdInput,
  allocateId: () => number,
  now: number,
  maxTimeoutMs: number,
): InitDecision {
  if (req.transactionalId === "") return err(TxnErrorCode.INVALID_REQUEST, "empty transactional id");
  const hasId = req.producerId !== NO_PRODUCER_ID;
  if (hasId !== (req.producerEpoch !== NO_PRODUCER_EPOCH)) {
    return err(
      TxnErrorCode.INVALID_REQUEST,
      `producer id ${req.producerId} with epoch ${req.producerEpoch}: both or neither must be -1`,
    );
  }
  // TransactionStateManager.validateTransactionTimeoutMs
  if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > maxTimeoutMs) {
    return err(
      TxnErrorCode.INVALID_TRANSACTION_TIMEOUT,
      `transaction timeout ${req.transactionTimeoutMs} ms is not in (0, transaction.max.timeout.ms ${maxTimeoutMs}]`,
    );
  }
  let created = false;
  if (meta === null) {
    meta = newTransactionMetadata(req.transactionalId, allocateId(), req.transactionTimeoutMs, now);
    created = true;
  }
  if (meta.pendingState !== null)
    return err(
      TxnErrorCode.CONCURRENT_TRANSACTIONS,
      "a state change of this transactional id is being written",
    );
  const expected = hasId ? { producerId: req.producerId, epoch: req.producerEpoch } : null;
  // isValidProducerId: a metadata just created (epoch -1), the current id (the epoch is checked
  // below), or the previous id with an exhausted epoch (a retry after a rotation).
  if (
    expected !== null &&
    !(
      meta.producerEpoch === NO_PRODUCER_EPOCH ||
      expected.producerId === meta.producerId ||
      (expected.producerId === meta.lastProducerId && isEpochExhausted(expected.epoch))
    )
  ) {
    return err(
      TxnErrorCode.PRODUCER_FENCED,
      `producer id ${expected.producerId} is not the id ${meta.producerId} of ${meta.transactionalId}`,
    );
  }
  switch (meta.state) {
    case S.PrepareAbort:
    case S.PrepareCommit:
      return err(TxnErrorCode.CONCURRENT_TRANSACTIONS, "the previous transaction is completing");
    case S.Empty:
    case S.CompleteAbort:
    case S.CompleteCommit: {
      if (
        isEpochExhausted(meta.producerEpoch) &&
        (expected === null || expected.epoch === meta.producerEpoch)
      ) {
        // prepareProducerIdRotation
        return {
          kind: "transit",
          meta,
          created,
          transit: transit(meta, {
            producerId: allocateId(),
            producerEpoch: 0,
            lastProducerEpoch: expected !== null ? meta.producerEpoch : NO_PRODUCER_EPOCH,
            txnTimeoutMs: req.transactionTimeoutMs,
            state: S.Empty,
            partitions: new Set(),
            txnStartTimestamp: -1,
            txnLastUpdateTimestamp: now,
          }),
        };
      }
      // prepareIncrementProducerEpoch
      let epoch: number;
      let lastEpoch: number;
      if (expected === null) {
        epoch = meta.producerEpoch + 1; // a new id: -1 -> 0
        lastEpoch = NO_PRODUCER_EPOCH;
      } else if (meta.producerEpoch === NO_PRODUCER_EPOCH || expected.epoch === meta.producerEpoch) {
        epoch = meta.producerEpoch + 1;
        lastEpoch = meta.producerEpoch;
      } else if (expected.epoch === meta.lastProducerEpoch) {
        // A retry of a bump whose answer was lost: the same epoch again, no bump.
        epoch = meta.producerEpoch;
        lastEpoch = meta.lastProducerEpoch;
      } else {
        return err(
          TxnErrorCode.PRODUCER_FENCED,
          `epoch ${expected.epoch} is neither the current ${meta.producerEpoch} nor the previous ${meta.lastProducerEpoch}`,
        );
      }
      return {
        kind: "transit",
        meta,
        created,
        transit: transit(meta, {
          producerEpoch: epoch,
          lastProducerEpoch: lastEpoch,
          txnTimeoutMs: req.transactionTimeoutMs,
          state: S.Empty,
          partitions: new Set(),
          txnStartTimestamp: -1,
          txnLastUpdateTimestamp: now,
        }),
      };
    }
    case S.Ongoing:
      // Kafka: prepareFenceProducerEpoch, then endTransaction(ABORT, bumped epoch, not from the
      // client). The bumped epoch is never answered: the client's retry bumps it again.
      return { kind: "fence", meta, transit: fenceTransit(meta, now) };
    default:
      return illegal(meta);
  }
}

/**
 * The abort that fences an ongoing transaction's producer (InitProducerId of a new instance, or
 * the transaction timing out): PrepareAbort with the epoch bumped and the last epoch forgotten
 * (Kafka's prepareFenceProducerEpoch followed by endTransaction's PrepareEpochFence branch).
 */
function fenceTransit(meta: TransactionMetadata, now: number): TxnTransit {
  // Kafka throws here too; an Ongoing transaction's epoch is at most 32766 (isEpochExhausted).
  if (meta.producerEpoch >= MAX_PRODUCER_EPOCH)
    throw new Error(`cannot fence producer ${meta.producerId} at epoch ${meta.producerEpoch}`);
  return transit(meta, {
    producerEpoch: meta.producerEpoch + 1,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    state: S.PrepareAbort,
    txnLastUpdateTimestamp: now,
  });
}

/**
 * AddPartitionsToTxn (and AddOffsetsToTxn, which adds the group's __consumer_offsets
 * partition): TransactionCoordinator.handleAddPartitionsToTransaction. PRODUCER_FENCED goes
 * through clientError for older clients.
 */
export function prepareAddPartitions(
  meta: TransactionMetadata | null,
  producerId: number,
  producerEpoch: number,
  partitions: Iterable<string>,
  now: number,
): TxnDecision {
  if (meta === null)
    return err(TxnErrorCode.INVALID_PRODUCER_ID_MAPPING, "no state for this transactional id");
  if (meta.producerId !== producerId)
    return err(
      TxnErrorCode.INVALID_PRODUCER_ID_MAPPING,
      `producer id ${producerId} is not ${meta.producerId}`,
    );
  if (meta.producerEpoch !== producerEpoch)
    return err(
      TxnErrorCode.PRODUCER_FENCED,
      `epoch ${producerEpoch} is not the current ${meta.producerEpoch}`,
    );
  if (meta.pendingState !== null)
    return err(
      TxnErrorCode.CONCURRENT_TRANSACTIONS,
      "a state change of this transactional id is being written",
    );
  if (meta.state === S.PrepareCommit || meta.state === S.PrepareAbort)
    return err(TxnErrorCode.CONCURRENT_TRANSACTIONS, "the previous transaction is completing");
  if (meta.state === S.Dead || meta.state === S.PrepareEpochFence) return illegal(meta);
  const added = [...partitions];
  if (meta.state === S.Ongoing && added.every((p) => meta.partitions.has(p))) return { kind: "none" };
  const starting = meta.state !== S.Ongoing; // Empty, CompleteCommit, CompleteAbort
  return {
    kind: "transit",
    transit: transit(meta, {
      state: S.Ongoing,
      partitions: new Set([...meta.partitions, ...added]),
      txnStartTimestamp: starting ? now : meta.txnStartTimestamp,
      txnLastUpdateTimestamp: now,
    }),
  };
}

/**
 * EndTxn from the client (TransactionCoordinator.endTransaction, isFromClient): Ongoing ->
 * PrepareCommit / PrepareAbort. Once that is durable, answer NONE and write the markers
 * (transit.producerEpoch, COMMIT or ABORT) to every partition, then prepareComplete. A retry
 * after completion with the same result answers NONE; while the markers are still being
 * written, CONCURRENT_TRANSACTIONS (the client retries until NONE); the other result, or an end
 * with no transaction (Empty), INVALID_TXN_STATE.
 */
export function prepareEndTxn(
  meta: TransactionMetadata | null,
  producerId: number,
  producerEpoch: number,
  commit: boolean,
  now: number,
): TxnDecision {
  if (meta === null)
    return err(TxnErrorCode.INVALID_PRODUCER_ID_MAPPING, "no state for this transactional id");
  if (meta.producerId !== producerId)
    return err(
      TxnErrorCode.INVALID_PRODUCER_ID_MAPPING,
      `producer id ${producerId} is not ${meta.producerId}`,
    );
  if (meta.producerEpoch !== producerEpoch)
    return err(
      TxnErrorCode.PRODUCER_FENCED,
      `epoch ${producerEpoch} is not the current ${meta.producerEpoch}`,
    );
  if (meta.pendingState !== null)
    return err(
      TxnErrorCode.CONCURRENT_TRANSACTIONS,
      "a state change of this transactional id is being written",
    );
  const result = commit ? "commit" : "abort";
  const invalid = (): TxnError =>
    err(TxnErrorCode.INVALID_TXN_STATE, `cannot ${result} in state ${TXN_STATE_NAMES[meta.state]}`);
  switch (meta.state) {
    case S.Ongoing:
      return {
        kind: "transit",
        transit: transit(meta, {
          state: commit ? S.PrepareCommit : S.PrepareAbort,
          txnLastUpdateTimestamp: now,
        }),
      };
    case S.CompleteCommit:
      return commit ? { kind: "none" } : invalid();
    case S.CompleteAbort:
      return commit ? invalid() : { kind: "none" };
    case S.PrepareCommit:
      return commit ? err(TxnErrorCode.CONCURRENT_TRANSACTIONS, "the commit is being completed") : invalid();
    case S.PrepareAbort:
      return commit ? invalid() : err(TxnErrorCode.CONCURRENT_TRANSACTIONS, "the abort is being completed");
    case S.Empty:
      return invalid();
    default:
      return illegal(meta);
  }
}

/**
 * Every partition has its marker: PrepareCommit -> CompleteCommit, PrepareAbort -> CompleteAbort,
 * the partitions cleared (TransactionMetadata.prepareComplete, appended by the marker channel
 * manager). `expected`: the producer id and epoch the markers were written with; an error when
 * the metadata moved on meanwhile (TransactionCoordinator's checks before sending markers).
 */
export function prepareComplete(
  meta: TransactionMetadata,
  now: number,
  expected?: { producerId: number; producerEpoch: number },
): TxnDecision {
  if (expected !== undefined && expected.producerId !== meta.producerId)
    return err(
      TxnErrorCode.INVALID_PRODUCER_ID_MAPPING,
      `producer id ${expected.producerId} is not ${meta.producerId}`,
    );
  if (expected !== undefined && expected.producerEpoch !== meta.producerEpoch)
    return err(TxnErrorCode.PRODUCER_FENCED, `epoch ${expected.producerEpoch} is not ${meta.producerEpoch}`);
  if (meta.pendingState !== null)
    return err(
      TxnErrorCode.CONCURRENT_TRANSACTIONS,
      "a state change of this transactional id is being written",
    );
  if (meta.state !== S.PrepareCommit && meta.state !== S.PrepareAbort)
    return err(TxnErrorCode.INVALID_TXN_STATE, `nothing to complete in state ${TXN_STATE_NAMES[meta.state]}`);
  return {
    kind: "transit",
    transit: transit(meta, {
      state: meta.state === S.PrepareCommit ? S.CompleteCommit : S.CompleteAbort,
      partitions: new Set(),
      txnLastUpdateTimestamp: now,
    }),
  };
}

/** Ongoing longer than its timeout, and nothing pending (TransactionStateManager.timedOutTransactions). */
export function timedOut(meta: TransactionMetadata, now: number): boolean {
  return (
    meta.pendingState === null && meta.state === S.Ongoing && meta.txnStartTimestamp + meta.txnTimeoutMs < now
  );
}

/**
 * The coordinator's abort of a timed-out transaction (abortTimedOutTransactions, every
 * transaction.abort.timed.out.transaction.cleanup.interval.ms): PrepareAbort with the epoch
 * bumped, which fences the producer (its next EndTxn / AddPartitions gets PRODUCER_FENCED, its
 * produce INVALID_PRODUCER_EPOCH). Then as an abort: markers with transit.producerEpoch,
 * prepareComplete. null when the transaction has not timed out (or a change is pending).
 */
export function prepareAbortOnTimeout(
  meta: TransactionMetadata,
  now: number,
): { kind: "transit"; transit: TxnTransit } | null {
  if (!timedOut(meta, now)) return null;
  return { kind: "transit", transit: fenceTransit(meta, now) };
}

/**
 * Whether the id may be forgotten (TransactionStateManager.shouldExpire): no transaction running
 * or completing, nothing pending, no change for transactional.id.expiration.ms (default 7 days).
 * The coordinator then begins prepareDead's transit, appends a tombstone (null value) for the
 * id, and once durable drops the metadata from its cache (cancelTransition on failure).
 */
export function expired(
  meta: TransactionMetadata,
  now: number,
  transactionalIdExpirationMs: number,
): boolean {
  return (
    meta.pendingState === null &&
    (meta.state === S.Empty || meta.state === S.CompleteCommit || meta.state === S.CompleteAbort) &&
    meta.txnLastUpdateTimestamp <= now - transactionalIdExpirationMs
  );
}

/** The expiration's transition (Kafka's prepareDead); its record is a tombstone, not toLogValue. */
export function prepareDead(meta: TransactionMetadata): TxnTransit {
  return transit(meta, {
    state: S.Dead,
    partitions: new Set(),
    txnLastUpdateTimestamp: meta.txnLastUpdateTimestamp,
  });
}

/** The append of `t` starts: the id is pending until completeTransition or cancelTransition. */
export function beginTransition(meta: TransactionMetadata, t: TxnTransit): void {
  if (meta.pendingState !== null)
    throw new Error(`${meta.transactionalId}: ${TXN_STATE_NAMES[meta.pendingState]} is already pending`);
  // The fence is Ongoing -> PrepareAbort (through PrepareEpochFence, never written).
  if (!validTransition(meta.state, t.state))
    throw new Error(`${meta.transactionalId}: ${TXN_STATE_NAMES[meta.state]} -> ${TXN_STATE_NAMES[t.state]}`);
  meta.pendingState = t.state;
}

/** The append of `t` is durable: the metadata becomes it (Kafka's completeTransitionTo). */
export function completeTransition(meta: TransactionMetadata, t: TxnTransit): void {
  if (meta.pendingState !== t.state)
    throw new Error(`${meta.transactionalId}: completing ${TXN_STATE_NAMES[t.state]}, which is not pending`);
  if (t.state === S.Dead)
    throw new Error(`${meta.transactionalId}: an expired id is removed from the cache, not completed`);
  meta.producerId = t.producerId;
  meta.lastProducerId = t.lastProducerId;
  meta.producerEpoch = t.producerEpoch;
  meta.lastProducerEpoch = t.lastProducerEpoch;
  meta.txnTimeoutMs = t.txnTimeoutMs;
  meta.partitions = new Set(t.partitions);
  meta.txnStartTimestamp = t.txnStartTimestamp;
  meta.txnLastUpdateTimestamp = t.txnLastUpdateTimestamp;
  meta.state = t.state;
  meta.pendingState = null;
}

/** The append failed: nothing changes, other requests may go on. */
export function cancelTransition(meta: TransactionMetadata): void {
  meta.pendingState = null;
}

/** The partitions as __transaction_state groups them: one element per topic, in first-seen order. */
export function groupPartitions(partitions: Iterable<string>): TxnLogTopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const key of partitions) {
    const { topic, partition } = parsePartitionKey(key);
    let ids = byTopic.get(topic);
    if (ids === undefined) byTopic.set(topic, (ids = []));
    ids.push(partition);
  }
  return [...byTopic].map(([topic, partitionIds]) => ({ topic, partitionIds }));
}

/** The record value of a transit (TransactionLog.valueToBytes: partitions null in state Empty). */
export function toLogValue(t: TxnTransit): TxnLogValue {
  if (t.state === S.Empty && t.partitions.size > 0) throw new Error("state Empty with partitions");
  return {
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    transactionTimeoutMs: t.txnTimeoutMs,
    status: t.state,
    partitions: t.state === S.Empty ? null : groupPartitions(t.partitions),
    lastUpdateTimestampMs: t.txnLastUpdateTimestamp,
    startTimestampMs: t.txnStartTimestamp,
    previousProducerId: NO_PRODUCER_ID,
    nextProducerId: NO_PRODUCER_ID,
    clientTransactionVersion: 0,
  };
}

/**
 * The metadata a loaded record describes (TransactionLog.readTxnRecordValue): the last epoch is
 * not stored (-1), partitions are ignored in state Empty. After loading a partition, the
 * coordinator resends the markers of every id in PrepareCommit / PrepareAbort and completes it
 * (Kafka's loadTransactionsForTxnTopicPartition).
 */
export function fromLogValue(transactionalId: string, v: TxnLogValue): TransactionMetadata {
  const state = txnStateFromId(v.status);
  const partitions = new Set<string>();
  if (state !== S.Empty)
    for (const p of v.partitions ?? [])
      for (const id of p.partitionIds) partitions.add(partitionKey(p.topic, id));
  return {
    transactionalId,
    producerId: v.producerId,
    lastProducerId: v.previousProducerId,
    producerEpoch: v.producerEpoch,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    txnTimeoutMs: v.transactionTimeoutMs,
    state,
    partitions,
    txnStartTimestamp: v.startTimestampMs,
    txnLastUpdateTimestamp: v.lastUpdateTimestampMs,
    pendingState: null,
  };
}
