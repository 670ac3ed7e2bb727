// The web console's pure code: bytes as text, pretty JSON and hex dumps (src/console/format.ts),
// sizes, durations, header and config lines, the WebSocket URL the page picks (config.ts), and
// group lag and records/s (offsets.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveWebSocketUrl } from "../../src/console/config.ts";
import {
  asHex,
  asJson,
  asText,
  formatBytes,
  formatDurationMs,
  formatSize,
  parseConfigLines,
  parseHeaderLines,
} from "../../src/console/format.ts";
import { groupLag, recordsPerSecond, totalLag } from "../../src/console/offsets.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("console formatting", () => {
  it("text: UTF-8, invalid bytes replaced, null shown as (null)", () => {
    assert.equal(asText(bytes("héllo <b>")), "héllo <b>");
    assert.equal(asText(new Uint8Array([0x68, 0xff, 0x69])), "h\ufffdi");
    assert.equal(asText(null), "(null)");
  });

  it("JSON: pretty with two spaces; not JSON is null and falls back to text", () => {
    assert.equal(
      asJson(bytes('{"a":1,"b":[true,null]}')),
      '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}',
    );
    assert.equal(asJson(bytes(" 42 ")), "42");
    assert.equal(asJson(bytes("not json")), null);
    assert.equal(asJson(bytes("")), null);
    assert.equal(asJson(null), null);
    assert.deepEqual(formatBytes(bytes("not json"), "json"), { text: "not json", fallback: true });
    assert.deepEqual(formatBytes(bytes('{"x":"y"}'), "json"), { text: '{\n  "x": "y"\n}', fallback: false });
    assert.deepEqual(formatBytes(null, "json"), { text: "(null)", fallback: false });
  });

  it("hex: hexdump -C lines of 16 bytes with offsets and printable ASCII", () => {
    assert.equal(
      asHex(bytes("hello")),
      "00000000  68 65 6c 6c 6f                                    |hello|",
    );
    const all = new Uint8Array(18).map((_, i) => (i === 0 ? 0x00 : 0x41 + i));
    const lines = asHex(all).split("\n");
    assert.equal(lines.length, 2);
    assert.equal(lines[0], "00000000  00 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |.BCDEFGHIJKLMNOP|");
    assert.equal(lines[1], "00000010  51 52                                             |QR|");
    assert.equal(asHex(new Uint8Array(0)), "");
    assert.equal(asHex(null), "(null)");
    assert.equal(formatBytes(bytes("hi"), "hex").text, asHex(bytes("hi")));
  });

  it("sizes and durations", () => {
    assert.equal(formatSize(0), "0 B");
    assert.equal(formatSize(1023), "1023 B");
    assert.equal(formatSize(1536), "1.5 KiB");
    assert.equal(formatSize(12 * 1024 * 1024), "12.0 MiB");
    assert.equal(formatSize(-1), "-");
    assert.equal(formatDurationMs("604800000"), "7 d");
    assert.equal(formatDurationMs("5400000"), "90 min");
    assert.equal(formatDurationMs("1500"), "1500 ms");
    assert.equal(formatDurationMs("-1"), "forever");
    assert.equal(formatDurationMs(null), "-");
  });

  it("header and config lines", () => {
    assert.deepEqual(parseHeaderLines("a: 1\n\n b = two words \nc:x:y"), [
      { key: "a", value: "1" },
      { key: "b", value: "two words" },
      { key: "c", value: "x:y" },
    ]);
    assert.throws(() => parseHeaderLines("ok: 1\nbroken"), /line 2/);
    assert.deepEqual(parseConfigLines("retention.ms=1000\ncleanup.policy = compact"), [
      { name: "retention.ms", value: "1000" },
      { name: "cleanup.policy", value: "compact" },
    ]);
    assert.throws(() => parseConfigLines("=x"), /line 1/);
  });

  it("the WebSocket URL: configured, or the page's host on 9094; wildcards become the page's host", () => {
    const page = { protocol: "http:", hostname: "milena.example" };
    assert.equal(resolveWebSocketUrl("", page), "ws://milena.example:9094");
    assert.equal(resolveWebSocketUrl("", { protocol: "https:", hostname: "::1" }), "wss://[::1]:9094");
    assert.equal(resolveWebSocketUrl("ws://0.0.0.0:19094", page), "ws://milena.example:19094");
    assert.equal(resolveWebSocketUrl("wss://[::]:9443/kafka", page), "wss://milena.example:9443/kafka");
    assert.equal(resolveWebSocketUrl("ws://broker.example:9094", page), "ws://broker.example:9094");
  });

  it("group lag: log end minus committed, unknown without a commit, sorted", () => {
    const rows = groupLag(
      [
        { topic: "b", partitions: [{ partition: 0, offset: 5 }] },
        {
          topic: "a",
          partitions: [
            { partition: 1, offset: -1 },
            { partition: 0, offset: 3 },
          ],
        },
      ],
      new Map([
        [
          "a",
          new Map([
            [0, 10],
            [1, 7],
          ]),
        ],
        ["b", new Map([[0, 4]])],
      ]),
    );
    assert.deepEqual(rows, [
      { topic: "a", partition: 0, committed: 3, logEnd: 10, lag: 7 },
      { topic: "a", partition: 1, committed: -1, logEnd: 7, lag: null },
      { topic: "b", partition: 0, committed: 5, logEnd: 4, lag: 0 },
    ]);
    assert.equal(totalLag(rows), 7);
  });

  it("records/s from two log end samples", () => {
    assert.equal(recordsPerSecond(100, 350, 500), 500);
    assert.equal(recordsPerSecond(100, 50, 1000), 0);
    assert.equal(recordsPerSecond(1, 2, 0), 0);
  });
});
