// Replays a fuzz finding (a directory the harness wrote under /tmp/milena-fuzz-findings/) against a
// fresh broker, to find which connection, and then which single frame, reproduces it:
//
//   node --import tsx test/fuzz/replay.ts /tmp/milena-fuzz-findings/<finding dir>
//
// 1. each suspect connection alone, oldest first, its sends exactly as recorded (TCP bytes with
//    their size prefix, WebSocket messages, fragments), on a new broker after each reproduction;
// 2. each send of the reproducing connection alone, on its own connection;
// 3. when no connection reproduces alone: all suspects at once.
// A reproduction is: the broker dies (death), stops answering ApiVersions within 2 s (hang), or
// prints a line with the finding's signature (log). The result is printed and written to
// <finding dir>/repro.txt (and repro.hex: the single frame, when one was found).

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeRequestHeader } from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { codecFor } from "../../src/protocol/registry.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import {
  brokerAlive,
  EXPECTED_LINE,
  FINDING_LINE,
  type Finding,
  type FuzzSocket,
  offlinePartitions,
  openTcp,
  openWs,
  prepareFuzzTopics,
  probeApiVersions,
  signatureOf,
  type Transport,
} from "./harness.ts";
import { Rng } from "./prng.ts";

interface SavedSend {
  seq: number;
  kind: string;
  detail: string;
  wire: "frame" | "raw" | "ws" | "ws-text" | "ws-part";
  length: number;
  truncated: boolean;
  regen?: number;
  hex: string;
}

interface SavedConnection {
  index: number;
  transport: Transport;
  openedAt: number;
  sends: SavedSend[];
}

interface SavedFinding extends Finding {
  broker: { overrides: Record<string, string | number | boolean> };
  connections: SavedConnection[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function bytesOf(s: SavedSend): Buffer {
  if (s.regen !== undefined) {
    const b = new Rng(s.regen).bytes(s.length);
    // the harness may have written a header over the first bytes: keep what was recorded
    Buffer.from(s.hex, "hex").copy(b, 0);
    return b;
  }
  return Buffer.from(s.hex, "hex");
}

async function sendAll(broker: BrokerProcess, transport: Transport, sends: SavedSend[]): Promise<void> {
  let sock: FuzzSocket;
  try {
    sock =
      transport === "tcp"
        ? await openTcp(
            "127.0.0.1",
            broker.kafkaPort,
            () => {},
            () => {},
          )
        : await openWs(
            broker.wsUrl,
            () => {},
            () => {},
          );
  } catch {
    return;
  }
  for (const s of sends) {
    if (sock.closed) break;
    const b = bytesOf(s);
    if (s.wire === "frame" || s.wire === "ws") sock.frame(b);
    else if (s.wire === "raw") sock.raw(b);
    else if (s.wire === "ws-text") sock.text(b);
    else sock.fragment(b);
    await sleep(2);
  }
  await Promise.race([sock.closedPromise, sleep(300)]);
  sock.destroy();
}

class Replayer {
  broker!: BrokerProcess;
  private seen = 0;

  constructor(private readonly finding: SavedFinding) {}

  async fresh(): Promise<void> {
    if (this.broker) await this.broker.destroy();
    this.broker = await BrokerProcess.start({ overrides: this.finding.broker.overrides });
    await prepareFuzzTopics(this.broker).catch(() => {});
    this.seen = this.broker.output.length;
  }

  /** Whether the finding showed since the last call (waits a little for output and exits). */
  async reproduced(): Promise<string | null> {
    await sleep(500);
    const kind = this.finding.kind;
    if (!brokerAlive(this.broker)) return kind === "death" ? "the broker died" : null;
    if (kind === "offline") {
      const [topic, partition] = (this.finding.target ?? "/").split("/");
      const offline = await offlinePartitions(this.broker, [
        { name: topic, partitions: Number(partition) + 1 },
      ]);
      return offline.includes(this.finding.target ?? "") ? `${this.finding.target} went offline` : null;
    }
    if (kind === "hang") {
      try {
        await probeApiVersions(this.broker, 2000);
      } catch (e) {
        return `the broker hangs (${(e as Error).message})`;
      }
      return null;
    }
    const out = this.broker.output.slice(this.seen);
    this.seen = this.broker.output.length;
    if (kind !== "log") return null;
    for (const line of out.split("\n")) {
      if (!FINDING_LINE.test(line) || EXPECTED_LINE.test(line)) continue;
      if (this.finding.signature.includes(signatureOf(line)))
        return `the broker printed: ${line.slice(0, 300)}`;
    }
    return null;
  }

  /** After a reproduction that killed or stopped the broker, the next attempt needs a new one. */
  async afterAttempt(hit: string | null): Promise<void> {
    if (hit !== null && this.finding.kind !== "log") await this.fresh();
    else if (hit !== null) this.seen = this.broker.output.length;
  }
}

/** The request a send carries, decoded with Milena's codec (or why it does not decode). */
function decoded(bytes: Buffer, wire: SavedSend["wire"]): string {
  const frame = wire === "raw" ? bytes.subarray(4) : bytes;
  try {
    const r = new Reader(frame);
    const h = decodeRequestHeader(r);
    const codec = codecFor(h.apiKey);
    if (!codec) return `header ${JSON.stringify(h)}, unknown api key`;
    const req = codec.decodeRequest(r, h.apiVersion);
    const body = JSON.stringify(req, (_k, v) =>
      v && typeof v === "object" && v.type === "Buffer" ? `<${v.data.length} bytes>` : v,
    );
    return `${codec.name} v${h.apiVersion} ${body.slice(0, 1500)}${r.remaining > 0 ? ` (+${r.remaining} bytes left)` : ""}`;
  } catch (e) {
    return `does not decode: ${(e as Error).message}`;
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: replay.ts <finding dir>");
  const finding = JSON.parse(readFileSync(path.join(dir, "finding.json"), "utf8")) as SavedFinding;
  const report: string[] = [
    `finding: ${finding.kind}: ${finding.message.split("\n")[0]}`,
    `seed ${finding.seed}`,
  ];
  const say = (line: string) => {
    console.log(line);
    report.push(line);
  };
  const r = new Replayer(finding);
  await r.fresh();
  try {
    const conns = [...finding.connections].sort((a, b) => a.openedAt - b.openedAt);
    let culprit: SavedConnection | null = null;
    for (const c of conns) {
      await sendAll(r.broker, c.transport, c.sends);
      const hit = await r.reproduced();
      if (hit) {
        say(`connection ${c.index} (${c.transport}, ${c.sends.length} sends) alone reproduces it: ${hit}`);
        culprit = c;
        await r.afterAttempt(hit);
        break;
      }
    }
    if (culprit === null) {
      await Promise.all(conns.map((c) => sendAll(r.broker, c.transport, c.sends)));
      const hit = await r.reproduced();
      say(
        hit
          ? `only all ${conns.length} suspect connections together reproduce it: ${hit}`
          : `not reproduced by the recorded frames (timing, broker state, or frames not kept)`,
      );
      return;
    }
    let single: SavedSend | null = null;
    for (const s of culprit.sends) {
      await sendAll(r.broker, culprit.transport, [s]);
      const hit = await r.reproduced();
      await r.afterAttempt(hit);
      if (hit) {
        single = s;
        break;
      }
    }
    if (single === null) {
      say(`no single send reproduces it: the sequence of connection ${culprit.index} is needed:`);
      for (const s of culprit.sends)
        say(`  #${s.seq} ${s.kind} ${s.detail} [${s.wire}, ${s.length} B] ${s.hex}`);
      return;
    }
    say(`single send reproduces it: #${single.seq} ${single.kind} ${single.detail}`);
    say(
      `  transport ${culprit.transport}, wire ${single.wire}, ${single.length} bytes${single.truncated ? " (only the head was kept)" : ""}`,
    );
    say(`  hex: ${single.hex}`);
    say(`  decoded: ${decoded(bytesOf(single), single.wire)}`);
    writeFileSync(path.join(dir, "repro.hex"), `${single.hex}\n`);
  } finally {
    writeFileSync(path.join(dir, "repro.txt"), `${report.join("\n")}\n`);
    console.log(`--- broker output (last lines) ---\n${r.broker.output.slice(-1500)}`);
    await r.broker.destroy();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
