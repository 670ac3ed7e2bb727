// The Kafka protocol over TCP (node:net): 4-byte big-endian length-prefixed frames.
//
//   0  int32  size   bytes that follow (request header + body)
//   4  ...    frame
//
// A frame above socket.request.max.bytes closes the connection with a log line. A frame that
// straddles socket reads is assembled in memory of its own, counted against the broker-wide
// queued.max.request.bytes. Reading stops while the socket's send buffer is full (the client is
// not reading) or the Connection says wait, so a slow client never makes the broker buffer
// without bound.

import * as net from "node:net";
import { type Admission, Connection, type Dispatcher, OPEN_DOOR, type TransportSink } from "./connection.ts";
import { RequestMemory } from "./request_memory.ts";

/** Above this much unsent reply data, stop reading the client's requests. */
const WRITE_HIGH_WATER = 8 * 1024 * 1024;

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

  constructor(
    private readonly maxFrameBytes: number,
    private readonly memory: RequestMemory = new RequestMemory(-1),
  ) {}

  private tooLarge(size: number): string | null {
    return size < 0 || size > this.maxFrameBytes
      ? `request of ${size} bytes exceeds socket.request.max.bytes (${this.maxFrameBytes})`
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

export function startTcpListener(
  host: string,
  port: number,
  maxFrameBytes: number,
  dispatcher: Dispatcher,
  connections: Set<Connection>,
  admission: Admission = OPEN_DOOR,
): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const ip = socket.remoteAddress ?? "";
    const refused = admission.admit(ip);
    if (refused !== null) {
      dispatcher.logger.limited("refused connection", `refused connection from ${remote}: ${refused}`);
      socket.destroy();
      return;
    }
    let pausedByConnection = false;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    let conn: Connection;
    const sink: TransportSink = {
      remote,
      listener: "PLAINTEXT",
      send(chunks, _length, sent) {
        // Replies finished in the same tick (a writer's completion report answers many produce
        // requests at once) leave in one writev.
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        const last = chunks.length - 1;
        for (let i = 0; i < last; i++) socket.write(chunks[i]);
        // The write callback runs once libuv is done with the bytes (or the socket died).
        if (sent === undefined) socket.write(chunks[last]);
        else socket.write(chunks[last], () => sent());
        if (socket.writableLength > WRITE_HIGH_WATER) conn.setSendBlocked(true);
      },
      close() {
        socket.destroy();
      },
      pause() {
        pausedByConnection = true;
        socket.pause();
      },
      resume() {
        pausedByConnection = false;
        socket.resume();
      },
    };
    socket.on("drain", () => {
      if (socket.writableLength <= WRITE_HIGH_WATER) conn.setSendBlocked(false);
    });
    conn = new Connection(sink, dispatcher);
    connections.add(conn);
    const decoder = new FrameDecoder(maxFrameBytes, dispatcher.requests);
    const onFrame = (f: Buffer) => conn.onFrame(f);
    socket.on("data", (chunk: Buffer) => {
      conn.touch();
      const err = decoder.push(chunk, onFrame);
      if (err !== null) conn.fail(err);
      // A paused connection takes no more reads (frames of this read already wait in it).
      else if (pausedByConnection && !socket.isPaused()) socket.pause();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      admission.left(ip);
      decoder.release();
      conn.destroy();
      connections.delete(conn);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
