// A lean NATS client over node:net for the benchmark: the NATS text protocol written by hand
// (CONNECT, PUB with a reply subject, SUB, PING/PONG) and a parser that hands out MSG/HMSG
// payloads as views of its read buffer. JetStream is driven through its request subjects
// ($JS.API.*) and by publishing to a stream's subject with a reply subject: the server answers
// each stored message there with {"stream":..,"seq":..}. Nothing here allocates per message
// on the hot paths, so the server, not this client, sets the figures measured with it.

import { randomBytes } from "node:crypto";
import * as net from "node:net";

const CR = 13;
const LF = 10;
const SPACE = 32;
const READ_BUFFER_BYTES = 1 << 20;

/** A delivered message: payload is a view, valid only during the call. */
export type MsgHandler = (payload: Buffer, status: number, reply: string | null) => void;

export class NatsLean {
  private socket!: net.Socket;
  private acc = Buffer.allocUnsafe(4 << 20);
  private accLen = 0;
  private readonly subs = new Map<number, MsgHandler>();
  private nextSid = 1;
  private readonly pongs: (() => void)[] = [];
  private readonly requests = new Map<string, (payload: Buffer) => void>();
  private requestSeq = 0;
  private failure: Error | null = null;
  /** Prefix of this connection's inboxes. */
  readonly inbox = `_INBOX.${randomBytes(6).toString("hex")}`;
  /** Whether handlers want the reply subject (costs a string per message). */
  wantReply = false;

  static async connect(port: number): Promise<NatsLean> {
    const c = new NatsLean();
    let info: () => void = () => {};
    const gotInfo = new Promise<void>((resolve) => {
      info = resolve;
    });
    c.onInfo = info;
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(
        {
          host: "127.0.0.1",
          port,
          noDelay: true,
          onread: {
            buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
            callback: (n: number, buf: Uint8Array) => {
              c.onBytes(buf as Buffer, n);
              return true;
            },
          },
        },
        () => {
          s.off("error", reject);
          resolve();
        },
      );
      c.socket = s;
      s.once("error", reject);
      s.on("error", (e) => c.fail(e));
      s.on("close", () => c.fail(new Error("connection closed by nats-server")));
    });
    await gotInfo;
    c.socket.write(
      `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, lang: "milena-bench", version: "0" })}\r\n`,
    );
    c.subscribe(`${c.inbox}.r.*`, () => {}, true);
    await c.flush();
    return c;
  }

  private onInfo: () => void = () => {};

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
  }

  /** Subscribe; `requests` marks the request-reply inbox (routed by reply token). */
  subscribe(subject: string, handler: MsgHandler, requests = false): number {
    const sid = this.nextSid++;
    this.subs.set(sid, requests ? (p, _s, _r) => this.onRequestReply(p) : handler);
    if (requests) this.requestSid = sid;
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  unsubscribe(sid: number): void {
    this.subs.delete(sid);
    this.socket.write(`UNSUB ${sid}\r\n`);
  }

  private requestSid = -1;
  private lastSubject = "";

  private onRequestReply(payload: Buffer): void {
    const token = this.lastSubject.slice(this.lastSubject.lastIndexOf(".") + 1);
    const cb = this.requests.get(token);
    if (cb === undefined) return;
    this.requests.delete(token);
    cb(Buffer.from(payload));
  }

  /** Write raw protocol bytes (pre-built PUB frames). */
  write(buf: Buffer | string): boolean {
    if (this.failure) throw this.failure;
    return this.socket.write(buf);
  }

  /** PING, resolve at its PONG: everything written before has been processed by the server. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.socket.write("PING\r\n");
    });
  }

  /** A JetStream API request: JSON in, parsed JSON out; rejects on {"error":...}. */
  async request<T = Record<string, unknown>>(subject: string, body: unknown, timeoutMs = 30_000): Promise<T> {
    const token = String(++this.requestSeq);
    const data = body === undefined ? "" : JSON.stringify(body);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(token);
        reject(new Error(`NATS request ${subject}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.requests.set(token, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
      this.write(`PUB ${subject} ${this.inbox}.r.${token} ${Buffer.byteLength(data)}\r\n${data}\r\n`);
    });
    const json = JSON.parse(reply.toString() || "{}") as T & { error?: { description?: string } };
    if (json.error)
      throw new Error(`NATS ${subject}: ${json.error.description ?? JSON.stringify(json.error)}`);
    return json;
  }

  close(): void {
    this.failure = new Error("closed");
    this.socket.destroy();
  }

  private grow(need: number): void {
    if (need <= this.acc.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.acc.length * 2));
    this.acc.copy(next, 0, 0, this.accLen);
    this.acc = next;
  }

  private onBytes(chunk: Buffer, n: number): void {
    this.grow(this.accLen + n);
    chunk.copy(this.acc, this.accLen, 0, n);
    this.accLen += n;
    const used = this.parse(this.acc, this.accLen);
    if (used > 0) {
      if (used < this.accLen) this.acc.copy(this.acc, 0, used, this.accLen);
      this.accLen -= used;
    }
  }

  /** Parse whole protocol messages in b[0, len); returns the bytes consumed. */
  private parse(b: Buffer, len: number): number {
    let at = 0;
    for (;;) {
      const eol = b.indexOf(LF, at);
      if (eol < 0 || eol >= len) return at;
      const lineEnd = b[eol - 1] === CR ? eol - 1 : eol;
      const op = b[at];
      if (op === 77 /* M */ || op === 72 /* H */) {
        const hmsg = op === 72;
        // MSG <subject> <sid> [reply] <bytes> | HMSG <subject> <sid> [reply] <hdr bytes> <total bytes>
        const s1 = b.indexOf(SPACE, at);
        const s2 = b.indexOf(SPACE, s1 + 1);
        const s3 = b.indexOf(SPACE, s2 + 1);
        let lastSpace = lineEnd - 1;
        while (b[lastSpace] !== SPACE) lastSpace--;
        const total = digits(b, lastSpace + 1, lineEnd);
        let hdrBytes = 0;
        let before = lastSpace;
        if (hmsg) {
          let p = lastSpace - 1;
          while (b[p] !== SPACE) p--;
          hdrBytes = digits(b, p + 1, lastSpace);
          before = p;
        }
        // Tokens between the sid and the size(s): a reply subject when there is one.
        const sid = digits(b, s2 + 1, s3 > 0 && s3 < before ? s3 : before);
        const hasReply = s3 > 0 && s3 < before;
        const start = eol + 1;
        if (start + total + 2 > len) return at;
        const handler = this.subs.get(sid);
        if (handler !== undefined) {
          let status = 0;
          if (hmsg && hdrBytes >= 12) {
            // "NATS/1.0 404 No Messages\r\n..." : a status, not a message.
            const c = b[start + 9];
            if (c >= 48 && c <= 57) status = digits(b, start + 9, start + 12);
          }
          if (sid === this.requestSid) this.lastSubject = b.toString("latin1", s1 + 1, s2);
          const reply = hasReply && this.wantReply ? b.toString("latin1", s3 + 1, before) : null;
          handler(b.subarray(start + hdrBytes, start + total), status, reply);
        }
        at = start + total + 2;
        continue;
      }
      if (op === 80 /* P */) {
        if (b[at + 1] === 73 /* I: PING */) this.socket.write("PONG\r\n");
        else this.pongs.shift()?.();
      } else if (op === 73 /* INFO */) {
        this.onInfo();
      } else if (op === 45 /* -ERR */) {
        this.fail(new Error(`nats-server: ${b.toString("latin1", at, lineEnd)}`));
        process.stderr.write(`nats-server: ${b.toString("latin1", at, lineEnd)}\n`);
      }
      at = eol + 1;
    }
  }
}

function digits(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (b[i] - 48);
  return n;
}

/** One PUB frame: PUB <subject> <reply> <size>\r\n<payload>\r\n. */
export function pubFrame(subject: string, reply: string, payload: Buffer): Buffer {
  const head = Buffer.from(`PUB ${subject} ${reply} ${payload.length}\r\n`);
  return Buffer.concat([head, payload, Buffer.from("\r\n")]);
}

/** JetStream stream config: file storage, limits retention (as a log). */
export function streamConfig(name: string, subjects: string[]): Record<string, unknown> {
  return {
    name,
    subjects,
    retention: "limits",
    storage: "file",
    discard: "old",
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    num_replicas: 1,
  };
}
