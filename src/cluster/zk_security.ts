// A cluster's security state in ZooKeeper, kept as Kafka's ZooKeeper mode keeps it so every broker
// (Milena's or Kafka's) of the cluster shares one set of users and ACLs:
//
//   SCRAM credentials (AdminZkClient.changeEntityConfig, ScramCredentialUtils):
//   /config/users/<sanitized user>            {"version":1,"config":{
//                                               "SCRAM-SHA-256":"salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=4096",
//                                               "SCRAM-SHA-512":"...", <quota keys kept as they are>}}
//     (the name URL-encoded by Sanitizer.sanitize, scram.ts; a user left with no config at all is
//     deleted, as Kafka 3.x's tryCleanQuotaNodes does, unless it has children)
//   /config/changes/config_change_<10-digit seq>   {"version":2,"entity_path":"users/<sanitized user>"}
//     written after each user write; every broker's ClusterNode.watchConfigChanges (node.ts)
//     re-reads that user (ZkSaslCredentials.reload).
//
//   ACLs (AclAuthorizer, ZkAclStore, ZkAclChangeStore; the JSON in acl_store.ts):
//   /kafka-acl/<Type>/<name>                        LITERAL  {"version":1,"acls":[{"principal":"User:alice",
//   /kafka-acl-extended/prefixed/<Type>/<name>      PREFIXED   "permissionType":"Allow","operation":"Read","host":"*"}]}
//   /kafka-acl-changes/acl_changes_<seq>            "TOPIC:orders" after a LITERAL znode changed
//   /kafka-acl-extended-changes/acl_changes_<seq>   {"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}
//     Writes are AclAuthorizer.updateResourceAcls: read the znode and its version, compute the new
//     entries, then a conditional set (or create, or delete when none are left); a version race
//     with another broker's CreateAcls/DeleteAcls reads again (up to 10 times). Every broker
//     watches both change paths and re-reads each changed znode into its authorizer.
//
// Each session starts with loadAll: the newest notifications are noted first, then everything is
// read, then the watches are set; a change in between is read twice, which is harmless.
// Notifications older than 15 minutes are purged (change_notifications.ts), as Kafka does.
//
//   Milena's own: /milena/sasl_fake_credential_secret   32 random bytes, made by the first broker
//     that needs it: the secret an unknown user's fake SCRAM salt is derived from (scram.ts). One
//     for the cluster, so every broker answers an unknown user with the same salt (a per-broker
//     secret would let a client tell an unknown user from a real one by asking two brokers).

import {
  type AccessControlEntry,
  type AclBinding,
  type AclBindingFilter,
  aclFilterMatches,
  entryFilterIsUnknown,
  PatternType,
  patternFilterIsUnknown,
  type ResourcePattern,
  ResourceType,
  resourcePatternKey,
  type ValidateOptions,
  validateAclBinding,
} from "../broker/security/acl.ts";
import type { AclWriter } from "../broker/security/acl_apis.ts";
import {
  decodeZkAclChange,
  decodeZkAcls,
  encodeZkAcls,
  parseZkResourcePath,
  ZK_ACL_PATHS,
  ZK_ACL_ROOTS,
  ZK_EXTENDED_ACL_CHANGES_PATH,
  ZK_LITERAL_ACL_CHANGES_PATH,
  ZkAclFormatError,
  zkAclChangeNode,
  zkAclChangeSequence,
  zkResourcePath,
  zkResourceTypeFromName,
} from "../broker/security/acl_store.ts";
import type { AclCreateResult, AclDeleteResult, Authorizer } from "../broker/security/authorizer.ts";
import type { CredentialStore } from "../broker/security/credentials_file.ts";
import type { CredentialDeletion, CredentialUpsert, SaslCredentials } from "../broker/security/sasl_store.ts";
import {
  decodeUserConfig,
  desanitizeEntityName,
  encodeUserConfig,
  sanitizeEntityName,
  type UserScramCredentials,
  userConfigZnodePath,
} from "../broker/security/scram.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { purgeObsoleteNotifications } from "./change_notifications.ts";
import { encodeConfigChange, Z } from "./znodes.ts";
import {
  ZK_BAD_VERSION,
  ZK_NO_NODE,
  ZK_NODE_EXISTS,
  ZK_NOT_EMPTY,
  ZkError,
  type ZkSession,
} from "./zookeeper.ts";

/** AclAuthorizer's maxUpdateRetries; the same for user writes. */
const MAX_UPDATE_RETRIES = 10;

const conflict = (e: unknown): boolean =>
  e instanceof ZkError && [ZK_BAD_VERSION, ZK_NO_NODE, ZK_NODE_EXISTS].includes(e.code);

const backoff = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));

// ---- SCRAM credentials ----

/** The change notification's entity path of a user ("users/<sanitized user>"). */
export function userEntityPath(user: string): string {
  return `users/${sanitizeEntityName(user)}`;
}

/** The user of a config change's entity path, or null for another entity (topics, users/<u>/clients/<c>). */
export function userOfEntityPath(entityPath: string): string | null {
  if (!entityPath.startsWith("users/")) return null;
  const rest = entityPath.slice("users/".length);
  if (rest === "" || rest.includes("/")) return null;
  return desanitizeEntityName(rest);
}

/** A user's SCRAM credentials as ZooKeeper holds them (undefined: no znode, or none in it). */
export async function readUserCredentials(
  zk: ZkSession,
  user: string,
): Promise<UserScramCredentials | undefined> {
  const got = await zk.get(userConfigZnodePath(user));
  if (got === null || got.data.length === 0) return undefined;
  const creds = decodeUserConfig(got.data).credentials;
  return Object.keys(creds).length === 0 ? undefined : creds;
}

/** Every user with a SCRAM credential in /config/users. */
export async function readAllUserCredentials(zk: ZkSession): Promise<CredentialStore> {
  const out: CredentialStore = new Map();
  for (const name of await zk.children(USERS_PATH)) {
    const user = desanitizeEntityName(name);
    const creds = await readUserCredentials(zk, user);
    if (creds !== undefined) out.set(user, creds);
  }
  return out;
}

const USERS_PATH = "/config/users";

/**
 * Change one user's credentials in ZooKeeper: read /config/users/<user> (keeping its other
 * config), apply `change` to a copy of its credentials, write it back conditionally on the
 * version read (retried on a race), then the change notification. Resolves to the credentials
 * now stored (undefined: none left).
 */
export async function alterUserCredentials(
  zk: ZkSession,
  user: string,
  change: (creds: UserScramCredentials) => void,
): Promise<UserScramCredentials | undefined> {
  const path = userConfigZnodePath(user);
  for (let attempt = 0; attempt < MAX_UPDATE_RETRIES; attempt++) {
    const got = await zk.get(path);
    const current =
      got === null || got.data.length === 0 ? { credentials: {}, config: {} } : decodeUserConfig(got.data);
    const creds: UserScramCredentials = { ...current.credentials };
    change(creds);
    const empty = Object.keys(creds).length === 0 && Object.keys(current.config).length === 0;
    const data = Buffer.from(encodeUserConfig(creds, current.config), "utf8");
    try {
      if (got === null) {
        if (empty) return undefined;
        await zk.mkdirp(USERS_PATH);
        await zk.create(path, data);
      } else if (empty) {
        try {
          await zk.delete(path, got.stat.version);
        } catch (e) {
          // Quota children (users/<u>/clients/<c>): keep the znode, emptied.
          if (!(e instanceof ZkError && e.code === ZK_NOT_EMPTY)) throw e;
          await zk.set(path, data, got.stat.version);
        }
      } else await zk.set(path, data, got.stat.version);
    } catch (e) {
      if (!conflict(e)) throw e;
      await backoff();
      continue;
    }
    await zk.mkdirp(Z.configChanges);
    await zk.createSequential(Z.configChange, encodeConfigChange(userEntityPath(user)));
    return Object.keys(creds).length === 0 ? undefined : creds;
  }
  throw new Error(`${path}: changed by others ${MAX_UPDATE_RETRIES} times in a row`);
}

export const ZK_FAKE_CREDENTIAL_SECRET_PATH = "/milena/sasl_fake_credential_secret";

/** The cluster's fake-credential secret: read, or made from `proposal` by the first broker. */
export async function clusterFakeCredentialSecret(zk: ZkSession, proposal: Buffer): Promise<Buffer> {
  const got = await zk.get(ZK_FAKE_CREDENTIAL_SECRET_PATH);
  if (got !== null && got.data.length === 32) return got.data;
  await zk.mkdirp("/milena");
  try {
    await zk.create(ZK_FAKE_CREDENTIAL_SECRET_PATH, proposal);
    return proposal;
  } catch (e) {
    if (!(e instanceof ZkError && e.code === ZK_NODE_EXISTS)) throw e;
    const other = await zk.get(ZK_FAKE_CREDENTIAL_SECRET_PATH);
    if (other === null || other.data.length !== 32)
      throw new Error(`${ZK_FAKE_CREDENTIAL_SECRET_PATH} is not 32 bytes`);
    return other.data;
  }
}

/** The cluster's users: /config/users in ZooKeeper, in memory for the authentications. */
export class ZkSaslCredentials implements SaslCredentials {
  private store: CredentialStore = new Map();

  /** The cluster's fake-credential secret; until the first session read it, this broker's own. */
  secret: Buffer;

  constructor(
    private readonly zk: () => ZkSession | null,
    localSecret: Buffer,
  ) {
    this.secret = localSecret;
  }

  user(name: string): UserScramCredentials | undefined {
    return this.store.get(name);
  }

  users(): string[] {
    return [...this.store.keys()].sort();
  }

  /** Every user, read afresh (a new session). */
  async loadAll(zk: ZkSession): Promise<void> {
    this.secret = await clusterFakeCredentialSecret(zk, this.secret);
    this.store = await readAllUserCredentials(zk);
  }

  /** One user, read again (its change notification). */
  async reload(zk: ZkSession, user: string): Promise<void> {
    const creds = await readUserCredentials(zk, user);
    if (creds === undefined) this.store.delete(user);
    else this.store.set(user, creds);
  }

  async alter(upserts: readonly CredentialUpsert[], deletes: readonly CredentialDeletion[]): Promise<void> {
    const zk = this.zk();
    if (zk === null) throw new Error("not connected to ZooKeeper");
    const users = [...new Set([...deletes.map((d) => d.user), ...upserts.map((u) => u.user)])];
    for (const user of users) {
      await alterUserCredentials(zk, user, (creds) => {
        for (const d of deletes) if (d.user === user) delete creds[d.mechanism];
        for (const u of upserts) if (u.user === user) creds[u.mechanism] = u.credential;
      });
      // Read back rather than keep what was written: another broker's change of the user may
      // have come (and been applied) meanwhile; reads answer in order, so the last read wins.
      await this.reload(zk, user);
    }
  }
}

// ---- ACLs ----

/** AclControlManager.validateFilter's error for a filter, or null. */
function filterError(f: AclBindingFilter): { errorCode: number; errorMessage: string } | null {
  if (patternFilterIsUnknown(f))
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Unknown patternFilter." };
  if (entryFilterIsUnknown(f))
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Unknown entryFilter." };
  return null;
}

const entryKey = (e: AccessControlEntry): string =>
  JSON.stringify([e.principal, e.host, e.operation, e.permissionType]);

/** The entries of a znode after adding some (those already there kept once). */
export function withEntries(
  current: readonly AccessControlEntry[],
  added: readonly AccessControlEntry[],
): AccessControlEntry[] {
  const out = [...current];
  const seen = new Set(current.map(entryKey));
  for (const e of added)
    if (!seen.has(entryKey(e))) {
      seen.add(entryKey(e));
      out.push({
        principal: e.principal,
        host: e.host,
        operation: e.operation,
        permissionType: e.permissionType,
      });
    }
  return out;
}

/** The bindings of a pattern with these entries. */
function bindingsOf(pattern: ResourcePattern, entries: readonly AccessControlEntry[]): AclBinding[] {
  return entries.map((e) => ({
    ...pattern,
    principal: e.principal,
    host: e.host,
    operation: e.operation,
    permissionType: e.permissionType,
  }));
}

/** The exact pattern a filter names (a concrete type, a name, LITERAL or PREFIXED), or null. */
function filterPattern(f: AclBindingFilter): ResourcePattern | null {
  if (f.resourceName === null) return null;
  if (f.resourceType === ResourceType.ANY || f.resourceType === ResourceType.UNKNOWN) return null;
  if (f.patternType !== PatternType.LITERAL && f.patternType !== PatternType.PREFIXED) return null;
  return { resourceType: f.resourceType, resourceName: f.resourceName, patternType: f.patternType };
}

/**
 * The cluster's ACLs: CreateAcls and DeleteAcls write the znodes (then the change notification)
 * and update this broker's authorizer; the other brokers' changes arrive through the watches.
 */
export class ZkAcls implements AclWriter {
  /** The highest notification handled, per change path. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly authorizer: Authorizer,
    private readonly zk: () => ZkSession | null,
    private readonly log: (line: string) => void,
  ) {}

  /** Every ACL, read afresh (a new session), then the change watches of this session. */
  async loadAll(zk: ZkSession): Promise<void> {
    for (const p of ZK_ACL_PATHS) await zk.mkdirp(p);
    const changePaths = [ZK_LITERAL_ACL_CHANGES_PATH, ZK_EXTENDED_ACL_CHANGES_PATH];
    for (const path of changePaths) this.seen.set(path, newest(await zk.children(path)));
    const all: AclBinding[] = [];
    for (const root of ZK_ACL_ROOTS)
      for (const typeName of await zk.children(root.path)) {
        if (zkResourceTypeFromName(typeName) === ResourceType.UNKNOWN) {
          this.log(`ACLs: skipping ${root.path}/${typeName}: not a resource type`);
          continue;
        }
        for (const name of await zk.children(`${root.path}/${typeName}`)) {
          const path = `${root.path}/${typeName}/${name}`;
          const pattern = parseZkResourcePath(path);
          if (pattern === null) continue;
          const got = await zk.get(path);
          all.push(...bindingsOf(pattern, decodeZkAcls(got?.data)));
        }
      }
    this.authorizer.replaceAll(all);
    for (const path of changePaths) await this.watchChanges(zk, path);
  }

  private async watchChanges(zk: ZkSession, changePath: string): Promise<void> {
    if (zk.isClosed || zk !== this.zk()) return;
    const again = () =>
      void this.watchChanges(zk, changePath).catch((e) =>
        this.log(`ACLs: reading ${changePath} failed: ${(e as Error).message}`),
      );
    const names = (await zk.children(changePath, again))
      .map((n) => ({ n, seq: zkAclChangeSequence(n) }))
      .filter((x): x is { n: string; seq: number } => x.seq !== null)
      .sort((a, b) => a.seq - b.seq);
    for (const { n, seq } of names) {
      if (seq <= (this.seen.get(changePath) ?? -1)) continue;
      this.seen.set(changePath, seq);
      const note = await zk.get(`${changePath}/${n}`);
      if (note === null) continue;
      let pattern: ResourcePattern;
      try {
        pattern = decodeZkAclChange(changePath, note.data);
        const got = await zk.get(zkResourcePath(pattern));
        this.authorizer.setAclsOf(pattern, decodeZkAcls(got?.data));
      } catch (e) {
        if (!(e instanceof ZkAclFormatError)) throw e;
        this.log(`ACLs: ignoring ${changePath}/${n}: ${e.message}`);
      }
    }
    await purgeObsoleteNotifications(
      zk,
      changePath,
      names.map((x) => x.n),
    ).catch((e) => this.log(`ACLs: purging ${changePath} failed: ${(e as Error).message}`));
  }

  /**
   * AclAuthorizer.updateResourceAcls: the znode's entries changed by `f`, written conditionally
   * (created, set, or deleted when none are left) and announced; this broker's authorizer then
   * holds them. Resolves to the entries before and after.
   */
  private async update(
    zk: ZkSession,
    pattern: ResourcePattern,
    f: (current: AccessControlEntry[]) => AccessControlEntry[],
  ): Promise<{ before: AccessControlEntry[]; after: AccessControlEntry[] }> {
    const path = zkResourcePath(pattern);
    for (let attempt = 0; attempt < MAX_UPDATE_RETRIES; attempt++) {
      const got = await zk.get(path);
      const before = decodeZkAcls(got?.data);
      const after = f(before);
      const same =
        before.length === after.length && after.every((e) => before.some((b) => entryKey(b) === entryKey(e)));
      try {
        if (same) {
          this.authorizer.setAclsOf(pattern, before);
          return { before, after: before };
        }
        if (got === null) {
          await zk.mkdirp(path.slice(0, path.lastIndexOf("/")));
          await zk.create(path, encodeZkAcls(after));
        } else if (after.length === 0) await zk.delete(path, got.stat.version);
        else await zk.set(path, encodeZkAcls(after), got.stat.version);
      } catch (e) {
        if (!conflict(e)) throw e;
        await backoff();
        continue;
      }
      const note = zkAclChangeNode(pattern);
      await zk.createSequential(note.path, note.data);
      // What ZooKeeper holds now, not `after`: another broker's change may have come meanwhile,
      // and its notification been applied already. Reads answer in order, so the last read wins.
      const now = await zk.get(path);
      this.authorizer.setAclsOf(pattern, decodeZkAcls(now?.data));
      return { before, after };
    }
    throw new Error(`${path}: changed by others ${MAX_UPDATE_RETRIES} times in a row`);
  }

  async createAcls(
    bindings: readonly AclBinding[],
    options: ValidateOptions = {},
  ): Promise<AclCreateResult[]> {
    const results: AclCreateResult[] = new Array(bindings.length);
    const groups = new Map<string, { pattern: ResourcePattern; items: number[] }>();
    bindings.forEach((b, i) => {
      const error = validateAclBinding(b, options);
      if (error !== null) {
        results[i] = error;
        return;
      }
      try {
        zkResourcePath(b);
      } catch (e) {
        results[i] = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: (e as Error).message };
        return;
      }
      const key = resourcePatternKey(b);
      let g = groups.get(key);
      if (g === undefined)
        groups.set(
          key,
          (g = {
            pattern: {
              resourceType: b.resourceType,
              resourceName: b.resourceName,
              patternType: b.patternType,
            },
            items: [],
          }),
        );
      g.items.push(i);
    });
    const zk = this.zk();
    for (const { pattern, items } of groups.values()) {
      try {
        if (zk === null) throw new Error("not connected to ZooKeeper");
        await this.update(zk, pattern, (cur) =>
          withEntries(
            cur,
            items.map((i) => bindings[i]),
          ),
        );
        for (const i of items) results[i] = { errorCode: ErrorCode.NONE, errorMessage: null };
      } catch (e) {
        this.log(`CreateAcls: writing ${zkPathOrName(pattern)} failed: ${(e as Error).message}`);
        for (const i of items)
          results[i] = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (e as Error).message };
      }
    }
    return results;
  }

  async deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclDeleteResult[]> {
    const errors = filters.map(filterError);
    const valid = filters.filter((_, i) => errors[i] === null);
    const patterns = new Map<string, ResourcePattern>();
    for (const b of this.authorizer.acls())
      if (valid.some((f) => aclFilterMatches(f, b)))
        patterns.set(resourcePatternKey(b), {
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
        });
    // A filter naming one pattern also reaches a znode this broker has not heard of yet.
    for (const f of valid) {
      const p = filterPattern(f);
      if (p !== null && !patterns.has(resourcePatternKey(p))) patterns.set(resourcePatternKey(p), p);
    }
    const removed: AclBinding[] = [];
    const failed: { pattern: ResourcePattern; message: string }[] = [];
    const zk = this.zk();
    for (const pattern of patterns.values()) {
      try {
        zkResourcePath(pattern);
      } catch {
        continue; // no znode can hold it
      }
      try {
        if (zk === null) throw new Error("not connected to ZooKeeper");
        const matches = (e: AccessControlEntry) =>
          valid.some((f) => aclFilterMatches(f, bindingsOf(pattern, [e])[0]));
        const { before, after } = await this.update(zk, pattern, (cur) => cur.filter((e) => !matches(e)));
        const kept = new Set(after.map(entryKey));
        removed.push(
          ...bindingsOf(
            pattern,
            before.filter((e) => !kept.has(entryKey(e))),
          ),
        );
      } catch (e) {
        this.log(`DeleteAcls: writing ${zkPathOrName(pattern)} failed: ${(e as Error).message}`);
        failed.push({ pattern, message: (e as Error).message });
      }
    }
    return filters.map((f, i): AclDeleteResult => {
      const error = errors[i];
      if (error !== null) return { ...error, deleted: [] };
      const failure = failed.find(({ pattern }) =>
        this.authorizer.aclsOf(pattern).some((b) => aclFilterMatches(f, b)),
      );
      if (failure !== undefined)
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: failure.message, deleted: [] };
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        deleted: removed.filter((b) => aclFilterMatches(f, b)),
      };
    });
  }
}

function zkPathOrName(p: ResourcePattern): string {
  try {
    return zkResourcePath(p);
  } catch {
    return p.resourceName;
  }
}

/** The highest sequence number among change znode names (-1: none). */
function newest(names: readonly string[]): number {
  let max = -1;
  for (const n of names) {
    const s = zkAclChangeSequence(n);
    if (s !== null && s > max) max = s;
  }
  return max;
}
