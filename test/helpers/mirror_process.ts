// `milena mirror CONFIG` as a child process (src/cli/mirror.ts), for the mirroring tests: waits
// for its "milena mirror started" line; stop() is SIGTERM (a clean stop), kill() SIGKILL (a crash).

import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MilenaChild } from "./milena_child.ts";

export class MirrorProcess extends MilenaChild {
  /** The port of GET /metrics (metrics.listener), 0 when off. */
  metricsPort = 0;

  private constructor(readonly configFile: string) {
    super();
  }

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
    const started = await this.spawnMilena(
      "mirror",
      ["mirror", this.configFile],
      /milena mirror started flows=\S* metrics=(\d+|off)\n/,
    );
    const m = started!.match;
    this.metricsPort = m[1] === "off" ? 0 : Number(m[1]);
  }

  async destroy(): Promise<void> {
    await this.kill();
    fs.rmSync(join(this.configFile, ".."), { recursive: true, force: true });
  }
}
