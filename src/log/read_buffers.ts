// Buffers for fetch reads, reused. Reading an 8 MiB fetch into a fresh Buffer costs page faults
// on new memory and garbage collection afterwards (native-bench: 2-5x slower than reading into
// a reused buffer). Reads take a buffer from here; the transport gives it back once the socket
// is done with the bytes (Connection passes `release` through to the sink).
//
// Size classes are powers of two from 64 KiB; smaller reads use ordinary Buffers. A class keeps
// at most KEEP_PER_CLASS idle buffers; a buffer never released is simply garbage collected.

const MIN_POOLED = 64 * 1024;
const KEEP_PER_CLASS = 4;
/** Idle bytes the pool keeps at most (a burst of large fetches does not stay resident). */
const KEEP_BYTES = 64 * 1024 * 1024;

export class ReadBufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private idleBytes = 0;

  /** Memory a read result holds: its whole pooled buffer, or its own length when not pooled. */
  footprint(view: Uint8Array): number {
    return view.buffer.byteLength >= MIN_POOLED ? view.buffer.byteLength : view.length;
  }

  private static classOf(n: number): number {
    return 2 ** Math.ceil(Math.log2(n));
  }

  /** A buffer of at least n bytes (its length may be larger: use a subarray). */
  acquire(n: number): Buffer {
    if (n < MIN_POOLED) return Buffer.allocUnsafe(n);
    const size = ReadBufferPool.classOf(n);
    const b = this.free.get(size)?.pop();
    if (b !== undefined) {
      this.idleBytes -= size;
      return b;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Give back a buffer (or a view of one) from acquire(); nothing may use it afterwards. */
  release(view: Uint8Array): void {
    const buf =
      view.buffer.byteLength >= MIN_POOLED ? Buffer.from(view.buffer, 0, view.buffer.byteLength) : null;
    if (buf === null || ReadBufferPool.classOf(buf.length) !== buf.length) return;
    let list = this.free.get(buf.length);
    if (list === undefined) this.free.set(buf.length, (list = []));
    if (
      list.length < KEEP_PER_CLASS &&
      this.idleBytes + buf.length <= KEEP_BYTES &&
      !list.some((b) => b.buffer === buf.buffer)
    ) {
      list.push(buf);
      this.idleBytes += buf.length;
    }
  }
}

export const readBuffers = new ReadBufferPool();
