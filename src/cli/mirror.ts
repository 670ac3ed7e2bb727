// `milena mirror config.properties`: replication flows between clusters, as Kafka's
// connect-mirror-maker.sh runs MirrorMaker 2 (src/mirror/). Runs until SIGINT / SIGTERM, then
// stops cleanly (each flow commits what its target acknowledged). A configuration mistake is an
// error naming the file and line (exit 1); errors while running are logged and retried, never
// an exit.

import { UsageError } from "./args.ts";

export const MIRROR_USAGE = `usage: milena mirror CONFIG-FILE
  Runs the replication flows of CONFIG-FILE (MirrorMaker 2's connect-mirror-maker.properties keys:
  clusters, <alias>.bootstrap.servers, <src>-><dst>.enabled, topics, topics.exclude, groups, ...;
  see README "Mirroring"). Several processes with the same file share the flows' partitions.`;

export async function mirror(argv: string[]): Promise<number> {
  const files = argv.filter((a) => !a.startsWith("-"));
  const opts = argv.filter((a) => a.startsWith("-"));
  if (opts.length > 0) throw new UsageError(`unknown option ${opts[0]}`);
  if (files.length !== 1) throw new UsageError("give one configuration file");
  const { loadMirrorConfig, MirrorConfigError } = await import("../mirror/config.ts");
  const { Mirror } = await import("../mirror/mirror.ts");
  let config: ReturnType<typeof loadMirrorConfig>;
  try {
    config = loadMirrorConfig(files[0]);
  } catch (e) {
    if (e instanceof MirrorConfigError) {
      process.stderr.write(`milena: configuration error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const stopRequested = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  const m = new Mirror(config, log);
  let http: { port: number; close(): Promise<void> } | null = null;
  if (config.metricsListener !== null) {
    const { startHttpListener } = await import("../broker/http/server.ts");
    const { metricsHandler } = await import("../broker/http/metrics.ts");
    const { mirrorRegistry } = await import("../mirror/metrics.ts");
    try {
      http = await startHttpListener(
        config.metricsListener.host,
        config.metricsListener.port,
        [metricsHandler(mirrorRegistry(m.flows))],
        log,
      );
    } catch (e) {
      process.stderr.write(`milena: metrics.listener: cannot listen: ${(e as Error).message}\n`);
      return 1;
    }
  }
  m.start();
  // Tests and scripts wait for this line.
  process.stdout.write(
    `milena mirror started flows=${m.flows.map((f) => f.name).join(",")} metrics=${http?.port ?? "off"}\n`,
  );
  const sig = await stopRequested;
  log(`[mirror] ${sig}: stopping`);
  await m.stop();
  await http?.close();
  return 0;
}
