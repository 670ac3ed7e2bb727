// WsReader (src/client/websocket_node.ts): the Node client's WebSocket framing over net's
// `onread`. The "socket" here fills whatever buffer() hands out with the next bytes of a stream
// (the broker's upgrade answer, then its frames), in reads of varying sizes; every message must
// come out whole, equal to what was sent, in order, unchanged by later reads; pings, closes and
// broken streams must be told; and a Fetch reply's records must be read straight into the
// message's own memory.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { acceptFor, frameHeader, WsReader, type WsReaderEvents } from "../../src/client/websocket_node.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function answer(accept = acceptFor(KEY), status = "101 Switching Protocols", extra = ""): Buffer {
  return Buffer.from(
    `HTTP/1.1 ${status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${extra}\r\n`,
    "latin1",
  );
}

/** A broker frame (unmasked): byte 0 as given, the payload length in the shortest form. */
function frame(b0: number, payload: Buffer, forceLong = false): Buffer {
  const n = payload.length;
  let h: Buffer;
  if (forceLong) {
    h = Buffer.alloc(10);
    h[1] = 127;
    h.writeUInt32BE(0, 2);
    h.writeUInt32BE(n, 6);
  } else if (n < 126) h = Buffer.from([0, n]);
  else if (n < 0x10000) {
    h = Buffer.alloc(4);
    h[1] = 126;
    h.writeUInt16BE(n, 2);
  } else {
    h = Buffer.alloc(10);
    h[1] = 127;
    h.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    h.writeUInt32BE(n >>> 0, 6);
  }
  h[0] = b0;
  return Buffer.concat([h, payload]);
}

/** A binary message as fragments of the given sizes (their sum is the message). */
function fragments(body: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < cuts.length; i++) {
    const last = i === cuts.length - 1;
    const op = i === 0 ? 0x2 : 0x0;
    out.push(frame((last ? 0x80 : 0) | op, body.subarray(at, at + cuts[i])));
    at += cuts[i];
  }
  assert.equal(at, body.length);
  return out;
}

interface Seen {
  messages: Buffer[];
  pings: Buffer[];
  closes: [number, string][];
  opened: number;
}

function reader(opts: { maxBytes?: number; scratch?: number; reserve?: number } = {}): {
  r: WsReader;
  seen: Seen;
} {
  const seen: Seen = { messages: [], pings: [], closes: [], opened: 0 };
  const events: WsReaderEvents = {
    message: (m) => seen.messages.push(m),
    open: () => seen.opened++,
    ping: (p) => seen.pings.push(Buffer.from(p)),
    close: (code, reason) => seen.closes.push([code, reason]),
  };
  return { r: new WsReader(KEY, events, opts.maxBytes, opts.scratch ?? 64, opts.reserve), seen };
}

/** Feed bytes in reads of at most maxRead(i); the first problem, or null. */
function feed(r: WsReader, bytes: Buffer, maxRead: (i: number) => number, handed?: Buffer[]): string | null {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const into = r.buffer();
    handed?.push(into);
    assert.ok(into.length > 0, "buffer() handed out no room");
    const n = Math.min(into.length, maxRead(i), bytes.length - at);
    bytes.copy(into, 0, at, at + n);
    at += n;
    const problem = r.read(n);
    if (problem !== null) return problem;
  }
  return null;
}

test("WsReader: messages of every length form, whole and fragmented, pings between fragments, reads of every size", () => {
  const sizes = [0, 1, 125, 126, 127, 200, 65535, 65536, 70000, 3, 0, 1000];
  for (const maxRead of [1, 2, 3, 7, 10, 64, 100, 1 << 20]) {
    const bodies = sizes.map((n) => randomBytes(n));
    const parts: Buffer[] = [answer()];
    bodies.forEach((b, i) => {
      if (i % 3 === 0) parts.push(frame(0x82, b, i % 2 === 0));
      else {
        const cuts = [Math.floor(b.length / 3), 0, b.length - Math.floor(b.length / 3)];
        const f = fragments(b, cuts);
        // a ping and a pong between fragments (control frames may interleave, section 5.4)
        parts.push(f[0], frame(0x89, Buffer.from(`p${i}`)), f[1], frame(0x8a, Buffer.alloc(0)), f[2]);
      }
    });
    const { r, seen } = reader();
    assert.equal(
      feed(r, Buffer.concat(parts), () => maxRead),
      null,
    );
    assert.equal(seen.opened, 1);
    assert.equal(seen.messages.length, bodies.length, `reads of ${maxRead}`);
    for (let i = 0; i < bodies.length; i++)
      assert.ok(
        seen.messages[i].equals(bodies[i]),
        `message ${i} (${bodies[i].length} B), reads of ${maxRead}`,
      );
    assert.deepEqual(
      seen.pings.map((p) => p.toString()),
      bodies.map((_, i) => (i % 3 === 0 ? null : `p${i}`)).filter((x) => x !== null),
    );
  }
});

test("WsReader: random fragmentations and reads give back the same messages", () => {
  for (let round = 0; round < 20; round++) {
    const bodies = Array.from({ length: 30 }, () =>
      randomBytes(
        Math.random() < 0.2 ? Math.floor(Math.random() * 300_000) : Math.floor(Math.random() * 300),
      ),
    );
    const parts: Buffer[] = [answer()];
    for (const b of bodies) {
      const cuts: number[] = [];
      let left = b.length;
      const pieces = 1 + Math.floor(Math.random() * 4);
      for (let i = 0; i < pieces - 1; i++) {
        const c = Math.floor(Math.random() * (left + 1));
        cuts.push(c);
        left -= c;
      }
      cuts.push(left);
      parts.push(...fragments(b, cuts));
    }
    const { r, seen } = reader({ scratch: 1024, reserve: 4096 });
    const sizes = [1, 13, 1000, 4096, 70_000];
    assert.equal(
      feed(r, Buffer.concat(parts), () => sizes[Math.floor(Math.random() * sizes.length)]),
      null,
    );
    assert.equal(seen.messages.length, bodies.length);
    for (let i = 0; i < bodies.length; i++)
      assert.ok(seen.messages[i].equals(bodies[i]), `round ${round} message ${i}`);
  }
});

test("WsReader: a Fetch reply's records ([header, records, trailer] fragments) are read into the message's own memory, no copy", () => {
  const records = randomBytes(1 << 20);
  const body = Buffer.concat([randomBytes(59), records, randomBytes(3)]);
  const { r, seen } = reader({ scratch: 64 * 1024 });
  const handed: Buffer[] = [];
  assert.equal(
    feed(r, Buffer.concat([answer(), ...fragments(body, [59, records.length, 3])]), () => 64 * 1024, handed),
    null,
  );
  assert.equal(seen.messages.length, 1);
  const m = seen.messages[0];
  assert.ok(m.equals(body));
  // every read after the first went straight into the delivered message's memory
  const direct = handed.filter((b) => b.buffer === m.buffer);
  assert.ok(
    direct.length >= handed.length - 2,
    `${direct.length} of ${handed.length} reads went into the message`,
  );
  const others = new Set(handed.filter((b) => b.buffer !== m.buffer).map((b) => b.buffer));
  assert.equal(others.size, 1, "only the scratch buffer besides the message: the message never moved");
});

test("WsReader: the upgrade answer: frames in the same read, refusals and bad answers", () => {
  {
    const { r, seen } = reader();
    assert.equal(
      feed(r, Buffer.concat([answer(), frame(0x82, Buffer.from("hi"))]), () => 1 << 20),
      null,
    );
    assert.equal(seen.opened, 1);
    assert.equal(seen.messages[0].toString(), "hi");
  }
  const refused = Buffer.from(
    "HTTP/1.1 403 Forbidden\r\nContent-Length: 18\r\n\r\norigin not allowed",
    "latin1",
  );
  assert.equal(
    feed(reader().r, refused, () => 1 << 20),
    "the broker refused the WebSocket upgrade: HTTP 403 Forbidden: origin not allowed",
  );
  assert.match(feed(reader().r, answer("AAAA"), () => 5) ?? "", /Sec-WebSocket-Accept does not match/);
  assert.match(
    feed(
      reader().r,
      answer(undefined, undefined, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
      () => 9,
    ) ?? "",
    /extension/,
  );
  assert.match(
    feed(reader().r, Buffer.from("SSH-2.0-OpenSSH\r\n\r\n"), () => 100) ?? "",
    /not an HTTP answer/,
  );
  assert.match(feed(reader().r, Buffer.alloc(20_000, 0x41), () => 1000) ?? "", /exceeds 16384 bytes/);
});

test("WsReader: broken frame streams are refused, and a huge length reserves only what arrives", () => {
  const bad = (frames: Buffer[], opts = {}) =>
    feed(reader(opts).r, Buffer.concat([answer(), ...frames]), () => 1 << 20);
  const masked = frame(0x82, Buffer.from("abcd"));
  masked[1] |= 0x80;
  assert.match(bad([masked]) ?? "", /masked frame/);
  assert.match(bad([frame(0xc2, Buffer.from("x"))]) ?? "", /RSV/);
  assert.match(bad([frame(0x81, Buffer.from("text"))]) ?? "", /text WebSocket message/);
  assert.match(bad([frame(0x80, Buffer.from("x"))]) ?? "", /continuation frame without a message/);
  assert.match(
    bad([frame(0x02, Buffer.from("a")), frame(0x82, Buffer.from("b"))]) ?? "",
    /before the last one's final/,
  );
  assert.match(bad([frame(0x89, Buffer.alloc(126))]) ?? "", /control frame of 126 bytes/);
  assert.match(bad([frame(0x09, Buffer.from("x"))]) ?? "", /fragmented control frame/);
  assert.match(bad([frame(0x83, Buffer.from("x"))]) ?? "", /unknown data opcode 3/);
  assert.match(bad([frame(0x8b, Buffer.from("x"))]) ?? "", /unknown control opcode 11/);
  assert.match(bad([frame(0x88, Buffer.from([3]))]) ?? "", /1-byte payload/);
  assert.match(bad([frame(0x82, Buffer.alloc(2000))], { maxBytes: 1000 }) ?? "", /more than 1000 bytes/);
  assert.match(
    bad([frame(0x02, Buffer.alloc(600)), frame(0x80, Buffer.alloc(600))], { maxBytes: 1000 }) ?? "",
    /more than 1000 bytes/,
  );
  // a header claiming 400 MiB, then 10 bytes: the reader holds room for what arrived plus the
  // reserve, not the claim
  const { r } = reader({ reserve: 4096 });
  const h = Buffer.alloc(10);
  h[0] = 0x82;
  h[1] = 127;
  h.writeUInt32BE(400 << 20, 6);
  assert.equal(
    feed(r, Buffer.concat([answer(), h, Buffer.alloc(10)]), () => 1 << 20),
    null,
  );
  assert.ok(r.buffer().buffer.byteLength <= 4096 + 64, `reserved ${r.buffer().buffer.byteLength} bytes`);
});

test("WsReader: pings and the broker's close frame are told; frameHeader writes masked client frames", () => {
  const { r, seen } = reader();
  const close = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from("going away")]);
  assert.equal(
    feed(
      r,
      Buffer.concat([answer(), frame(0x89, Buffer.from("are you there")), frame(0x88, close)]),
      () => 3,
    ),
    null,
  );
  assert.deepEqual(
    seen.pings.map((p) => p.toString()),
    ["are you there"],
  );
  assert.deepEqual(seen.closes, [[1000, "going away"]]);
  const { r: r2, seen: s2 } = reader();
  assert.equal(
    feed(r2, Buffer.concat([answer(), frame(0x88, Buffer.alloc(0))]), () => 100),
    null,
  );
  assert.deepEqual(s2.closes, [[1005, ""]]);

  // client frames: FIN + opcode, MASK bit, the shortest length form, a zero masking key
  assert.deepEqual([...frameHeader(0x2, 5)], [0x82, 0x85, 0, 0, 0, 0]);
  assert.deepEqual([...frameHeader(0x2, 300)], [0x82, 0xfe, 0x01, 0x2c, 0, 0, 0, 0]);
  assert.deepEqual([...frameHeader(0x2, 70000)], [0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, 0, 0, 0, 0]);
  assert.deepEqual([...frameHeader(0x8, 2)], [0x88, 0x82, 0, 0, 0, 0]);
});

test("WsReader: a small fragmented reply (W4's fetches) stays in pooled memory, no 64 KiB reserve per reply", () => {
  // A tailing consumer gets ~1,000 of these a second: a fresh 64 KiB ArrayBuffer for each (the
  // first version's fixed slack) made the client's GC run every few ms.
  const body = randomBytes(59 + 1500 + 3);
  const { r, seen } = reader({ scratch: 64 * 1024 });
  assert.equal(
    feed(r, Buffer.concat([answer(), ...fragments(body, [59, 1500, 3])]), () => 64 * 1024),
    null,
  );
  const m = seen.messages[0];
  assert.ok(m.equals(body));
  assert.ok(m.buffer.byteLength <= Buffer.poolSize, `the reply's memory: ${m.buffer.byteLength} bytes`);
});
