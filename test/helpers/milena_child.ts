// A `milena <command>` child process for the tests (the broker, the mirror): spawned through
// tsx from this checkout, its stdout and stderr collected in `output`, started once a line of
// its stdout matches the command's "started" pattern; stop() is SIGTERM (a clean stop), kill()
// SIGKILL (a crash). BrokerProcess and MirrorProcess add what their command prints and takes.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** How long a command may take to print its started line. */
const START_MS = 30_000;

export class MilenaChild {
  output = "";
  exitCode: number | null = null;
  private child: ChildProcess | null = null;
  protected exited: Promise<number | null> = Promise.resolve(null);

  /**
   * Spawn `node --import tsx src/cli/main.ts ...args` (behind `wrapper`, e.g. a strace or a
   * cgroup runner) and wait until its stdout matches `started`: the match, or null when the
   * process exited first and `expectStart` is false (a test of a refused start). Rejects when it
   * exits first (expectStart) or prints nothing matching within 30 s.
   */
  protected spawnMilena(
    what: string,
    args: string[],
    started: RegExp,
    wrapper: string[] = [],
    expectStart = true,
  ): Promise<{ match: RegExpExecArray; stdout: string } | null> {
    const [cmd, ...pre] = [...wrapper, process.execPath];
    const child = spawn(cmd, [...pre, "--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
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
    return new Promise((resolve, reject) => {
      let stdout = "";
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(`${what} did not start in ${START_MS / 1000} s:\n${this.output}`));
      }, START_MS);
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        this.output += d.toString();
        const match = done ? null : started.exec(stdout);
        if (match) {
          done = true;
          clearTimeout(timer);
          resolve({ match, stdout });
        }
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        if (expectStart) reject(new Error(`${what} exited with ${code} before starting:\n${this.output}`));
        else resolve(null);
      });
    });
  }

  /** Whether the process runs (launched, and neither exited nor killed by a signal). */
  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The process's pid (undefined before launch). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Clean shutdown (SIGTERM) and wait for exit. */
  async stop(): Promise<number | null> {
    if (this.child && this.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }

  /** Crash (SIGKILL) and wait for exit. */
  async kill(): Promise<void> {
    if (this.child && this.exitCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}
