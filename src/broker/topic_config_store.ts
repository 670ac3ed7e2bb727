// Where a topic's config overrides live on a single broker: a small properties file in each of
// the topic's partition directories, so it moves and is deleted with them and is found in
// whichever log dir holds the partition. (With ZooKeeper, Kafka keeps them under
// /config/topics/<topic>; that is where they will go when clustering lands.)
//
//   <log.dir>/<topic>-<partition>/topic-config.properties
//     # Milena topic config overrides
//     retention.ms=60000
//     segment.bytes=1048576
//
// Written whole to a temp name, fsynced, renamed. Missing file = no overrides.

import * as fs from "node:fs";
import { join } from "node:path";
import { writeFileDurably } from "../log/log_dir.ts";

export const TOPIC_CONFIG_FILE = "topic-config.properties";

export function readTopicConfig(partitionDir: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = fs.readFileSync(join(partitionDir, TOPIC_CONFIG_FILE), "utf8");
  } catch {
    return out;
  }
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1].trim(), m[2].trim());
  }
  return out;
}

/** The file's text for a set of overrides; null: no file (no overrides). */
export function renderTopicConfig(overrides: ReadonlyMap<string, string>): string | null {
  if (overrides.size === 0) return null;
  const lines = ["# Milena topic config overrides", ...[...overrides].sort().map(([k, v]) => `${k}=${v}`)];
  return `${lines.join("\n")}\n`;
}

/**
 * Store a partition's overrides (renderTopicConfig's text, or null to remove the file). Runs on
 * the partition's writer thread (it fsyncs), never on the acceptor.
 */
export function writeTopicConfigText(partitionDir: string, text: string | null): void {
  const path = join(partitionDir, TOPIC_CONFIG_FILE);
  if (text === null) {
    fs.rmSync(path, { force: true });
    return;
  }
  fs.mkdirSync(partitionDir, { recursive: true });
  writeFileDurably(path, text);
}

export function writeTopicConfig(partitionDir: string, overrides: ReadonlyMap<string, string>): void {
  writeTopicConfigText(partitionDir, renderTopicConfig(overrides));
}
