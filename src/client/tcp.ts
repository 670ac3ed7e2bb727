// The TCP transport (Node only: node:net), plugged in by the Node entry. Kafka's framing: each
// request and response is a 4-byte big-endian size followed by that many bytes. Request chunks
// are written corked (one syscall for header and batches, no copy); replies are cut from the
// stream without copying when a reply sits in one chunk, and joined once when it spans several.

import * as net from "node:net";
import { ConnectionError } from "./errors.ts";
import type { TcpConnector, Transport, TransportEvents } from "./transport.ts";

class FrameCutter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private need = -1;

  push(chunk: Buffer, out: (frame: Buffer) => void): void {
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.need >= 0 ? this.pendingBytes < this.need + 4 : this.pendingBytes < 4) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let at = 0;
    while (buf.length - at >= 4) {
      const size = buf.readInt32BE(at);
      if (size < 0) throw new Error(`negative frame size ${size}`);
      if (buf.length - at - 4 < size) {
        this.need = size;
        break;
      }
      this.need = -1;
      out(buf.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    }
    if (at < buf.length) {
      this.pending.push(buf.subarray(at));
      this.pendingBytes = buf.length - at;
    }
  }
}

class TcpTransport implements Transport {
  closedByUs = false;

  constructor(private readonly socket: net.Socket) {}

  send(chunks: readonly Uint8Array[], _total: number, onWritten?: () => void): void {
    const s = this.socket;
    if (s.destroyed) throw new ConnectionError("TCP connection is closed");
    if (chunks.length === 1) {
      s.write(chunks[0], onWritten);
      return;
    }
    s.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) s.write(chunks[i]);
    s.write(chunks[last], onWritten);
    s.uncork();
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  close(): void {
    this.closedByUs = true;
    this.socket.destroy();
  }
}

export const tcpConnector: TcpConnector = (host, port, events: TransportEvents, timeoutMs) =>
  new Promise((resolve, reject) => {
    const label = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const socket = net.connect({ host, port, noDelay: true });
    const transport = new TcpTransport(socket);
    const cutter = new FrameCutter();
    let connected = false;
    let lastError: Error | null = null;
    const timer = setTimeout(() => {
      if (connected) return;
      lastError = new Error(`timed out after ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    const onFrame = (f: Buffer) => events.onFrame(f);
    socket.once("connect", () => {
      connected = true;
      clearTimeout(timer);
      resolve(transport);
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        cutter.push(chunk, onFrame);
      } catch (e) {
        lastError = e as Error;
        socket.destroy();
      }
    });
    socket.on("error", (e) => {
      lastError = e;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (!connected) {
        reject(
          new ConnectionError(`cannot connect to ${label}: ${lastError?.message ?? "closed"}`, {
            broker: label,
            cause: lastError ?? undefined,
          }),
        );
        return;
      }
      events.onClose(
        transport.closedByUs
          ? null
          : new ConnectionError(
              `connection to ${label} closed${lastError ? `: ${lastError.message}` : " by the broker"}`,
              { broker: label, cause: lastError ?? undefined },
            ),
      );
    });
  });
