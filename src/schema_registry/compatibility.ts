// Compatibility levels as Confluent's registry computes them: BACKWARD (the default): the new
// schema reads data written with the previous one; FORWARD: the previous reads the new one's
// data; FULL: both; the _TRANSITIVE levels check against every live version of the subject
// instead of the latest only; NONE checks nothing. "Reads" is per format: avro_compat.ts,
// json_compat.ts, protobuf_compat.ts. A schema of another type than the previous one is
// incompatible at any level but NONE.

import { avroReadable, type Incompatibility } from "./avro_compat.ts";
import type { Parsed } from "./formats.ts";
import { jsonReadable } from "./json_compat.ts";
import { protobufReadable } from "./protobuf_compat.ts";

export const LEVELS = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
] as const;
export type CompatibilityLevel = (typeof LEVELS)[number];
export const DEFAULT_LEVEL: CompatibilityLevel = "BACKWARD";

export function parseLevel(v: unknown): CompatibilityLevel | null {
  if (typeof v !== "string") return null;
  const up = v.toUpperCase();
  return (LEVELS as readonly string[]).includes(up) ? (up as CompatibilityLevel) : null;
}

/** Can data written with `writer` be read with `reader`? The findings; empty: yes. */
export function readable(reader: Parsed, writer: Parsed): Incompatibility[] {
  if (reader.type !== writer.type)
    return [{ errorType: "TYPE_MISMATCH", description: "Incompatible because of different schema type" }];
  switch (reader.type) {
    case "AVRO":
      return avroReadable(reader.avro, (writer as typeof reader).avro);
    case "JSON": {
      const w = writer as typeof reader;
      return jsonReadable(reader.json, w.json, reader.refs, w.refs);
    }
    case "PROTOBUF":
      return protobufReadable(reader.proto, (writer as typeof reader).proto);
  }
}

export interface PreviousVersion {
  version: number;
  schema: Parsed;
}

export interface Finding extends Incompatibility {
  oldSchemaVersion: number;
  oldSchema: string;
}

/**
 * Check `candidate` against the live versions of a subject (oldest first) at `level`; the
 * findings against the first incompatible version, newest first as Confluent checks them
 * (empty: compatible).
 */
export function checkCompatibility(
  level: CompatibilityLevel,
  candidate: Parsed,
  previous: readonly PreviousVersion[],
): Finding[] {
  if (level === "NONE" || previous.length === 0) return [];
  const against = level.endsWith("_TRANSITIVE") ? [...previous].reverse() : [previous[previous.length - 1]];
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  for (const p of against) {
    const found: Incompatibility[] = [];
    if (backward) found.push(...readable(candidate, p.schema));
    if (forward) found.push(...readable(p.schema, candidate));
    if (found.length > 0)
      return found.map((f) => ({ ...f, oldSchemaVersion: p.version, oldSchema: p.schema.canonical }));
  }
  return [];
}

/** Confluent's detail list for a 409 and for verbose compatibility answers. */
export function describeFindings(findings: readonly Finding[], level: CompatibilityLevel): string[] {
  if (findings.length === 0) return [];
  const out = findings.map(
    (f) =>
      `{errorType:'${f.errorType}', description:'${f.description}', additionalInfo:'${f.additionalInfo ?? f.errorType}'}`,
  );
  out.push(`{oldSchemaVersion: ${findings[0].oldSchemaVersion}}`);
  out.push(`{oldSchema: '${findings[0].oldSchema}'}`);
  out.push(`{compatibility: '${level}'}`);
  return out;
}
