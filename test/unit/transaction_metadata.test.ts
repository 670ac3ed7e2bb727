// The transaction coordinator's state machine (src/broker/txn/transaction_metadata.ts), against
// Kafka's TransactionMetadata / TransactionCoordinator: the transition table, every outcome of
// InitProducerId (new id, epoch bump, rotation at exhaustion, KIP-360 retries and fencing, the
// fence of an ongoing transaction), AddPartitions, EndTxn (and its retries), completion, the
// timeout abort, expiration, the pending-state protocol, the version mapping of PRODUCER_FENCED,
// and the conversion to and from __transaction_state values.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeTxnValue, encodeTxnValue } from "../../src/broker/txn/transaction_log.ts";
import {
  beginTransition,
  cancelTransition,
  clientError,
  completeTransition,
  expired,
  fromLogValue,
  type InitDecision,
  type InitProducerIdInput,
  isEpochExhausted,
  newTransactionMetadata,
  partitionKey,
  prepareAbortOnTimeout,
  prepareAddPartitions,
  prepareComplete,
  prepareDead,
  prepareEndTxn,
  prepareInitProducerId,
  type TransactionMetadata,
  TXN_STATE_NAMES,
  type TxnDecision,
  TxnErrorCode,
  TxnState,
  type TxnStateId,
  type TxnTransit,
  toLogValue,
  txnErrorName,
  txnStateFromId,
  txnStateFromName,
  validTransition,
} from "../../src/broker/txn/transaction_metadata.ts";

const NOW = 1_000_000;
const MAX_TIMEOUT = 900_000;
const S = TxnState;
const P = (topic: string, partition: number): string => partitionKey(topic, partition);

function meta(fields: Partial<TransactionMetadata> = {}): TransactionMetadata {
  return {
    ...newTransactionMetadata("tx", 100, 60_000, NOW - 10),
    producerEpoch: 0,
    ...fields,
  };
}

/** The error name of a decision, "none", or "transit:<state>". */
function outcome(d: TxnDecision | InitDecision): string {
  if (d.kind === "error") return txnErrorName(d.error);
  if (d.kind === "none") return "none";
  return `${d.kind}:${TXN_STATE_NAMES[d.transit.state]}`;
}

function transitOf(d: TxnDecision | InitDecision): TxnTransit {
  assert.ok(d.kind === "transit" || d.kind === "fence", `expected a transit, got ${outcome(d)}`);
  return d.transit;
}

/** begin + complete: the append was durable. */
function apply(m: TransactionMetadata, t: TxnTransit): TransactionMetadata {
  beginTransition(m, t);
  completeTransition(m, t);
  return m;
}

const init = (over: Partial<InitProducerIdInput> = {}): InitProducerIdInput => ({
  transactionalId: "tx",
  transactionTimeoutMs: 30_000,
  producerId: -1,
  producerEpoch: -1,
  ...over,
});

function ids(start: number): { next: () => number; calls: number } {
  const a = {
    calls: 0,
    next: () => {
      a.calls++;
      return start + a.calls - 1;
    },
  };
  return a;
}

describe("states", () => {
  it("have Kafka's ids and names", () => {
    assert.deepEqual(
      Object.entries(S).map(([k, v]) => [k, v, TXN_STATE_NAMES[v]]),
      [
        ["Empty", 0, "Empty"],
        ["Ongoing", 1, "Ongoing"],
        ["PrepareCommit", 2, "PrepareCommit"],
        ["PrepareAbort", 3, "PrepareAbort"],
        ["CompleteCommit", 4, "CompleteCommit"],
        ["CompleteAbort", 5, "CompleteAbort"],
        ["Dead", 6, "Dead"],
        ["PrepareEpochFence", 7, "PrepareEpochFence"],
      ],
    );
    assert.equal(txnStateFromId(3), S.PrepareAbort);
    assert.throws(() => txnStateFromId(8), RangeError);
    assert.equal(txnStateFromName("CompleteAbort"), S.CompleteAbort);
    assert.equal(txnStateFromName("Bogus"), null);
  });

  it("allow exactly Kafka's transitions (validPreviousStates)", () => {
    const allowed: [TxnStateId, TxnStateId[]][] = [
      [S.Empty, [S.Empty, S.CompleteCommit, S.CompleteAbort]],
      [S.Ongoing, [S.Ongoing, S.Empty, S.CompleteCommit, S.CompleteAbort]],
      [S.PrepareCommit, [S.Ongoing]],
      [S.PrepareAbort, [S.Ongoing, S.PrepareEpochFence]],
      [S.CompleteCommit, [S.PrepareCommit]],
      [S.CompleteAbort, [S.PrepareAbort]],
      [S.Dead, [S.Empty, S.CompleteAbort, S.CompleteCommit]],
      [S.PrepareEpochFence, [S.Ongoing]],
    ];
    for (const [to, froms] of allowed)
      for (let from = 0; from < 8; from++)
        assert.equal(
          validTransition(from as TxnStateId, to),
          froms.includes(from as TxnStateId),
          `${from} -> ${to}`,
        );
  });

  it("epochs are exhausted at Short.MaxValue - 1", () => {
    assert.equal(isEpochExhausted(32765), false);
    assert.equal(isEpochExhausted(32766), true);
    assert.equal(isEpochExhausted(32767), true);
  });

  it("older clients get INVALID_PRODUCER_EPOCH for PRODUCER_FENCED", () => {
    const F = TxnErrorCode.PRODUCER_FENCED;
    const E = TxnErrorCode.INVALID_PRODUCER_EPOCH;
    assert.equal(clientError(F, "InitProducerId", 3), E);
    assert.equal(clientError(F, "InitProducerId", 4), F);
    for (const api of ["AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn"] as const) {
      assert.equal(clientError(F, api, 1), E);
      assert.equal(clientError(F, api, 2), F);
    }
    assert.equal(
      clientError(TxnErrorCode.CONCURRENT_TRANSACTIONS, "EndTxn", 0),
      TxnErrorCode.CONCURRENT_TRANSACTIONS,
    );
  });
});

describe("prepareInitProducerId", () => {
  it("refuses an empty id, a half-given producer id/epoch, and a bad timeout", () => {
    const a = ids(5);
    const d = (m: TransactionMetadata | null, r: InitProducerIdInput) =>
      outcome(prepareInitProducerId(m, r, a.next, NOW, MAX_TIMEOUT));
    assert.equal(d(null, init({ transactionalId: "" })), "INVALID_REQUEST");
    assert.equal(d(meta(), init({ producerId: -1, producerEpoch: 2 })), "INVALID_REQUEST");
    assert.equal(d(meta(), init({ producerId: 100, producerEpoch: -1 })), "INVALID_REQUEST");
    assert.equal(d(null, init({ transactionTimeoutMs: 0 })), "INVALID_TRANSACTION_TIMEOUT");
    assert.equal(d(null, init({ transactionTimeoutMs: MAX_TIMEOUT + 1 })), "INVALID_TRANSACTION_TIMEOUT");
    assert.equal(a.calls, 0);
    assert.equal(d(null, init({ transactionTimeoutMs: MAX_TIMEOUT })), "transit:Empty");
  });

  it("a new id: a producer id allocated, epoch 0, metadata created", () => {
    const a = ids(7000);
    const d = prepareInitProducerId(null, init(), a.next, NOW, MAX_TIMEOUT);
    assert.equal(d.kind, "transit");
    if (d.kind !== "transit") return;
    assert.equal(d.created, true);
    assert.equal(a.calls, 1);
    assert.equal(d.meta.transactionalId, "tx");
    assert.equal(d.meta.producerEpoch, -1); // unchanged until the append is durable
    assert.deepEqual(
      { ...d.transit, partitions: [...d.transit.partitions] },
      {
        producerId: 7000,
        lastProducerId: 7000,
        producerEpoch: 0,
        lastProducerEpoch: -1,
        txnTimeoutMs: 30_000,
        state: S.Empty,
        partitions: [],
        txnStartTimestamp: -1,
        txnLastUpdateTimestamp: NOW,
      },
    );
    apply(d.meta, d.transit);
    assert.equal(d.meta.producerEpoch, 0);
    assert.equal(d.meta.state, S.Empty);
  });

  it("an existing id in Empty or Complete*: the epoch bumped, the new timeout kept", () => {
    for (const state of [S.Empty, S.CompleteCommit, S.CompleteAbort]) {
      const a = ids(1);
      const m = meta({ state, producerEpoch: 4, txnStartTimestamp: state === S.Empty ? -1 : 5 });
      const d = prepareInitProducerId(m, init({ transactionTimeoutMs: 1234 }), a.next, NOW, MAX_TIMEOUT);
      const t = transitOf(d);
      assert.equal(d.kind === "transit" && d.created, false);
      assert.equal(a.calls, 0);
      assert.deepEqual([t.producerId, t.producerEpoch, t.lastProducerEpoch, t.state], [100, 5, -1, S.Empty]);
      assert.equal(t.txnTimeoutMs, 1234);
      assert.equal(t.txnStartTimestamp, -1);
      apply(m, t);
      assert.equal(m.producerEpoch, 5);
    }
  });

  it("at an exhausted epoch a new producer id, epoch 0 (Kafka's rotation)", () => {
    const a = ids(555);
    const m = meta({ producerEpoch: 32766, state: S.CompleteCommit });
    const t = transitOf(prepareInitProducerId(m, init(), a.next, NOW, MAX_TIMEOUT));
    assert.equal(a.calls, 1);
    assert.deepEqual(
      [t.producerId, t.lastProducerId, t.producerEpoch, t.lastProducerEpoch],
      [555, 100, 0, -1],
    );
    // 32765 is bumped to 32766, the last epoch a client is given.
    const b = transitOf(
      prepareInitProducerId(meta({ producerEpoch: 32765 }), init(), a.next, NOW, MAX_TIMEOUT),
    );
    assert.deepEqual([b.producerId, b.producerEpoch], [100, 32766]);
  });

  it("KIP-360: the current epoch bumps and is remembered; a retry gets the same epoch back", () => {
    const a = ids(1);
    const m = meta({ producerEpoch: 3 });
    const t = transitOf(
      prepareInitProducerId(m, init({ producerId: 100, producerEpoch: 3 }), a.next, NOW, MAX_TIMEOUT),
    );
    assert.deepEqual([t.producerEpoch, t.lastProducerEpoch], [4, 3]);
    apply(m, t);
    // The answer was lost; the client retries with its old epoch.
    const retry = transitOf(
      prepareInitProducerId(m, init({ producerId: 100, producerEpoch: 3 }), a.next, NOW, MAX_TIMEOUT),
    );
    assert.deepEqual([retry.producerEpoch, retry.lastProducerEpoch], [4, 3]);
    // Another epoch, or another producer id: fenced.
    for (const [producerId, producerEpoch] of [
      [100, 2],
      [100, 5],
      [99, 4],
    ])
      assert.equal(
        outcome(prepareInitProducerId(m, init({ producerId, producerEpoch }), a.next, NOW, MAX_TIMEOUT)),
        "PRODUCER_FENCED",
      );
    // Without KIP-360 fields: a new instance, the last epoch forgotten.
    const fresh = transitOf(prepareInitProducerId(m, init(), a.next, NOW, MAX_TIMEOUT));
    assert.deepEqual([fresh.producerEpoch, fresh.lastProducerEpoch], [5, -1]);
    assert.equal(a.calls, 0);
  });

  it("KIP-360 on an id with no state yet, or a fresh one: any producer id is accepted", () => {
    const a = ids(900);
    const d = prepareInitProducerId(
      null,
      init({ producerId: 42, producerEpoch: 7 }),
      a.next,
      NOW,
      MAX_TIMEOUT,
    );
    const t = transitOf(d);
    assert.deepEqual([t.producerId, t.producerEpoch, t.lastProducerEpoch], [900, 0, -1]);
  });

  it("KIP-360 at exhaustion: rotation remembers the old epoch; the old id's retry is accepted", () => {
    const a = ids(2000);
    const m = meta({ producerEpoch: 32766 });
    const t = transitOf(
      prepareInitProducerId(m, init({ producerId: 100, producerEpoch: 32766 }), a.next, NOW, MAX_TIMEOUT),
    );
    assert.deepEqual(
      [t.producerId, t.lastProducerId, t.producerEpoch, t.lastProducerEpoch],
      [2000, 100, 0, 32766],
    );
    apply(m, t);
    const retry = transitOf(
      prepareInitProducerId(m, init({ producerId: 100, producerEpoch: 32766 }), a.next, NOW, MAX_TIMEOUT),
    );
    assert.deepEqual([retry.producerId, retry.producerEpoch], [2000, 0]);
    assert.equal(a.calls, 1);
    // The old id with an epoch that is not exhausted is fenced, even one equal to the new id's.
    for (const producerEpoch of [5, 0])
      assert.equal(
        outcome(prepareInitProducerId(m, init({ producerId: 100, producerEpoch }), a.next, NOW, MAX_TIMEOUT)),
        "PRODUCER_FENCED",
      );
  });

  it("an exhausted epoch with a mismatched expected epoch is fenced, not bumped", () => {
    const m = meta({ producerEpoch: 32767, lastProducerEpoch: -1, state: S.CompleteAbort }); // after a fence
    const d = prepareInitProducerId(
      m,
      init({ producerId: 100, producerEpoch: 32766 }),
      ids(1).next,
      NOW,
      MAX_TIMEOUT,
    );
    assert.equal(outcome(d), "PRODUCER_FENCED");
  });

  it("while a change is pending, or the last transaction completes: CONCURRENT_TRANSACTIONS", () => {
    const a = ids(1);
    assert.equal(
      outcome(prepareInitProducerId(meta({ pendingState: S.Ongoing }), init(), a.next, NOW, MAX_TIMEOUT)),
      "CONCURRENT_TRANSACTIONS",
    );
    for (const state of [S.PrepareCommit, S.PrepareAbort])
      assert.equal(
        outcome(prepareInitProducerId(meta({ state }), init(), a.next, NOW, MAX_TIMEOUT)),
        "CONCURRENT_TRANSACTIONS",
      );
  });

  it("an ongoing transaction is fenced: PrepareAbort at epoch + 1; the retry after it bumps again", () => {
    const a = ids(1);
    const m = meta({ producerEpoch: 2, lastProducerEpoch: 1, state: S.Ongoing, txnStartTimestamp: NOW - 5 });
    m.partitions.add(P("t", 0));
    const d = prepareInitProducerId(m, init({ transactionTimeoutMs: 999 }), a.next, NOW, MAX_TIMEOUT);
    assert.equal(outcome(d), "fence:PrepareAbort");
    const t = transitOf(d);
    assert.deepEqual([t.producerId, t.producerEpoch, t.lastProducerEpoch], [100, 3, -1]);
    assert.equal(t.txnTimeoutMs, 60_000); // the running transaction's, not the request's
    assert.deepEqual([...t.partitions], [P("t", 0)]);
    assert.equal(t.txnStartTimestamp, NOW - 5);
    apply(m, t); // then CONCURRENT_TRANSACTIONS to the client, abort markers at epoch 3
    assert.equal(
      outcome(prepareInitProducerId(m, init(), a.next, NOW, MAX_TIMEOUT)),
      "CONCURRENT_TRANSACTIONS",
    );
    // The old producer is fenced meanwhile.
    assert.equal(outcome(prepareEndTxn(m, 100, 2, true, NOW)), "PRODUCER_FENCED");
    apply(m, transitOf(prepareComplete(m, NOW + 1, { producerId: 100, producerEpoch: 3 })));
    assert.equal(m.state, S.CompleteAbort);
    const again = transitOf(prepareInitProducerId(m, init(), a.next, NOW + 2, MAX_TIMEOUT));
    assert.deepEqual([again.producerEpoch, again.state, again.txnTimeoutMs], [4, S.Empty, 30_000]);
  });

  it("Dead and PrepareEpochFence are never seen as states (Kafka throws)", () => {
    for (const state of [S.Dead, S.PrepareEpochFence])
      assert.throws(() => prepareInitProducerId(meta({ state }), init(), ids(1).next, NOW, MAX_TIMEOUT));
  });
});

describe("prepareAddPartitions", () => {
  it("refuses an unknown id, another producer id, another epoch, and while busy", () => {
    const add = (m: TransactionMetadata | null, pid = 100, epoch = 0) =>
      outcome(prepareAddPartitions(m, pid, epoch, [P("t", 0)], NOW));
    assert.equal(add(null), "INVALID_PRODUCER_ID_MAPPING");
    assert.equal(add(meta(), 101), "INVALID_PRODUCER_ID_MAPPING");
    assert.equal(add(meta(), 100, 1), "PRODUCER_FENCED");
    assert.equal(add(meta({ pendingState: S.Ongoing })), "CONCURRENT_TRANSACTIONS");
    assert.equal(add(meta({ state: S.PrepareCommit })), "CONCURRENT_TRANSACTIONS");
    assert.equal(add(meta({ state: S.PrepareAbort })), "CONCURRENT_TRANSACTIONS");
    assert.throws(() => add(meta({ state: S.Dead })));
  });

  it("starts a transaction from Empty or Complete*, at now", () => {
    for (const state of [S.Empty, S.CompleteCommit, S.CompleteAbort]) {
      const m = meta({ state, txnStartTimestamp: 3 });
      const t = transitOf(prepareAddPartitions(m, 100, 0, [P("t", 0), P("u", 2)], NOW));
      assert.equal(t.state, S.Ongoing);
      assert.equal(t.txnStartTimestamp, NOW);
      assert.deepEqual([...t.partitions], [P("t", 0), P("u", 2)]);
      apply(m, t);
      assert.equal(m.state, S.Ongoing);
    }
  });

  it("adds to an ongoing one (start kept); partitions already in it answer NONE, nothing written", () => {
    const m = meta({ state: S.Ongoing, txnStartTimestamp: 77 });
    m.partitions.add(P("t", 0));
    assert.equal(outcome(prepareAddPartitions(m, 100, 0, [P("t", 0)], NOW)), "none");
    const t = transitOf(prepareAddPartitions(m, 100, 0, [P("t", 0), P("t", 1)], NOW));
    assert.deepEqual([...t.partitions].sort(), [P("t", 0), P("t", 1)]);
    assert.equal(t.txnStartTimestamp, 77);
    assert.equal(t.txnLastUpdateTimestamp, NOW);
    assert.deepEqual([...m.partitions], [P("t", 0)]); // nothing changed before the append
  });
});

describe("prepareEndTxn", () => {
  it("refuses an unknown id, another producer id, another epoch (older or newer), and while pending", () => {
    const end = (m: TransactionMetadata | null, pid = 100, epoch = 0) =>
      outcome(prepareEndTxn(m, pid, epoch, true, NOW));
    assert.equal(end(null), "INVALID_PRODUCER_ID_MAPPING");
    assert.equal(end(meta({ state: S.Ongoing }), 7), "INVALID_PRODUCER_ID_MAPPING");
    assert.equal(end(meta({ state: S.Ongoing, producerEpoch: 2 }), 100, 1), "PRODUCER_FENCED");
    assert.equal(end(meta({ state: S.Ongoing, producerEpoch: 2 }), 100, 3), "PRODUCER_FENCED");
    assert.equal(end(meta({ state: S.Ongoing, pendingState: S.Ongoing })), "CONCURRENT_TRANSACTIONS");
  });

  it("Ongoing -> PrepareCommit or PrepareAbort, partitions and start kept", () => {
    for (const commit of [true, false]) {
      const m = meta({ state: S.Ongoing, txnStartTimestamp: 50 });
      m.partitions.add(P("t", 1));
      const t = transitOf(prepareEndTxn(m, 100, 0, commit, NOW));
      assert.equal(t.state, commit ? S.PrepareCommit : S.PrepareAbort);
      assert.deepEqual([...t.partitions], [P("t", 1)]);
      assert.deepEqual([t.producerEpoch, t.txnStartTimestamp, t.txnLastUpdateTimestamp], [0, 50, NOW]);
    }
  });

  it("retries: NONE once complete, CONCURRENT_TRANSACTIONS while completing, the other result INVALID_TXN_STATE", () => {
    const cases: [TxnStateId, boolean, string][] = [
      [S.CompleteCommit, true, "none"],
      [S.CompleteCommit, false, "INVALID_TXN_STATE"],
      [S.CompleteAbort, false, "none"],
      [S.CompleteAbort, true, "INVALID_TXN_STATE"],
      [S.PrepareCommit, true, "CONCURRENT_TRANSACTIONS"],
      [S.PrepareCommit, false, "INVALID_TXN_STATE"],
      [S.PrepareAbort, false, "CONCURRENT_TRANSACTIONS"],
      [S.PrepareAbort, true, "INVALID_TXN_STATE"],
      [S.Empty, true, "INVALID_TXN_STATE"],
      [S.Empty, false, "INVALID_TXN_STATE"],
    ];
    for (const [state, commit, want] of cases)
      assert.equal(
        outcome(prepareEndTxn(meta({ state }), 100, 0, commit, NOW)),
        want,
        `${TXN_STATE_NAMES[state]} ${commit}`,
      );
    assert.throws(() => prepareEndTxn(meta({ state: S.Dead }), 100, 0, true, NOW));
  });
});

describe("prepareComplete", () => {
  it("PrepareCommit -> CompleteCommit, PrepareAbort -> CompleteAbort, partitions cleared", () => {
    for (const [from, to] of [
      [S.PrepareCommit, S.CompleteCommit],
      [S.PrepareAbort, S.CompleteAbort],
    ]) {
      const m = meta({ state: from, txnStartTimestamp: 9 });
      m.partitions.add(P("t", 0));
      const t = transitOf(prepareComplete(m, NOW));
      assert.deepEqual(
        [t.state, t.partitions.size, t.txnStartTimestamp, t.txnLastUpdateTimestamp],
        [to, 0, 9, NOW],
      );
      apply(m, t);
      assert.equal(m.partitions.size, 0);
    }
  });

  it("refuses when nothing is completing, when pending, or when the producer moved on", () => {
    assert.equal(outcome(prepareComplete(meta({ state: S.Ongoing }), NOW)), "INVALID_TXN_STATE");
    assert.equal(outcome(prepareComplete(meta({ state: S.CompleteAbort }), NOW)), "INVALID_TXN_STATE");
    assert.equal(
      outcome(prepareComplete(meta({ state: S.PrepareAbort, pendingState: S.CompleteAbort }), NOW)),
      "CONCURRENT_TRANSACTIONS",
    );
    const m = meta({ state: S.PrepareCommit, producerEpoch: 4 });
    assert.equal(
      outcome(prepareComplete(m, NOW, { producerId: 1, producerEpoch: 4 })),
      "INVALID_PRODUCER_ID_MAPPING",
    );
    assert.equal(outcome(prepareComplete(m, NOW, { producerId: 100, producerEpoch: 3 })), "PRODUCER_FENCED");
    assert.equal(
      outcome(prepareComplete(m, NOW, { producerId: 100, producerEpoch: 4 })),
      "transit:CompleteCommit",
    );
  });
});

describe("timeout and expiration", () => {
  it("aborts an ongoing transaction past its timeout, bumping the epoch (the producer is fenced)", () => {
    const m = meta({
      state: S.Ongoing,
      producerEpoch: 6,
      lastProducerEpoch: 5,
      txnTimeoutMs: 100,
      txnStartTimestamp: NOW,
    });
    m.partitions.add(P("t", 0));
    assert.equal(prepareAbortOnTimeout(m, NOW + 100), null); // start + timeout < now, strictly
    const d = prepareAbortOnTimeout(m, NOW + 101)!;
    assert.deepEqual(
      [d.transit.state, d.transit.producerEpoch, d.transit.lastProducerEpoch],
      [S.PrepareAbort, 7, -1],
    );
    assert.deepEqual([...d.transit.partitions], [P("t", 0)]);
    apply(m, d.transit);
    assert.equal(outcome(prepareEndTxn(m, 100, 6, true, NOW + 102)), "PRODUCER_FENCED");
    assert.equal(outcome(prepareAddPartitions(m, 100, 6, [P("t", 1)], NOW + 102)), "PRODUCER_FENCED");
  });

  it("does not abort what is not ongoing, or has a change pending", () => {
    const old = { txnTimeoutMs: 1, txnStartTimestamp: 0 };
    for (const state of [S.Empty, S.PrepareCommit, S.PrepareAbort, S.CompleteCommit, S.CompleteAbort])
      assert.equal(prepareAbortOnTimeout(meta({ state, ...old }), NOW), null);
    assert.equal(
      prepareAbortOnTimeout(meta({ state: S.Ongoing, pendingState: S.PrepareCommit, ...old }), NOW),
      null,
    );
  });

  it("expires idle ids in Empty or Complete*, nothing pending", () => {
    const idle = { txnLastUpdateTimestamp: NOW - 1000 };
    for (const state of [S.Empty, S.CompleteCommit, S.CompleteAbort]) {
      assert.equal(expired(meta({ state, ...idle }), NOW, 1000), true);
      assert.equal(expired(meta({ state, ...idle }), NOW, 1001), false);
      assert.equal(expired(meta({ state, pendingState: S.Ongoing, ...idle }), NOW, 1000), false);
    }
    for (const state of [S.Ongoing, S.PrepareCommit, S.PrepareAbort])
      assert.equal(expired(meta({ state, ...idle }), NOW, 1), false);
  });

  it("Dead is begun, never completed: the id leaves the cache instead", () => {
    const m = meta({ state: S.CompleteCommit });
    const t = prepareDead(m);
    assert.equal(t.state, S.Dead);
    beginTransition(m, t);
    assert.equal(
      outcome(prepareInitProducerId(m, init(), ids(1).next, NOW, MAX_TIMEOUT)),
      "CONCURRENT_TRANSACTIONS",
    );
    assert.throws(() => completeTransition(m, t));
    cancelTransition(m);
    assert.equal(m.state, S.CompleteCommit);
    assert.throws(() => beginTransition(meta({ state: S.Ongoing }), prepareDead(meta({ state: S.Ongoing }))));
  });
});

describe("pending protocol", () => {
  it("begin marks pending, complete applies, cancel leaves everything as it was", () => {
    const m = meta();
    const t = transitOf(prepareAddPartitions(m, 100, 0, [P("t", 0)], NOW));
    beginTransition(m, t);
    assert.equal(m.pendingState, S.Ongoing);
    assert.throws(() => beginTransition(m, t)); // one at a time
    assert.equal(outcome(prepareAddPartitions(m, 100, 0, [P("t", 1)], NOW)), "CONCURRENT_TRANSACTIONS");
    cancelTransition(m);
    assert.deepEqual([m.state, m.pendingState, m.partitions.size], [S.Empty, null, 0]);
    apply(m, t);
    assert.deepEqual(
      [m.state, m.pendingState, [...m.partitions], m.txnStartTimestamp],
      [S.Ongoing, null, [P("t", 0)], NOW],
    );
  });

  it("refuses a transition Kafka does not allow, and completing what is not pending", () => {
    const m = meta();
    const commit = transitOf(prepareEndTxn(meta({ state: S.Ongoing }), 100, 0, true, NOW));
    assert.throws(() => beginTransition(m, commit)); // Empty -> PrepareCommit
    assert.throws(() => completeTransition(m, commit));
  });
});

describe("__transaction_state values", () => {
  it("Empty is written with null partitions; others grouped by topic; read back the same", () => {
    const empty = transitOf(prepareInitProducerId(null, init(), ids(10).next, NOW, MAX_TIMEOUT));
    const v = toLogValue(empty);
    assert.equal(v.partitions, null);
    assert.equal(v.status, 0);
    const m = meta({ state: S.Ongoing, txnStartTimestamp: 5 });
    const t = transitOf(prepareAddPartitions(m, 100, 0, [P("a", 1), P("b", 0), P("a", 0)], NOW));
    const ov = toLogValue(t);
    assert.deepEqual(ov.partitions, [
      { topic: "a", partitionIds: [1, 0] },
      { topic: "b", partitionIds: [0] },
    ]);
    const loaded = fromLogValue("tx", decodeTxnValue(encodeTxnValue(ov)));
    assert.deepEqual(loaded, {
      transactionalId: "tx",
      producerId: 100,
      lastProducerId: -1, // not stored in version 0
      producerEpoch: 0,
      lastProducerEpoch: -1,
      txnTimeoutMs: 60_000,
      state: S.Ongoing,
      partitions: new Set([P("a", 1), P("b", 0), P("a", 0)]),
      txnStartTimestamp: 5,
      txnLastUpdateTimestamp: NOW,
      pendingState: null,
    });
  });

  it("a loaded Empty ignores partitions; a complete state keeps an empty list", () => {
    const m = fromLogValue("x", {
      producerId: 1,
      producerEpoch: 2,
      transactionTimeoutMs: 3,
      status: S.Empty,
      partitions: [{ topic: "t", partitionIds: [0] }],
      lastUpdateTimestampMs: 4,
      startTimestampMs: -1,
      previousProducerId: -1,
      nextProducerId: -1,
      clientTransactionVersion: 0,
    });
    assert.equal(m.partitions.size, 0);
    const done = toLogValue(transitOf(prepareComplete(meta({ state: S.PrepareAbort }), NOW)));
    assert.deepEqual(done.partitions, []);
    assert.throws(() =>
      toLogValue({
        ...transitOf(prepareComplete(meta({ state: S.PrepareAbort }), NOW)),
        state: S.Empty,
        partitions: new Set([P("t", 0)]),
      }),
    );
  });
});
