// The TCP transport (Node only: node:net, node:tls when the client has `ssl`), plugged in by
// the Node entry. Kafka's framing: each
// request and response is a 4-byte big-endian size followed by that many bytes. Request chunks
// are written corked (one syscall for header and batches, no copy). Replies over plain TCP are
// read by ReplyReader through net's `onread`: the socket reads into one reused 64 KiB buffer, a
// reply that sits whole in it is copied out (small: Produce and metadata replies), and a reply
// that does not (a Fetch reply) gets a buffer of its own into which the socket then reads the
// rest directly, so its bytes are neither allocated per read nor copied again. Over TLS (node:tls
// has no `onread`) replies are cut from 'data' chunks by the broker's FrameDecoder
// (src/transport/frame_decoder.ts): views when a reply sits in one chunk, assembled otherwise.

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
/** The reused buffer plain TCP reads into between replies. */
const SCRATCH_BYTES = 64 * 1024;
/**
 * A reply's own buffer is at most this big at first (then doubled as bytes arrive, up to its
 * size): a broken stream's size prefix cannot make the client reserve 2 GiB it never receives.
 */
const FIRST_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * Kafka's reply framing over net's `onread`: buffer() is the memory the socket reads into next,
 * read(n) says that n bytes arrived there. Frames (without their size prefix) go to `out`, each
 * in memory of its own that no later read touches (records handed to the user are views of it).
 */
export class ReplyReader {
  private readonly scratch: Buffer;
  private readonly prefix = Buffer.alloc(4);
  private prefixBytes = 0;
  /** The reply being read (its own buffer, `filled` bytes of `need` so far), else null. */
  private frame: Buffer | null = null;
  private filled = 0;
  private need = 0;
  /** Whether buffer() last handed out the rest of `frame` (else the scratch buffer). */
  private intoFrame = false;

  constructor(
    private readonly out: (frame: Buffer) => void,
    private readonly maxBytes = MAX_REPLY_BYTES,
    scratchBytes = SCRATCH_BYTES,
    private readonly firstFrameBytes = FIRST_FRAME_BYTES,
  ) {
    this.scratch = Buffer.allocUnsafe(scratchBytes);
  }

  /** Where the next read goes: the rest of the reply being read, else the scratch buffer. */
  buffer(): Buffer {
    const f = this.frame;
    if (f === null) {
      this.intoFrame = false;
      return this.scratch;
    }
    if (this.filled === f.length) {
      // grown as its bytes arrive, doubling, up to its size
      const next = Buffer.allocUnsafe(Math.min(this.need, f.length * 2));
      f.copy(next, 0, 0, this.filled);
      this.frame = next;
    }
    this.intoFrame = true;
    return this.frame!.subarray(this.filled, this.need);
  }

  /** n bytes arrived in the last buffer(); an error (the stream is broken) or null. */
  read(n: number): string | null {
    if (this.intoFrame) {
      this.filled += n;
      if (this.filled === this.need) this.deliver();
      return null;
    }
    const c = this.scratch;
    let at = 0;
    while (at < n) {
      let size: number;
      if (this.prefixBytes === 0 && n - at >= 4) {
        size = c.readInt32BE(at);
        at += 4;
      } else {
        while (this.prefixBytes < 4 && at < n) this.prefix[this.prefixBytes++] = c[at++];
        if (this.prefixBytes < 4) return null;
        this.prefixBytes = 0;
        size = this.prefix.readInt32BE(0);
      }
      if (size < 0 || size > this.maxBytes) return `reply of ${size} bytes exceeds ${this.maxBytes}`;
      const have = Math.min(size, n - at);
      const f = Buffer.allocUnsafe(
        have === size ? size : Math.max(have, Math.min(size, this.firstFrameBytes)),
      );
      c.copy(f, 0, at, at + have);
      at += have;
      this.frame = f;
      this.filled = have;
      this.need = size;
      if (have === size) this.deliver();
    }
    return null;
  }

  private deliver(): void {
    const f = this.frame!;
    this.frame = null;
    this.out(f.length === this.need ? f : f.subarray(0, this.need));
  }
}

/**
 * A transport over a node:net / node:tls socket (TCP here, WebSocket in websocket_node.ts): what
 * both do with the socket besides framing.
 */
export abstract class SocketTransport implements Transport {
  closedByUs = false;

  constructor(protected readonly socket: net.Socket) {}

  abstract send(chunks: readonly Uint8Array[], total: number, onWritten?: () => void): void;
  abstract close(): void;

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }
}

class TcpTransport extends SocketTransport {
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

  close(): void {
    this.closedByUs = true;
    this.socket.destroy();
  }
}

export const tcpConnector: TcpConnector = (host, port, events: TransportEvents, timeoutMs, tlsOptions) =>
  new Promise((resolve, reject) => {
    const label = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    let connected = false;
    let lastError: Error | null = null;
    const onFrame = (f: Buffer) => events.onFrame(f);
    const plain = tlsOptions === null || tlsOptions === undefined;
    // (created before the socket: net asks for the first read buffer while connecting)
    const reader: ReplyReader | null = plain ? new ReplyReader(onFrame) : null;
    const socket = plain
      ? net.connect({
          host,
          port,
          noDelay: true,
          onread: {
            buffer: () => reader!.buffer(),
            callback: (n: number) => {
              let problem: string | null;
              try {
                problem = reader!.read(n);
              } catch (e) {
                problem = (e as Error).message;
              }
              if (problem !== null) {
                lastError = new Error(`bad reply stream: ${problem}`);
                socket.destroy();
                return false;
              }
              return true;
            },
          },
        })
      : tls.connect({ host, port, ...nodeTlsOptions(host, tlsOptions) }).setNoDelay(true);
    const transport = new TcpTransport(socket);
    const frames = new FrameDecoder(MAX_REPLY_BYTES);
    const timer = setTimeout(() => {
      if (connected) return;
      lastError = new Error(`timed out after ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    socket.once(socket instanceof tls.TLSSocket ? "secureConnect" : "connect", () => {
      connected = true;
      clearTimeout(timer);
      resolve(transport);
    });
    // (plain TCP reads through onread above: no 'data' events)
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
