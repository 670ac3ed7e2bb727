// Offset syncs, checkpoints and heartbeats: MirrorMaker 2's records, and the translation of a
// group's committed offsets from the source to the target.
//
// An offset sync says "upstream offset U of source partition P is downstream offset D of its
// remote partition": the copier writes one, after the target acknowledged the record, at most
// offset.lag.max records after the partition's last one, and whenever the two logs' offsets
// stopped moving together (a gap in the source: compaction, transaction markers): needsSync(). Checkpoints translate a
// group's committed upstream offset with the newest sync at or below it:
//   U == sync.upstream -> sync.downstream
//   U >  sync.upstream -> sync.downstream + 1
// (MM2's rule since KAFKA-14666: the records between the sync and U are copied somewhere after
// sync.downstream, but the sync does not say where, so the group resumes just after the synced
// record.) A group failing over therefore never skips a record, and re-reads at most the records
// between the last sync and its commit: fewer than offset.lag.max of them.
//
// Byte layouts (big endian; "string" = int16 length + UTF-8 bytes, as Kafka's Struct writes
// STRING; the same bytes MM2's OffsetSync / Checkpoint / Heartbeat classes write):
//   offset sync, topic mm2-offset-syncs.<target>.internal on the SOURCE cluster (compacted, 1 partition)
//     key:   string topic | int32 partition                          (the source partition)
//     value: int64 upstreamOffset | int64 downstreamOffset
//   checkpoint, topic <source>.checkpoints.internal on the TARGET cluster (compacted, 1 partition)
//     key:   string group | string topic | int32 partition             (topic: the remote topic)
//     value: int16 version (0) | int64 upstreamOffset | int64 downstreamOffset | string metadata
//   heartbeat, topic heartbeats on the TARGET cluster (compacted, 1 partition)
//     key:   string sourceClusterAlias | string targetClusterAlias
//     value: int16 version (0) | int64 timestamp (ms)

export interface OffsetSync {
  topic: string;
  partition: number;
  upstreamOffset: number;
  downstreamOffset: number;
}

export interface Checkpoint {
  group: string;
  topic: string;
  partition: number;
  upstreamOffset: number;
  downstreamOffset: number;
  metadata: string;
}

class Out {
  private readonly parts: Buffer[] = [];
  string(s: string): this {
    const b = Buffer.from(s, "utf8");
    const len = Buffer.alloc(2);
    len.writeInt16BE(b.length);
    this.parts.push(len, b);
    return this;
  }
  int16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  int32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  int64(n: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    this.parts.push(b);
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class In {
  private p = 0;
  constructor(private readonly b: Uint8Array) {}
  private view(n: number): Buffer {
    if (this.p + n > this.b.length) throw new RangeError("record too short");
    const v = Buffer.from(this.b.buffer, this.b.byteOffset + this.p, n);
    this.p += n;
    return v;
  }
  string(): string {
    const n = this.view(2).readInt16BE();
    if (n < 0) throw new RangeError("null string");
    return this.view(n).toString("utf8");
  }
  int16(): number {
    return this.view(2).readInt16BE();
  }
  int32(): number {
    return this.view(4).readInt32BE();
  }
  int64(): number {
    return Number(this.view(8).readBigInt64BE());
  }
}

export function encodeOffsetSync(s: OffsetSync): { key: Buffer; value: Buffer } {
  return {
    key: new Out().string(s.topic).int32(s.partition).bytes(),
    value: new Out().int64(s.upstreamOffset).int64(s.downstreamOffset).bytes(),
  };
}

export function decodeOffsetSync(key: Uint8Array, value: Uint8Array): OffsetSync {
  const k = new In(key);
  const v = new In(value);
  const topic = k.string();
  const partition = k.int32();
  return { topic, partition, upstreamOffset: v.int64(), downstreamOffset: v.int64() };
}

export function encodeCheckpoint(c: Checkpoint): { key: Buffer; value: Buffer } {
  return {
    key: new Out().string(c.group).string(c.topic).int32(c.partition).bytes(),
    value: new Out().int16(0).int64(c.upstreamOffset).int64(c.downstreamOffset).string(c.metadata).bytes(),
  };
}

export function decodeCheckpoint(key: Uint8Array, value: Uint8Array): Checkpoint {
  const k = new In(key);
  const v = new In(value);
  const group = k.string();
  const topic = k.string();
  const partition = k.int32();
  const version = v.int16();
  if (version !== 0) throw new RangeError(`checkpoint version ${version}`);
  return {
    group,
    topic,
    partition,
    upstreamOffset: v.int64(),
    downstreamOffset: v.int64(),
    metadata: v.string(),
  };
}

export function encodeHeartbeat(
  source: string,
  target: string,
  timestamp: number,
): { key: Buffer; value: Buffer } {
  return {
    key: new Out().string(source).string(target).bytes(),
    value: new Out().int16(0).int64(timestamp).bytes(),
  };
}

export function decodeHeartbeat(
  key: Uint8Array,
  value: Uint8Array,
): { source: string; target: string; timestamp: number } {
  const k = new In(key);
  const v = new In(value);
  const source = k.string();
  const target = k.string();
  v.int16();
  return { source, target, timestamp: v.int64() };
}

/** Syncs kept per partition: enough to translate commits that lag the copy by a while. */
const KEPT_PER_PARTITION = 256;

/**
 * The offset syncs seen, per source partition, to translate upstream offsets. Keeps the newest
 * KEPT_PER_PARTITION syncs of each partition (sorted by upstream offset); a commit older than all
 * of them is not translated (no checkpoint rather than a wrong one).
 */
export class OffsetSyncStore {
  private readonly syncs = new Map<string, OffsetSync[]>();

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  add(s: OffsetSync): void {
    const k = OffsetSyncStore.key(s.topic, s.partition);
    let list = this.syncs.get(k);
    if (list === undefined) this.syncs.set(k, (list = []));
    // A sync below the newest one means the downstream log was rebuilt (or an older writer's
    // sync arrived late): drop the newer ones it contradicts.
    while (list.length > 0 && list[list.length - 1].upstreamOffset >= s.upstreamOffset) list.pop();
    list.push(s);
    if (list.length > KEPT_PER_PARTITION) list.splice(0, list.length - KEPT_PER_PARTITION);
  }

  /** The newest sync of a partition. */
  latest(topic: string, partition: number): OffsetSync | undefined {
    const list = this.syncs.get(OffsetSyncStore.key(topic, partition));
    return list?.[list.length - 1];
  }

  /** The downstream offset for a committed upstream offset, or null when no sync covers it. */
  translate(topic: string, partition: number, upstreamOffset: number): number | null {
    const list = this.syncs.get(OffsetSyncStore.key(topic, partition));
    if (list === undefined || list.length === 0 || upstreamOffset < 0) return null;
    // Newest sync with upstreamOffset <= the commit (binary search).
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].upstreamOffset <= upstreamOffset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const s = list[found];
    return upstreamOffset === s.upstreamOffset ? s.downstreamOffset : s.downstreamOffset + 1;
  }
}

/**
 * When the copier writes an offset sync: for the first record of a partition, then for the first
 * record copied in each new window of `offsetLagMax` upstream offsets (windows start at multiples
 * of it, and the copier starts a new send at each window's start, so with no gaps syncs are
 * exactly offsetLagMax apart), and whenever the upstream and downstream offsets stopped advancing
 * together (a gap in the source: compaction, transaction markers).
 */
export function needsSync(
  last: { upstreamOffset: number; downstreamOffset: number } | undefined,
  upstreamOffset: number,
  downstreamOffset: number,
  offsetLagMax: number,
): boolean {
  if (last === undefined) return true;
  if (Math.floor(upstreamOffset / offsetLagMax) !== Math.floor(last.upstreamOffset / offsetLagMax))
    return true;
  return downstreamOffset - last.downstreamOffset !== upstreamOffset - last.upstreamOffset;
}
