// Consumer side of the SPSC ring (see layout.ts), used by one partition writer worker. The
// worker reads an entry in place (payload is a Buffer view of shared memory, no copy), does its
// work, then releases it. When empty it parks in Atomics.wait until the producer notifies.

import { DATA_START, ENTRY_HEADER_BYTES, HEAD, Kind, ringCapacity, SLEEPING, TAIL } from "./layout.ts";

export interface RingEntry {
  kind: number;
  flags: number;
  tag: number;
  slot: number;
  /** View into shared memory: valid until release(). */
  payload: Buffer;
  /** Entry size, for release(). */
  size: number;
}

export class RingReader {
  private readonly ctrl: Int32Array;
  private readonly view: DataView;
  private readonly sab: SharedArrayBuffer;
  private readonly capacity: number;
  private readonly mask: number;
  private tail: number;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.ctrl = new Int32Array(sab, 0, DATA_START / 4);
    this.capacity = ringCapacity(sab);
    this.mask = this.capacity - 1;
    this.view = new DataView(sab, DATA_START, this.capacity);
    this.tail = Atomics.load(this.ctrl, TAIL);
  }

  /** The next entry, or null when the ring is empty. PAD entries are skipped (and released). */
  peek(): RingEntry | null {
    for (;;) {
      const head = Atomics.load(this.ctrl, HEAD);
      if (head === this.tail) return null;
      const at = this.tail & this.mask;
      const v = this.view;
      const size = v.getUint32(at, true);
      const kind = v.getUint16(at + 4, true);
      if (kind === Kind.PAD) {
        this.release(size);
        continue;
      }
      const length = v.getUint32(at + 16, true);
      return {
        kind,
        flags: v.getUint16(at + 6, true),
        tag: v.getUint32(at + 8, true),
        slot: v.getUint32(at + 12, true),
        payload: Buffer.from(
          this.sab,
          DATA_START + at + ENTRY_HEADER_BYTES + v.getUint32(at + 20, true),
          length,
        ),
        size,
      };
    }
  }

  /** Give the entry's bytes back to the producer. */
  release(size: number): void {
    this.tail = (this.tail + size) | 0;
    Atomics.store(this.ctrl, TAIL, this.tail);
  }

  /**
   * Park until the producer writes or timeoutMs passes. Returns at once if data is there.
   * Only for worker threads (Atomics.wait blocks).
   */
  wait(timeoutMs: number): void {
    Atomics.store(this.ctrl, SLEEPING, 1);
    const head = Atomics.load(this.ctrl, HEAD);
    if (head === this.tail) Atomics.wait(this.ctrl, HEAD, head, timeoutMs);
    Atomics.store(this.ctrl, SLEEPING, 0);
  }
}
