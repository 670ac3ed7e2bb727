// Generates src/protocol/generated/ from Kafka's own message specs (the JSON files vendored in
// spec/kafka/, from apache/kafka's clients/src/main/resources/common/message; see spec/README.md
// for the commit). messages.ts: each request, response and header as data, its fields in order,
// the versions each exists in, nullable and tagged versions, defaults, nested structs (common
// structs inlined); schema_codec.ts encodes and decodes any version from that data. types.ts: a
// TypeScript interface per message and struct. flexible_versions.ts: header.ts's lookup.
//
//   node --import tsx src/protocol/spec/generate.ts          write the files
//   node --import tsx src/protocol/spec/generate.ts --check  exit 1 when a file is not what
//                                                            the specs give (make test runs it)
//
// Version ranges are [min, max] (max 32767 for "N+"); "none" is absent.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FieldSpec, MessageSpec, VersionRange } from "../schema.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SPECS = join(HERE, "kafka");
const OUT = join(HERE, "..", "generated", "messages.ts");
const FLEXIBLE_OUT = join(HERE, "..", "generated", "flexible_versions.ts");
const TYPES_OUT = join(HERE, "..", "generated", "types.ts");

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number | string;
  flexibleVersions?: string;
  default?: string | number | boolean;
  fields?: RawField[];
}

interface RawMessage {
  apiKey?: number;
  type: "request" | "response" | "header";
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: { name: string; versions: string; fields: RawField[] }[];
}

/** "0+", "3-5", "7", "none". */
export function parseRange(s: string | undefined): VersionRange | null {
  if (s === undefined || s === "none" || s === "") return null;
  if (s.endsWith("+")) return [Number(s.slice(0, -1)), 32767];
  const dash = s.indexOf("-");
  if (dash > 0) return [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
  return [Number(s), Number(s)];
}

/** The spec files are JSON with // comments (license headers, notes between fields). */
function parseSpec(text: string): RawMessage {
  const lines = text.split("\n").map((l) => {
    // A // inside a string ("about" texts with URLs) is not a comment: strip only whole-line ones
    // and trailing ones after the last quote-balanced position.
    const t = l.trimStart();
    if (t.startsWith("//")) return "";
    let inString = false;
    for (let i = 0; i < l.length; i++) {
      const c = l[i];
      if (c === "\\") i++;
      else if (c === '"') inString = !inString;
      else if (!inString && c === "/" && l[i + 1] === "/") return l.slice(0, i);
    }
    return l;
  });
  return JSON.parse(lines.join("\n")) as RawMessage;
}

function defaultOf(f: RawField): string | number | boolean | null | undefined {
  const d = f.default;
  if (d === undefined) return undefined;
  if (typeof d !== "string") return d;
  if (d === "null") return null;
  const scalar = f.type.replace(/^\[\]/, "");
  if (f.type.startsWith("[]")) return undefined;
  if (/^(u?int\d+|float64)$/.test(scalar)) return Number(d);
  if (scalar === "bool") return d === "true";
  return d;
}

function convertFields(
  fields: RawField[],
  common: Map<string, RawField[]>,
  messageVersions: VersionRange,
): FieldSpec[] {
  return fields.map((f) => {
    const versions = parseRange(f.versions);
    if (versions === null && f.taggedVersions === undefined)
      throw new Error(`field ${f.name} has no versions`);
    const out: FieldSpec = {
      name: f.name[0].toLowerCase() + f.name.slice(1),
      type: f.type,
      versions: versions ?? messageVersions,
    };
    const nullable = parseRange(f.nullableVersions);
    if (nullable) out.nullable = nullable;
    const tagged = parseRange(f.taggedVersions);
    if (tagged) {
      out.tagged = tagged;
      out.tag = Number(f.tag);
    }
    if (f.flexibleVersions !== undefined) out.flexible = parseRange(f.flexibleVersions);
    const d = defaultOf(f);
    if (d !== undefined) out.default = d;
    const elem = f.type.replace(/^\[\]/, "");
    const sub = f.fields ?? common.get(elem);
    if (sub && !/^(u?int\d+|float64|string|bytes|records|bool|uuid)$/.test(elem))
      out.fields = convertFields(sub, common, messageVersions);
    return out;
  });
}

function convert(raw: RawMessage): MessageSpec {
  const valid = parseRange(raw.validVersions);
  if (valid === null) throw new Error(`${raw.name}: no validVersions`);
  const common = new Map<string, RawField[]>();
  for (const s of raw.commonStructs ?? []) common.set(s.name, s.fields);
  return {
    name: raw.name,
    apiKey: raw.apiKey ?? -1,
    type: raw.type,
    valid,
    flexible: parseRange(raw.flexibleVersions),
    fields: convertFields(raw.fields, common, valid),
  };
}

function fieldLine(f: FieldSpec, indent: string): string {
  const { fields, ...rest } = f;
  const head = JSON.stringify(rest);
  if (!fields) return `${indent}${head}`;
  const inner = fields.map((c) => fieldLine(c, `${indent}  `)).join(",\n");
  return `${indent}${head.slice(0, -1)}, "fields": [\n${inner}\n${indent}]}`;
}

export function render(messages: readonly MessageSpec[]): string {
  const out: string[] = [
    "// GENERATED by src/protocol/spec/generate.ts from Kafka's message specs (src/protocol/spec/kafka).",
    "// Do not edit: change the generator or the specs and run it; `make test` checks this file is current.",
    "",
    'import type { MessageSpec } from "../schema.ts";',
    "",
    "export const MESSAGES: Record<string, MessageSpec> = {",
  ];
  for (const m of messages) {
    const { fields, ...head } = m;
    out.push(`  ${m.name}: ${JSON.stringify(head).slice(0, -1)}, "fields": [`);
    out.push(`${fields.map((f) => fieldLine(f, "    ")).join(",\n")}`);
    out.push("  ]},");
  }
  out.push("};", "");
  return out.join("\n");
}

/**
 * The first flexible version of each API's requests (request header v2, response header v1 from
 * there): the lookup header.ts makes for every frame, without walking the whole description.
 */
export function renderFlexible(messages: readonly MessageSpec[]): string {
  const rows = messages
    .filter((m) => m.type === "request" && m.flexible !== null)
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((m) => `  [${m.apiKey}, ${m.flexible![0]}], // ${m.name.replace(/Request$/, "")}`);
  return [
    "// GENERATED by src/protocol/spec/generate.ts from Kafka's message specs (src/protocol/spec/kafka).",
    "// Do not edit: change the generator or the specs and run it; `make test` checks this file is current.",
    "",
    "/** api key -> the first version whose request is flexible (KIP-482); absent: never flexible. */",
    "export const FIRST_FLEXIBLE_VERSION: ReadonlyMap<number, number> = new Map([",
    ...rows,
    "]);",
    "",
  ].join("\n");
}

// ---- TypeScript types ---------------------------------------------------------------------------
//
// One interface per message and per struct inside it, with every field of every version: what the
// derived codec decodes (a field a version lacks holds its default) and what it encodes. A struct
// is named after its message ("TopicData" in ProduceRequest: ProduceRequestTopicData) unless
// Kafka's name already starts with the message's (MetadataResponseTopic).

const TS_SCALARS: Record<string, string> = {
  int8: "number",
  int16: "number",
  uint16: "number",
  int32: "number",
  uint32: "number",
  int64: "number",
  float64: "number",
  bool: "boolean",
  string: "string",
  bytes: "Uint8Array",
  records: "Uint8Array",
  uuid: "Uint8Array",
};

function structName(message: string, struct: string): string {
  if (struct.startsWith(message)) return struct;
  const base = message.replace(/(Request|Response)$/, "");
  return struct.startsWith(base) ? `${message}${struct.slice(base.length)}` : `${message}${struct}`;
}

function renderStruct(
  name: string,
  message: MessageSpec,
  fields: readonly FieldSpec[],
  out: string[],
  seen: Map<string, string>,
): void {
  // Kafka lets a struct be used again by its name: one interface, if it is the same struct.
  const shape = JSON.stringify(fields.map((f) => [f.name, f.type]));
  const before = seen.get(name);
  if (before !== undefined) {
    if (before !== shape) throw new Error(`${message.name}: two different structs named ${name}`);
    return;
  }
  seen.set(name, shape);
  const lines = [`export interface ${name} {`];
  const nested: [string, FieldSpec[]][] = [];
  for (const f of fields) {
    const elem = f.type.replace(/^\[\]/, "");
    let t = TS_SCALARS[elem];
    if (t === undefined) {
      t = structName(message.name, elem);
      nested.push([t, f.fields ?? []]);
    }
    if (f.type.startsWith("[]")) t = `${t}[]`;
    if (f.nullable) t = `${t} | null`;
    lines.push(`  ${f.name}${f.tagged ? "?" : ""}: ${t};`);
  }
  if (message.flexible) lines.push("  _unknownTags?: UnknownTag[];");
  lines.push("}", "");
  out.push(...lines);
  for (const [n, f] of nested) renderStruct(n, message, f, out, seen);
}

export function renderTypes(messages: readonly MessageSpec[]): string {
  const out: string[] = [
    "// GENERATED by src/protocol/spec/generate.ts from Kafka's message specs (src/protocol/spec/kafka).",
    "// Do not edit: change the generator or the specs and run it; `make test` checks this file is current.",
    "//",
    "// Every field of every version; a field absent from a version decodes to its default. Tagged",
    "// fields are optional; int64 is a number (exact to 2^53).",
    "",
    'import type { UnknownTag } from "../schema_codec.ts";',
    "",
  ];
  for (const m of messages) {
    if (m.type === "header") continue;
    renderStruct(m.name, m, m.fields, out, new Map());
  }
  return out.join("\n");
}

function allMessages(): MessageSpec[] {
  return readdirSync(SPECS)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => convert(parseSpec(readFileSync(join(SPECS, f), "utf8"))));
}

/** Each generated file and what the specs give for it. */
export function outputs(): { path: string; text: string }[] {
  const messages = allMessages();
  return [
    { path: OUT, text: render(messages) },
    { path: FLEXIBLE_OUT, text: renderFlexible(messages) },
    { path: TYPES_OUT, text: renderTypes(messages) },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { path, text } of outputs()) {
    if (process.argv.includes("--check")) {
      let current = "";
      try {
        current = readFileSync(path, "utf8");
      } catch {}
      if (current !== text) {
        console.error(
          `${path} is not what the specs give: run node --import tsx src/protocol/spec/generate.ts`,
        );
        process.exit(1);
      }
    } else writeFileSync(path, text);
  }
}
