// Kafka's TCP framing, read: 4-byte big-endian length-prefixed frames cut from a byte stream.
// The broker's connections (tcp.ts) and Milena's Node client (src/client/tcp.ts) share it.
//
//   0  int32  size   bytes that follow (request or response header + body)
//   4  ...    frame
//
// A frame inside one chunk is handed out as a view; one straddling chunks is assembled in memory
// of its own, grown as its bytes arrive (not as its size prefix claims) and counted in a
// RequestMemory, so a peer cannot make the reader reserve memory it never sends.

import { RequestMemory } from "./request_memory.ts";

export class FrameDecoder {
  /** The size prefix while it straddles reads. */
  private readonly prefix = Buffer.alloc(4);
  private prefixBytes = 0;
  /** The frame being assembled (owned memory, grown as bytes arrive), else null. */
  private frame: Buffer | null = null;
  private frameBytes = 0;
  /** Size of the frame being assembled. */
  private need = -1;
  /** Bytes of this decoder counted in `memory` (the assembling buffer's capacity). */
  private counted = 0;

  /**
   * `preAuthMaxBytes`: while it returns a number, frames above it are refused too (a SASL
   * connection before it authenticated: sasl.server.max.receive.size, as Kafka bounds them).
   */
  constructor(
    private readonly maxFrameBytes: number,
    private readonly memory: RequestMemory = new RequestMemory(-1),
    private readonly preAuthMaxBytes: () => number | null = () => null,
  ) {}

  private tooLarge(size: number): string | null {
    if (size < 0 || size > this.maxFrameBytes)
      return `request of ${size} bytes exceeds socket.request.max.bytes (${this.maxFrameBytes})`;
    const pre = this.preAuthMaxBytes();
    return pre !== null && size > pre
      ? `request of ${size} bytes before SASL authentication exceeds sasl.server.max.receive.size (${pre})`
      : null;
  }

  /** Bytes held for a partial frame. */
  get pendingBytes(): number {
    return this.counted;
  }

  /**
   * Make room for `total` bytes of the assembling frame: capacity doubles (up to the frame's
   * size), so memory follows the bytes that arrived, not the size a client declared.
   */
  private reserve(total: number): string | null {
    const have = this.frame?.length ?? 0;
    if (total <= have) return null;
    const cap = Math.min(this.need, Math.max(total, have * 2, 4096));
    if (!this.memory.take(cap - this.counted)) {
      return `partial requests of all connections exceed queued.max.request.bytes (${this.memory.limit})`;
    }
    this.counted = cap;
    const next = Buffer.allocUnsafe(cap);
    if (this.frame !== null) this.frame.copy(next, 0, 0, this.frameBytes);
    this.frame = next;
    return null;
  }

  /** Let go of a partial frame (the connection closed). */
  release(): void {
    this.memory.give(this.counted);
    this.counted = 0;
    this.frame = null;
    this.frameBytes = 0;
    this.need = -1;
    this.prefixBytes = 0;
  }

  /**
   * Feed bytes; hands out complete frames (without the size prefix). A frame inside one chunk is
   * a view (no copy); only a frame straddling reads is copied, into memory of its own (a view of
   * each read would keep the whole read buffer alive for a byte of it). Returns an error to close
   * the connection with, or null.
   */
  push(chunk: Buffer, out: (frame: Buffer) => void): string | null {
    let at = 0;
    const n = chunk.length;
    while (at < n) {
      if (this.need < 0) {
        let size: number;
        if (this.prefixBytes === 0 && n - at >= 4) {
          size = chunk.readInt32BE(at);
          const err = this.tooLarge(size);
          if (err !== null) return err;
          if (n - at - 4 >= size) {
            out(chunk.subarray(at + 4, at + 4 + size));
            at += 4 + size;
            continue;
          }
          at += 4;
        } else {
          const take = Math.min(4 - this.prefixBytes, n - at);
          chunk.copy(this.prefix, this.prefixBytes, at, at + take);
          this.prefixBytes += take;
          at += take;
          if (this.prefixBytes < 4) return null;
          this.prefixBytes = 0;
          size = this.prefix.readInt32BE(0);
          const err = this.tooLarge(size);
          if (err !== null) return err;
          if (size === 0) {
            out(Buffer.alloc(0));
            continue;
          }
        }
        this.need = size;
        this.frameBytes = 0;
      }
      const take = Math.min(this.need - this.frameBytes, n - at);
      if (take === 0) break;
      const err = this.reserve(this.frameBytes + take);
      if (err !== null) return err;
      chunk.copy(this.frame!, this.frameBytes, at, at + take);
      this.frameBytes += take;
      at += take;
      if (this.frameBytes === this.need) {
        const frame = this.frame!.subarray(0, this.need);
        this.memory.give(this.counted);
        this.counted = 0;
        this.frame = null;
        this.need = -1;
        this.frameBytes = 0;
        out(frame);
      }
    }
    return null;
  }
}
