// JSON Schema compatibility: does every document valid under `writer` stay valid under
// `reader`? The main rules of Confluent's JsonSchemaCompatibility / SchemaDiff, with its
// errorType names (BACKWARD: reader = the new schema, writer = the old):
//   - type: the reader's types must cover the writer's (integer is covered by number):
//     TYPE_NARROWED when some overlap is lost, TYPE_CHANGED when none is left;
//   - objects: a property newly required (REQUIRED_ATTRIBUTE_ADDED, or
//     REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL when the writer did not declare it); a
//     property the reader declares that the writer's open content model (additionalProperties
//     not false) may carry with any value (PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL; fine when the
//     writer is closed, or when its additionalProperties schema is read by the new property's);
//     a property the reader drops while closed (PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL) or
//     whose additionalProperties schema does not read it; additionalProperties turned false or
//     narrowed (ADDITIONAL_PROPERTIES_REMOVED / _NARROWED); properties present in both are
//     checked recursively;
//   - arrays: items recursively; maxItems / minItems added or tightened;
//   - strings: maxLength / minLength added or tightened, pattern added or changed;
//   - numbers: maximum / minimum / exclusive bounds added or tightened, multipleOf changed;
//   - enum / const narrowed (a writer value the reader does not accept);
//   - oneOf / anyOf: each writer branch must be read by the reader, a writer that is not a
//     combination must be read by some reader branch; allOf in the reader: every branch reads.
//   - local $ref (#/definitions/..., #/$defs/..., and references by name) are followed.
// Not checked: if/then/else, dependencies / dependentRequired, patternProperties,
// propertyNames, contains, not, format, and remote $ref: a change in these is taken as
// compatible.

import type { Incompatibility } from "./avro_compat.ts";

type Schema = boolean | Record<string, unknown>;

interface Ctx {
  readerRoot: unknown;
  writerRoot: unknown;
  readerRefs: Map<string, unknown>;
  writerRefs: Map<string, unknown>;
  /** Pairs under check (recursive $ref): assumed compatible while their check runs. */
  seen: Map<object, Set<object>>;
  depth: number;
  out: Incompatibility[];
}

export function jsonReadable(
  reader: unknown,
  writer: unknown,
  readerRefs: Map<string, unknown> = new Map(),
  writerRefs: Map<string, unknown> = new Map(),
): Incompatibility[] {
  const ctx: Ctx = {
    readerRoot: reader,
    writerRoot: writer,
    readerRefs,
    writerRefs,
    seen: new Map(),
    depth: 0,
    out: [],
  };
  walk(ctx, reader as Schema, writer as Schema, "#/");
  return ctx.out;
}

function deref(s: Schema, root: unknown, refs: Map<string, unknown>, depth = 0): Schema {
  if (typeof s !== "object" || s === null || typeof s.$ref !== "string" || depth > 32) return s;
  const ref = s.$ref;
  let target: unknown;
  if (ref.startsWith("#")) {
    target = root;
    for (const part of ref
      .slice(1)
      .split("/")
      .filter((p) => p !== "")) {
      const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
      target =
        typeof target === "object" && target !== null ? (target as Record<string, unknown>)[key] : undefined;
    }
  } else target = refs.get(ref);
  if (target === undefined) return s; // remote or unknown: left as it is
  return deref(target as Schema, root, refs, depth + 1);
}

const isTrivial = (s: Schema): boolean =>
  s === true || (typeof s === "object" && Object.keys(s).filter((k) => !ANNOTATIONS.has(k)).length === 0);
const ANNOTATIONS = new Set(["title", "description", "$comment", "examples", "default", "$id", "$schema"]);

function types(s: Record<string, unknown>): Set<string> | null {
  const t = s.type;
  if (typeof t === "string") return new Set([t]);
  if (Array.isArray(t)) return new Set(t.map(String));
  return null;
}

function add(ctx: Ctx, errorType: string, path: string, description: string): void {
  ctx.out.push({ errorType, description: `${description} at path '${path}'` });
}

function walk(ctx: Ctx, r0: Schema, w0: Schema, path: string) {
  const r = deref(r0, ctx.readerRoot, ctx.readerRefs);
  const w = deref(w0, ctx.writerRoot, ctx.writerRefs);
  if (w === false || isTrivial(r)) return;
  if (r === false) return add(ctx, "SCHEMA_NARROWED", path, "The new schema accepts nothing");
  if (w === true) return add(ctx, "SCHEMA_NARROWED", path, "The new schema restricts what the old accepted");
  // Both are objects here (true readers are trivial, false writers returned above).
  const ro = r as Record<string, unknown>;
  const wo = w as Record<string, unknown>;
  let pairs = ctx.seen.get(ro);
  if (pairs?.has(wo) || ctx.depth > 64) return; // recursive definitions
  if (pairs === undefined) ctx.seen.set(ro, (pairs = new Set()));
  pairs.add(wo);
  ctx.depth++;
  try {
    compare(ctx, ro, wo, path);
  } finally {
    ctx.depth--;
    pairs.delete(wo);
  }
}

function compare(ctx: Ctx, r: Record<string, unknown>, w: Record<string, unknown>, path: string) {
  // Combinations first: each writer branch must be read; a plain writer by some reader branch.
  for (const k of ["oneOf", "anyOf"] as const)
    if (Array.isArray(w[k])) {
      (w[k] as Schema[]).forEach((b, i) => {
        walk(ctx, r, b, `${path}${k}/${i}/`);
      });
      return;
    }
  for (const k of ["oneOf", "anyOf"] as const)
    if (Array.isArray(r[k])) {
      const ok = (r[k] as Schema[]).some((b) => {
        const sub = { ...ctx, out: [] as Incompatibility[] };
        walk(sub, b, w, path);
        return sub.out.length === 0;
      });
      if (!ok)
        add(ctx, "COMBINED_TYPE_SUBSCHEMAS_CHANGED", path, `No ${k} branch of the new schema reads the old`);
      return;
    }
  if (Array.isArray(r.allOf)) {
    (r.allOf as Schema[]).forEach((b, i) => {
      walk(ctx, b, w, `${path}allOf/${i}/`);
    });
    const rest = { ...r };
    delete rest.allOf;
    if (isTrivial(rest)) return;
    r = rest;
  }

  const rt = types(r);
  const wt = types(w);
  if (rt !== null) {
    const covered = (t: string) => rt.has(t) || (t === "integer" && rt.has("number"));
    if (wt === null) return add(ctx, "TYPE_NARROWED", path, "A type was added to the new schema");
    const lost = [...wt].filter((t) => !covered(t));
    if (lost.length === wt.size)
      return add(
        ctx,
        "TYPE_CHANGED",
        path,
        `The type changed from ${[...wt].join(",")} to ${[...rt].join(",")}`,
      );
    if (lost.length > 0) add(ctx, "TYPE_NARROWED", path, `The type no longer includes ${lost.join(",")}`);
  }
  const has = (t: string) => wt === null || wt.has(t) || (t === "number" && wt.has("integer"));

  // enum / const
  if (Array.isArray(r.enum)) {
    const accepted = new Set((r.enum as unknown[]).map((v) => JSON.stringify(v)));
    const wv = Array.isArray(w.enum) ? (w.enum as unknown[]) : "const" in w ? [w.const] : null;
    if (wv === null || wv.some((v) => !accepted.has(JSON.stringify(v))))
      add(
        ctx,
        wv === null ? "ENUM_ARRAY_ADDED" : "ENUM_ARRAY_NARROWED",
        path,
        "The enum of the new schema is narrower",
      );
  }
  if ("const" in r && JSON.stringify(r.const) !== JSON.stringify(w.const))
    add(ctx, "CONST_CHANGED", path, "The const of the new schema differs");

  // Bounds: a reader bound the writer lacks, or tighter than the writer's.
  const upper = (k: string, type: string) => {
    if (typeof r[k] !== "number") return;
    if (typeof w[k] !== "number") add(ctx, `${bound(k)}_ADDED`, path, `${k} was added`);
    else if ((r[k] as number) < (w[k] as number))
      add(ctx, `${bound(k)}_DECREASED`, path, `${k} was decreased`);
    void type;
  };
  const lower = (k: string) => {
    if (typeof r[k] !== "number") return;
    if (typeof w[k] !== "number") add(ctx, `${bound(k)}_ADDED`, path, `${k} was added`);
    else if ((r[k] as number) > (w[k] as number))
      add(ctx, `${bound(k)}_INCREASED`, path, `${k} was increased`);
  };
  if (has("string")) {
    upper("maxLength", "string");
    lower("minLength");
    if (typeof r.pattern === "string" && r.pattern !== w.pattern)
      add(ctx, w.pattern === undefined ? "PATTERN_ADDED" : "PATTERN_CHANGED", path, "The pattern changed");
  }
  if (has("number") || has("integer")) {
    upper("maximum", "number");
    upper("exclusiveMaximum", "number");
    lower("minimum");
    lower("exclusiveMinimum");
    if (typeof r.multipleOf === "number" && r.multipleOf !== w.multipleOf) {
      const wm = w.multipleOf;
      if (typeof wm !== "number" || wm % (r.multipleOf as number) !== 0)
        add(ctx, wm === undefined ? "MULTIPLE_OF_ADDED" : "MULTIPLE_OF_CHANGED", path, "multipleOf changed");
    }
  }
  if (has("array")) {
    upper("maxItems", "array");
    lower("minItems");
    if (r.uniqueItems === true && w.uniqueItems !== true)
      add(ctx, "UNIQUE_ITEMS_ADDED", path, "uniqueItems was added");
    if (r.items !== undefined && !Array.isArray(r.items)) {
      if (w.items === undefined || Array.isArray(w.items)) {
        if (!isTrivial(r.items as Schema)) add(ctx, "ITEMS_ADDED", path, "items was added");
      } else walk(ctx, r.items as Schema, w.items as Schema, `${path}items/`);
    }
  }
  if (has("object")) objects(ctx, r, w, path);
}

function bound(k: string): string {
  return k.replace(/([A-Z])/g, "_$1").toUpperCase();
}

function objects(ctx: Ctx, r: Record<string, unknown>, w: Record<string, unknown>, path: string): void {
  const rp = (r.properties ?? {}) as Record<string, Schema>;
  const wp = (w.properties ?? {}) as Record<string, Schema>;
  const rReq = new Set(Array.isArray(r.required) ? (r.required as string[]) : []);
  const wReq = new Set(Array.isArray(w.required) ? (w.required as string[]) : []);
  // additionalProperties: undefined/true = open, false = closed, a schema = partially open.
  const rAdd = (r.additionalProperties ?? true) as Schema;
  const wAdd = (w.additionalProperties ?? true) as Schema;
  for (const p of Object.keys(wp)) {
    const at = `${path}properties/${p}/`;
    if (p in rp) walk(ctx, rp[p], wp[p], at);
    else if (rAdd === false)
      add(
        ctx,
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        at,
        `The property '${p}' was removed from a closed content model`,
      );
    else if (rAdd !== true) {
      const sub = { ...ctx, out: [] as Incompatibility[] };
      walk(sub, rAdd, wp[p], at);
      if (sub.out.length > 0)
        add(
          ctx,
          "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
          at,
          `The property '${p}' was removed`,
        );
    }
  }
  for (const p of Object.keys(rp)) {
    if (p in wp) continue;
    const at = `${path}properties/${p}/`;
    if (wAdd === false) continue; // the writer never wrote it
    if (wAdd === true) {
      if (!isTrivial(rp[p]))
        add(
          ctx,
          "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
          at,
          `The property '${p}' was added to an open content model`,
        );
    } else {
      const sub = { ...ctx, out: [] as Incompatibility[] };
      walk(sub, rp[p], wAdd, at);
      if (sub.out.length > 0)
        add(
          ctx,
          "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
          at,
          `The property '${p}' was added`,
        );
    }
  }
  for (const p of rReq)
    if (!wReq.has(p))
      add(
        ctx,
        p in wp ? "REQUIRED_ATTRIBUTE_ADDED" : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        `${path}required/`,
        `The property '${p}' is required by the new schema and not by the old`,
      );
  if (rAdd === false && wAdd !== false)
    add(ctx, "ADDITIONAL_PROPERTIES_REMOVED", path, "additionalProperties became false");
  else if (typeof rAdd === "object" && !isTrivial(rAdd)) {
    if (wAdd === true) add(ctx, "ADDITIONAL_PROPERTIES_NARROWED", path, "additionalProperties was narrowed");
    else if (wAdd !== false) walk(ctx, rAdd, wAdd, `${path}additionalProperties/`);
  }
  const upperObj = (k: string) => {
    if (typeof r[k] !== "number") return;
    if (typeof w[k] !== "number" || (r[k] as number) < (w[k] as number))
      add(ctx, `${bound(k)}_DECREASED`, path, `${k} was added or decreased`);
  };
  upperObj("maxProperties");
  if (typeof r.minProperties === "number" && (r.minProperties as number) > ((w.minProperties as number) ?? 0))
    add(ctx, "MIN_PROPERTIES_INCREASED", path, "minProperties was added or increased");
}
