// A lean Redis client over node:net for the benchmark: commands are RESP arrays encoded by
// hand (pipelines pre-built once, sent again and again), and an incremental RESP parser that
// keeps its place across socket reads (a 1.5 MB XRANGE reply is parsed once, not re-parsed
// on every read) and hands bulk strings out as views. Replies are matched to pipelines by
// count: one callback per pipeline, not one per command.

import * as net from "node:net";

const CR = 13;
const LF = 10;
const READ_BUFFER_BYTES = 1 << 20;

export interface ReplyGroup {
  /** Top-level replies still expected. */
  remaining: number;
  /** Every bulk string inside these replies (view, valid during the call), with its depth (1 = top level). */
  onBulk?: (b: Buffer, start: number, end: number, depth: number) => void;
  /** An error reply (-ERR ...). */
  error?: string;
  done: (g: ReplyGroup) => void;
}

export class RedisLean {
  private socket!: net.Socket;
  private acc = Buffer.allocUnsafe(4 << 20);
  private accLen = 0;
  private readonly groups: ReplyGroup[] = [];
  private head = 0;
  /** Open arrays: elements left in each. */
  private readonly stack: number[] = [];
  private failure: Error | null = null;

  static connect(port: number): Promise<RedisLean> {
    const c = new RedisLean();
    return new Promise((resolve, reject) => {
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
          resolve(c);
        },
      );
      c.socket = s;
      s.once("error", reject);
      s.on("error", (e) => c.fail(e));
      s.on("close", () => c.fail(new Error("connection closed by redis-server")));
    });
  }

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
  }

  /** Send pre-encoded commands; `group` receives their `group.remaining` replies. */
  send(commands: Buffer | string, group: ReplyGroup): void {
    if (this.failure) throw this.failure;
    this.groups.push(group);
    this.socket.write(commands);
  }

  /** One command, its reply as a string (simple, bulk or integer; arrays flattened). */
  call(...args: (string | Buffer)[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const out: string[] = [];
      this.send(encodeCommand(args), {
        remaining: 1,
        onBulk: (b, s, e) => out.push(b.toString("utf8", s, e)),
        done: (g) => (g.error ? reject(new Error(`redis: ${g.error}`)) : resolve(out)),
      });
    });
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

  /** An element (or a whole top-level reply) finished: unwind finished arrays. */
  private elementDone(): void {
    const st = this.stack;
    while (st.length > 0) {
      if (--st[st.length - 1] > 0) return;
      st.pop();
    }
    const g = this.groups[this.head];
    if (--g.remaining === 0) {
      this.groups[this.head++] = undefined as never;
      if (this.head > 1024) {
        this.groups.splice(0, this.head);
        this.head = 0;
      }
      g.done(g);
    }
  }

  private parse(b: Buffer, len: number): number {
    let at = 0;
    for (;;) {
      if (at >= len) return at;
      const eol = b.indexOf(LF, at);
      if (eol < 0 || eol >= len) return at;
      const lineEnd = eol - 1; // at CR
      const type = b[at];
      if (type === 36 /* $ bulk */) {
        const n = signedDigits(b, at + 1, lineEnd);
        if (n < 0) {
          at = eol + 1;
        } else {
          const start = eol + 1;
          if (start + n + 2 > len) return at;
          const g = this.groups[this.head];
          g.onBulk?.(b, start, start + n, this.stack.length + 1);
          at = start + n + 2;
        }
        this.elementDone();
      } else if (type === 42 /* * array */) {
        const n = signedDigits(b, at + 1, lineEnd);
        at = eol + 1;
        if (n > 0) this.stack.push(n);
        else this.elementDone();
      } else if (type === 43 /* + simple */ || type === 58 /* : integer */) {
        const g = this.groups[this.head];
        g.onBulk?.(b, at + 1, lineEnd, this.stack.length + 1);
        at = eol + 1;
        this.elementDone();
      } else if (type === 45 /* - error */) {
        const g = this.groups[this.head];
        g.error ??= b.toString("utf8", at + 1, lineEnd);
        at = eol + 1;
        this.elementDone();
      } else {
        throw new Error(`RESP: unexpected byte ${type} ${b[lineEnd] === CR ? "" : "(no CR)"}`);
      }
    }
  }
}

function signedDigits(b: Buffer, from: number, to: number): number {
  let neg = false;
  let i = from;
  if (b[i] === 45) {
    neg = true;
    i++;
  }
  let n = 0;
  for (; i < to; i++) n = n * 10 + (b[i] - 48);
  return neg ? -n : n;
}

/** A RESP array of bulk strings. */
export function encodeCommand(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const v = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${v.length}\r\n`), v, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}
