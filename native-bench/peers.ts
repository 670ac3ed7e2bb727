// The peer servers a user would pick instead of Milena, started and stopped by the benchmark on
// loopback ports with temp data dirs, from the Debian packages (`.ci/run` installs them):
//
//   NATS JetStream   nats-server -js, file storage under a temp dir (2.9: fsync every 2 min)
//   Redis Streams    redis-server, appendonly yes, appendfsync everysec, no RDB snapshots
//
// A server that is not installed (or does not start) is reported and left out; the rest of
// the benchmark runs without it.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type PeerName = "nats" | "redis";

export interface PeerServer {
  readonly name: PeerName;
  readonly version: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A free loopback port (bound then released: the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/usr/local/bin"])) {
    const p = join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Wait until something accepts connections on the port (the server is up). */
async function waitForPort(
  port: number,
  child: ChildProcess,
  output: () => string,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  for (;;) {
    if (exited !== undefined) throw new Error(`exited with ${exited}: ${output().slice(-800)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`not listening on ${port} after ${ms} ms: ${output().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class SpawnedPeer implements PeerServer {
  output = "";
  private exited: Promise<void>;

  constructor(
    readonly name: PeerName,
    readonly version: string,
    readonly port: number,
    readonly dataDir: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => this.append(d));
    child.stderr?.on("data", (d: Buffer) => this.append(d));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  private append(d: Buffer): void {
    this.output += d.toString();
    if (this.output.length > 100_000) this.output = this.output.slice(-50_000);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function versionOf(bin: string, args: string[], re: RegExp): string {
  try {
    const out = execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return re.exec(out)?.[1] ?? out.trim().split("\n")[0];
  } catch {
    return "unknown";
  }
}

export async function startNats(): Promise<PeerServer> {
  const bin = which("nats-server");
  if (bin === null) throw new Error("nats-server is not installed (Debian: apt-get install nats-server)");
  const version = versionOf(bin, ["--version"], /v?(\d+\.\d+\.\d+)/);
  const dataDir = fs.mkdtempSync(join(tmpdir(), "milena-bench-nats-"));
  const port = await freePort();
  // -js: JetStream on, file storage under -sd. No monitoring port, no cluster.
  const child = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const peer = new SpawnedPeer("nats", version, port, dataDir, child);
  try {
    await waitForPort(port, child, () => peer.output);
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return peer;
}

export async function startRedis(): Promise<PeerServer> {
  const bin = which("redis-server");
  if (bin === null) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
  const version = versionOf(bin, ["--version"], /v=(\d+\.\d+\.\d+)/);
  const dataDir = fs.mkdtempSync(join(tmpdir(), "milena-bench-redis-"));
  const port = await freePort();
  // The durable setting a streaming user picks: an append-only file fsynced once a second.
  // No RDB snapshots (they would fork mid-run), no protected mode dance on loopback.
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dataDir,
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--save",
    "",
    "--daemonize",
    "no",
    "--protected-mode",
    "no",
    "--maxmemory",
    "0",
    "--loglevel",
    "warning",
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const peer = new SpawnedPeer("redis", version, port, dataDir, child);
  try {
    await waitForPort(port, child, () => peer.output);
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return peer;
}
