// A real Apache ZooKeeper for the cluster tests: Debian's `zookeeper` package (3.8), started as
// a standalone server on a free loopback port with a temp data dir, one per test file. Ready
// when it answers the `ruok` four-letter word with `imok`. stop() kills it (SIGKILL: a crash, as
// a test of reconnection wants), start() brings it back on the same port with the same data.

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const JAR = "/usr/share/java/zookeeper.jar";
const CONF = "/etc/zookeeper/conf";

/** Whether Debian's ZooKeeper is installed (.ci/install-test-deps.sh installs it). */
export function zooKeeperInstalled(): boolean {
  return fs.existsSync(JAR);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function fourLetter(host: string, port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let out = "";
    const done = () => {
      s.destroy();
      resolve(out);
    };
    s.setTimeout(1000, done);
    s.on("connect", () => s.write(word));
    s.on("data", (d) => {
      out += d.toString();
    });
    s.on("end", done);
    s.on("error", done);
  });
}

export class ZooKeeperServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  output = "";

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly host: string,
  ) {}

  /** A new server on a free port (or `port`) of `host`, data under a new temp dir. */
  static async start(port?: number, host = "127.0.0.1"): Promise<ZooKeeperServer> {
    const dir = fs.mkdtempSync(join(tmpdir(), "milena-zk-"));
    const zk = new ZooKeeperServer(port ?? (await freePort()), dir, host);
    await zk.start();
    return zk;
  }

  /** host:port, with `/chroot` appended when given. */
  connect(chroot = ""): string {
    return `${this.host}:${this.port}${chroot}`;
  }

  async start(): Promise<void> {
    if (!zooKeeperInstalled())
      throw new Error(
        `ZooKeeper is not installed (${JAR}): apt-get install zookeeper (.ci/install-test-deps.sh does)`,
      );
    const cfg = join(this.dir, "zoo.cfg");
    // tickTime 500: sessions from 1 s to 20 s, so tests can expire one quickly.
    fs.writeFileSync(
      cfg,
      [
        "tickTime=500",
        `dataDir=${join(this.dir, "data")}`,
        `clientPort=${this.port}`,
        `clientPortAddress=${this.host}`,
        "maxSessionTimeout=20000",
        "admin.enableServer=false",
        "4lw.commands.whitelist=ruok,srvr,stat",
        "",
      ].join("\n"),
    );
    const child = spawn(
      "java",
      [
        "-Xmx256m",
        "-cp",
        `${CONF}:${JAR}`,
        `-Dzookeeper.log.dir=${this.dir}`,
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        cfg,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.on("exit", () => resolve()));
    child.stdout!.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if ((await fourLetter(this.host, this.port, "ruok")) === "imok") return;
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`ZooKeeper did not start on port ${this.port}:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kill the server (its data stays) and wait until it is gone. */
  async stop(): Promise<void> {
    this.child?.kill("SIGKILL");
    await this.exited;
    this.child = null;
  }

  /** Stop and remove the data. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
