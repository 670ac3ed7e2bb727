// The TCP transport (Node only: node:net, node:tls when the client has `ssl`), plugged in by
// the Node entry. Kafka's framing: each
// request and response is a 4-byte big-endian size followed by that many bytes. Request chunks
// are written corked (one syscall for header and batches, no copy); replies are cut from the
// stream by the broker's FrameDecoder (src/transport/frame_decoder.ts): without copying when a
// reply sits in one chunk, assembled once when it spans several.

import * as net from "node:net";
import * as tls from "node:tls";
import { FrameDecoder } from "../transport/frame_decoder.ts";
import { ConnectionError, tlsRefusal } from "./errors.ts";
import type { PemInput, TlsOptions } from "./security.ts";
import type { TcpConnector, Transport, TransportEvents } from "./transport.ts";

function pem(v: PemInput | undefined): string | Buffer | (string | Buffer)[] | undefined {
  if (v === undefined) return undefined;
  const one = (x: string | Uint8Array) =>
    typeof x === "string" ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return Array.isArray(v) ? v.map(one) : one(v);
}

/** node:tls's options for TlsOptions (the host as SNI name unless it is an IP address). */
export function nodeTlsOptions(host: string, o: TlsOptions): tls.ConnectionOptions {
  const servername = o.servername ?? (net.isIP(host) === 0 ? host : undefined);
  return {
    ca: pem(o.ca),
    cert: pem(o.cert),
    key: pem(o.key),
    passphrase: o.passphrase,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    ...(servername !== undefined ? { servername } : {}),
    // The chain is still checked against `ca`; only the name in the certificate is not.
    ...(o.checkServerName === false ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** Largest reply frame the client accepts (Kafka's int32 frame size; a bigger one is a broken stream). */
const MAX_REPLY_BYTES = 0x7fffffff;

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

export const tcpConnector: TcpConnector = (host, port, events: TransportEvents, timeoutMs, tlsOptions) =>
  new Promise((resolve, reject) => {
    const label = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const socket =
      tlsOptions === null || tlsOptions === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({ host, port, ...nodeTlsOptions(host, tlsOptions) }).setNoDelay(true);
    const transport = new TcpTransport(socket);
    const frames = new FrameDecoder(MAX_REPLY_BYTES);
    let connected = false;
    let lastError: Error | null = null;
    const timer = setTimeout(() => {
      if (connected) return;
      lastError = new Error(`timed out after ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    const onFrame = (f: Buffer) => events.onFrame(f);
    socket.once(socket instanceof tls.TLSSocket ? "secureConnect" : "connect", () => {
      connected = true;
      clearTimeout(timer);
      resolve(transport);
    });
    socket.on("data", (chunk: Buffer) => {
      let problem: string | null;
      try {
        problem = frames.push(chunk, onFrame);
      } catch (e) {
        problem = (e as Error).message;
      }
      if (problem !== null) {
        lastError = new Error(`bad reply stream: ${problem}`);
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
          tlsRefusal(label, lastError) ??
            new ConnectionError(`cannot connect to ${label}: ${lastError?.message ?? "closed"}`, {
              broker: label,
              cause: lastError ?? undefined,
            }),
        );
        return;
      }
      // TLS 1.3: a broker that refuses the client's certificate (or its absence) says so after
      // the handshake completed on the client's side, with an alert.
      events.onClose(
        transport.closedByUs
          ? null
          : (tlsRefusal(label, lastError) ??
              new ConnectionError(
                `connection to ${label} closed${lastError ? `: ${lastError.message}` : " by the broker"}`,
                { broker: label, cause: lastError ?? undefined },
              )),
      );
    });
  });
