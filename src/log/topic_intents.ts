// Topic creations and deletions in progress, written down before they start, so a crash halfway
// leaves nothing a restart cannot finish. A topic of 10,000 partitions is 10,000 directories; no
// single rename covers them all, so each log dir keeps a small journal:
//
//   <log.dir>/.milena-intents/create.<topic>   a creation started (empty file, fsynced)
//   <log.dir>/.milena-intents/delete.<topic>   a deletion started
//
// Recovery (LogManager.open) reads every log dir's journal first: a topic with either intent is
// removed (a creation that never answered its client is undone; a deletion is finished), then
// the intents go. Topic names are [a-zA-Z0-9._-]{1,249}, so they are safe as file names.
//
// Removed partition directories are first renamed to Kafka's "<topic>-<partition>.<uuid>-delete"
// (atomic: a partition is either there or not), then deleted in the background; recovery
// deletes any such leftovers.

import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";

export const INTENTS_DIR = ".milena-intents";

export type IntentKind = "create" | "delete";

export interface TopicIntent {
  kind: IntentKind;
  topic: string;
}

function intentPath(logDir: string, kind: IntentKind, topic: string): string {
  return join(logDir, INTENTS_DIR, `${kind}.${topic}`);
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.promises.open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Record an intent in every log dir, durably, without blocking the event loop. */
export async function writeIntent(
  logDirs: readonly string[],
  kind: IntentKind,
  topic: string,
): Promise<void> {
  await Promise.all(
    logDirs.map(async (logDir) => {
      const dir = join(logDir, INTENTS_DIR);
      await fs.promises.mkdir(dir, { recursive: true });
      const h = await fs.promises.open(intentPath(logDir, kind, topic), "w");
      try {
        await h.sync();
      } finally {
        await h.close();
      }
      await fsyncDir(dir);
    }),
  );
}

/** The intent is fulfilled: remove it from every log dir. */
export async function clearIntent(
  logDirs: readonly string[],
  kind: IntentKind,
  topic: string,
): Promise<void> {
  await Promise.all(logDirs.map((d) => fs.promises.rm(intentPath(d, kind, topic), { force: true })));
}

/** Every intent recorded in a log dir (startup). */
export function readIntents(logDir: string): TopicIntent[] {
  let names: string[];
  try {
    names = fs.readdirSync(join(logDir, INTENTS_DIR));
  } catch {
    return [];
  }
  const out: TopicIntent[] = [];
  for (const n of names) {
    const m = /^(create|delete)\.(.+)$/.exec(n);
    if (m) out.push({ kind: m[1] as IntentKind, topic: m[2] });
  }
  return out;
}

/** Remove an intent file (startup, once recovery has acted on it). */
export function removeIntentSync(logDir: string, intent: TopicIntent): void {
  fs.rmSync(intentPath(logDir, intent.kind, intent.topic), { force: true });
}

/** Kafka's name for a partition directory being deleted. */
export function deletedDirName(partitionDir: string): string {
  return `${partitionDir}.${randomUUID().replace(/-/g, "")}-delete`;
}

/** A directory name left by a deletion (Kafka's, or an older Milena's). */
export function isDeletedDirName(name: string): boolean {
  return /\.[0-9a-f]{32}-delete$/.test(name) || name.endsWith(".milena-delete");
}

/** Remove a renamed directory in the background; failures are reported, never thrown. */
export function removeInBackground(path: string, report: (line: string) => void): void {
  fs.promises
    .rm(path, { recursive: true, force: true })
    .catch((e) => report(`could not remove ${path}: ${(e as Error).message}`));
}
