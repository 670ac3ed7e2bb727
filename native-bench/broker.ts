// Starts the real broker (`milena broker`) as a child process for the benchmark, like
// test/helpers/broker_process.ts, but keeps the pid (for CPU accounting through /proc) and lets
// the caller add node flags (--cpu-prof for a profile of the broker and its writer threads).

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface BenchBrokerOptions {
  /** Extra node flags before `--import tsx` (e.g. --cpu-prof --cpu-prof-dir=DIR). */
  nodeFlags?: string[];
  overrides?: Record<string, string | number>;
  /** Use this log dir (kept at stop) instead of a fresh temp dir (removed at stop). */
  logDir?: string;
}

export class BenchBroker {
  kafkaPort = 0;
  wsPort = 0;
  /** The HTTP listener's port (metrics.listener; 0: off). */
  metricsPort = 0;
  /** Each listener's bound port, by name (PLAINTEXT, SSL, SASL_PLAINTEXT, ...), from the started line. */
  listenerPorts: Record<string, number> = {};
  output = "";
  /** Milliseconds from spawn() to the "milena started" line. */
  startMs = 0;
  /** The broker's "opened N partition(s) ..." line. */
  openedLine = "";
  private exited: Promise<number | null>;

  private constructor(
    readonly logDir: string,
    private readonly child: ChildProcess,
    private readonly keepDir: boolean,
  ) {
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(opts: BenchBrokerOptions = {}): Promise<BenchBroker> {
    const logDir = opts.logDir ?? fs.mkdtempSync(join(tmpdir(), "milena-bench-"));
    const overrides: Record<string, string | number> = {
      "log.dirs": logDir,
      listeners: "PLAINTEXT://127.0.0.1:0,WEBSOCKET://127.0.0.1:0",
      "schema.registry.listeners": "",
      "metrics.listener": "127.0.0.1:0",
      ...opts.overrides,
    };
    const args = [...(opts.nodeFlags ?? []), "--import", "tsx", join(ROOT, "src/cli/main.ts"), "broker"];
    for (const [k, v] of Object.entries(overrides)) args.push("--override", `${k}=${v}`);
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const b = new BenchBroker(logDir, child, opts.logDir !== undefined);
    child.stderr!.on("data", (d: Buffer) => {
      b.output += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(() => reject(new Error(`broker did not start in 30 s:\n${b.output}`)), 30_000);
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        b.output += d.toString();
        // The whole line (its listeners= map may follow the ports).
        const m =
          /milena started kafka=(\d+) websocket=(\d+|off)(?: listeners=(\S*))?(?: metrics=(\d+|off))?\n/.exec(
            buf,
          );
        if (m) {
          b.startMs = performance.now() - t0;
          b.openedLine = /opened \d+ partition\(s\)[^\n]*/.exec(b.output)?.[0] ?? "";
          b.kafkaPort = Number(m[1]);
          b.wsPort = m[2] === "off" ? 0 : Number(m[2]);
          b.metricsPort = m[4] === undefined || m[4] === "off" ? 0 : Number(m[4]);
          for (const pair of (m[3] ?? "").split(",").filter((x) => x !== "")) {
            const at = pair.lastIndexOf(":");
            b.listenerPorts[pair.slice(0, at)] = Number(pair.slice(at + 1));
          }
          clearTimeout(timer);
          resolve();
        }
      });
      void b.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited with ${code} before starting:\n${b.output}`));
      });
    });
    return b;
  }

  /** Clean shutdown (SIGTERM: --cpu-prof writes its profiles then), remove the log dir unless given. */
  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 60_000);
    const code = await this.exited;
    clearTimeout(timer);
    if (!this.keepDir) fs.rmSync(this.logDir, { recursive: true, force: true });
    return code;
  }

  /** Unclean stop: SIGKILL, nothing flushed or checkpointed; the log dir stays. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
