// Byte layout of the single-producer/single-consumer ring that carries produce batches from the
// acceptor (main thread) to one partition writer worker. One SharedArrayBuffer per writer:
//
//   byte 0    int32 head      bytes ever written by the producer (free-running, wraps at 2^32)
//   byte 64   int32 tail      bytes ever consumed by the consumer (own cache line)
//   byte 128  int32 sleeping  1 while the consumer is (about to be) parked in Atomics.wait
//   byte 192  data[capacity]  entries, capacity a power of two
//
// An entry is contiguous in data (never split by the wrap): when it does not fit before the end,
// the producer writes a PAD entry over the rest and starts again at data[0].
//
//   0   u32 size     whole entry incl. this header, rounded up to 8
//   4   u16 kind     APPEND | CONTROL | PAD | LARGE | LARGE_CONTROL
//   6   u16 flags    APPEND: acks (0, 1 or 0xffff for -1)
//   8   u32 tag      producer's id for the completion
//   12  u32 slot     partition slot (index in the partition state table)
//   16  u32 length   payload bytes
//   20  u32 shift    0-7 bytes skipped before the payload (see below)
//   24+shift payload APPEND: one RecordBatch v2, as received; CONTROL: UTF-8 JSON
//
// The shift makes the payload's address in the ring congruent mod 8 with its source's: the
// batch sits at an arbitrary offset of the request frame, and copying between buffers of
// different alignment takes V8 off its fast path (measured: 1.4 GB/s instead of 10 GB/s for a
// 16 KiB batch, native-bench/micro.ts).
//
// The consumer may modify the payload in place (baseOffset) before it releases the entry.

export const HEAD = 0; // int32 index of head
export const TAIL = 16; // int32 index of tail (byte 64)
export const SLEEPING = 32; // int32 index (byte 128)
export const DATA_START = 192;
export const ENTRY_HEADER_BYTES = 24;

/**
 * LARGE: an APPEND whose batch is too big for the ring; the entry has no payload and the batch
 * travels alone, transferred (not copied again) through the writer's side MessagePort, posted
 * before the entry is written. The writer takes it with receiveMessageOnPort when it reaches
 * the entry, so order is the ring's.
 */
export const Kind = { APPEND: 1, CONTROL: 2, PAD: 3, LARGE: 4, LARGE_CONTROL: 5 } as const;

export function alignEntry(payloadLength: number, shift = 0): number {
  // Not `& ~7`: that is int32 and turns a length >= 2^31 - 31 into a negative size.
  return Math.ceil((ENTRY_HEADER_BYTES + shift + payloadLength) / 8) * 8;
}

/** Largest capacity: head, tail and `head & mask` are int32 arithmetic (wrong from 2^32 on). */
export const MAX_RING_CAPACITY = 2 ** 30;

export function createRingBuffer(capacity: number): SharedArrayBuffer {
  if (
    !Number.isInteger(capacity) ||
    capacity < 4096 ||
    capacity > MAX_RING_CAPACITY ||
    (capacity & (capacity - 1)) !== 0
  ) {
    throw new RangeError(`ring capacity must be a power of two from 4096 to 2^30, got ${capacity}`);
  }
  return new SharedArrayBuffer(DATA_START + capacity);
}

export function ringCapacity(sab: SharedArrayBuffer): number {
  return sab.byteLength - DATA_START;
}
