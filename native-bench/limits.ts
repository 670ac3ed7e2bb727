// The machine's limits, measured in the same run as the figures they bound:
//
//   fio sequential write   1 MiB blocks, buffered, one fsync at the end (--end_fsync=1), into a
//                          fresh file (no preallocation, as a log appends): writing and flushing
//                          to the device, what a durable log can sustain
//   fio buffered write     the same without the fsync, once as large as W1's run and once as
//                          W2's: what an acks=1 run of that size can write through the page
//                          cache. Small writes land in memory; past the kernel's dirty
//                          threshold the writer is throttled to the writeback rate (on this
//                          project's VM between 256 and 512 MiB, whatever vm.dirty_ratio says),
//                          so each run is compared with the figure of its own size
//   fio O_DIRECT write     1 MiB blocks, --direct=1: the device without the page cache (shown,
//                          bounds nothing: a log writes through the cache)
//   fio 64 KiB + fdatasync every 64 KiB write followed by fdatasync, appending: the cost of one
//                          durable commit (acks=-1 group commit pays one per round)
//   loopback TCP           node:net client -> node:net server in another process, 64 KiB writes
//   loopback WebSocket     `ws` client (masking off, as Milena's client) -> uWebSockets.js server
//                          in another process, 64 KiB binary messages, 64 sends in flight
//   memcpy                 Buffer.copy of 1 MiB blocks across 256 MiB (beyond every cache)
//   crc32c                 @node-rs/crc32 over 16 KiB blocks (what the writer checks per batch)
//
// Each is repeated (full: 3 times, QUICK: once) and the median quoted. fio is Debian's `fio`;
// when it is missing the disk rows say so and the rest is measured.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32c } from "@node-rs/crc32";
import WebSocket from "ws";

const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface LimitRow {
  name: string;
  /** Median value in `unit`. */
  value: number;
  unit: string;
  runs: number[];
  note: string;
}

export interface Limits {
  rows: LimitRow[];
  /** MB/s (10^6), or NaN when not measured. */
  fioSeqMBs: number;
  /** fio buffered, no fsync, as large as W1's and W2's runs (what acks=1 can write). */
  fioCachedMBs: { w1: number; w2: number };
  /** fio --direct=1 (the device). */
  fioDirectMBs: number;
  fioSyncWritesPerSec: number;
  fioSyncLatencyMs: number;
  tcpMBs: number;
  wsMBs: number;
  memcpyMBs: number;
  crcMBs: number;
  missing: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

interface FioJob {
  write: { bw_bytes: number; iops: number };
  sync?: { lat_ns?: { mean: number; percentile?: Record<string, number> } };
}

async function fio(args: string[]): Promise<FioJob> {
  const out = await run("fio", [...args, "--output-format=json"]);
  return (JSON.parse(out.slice(out.indexOf("{"))) as { jobs: FioJob[] }).jobs[0];
}

export function hasFio(): boolean {
  for (const dir of ["/usr/bin", "/usr/local/bin", ...(process.env.PATH ?? "").split(":")]) {
    if (fs.existsSync(join(dir, "fio"))) return true;
  }
  return false;
}

/** fio's sequential write of 1 MiB blocks: "fsync" flushes at the end, "cached" never, "direct" bypasses the page cache. */
async function fioSeq(
  dir: string,
  bytes: number,
  mode: "fsync" | "cached" | "direct" = "fsync",
): Promise<number> {
  const file = join(dir, "fio-seq.dat");
  try {
    const j = await fio([
      "--name=seq",
      `--filename=${file}`,
      "--rw=write",
      "--bs=1M",
      `--size=${bytes}`,
      "--ioengine=psync",
      ...(mode === "fsync" ? ["--end_fsync=1"] : mode === "direct" ? ["--direct=1"] : []),
      "--fallocate=none",
    ]);
    return j.write.bw_bytes / 1e6;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function fioSync(dir: string, seconds: number): Promise<{ writes: number; latMs: number }> {
  const file = join(dir, "fio-sync.dat");
  try {
    const j = await fio([
      "--name=sync",
      `--filename=${file}`,
      "--rw=write",
      "--bs=64k",
      "--size=4G",
      "--fdatasync=1",
      `--runtime=${seconds}`,
      "--time_based",
      "--ioengine=psync",
      "--fallocate=none",
    ]);
    return { writes: j.write.iops, latMs: (j.sync?.lat_ns?.mean ?? Number.NaN) / 1e6 };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Start sink_server.ts in its own process; resolves with its port. */
async function startSink(mode: "tcp" | "ws", total: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(HERE, "sink_server.ts"), mode, String(total)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`sink ${mode} did not start: ${err}`)), 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sink ${mode} exited with ${code}: ${err}`));
    });
  });
  return { child, port };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

const CHUNK = 64 * 1024;

async function tcpLoopback(total: number): Promise<number> {
  const { child, port } = await startSink("tcp", total);
  try {
    const block = Buffer.alloc(CHUNK, 7);
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port, noDelay: true }, () => resolve(s));
      s.once("error", reject);
    });
    const done = new Promise<void>((resolve) => sock.once("data", () => resolve()));
    const t0 = performance.now();
    let sent = 0;
    while (sent < total) {
      sent += CHUNK;
      if (!sock.write(block)) await new Promise((r) => sock.once("drain", r));
    }
    await done;
    const ms = performance.now() - t0;
    sock.destroy();
    return total / ms / 1e3;
  } finally {
    await stopChild(child);
  }
}

async function wsLoopback(total: number): Promise<number> {
  const { child, port } = await startSink("ws", total);
  try {
    const block = Buffer.alloc(CHUNK, 7);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
      perMessageDeflate: false,
      generateMask: (m: Buffer) => {
        m.fill(0);
      },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const done = new Promise<void>((resolve) => ws.once("message", () => resolve()));
    const t0 = performance.now();
    const count = Math.ceil(total / CHUNK);
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let acked = 0;
      const next = () => {
        while (sent < count && sent - acked < 64) {
          sent++;
          ws.send(block, { binary: true }, (e) => {
            if (e) return reject(e);
            acked++;
            if (acked === count) resolve();
            else next();
          });
        }
      };
      next();
    });
    await done;
    const ms = performance.now() - t0;
    ws.terminate();
    return (count * CHUNK) / ms / 1e3;
  } finally {
    await stopChild(child);
  }
}

function memcpyMBs(): number {
  const size = 256 << 20;
  const src = Buffer.alloc(size, 1);
  const dst = Buffer.alloc(size);
  const block = 1 << 20;
  for (let at = 0; at < size; at += block) src.copy(dst, at, at, at + block); // fault pages in
  const t0 = performance.now();
  for (let k = 0; k < 2; k++) for (let at = 0; at < size; at += block) src.copy(dst, at, at, at + block);
  return (2 * size) / (performance.now() - t0) / 1e3;
}

function crcMBs(): number {
  const size = 16 << 20;
  const buf = Buffer.alloc(size, 3);
  const block = 16 * 1024;
  let x = 0;
  for (let at = 0; at < size; at += block) x ^= crc32c(buf.subarray(at, at + block));
  const t0 = performance.now();
  for (let k = 0; k < 8; k++)
    for (let at = 0; at < size; at += block) x ^= crc32c(buf.subarray(at, at + block));
  const ms = performance.now() - t0;
  if (x === 0.5) throw new Error("unreachable");
  return (8 * size) / ms / 1e3;
}

/** `runBytes`: the bytes W1 and W2 store, the sizes of the buffered writes they are compared with. */
export async function measureLimits(
  quick: boolean,
  log: (line: string) => void,
  runBytes: { w1: number; w2: number },
): Promise<Limits> {
  const reps = quick ? 1 : 3;
  // 2 GiB is 2 ** 31: past int32, so not a shift (2048 << 20 is negative).
  const seqBytes = quick ? 128 << 20 : 2 * 2 ** 30;
  const loopBytes = quick ? 128 << 20 : 1024 << 20;
  const dir = fs.mkdtempSync(join(tmpdir(), "milena-bench-limits-"));
  const missing: string[] = [];
  const withFio = hasFio();
  if (!withFio) missing.push("fio (Debian: apt-get install fio): no disk figures");
  const runs = {
    seq: [] as number[],
    cachedW1: [] as number[],
    cachedW2: [] as number[],
    direct: [] as number[],
    sync: [] as number[],
    lat: [] as number[],
    tcp: [] as number[],
    ws: [] as number[],
  };
  const mem: number[] = [];
  const crc: number[] = [];
  try {
    for (let r = 0; r < reps; r++) {
      if (withFio) {
        runs.seq.push(await fioSeq(dir, seqBytes));
        runs.cachedW1.push(await fioSeq(dir, runBytes.w1, "cached"));
        runs.cachedW2.push(await fioSeq(dir, runBytes.w2, "cached"));
        runs.direct.push(await fioSeq(dir, seqBytes, "direct"));
        const s = await fioSync(dir, quick ? 1 : 3);
        runs.sync.push(s.writes);
        runs.lat.push(s.latMs);
      }
      runs.tcp.push(await tcpLoopback(loopBytes));
      runs.ws.push(await wsLoopback(loopBytes));
      mem.push(memcpyMBs());
      crc.push(crcMBs());
      log(
        `limits: run ${r + 1}: fio seq ${runs.seq.at(-1)?.toFixed(0) ?? "-"} MB/s (buffered, no fsync ` +
          `${runs.cachedW1.at(-1)?.toFixed(0) ?? "-"} / ${runs.cachedW2.at(-1)?.toFixed(0) ?? "-"}, O_DIRECT ${runs.direct.at(-1)?.toFixed(0) ?? "-"}), 64 KiB+fdatasync ` +
          `${runs.sync.at(-1)?.toFixed(0) ?? "-"} writes/s (${runs.lat.at(-1)?.toFixed(2) ?? "-"} ms each), tcp ` +
          `${runs.tcp.at(-1)!.toFixed(0)} MB/s, ws ${runs.ws.at(-1)!.toFixed(0)} MB/s, memcpy ${mem.at(-1)!.toFixed(0)} MB/s, ` +
          `crc32c ${crc.at(-1)!.toFixed(0)} MB/s`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const gib = (b: number) =>
    !Number.isFinite(b)
      ? "unknown"
      : b >= 1 << 30
        ? `${(b / (1 << 30)).toFixed(1)} GiB`
        : `${(b / (1 << 20)).toFixed(0)} MiB`;
  const rows: LimitRow[] = [];
  if (withFio) {
    rows.push(
      {
        name: "fio sequential write, 1 MiB blocks, buffered + final fsync",
        value: median(runs.seq),
        unit: "MB/s",
        runs: runs.seq,
        note: `${gib(seqBytes)}, fresh file in ${tmpdir()}; the bound of acks=-1 runs`,
      },
      {
        name: "fio sequential write, 1 MiB blocks, buffered, no fsync, W1's size",
        value: median(runs.cachedW1),
        unit: "MB/s",
        runs: runs.cachedW1,
        note: `${gib(runBytes.w1)}; the bound of W1 and W5 at acks=1`,
      },
      {
        name: "fio sequential write, 1 MiB blocks, buffered, no fsync, W2's size",
        value: median(runs.cachedW2),
        unit: "MB/s",
        runs: runs.cachedW2,
        note: `${gib(runBytes.w2)}; the bound of W2`,
      },
      {
        name: "fio sequential write, 1 MiB blocks, O_DIRECT",
        value: median(runs.direct),
        unit: "MB/s",
        runs: runs.direct,
        note: `${gib(seqBytes)}; the device without the page cache (bounds no row)`,
      },
      {
        name: "fio 64 KiB write + fdatasync each, appending",
        value: median(runs.sync),
        unit: "writes/s",
        runs: runs.sync,
        note: `${((median(runs.sync) * 65536) / 1e6).toFixed(0)} MB/s; one fdatasync ${median(runs.lat).toFixed(2)} ms`,
      },
    );
  }
  rows.push(
    {
      name: "loopback TCP, node:net -> node:net, 64 KiB writes",
      value: median(runs.tcp),
      unit: "MB/s",
      runs: runs.tcp,
      note: `${gib(loopBytes)}, server in its own process`,
    },
    {
      name: "loopback WebSocket, ws -> uWebSockets.js, 64 KiB messages",
      value: median(runs.ws),
      unit: "MB/s",
      runs: runs.ws,
      note: "client masking off (as Milena's client), 64 sends in flight",
    },
    {
      name: "memcpy (Buffer.copy, 1 MiB blocks, 256 MiB)",
      value: median(mem),
      unit: "MB/s",
      runs: mem,
      note: "DRAM",
    },
    { name: "crc32c (@node-rs/crc32, 16 KiB blocks)", value: median(crc), unit: "MB/s", runs: crc, note: "" },
  );
  return {
    rows,
    fioSeqMBs: withFio ? median(runs.seq) : Number.NaN,
    fioCachedMBs: {
      w1: withFio ? median(runs.cachedW1) : Number.NaN,
      w2: withFio ? median(runs.cachedW2) : Number.NaN,
    },
    fioDirectMBs: withFio ? median(runs.direct) : Number.NaN,
    fioSyncWritesPerSec: withFio ? median(runs.sync) : Number.NaN,
    fioSyncLatencyMs: withFio ? median(runs.lat) : Number.NaN,
    tcpMBs: median(runs.tcp),
    wsMBs: median(runs.ws),
    memcpyMBs: median(mem),
    crcMBs: median(crc),
    missing,
  };
}
