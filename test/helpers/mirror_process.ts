// `milena mirror CONFIG` as a child process (src/cli/mirror.ts), for the mirroring tests: waits
// for its "milena mirror started" line; stop() is SIGTERM (a clean stop), kill() SIGKILL (a crash).

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export class MirrorProcess {
  output = "";
  /** The port of GET /metrics (metrics.listener), 0 when off. */
  metricsPort = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  exitCode: number | null = null;

  private constructor(readonly configFile: string) {}

  /** Write `config` to a temp file and start the mirror on it. */
  static async start(config: string): Promise<MirrorProcess> {
    const dir = fs.mkdtempSync(join(tmpdir(), "milena-mirror-"));
    const file = join(dir, "mirror.properties");
    fs.writeFileSync(file, config);
    const m = new MirrorProcess(file);
    await m.launch();
    return m;
  }

  async launch(): Promise<void> {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "mirror", this.configFile],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.child = child;
    this.exitCode = null;
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    child.stderr!.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`mirror did not start in 30 s:\n${this.output}`)),
        30_000,
      );
      child.stdout!.on("data", (d: Buffer) => {
        this.output += d.toString();
        const m = /milena mirror started flows=\S* metrics=(\d+|off)\n/.exec(this.output);
        if (m) {
          this.metricsPort = m[1] === "off" ? 0 : Number(m[1]);
          clearTimeout(timer);
          resolve();
        }
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`mirror exited with ${code} before starting:\n${this.output}`));
      });
    });
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<number | null> {
    if (this.alive) this.child!.kill("SIGTERM");
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.alive) this.child!.kill("SIGKILL");
    await this.exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    fs.rmSync(join(this.configFile, ".."), { recursive: true, force: true });
  }
}
