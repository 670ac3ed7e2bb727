// The three schema formats the registry accepts, as Confluent's: AVRO (parsed by avsc), JSON
// (JSON Schema, compiled by ajv: drafts 4 to 2020-12 by their $schema) and PROTOBUF (.proto
// text, parsed by protobufjs). A schema is parsed with the schemas it references (Confluent's
// `references`: Avro named types from other subjects, JSON Schema $ref by name, Protobuf imports)
// and kept in a canonical text, which decides whether two registrations are the same schema:
// Avro and JSON as compact JSON (whitespace does not count), Protobuf as sent (trimmed, LF line
// ends). Parsing failures are Confluent's 42201.

import { Ajv } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import avro from "avsc";
import protobuf from "protobufjs";
import { Errors } from "./errors.ts";
import type { SchemaType } from "./schemas_records.ts";

export const SCHEMA_TYPES: readonly SchemaType[] = ["JSON", "PROTOBUF", "AVRO"];

export type Parsed =
  | { type: "AVRO"; canonical: string; avro: avro.Type }
  | { type: "JSON"; canonical: string; json: unknown; refs: Map<string, unknown> }
  | { type: "PROTOBUF"; canonical: string; proto: protobuf.Root };

/** A referenced schema: the name it is referenced by, and its text. */
export interface ResolvedReference {
  name: string;
  type: SchemaType;
  schema: string;
}

function jsonOf(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw Errors.invalidSchema(`${what}: ${(e as Error).message}`);
  }
}

/** The canonical text of a schema (no parsing beyond JSON for Avro and JSON Schema). */
export function canonicalText(type: SchemaType, text: string): string {
  if (type === "PROTOBUF") return text.replace(/\r\n?/g, "\n").trim();
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

function ajvFor(schema: unknown): Ajv {
  const draft =
    typeof schema === "object" && schema !== null
      ? String((schema as { $schema?: unknown }).$schema ?? "")
      : "";
  const opts = { strict: false, validateFormats: false, allErrors: false } as const;
  if (draft.includes("2020-12")) return new Ajv2020(opts) as unknown as Ajv;
  if (draft.includes("2019-09")) return new Ajv2019(opts) as unknown as Ajv;
  return new Ajv(opts);
}

/** Parse and check a schema with its references; throws RegistryError 42201 when it is invalid. */
export function parseSchema(type: SchemaType, text: string, refs: readonly ResolvedReference[] = []): Parsed {
  const canonical = canonicalText(type, text);
  switch (type) {
    case "AVRO": {
      const registry: Record<string, avro.Type> = {};
      try {
        for (const r of refs) avro.Type.forSchema(jsonOf(r.schema, r.name) as avro.Schema, { registry });
        const t = avro.Type.forSchema(jsonOf(text, "not JSON") as avro.Schema, { registry });
        return { type, canonical, avro: t };
      } catch (e) {
        if (e instanceof Error && e.name === "RegistryError") throw e;
        throw Errors.invalidSchema(`${canonical.slice(0, 200)}: ${(e as Error).message}`);
      }
    }
    case "JSON": {
      const json = jsonOf(text, "not JSON");
      if (typeof json !== "object" && typeof json !== "boolean")
        throw Errors.invalidSchema(`${canonical.slice(0, 200)}: a JSON Schema is an object or a boolean`);
      const ajv = ajvFor(json);
      const byName = new Map<string, unknown>();
      try {
        for (const r of refs) {
          const s = jsonOf(r.schema, r.name);
          byName.set(r.name, s);
          ajv.addSchema(s as object, r.name);
        }
        ajv.compile(json as object);
      } catch (e) {
        throw Errors.invalidSchema(`${canonical.slice(0, 200)}: ${(e as Error).message}`);
      }
      return { type, canonical, json, refs: byName };
    }
    case "PROTOBUF": {
      const root = new protobuf.Root();
      try {
        for (const r of refs) protobuf.parse(r.schema, root, { keepCase: true });
        protobuf.parse(text, root, { keepCase: true });
        root.resolveAll();
      } catch (e) {
        throw Errors.invalidSchema(`${canonical.slice(0, 200)}: ${(e as Error).message}`);
      }
      return { type, canonical, proto: root };
    }
  }
}

/**
 * A check of a payload (the bytes after Confluent's magic byte and id) against a parsed schema:
 * null when it decodes, else why not. Avro: avsc reads exactly the bytes; JSON: UTF-8 JSON that
 * the schema validates; Protobuf: Confluent's message indexes (a zigzag varint count, 0 meaning
 * the first message, then each index), then a message of that type.
 */
export function payloadValidator(p: Parsed): (bytes: Uint8Array) => string | null {
  switch (p.type) {
    case "AVRO":
      return (bytes) => {
        try {
          p.avro.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          return null;
        } catch (e) {
          return `not Avro of this schema (${(e as Error).message})`;
        }
      };
    case "JSON": {
      const ajv = ajvFor(p.json);
      for (const [name, s] of p.refs) ajv.addSchema(s as object, name);
      const validate = ajv.compile(p.json as object);
      return (bytes) => {
        let doc: unknown;
        try {
          doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
        } catch (e) {
          return `not JSON (${(e as Error).message})`;
        }
        if (validate(doc)) return null;
        return ajv.errorsText(validate.errors);
      };
    }
    case "PROTOBUF": {
      const top = p.proto.nestedArray.flatMap(function flat(n): protobuf.ReflectionObject[] {
        return n instanceof protobuf.Type
          ? [n]
          : n instanceof protobuf.Namespace
            ? n.nestedArray.flatMap(flat)
            : [];
      });
      return (bytes) => {
        const r = protobuf.Reader.create(bytes);
        try {
          const count = r.sint32();
          const path = count === 0 ? [0] : Array.from({ length: count }, () => r.sint32());
          let t: protobuf.Type | undefined = top[path[0]] as protobuf.Type | undefined;
          for (const i of path.slice(1))
            t = t?.nestedArray.filter((n) => n instanceof protobuf.Type)[i] as protobuf.Type | undefined;
          if (t === undefined) return `no message at index ${path.join(".")}`;
          t.decode(bytes.subarray(r.pos));
          return null;
        } catch (e) {
          return `not a Protobuf message of this schema (${(e as Error).message})`;
        }
      };
    }
  }
}
