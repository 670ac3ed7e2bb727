// Any Kafka message, any version, read and written from its description (schema.ts; the
// descriptions are generated from Kafka's specs into generated/messages.ts). What the format
// rules are, per field and version v:
//
//   present        versions include v, and not tagged at v
//   flexible       the message's flexibleVersions include v (a field may override: RequestHeader's
//                  ClientId is never compact)
//   string         int16 length (-1 null) | compact: uvarint length+1 (0 null), UTF-8
//   bytes/records  int32 length (-1 null) | compact: uvarint length+1 (0 null)
//   []T            int32 count (-1 null)  | compact: uvarint count+1 (0 null)
//   struct         its fields in order; nullable: int8 -1 (null) or 1 before them
//   uuid           16 bytes; float64: IEEE 754 big-endian; uint16/uint32 unsigned
//   tagged fields  at the end of every struct of a flexible version: uvarint count, then per field
//                  uvarint tag, uvarint size, the value (flexible encoding); ascending tags. Fields
//                  whose value is the default are left out; unknown tags are kept (`_unknownTags`)
//                  and written back, so decode-then-encode gives the same bytes.
//
// A field absent from a version decodes to its default (the spec's, else 0, false, "", empty).
// This is the general path; Produce and Fetch keep hand-written hot paths (src/protocol/produce.ts,
// fetch.ts), checked byte for byte against this one, every version, by
// test/unit/protocol_produce.test.ts and protocol_fetch.test.ts.

import { ProtocolError, type Reader } from "./reader.ts";
import { type FieldSpec, inRange, type MessageSpec } from "./schema.ts";
import { Writer } from "./writer.ts";

export type Value = unknown;
export type Struct = { [name: string]: Value };

/** A tagged field this description does not know: kept as it came. */
export interface UnknownTag {
  tag: number;
  data: Uint8Array;
}

const UNKNOWN_TAGS = "_unknownTags";

interface Ctx {
  version: number;
  flexible: boolean;
}

function fieldFlexible(f: FieldSpec, ctx: Ctx): boolean {
  return f.flexible !== undefined ? inRange(f.flexible, ctx.version) : ctx.flexible;
}

const SCALARS = new Set(["int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "bool", "uuid"]);

/** The value a field has when a version does not carry it (or a tagged field is not sent). */
export function defaultValue(f: FieldSpec, version: number): Value {
  if (f.default !== undefined) return f.default;
  if (f.type.startsWith("[]")) return [];
  switch (f.type) {
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32":
    case "int64":
    case "float64":
      return 0;
    case "bool":
      return false;
    case "string":
      return "";
    case "uuid":
      return new Uint8Array(16);
    case "bytes":
    case "records":
      return inRange(f.nullable, version) ? null : new Uint8Array(0);
    default:
      return defaultStruct(f.fields ?? [], version);
  }
}

function defaultStruct(fields: FieldSpec[], version: number): Struct {
  const out: Struct = {};
  for (const f of fields) out[f.name] = defaultValue(f, version);
  return out;
}

// ---- decoding ----------------------------------------------------------------------------------

/** An array count or a bytes length: int32, or uvarint N+1 when flexible; -1 is null. */
function readLength(r: Reader, flexible: boolean): number {
  return flexible ? r.uvarint() - 1 : r.int32();
}

function readFixed(r: Reader, n: number): number {
  const at = r.offset;
  r.skip(n);
  return at;
}

function readScalar(r: Reader, type: string): Value {
  switch (type) {
    case "int8":
      return r.int8();
    case "int16":
      return r.int16();
    case "uint16":
      return r.uint16();
    case "int32":
      return r.int32();
    case "uint32":
      return r.uint32();
    case "int64":
      return r.int64();
    case "float64":
      return r.float64();
    case "bool":
      return r.bool();
    case "uuid":
      return new Uint8Array(r.uuid()); // a copy (Buffer's slice would be a view of the frame)
  }
  throw new ProtocolError(`unknown type ${type}`);
}

function readValue(r: Reader, f: FieldSpec, type: string, ctx: Ctx, nullable: boolean): Value {
  const flexible = fieldFlexible(f, ctx);
  if (type.startsWith("[]")) {
    const n = readLength(r, flexible);
    if (n < 0) {
      if (!nullable) throw new ProtocolError(`null array where ${f.name} is required`);
      return null;
    }
    if (n > r.remaining) throw new ProtocolError(`array count ${n} exceeds the frame`);
    const elem = type.slice(2);
    const out: Value[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readValue(r, f, elem, ctx, false);
    return out;
  }
  if (SCALARS.has(type)) return readScalar(r, type);
  if (type === "string") {
    // Reader's own: bounded, strictly UTF-8.
    if (flexible) return nullable ? r.compactNullableString() : r.compactString();
    return nullable ? r.nullableString() : r.string();
  }
  if (type === "bytes" || type === "records") {
    const n = readLength(r, flexible);
    if (n < 0) {
      if (!nullable) throw new ProtocolError(`null where the bytes ${f.name} are required`);
      return null;
    }
    const at = readFixed(r, n);
    return r.buf.subarray(at, at + n);
  }
  // A struct.
  if (nullable) {
    const marker = r.int8();
    if (marker < 0) return null;
  }
  return readStruct(r, f.fields ?? [], ctx);
}

function readStruct(r: Reader, fields: FieldSpec[], ctx: Ctx): Struct {
  const out: Struct = {};
  const v = ctx.version;
  for (const f of fields) {
    if (inRange(f.tagged, v) || !inRange(f.versions, v)) out[f.name] = defaultValue(f, v);
    else out[f.name] = readValue(r, f, f.type, ctx, inRange(f.nullable, v));
  }
  if (ctx.flexible) {
    const count = r.uvarint();
    if (count > r.remaining) throw new ProtocolError(`${count} tagged fields exceed the frame`);
    let unknown: UnknownTag[] | undefined;
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint();
      const size = r.uvarint();
      const sub = r.sub(size);
      const f = fields.find((x) => x.tag === tag && inRange(x.tagged, v));
      if (f === undefined) {
        unknown ??= [];
        unknown.push({ tag, data: new Uint8Array(sub.buf.subarray(sub.offset, sub.end)) }); // a copy
        continue;
      }
      out[f.name] = readValue(sub, f, f.type, { version: v, flexible: true }, inRange(f.nullable, v));
      if (sub.remaining !== 0)
        throw new ProtocolError(`tagged field ${f.name} has ${sub.remaining} extra bytes`);
    }
    if (unknown) out[UNKNOWN_TAGS] = unknown;
  }
  return out;
}

/** Decode one message body of `version`; ProtocolError when the bytes do not fit the description. */
export function decodeMessage(spec: MessageSpec, version: number, r: Reader): Struct {
  if (!inRange(spec.valid, version)) throw new ProtocolError(`${spec.name} has no version ${version}`);
  return readStruct(r, spec.fields, { version, flexible: inRange(spec.flexible, version) });
}

// ---- encoding ----------------------------------------------------------------------------------

function writeScalar(w: Writer, type: string, v: Value): void {
  switch (type) {
    case "int8":
      w.int8(v as number);
      return;
    case "int16":
      w.int16(v as number);
      return;
    case "uint16":
      w.uint16(v as number);
      return;
    case "int32":
      w.int32(v as number);
      return;
    case "uint32":
      w.uint32(v as number);
      return;
    case "int64":
      w.int64(v as number);
      return;
    case "float64":
      w.float64(v as number);
      return;
    case "bool":
      w.bool(v as boolean);
      return;
    case "uuid": {
      const b = v as Uint8Array;
      if (b.length !== 16) throw new RangeError(`a uuid is 16 bytes, not ${b.length}`);
      w.raw(b);
      return;
    }
  }
  throw new RangeError(`unknown type ${type}`);
}

function writeValue(w: Writer, f: FieldSpec, type: string, ctx: Ctx, nullable: boolean, v: Value): void {
  const flexible = fieldFlexible(f, ctx);
  if (v === null || v === undefined) {
    if (!nullable) throw new RangeError(`${f.name} is null in a version where it may not be`);
    if (type.startsWith("[]") || type === "bytes" || type === "records") w.count(-1, flexible);
    else if (type === "string") {
      if (flexible) w.compactString(null);
      else w.nullableString(null);
    } else w.int8(-1);
    return;
  }
  if (type.startsWith("[]")) {
    const items = v as Value[];
    w.count(items.length, flexible);
    const elem = type.slice(2);
    for (const item of items) writeValue(w, f, elem, ctx, false, item);
    return;
  }
  if (SCALARS.has(type)) {
    writeScalar(w, type, v);
    return;
  }
  if (type === "string") {
    if (flexible) w.compactString(v as string);
    else w.string(v as string);
    return;
  }
  if (type === "bytes" || type === "records") {
    const b = v as Uint8Array;
    w.count(b.length, flexible);
    w.raw(b);
    return;
  }
  if (nullable) w.int8(1);
  writeStruct(w, f.fields ?? [], ctx, v as Struct);
}

function isDefault(f: FieldSpec, version: number, v: Value): boolean {
  const d = defaultValue(f, version);
  return sameValue(d, v);
}

function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array)
    return a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a as Struct).filter((k) => k !== UNKNOWN_TAGS);
    return ka.every((k) => sameValue((a as Struct)[k], (b as Struct)[k]));
  }
  return false;
}

function writeStruct(w: Writer, fields: FieldSpec[], ctx: Ctx, s: Struct): void {
  const v = ctx.version;
  for (const f of fields) {
    if (inRange(f.tagged, v) || !inRange(f.versions, v)) continue;
    const value = f.name in s ? s[f.name] : defaultValue(f, v);
    writeValue(w, f, f.type, ctx, inRange(f.nullable, v), value);
  }
  if (!ctx.flexible) return;
  const tags: { tag: number; data: Uint8Array }[] = [];
  for (const f of fields) {
    if (!inRange(f.tagged, v) || !(f.name in s) || isDefault(f, v, s[f.name])) continue;
    const sub = new Writer(64);
    writeValue(sub, f, f.type, { version: v, flexible: true }, inRange(f.nullable, v), s[f.name]);
    tags.push({ tag: f.tag ?? 0, data: sub.view() });
  }
  for (const u of (s[UNKNOWN_TAGS] as UnknownTag[] | undefined) ?? []) tags.push(u);
  tags.sort((a, b) => a.tag - b.tag);
  w.uvarint(tags.length);
  for (const t of tags) {
    w.uvarint(t.tag);
    w.uvarint(t.data.length);
    w.raw(t.data);
  }
}

/** Encode one message body of `version`. Fields missing from `value` are written as their defaults. */
export function encodeMessage(spec: MessageSpec, version: number, w: Writer, value: Struct): void {
  if (!inRange(spec.valid, version)) throw new RangeError(`${spec.name} has no version ${version}`);
  writeStruct(w, spec.fields, { version, flexible: inRange(spec.flexible, version) }, value);
}
