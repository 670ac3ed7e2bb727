// Avro schema resolution as a compatibility check: can data written with `writer` be read
// with `reader`? Apache Avro's SchemaCompatibility.checkReaderWriterCompatibility rules, which
// Confluent's registry applies (BACKWARD: the new schema reads the old one's data; FORWARD: the
// old reads the new's), over avsc's parsed types:
//   - same primitive type: readable; promotions int -> long, float, double; long -> float,
//     double; float -> double; string <-> bytes;
//   - a writer union: every branch readable by the reader; a reader union (writer not a union):
//     some branch reads the writer;
//   - records: names equal (unqualified, or the writer's full name among the reader's aliases);
//     each reader field is found in the writer by name or by one of its aliases and readable,
//     or has a default; writer fields the reader lacks are skipped;
//   - enums: names equal; every writer symbol in the reader, unless the reader has a default;
//   - fixed: names and sizes equal; arrays: items; maps: values.
// Logical types are their underlying types (as Avro's resolution sees them). Each finding has
// Confluent's errorType and description.

import type avro from "avsc";

export interface Incompatibility {
  errorType: string;
  description: string;
  additionalInfo?: string;
}

// avsc's type objects, as far as this walk reads them.
interface AnyType {
  typeName: string;
  name?: string;
  aliases?: string[];
  fields?: { name: string; type: AnyType; aliases: string[]; defaultValue(): unknown }[];
  symbols?: string[];
  default?: unknown;
  size?: number;
  itemsType?: AnyType;
  valuesType?: AnyType;
  types?: AnyType[];
}

const PROMOTIONS: Record<string, string[]> = {
  int: ["long", "float", "double"],
  long: ["float", "double"],
  float: ["double"],
  string: ["bytes"],
  bytes: ["string"],
};

const kind = (t: AnyType): string => (t.typeName.startsWith("union") ? "union" : t.typeName);
const simpleName = (n = ""): string => n.slice(n.lastIndexOf(".") + 1);

export function avroReadable(reader: avro.Type, writer: avro.Type): Incompatibility[] {
  const out: Incompatibility[] = [];
  // Pairs under check (recursive types): assumed readable while their check runs.
  const inProgress = new Map<AnyType, Set<AnyType>>();
  walk(reader as unknown as AnyType, writer as unknown as AnyType, "", inProgress, out);
  return out;
}

function namesMatch(r: AnyType, w: AnyType): boolean {
  if (simpleName(r.name) === simpleName(w.name)) return true;
  return (r.aliases ?? []).includes(w.name ?? "");
}

function walk(
  r: AnyType,
  w: AnyType,
  path: string,
  inProgress: Map<AnyType, Set<AnyType>>,
  out: Incompatibility[],
): void {
  let seen = inProgress.get(r);
  if (seen?.has(w)) return;
  if (seen === undefined) inProgress.set(r, (seen = new Set()));
  seen.add(w);
  try {
    check(r, w, path, inProgress, out);
  } finally {
    seen.delete(w);
  }
}

function check(
  r: AnyType,
  w: AnyType,
  path: string,
  inProgress: Map<AnyType, Set<AnyType>>,
  out: Incompatibility[],
): void {
  const rk = kind(r);
  const wk = kind(w);
  if (wk === "union") {
    // Every branch the writer may have written must be readable.
    w.types!.forEach((branch, i) => {
      walk(r, branch, `${path}/${i}`, inProgress, out);
    });
    return;
  }
  if (rk === "union") {
    for (const branch of r.types!) {
      const probe: Incompatibility[] = [];
      walk(branch, w, path, inProgress, probe);
      if (probe.length === 0) return;
    }
    out.push({
      errorType: "MISSING_UNION_BRANCH",
      description: `The new schema is missing a type inside a union field at path '${path || "/"}' in the old schema`,
      additionalInfo: `reader union lacking writer type: ${wk.toUpperCase()}`,
    });
    return;
  }
  if (rk !== wk) {
    if (PROMOTIONS[wk]?.includes(rk)) return;
    out.push({
      errorType: "TYPE_MISMATCH",
      description: `The type (path '${path || "/"}') of a field in the new schema does not match with the old schema`,
      additionalInfo: `reader type: ${rk.toUpperCase()} not compatible with writer type: ${wk.toUpperCase()}`,
    });
    return;
  }
  switch (rk) {
    case "record":
    case "error": {
      if (!namesMatch(r, w)) {
        out.push(nameMismatch(r, w, path));
        return;
      }
      r.fields!.forEach((rf, i) => {
        const wf =
          w.fields!.find((f) => f.name === rf.name) ?? w.fields!.find((f) => rf.aliases.includes(f.name));
        const at = `${path}/fields/${i}`;
        if (wf === undefined) {
          if (rf.defaultValue() === undefined)
            out.push({
              errorType: "READER_FIELD_MISSING_DEFAULT_VALUE",
              description: `The field '${rf.name}' at path '${at}' in the new schema has no default value and is missing in the old schema`,
              additionalInfo: rf.name,
            });
          return;
        }
        walk(rf.type, wf.type, `${at}/type`, inProgress, out);
      });
      return;
    }
    case "enum": {
      if (!namesMatch(r, w)) {
        out.push(nameMismatch(r, w, path));
        return;
      }
      if (r.default !== undefined) return;
      const missing = w.symbols!.filter((s) => !r.symbols!.includes(s));
      if (missing.length > 0)
        out.push({
          errorType: "MISSING_ENUM_SYMBOLS",
          description: `The new schema is missing enum symbols '[${missing.join(", ")}]' at path '${path}/symbols' in the old schema`,
          additionalInfo: `[${missing.join(", ")}]`,
        });
      return;
    }
    case "fixed": {
      if (!namesMatch(r, w)) {
        out.push(nameMismatch(r, w, path));
        return;
      }
      if (r.size !== w.size)
        out.push({
          errorType: "FIXED_SIZE_MISMATCH",
          description: `The size of FIXED type field at path '${path}/size' in the new schema does not match with the old schema`,
          additionalInfo: `expected: ${w.size}, found: ${r.size}`,
        });
      return;
    }
    case "array":
      walk(r.itemsType!, w.itemsType!, `${path}/items`, inProgress, out);
      return;
    case "map":
      walk(r.valuesType!, w.valuesType!, `${path}/values`, inProgress, out);
      return;
    default:
      return; // the same primitive
  }
}

function nameMismatch(r: AnyType, w: AnyType, path: string): Incompatibility {
  return {
    errorType: "NAME_MISMATCH",
    description: `The name of the schema has changed (path '${path}/name')`,
    additionalInfo: `expected: ${w.name}, found: ${r.name}`,
  };
}
