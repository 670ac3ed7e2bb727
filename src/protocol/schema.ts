// What a Kafka message is, as data: the shape src/protocol/spec/generate.ts turns Kafka's JSON
// message specs into (src/protocol/generated/messages.ts), and schema_codec.ts reads and writes.

/** Inclusive [min, max]; max 32767 stands for "and every later version". */
export type VersionRange = readonly [number, number];

export interface FieldSpec {
  /** Kafka's field name with its first letter lowered (ThrottleTimeMs: throttleTimeMs). */
  name: string;
  /** int8 int16 uint16 int32 uint32 int64 float64 bool string bytes records uuid, a struct name, or []of one. */
  type: string;
  versions: VersionRange;
  nullable?: VersionRange;
  /** In these versions the field is a tagged field (KIP-482) with this tag. */
  tagged?: VersionRange;
  tag?: number;
  /** Overrides the message's flexible versions for this field (RequestHeader's ClientId: never). */
  flexible?: VersionRange | null;
  default?: string | number | boolean | null;
  /** A struct's (or a struct array's) fields. */
  fields?: FieldSpec[];
}

export interface MessageSpec {
  name: string;
  /** -1 for headers. */
  apiKey: number;
  type: "request" | "response" | "header";
  valid: VersionRange;
  flexible: VersionRange | null;
  fields: FieldSpec[];
}

export function inRange(r: VersionRange | null | undefined, v: number): boolean {
  return r !== null && r !== undefined && v >= r[0] && v <= r[1];
}

/**
 * What encoding a message takes: the decoded shape with every field optional, at every depth (a
 * field left out is written as its default).
 */
export type Init<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer E)[]
    ? Init<E>[]
    : T extends object
      ? { [K in keyof T]?: Init<T[K]> }
      : T;
