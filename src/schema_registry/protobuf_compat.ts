// Protobuf compatibility, a documented subset of Confluent's ProtobufSchema diff (its errorType
// names): for every message of the writer (by full name) the reader must still have it
// (MESSAGE_REMOVED); for every field number of a writer message that the reader still has,
// the two must be wire-compatible: same kind (scalar, message, enum: FIELD_KIND_CHANGED), the
// same message type (FIELD_NAMED_TYPE_CHANGED), scalars of one wire-compatible group
// (FIELD_SCALAR_KIND_CHANGED: int32 uint32 int64 uint64 bool enum | sint32 sint64 | fixed32
// sfixed32 | fixed64 sfixed64 | string bytes | float | double), and repeated vs singular only
// for scalars (FIELD_LABEL_CHANGED); a proto2 required field the reader drops
// (REQUIRED_FIELD_REMOVED) or adds (REQUIRED_FIELD_ADDED). Not checked: enums' values,
// oneof membership, field renames (compatible on the wire), syntax and package changes.

import protobuf from "protobufjs";
import type { Incompatibility } from "./avro_compat.ts";

const GROUPS: string[][] = [
  ["int32", "uint32", "int64", "uint64", "bool", "enum"],
  ["sint32", "sint64"],
  ["fixed32", "sfixed32"],
  ["fixed64", "sfixed64"],
  ["string", "bytes"],
  ["float"],
  ["double"],
];

function messages(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) out.push(n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) messages(n, out);
  }
  return out;
}

function kindOf(f: protobuf.Field): { kind: "message" | "enum" | "scalar"; name: string } {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) return { kind: "message", name: t.fullName };
  if (t instanceof protobuf.Enum) return { kind: "enum", name: t.fullName };
  return { kind: "scalar", name: f.type };
}

const group = (scalar: string) => GROUPS.findIndex((g) => g.includes(scalar));

export function protobufReadable(reader: protobuf.Root, writer: protobuf.Root): Incompatibility[] {
  const out: Incompatibility[] = [];
  for (const wm of messages(writer)) {
    if (wm.fullName.includes(".map_") || wm.options?.map_entry === true) continue;
    const rm = reader.lookup(wm.fullName);
    if (!(rm instanceof protobuf.Type)) {
      out.push({
        errorType: "MESSAGE_REMOVED",
        description: `The message ${wm.fullName.slice(1)} was removed`,
      });
      continue;
    }
    const at = (f: protobuf.Field) => `${wm.fullName.slice(1)}.${f.name} (field ${f.id})`;
    for (const wf of wm.fieldsArray) {
      const rf = rm.fieldsById[wf.id];
      if (rf === undefined) {
        if (wf.required)
          out.push({
            errorType: "REQUIRED_FIELD_REMOVED",
            description: `The required field ${at(wf)} was removed`,
          });
        continue;
      }
      if (rf.map !== wf.map) {
        out.push({
          errorType: "FIELD_KIND_CHANGED",
          description: `The field ${at(rf)} changed between map and not`,
        });
        continue;
      }
      const rk = kindOf(rf);
      const wk = kindOf(wf);
      const rScalar = rk.kind === "enum" ? "enum" : rk.name;
      const wScalar = wk.kind === "enum" ? "enum" : wk.name;
      if (rk.kind === "message" || wk.kind === "message") {
        if (rk.kind !== wk.kind)
          out.push({ errorType: "FIELD_KIND_CHANGED", description: `The kind of field ${at(rf)} changed` });
        else if (rk.name !== wk.name)
          out.push({
            errorType: "FIELD_NAMED_TYPE_CHANGED",
            description: `The type of field ${at(rf)} changed from ${wk.name.slice(1)} to ${rk.name.slice(1)}`,
          });
      } else if (group(rScalar) !== group(wScalar))
        out.push({
          errorType: "FIELD_SCALAR_KIND_CHANGED",
          description: `The type of field ${at(rf)} changed from ${wScalar} to ${rScalar}`,
        });
      if (
        rf.repeated !== wf.repeated &&
        (rk.kind === "message" || wk.kind === "message" || rScalar === "string")
      )
        out.push({
          errorType: "FIELD_LABEL_CHANGED",
          description: `The field ${at(rf)} changed between repeated and not`,
        });
    }
    for (const rf of rm.fieldsArray)
      if (rf.required && wm.fieldsById[rf.id] === undefined)
        out.push({
          errorType: "REQUIRED_FIELD_ADDED",
          description: `The required field ${at(rf)} was added`,
        });
  }
  return out;
}
