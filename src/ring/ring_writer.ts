// Producer side of the SPSC ring (see layout.ts): the acceptor copies a batch from the request
// frame into shared memory once; the writer worker appends it to the log from there.

import {
  alignEntry,
  DATA_START,
  ENTRY_HEADER_BYTES,
  HEAD,
  Kind,
  ringCapacity,
  SLEEPING,
  TAIL,
} from "./layout.ts";

export class RingWriter {
  private readonly ctrl: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  readonly capacity: number;
  private readonly mask: number;
  /** Local copy of head: only this side writes it. */
  private head: number;
  private wakeScheduled = false;
  private readonly wake = (): void => {
    this.wakeScheduled = false;
    if (Atomics.load(this.ctrl, SLEEPING) !== 0) Atomics.notify(this.ctrl, HEAD);
  };

  constructor(sab: SharedArrayBuffer) {
    this.ctrl = new Int32Array(sab, 0, DATA_START / 4);
    this.capacity = ringCapacity(sab);
    this.mask = this.capacity - 1;
    this.bytes = new Uint8Array(sab, DATA_START, this.capacity);
    this.view = new DataView(sab, DATA_START, this.capacity);
    this.head = Atomics.load(this.ctrl, HEAD);
  }

  /** Largest payload that can ever fit (the ring must be able to hold it with a PAD before). */
  get maxPayload(): number {
    return this.capacity / 2 - ENTRY_HEADER_BYTES - 8;
  }

  /** Bytes in use (written, not yet released by the consumer). */
  get used(): number {
    return (this.head - Atomics.load(this.ctrl, TAIL)) >>> 0;
  }

  /**
   * Append one entry; false when the ring has no room now (retry after the consumer moves).
   * The payload is copied into shared memory: the only copy on the produce path.
   */
  tryWrite(kind: number, flags: number, tag: number, slot: number, payload: Uint8Array): boolean {
    // Land the payload at the same address mod 8 as its source (layout.ts: shift).
    const shift = payload.byteOffset & 7;
    const size = alignEntry(payload.length, shift);
    if (size > this.capacity / 2) throw new RangeError(`entry of ${payload.length} bytes exceeds the ring`);
    const tail = Atomics.load(this.ctrl, TAIL);
    let head = this.head;
    const free = this.capacity - ((head - tail) >>> 0);
    const at = head & this.mask;
    const toEnd = this.capacity - at;
    if (toEnd < size) {
      // Does not fit before the end: pad to the end and start at 0.
      if (free < toEnd + size) return false;
      this.view.setUint32(at, toEnd, true);
      this.view.setUint16(at + 4, Kind.PAD, true);
      head = (head + toEnd) | 0;
    } else if (free < size) {
      return false;
    }
    const p = head & this.mask;
    const v = this.view;
    v.setUint32(p, size, true);
    v.setUint16(p + 4, kind, true);
    v.setUint16(p + 6, flags, true);
    v.setUint32(p + 8, tag, true);
    v.setUint32(p + 12, slot, true);
    v.setUint32(p + 16, payload.length, true);
    v.setUint32(p + 20, shift, true);
    this.bytes.set(payload, p + ENTRY_HEADER_BYTES + shift);
    this.head = (head + size) | 0;
    Atomics.store(this.ctrl, HEAD, this.head);
    // Wake a parked consumer once per turn of the event loop, not once per entry: a futex wake
    // is a syscall, and every frame of one socket read lands in the same turn. The entry is
    // visible at once (head is stored); only the wake waits for the end of this turn.
    if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      queueMicrotask(this.wake);
    }
    return true;
  }
}
