// The mirror: every enabled flow of a configuration (config.ts), each run by a Flow (flow.ts)
// with its own clients, side by side in one process. `milena mirror config.properties`
// (src/cli/mirror.ts) runs one until SIGINT / SIGTERM.

import type { MirrorConfig } from "./config.ts";
import { Flow, type Log } from "./flow.ts";
import { ReplicationPolicy } from "./policy.ts";

export class Mirror {
  readonly flows: Flow[];

  constructor(config: MirrorConfig, log: Log) {
    const policy = new ReplicationPolicy(config.policy, config.separator);
    this.flows = config.flows.map(
      (f) => new Flow(f, config.clusters.get(f.source)!, config.clusters.get(f.target)!, policy, log),
    );
  }

  start(): void {
    for (const f of this.flows) f.start();
  }

  /** Stop every flow (each commits what its target acknowledged). */
  async stop(): Promise<void> {
    await Promise.all(this.flows.map((f) => f.stop()));
  }
}
