// Serializers for Milena's client in Confluent's wire format, against a Schema Registry's REST API
// (Milena's, schema.registry.listeners, or Confluent's): Avro (avsc), JSON Schema (ajv) and
// Protobuf (protobufjs). Node only (imported as "milena/schema-serdes", not from the browser entry).
//
// Wire format of a key or value:
//   byte 0      magic, 0
//   bytes 1-4   schema id, int32 big-endian
//   Protobuf:   message indexes: a zigzag varint count then each index (zigzag varints), the path
//               of the message type among the file's messages; [0] (the first) is the single byte 0
//   then        the payload: Avro binary; JSON text (UTF-8); the Protobuf message
//
//   const registry = new SchemaRegistryClient({ url: "http://127.0.0.1:8081" });
//   const users = avroSerde(registry, "users-value", { type: "record", name: "User", fields: [...] });
//   await producer.send({ topic: "users", messages: [{ value: await users.serialize({ name: "ada" }) }] });
//   const user = await users.deserialize(record.value);
//
// serialize registers the schema under the subject the first time (the registry answers the
// existing id when it has it; `autoRegister: false` only looks it up), then caches the id;
// deserialize reads the id, fetches that schema once (cached by id) and decodes with it (Avro:
// resolved to the serde's own schema, so data of older or newer compatible versions reads).

import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import avro from "avsc";
import protobuf from "protobufjs";

export type SchemaType = "AVRO" | "JSON" | "PROTOBUF";

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface RegisteredSchema {
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
}

/** An error answer of the registry: HTTP status and Confluent's error_code. */
export class SchemaRegistryError extends Error {
  override name = "SchemaRegistryError";
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SchemaRegistryClientOptions {
  url: string;
  /** HTTP Basic credentials (schema.registry.authentication.method=BASIC). */
  username?: string;
  password?: string;
  /** Per request, default 30 s. */
  timeoutMs?: number;
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

export class SchemaRegistryClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly byId = new Map<number, Promise<RegisteredSchema>>();

  constructor(private readonly opts: SchemaRegistryClientOptions) {
    this.base = opts.url.replace(/\/+$/, "");
    this.headers = { accept: CONTENT_TYPE, "content-type": CONTENT_TYPE };
    if (opts.username !== undefined)
      this.headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ""}`).toString("base64")}`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: this.headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    if (!res.ok) {
      const e = json as { error_code?: number; message?: string };
      throw new SchemaRegistryError(
        res.status,
        e?.error_code ?? res.status,
        e?.message ?? `HTTP ${res.status}`,
      );
    }
    return json as T;
  }

  /** Register (or find) a schema under a subject: its id. */
  async register(
    subject: string,
    s: { schema: string; schemaType?: SchemaType; references?: SchemaReference[] },
  ) {
    const r = await this.request<{ id: number }>(
      "POST",
      `/subjects/${encodeURIComponent(subject)}/versions`,
      body(s),
    );
    return r.id;
  }

  /** The id of a schema already registered under a subject (40401 / 40403 otherwise). */
  async lookup(
    subject: string,
    s: { schema: string; schemaType?: SchemaType; references?: SchemaReference[] },
  ) {
    const r = await this.request<{ id: number }>("POST", `/subjects/${encodeURIComponent(subject)}`, body(s));
    return r.id;
  }

  /** A schema by id (cached: ids never change meaning). */
  schemaById(id: number): Promise<RegisteredSchema> {
    let p = this.byId.get(id);
    if (p === undefined) {
      p = this.request<{ schema: string; schemaType?: SchemaType; references?: SchemaReference[] }>(
        "GET",
        `/schemas/ids/${id}`,
      ).then((r) => ({
        schema: r.schema,
        schemaType: r.schemaType ?? "AVRO",
        references: r.references ?? [],
      }));
      this.byId.set(id, p);
      p.catch(() => this.byId.delete(id));
    }
    return p;
  }

  /** A subject's version ("latest" by default). */
  version(subject: string, version: number | "latest" = "latest") {
    return this.request<{
      subject: string;
      version: number;
      id: number;
      schema: string;
      schemaType?: SchemaType;
    }>("GET", `/subjects/${encodeURIComponent(subject)}/versions/${version}`);
  }
}

function body(s: { schema: string; schemaType?: SchemaType; references?: SchemaReference[] }) {
  const out: Record<string, unknown> = { schema: s.schema };
  if (s.schemaType !== undefined && s.schemaType !== "AVRO") out.schemaType = s.schemaType;
  if (s.references !== undefined && s.references.length > 0) out.references = s.references;
  return out;
}

export interface Serde<T> {
  serialize(value: T): Promise<Buffer>;
  deserialize(bytes: Uint8Array): Promise<T>;
}

export interface SerdeOptions {
  /** Register the schema on first use (default true); false: it must be registered already. */
  autoRegister?: boolean;
  references?: SchemaReference[];
}

/** Read the magic byte and id; throws when the bytes are not in Confluent's wire format. */
export function readSchemaId(bytes: Uint8Array): number {
  if (bytes.length < 5 || bytes[0] !== 0)
    throw new Error("not Confluent's wire format (magic byte 0 and a 4-byte schema id)");
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(1);
}

function frame(id: number, ...parts: Uint8Array[]): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, ...parts]);
}

/** The serde's schema id, registered or looked up once. */
function idOnce(
  registry: SchemaRegistryClient,
  subject: string,
  s: { schema: string; schemaType: SchemaType; references?: SchemaReference[] },
  autoRegister: boolean,
): () => Promise<number> {
  let id: Promise<number> | null = null;
  return () => {
    if (id === null) {
      id = autoRegister ? registry.register(subject, s) : registry.lookup(subject, s);
      id.catch(() => {
        id = null;
      });
    }
    return id;
  };
}

/** Avro: `schema` is the writer schema of serialize and the reader schema of deserialize. */
export function avroSerde<T = unknown>(
  registry: SchemaRegistryClient,
  subject: string,
  schema: object | string,
  opts: SerdeOptions = {},
): Serde<T> {
  const text = typeof schema === "string" ? schema : JSON.stringify(schema);
  const type = avro.Type.forSchema(JSON.parse(text));
  const id = idOnce(
    registry,
    subject,
    { schema: text, schemaType: "AVRO", references: opts.references },
    opts.autoRegister ?? true,
  );
  const resolvers = new Map<number, Promise<(b: Buffer) => T>>();
  return {
    async serialize(value) {
      return frame(await id(), type.toBuffer(value));
    },
    async deserialize(bytes) {
      const writerId = readSchemaId(bytes);
      let read = resolvers.get(writerId);
      if (read === undefined) {
        read = registry.schemaById(writerId).then((s) => {
          if (s.schemaType !== "AVRO") throw new Error(`schema ${writerId} is ${s.schemaType}, not AVRO`);
          const writer = avro.Type.forSchema(JSON.parse(s.schema));
          const resolver = type.createResolver(writer);
          return (b: Buffer) => type.fromBuffer(b, resolver, false) as T;
        });
        resolvers.set(writerId, read);
      }
      const payload = Buffer.from(bytes.buffer, bytes.byteOffset + 5, bytes.byteLength - 5);
      return (await read)(payload);
    },
  };
}

function ajvFor(schema: unknown): Ajv {
  const draft =
    typeof schema === "object" && schema !== null
      ? String((schema as { $schema?: unknown }).$schema ?? "")
      : "";
  const opts = { strict: false, validateFormats: false } as const;
  if (draft.includes("2020-12")) return new Ajv2020(opts) as unknown as Ajv;
  if (draft.includes("2019-09")) return new Ajv2019(opts) as unknown as Ajv;
  return new Ajv(opts);
}

/** JSON Schema: values are validated against the schema both ways (an invalid one throws). */
export function jsonSchemaSerde<T = unknown>(
  registry: SchemaRegistryClient,
  subject: string,
  schema: object | string,
  opts: SerdeOptions = {},
): Serde<T> {
  const text = typeof schema === "string" ? schema : JSON.stringify(schema);
  const parsed = JSON.parse(text);
  const ajv = ajvFor(parsed);
  const validate: ValidateFunction = ajv.compile(parsed);
  const check = (v: unknown) => {
    if (!validate(v))
      throw new Error(`value does not match the JSON Schema: ${ajv.errorsText(validate.errors)}`);
  };
  const id = idOnce(
    registry,
    subject,
    { schema: text, schemaType: "JSON", references: opts.references },
    opts.autoRegister ?? true,
  );
  return {
    async serialize(value) {
      check(value);
      return frame(await id(), Buffer.from(JSON.stringify(value)));
    },
    async deserialize(bytes) {
      readSchemaId(bytes);
      const v = JSON.parse(
        Buffer.from(bytes.buffer, bytes.byteOffset + 5, bytes.byteLength - 5).toString("utf8"),
      );
      check(v);
      return v as T;
    },
  };
}

function zigzag(n: number): number[] {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** The messages of a file or message, in declaration order. */
const messagesOf = (ns: protobuf.NamespaceBase): protobuf.Type[] =>
  ns.nestedArray.flatMap((n) =>
    n instanceof protobuf.Type ? [n] : n instanceof protobuf.Namespace ? messagesOf(n) : [],
  );
const nestedMessages = (t: protobuf.Type): protobuf.Type[] =>
  t.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);

/** Protobuf: `schema` is the .proto text, `messageName` the (full or simple) name of the message type. */
export function protobufSerde<T extends object = Record<string, unknown>>(
  registry: SchemaRegistryClient,
  subject: string,
  schema: string,
  messageName: string,
  opts: SerdeOptions = {},
): Serde<T> {
  const root = protobuf.parse(schema, { keepCase: true }).root;
  root.resolveAll();
  const type = root.lookupType(messageName);
  // The message's index path among the file's messages (Confluent's message indexes).
  const path: number[] = [];
  let found = false;
  const search = (list: protobuf.Type[]): boolean => {
    for (let i = 0; i < list.length; i++) {
      path.push(i);
      if (list[i] === type || search(nestedMessages(list[i]))) return true;
      path.pop();
    }
    return false;
  };
  found = search(messagesOf(root));
  if (!found) throw new Error(`message ${messageName} is not in the schema`);
  const indexes = Buffer.from(
    path.length === 1 && path[0] === 0 ? [0] : [...zigzag(path.length), ...path.flatMap(zigzag)],
  );
  const id = idOnce(
    registry,
    subject,
    { schema, schemaType: "PROTOBUF", references: opts.references },
    opts.autoRegister ?? true,
  );
  return {
    async serialize(value) {
      // fromObject converts (decimal strings to int64s, enum names to numbers), verify checks the result.
      const message = type.fromObject(value);
      const problem = type.verify(message);
      if (problem !== null) throw new Error(`value does not match ${type.fullName.slice(1)}: ${problem}`);
      return frame(await id(), indexes, type.encode(message).finish());
    },
    async deserialize(bytes) {
      readSchemaId(bytes);
      const r = protobuf.Reader.create(bytes.subarray(5));
      const count = r.sint32();
      for (let i = 0; i < count; i++) r.sint32();
      return type.toObject(type.decode(r), { longs: String, enums: String, defaults: true }) as T;
    },
  };
}
