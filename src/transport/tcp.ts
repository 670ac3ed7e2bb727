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
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feed bytes; returns complete frames (views, no copy when a frame sits in one chunk). */
  push(chunk: Buffer, out: (frame: Buffer) => void): string | null {
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.need >= 0 ? this.pendingBytes < this.need + 4 : this.pendingBytes < 4) return null;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let at = 0;
    while (buf.length - at >= 4) {
      const size = buf.readInt32BE(at);
      if (size < 0 || size > this.maxFrameBytes) {
        return `request of ${size} bytes exceeds socket.request.max.bytes (${this.maxFrameBytes})`;
      }
      if (buf.length - at - 4 < size) {
        this.need = size;
        break;
      }
      out(buf.subarray(at + 4, at + 4 + size));
      at += 4 + size;
      this.need = -1;
    }
    if (at < buf.length) {
      this.pending.push(buf.subarray(at));
      this.pendingBytes = buf.length - at;
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
    const sink: TransportSink = {
      remote,
      listener: "PLAINTEXT",
      send(chunks) {
        let ok = true;
        if (chunks.length === 1) ok = socket.write(chunks[0]);
        else {
          socket.cork();
          for (const c of chunks) ok = socket.write(c);
          process.nextTick(() => socket.uncork());
        }
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
