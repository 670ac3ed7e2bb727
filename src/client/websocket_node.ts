// The WebSocket transport for Node (RFC 6455, client side) straight over node:net / node:tls,
// plugged in by the Node entry for ws:// and wss:// bootstrap addresses. Milena's WebSocket
// listener carries one Kafka frame (without TCP's 4-byte size prefix) per binary message, and
// sends a Fetch reply as a fragmented message: the reply's header, then the record batches as
// they lie in the log, one fragment per chunk.
//
// Why not the `ws` package: its receiver copies each fragment out of the socket's 64 KiB reads and
// then joins the fragments into a new buffer (two copies and two large allocations per reply),
// and the socket allocates a buffer per read. Here, as in tcp.ts's ReplyReader, plain TCP reads
// through net's `onread`: into one reused 64 KiB buffer between messages, and straight into the
// message's own buffer once a fragment header has said how many payload bytes follow. The
// message buffer is sized from the fragment headers (doubling when later fragments outgrow it),
// so a reply of one header fragment and one records fragment is read with no copy of its
// records. Over TLS (node:tls has no `onread`) the decrypted 'data' chunks are copied into the
// same reader.
//
// Frames (RFC 6455 section 5.2), as read and written here:
//
//   byte 0: FIN(1) RSV1-3(3) opcode(4)    0x82 = one whole binary message; 0x02 first fragment,
//                                         0x00 continuation, 0x80 last continuation;
//                                         0x88 close, 0x89 ping, 0x8A pong
//   byte 1: MASK(1) length(7)             length 0-125 as is; 126: uint16 BE follows; 127: uint64 BE
//   [2 or 8 bytes extended length]
//   [4 bytes masking key]                 client -> broker only: every client frame is masked
//   payload
//
// The client's masking key is all zeros, a valid key that leaves the payload as it is, so record
// batches go out by reference with no masking pass (what the Node entry did with the `ws` package
// before: masking protects proxies from script-chosen bytes in browsers, which a Node process
// writing its own frames does not need). Broker frames must be unmasked, without RSV bits (no
// extension is offered), control frames whole and at most 125 bytes (section 5.5).

import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { ConnectionError, tlsRefusal } from "./errors.ts";
import type { TlsOptions } from "./security.ts";
import { nodeTlsOptions, SocketTransport } from "./tcp.ts";
import type { BrokerAddress, Transport, TransportEvents } from "./transport.ts";

/** Largest message accepted from a broker (a Fetch reply). */
export const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
/** The reused buffer the socket reads into between payloads. */
const SCRATCH_BYTES = 64 * 1024;
/**
 * A message's buffer grows by at most this much beyond the bytes received: a broken stream's
 * length field cannot make the client reserve 512 MiB it never receives.
 */
const RESERVE_AHEAD_BYTES = 64 * 1024 * 1024;
/** Most room reserved beyond a fragment that is not its message's last (see WsReader.startFrame). */
const FRAGMENT_SLACK = 64 * 1024;
/** The broker's upgrade answer (status line and headers) must fit in this. */
const MAX_HANDSHAKE_BYTES = 16 * 1024;
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** What the reader tells its socket about (besides whole messages). */
export interface WsReaderEvents {
  /** One whole binary message (a reply frame without its size prefix), in memory of its own. */
  message(data: Buffer): void;
  /** The broker's 101 answer arrived and checked out: frames follow. */
  open(): void;
  /** A ping: answer a pong with this payload. */
  ping(payload: Buffer): void;
  /** The broker's close frame (code 1005 when it gave none). */
  close(code: number, reason: string): void;
}

/** Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2). */
export function acceptFor(key: string): string {
  return createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
}

/**
 * The broker-to-client byte stream over net's `onread`: buffer() is the memory the socket reads
 * into next, read(n) says that n bytes arrived there; returns an error (the stream is broken:
 * the connection must close) or null. First the HTTP upgrade answer, then frames.
 */
export class WsReader {
  private readonly scratch: Buffer;
  private handshake: Buffer | null;
  private handshakeBytes = 0;
  /** A frame header being assembled across reads (at most 2 + 8 bytes; broker frames have no mask). */
  private readonly head = Buffer.alloc(10);
  private headBytes = 0;
  /** The frame whose payload is being read: its opcode, FIN and payload bytes still to come. */
  private opcode = 0;
  private fin = false;
  private left = 0;
  private inFrame = false;
  /** The message being assembled (data frames): its buffer, bytes filled, opcode of its first frame. */
  private msg: Buffer | null = null;
  private filled = 0;
  private msgOpcode = -1;
  /** A control frame's payload (at most 125 bytes). */
  private control: Buffer | null = null;
  private controlBytes = 0;
  /** Whether buffer() last handed out the message's own memory (else the scratch buffer). */
  private intoMessage = false;

  constructor(
    private readonly key: string,
    private readonly events: WsReaderEvents,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
    scratchBytes = SCRATCH_BYTES,
    private readonly reserveAhead = RESERVE_AHEAD_BYTES,
  ) {
    this.scratch = Buffer.allocUnsafe(scratchBytes);
    this.handshake = Buffer.allocUnsafe(MAX_HANDSHAKE_BYTES);
  }

  /** Where the next read goes: the rest of a data fragment being read, else the scratch buffer. */
  buffer(): Buffer {
    if (this.inFrame && this.control === null && this.left > 0 && this.msg !== null) {
      this.room();
      const m = this.msg;
      this.intoMessage = true;
      return m.subarray(this.filled, Math.min(m.length, this.filled + this.left));
    }
    this.intoMessage = false;
    return this.scratch;
  }

  /** n bytes arrived in the last buffer(). */
  read(n: number): string | null {
    if (this.intoMessage) {
      this.filled += n;
      this.left -= n;
      if (this.left === 0) return this.endFrame();
      return null;
    }
    return this.take(this.scratch, 0, n);
  }

  /** Bytes that arrived elsewhere (a TLS socket's 'data' chunk): copied through buffer()/read(). */
  push(chunk: Buffer): string | null {
    let at = 0;
    while (at < chunk.length) {
      const b = this.buffer();
      const n = Math.min(b.length, chunk.length - at);
      chunk.copy(b, 0, at, at + n);
      at += n;
      const problem = this.read(n);
      if (problem !== null) return problem;
    }
    return null;
  }

  /** Make room in the message buffer for the current fragment's next bytes. */
  private room(): void {
    const m = this.msg!;
    if (this.filled < m.length) return;
    const want = this.filled + Math.min(this.left, this.reserveAhead);
    const next = Buffer.allocUnsafe(Math.max(want, Math.min(m.length * 2, this.filled + this.left)));
    m.copy(next, 0, 0, this.filled);
    this.msg = next;
  }

  /** Handle bytes c[at, end) of the scratch buffer. */
  private take(c: Buffer, at: number, end: number): string | null {
    if (this.handshake !== null) {
      const r = this.takeHandshake(c, at, end);
      if (typeof r === "string") return r;
      at = r;
    }
    while (at < end) {
      if (!this.inFrame) {
        // the header: 2 bytes, then 0, 2 or 8 of length
        while (this.headBytes < 2 && at < end) this.head[this.headBytes++] = c[at++];
        if (this.headBytes < 2) return null;
        const len7 = this.head[1] & 0x7f;
        const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
        while (this.headBytes < size && at < end) this.head[this.headBytes++] = c[at++];
        if (this.headBytes < size) return null;
        this.headBytes = 0;
        const problem = this.startFrame(len7);
        if (problem !== null) return problem;
        if (this.left === 0) {
          const p = this.endFrame();
          if (p !== null) return p;
          continue;
        }
      }
      const n = Math.min(this.left, end - at);
      if (this.control !== null) {
        c.copy(this.control, this.controlBytes, at, at + n);
        this.controlBytes += n;
      } else {
        let done = 0;
        while (done < n) {
          this.room();
          const k = Math.min(n - done, this.msg!.length - this.filled);
          c.copy(this.msg!, this.filled, at + done, at + done + k);
          this.filled += k;
          done += k;
        }
      }
      at += n;
      this.left -= n;
      if (this.left === 0) {
        const p = this.endFrame();
        if (p !== null) return p;
      }
    }
    return null;
  }

  /** The header in `head` is whole: check it and set up the payload's destination. */
  private startFrame(len7: number): string | null {
    const b0 = this.head[0];
    if ((b0 & 0x70) !== 0) return "frame with RSV bits set (no extension was agreed)";
    if ((this.head[1] & 0x80) !== 0) return "masked frame from the broker";
    let length: number;
    if (len7 === 126) length = this.head.readUInt16BE(2);
    else if (len7 === 127) {
      const hi = this.head.readUInt32BE(2);
      if (hi > 0x1fffff) return "frame length beyond 2^53";
      length = hi * 2 ** 32 + this.head.readUInt32BE(6);
    } else length = len7;
    const opcode = b0 & 0x0f;
    this.fin = (b0 & 0x80) !== 0;
    this.opcode = opcode;
    this.left = length;
    this.inFrame = true;
    if (opcode >= 0x8) {
      if (opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG)
        return `unknown control opcode ${opcode}`;
      if (!this.fin) return "fragmented control frame";
      if (length > 125) return `control frame of ${length} bytes (at most 125)`;
      this.control = Buffer.allocUnsafe(length);
      this.controlBytes = 0;
      return null;
    }
    if (opcode === OP_TEXT) return "text WebSocket message from the broker (Kafka frames are binary)";
    if (opcode === OP_CONTINUATION) {
      if (this.msgOpcode < 0) return "continuation frame without a message";
    } else if (opcode === OP_BINARY) {
      if (this.msgOpcode >= 0) return "new message before the last one's final fragment";
      this.msgOpcode = opcode;
    } else return `unknown data opcode ${opcode}`;
    if (this.filled + length > this.maxBytes)
      return `message of more than ${this.maxBytes} bytes from the broker`;
    // Room for this fragment, and when more follow, some slack beyond it (an eighth of the
    // fragment, 256 B to 64 KiB): a Fetch reply's fragments are [reply header, records, a few
    // trailing bytes], and the trailer then lands in the slack instead of making the records
    // move. A message that keeps growing doubles. (Small messages stay small: Node pools
    // allocations under 4 KiB, while a large one per reply is a fresh ArrayBuffer whose external
    // memory makes the GC run: W4's 1,000 small fetch replies a second over 64 KiB each ran a
    // scavenge every few ms.)
    const want = this.filled + Math.min(length, this.reserveAhead);
    const m = this.msg;
    if (m !== null && m.length >= want) return null;
    const slack = Math.min(FRAGMENT_SLACK, 256 + (length >>> 3));
    const cap = this.fin ? want : Math.max(want + slack, m === null ? 0 : m.length * 2);
    const next = Buffer.allocUnsafe(Math.max(Math.min(cap, this.maxBytes), want, 1));
    if (m !== null) m.copy(next, 0, 0, this.filled);
    this.msg = next;
    return null;
  }

  /** The current frame's payload is all here. */
  private endFrame(): string | null {
    this.inFrame = false;
    const ctl = this.control;
    if (ctl !== null) {
      this.control = null;
      if (this.opcode === OP_PING) this.events.ping(ctl);
      else if (this.opcode === OP_CLOSE) {
        if (ctl.length === 1) return "close frame with a 1-byte payload";
        const code = ctl.length >= 2 ? ctl.readUInt16BE(0) : 1005;
        this.events.close(code, ctl.toString("utf8", 2));
      }
      return null;
    }
    if (!this.fin) return null;
    const m = this.msg!;
    const n = this.filled;
    this.msg = null;
    this.filled = 0;
    this.msgOpcode = -1;
    this.events.message(m.length === n ? m : m.subarray(0, n));
    return null;
  }

  /** The HTTP answer to the upgrade, up to its blank line; returns where frames start in c. */
  private takeHandshake(c: Buffer, at: number, end: number): number | string {
    const h = this.handshake!;
    const before = this.handshakeBytes;
    const n = Math.min(end - at, h.length - before);
    c.copy(h, this.handshakeBytes, at, at + n);
    const from = Math.max(0, before - 3);
    this.handshakeBytes += n;
    const blank = h.subarray(0, this.handshakeBytes).indexOf("\r\n\r\n", from, "latin1");
    if (blank < 0) {
      if (this.handshakeBytes === h.length)
        return `the broker's WebSocket upgrade answer exceeds ${h.length} bytes`;
      return end;
    }
    const text = h.toString("latin1", 0, blank);
    this.handshake = null;
    const lines = text.split("\r\n");
    const status = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (status === null)
      return `not an HTTP answer to the WebSocket upgrade: ${JSON.stringify(lines[0].slice(0, 80))}`;
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (status[1] !== "101") {
      // the body (e.g. uWebSockets.js's "origin not allowed") says why, when it came along
      const bodyEnd = Math.min(this.handshakeBytes, blank + 4 + 200);
      const body = h.toString("utf8", blank + 4, bodyEnd).trim();
      return `the broker refused the WebSocket upgrade: HTTP ${status[1]}${status[2] ? ` ${status[2]}` : ""}${body ? `: ${body}` : ""}`;
    }
    if ((headers.get("upgrade") ?? "").toLowerCase() !== "websocket")
      return "the broker's 101 answer lacks Upgrade: websocket";
    if (headers.get("sec-websocket-accept") !== acceptFor(this.key))
      return "the broker's Sec-WebSocket-Accept does not match the key sent";
    if (headers.has("sec-websocket-extensions"))
      return "the broker agreed an extension the client did not offer";
    this.events.open();
    // frames that came in the same read as the answer
    return at + (blank + 4 - before);
  }
}

/** The upgrade request (RFC 6455 section 4.1) for `host` (with its port) and `path`. */
export function upgradeRequest(host: string, path: string, key: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/**
 * One frame header with a zero masking key, for a payload of `length` bytes (the client sends
 * each message whole, FIN set).
 */
export function frameHeader(opcode: number, length: number): Buffer {
  const ext = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + 4);
  h[0] = 0x80 | opcode;
  if (ext === 0) h[1] = 0x80 | length;
  else if (ext === 2) {
    h[1] = 0x80 | 126;
    h.writeUInt16BE(length, 2);
  } else {
    h[1] = 0x80 | 127;
    h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    h.writeUInt32BE(length >>> 0, 6);
  }
  return h; // the last 4 bytes, the masking key, stay zero
}

class NodeWebSocketTransport extends SocketTransport {
  send(chunks: readonly Uint8Array[], total: number, onWritten?: () => void): void {
    const s = this.socket;
    if (s.destroyed) throw new ConnectionError("WebSocket is not open");
    s.cork();
    // TCP's size prefix becomes the frame header: the message length is the size.
    s.write(frameHeader(OP_BINARY, total - 4));
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = i === 0 ? chunks[0].subarray(4) : chunks[i];
      if (i === last) s.write(c, onWritten);
      else if (c.length > 0) s.write(c);
    }
    s.uncork();
  }

  /** A control frame (pong, close), written at once. */
  control(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(Buffer.concat([frameHeader(opcode, payload.length), payload]));
  }

  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    const s = this.socket;
    if (s.destroyed) return;
    // a close frame (1000, normal closure), then the TCP close: the broker need not wait for an
    // answer the client will not read
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000, 0);
    s.end(Buffer.concat([frameHeader(OP_CLOSE, 2), code]));
    setTimeout(() => s.destroy(), 1000).unref();
  }
}

/** Open a WebSocket transport to `address` (ws:// or wss://; `tls` for wss://). */
export function connectNodeWebSocket(
  address: BrokerAddress,
  events: TransportEvents,
  timeoutMs: number,
  tlsOptions: TlsOptions | null,
): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const url = new URL(address.url);
    const secure = url.protocol === "wss:";
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = url.port !== "" ? Number(url.port) : secure ? 443 : 80;
    const key = randomBytes(16).toString("base64");
    let opened = false;
    let lastError: Error | null = null;
    let closeFrame: string | null = null;
    const reader = new WsReader(key, {
      // (after close(), replies still on the way are dropped, as a destroyed TCP socket drops them)
      message: (m) => {
        if (!transport.closedByUs) events.onFrame(m);
      },
      open: () => {
        opened = true;
        clearTimeout(timer);
        resolve(transport);
      },
      ping: (payload) => transport.control(OP_PONG, payload),
      close: (code, reason) => {
        closeFrame = `closed by the broker (${code}${reason ? ` ${reason}` : ""})`;
        if (!transport.closedByUs)
          transport.control(
            OP_CLOSE,
            code === 1005 ? Buffer.alloc(0) : Buffer.from([code >> 8, code & 0xff]),
          );
        socket.end();
      },
    });
    const broken = (problem: string) => {
      lastError = new Error(problem);
      socket.destroy();
    };
    const onRead = (n: number): boolean => {
      let problem: string | null;
      try {
        problem = reader.read(n);
      } catch (e) {
        problem = (e as Error).message;
      }
      if (problem !== null) {
        broken(problem);
        return false;
      }
      return true;
    };
    // (the reader exists before the socket: net asks for the first read buffer while connecting)
    const socket: net.Socket = secure
      ? tls.connect({ host, port, ...(tlsOptions !== null ? nodeTlsOptions(host, tlsOptions) : {}) })
      : net.connect({ host, port, onread: { buffer: () => reader.buffer(), callback: onRead } });
    socket.setNoDelay(true);
    const transport = new NodeWebSocketTransport(socket);
    const timer = setTimeout(() => {
      if (opened) return;
      lastError = new Error(`timed out after ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    socket.once(secure ? "secureConnect" : "connect", () => {
      socket.write(upgradeRequest(url.host, `${url.pathname || "/"}${url.search}`, key), "latin1");
    });
    // (plain TCP reads through onread above: no 'data' events)
    socket.on("data", (chunk: Buffer) => {
      let problem: string | null;
      try {
        problem = reader.push(chunk);
      } catch (e) {
        problem = (e as Error).message;
      }
      if (problem !== null) broken(problem);
    });
    socket.on("error", (e) => {
      lastError = e;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (!opened) {
        reject(
          tlsRefusal(address.label, lastError) ??
            new ConnectionError(
              `cannot connect to ${address.label}: ${lastError?.message ?? closeFrame ?? "closed"}`,
              { broker: address.label, cause: lastError ?? undefined },
            ),
        );
        return;
      }
      events.onClose(
        transport.closedByUs
          ? null
          : (tlsRefusal(address.label, lastError) ??
              new ConnectionError(
                `connection to ${address.label} ${lastError ? `closed: ${lastError.message}` : (closeFrame ?? "closed by the broker")}`,
                { broker: address.label, cause: lastError ?? undefined },
              )),
      );
    });
  });
}
