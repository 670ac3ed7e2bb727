// The records of the `_schemas` topic, in the JSON Confluent's Schema Registry writes
// (io.confluent.kafka.schemaregistry.storage: SchemaRegistryKey and its values), so a topic
// written by one can be read by the other. Keys (UTF-8 JSON, fields in Confluent's order):
//
//   {"keytype":"SCHEMA","subject":"s","version":1,"magic":1}   one subject version
//   {"keytype":"CONFIG","subject":"s"|null,"magic":0}          compatibility (null: global)
//   {"keytype":"MODE","subject":"s"|null,"magic":0}            mode (null: global)
//   {"keytype":"DELETE_SUBJECT","subject":"s","magic":0}       soft delete of a whole subject
//   {"keytype":"NOOP","magic":0}                               (written by Confluent; skipped)
//
// Values (UTF-8 JSON):
//   SCHEMA  {"subject":"s","version":1,"id":1,"schemaType":"JSON","references":[...],
//            "schema":"...","deleted":false}   (schemaType absent for AVRO, references absent
//            when empty, as Confluent omits them); deleted=true is a soft-deleted version; a
//            null value (tombstone) is a permanently deleted version.
//   CONFIG  {"compatibilityLevel":"FULL"}; null: the subject's level removed.
//   MODE    {"mode":"READONLY"}; null: removed.
//   DELETE_SUBJECT {"subject":"s","version":3}: every version up to 3 soft-deleted.
// The topic is compacted: the last record per key is what counts.

export type SchemaType = "AVRO" | "JSON" | "PROTOBUF";

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schemaType: SchemaType;
  references: SchemaReference[];
  schema: string;
  deleted: boolean;
}

export type SchemasRecord =
  | { keytype: "SCHEMA"; subject: string; version: number; value: SchemaValue | null }
  | { keytype: "CONFIG"; subject: string | null; value: { compatibilityLevel: string } | null }
  | { keytype: "MODE"; subject: string | null; value: { mode: string } | null }
  | { keytype: "DELETE_SUBJECT"; subject: string; value: { subject: string; version: number } | null };

export const SCHEMAS_TOPIC = "_schemas";

export function encodeKey(r: SchemasRecord): Buffer {
  let key: object;
  switch (r.keytype) {
    case "SCHEMA":
      key = { keytype: "SCHEMA", subject: r.subject, version: r.version, magic: 1 };
      break;
    case "CONFIG":
    case "MODE":
    case "DELETE_SUBJECT":
      key = { keytype: r.keytype, subject: r.subject, magic: 0 };
      break;
  }
  return Buffer.from(JSON.stringify(key));
}

export function encodeValue(r: SchemasRecord): Buffer | null {
  if (r.value === null) return null;
  if (r.keytype !== "SCHEMA") return Buffer.from(JSON.stringify(r.value));
  const v = r.value;
  const out: Record<string, unknown> = { subject: v.subject, version: v.version, id: v.id };
  if (v.schemaType !== "AVRO") out.schemaType = v.schemaType;
  if (v.references.length > 0) out.references = v.references;
  out.schema = v.schema;
  out.deleted = v.deleted;
  return Buffer.from(JSON.stringify(out));
}

const str = (x: unknown): x is string => typeof x === "string";
const int = (x: unknown): x is number => Number.isSafeInteger(x);

function parseJson(b: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(b.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** One record; null for what this broker does not know (NOOP, other key types, junk): skipped. */
export function decodeSchemasRecord(key: Buffer, value: Buffer | null): SchemasRecord | null {
  const k = parseJson(key);
  if (k === null) return null;
  const subject =
    k.subject === null || k.subject === undefined ? null : str(k.subject) ? k.subject : undefined;
  if (subject === undefined) return null;
  const v = value === null ? null : parseJson(value);
  if (value !== null && v === null) return null;
  switch (k.keytype) {
    case "SCHEMA": {
      if (subject === null || !int(k.version)) return null;
      if (v === null) return { keytype: "SCHEMA", subject, version: k.version, value: null };
      if (!int(v.id) || !int(v.version) || !str(v.schema) || !str(v.subject)) return null;
      const t = v.schemaType ?? "AVRO";
      if (t !== "AVRO" && t !== "JSON" && t !== "PROTOBUF") return null;
      const refs = Array.isArray(v.references) ? v.references : [];
      const references: SchemaReference[] = [];
      for (const r of refs) {
        if (typeof r !== "object" || r === null || !str(r.name) || !str(r.subject) || !int(r.version))
          return null;
        references.push({ name: r.name, subject: r.subject, version: r.version });
      }
      return {
        keytype: "SCHEMA",
        subject,
        version: k.version,
        value: {
          subject: v.subject,
          version: v.version,
          id: v.id,
          schemaType: t,
          references,
          schema: v.schema,
          deleted: v.deleted === true,
        },
      };
    }
    case "CONFIG":
      if (v === null) return { keytype: "CONFIG", subject, value: null };
      return str(v.compatibilityLevel)
        ? { keytype: "CONFIG", subject, value: { compatibilityLevel: v.compatibilityLevel } }
        : null;
    case "MODE":
      if (v === null) return { keytype: "MODE", subject, value: null };
      return str(v.mode) ? { keytype: "MODE", subject, value: { mode: v.mode } } : null;
    case "DELETE_SUBJECT":
      if (subject === null) return null;
      if (v === null) return { keytype: "DELETE_SUBJECT", subject, value: null };
      return str(v.subject) && int(v.version)
        ? { keytype: "DELETE_SUBJECT", subject, value: { subject: v.subject, version: v.version } }
        : null;
    default:
      return null;
  }
}
