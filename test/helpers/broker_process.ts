// Starts the real broker as a child process (the `milena broker` command) on ephemeral ports
// with a temp log dir, for integration and conformance tests. Reads the "milena started" line
// for the bound ports. stop() is a clean shutdown (SIGTERM), kill() a crash (SIGKILL).

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MilenaChild, ROOT } from "./milena_child.ts";

export interface BrokerOptions {
  /** Extra key=value overrides. */
  overrides?: Record<string, string | number | boolean>;
  /** Reuse a log dir (restart); default: a new temp dir. */
  logDir?: string;
  /** Wait for the "started" line (false when a test expects startup to fail). */
  expectStart?: boolean;
  /** Run the broker under this command (e.g. ["ip", "netns", "exec", "ns1"]: its own network). */
  wrapper?: string[];
}

export class BrokerProcess extends MilenaChild {
  kafkaPort = 0;
  /** Every listener's bound port, by name (PLAINTEXT, SSL, SASL_SSL, WEBSOCKET, ...). */
  ports: Record<string, number> = {};
  wsPort = 0;
  /** The HTTP listener's port (metrics.listener; 0: off). */
  metricsPort = 0;
  /** The Schema Registry's port (0: off). */
  schemaRegistryPort = 0;

  constructor(
    readonly logDir: string,
    readonly overrides: Record<string, string | number | boolean>,
    readonly wrapper: string[] = [],
  ) {
    super();
  }

  static async start(opts: BrokerOptions = {}): Promise<BrokerProcess> {
    const logDir = opts.logDir ?? fs.mkdtempSync(join(tmpdir(), "milena-test-"));
    const b = new BrokerProcess(logDir, opts.overrides ?? {}, opts.wrapper ?? []);
    await b.launch(opts.expectStart ?? true);
    return b;
  }

  /** Resident memory of the broker process, bytes (Linux /proc). */
  rssBytes(): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    if (!m) throw new Error("no VmRSS in /proc status");
    return Number(m[1]) * 1024;
  }

  /** Open file descriptors of the broker process (Linux /proc). */
  openFds(): number {
    return fs.readdirSync(`/proc/${this.pid}/fd`).length;
  }

  /** The host its listeners are on (127.0.0.1 unless the listeners override names another). */
  get host(): string {
    const l = String(this.overrides.listeners ?? "");
    return /PLAINTEXT:\/\/([^:]+):/.exec(l)?.[1] ?? "127.0.0.1";
  }

  get bootstrap(): string {
    return `${this.host}:${this.kafkaPort}`;
  }

  /** The Schema Registry's URL (http, on the first listener's host). */
  get schemaRegistryUrl(): string {
    return `http://127.0.0.1:${this.schemaRegistryPort}`;
  }

  get wsUrl(): string {
    return `ws://${this.host}:${this.wsPort}`;
  }

  async launch(expectStart = true): Promise<void> {
    const overrides: Record<string, string | number | boolean> = {
      "log.dirs": this.logDir,
      listeners: "PLAINTEXT://127.0.0.1:0,WEBSOCKET://127.0.0.1:0",
      "schema.registry.listeners": "http://127.0.0.1:0",
      "num.partition.writers": 2,
      // Not the default 9644: test brokers run side by side.
      "metrics.listener": "127.0.0.1:0",
      ...this.overrides,
    };
    // A relaunch of a broker whose test pinned its Kafka/WebSocket ports keeps its HTTP ports
    // too: bound first (so /readyz answers during recovery), an ephemeral HTTP listener could
    // otherwise take the just-freed WebSocket port before the broker binds it again.
    const pinned =
      this.overrides.listeners !== undefined && !/:0(,|$)/.test(String(this.overrides.listeners));
    if (pinned && this.metricsPort > 0 && this.overrides["metrics.listener"] === undefined)
      overrides["metrics.listener"] = `127.0.0.1:${this.metricsPort}`;
    if (pinned && this.schemaRegistryPort > 0 && this.overrides["schema.registry.listeners"] === undefined)
      overrides["schema.registry.listeners"] = `http://127.0.0.1:${this.schemaRegistryPort}`;
    const args = ["broker"];
    for (const [k, v] of Object.entries(overrides)) args.push("--override", `${k}=${v}`);
    const started = await this.spawnMilena(
      "broker",
      args,
      /milena started kafka=(\d+) websocket=(\d+|off)(?: listeners=(\S*))?(?: metrics=(\d+|off))?\n/,
      this.wrapper,
      expectStart,
    );
    if (started === null) return;
    const m = started.match;
    this.kafkaPort = Number(m[1]);
    this.wsPort = m[2] === "off" ? 0 : Number(m[2]);
    this.metricsPort = m[4] === undefined || m[4] === "off" ? 0 : Number(m[4]);
    this.ports = {};
    for (const pair of (m[3] ?? "").split(",").filter((x) => x !== "")) {
      const [name, port] = pair.split(":");
      this.ports[name] = Number(port);
    }
    // Printed on its own line just before the started line.
    const sr = /milena schema\.registry=(\d+|off)\n/.exec(started.stdout);
    this.schemaRegistryPort = sr === null || sr[1] === "off" ? 0 : Number(sr[1]);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stop and remove the log dir. */
  async destroy(): Promise<void> {
    await this.kill();
    fs.rmSync(this.logDir, { recursive: true, force: true });
  }
}

/**
 * `milena users add USER --password PASSWORD ...where` (where: `--file PATH` or `--zookeeper
 * CONNECT`, and e.g. `--mechanism SCRAM-SHA-512`), as an operator makes a user; throws when it
 * fails.
 */
export async function addUser(user: string, password: string, where: string[]): Promise<void> {
  const r = await run(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "users",
      "add",
      user,
      "--password",
      password,
      ...where,
    ],
    { timeoutMs: 30_000 },
  );
  if (r.code !== 0) throw new Error(`milena users add ${user} exited ${r.code}: ${r.stderr}`);
}

/** Run a command, collecting stdout/stderr; resolves with the exit code. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A tool that exits without reading its stdin (kcat -L) makes this write fail with EPIPE:
    // expected, and not an error of the test (it used to escape as an uncaught exception).
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}
