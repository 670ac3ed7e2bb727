// The Schema Registry's REST API, Confluent's (docs.confluent.io "Schema Registry API
// Reference"), over node:http / node:https on schema.registry.listeners. Routes:
//
//   GET    /                                             {}
//   GET    /contexts                                     [":.:"]
//   GET    /schemas[?subjectPrefix=&deleted=&latestOnly=] [{subject, version, id, schemaType?, references?, schema}]
//   GET    /schemas/types                                ["JSON","PROTOBUF","AVRO"]
//   GET    /schemas/ids/{id}[?subject=]                  {schema, schemaType?, references?}
//   GET    /schemas/ids/{id}/schema                      the schema text itself
//   GET    /schemas/ids/{id}/versions[?deleted=]         [{subject, version}]
//   GET    /schemas/ids/{id}/subjects[?deleted=]         [subject]
//   GET    /subjects[?deleted=&subjectPrefix=]           [subject]
//   GET    /subjects/{s}/versions[?deleted=]             [version]
//   POST   /subjects/{s}/versions                        {id}           (register)
//   GET    /subjects/{s}/versions/{v}[?deleted=]         {subject, version, id, schemaType?, references?, schema}
//   GET    /subjects/{s}/versions/{v}/schema             the schema text
//   GET    /subjects/{s}/versions/{v}/referencedby       [id]
//   DELETE /subjects/{s}/versions/{v}[?permanent=]       version
//   POST   /subjects/{s}[?deleted=]                      {subject, version, id, schemaType?, references?, schema} (lookup)
//   DELETE /subjects/{s}[?permanent=]                    [version]
//   POST   /compatibility/subjects/{s}/versions[/{v}][?verbose=]  {is_compatible, messages?}
//   GET|PUT|DELETE /config[/{s}]                         {compatibilityLevel} / {compatibility}
//   GET|PUT|DELETE /mode[/{s}]                           {mode}
//
// {v} is 1..2^31-1, "latest" or -1. Answers are application/vnd.schemaregistry.v1+json; errors
// {"error_code": N, "message": "..."} with Confluent's codes (errors.ts). Request bodies are JSON
// (application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json,
// application/json, application/octet-stream or none given), at most
// schema.registry.max.request.bytes (413 above, the connection closed). Unparseable JSON is 400
// (error_code 400), a body of the wrong shape 422 (error_code 422), a schema that does not parse
// 422 (42201). Authentication (schema.registry.authentication.method=BASIC): HTTP Basic, the user
// and password checked against the broker's SCRAM credentials as SASL PLAIN checks them (no
// password stored); a missing or wrong one is 401. An authenticated user may do everything (no
// ACLs on subjects).

import { createHash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { parseLevel } from "./compatibility.ts";
import { Errors, RegistryError } from "./errors.ts";
import { SCHEMA_TYPES } from "./formats.ts";
import { MODES, type RegisterRequest, type SchemaRegistry } from "./registry.ts";
import type { SchemaReference, SchemaType, SchemaValue } from "./schemas_records.ts";

export const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
const ACCEPTED_BODY_TYPES = [
  "application/vnd.schemaregistry.v1+json",
  "application/vnd.schemaregistry+json",
  "application/json",
  "application/octet-stream",
];

export interface ServerOptions {
  host: string;
  port: number;
  /** PEM key and certificate for https (null: http). */
  tls: { key: Buffer; cert: Buffer; passphrase?: string } | null;
  maxRequestBytes: number;
  /** BASIC: resolves to the user name, or null when the credentials do not verify. */
  authenticate: ((user: string, password: string) => Promise<boolean>) | null;
  /** A refused authentication is answered after this long (connection.failed.authentication.delay.ms). */
  failedAuthenticationDelayMs: number;
  log: (line: string) => void;
  /** A cluster (service.ts): writes go to the primary, requests wait for the first catch-up. */
  cluster?: ClusterHooks;
}

/** A write as received, to be sent on to the primary. */
export interface ForwardRequest {
  method: string;
  /** Path and query, as received. */
  path: string;
  authorization?: string;
  contentType?: string;
  body: Buffer;
  /** Itself forwarded by another broker (handled here or refused, never sent on again). */
  forwarded: boolean;
}

export interface ForwardedAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  /** The primary's OFFSET_HEADER: where its view was once the write was applied. */
  offset?: number;
}

export interface ClusterHooks {
  /** Before any request but a forwarded write: rejects (50002) until `_schemas` was read to its end once. */
  ready(): Promise<void>;
  /** A write: null when this broker is the primary (handled here), else the primary's answer. */
  forward(r: ForwardRequest): Promise<ForwardedAnswer | null>;
  /** The `_schemas` offset this registry's view has reached (sent with the primary's answers). */
  appliedOffset(): number;
  /** Read-your-writes: resolves once this view reached `offset`, or after a bound (never rejects). */
  waitApplied(offset: number): Promise<void>;
}

/** The primary's answer to a write: the log offset its view had reached then. */
export const OFFSET_HEADER = "x-milena-schemas-offset";

/** Whether a request changes the registry (forwarded to the primary in a cluster). */
export function isWrite(method: string, parts: string[]): boolean {
  const [a] = parts;
  const n = parts.length;
  if (a === "subjects")
    return (
      (n === 2 && method === "DELETE") || (n === 3 && method === "POST") || (n === 4 && method === "DELETE")
    );
  if ((a === "config" || a === "mode") && n <= 2) return method === "PUT" || method === "DELETE";
  return false;
}

export interface RegistryServer {
  port: number;
  close(): Promise<void>;
}

type Query = URLSearchParams;

function flag(q: Query, name: string): boolean {
  return q.get(name)?.toLowerCase() === "true";
}

/** A subject version as Confluent answers it (schemaType absent for AVRO, references when some). */
function versionBody(v: SchemaValue): Record<string, unknown> {
  const out: Record<string, unknown> = { subject: v.subject, version: v.version, id: v.id };
  if (v.schemaType !== "AVRO") out.schemaType = v.schemaType;
  if (v.references.length > 0) out.references = v.references;
  out.schema = v.schema;
  return out;
}

function registerRequestOf(body: unknown): RegisterRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw Errors.unprocessable("The request body is a JSON object");
  const b = body as Record<string, unknown>;
  if (typeof b.schema !== "string" || b.schema.trim() === "") throw Errors.invalidSchema("Empty schema");
  const type = b.schemaType === undefined || b.schemaType === null ? "AVRO" : b.schemaType;
  if (typeof type !== "string" || !(SCHEMA_TYPES as readonly string[]).includes(type.toUpperCase()))
    throw Errors.invalidSchema(`Invalid schema type ${String(type)}`);
  const references: SchemaReference[] = [];
  if (b.references !== undefined && b.references !== null) {
    if (!Array.isArray(b.references)) throw Errors.unprocessable("references is a list");
    for (const r of b.references) {
      if (
        typeof r !== "object" ||
        r === null ||
        typeof r.name !== "string" ||
        typeof r.subject !== "string" ||
        !Number.isSafeInteger(r.version)
      )
        throw Errors.unprocessable("A reference is {name, subject, version}");
      references.push({ name: r.name, subject: r.subject, version: r.version });
    }
  }
  const out: RegisterRequest = { schema: b.schema, schemaType: type.toUpperCase() as SchemaType, references };
  if (b.id !== undefined) {
    if (!Number.isSafeInteger(b.id)) throw Errors.unprocessable("id is an integer");
    out.id = b.id as number;
  }
  if (b.version !== undefined) {
    if (!Number.isSafeInteger(b.version)) throw Errors.unprocessable("version is an integer");
    out.version = b.version as number;
  }
  return out;
}

function idOf(s: string): number {
  if (!/^\d{1,10}$/.test(s) || Number(s) > 2147483647) throw Errors.schemaNotFound();
  return Number(s);
}

interface Answer {
  status?: number;
  body: unknown;
  /** The schema text itself (…/schema routes). */
  raw?: boolean;
}

/** The route of a request; throws RegistryError. */
export async function route(
  registry: SchemaRegistry,
  method: string,
  parts: string[],
  q: Query,
  body: () => Promise<unknown>,
): Promise<Answer> {
  const [a, b, c, d, e] = parts;
  const n = parts.length;
  const only = (...allowed: string[]) => {
    if (!allowed.includes(method)) throw Errors.methodNotAllowed();
  };
  if (n === 0) {
    only("GET");
    return { body: {} };
  }
  if (a === "contexts" && n === 1) {
    only("GET");
    return { body: [":.:"] }; // the default context only (no schema contexts)
  }
  if (a === "schemas") {
    if (n === 1) {
      only("GET");
      return {
        body: registry
          .allVersions(flag(q, "deleted"), q.get("subjectPrefix") ?? "", flag(q, "latestOnly"))
          .map(versionBody),
      };
    }
    if (n === 2 && b === "types") {
      only("GET");
      return { body: SCHEMA_TYPES };
    }
    if (b === "ids" && n >= 3 && n <= 4) {
      only("GET");
      const id = idOf(c);
      if (n === 3) {
        const s = registry.schemaById(id);
        const out: Record<string, unknown> = {};
        if (s.schemaType !== "AVRO") out.schemaType = s.schemaType;
        out.schema = s.schema;
        if (s.references.length > 0) out.references = s.references;
        return { body: out };
      }
      if (d === "schema") return { body: registry.schemaById(id).schema, raw: true };
      if (d === "versions") return { body: registry.subjectVersionsOfId(id, flag(q, "deleted")) };
      if (d === "subjects")
        return {
          body: [...new Set(registry.subjectVersionsOfId(id, flag(q, "deleted")).map((x) => x.subject))],
        };
    }
    throw Errors.notFound();
  }
  if (a === "subjects") {
    if (n === 1) {
      only("GET");
      return { body: registry.listSubjects(flag(q, "deleted"), q.get("subjectPrefix") ?? "") };
    }
    const subject = b;
    if (n === 2) {
      only("POST", "DELETE");
      if (method === "DELETE") return { body: await registry.deleteSubject(subject, flag(q, "permanent")) };
      return {
        body: versionBody(registry.lookup(subject, registerRequestOf(await body()), flag(q, "deleted"))),
      };
    }
    if (c !== "versions") throw Errors.notFound();
    if (n === 3) {
      only("GET", "POST");
      if (method === "GET") return { body: registry.listVersions(subject, flag(q, "deleted")) };
      return { body: { id: await registry.register(subject, registerRequestOf(await body())) } };
    }
    if (n === 4) {
      only("GET", "DELETE");
      if (method === "DELETE")
        return { body: await registry.deleteVersion(subject, d, flag(q, "permanent")) };
      return { body: versionBody(registry.getVersion(subject, d, flag(q, "deleted"))) };
    }
    if (n === 5 && e === "schema") {
      only("GET");
      return { body: registry.getVersion(subject, d, flag(q, "deleted")).schema, raw: true };
    }
    if (n === 5 && e === "referencedby") {
      only("GET");
      return { body: registry.referencedBy(subject, d) };
    }
    throw Errors.notFound();
  }
  if (a === "compatibility" && b === "subjects" && d === "versions" && (n === 4 || n === 5)) {
    only("POST");
    const req = registerRequestOf(await body());
    const messages = registry.testCompatibility(c, n === 5 ? e : null, req);
    const out: Record<string, unknown> = { is_compatible: messages.length === 0 };
    if (flag(q, "verbose")) out.messages = messages;
    return { body: out };
  }
  if (a === "config" && n <= 2) {
    const subject = n === 2 ? b : null;
    only("GET", "PUT", "DELETE");
    if (method === "GET") {
      if (subject !== null && !flag(q, "defaultToGlobal")) {
        const own = registry.subjectCompatibility(subject);
        if (own === null) throw Errors.subjectLevelCompatibilityNotConfigured(subject);
        return { body: { compatibilityLevel: own } };
      }
      return { body: { compatibilityLevel: registry.compatibilityOf(subject) } };
    }
    if (method === "DELETE") {
      const before =
        subject === null ? registry.compatibilityOf(null) : registry.subjectCompatibility(subject);
      if (subject !== null && before === null) throw Errors.subjectNotFound(subject);
      await registry.setCompatibility(subject, null);
      return { body: { compatibilityLevel: before } };
    }
    const req = (await body()) as Record<string, unknown> | null;
    const level = parseLevel(typeof req === "object" && req !== null ? req.compatibility : undefined);
    if (level === null) throw Errors.invalidCompatibilityLevel();
    await registry.setCompatibility(subject, level);
    return { body: { compatibility: level } };
  }
  if (a === "mode" && n <= 2) {
    const subject = n === 2 ? b : null;
    only("GET", "PUT", "DELETE");
    if (method === "GET") {
      if (subject !== null && !flag(q, "defaultToGlobal")) {
        const own = registry.subjectMode(subject);
        if (own === null) throw Errors.subjectLevelModeNotConfigured(subject);
        return { body: { mode: own } };
      }
      return { body: { mode: registry.modeOf(subject) } };
    }
    if (method === "DELETE") {
      const before = subject === null ? registry.modeOf(null) : registry.subjectMode(subject);
      if (subject !== null && before === null) throw Errors.subjectNotFound(subject);
      await registry.setMode(subject, null);
      return { body: { mode: before } };
    }
    const req = (await body()) as Record<string, unknown> | null;
    const mode =
      typeof req === "object" && req !== null && typeof req.mode === "string" ? req.mode.toUpperCase() : "";
    if (!(MODES as readonly string[]).includes(mode)) throw Errors.invalidMode();
    // Confluent refuses IMPORT on a registry (or subject) that has schemas unless forced.
    if (mode === "IMPORT" && !flag(q, "force") && registry.hasSchemas(subject))
      throw Errors.operationNotPermitted(
        "Cannot import since found existing subjects (use force=true to import anyway)",
      );
    await registry.setMode(subject, mode);
    return { body: { mode } };
  }
  throw Errors.notFound();
}

/** Read a body up to `limit` bytes; rejects with 413 past it. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) return reject(Errors.tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.pause();
        reject(Errors.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Split a request path into decoded segments ("/subjects/a%2Fb/versions" -> ["subjects","a/b","versions"]). */
export function pathParts(pathname: string): string[] | null {
  const parts = pathname.split("/").filter((p) => p !== "");
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return null;
  }
}

/** Successful Basic credentials, remembered briefly so each request does not cost a PBKDF2. */
class AuthCache {
  private readonly ok = new Map<string, number>();
  constructor(private readonly ttlMs = 60_000) {}
  has(key: string): boolean {
    const until = this.ok.get(key);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.ok.delete(key);
      return false;
    }
    return true;
  }
  add(key: string): void {
    if (this.ok.size >= 1000) this.ok.clear();
    this.ok.set(key, Date.now() + this.ttlMs);
  }
}

export function startRegistryServer(registry: SchemaRegistry, o: ServerOptions): Promise<RegistryServer> {
  const cache = new AuthCache();
  const send = (res: http.ServerResponse, status: number, body: unknown, raw = false) => {
    const text = raw && typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
      "content-type": raw ? "text/plain; charset=utf-8" : CONTENT_TYPE,
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, e: unknown) => {
    const err = e instanceof RegistryError ? e : Errors.storeError(`Internal error: ${(e as Error).message}`);
    if (!(e instanceof RegistryError)) o.log(`schema registry: ${(e as Error).stack ?? e}`);
    if (err.status === 413) res.setHeader("connection", "close");
    if (err.status === 401) res.setHeader("www-authenticate", 'Basic realm="milena schema registry"');
    send(res, err.status, err.body());
  };
  const authorized = async (req: http.IncomingMessage): Promise<boolean> => {
    if (o.authenticate === null) return true;
    const h = req.headers.authorization ?? "";
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
    if (!m) return false;
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return false;
    const key = createHash("sha256").update(decoded).digest("hex");
    if (cache.has(key)) return true;
    const ok = await o.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1)).catch(() => false);
    if (ok) cache.add(key);
    return ok;
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      if (!(await authorized(req))) {
        if (req.headers.authorization !== undefined && o.failedAuthenticationDelayMs > 0)
          await new Promise((r) => setTimeout(r, o.failedAuthenticationDelayMs));
        throw new RegistryError(401, 401, "Unauthorized");
      }
      const url = new URL(req.url ?? "/", "http://registry");
      const parts = pathParts(url.pathname);
      if (parts === null) throw Errors.notFound();
      const method = (req.method ?? "GET").toUpperCase();
      let received: Buffer | null = null;
      const cluster = o.cluster;
      const write = isWrite(method, parts);
      if (cluster !== undefined && write) {
        received = await readBody(req, o.maxRequestBytes);
        const forwarded = await cluster.forward({
          method,
          path: req.url ?? "/",
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: received,
          forwarded: req.headers["x-milena-forwarded"] !== undefined,
        });
        if (forwarded !== null) {
          // Answered once this broker's own view holds the write (a read here sees it).
          if (forwarded.status < 300 && forwarded.offset !== undefined)
            await cluster.waitApplied(forwarded.offset);
          res.writeHead(forwarded.status, {
            "content-type": forwarded.contentType,
            "content-length": forwarded.body.length,
          });
          res.end(forwarded.body);
          return;
        }
      } else if (cluster !== undefined && parts.length > 0) await cluster.ready();
      const body = async (): Promise<unknown> => {
        const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
        if (type !== "" && !ACCEPTED_BODY_TYPES.includes(type)) throw Errors.unsupportedMediaType();
        const bytes = received ?? (await readBody(req, o.maxRequestBytes));
        try {
          return JSON.parse(bytes.toString("utf8"));
        } catch (e) {
          throw Errors.badRequest(`The request body is not JSON: ${(e as Error).message}`);
        }
      };
      const answer = await route(registry, method === "HEAD" ? "GET" : method, parts, url.searchParams, body);
      if (cluster !== undefined && write) res.setHeader(OFFSET_HEADER, String(cluster.appliedOffset()));
      send(res, answer.status ?? 200, answer.body, answer.raw);
    } catch (e) {
      fail(res, e);
    }
  };
  const server = o.tls === null ? http.createServer() : https.createServer({ ...o.tls });
  server.on("request", (req, res) => {
    void handle(req, res);
  });
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  server.maxConnections = 1000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      server.on("error", (e) => o.log(`schema registry listener: ${e.message}`));
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
