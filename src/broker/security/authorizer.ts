// The ACL authorizer: Kafka's StandardAuthorizer (metadata/.../authorizer/StandardAuthorizerData.java)
// over bindings held in memory, plus the config it reads and the client address it matches.
//
// authorize(principal, host, operation, resourceType, name), for a literal resource name:
//   1. a super user (super.users, "User:admin;User:ops") is always allowed;
//   2. the ACLs that apply are those of the resource type whose pattern is the name (LITERAL), the
//      wildcard (LITERAL "*") or a prefix of the name (PREFIXED);
//   3. none at all (whoever they are for): allow.everyone.if.no.acl.found decides (default: deny);
//   4. of those whose principal is the caller's or "User:*" and whose host is the caller's or "*":
//      a DENY that matches the operation denies, whatever ALLOWs match; else an ALLOW that matches
//      allows; else deny. ALL matches every operation. An ALLOW of READ, WRITE, DELETE or ALTER
//      also allows DESCRIBE, an ALLOW of ALTER_CONFIGS also allows DESCRIBE_CONFIGS; a DENY never
//      implies (a DENY of READ does not deny DESCRIBE, a DENY of DESCRIBE does not deny READ).
//
// authorizeByResourceType (Authorizer.authorizeByResourceType, Kafka's default method): whether
// the caller may do the operation on at least one resource of the type; InitProducerId without a
// transactional id uses it (IDEMPOTENT_WRITE on the cluster, or WRITE on any topic).
// authorizedOperations: the authorized_operations bit field (AuthHelper.authorizedOperations).
//
// No authorizer configured (Kafka's authorizer = None): everything is allowed and the ACL APIs
// answer SECURITY_DISABLED. ALLOW_ALL is that case, with the same interface as Authorizer, so a
// handler asks `authz.authorize(...)` either way and pays one property call when disabled.

import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  type AccessControlEntry,
  type AclBinding,
  type AclBindingFilter,
  type AclError,
  AclOperation,
  AclPermissionType,
  ANY_ACL_FILTER,
  aclBinding,
  aclBindingKey,
  aclFilterMatches,
  entryFilterIsUnknown,
  PatternType,
  parsePrincipal,
  patternFilterIsUnknown,
  principalFormatMessage,
  type ResourcePattern,
  ResourceType,
  resourcePatternKey,
  supportedOperations,
  toBitField,
  type ValidateOptions,
  validateAclBinding,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
} from "./acl.ts";

export const SUPER_USERS_CONFIG = "super.users";
export const ALLOW_EVERYONE_IF_NO_ACL_FOUND_CONFIG = "allow.everyone.if.no.acl.found";

/** What handlers ask; Authorizer and ALLOW_ALL (no authorizer configured) both answer it. */
export interface AclAuthorizer {
  /** false: no authorizer configured (everything allowed; ACL APIs answer SECURITY_DISABLED). */
  readonly enabled: boolean;
  authorize(
    principal: string,
    host: string,
    operation: AclOperation,
    resourceType: ResourceType,
    resourceName: string,
  ): boolean;
  /** AuthHelper.filterByAuthorized: the names (of one type) the caller may do the operation on. */
  authorizedNames(
    principal: string,
    host: string,
    operation: AclOperation,
    resourceType: ResourceType,
    names: Iterable<string>,
  ): Set<string>;
  authorizeByResourceType(
    principal: string,
    host: string,
    operation: AclOperation,
    resourceType: ResourceType,
  ): boolean;
  /** Bit i set for each supported operation i allowed (Utils.to32BitField). */
  authorizedOperations(
    principal: string,
    host: string,
    resourceType: ResourceType,
    resourceName: string,
  ): number;
}

/** No authorizer configured: Kafka's AuthHelper with authorizer = None. */
export const ALLOW_ALL: AclAuthorizer = Object.freeze({
  enabled: false,
  authorize: () => true,
  authorizedNames: (_p: string, _h: string, _o: AclOperation, _t: ResourceType, names: Iterable<string>) =>
    new Set(names),
  authorizeByResourceType: () => true,
  authorizedOperations: (_p: string, _h: string, resourceType: ResourceType) =>
    toBitField(supportedOperations(resourceType)),
});

export class AuthorizerConfigError extends Error {
  override name = "AuthorizerConfigError";
}

/**
 * super.users as StandardAuthorizer.getConfiguredSuperUsers reads it: principals separated by
 * ";", trimmed, empty ones skipped; each must be "Type:name".
 */
export function parseSuperUsers(value: string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(";")) {
    const v = part.trim();
    if (v === "") continue;
    if (parsePrincipal(v) === null)
      throw new AuthorizerConfigError(`${SUPER_USERS_CONFIG}: ${principalFormatMessage(v)}`);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** allow.everyone.if.no.acl.found as Kafka reads it (Boolean.parseBoolean): "true" in any case, else false. */
export function parseAllowEveryoneIfNoAclFound(value: string | null | undefined): boolean {
  return value !== null && value !== undefined && value.trim().toLowerCase() === "true";
}

/**
 * A client address as Kafka's authorizer sees it (InetAddress.getHostAddress), from Node's
 * socket.remoteAddress: an IPv4-mapped IPv6 address ("::ffff:10.0.0.1") is the IPv4 address
 * (Java makes it an Inet4Address); other IPv6 addresses are written out in full, lowercase,
 * without zero compression ("::1" -> "0:0:0:0:0:0:0:1"), keeping a "%zone". ACL hosts written for
 * Kafka then match. Anything that is not an IP address is returned unchanged.
 */
export function clientHost(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "";
  let addr = remoteAddress;
  let zone = "";
  const pct = addr.indexOf("%");
  if (pct >= 0) {
    zone = addr.slice(pct);
    addr = addr.slice(0, pct);
  }
  if (!addr.includes(":")) return remoteAddress;
  const groups = ipv6Groups(addr);
  if (groups === null) return remoteAddress;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  return groups.map((g) => g.toString(16)).join(":") + zone;
}

function ipv6Groups(addr: string): number[] | null {
  const halves = addr.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string, last: boolean): number[] | null => {
    if (s === "") return [];
    const parts = s.split(":");
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (last && i === parts.length - 1 && p.includes(".")) {
        const q = p.split(".");
        if (q.length !== 4 || !q.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255)) return null;
        const b = q.map(Number);
        out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(Number.parseInt(p, 16));
      } else return null;
    }
    return out;
  };
  const head = parse(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? parse(halves[1], true) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** A CreateAcls outcome per binding: errorCode 0 (NONE) and a null message on success. */
export interface AclCreateResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** A DeleteAcls outcome per filter: what it deleted, or why it deleted nothing. */
export interface AclDeleteResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly deleted: readonly AclBinding[];
}

/** What changed in one call (for the wiring to persist: file, or ZooKeeper znodes + notifications). */
export interface AclChange {
  readonly added: readonly AclBinding[];
  readonly removed: readonly AclBinding[];
}

export interface AuthorizerOptions {
  /** super.users: principals allowed everything ("User:admin"). */
  readonly superUsers?: Iterable<string>;
  /** allow.everyone.if.no.acl.found (default false). */
  readonly allowEveryoneIfNoAclFound?: boolean;
  /** Called after each call that changed the ACLs, with what it changed. */
  readonly onChange?: (change: AclChange) => void;
}

/** The ACLs of one resource type, indexed the way authorize looks them up. */
class TypeIndex {
  readonly literal = new Map<string, AclBinding[]>();
  readonly prefixed = new Map<string, AclBinding[]>();
  /** How many prefixed patterns have each name length (to look up only lengths that exist). */
  private readonly prefixLengthCounts = new Map<number, number>();
  prefixLengths: number[] = [];
  count = 0;

  add(b: AclBinding): void {
    const map = b.patternType === PatternType.PREFIXED ? this.prefixed : this.literal;
    const list = map.get(b.resourceName);
    if (list) list.push(b);
    else {
      map.set(b.resourceName, [b]);
      if (map === this.prefixed) this.countLength(b.resourceName.length, 1);
    }
    this.count++;
  }

  remove(b: AclBinding, key: string): void {
    const map = b.patternType === PatternType.PREFIXED ? this.prefixed : this.literal;
    const list = map.get(b.resourceName);
    if (!list) return;
    const i = list.findIndex((x) => aclBindingKey(x) === key);
    if (i < 0) return;
    list.splice(i, 1);
    this.count--;
    if (list.length === 0) {
      map.delete(b.resourceName);
      if (map === this.prefixed) this.countLength(b.resourceName.length, -1);
    }
  }

  private countLength(length: number, delta: number): void {
    const n = (this.prefixLengthCounts.get(length) ?? 0) + delta;
    if (n === 0) this.prefixLengthCounts.delete(length);
    else this.prefixLengthCounts.set(length, n);
    this.prefixLengths = [...this.prefixLengthCounts.keys()].sort((a, b) => a - b);
  }
}

const NO_MATCH = 0;
const ALLOWED = 1;
const DENIED = 2;

/**
 * StandardAuthorizerData.findResult for an ACL that applies to the resource: NO_MATCH when its
 * principal, host or operation does not match, else ALLOWED or DENIED.
 */
function aclResult(
  acl: AccessControlEntry,
  principal: string,
  host: string,
  operation: AclOperation,
): number {
  if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) return NO_MATCH;
  if (acl.host !== WILDCARD_HOST && acl.host !== host) return NO_MATCH;
  if (acl.operation !== AclOperation.ALL) {
    if (acl.permissionType === AclPermissionType.ALLOW) {
      switch (operation) {
        case AclOperation.DESCRIBE:
          if (!IMPLIES_DESCRIBE.has(acl.operation)) return NO_MATCH;
          break;
        case AclOperation.DESCRIBE_CONFIGS:
          if (!IMPLIES_DESCRIBE_CONFIGS.has(acl.operation)) return NO_MATCH;
          break;
        default:
          if (acl.operation !== operation) return NO_MATCH;
      }
    } else if (acl.operation !== operation) return NO_MATCH;
  }
  if (acl.permissionType === AclPermissionType.ALLOW) return ALLOWED;
  // StandardAuthorizerData treats every non-ALLOW permission as DENY; validation admits only the two.
  return DENIED;
}

/** The operations whose ALLOW also allows DESCRIBE (StandardAuthorizerData.IMPLIES_DESCRIBE). */
const IMPLIES_DESCRIBE: ReadonlySet<AclOperation> = new Set([
  AclOperation.DESCRIBE,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
]);

/** The operations whose ALLOW also allows DESCRIBE_CONFIGS. */
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<AclOperation> = new Set([
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
]);

export class Authorizer implements AclAuthorizer {
  readonly enabled = true;
  readonly superUsers: ReadonlySet<string>;
  readonly allowEveryoneIfNoAclFound: boolean;
  private readonly onChange: ((change: AclChange) => void) | undefined;
  /** Every binding, by aclBindingKey, in the order added. */
  private readonly bindings = new Map<string, AclBinding>();
  /** By ResourceType code. */
  private readonly byType = new Map<ResourceType, TypeIndex>();

  constructor(options: AuthorizerOptions = {}) {
    const superUsers = [...(options.superUsers ?? [])];
    for (const p of superUsers)
      if (parsePrincipal(p) === null)
        throw new AuthorizerConfigError(`${SUPER_USERS_CONFIG}: ${principalFormatMessage(p)}`);
    this.superUsers = new Set(superUsers);
    this.allowEveryoneIfNoAclFound = options.allowEveryoneIfNoAclFound ?? false;
    this.onChange = options.onChange;
  }

  /** From the broker's config values (super.users, allow.everyone.if.no.acl.found). */
  static fromConfig(
    config: { superUsers?: string | null; allowEveryoneIfNoAclFound?: string | boolean | null },
    onChange?: (change: AclChange) => void,
  ): Authorizer {
    const allow = config.allowEveryoneIfNoAclFound;
    return new Authorizer({
      superUsers: parseSuperUsers(config.superUsers),
      allowEveryoneIfNoAclFound: typeof allow === "boolean" ? allow : parseAllowEveryoneIfNoAclFound(allow),
      onChange,
    });
  }

  get aclCount(): number {
    return this.bindings.size;
  }

  // ---- decisions ----

  authorize(
    principal: string,
    host: string,
    operation: AclOperation,
    resourceType: ResourceType,
    resourceName: string,
  ): boolean {
    if (this.superUsers.has(principal)) return true;
    const index = this.byType.get(resourceType);
    if (index === undefined) return this.allowEveryoneIfNoAclFound;
    let found = false;
    let allowed = false;
    const check = (list: readonly AclBinding[] | undefined): boolean => {
      if (list === undefined) return false;
      for (const acl of list) {
        found = true;
        const r = aclResult(acl, principal, host, operation);
        if (r === DENIED) return true;
        if (r === ALLOWED) allowed = true;
      }
      return false;
    };
    if (check(index.literal.get(resourceName))) return false;
    if (resourceName !== WILDCARD_RESOURCE && check(index.literal.get(WILDCARD_RESOURCE))) return false;
    for (const length of index.prefixLengths) {
      if (length > resourceName.length) break;
      if (check(index.prefixed.get(resourceName.slice(0, length)))) return false;
    }
    if (!found) return this.allowEveryoneIfNoAclFound;
    return allowed;
  }

  authorizedNames(
    principal: string,
    host: string,
    operation: AclOperation,
    resourceType: ResourceType,
    names: Iterable<string>,
  ): Set<string> {
    const out = new Set<string>();
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      if (this.authorize(principal, host, operation, resourceType, name)) out.add(name);
    }
    return out;
  }

  /**
   * Authorizer.authorizeByResourceType (Kafka's default implementation): allowed on at least one
   * resource of the type. A name that nobody has ACLs for ("hardcode") is tried first, so super
   * users and allow.everyone.if.no.acl.found pass; then an ALLOW (operation or ALL; no implied
   * operations) for the caller's principal or "User:*" and host or "*" counts unless a DENY for
   * the same name, or for a prefix of it, dominates it; a DENY on the wildcard "*" denies all.
   */
  authorizeByResourceType(
    principal: string,
    host: string,
    operation: AclOperation,
    resourceType: ResourceType,
  ): boolean {
    if (resourceType === ResourceType.ANY)
      throw new Error("Must specify a non-filter resource type for authorizeByResourceType");
    if (resourceType === ResourceType.UNKNOWN) throw new Error("Unknown resource type");
    if (operation === AclOperation.ANY)
      throw new Error("Must specify a non-filter operation type for authorizeByResourceType");
    if (operation === AclOperation.UNKNOWN) throw new Error("Unknown operation type");
    if (this.authorize(principal, host, operation, resourceType, "hardcode")) return true;
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowLiteral = new Set<string>();
    const allowPrefixed = new Set<string>();
    let wildcardAllow = false;
    const index = this.byType.get(resourceType);
    if (index === undefined) return false;
    const all = [...[...index.literal.values()].flat(), ...[...index.prefixed.values()].flat()];
    for (const b of all) {
      if (b.host !== host && b.host !== WILDCARD_HOST) continue;
      if (b.principal !== principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.operation !== operation && b.operation !== AclOperation.ALL) continue;
      const literal = b.patternType === PatternType.LITERAL;
      if (b.permissionType === AclPermissionType.DENY) {
        if (literal && b.resourceName === WILDCARD_RESOURCE) return false;
        (literal ? denyLiteral : denyPrefixed).add(b.resourceName);
        continue;
      }
      if (b.permissionType !== AclPermissionType.ALLOW) continue;
      if (literal && b.resourceName === WILDCARD_RESOURCE) {
        wildcardAllow = true;
        continue;
      }
      (literal ? allowLiteral : allowPrefixed).add(b.resourceName);
    }
    if (wildcardAllow) return true;
    const dominated = (name: string): boolean => {
      for (let i = 1; i <= name.length; i++) if (denyPrefixed.has(name.slice(0, i))) return true;
      return false;
    };
    for (const name of allowLiteral) if (!denyLiteral.has(name) && !dominated(name)) return true;
    for (const name of allowPrefixed) if (!dominated(name)) return true;
    return false;
  }

  authorizedOperations(
    principal: string,
    host: string,
    resourceType: ResourceType,
    resourceName: string,
  ): number {
    let bits = 0;
    for (const op of supportedOperations(resourceType))
      if (this.authorize(principal, host, op, resourceType, resourceName)) bits |= 1 << op;
    return bits;
  }

  // ---- the ACLs ----

  /** The bindings a filter matches (DescribeAcls), in the order they were added. */
  acls(filter: AclBindingFilter = ANY_ACL_FILTER): AclBinding[] {
    const out: AclBinding[] = [];
    for (const b of this.bindings.values()) if (aclFilterMatches(filter, b)) out.push(b);
    return out;
  }

  /** The entries of exactly this pattern (what its ZooKeeper znode holds). */
  aclsOf(pattern: ResourcePattern): AclBinding[] {
    const index = this.byType.get(pattern.resourceType);
    if (index === undefined) return [];
    const map = pattern.patternType === PatternType.PREFIXED ? index.prefixed : index.literal;
    if (pattern.patternType !== PatternType.PREFIXED && pattern.patternType !== PatternType.LITERAL)
      return [];
    return [...(map.get(pattern.resourceName) ?? [])];
  }

  has(binding: AclBinding): boolean {
    return this.bindings.has(aclBindingKey(binding));
  }

  /**
   * CreateAcls: validate each binding (validateAclBinding) and add the valid ones; one result per
   * binding, in order. An ACL that exists already is a success that changes nothing (Kafka).
   */
  createAcls(bindings: readonly AclBinding[], options: ValidateOptions = {}): AclCreateResult[] {
    const added: AclBinding[] = [];
    const results = bindings.map((b): AclCreateResult => {
      const error = validateAclBinding(b, options);
      if (error !== null) return error;
      if (this.insert(b)) added.push(this.bindings.get(aclBindingKey(b))!);
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    this.changed(added, []);
    return results;
  }

  /**
   * DeleteAcls: for each filter, the bindings it matches, all removed at once (a binding matching
   * two filters is in both results, as in Kafka's AclControlManager). A filter with an UNKNOWN
   * element deletes nothing: INVALID_REQUEST (AclControlManager.validateFilter).
   */
  deleteAcls(filters: readonly AclBindingFilter[]): AclDeleteResult[] {
    const removed = new Map<string, AclBinding>();
    const results = filters.map((f): AclDeleteResult => {
      const error = filterError(f);
      if (error !== null) return { ...error, deleted: [] };
      const deleted = this.acls(f);
      for (const b of deleted) removed.set(aclBindingKey(b), b);
      return { errorCode: ErrorCode.NONE, errorMessage: null, deleted };
    });
    for (const [key, b] of removed) this.delete(key, b);
    this.changed([], [...removed.values()]);
    return results;
  }

  /** Add bindings as they are, unvalidated (loading a store); returns those that were new. */
  addAcls(bindings: Iterable<AclBinding>): AclBinding[] {
    const added: AclBinding[] = [];
    for (const b of bindings) if (this.insert(b)) added.push(this.bindings.get(aclBindingKey(b))!);
    this.changed(added, []);
    return added;
  }

  /** Remove the bindings a filter matches; returns them. */
  removeAcls(filter: AclBindingFilter): AclBinding[] {
    const removed = this.acls(filter);
    for (const b of removed) this.delete(aclBindingKey(b), b);
    this.changed([], removed);
    return removed;
  }

  /** Replace every ACL (a store loaded at startup). onChange is not called. */
  replaceAll(bindings: Iterable<AclBinding>): void {
    this.bindings.clear();
    this.byType.clear();
    for (const b of bindings) this.insert(b);
  }

  /**
   * Set the entries of one pattern to exactly these (a ZooKeeper change notification: the znode's
   * new content). onChange is not called: the change came from the store.
   */
  setAclsOf(pattern: ResourcePattern, entries: Iterable<AccessControlEntry>): void {
    for (const b of this.aclsOf(pattern)) this.delete(aclBindingKey(b), b);
    for (const e of entries)
      this.insert({
        resourceType: pattern.resourceType,
        resourceName: pattern.resourceName,
        patternType: pattern.patternType,
        principal: e.principal,
        host: e.host,
        operation: e.operation,
        permissionType: e.permissionType,
      });
  }

  private insert(b: AclBinding): boolean {
    const key = aclBindingKey(b);
    if (this.bindings.has(key)) return false;
    const copy = Object.freeze(aclBinding(b));
    this.bindings.set(key, copy);
    let index = this.byType.get(copy.resourceType);
    if (index === undefined) this.byType.set(copy.resourceType, (index = new TypeIndex()));
    index.add(copy);
    return true;
  }

  private delete(key: string, b: AclBinding): void {
    if (!this.bindings.delete(key)) return;
    const index = this.byType.get(b.resourceType);
    if (index === undefined) return;
    index.remove(b, key);
    if (index.count === 0) this.byType.delete(b.resourceType);
  }

  private changed(added: readonly AclBinding[], removed: readonly AclBinding[]): void {
    if ((added.length > 0 || removed.length > 0) && this.onChange) this.onChange({ added, removed });
  }
}

/** AclControlManager.validateFilter. */
function filterError(f: AclBindingFilter): AclError | null {
  if (patternFilterIsUnknown(f))
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Unknown patternFilter." };
  if (entryFilterIsUnknown(f))
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Unknown entryFilter." };
  return null;
}

/** The distinct patterns of some bindings (the znodes, and change notifications, a change touches). */
export function patternsOf(bindings: Iterable<AclBinding>): ResourcePattern[] {
  const out = new Map<string, ResourcePattern>();
  for (const b of bindings) {
    const key = resourcePatternKey(b);
    if (!out.has(key))
      out.set(key, {
        resourceType: b.resourceType,
        resourceName: b.resourceName,
        patternType: b.patternType,
      });
  }
  return [...out.values()];
}
