// The files a log dir holds beside its partitions (Kafka's names, so an operator recognises
// them). All are small text files written whole to a temp name, fsynced and renamed.
//
//   meta.properties                   version=0 / broker.id=<int> / cluster.id=<string>
//   recovery-point-offset-checkpoint  offset checkpoint (below): offsets fsynced at the last stop
//   log-start-offset-checkpoint       offset checkpoint: each partition's log start offset
//   .kafka_cleanshutdown              present only after a clean shutdown; removed at start
//
// Offset checkpoint format (Kafka's OffsetCheckpointFile), lines of text:
//   0                     version
//   <N>                   entry count
//   <topic> <partition> <offset>   N lines
//
// Checkpoints are derivable: a missing or malformed one means "recover from the start", never a
// failed startup.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";

export const META_PROPERTIES = "meta.properties";
export const RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint";
export const LOG_START_CHECKPOINT = "log-start-offset-checkpoint";
export const CLEAN_SHUTDOWN_MARKER = ".kafka_cleanshutdown";

export class LogDirError extends Error {
  override name = "LogDirError";
}

export function writeFileDurably(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
}

/**
 * Create the dir and its meta.properties, or check that it belongs to this broker. Returns the
 * cluster id and whether the dir is new (a new dir has nothing to recover).
 */
export function claimLogDir(
  dir: string,
  brokerId: number,
  clusterId: string | null,
): { clusterId: string; created: boolean } {
  fs.mkdirSync(dir, { recursive: true });
  const path = join(dir, META_PROPERTIES);
  let text: string | null = null;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch {
    // new dir
  }
  if (text === null) {
    const id = clusterId ?? randomBytes(16).toString("base64url").slice(0, 22);
    writeFileDurably(path, `#Written by Milena\nversion=0\nbroker.id=${brokerId}\ncluster.id=${id}\n`);
    return { clusterId: id, created: true };
  }
  const props = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
    if (m) props.set(m[1].trim(), m[2].trim());
  }
  const owner = props.get("broker.id");
  if (owner !== undefined && Number(owner) !== brokerId) {
    throw new LogDirError(
      `log dir ${dir} belongs to broker.id=${owner}, but this broker is broker.id=${brokerId} (see ${path})`,
    );
  }
  const found = props.get("cluster.id");
  if (found === undefined) throw new LogDirError(`${path} has no cluster.id`);
  if (clusterId !== null && found !== clusterId) {
    throw new LogDirError(
      `log dir ${dir} belongs to cluster ${found}, but the other log dirs belong to ${clusterId}`,
    );
  }
  return { clusterId: found, created: false };
}

export type OffsetCheckpoint = Map<string, number>; // "topic-partition" -> offset

export function readCheckpoint(dir: string, name: string): OffsetCheckpoint {
  const out: OffsetCheckpoint = new Map();
  let text: string;
  try {
    text = fs.readFileSync(join(dir, name), "utf8");
  } catch {
    return out;
  }
  const lines = text.split("\n").filter((l) => l !== "");
  if (lines[0] !== "0" || Number(lines[1]) !== lines.length - 2) return new Map();
  for (const line of lines.slice(2)) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (!m) return new Map();
    out.set(`${m[1]}-${m[2]}`, Number(m[3]));
  }
  return out;
}

export function writeCheckpoint(
  dir: string,
  name: string,
  entries: { topic: string; partition: number; offset: number }[],
): void {
  const lines = ["0", String(entries.length), ...entries.map((e) => `${e.topic} ${e.partition} ${e.offset}`)];
  writeFileDurably(join(dir, name), `${lines.join("\n")}\n`);
}

export function wasCleanShutdown(dir: string): boolean {
  return fs.existsSync(join(dir, CLEAN_SHUTDOWN_MARKER));
}

export function removeCleanShutdownMarker(dir: string): void {
  fs.rmSync(join(dir, CLEAN_SHUTDOWN_MARKER), { force: true });
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeCleanShutdownMarker(dir: string): void {
  writeFileDurably(join(dir, CLEAN_SHUTDOWN_MARKER), "");
}
