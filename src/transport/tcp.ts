// The Kafka protocol over TCP (node:net): 4-byte big-endian length-prefixed frames.
//
//   0  int32  size   bytes that follow (request header + body)
//   4  ...    frame
//
// A frame above socket.request.max.bytes closes the connection with a log line. Reading stops
// while the socket's send buffer is full (the client is not reading) or too many replies wait,
// so a slow client never makes the broker buffer without bound.

import * as net from "node:net";
import { Connection, type Dispatcher, type TransportSink } from "./connection.ts";

/** Above this much unsent reply data, stop reading the client's requests. */
const WRITE_HIGH_WATER = 8 * 1024 * 1024;

export class FrameDecoder {
  /** Pieces of the one frame that straddles socket reads (size prefix included). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the straddling frame once its prefix is known, else -1. */
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  private tooLarge(size: number): string | null {
    return size < 0 || size > this.maxFrameBytes
      ? `request of ${size} bytes exceeds socket.request.max.bytes (${this.maxFrameBytes})`
      : null;
  }

  /**
   * Feed bytes; hands out complete frames (without the size prefix). A frame inside one chunk is
   * a view (no copy); only a frame straddling reads is copied, and only its own bytes.
   */
  push(chunk: Buffer, out: (frame: Buffer) => void): string | null {
    let at = 0;
    if (this.pendingBytes > 0) {
      if (this.need < 0) {
        // Finish the size prefix first.
        const take = Math.min(4 - this.pendingBytes, chunk.length);
        this.pending.push(chunk.subarray(0, take));
        this.pendingBytes += take;
        at = take;
        if (this.pendingBytes < 4) return null;
        const prefix = Buffer.concat(this.pending, 4);
        this.pending = [prefix];
        this.need = prefix.readInt32BE(0);
        const err = this.tooLarge(this.need);
        if (err !== null) return err;
      }
      const total = 4 + this.need;
      const take = Math.min(total - this.pendingBytes, chunk.length - at);
      this.pending.push(chunk.subarray(at, at + take));
      this.pendingBytes += take;
      at += take;
      if (this.pendingBytes < total) return null;
      const frame = Buffer.concat(this.pending, total);
      this.pending = [];
      this.pendingBytes = 0;
      this.need = -1;
      out(frame.subarray(4));
    }
    while (chunk.length - at >= 4) {
      const size = chunk.readInt32BE(at);
      const err = this.tooLarge(size);
      if (err !== null) return err;
      if (chunk.length - at - 4 < size) {
        this.need = size;
        break;
      }
      out(chunk.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    }
    if (at < chunk.length) {
      this.pending.push(chunk.subarray(at));
      this.pendingBytes = chunk.length - at;
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
): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    let pausedByQueue = false;
    let pausedByWrite = false;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
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
        let ok = true;
        const last = chunks.length - 1;
        for (let i = 0; i < last; i++) ok = socket.write(chunks[i]);
        // The write callback runs once libuv is done with the bytes (or the socket died).
        ok = sent === undefined ? socket.write(chunks[last]) : socket.write(chunks[last], () => sent());
        if (!ok || socket.writableLength > WRITE_HIGH_WATER) {
          if (!pausedByWrite) {
            pausedByWrite = true;
            socket.pause();
          }
        }
      },
      close() {
        socket.destroy();
      },
      pause() {
        pausedByQueue = true;
        socket.pause();
      },
      resume() {
        pausedByQueue = false;
        if (!pausedByWrite) socket.resume();
      },
    };
    socket.on("drain", () => {
      if (pausedByWrite) {
        pausedByWrite = false;
        if (!pausedByQueue) socket.resume();
      }
    });
    const conn = new Connection(sink, dispatcher);
    connections.add(conn);
    const decoder = new FrameDecoder(maxFrameBytes);
    const onFrame = (f: Buffer) => conn.onFrame(f);
    socket.on("data", (chunk: Buffer) => {
      const err = decoder.push(chunk, onFrame);
      if (err !== null) conn.fail(err);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
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
