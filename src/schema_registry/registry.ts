// The Schema Registry's state and operations, independent of HTTP: subjects and their versions,
// schemas by id, compatibility levels and modes, all rebuilt from the `_schemas` records
// (schemas_records.ts) and changed only by appending one: an operation writes its record
// through the broker's log (acks=all: answered once fsynced), then applies it, so memory never
// holds what the log does not. Changes run one at a time (ids and versions allocated in order).
// Ids: the same schema (type, canonical text, references) has one id in every subject; a new
// one gets the highest id seen + 1. Versions: the subject's highest (soft-deleted included) + 1.

import {
  type CompatibilityLevel,
  checkCompatibility,
  DEFAULT_LEVEL,
  describeFindings,
  parseLevel,
} from "./compatibility.ts";
import { Errors, RegistryError } from "./errors.ts";
import {
  canonicalText,
  type Parsed,
  parseSchema,
  payloadValidator,
  type ResolvedReference,
} from "./formats.ts";
import type { SchemaReference, SchemasRecord, SchemaType, SchemaValue } from "./schemas_records.ts";

export const MODES = ["READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"] as const;

/** Bounds on what clients make the registry hold. */
export interface RegistryLimits {
  /** Schema versions held, all subjects together (schema.registry.max.schemas). */
  maxSchemas: number;
  /** Characters of a subject name. */
  maxSubjectLength: number;
  /** References of one schema. */
  maxReferences: number;
  /** Characters of schema text held, all distinct schemas together (default 256 Mi). */
  maxSchemaBytes?: number;
}

export interface SchemaById {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

export interface RegisterRequest {
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
  /** IMPORT mode: the id and version to register under. */
  id?: number;
  version?: number;
}

/** Appends records to `_schemas`; resolves once they are durable, rejects with why not. */
export type Append = (records: SchemasRecord[]) => Promise<void>;

/** How a registry that follows `_schemas` written by a cluster's primary writes (service.ts). */
export interface RegistryHooks {
  /** Before each change: resolves once this registry has applied the whole log (rejects: why not). */
  beforeChange?: () => Promise<void>;
  /** False: append() resolves once the records came back through the log and were applied there. */
  appliesOwnWrites?: boolean;
}

const identity = (type: SchemaType, canonical: string, refs: readonly SchemaReference[]) =>
  `${type}\u0000${canonical}\u0000${JSON.stringify(refs.map((r) => [r.name, r.subject, r.version]))}`;

export class SchemaRegistry {
  /** subject -> version -> value (deleted: soft-deleted). */
  readonly subjects = new Map<string, Map<number, SchemaValue>>();
  private readonly ids = new Map<number, SchemaById>();
  private readonly idOf = new Map<string, number>();
  private readonly configs = new Map<string | null, CompatibilityLevel>();
  private readonly modes = new Map<string | null, string>();
  private maxId = 0;
  /** Characters of the distinct schemas' texts (limits.maxSchemaBytes). */
  private schemaBytes = 0;
  private versions = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly parsedCache = new Map<number, Parsed>();
  private readonly validators = new Map<number, (bytes: Uint8Array) => string | null>();

  constructor(
    private readonly append: Append,
    readonly limits: RegistryLimits,
    private readonly hooks: RegistryHooks = {},
  ) {}

  /** Apply one record (replay at start, and after each append). */
  apply(r: SchemasRecord): void {
    switch (r.keytype) {
      case "SCHEMA": {
        let versions = this.subjects.get(r.subject);
        const before = versions?.get(r.version);
        if (r.value === null) {
          if (before !== undefined) {
            versions!.delete(r.version);
            this.versions--;
            if (versions!.size === 0) this.subjects.delete(r.subject);
            this.forgetIdIfUnused(before.id);
          }
          return;
        }
        const v = r.value;
        if (versions === undefined) this.subjects.set(r.subject, (versions = new Map()));
        if (before === undefined) this.versions++;
        versions.set(r.version, v);
        if (!this.ids.has(v.id)) {
          this.schemaBytes += v.schema.length;
          this.ids.set(v.id, {
            id: v.id,
            schemaType: v.schemaType,
            schema: v.schema,
            references: v.references,
          });
          this.idOf.set(identity(v.schemaType, canonicalText(v.schemaType, v.schema), v.references), v.id);
        }
        if (v.id > this.maxId) this.maxId = v.id;
        // A version overwritten with another schema (IMPORT) may leave the old one unused.
        if (before !== undefined && before.id !== v.id) this.forgetIdIfUnused(before.id);
        return;
      }
      case "CONFIG": {
        const level = r.value === null ? null : parseLevel(r.value.compatibilityLevel);
        if (level === null) this.configs.delete(r.subject);
        else this.configs.set(r.subject, level);
        return;
      }
      case "MODE":
        if (r.value === null) this.modes.delete(r.subject);
        else this.modes.set(r.subject, r.value.mode);
        return;
      case "DELETE_SUBJECT": {
        if (r.value === null) return;
        const versions = this.subjects.get(r.subject);
        if (versions === undefined) return;
        for (const [n, v] of versions) if (n <= r.value.version) versions.set(n, { ...v, deleted: true });
        return;
      }
    }
  }

  private forgetIdIfUnused(id: number): void {
    for (const versions of this.subjects.values()) for (const v of versions.values()) if (v.id === id) return;
    const s = this.ids.get(id);
    if (s === undefined) return;
    this.ids.delete(id);
    this.schemaBytes -= s.schema.length;
    this.parsedCache.delete(id);
    this.validators.delete(id);
    this.idOf.delete(identity(s.schemaType, canonicalText(s.schemaType, s.schema), s.references));
  }

  /** Write records, then apply them; one change at a time. */
  private change<T>(work: () => Promise<T> | T): Promise<T> {
    const before = this.hooks.beforeChange;
    const step =
      before === undefined
        ? work
        : async () => {
            await before();
            return work();
          };
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => {});
    return run;
  }

  private async write(records: SchemasRecord[]): Promise<void> {
    try {
      await this.append(records);
    } catch (e) {
      throw e instanceof RegistryError
        ? e
        : Errors.storeError(`Error while writing to the schemas topic: ${(e as Error).message}`);
    }
    if (this.hooks.appliesOwnWrites !== false) for (const r of records) this.apply(r);
  }

  // ---- reads ----

  get schemaCount(): number {
    return this.versions;
  }

  schemaById(id: number): SchemaById {
    const s = this.ids.get(id);
    if (s === undefined) throw Errors.schemaNotFound(id);
    return s;
  }

  subjectVersionsOfId(id: number, deleted: boolean): { subject: string; version: number }[] {
    this.schemaById(id);
    const out: { subject: string; version: number }[] = [];
    for (const [subject, versions] of this.subjects)
      for (const [version, v] of versions)
        if (v.id === id && (deleted || !v.deleted)) out.push({ subject, version });
    return out.sort((a, b) =>
      a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.version - b.version,
    );
  }

  listSubjects(deleted: boolean, prefix = ""): string[] {
    const out: string[] = [];
    for (const [s, versions] of this.subjects)
      if (s.startsWith(prefix) && [...versions.values()].some((v) => deleted || !v.deleted)) out.push(s);
    return out.sort();
  }

  /** GET /schemas: the versions of the subjects with the prefix, by subject then version. */
  allVersions(deleted: boolean, prefix: string, latestOnly: boolean): SchemaValue[] {
    const out: SchemaValue[] = [];
    for (const subject of this.listSubjects(deleted, prefix)) {
      const versions = [...this.subjects.get(subject)!.values()]
        .filter((v) => deleted || !v.deleted)
        .sort((x, y) => x.version - y.version);
      out.push(...(latestOnly ? versions.slice(-1) : versions));
    }
    return out;
  }

  /** A subject's versions, ascending; 40401 when it has none (live, or any with `deleted`). */
  listVersions(subject: string, deleted: boolean): number[] {
    const versions = this.subjects.get(subject);
    const out =
      versions === undefined ? [] : [...versions].filter(([, v]) => deleted || !v.deleted).map(([n]) => n);
    if (out.length === 0) throw Errors.subjectNotFound(subject);
    return out.sort((a, b) => a - b);
  }

  /** One version: a number, or "latest" (-1 too, as Confluent); 40401, 40402 or 42202. */
  getVersion(subject: string, version: string, deleted: boolean): SchemaValue {
    const n = parseVersion(version);
    const live = this.listVersions(subject, deleted);
    const at = n === -1 ? live[live.length - 1] : n;
    const v = this.subjects.get(subject)!.get(at);
    if (v === undefined || (v.deleted && !deleted)) throw Errors.versionNotFound(n);
    return v;
  }

  /** GET .../versions/{v}/referencedby: the ids of the schemas referencing that version. */
  referencedBy(subject: string, version: string): number[] {
    const target = this.getVersion(subject, version, false);
    const out = new Set<number>();
    for (const versions of this.subjects.values())
      for (const v of versions.values())
        if (!v.deleted && v.references.some((r) => r.subject === subject && r.version === target.version))
          out.add(v.id);
    return [...out].sort((a, b) => a - b);
  }

  /** Whether `id` is the schema of a live version of `subject` (broker-side validation). */
  idInSubject(subject: string, id: number): boolean {
    const versions = this.subjects.get(subject);
    if (versions === undefined) return false;
    for (const v of versions.values()) if (v.id === id && !v.deleted) return true;
    return false;
  }

  /** Whether a payload decodes with schema `id`: null, or why not. */
  validatePayload(id: number, bytes: Uint8Array): string | null {
    let check = this.validators.get(id);
    if (check === undefined) {
      const s = this.schemaById(id);
      const parsed = this.parsedOf({ ...s, subject: "", version: 0, deleted: false });
      check = payloadValidator(parsed);
      this.validators.set(id, check);
    }
    return check(bytes);
  }

  /** Whether the registry (null) or a subject holds any version. */
  hasSchemas(subject: string | null): boolean {
    return subject === null ? this.subjects.size > 0 : (this.subjects.get(subject)?.size ?? 0) > 0;
  }

  compatibilityOf(subject: string | null): CompatibilityLevel {
    return (
      (subject === null ? undefined : this.configs.get(subject)) ?? this.configs.get(null) ?? DEFAULT_LEVEL
    );
  }

  /** The subject's own level (null: none configured). */
  subjectCompatibility(subject: string): CompatibilityLevel | null {
    return this.configs.get(subject) ?? null;
  }

  modeOf(subject: string | null): string {
    return (subject === null ? undefined : this.modes.get(subject)) ?? this.modes.get(null) ?? "READWRITE";
  }

  subjectMode(subject: string): string | null {
    return this.modes.get(subject) ?? null;
  }

  private parsedOf(v: SchemaValue): Parsed {
    let p = this.parsedCache.get(v.id);
    if (p === undefined) {
      p = parseSchema(v.schemaType, v.schema, this.resolveReferences(v.references));
      this.parsedCache.set(v.id, p);
    }
    return p;
  }

  private resolveReferences(refs: readonly SchemaReference[]): ResolvedReference[] {
    if (refs.length > this.limits.maxReferences)
      throw Errors.invalidSchema(`: more than ${this.limits.maxReferences} references`);
    const out: ResolvedReference[] = [];
    for (const r of refs) {
      const v = this.subjects.get(r.subject)?.get(r.version);
      if (v === undefined)
        throw Errors.invalidSchema(
          `: reference ${r.name} to subject ${r.subject} version ${r.version} not found`,
        );
      // The referenced schema's own references first (Avro named types in order).
      out.push(...this.resolveReferences(v.references));
      out.push({ name: r.name, type: v.schemaType, schema: v.schema });
    }
    return out;
  }

  parse(req: { schema: string; schemaType: SchemaType; references: SchemaReference[] }): Parsed {
    return parseSchema(req.schemaType, req.schema, this.resolveReferences(req.references));
  }

  /** POST /subjects/{subject}: the live version holding this schema. */
  lookup(subject: string, req: RegisterRequest, deleted: boolean): SchemaValue {
    const versions = this.subjects.get(subject);
    if (versions === undefined || ![...versions.values()].some((v) => deleted || !v.deleted))
      throw Errors.subjectNotFound(subject);
    const parsed = this.parse(req);
    const key = identity(req.schemaType, parsed.canonical, req.references);
    const id = this.idOf.get(key);
    const found = [...versions.values()]
      .filter((v) => v.id === id && (deleted || !v.deleted))
      .sort((a, b) => b.version - a.version)[0];
    if (found === undefined) throw Errors.schemaNotFound();
    return found;
  }

  /** The compatibility findings of `req` against one version or all live ones (Confluent's messages). */
  testCompatibility(subject: string, version: string | null, req: RegisterRequest): string[] {
    const parsed = this.parse(req);
    const level = this.compatibilityOf(subject);
    if (version === null) {
      const prev = this.liveVersions(subject);
      return describeFindings(
        checkCompatibility(
          level.endsWith("_TRANSITIVE") ? level : (`${level}_TRANSITIVE` as CompatibilityLevel),
          parsed,
          prev,
        ),
        level,
      );
    }
    const n = parseVersion(version);
    let target: SchemaValue;
    try {
      target = this.getVersion(subject, version, false);
    } catch (e) {
      // "latest" of a subject with no version: compatible, as Confluent answers.
      if (n === -1 && e instanceof RegistryError && e.errorCode === 40401) return [];
      throw e;
    }
    const one = level === "NONE" ? "NONE" : (level.replace("_TRANSITIVE", "") as CompatibilityLevel);
    return describeFindings(
      checkCompatibility(one, parsed, [{ version: target.version, schema: this.parsedOf(target) }]),
      level,
    );
  }

  private liveVersions(subject: string): { version: number; schema: Parsed }[] {
    const versions = this.subjects.get(subject);
    if (versions === undefined) return [];
    return [...versions.values()]
      .filter((v) => !v.deleted)
      .sort((a, b) => a.version - b.version)
      .map((v) => ({ version: v.version, schema: this.parsedOf(v) }));
  }

  private checkSubject(subject: string): void {
    if (subject.length === 0 || subject.length > this.limits.maxSubjectLength)
      throw Errors.badRequest(`A subject name is 1 to ${this.limits.maxSubjectLength} characters`);
  }

  private writable(subject: string | null, importing = false): void {
    const mode = this.modeOf(subject);
    if (mode === "READONLY" || mode === "READONLY_OVERRIDE")
      throw Errors.operationNotPermitted(`Subject ${subject ?? ""} is in read-only mode`);
    if (importing && mode !== "IMPORT")
      throw Errors.operationNotPermitted(`Subject ${subject} is not in import mode`);
  }

  /** POST /subjects/{subject}/versions: the schema's id (the existing one when already registered). */
  register(subject: string, req: RegisterRequest): Promise<number> {
    this.checkSubject(subject);
    return this.change(async () => {
      const importing = req.id !== undefined && req.id >= 0;
      this.writable(subject, importing);
      const parsed = this.parse(req);
      const key = identity(req.schemaType, parsed.canonical, req.references);
      const existingId = this.idOf.get(key);
      const versions = this.subjects.get(subject);
      // Already a live version of this subject: its id, nothing written.
      if (existingId !== undefined && versions !== undefined)
        for (const v of versions.values())
          if (v.id === existingId && !v.deleted && (!importing || req.id === existingId)) return existingId;
      if (this.modeOf(subject) !== "IMPORT") {
        const level = this.compatibilityOf(subject);
        const findings = checkCompatibility(level, parsed, this.liveVersions(subject));
        if (findings.length > 0)
          throw Errors.incompatible(
            `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${describeFindings(findings, level).join(", ")}]`,
          );
      }
      const maxBytes = this.limits.maxSchemaBytes ?? 256 * 1024 * 1024;
      if (existingId === undefined && this.schemaBytes + parsed.canonical.length > maxBytes)
        throw Errors.operationNotPermitted(`The registry holds ${maxBytes} characters of schemas, its bound`);
      if (this.versions >= this.limits.maxSchemas)
        throw Errors.operationNotPermitted(
          `The registry holds schema.registry.max.schemas (${this.limits.maxSchemas}) schema versions`,
        );
      let id: number;
      if (importing) {
        id = req.id!;
        const taken = this.ids.get(id);
        if (taken !== undefined && existingId !== id) throw Errors.idInUse(id);
      } else id = existingId ?? this.maxId + 1;
      let version = versions === undefined ? 1 : Math.max(0, ...versions.keys()) + 1;
      if (importing && req.version !== undefined && req.version > 0) {
        if (versions?.has(req.version))
          throw Errors.operationNotPermitted(`Version ${req.version} of ${subject} exists`);
        version = req.version;
      }
      await this.write([
        {
          keytype: "SCHEMA",
          subject,
          version,
          value: {
            subject,
            version,
            id,
            schemaType: req.schemaType,
            references: req.references,
            schema: parsed.canonical,
            deleted: false,
          },
        },
      ]);
      return id;
    });
  }

  /** DELETE /subjects/{subject}: the versions deleted. */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.change(async () => {
      this.writable(subject);
      const versions = this.subjects.get(subject);
      if (versions === undefined || versions.size === 0) throw Errors.subjectNotFound(subject);
      const all = [...versions.values()].sort((a, b) => a.version - b.version);
      if (permanent) {
        if (all.some((v) => !v.deleted)) throw Errors.subjectNotSoftDeleted(subject);
        await this.write([
          ...all.map((v): SchemasRecord => ({ keytype: "SCHEMA", subject, version: v.version, value: null })),
          { keytype: "DELETE_SUBJECT", subject, value: null },
          { keytype: "CONFIG", subject, value: null },
          { keytype: "MODE", subject, value: null },
        ]);
        return all.map((v) => v.version);
      }
      const live = all.filter((v) => !v.deleted);
      if (live.length === 0) throw Errors.subjectSoftDeleted(subject);
      await this.write([
        {
          keytype: "DELETE_SUBJECT",
          subject,
          value: { subject, version: all[all.length - 1].version },
        },
      ]);
      return live.map((v) => v.version);
    });
  }

  /** DELETE /subjects/{subject}/versions/{version}: the version deleted. */
  deleteVersion(subject: string, version: string, permanent: boolean): Promise<number> {
    return this.change(async () => {
      this.writable(subject);
      const v = this.getVersion(subject, version, permanent);
      if (permanent) {
        if (!v.deleted) throw Errors.versionNotSoftDeleted(subject, v.version);
        await this.write([{ keytype: "SCHEMA", subject, version: v.version, value: null }]);
        return v.version;
      }
      if (v.deleted) throw Errors.versionSoftDeleted(subject, v.version);
      await this.write([{ keytype: "SCHEMA", subject, version: v.version, value: { ...v, deleted: true } }]);
      return v.version;
    });
  }

  /** Subject-level configs and modes are bounded like versions (a PUT per made-up subject). */
  private checkSettingRoom(
    map: Map<string | null, unknown>,
    subject: string | null,
    removing: boolean,
  ): void {
    if (subject === null || removing || map.has(subject)) return;
    if (map.size >= this.limits.maxSchemas)
      throw Errors.operationNotPermitted(
        `The registry holds schema.registry.max.schemas (${this.limits.maxSchemas}) subject-level settings`,
      );
  }

  setCompatibility(subject: string | null, level: CompatibilityLevel | null): Promise<void> {
    if (subject !== null) this.checkSubject(subject);
    return this.change(() => {
      this.checkSettingRoom(this.configs, subject, level === null);
      return this.write([
        { keytype: "CONFIG", subject, value: level === null ? null : { compatibilityLevel: level } },
      ]);
    });
  }

  setMode(subject: string | null, mode: string | null): Promise<void> {
    if (subject !== null) this.checkSubject(subject);
    return this.change(() => {
      this.checkSettingRoom(this.modes, subject, mode === null);
      return this.write([{ keytype: "MODE", subject, value: mode === null ? null : { mode } }]);
    });
  }
}

/** A version in a path: 1..2^31-1, or "latest" / -1 (returned as -1); 42202 otherwise. */
export function parseVersion(v: string): number {
  if (v === "latest" || v === "-1") return -1;
  if (!/^\d{1,10}$/.test(v)) throw Errors.invalidVersion(v);
  const n = Number(v);
  if (n < 1 || n > 2147483647) throw Errors.invalidVersion(v);
  return n;
}
