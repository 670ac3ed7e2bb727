// The ACL authorizer (src/broker/security/authorizer.ts) and its model (acl.ts): decisions as
// Kafka's StandardAuthorizer makes them (many cases are Kafka's own StandardAuthorizerTest and
// BaseAuthorizerTest), filters as Kafka's AclBindingFilter matches them (ResourcePatternFilterTest,
// AclBindingTest, PatternType's documented MATCH example), CreateAcls/DescribeAcls/DeleteAcls
// answers (acl_apis.ts) and the REQUIRED_ACLS table (required_acls.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { authorizedOperations as legacyAuthorizedOperations } from "../../src/broker/authorized_operations.ts";
import {
  type AclBinding,
  type AclBindingFilter,
  AclErrorCode,
  AclOperation,
  AclPermissionType,
  ANY_ACL_FILTER,
  aclBindingToFilter,
  aclFilterMatches,
  aclFilterMatchesAtMostOne,
  authorizationErrorCode,
  CLUSTER_NAME,
  findIndefiniteField,
  fromBitField,
  operationName,
  PatternType,
  parseOperation,
  parseResourceType,
  patternFilterMatches,
  ResourceType,
  resourceTypeName,
  supportedOperations,
  validateAclBinding,
} from "../../src/broker/security/acl.ts";
import {
  createAclsErrorResponse,
  createAclsFromRequest,
  createAclsRequestError,
  deleteAclsRequestError,
  deleteAclsResponse,
  describeAclsRequestError,
  describeAclsResponse,
} from "../../src/broker/security/acl_apis.ts";
import {
  type AclChange,
  ALLOW_ALL,
  Authorizer,
  AuthorizerConfigError,
  clientHost,
  parseAllowEveryoneIfNoAclFound,
  parseSuperUsers,
  patternsOf,
} from "../../src/broker/security/authorizer.ts";
import { REQUIRED_ACLS, SecurityApiKey } from "../../src/broker/security/required_acls.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import type {
  CreateAclsRequestAclCreation,
  DeleteAclsRequestFilter,
} from "../../src/protocol/generated/types.ts";

const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;
const { LITERAL, PREFIXED, MATCH } = PatternType;
const {
  ALL,
  READ,
  WRITE,
  CREATE,
  DELETE,
  ALTER,
  DESCRIBE,
  DESCRIBE_CONFIGS,
  ALTER_CONFIGS,
  IDEMPOTENT_WRITE,
  CLUSTER_ACTION,
} = AclOperation;
const { ALLOW, DENY } = AclPermissionType;
const HOST = "10.0.0.7";

/** An ACL; Kafka's StandardAcl argument order. */
function acl(
  resourceType: ResourceType,
  resourceName: string,
  patternType: PatternType,
  principal: string,
  host: string,
  operation: AclOperation,
  permissionType: AclPermissionType,
): AclBinding {
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

function authorizerWith(acls: AclBinding[], options: ConstructorParameters<typeof Authorizer>[0] = {}) {
  const a = new Authorizer(options);
  a.addAcls(acls);
  return a;
}

function filter(partial: Partial<AclBindingFilter>): AclBindingFilter {
  return { ...ANY_ACL_FILTER, ...partial };
}

describe("authorize", () => {
  test("a principal allowed to write topic A but not B, to read as group G only", () => {
    const a = authorizerWith([
      acl(TOPIC, "A", LITERAL, "User:alice", "*", WRITE, ALLOW),
      acl(GROUP, "G", LITERAL, "User:alice", "*", READ, ALLOW),
      // Someone else's ACL on B: B has ACLs, none for alice.
      acl(TOPIC, "B", LITERAL, "User:bob", "*", WRITE, ALLOW),
    ]);
    const may = (op: AclOperation, type: ResourceType, name: string) =>
      a.authorize("User:alice", HOST, op, type, name);
    assert.equal(may(WRITE, TOPIC, "A"), true);
    assert.equal(may(WRITE, TOPIC, "B"), false);
    assert.equal(may(WRITE, TOPIC, "C"), false, "no ACL at all, allow.everyone.if.no.acl.found is false");
    assert.equal(may(READ, TOPIC, "A"), false, "WRITE does not imply READ");
    assert.equal(may(DESCRIBE, TOPIC, "A"), true, "WRITE implies DESCRIBE");
    assert.equal(may(READ, GROUP, "G"), true);
    assert.equal(may(DESCRIBE, GROUP, "G"), true);
    assert.equal(may(DELETE, GROUP, "G"), false);
    assert.equal(may(READ, GROUP, "H"), false);
    assert.equal(may(WRITE, TRANSACTIONAL_ID, "A"), false, "a topic ACL is not a transactional id ACL");
    assert.equal(a.authorize("User:bob", HOST, WRITE, TOPIC, "A"), false);
    assert.equal(a.authorize("User:bob", HOST, WRITE, TOPIC, "B"), true);
    assert.equal(a.authorize("Group:alice", HOST, WRITE, TOPIC, "A"), false, "the principal type counts");
  });

  test("DENY wins over ALLOW, whichever pattern each comes from", () => {
    const a = authorizerWith([
      acl(TOPIC, "*", LITERAL, "User:*", "*", ALL, ALLOW),
      acl(TOPIC, "payments", PREFIXED, "User:alice", "*", READ, DENY),
    ]);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "payments.eu"), false);
    assert.equal(a.authorize("User:alice", HOST, WRITE, TOPIC, "payments.eu"), true);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "orders"), true);
    assert.equal(a.authorize("User:bob", HOST, READ, TOPIC, "payments.eu"), true);
  });

  test("Kafka's testDenyPrecedenceWithOperationAll", () => {
    const a = authorizerWith([
      acl(TOPIC, "foo", LITERAL, "User:alice", "*", ALL, DENY),
      acl(TOPIC, "foo", PREFIXED, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "foo", LITERAL, "User:*", "*", ALL, DENY),
      acl(TOPIC, "foo", PREFIXED, "User:*", "*", DESCRIBE, ALLOW),
    ]);
    const alice = (op: AclOperation, name: string) => a.authorize("User:alice", HOST, op, TOPIC, name);
    const bob = (op: AclOperation, name: string) => a.authorize("User:bob", HOST, op, TOPIC, name);
    assert.deepEqual(
      [alice(WRITE, "foo"), alice(READ, "foo"), alice(DESCRIBE, "foo"), alice(READ, "foobar")],
      [false, false, false, true],
    );
    assert.deepEqual(
      [
        bob(DESCRIBE, "foo"),
        bob(READ, "foo"),
        bob(WRITE, "foo"),
        bob(DESCRIBE, "foobaz"),
        bob(READ, "foobaz"),
      ],
      [false, false, false, true, false],
    );
  });

  test("Kafka's testTopicAclWithOperationAll", () => {
    const a = authorizerWith(
      [
        acl(TOPIC, "foo", LITERAL, "User:*", "*", ALL, ALLOW),
        acl(TOPIC, "bar", PREFIXED, "User:alice", "*", ALL, ALLOW),
        acl(TOPIC, "baz", LITERAL, "User:bob", "*", ALL, ALLOW),
      ],
      { superUsers: ["User:superman"] },
    );
    const ask = (who: string, ops: [AclOperation, string][]) =>
      ops.map(([op, name]) => a.authorize(`User:${who}`, HOST, op, TOPIC, name));
    assert.deepEqual(
      ask("alice", [
        [WRITE, "foo"],
        [DESCRIBE_CONFIGS, "bar"],
        [DESCRIBE, "baz"],
      ]),
      [true, true, false],
    );
    assert.deepEqual(
      ask("bob", [
        [WRITE, "foo"],
        [READ, "bar"],
        [DESCRIBE, "baz"],
      ]),
      [true, false, true],
    );
    assert.deepEqual(
      ask("malory", [
        [DESCRIBE, "foo"],
        [WRITE, "bar"],
        [READ, "baz"],
      ]),
      [true, false, false],
    );
  });

  test("implied operations: ALLOW of READ, WRITE, DELETE, ALTER implies DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS (Kafka's testFindResultImplication)", () => {
    const bob = "User:bob";
    const only = (op: AclOperation, perm: AclPermissionType) =>
      authorizerWith([acl(TOPIC, "foo_", PREFIXED, bob, "*", op, perm)]);
    for (const op of [DESCRIBE, READ, WRITE, DELETE, ALTER])
      assert.equal(only(op, ALLOW).authorize(bob, HOST, DESCRIBE, TOPIC, "foo_bar"), true, operationName(op));
    for (const op of [CREATE, DESCRIBE_CONFIGS, ALTER_CONFIGS, CLUSTER_ACTION, IDEMPOTENT_WRITE])
      assert.equal(
        only(op, ALLOW).authorize(bob, HOST, DESCRIBE, TOPIC, "foo_bar"),
        false,
        operationName(op),
      );
    for (const op of [DESCRIBE_CONFIGS, ALTER_CONFIGS])
      assert.equal(only(op, ALLOW).authorize(bob, HOST, DESCRIBE_CONFIGS, TOPIC, "foo_bar"), true);
    assert.equal(
      only(DESCRIBE, ALLOW).authorize(bob, HOST, READ, TOPIC, "foo_bar"),
      false,
      "no reverse implication",
    );
    assert.equal(only(ALTER, ALLOW).authorize(bob, HOST, ALTER_CONFIGS, TOPIC, "foo_bar"), false);
    assert.equal(only(ALTER_CONFIGS, ALLOW).authorize(bob, HOST, DESCRIBE, TOPIC, "foo_bar"), false);
  });

  test("a DENY implies nothing: DENY READ does not deny DESCRIBE, DENY DESCRIBE does not deny READ", () => {
    const bob = "User:bob";
    const a = authorizerWith([
      acl(TOPIC, "t", LITERAL, bob, "*", READ, ALLOW),
      acl(TOPIC, "t", LITERAL, bob, "*", DESCRIBE, DENY),
      acl(TOPIC, "u", LITERAL, bob, "*", DESCRIBE, ALLOW),
      acl(TOPIC, "u", LITERAL, bob, "*", READ, DENY),
      acl(TOPIC, "v", LITERAL, bob, "*", DESCRIBE_CONFIGS, ALLOW),
      acl(TOPIC, "v", LITERAL, bob, "*", ALTER_CONFIGS, DENY),
    ]);
    assert.equal(a.authorize(bob, HOST, READ, TOPIC, "t"), true);
    assert.equal(a.authorize(bob, HOST, DESCRIBE, TOPIC, "t"), false, "the DENY of DESCRIBE itself wins");
    assert.equal(a.authorize(bob, HOST, DESCRIBE, TOPIC, "u"), true);
    assert.equal(a.authorize(bob, HOST, READ, TOPIC, "u"), false);
    assert.equal(a.authorize(bob, HOST, DESCRIBE_CONFIGS, TOPIC, "v"), true);
    // A DENY of ALL does deny everything.
    a.addAcls([acl(TOPIC, "t", LITERAL, bob, "*", ALL, DENY)]);
    assert.equal(a.authorize(bob, HOST, READ, TOPIC, "t"), false);
  });

  test("prefixed patterns (Kafka's testPrefixAcls and testAuthorizationWithManyAcls)", () => {
    const a = authorizerWith(
      [
        acl(TOPIC, "fooa", PREFIXED, "User:alice", "*", ALL, ALLOW),
        acl(TOPIC, "foobar", LITERAL, "User:bob", "*", ALL, ALLOW),
        acl(TOPIC, "f", PREFIXED, "User:bob", "*", ALL, ALLOW),
      ],
      { superUsers: ["User:superman"] },
    );
    const bob = (op: AclOperation, name: string) => a.authorize("User:bob", HOST, op, TOPIC, name);
    const alice = (op: AclOperation, name: string) => a.authorize("User:alice", HOST, op, TOPIC, name);
    assert.deepEqual([bob(WRITE, "foobarr"), bob(READ, "goobar"), bob(READ, "fooa")], [true, false, true]);
    assert.deepEqual(
      [alice(DESCRIBE, "fooa"), alice(WRITE, "bar"), alice(READ, "baz")],
      [true, false, false],
    );

    const many = authorizerWith([
      acl(TOPIC, "green2", LITERAL, "User:*", "*", READ, ALLOW),
      acl(TOPIC, "green", PREFIXED, "User:bob", "*", READ, ALLOW),
      acl(TOPIC, "betamax4", LITERAL, "User:bob", "*", READ, ALLOW),
      acl(TOPIC, "betamax", LITERAL, "User:bob", "*", READ, ALLOW),
      acl(TOPIC, "beta", PREFIXED, "User:*", "*", READ, ALLOW),
      acl(TOPIC, "alpha", PREFIXED, "User:*", "*", READ, ALLOW),
      acl(TOPIC, "alp", PREFIXED, "User:bob", "*", READ, DENY),
      acl(GROUP, "*", LITERAL, "User:bob", "*", WRITE, ALLOW),
      acl(GROUP, "wheel", LITERAL, "User:*", "*", WRITE, DENY),
    ]);
    const b = (op: AclOperation, type: ResourceType, name: string) =>
      many.authorize("User:bob", HOST, op, type, name);
    assert.deepEqual([b(READ, TOPIC, "green1"), b(WRITE, GROUP, "wheel")], [true, false]);
    assert.deepEqual(
      [b(READ, TOPIC, "alpha"), b(WRITE, GROUP, "arbitrary"), b(READ, TOPIC, "ala")],
      [false, true, false],
    );
    // A literal name that is a prefix of the resource's does not apply to it.
    assert.equal(b(READ, TOPIC, "betamax5"), true, "through the prefixed beta");
    assert.equal(many.authorize("User:carol", HOST, READ, TOPIC, "betamax"), true, "prefixed beta, User:*");
    assert.equal(
      many.authorize("User:carol", HOST, READ, TOPIC, "bet"),
      false,
      "beta is not a prefix of bet",
    );
  });

  test("the wildcard is LITERAL '*'; a PREFIXED '*' is only the prefix '*'", () => {
    const a = authorizerWith([
      acl(GROUP, "*", LITERAL, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "*", PREFIXED, "User:alice", "*", READ, ALLOW),
    ]);
    assert.equal(a.authorize("User:alice", HOST, READ, GROUP, "any-group"), true);
    assert.equal(a.authorize("User:alice", HOST, READ, GROUP, "*"), true);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "orders"), false);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "*orders"), true);
  });

  test("the wildcard principal User:* matches every principal, of every type; host * every host", () => {
    const a = authorizerWith([
      acl(GROUP, "bar", LITERAL, "User:*", "*", READ, DENY),
      acl(GROUP, "bar", LITERAL, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "t", LITERAL, "User:*", "*", READ, ALLOW),
    ]);
    assert.equal(
      a.authorize("User:alice", HOST, READ, GROUP, "bar"),
      false,
      "Kafka's testFindResultPrincipalMatching",
    );
    assert.equal(a.authorize("User:anyone", "192.0.2.1", READ, TOPIC, "t"), true);
    assert.equal(a.authorize("ServiceAccount:x", "192.0.2.1", READ, TOPIC, "t"), true);
  });

  test("hosts (Kafka's testHostAddressAclValidation)", () => {
    const local = "127.0.0.1";
    const host1 = "192.168.1.1";
    const host2 = "192.168.1.2";
    const a = authorizerWith([
      acl(TOPIC, "foo", LITERAL, "User:alice", host1, READ, DENY),
      acl(TOPIC, "foo", LITERAL, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "bar", LITERAL, "User:bob", host2, READ, ALLOW),
      acl(TOPIC, "bar", LITERAL, "User:*", local, DESCRIBE, ALLOW),
    ]);
    const ask = (who: string, host: string) => [
      a.authorize(`User:${who}`, host, READ, TOPIC, "foo"),
      a.authorize(`User:${who}`, host, READ, TOPIC, "bar"),
      a.authorize(`User:${who}`, host, DESCRIBE, TOPIC, "bar"),
    ];
    assert.deepEqual(ask("alice", local), [true, false, true]);
    assert.deepEqual(ask("alice", host1), [false, false, false]);
    assert.deepEqual(ask("alice", host2), [true, false, false]);
    assert.deepEqual(ask("bob", local), [false, false, true]);
    assert.deepEqual(ask("bob", host1), [false, false, false]);
    assert.deepEqual(ask("bob", host2), [false, true, true]);
  });

  test("clientHost: Node's remote address as Java's getHostAddress writes it", () => {
    assert.equal(clientHost("10.1.2.3"), "10.1.2.3");
    assert.equal(clientHost("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(clientHost("::1"), "0:0:0:0:0:0:0:1");
    assert.equal(clientHost("2001:DB8::8:800:200C:417A"), "2001:db8:0:0:8:800:200c:417a");
    assert.equal(clientHost("fe80::1%eth0"), "fe80:0:0:0:0:0:0:1%eth0");
    assert.equal(clientHost("2001:db8:0:0:0:0:0:1"), "2001:db8:0:0:0:0:0:1");
    assert.equal(clientHost("not-an-address"), "not-an-address");
    assert.equal(clientHost(undefined), "");
  });

  test("super.users are allowed everything, even against a DENY", () => {
    const a = authorizerWith([acl(TOPIC, "*", LITERAL, "User:*", "*", ALL, DENY)], {
      superUsers: parseSuperUsers("User:admin; User:ops"),
    });
    assert.equal(a.authorize("User:admin", HOST, WRITE, TOPIC, "t"), true);
    assert.equal(a.authorize("User:ops", HOST, CLUSTER_ACTION, CLUSTER, CLUSTER_NAME), true);
    assert.equal(a.authorize("User:admin", HOST, READ, GROUP, "no-acls-here"), true);
    assert.equal(a.authorize("User:alice", HOST, WRITE, TOPIC, "t"), false);
    assert.equal(a.authorizeByResourceType("User:admin", HOST, WRITE, TOPIC), true);
  });

  test("super.users is read as Kafka reads it (testGetConfiguredSuperUsers)", () => {
    assert.deepEqual(parseSuperUsers(undefined), []);
    assert.deepEqual(parseSuperUsers(" "), []);
    assert.deepEqual(parseSuperUsers("User:bob;User:alice "), ["User:bob", "User:alice"]);
    assert.deepEqual(parseSuperUsers(";  User:bob  ;  User:alice "), ["User:bob", "User:alice"]);
    assert.throws(
      () => parseSuperUsers("bob;:alice"),
      (e: unknown) =>
        e instanceof AuthorizerConfigError &&
        e.message === "super.users: expected a string in format principalType:principalName but got bob",
    );
    assert.throws(() => new Authorizer({ superUsers: ["admin"] }), AuthorizerConfigError);
  });

  test("allow.everyone.if.no.acl.found: true allows a resource nobody has ACLs for (Kafka's testAllowEveryoneIfNoAclFoundConfigEnabled)", () => {
    const a = authorizerWith([acl(TOPIC, "topic1", LITERAL, "User:Alice", "*", READ, ALLOW)], {
      superUsers: ["User:alice", "User:chris"],
      allowEveryoneIfNoAclFound: true,
    });
    assert.equal(a.authorize("User:Bob", HOST, READ, TOPIC, "topic1"), false, "topic1 has an ACL (Alice's)");
    assert.equal(a.authorize("User:Bob", HOST, READ, TOPIC, "topic2"), true);
    assert.equal(a.authorize("User:Bob", HOST, READ, GROUP, "g"), true, "no GROUP ACL at all");
    // A prefixed or wildcard ACL is an ACL on the resource too.
    a.addAcls([acl(TOPIC, "top", PREFIXED, "User:Alice", "*", READ, ALLOW)]);
    assert.equal(a.authorize("User:Bob", HOST, READ, TOPIC, "topic2"), false);
    a.addAcls([acl(GROUP, "*", LITERAL, "User:Alice", "*", READ, ALLOW)]);
    assert.equal(a.authorize("User:Bob", HOST, READ, GROUP, "g"), false);
  });

  test("allow.everyone.if.no.acl.found: false (the default) denies it (testAllowEveryoneIfNoAclFoundConfigDisabled)", () => {
    const a = authorizerWith([acl(TOPIC, "topic1", LITERAL, "User:Alice", "*", READ, ALLOW)], {
      superUsers: ["User:alice", "User:chris"],
    });
    assert.equal(a.allowEveryoneIfNoAclFound, false);
    assert.equal(a.authorize("User:Bob", HOST, READ, TOPIC, "topic1"), false);
    assert.equal(a.authorize("User:Bob", HOST, READ, TOPIC, "topic2"), false);
    assert.equal(new Authorizer().authorize("User:Bob", HOST, READ, TOPIC, "t"), false, "no ACLs at all");
    assert.equal(parseAllowEveryoneIfNoAclFound(" TRUE "), true);
    assert.equal(parseAllowEveryoneIfNoAclFound("yes"), false);
    assert.equal(
      Authorizer.fromConfig({ allowEveryoneIfNoAclFound: "true" }).authorize(
        "User:x",
        HOST,
        READ,
        TOPIC,
        "t",
      ),
      true,
    );
  });

  test("CLUSTER_ACTION and IDEMPOTENT_WRITE are checked on the cluster resource kafka-cluster", () => {
    const a = authorizerWith([
      acl(CLUSTER, CLUSTER_NAME, LITERAL, "User:broker", "*", CLUSTER_ACTION, ALLOW),
      acl(CLUSTER, CLUSTER_NAME, LITERAL, "User:producer", "*", IDEMPOTENT_WRITE, ALLOW),
    ]);
    assert.equal(a.authorize("User:broker", HOST, CLUSTER_ACTION, CLUSTER, CLUSTER_NAME), true);
    assert.equal(a.authorize("User:broker", HOST, IDEMPOTENT_WRITE, CLUSTER, CLUSTER_NAME), false);
    assert.equal(a.authorize("User:producer", HOST, IDEMPOTENT_WRITE, CLUSTER, CLUSTER_NAME), true);
    assert.equal(a.authorize("User:producer", HOST, CLUSTER_ACTION, CLUSTER, CLUSTER_NAME), false);
    assert.equal(
      a.authorize("User:producer", HOST, DESCRIBE, CLUSTER, CLUSTER_NAME),
      false,
      "no implication",
    );
  });
});

describe("authorizeByResourceType (InitProducerId's WRITE on any topic)", () => {
  const u1 = "User:user1";
  const h1 = "192.168.1.1";

  test("allowed on one topic; a DENY on the same one takes precedence (testAuthorizeByResourceTypeDenyTakesPrecedence)", () => {
    const a = new Authorizer();
    assert.equal(a.authorizeByResourceType(u1, h1, WRITE, TOPIC), false);
    a.addAcls([acl(TOPIC, "sb1", LITERAL, u1, h1, WRITE, ALLOW)]);
    assert.equal(a.authorizeByResourceType(u1, h1, WRITE, TOPIC), true);
    assert.equal(a.authorizeByResourceType(u1, "192.168.1.2", WRITE, TOPIC), false, "another host");
    assert.equal(a.authorizeByResourceType(u1, h1, READ, TOPIC), false);
    a.addAcls([acl(TOPIC, "sb1", LITERAL, u1, h1, WRITE, DENY)]);
    assert.equal(a.authorizeByResourceType(u1, h1, WRITE, TOPIC), false);
  });

  test("prefixed denies dominate the allows they are prefixes of (testAuthorizeByResourceTypePrefixedResourceDenyDominate)", () => {
    const a = new Authorizer();
    const add = (name: string, perm: AclPermissionType) =>
      a.addAcls([acl(GROUP, name, PREFIXED, u1, h1, READ, perm)]);
    add("abcde", ALLOW);
    assert.equal(a.authorizeByResourceType(u1, h1, READ, GROUP), true);
    add("abcd", DENY);
    assert.equal(a.authorizeByResourceType(u1, h1, READ, GROUP), false);
    add("abc", ALLOW);
    assert.equal(a.authorizeByResourceType(u1, h1, READ, GROUP), true);
    add("a", DENY);
    assert.equal(a.authorizeByResourceType(u1, h1, READ, GROUP), false);
    add("ab", ALLOW);
    assert.equal(a.authorizeByResourceType(u1, h1, READ, GROUP), false);
  });

  test("a wildcard DENY denies all; ALL counts (testAuthorizeByResourceTypeWildcardResourceDenyDominate, WithAllOperationAce)", () => {
    const a = new Authorizer();
    a.addAcls([acl(GROUP, "hello", PREFIXED, u1, h1, WRITE, ALLOW)]);
    assert.equal(a.authorizeByResourceType(u1, h1, WRITE, GROUP), true);
    a.addAcls([acl(GROUP, "*", LITERAL, u1, h1, WRITE, DENY)]);
    assert.equal(a.authorizeByResourceType(u1, h1, WRITE, GROUP), false);
    a.addAcls([
      acl(GROUP, "*", LITERAL, u1, h1, WRITE, ALLOW),
      acl(GROUP, "aloha", LITERAL, u1, h1, WRITE, ALLOW),
    ]);
    assert.equal(a.authorizeByResourceType(u1, h1, WRITE, GROUP), false);

    const b = new Authorizer();
    b.addAcls([
      acl(TOPIC, "sb1", LITERAL, u1, h1, WRITE, DENY),
      acl(TOPIC, "sb1", LITERAL, u1, h1, ALL, ALLOW),
    ]);
    assert.equal(b.authorizeByResourceType(u1, h1, READ, TOPIC), true);
    b.addAcls([acl(TOPIC, "sb1", LITERAL, u1, h1, ALL, DENY)]);
    assert.equal(b.authorizeByResourceType(u1, h1, READ, TOPIC), false);
  });

  test("allow.everyone.if.no.acl.found passes through the 'hardcode' name; ANY is refused", () => {
    assert.equal(
      new Authorizer({ allowEveryoneIfNoAclFound: true }).authorizeByResourceType(u1, h1, WRITE, TOPIC),
      true,
    );
    assert.throws(() => new Authorizer().authorizeByResourceType(u1, h1, WRITE, ResourceType.ANY));
    assert.throws(() => new Authorizer().authorizeByResourceType(u1, h1, AclOperation.ANY, TOPIC));
  });
});

describe("authorizedOperations", () => {
  test("bit i for each supported operation i allowed, implied ones included", () => {
    const a = authorizerWith([
      acl(TOPIC, "t", LITERAL, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "t", LITERAL, "User:alice", "*", ALTER_CONFIGS, ALLOW),
      acl(GROUP, "g", LITERAL, "User:alice", "*", ALL, ALLOW),
    ]);
    const topicOps = a.authorizedOperations("User:alice", HOST, TOPIC, "t");
    assert.deepEqual(fromBitField(topicOps), [READ, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS]);
    assert.equal(topicOps, (1 << 3) | (1 << 8) | (1 << 10) | (1 << 11));
    assert.deepEqual(
      fromBitField(a.authorizedOperations("User:alice", HOST, GROUP, "g")),
      [...supportedOperations(GROUP)].sort((x, y) => x - y),
    );
    assert.equal(a.authorizedOperations("User:bob", HOST, TOPIC, "t"), 0);
    assert.equal(
      new Authorizer({ superUsers: ["User:root"] }).authorizedOperations(
        "User:root",
        HOST,
        CLUSTER,
        CLUSTER_NAME,
      ),
      (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12),
    );
  });

  test("ALLOW_ALL (no authorizer): everything allowed, every supported operation reported", () => {
    assert.equal(ALLOW_ALL.enabled, false);
    assert.equal(ALLOW_ALL.authorize("User:ANONYMOUS", HOST, ALTER, CLUSTER, CLUSTER_NAME), true);
    assert.deepEqual(
      ALLOW_ALL.authorizedNames("User:x", HOST, READ, TOPIC, ["a", "b", "a"]),
      new Set(["a", "b"]),
    );
    // What src/broker/authorized_operations.ts answers today without an authorizer.
    assert.equal(ALLOW_ALL.authorizedOperations("User:x", HOST, TOPIC, "t"), 0b110111111000);
    assert.equal(
      ALLOW_ALL.authorizedOperations("User:x", HOST, TOPIC, "t"),
      legacyAuthorizedOperations("topic", true),
    );
    assert.equal(
      ALLOW_ALL.authorizedOperations("User:x", HOST, GROUP, "g"),
      legacyAuthorizedOperations("group", true),
    );
    assert.equal(
      ALLOW_ALL.authorizedOperations("User:x", HOST, CLUSTER, CLUSTER_NAME),
      legacyAuthorizedOperations("cluster", true),
    );
  });

  test("authorizedNames: AuthHelper.filterByAuthorized", () => {
    const a = authorizerWith([acl(TOPIC, "ok", PREFIXED, "User:alice", "*", WRITE, ALLOW)]);
    assert.deepEqual(
      a.authorizedNames("User:alice", HOST, WRITE, TOPIC, ["ok1", "no", "ok2", "ok1"]),
      new Set(["ok1", "ok2"]),
    );
  });
});

describe("filters: Kafka's AclBindingFilter.matches", () => {
  const pat = (resourceType: ResourceType, resourceName: string, patternType: PatternType) => ({
    resourceType,
    resourceName,
    patternType,
  });
  const pf = (resourceType: ResourceType, resourceName: string | null, patternType: PatternType) => ({
    resourceType,
    resourceName,
    patternType,
  });
  const ANYP = PatternType.ANY;

  test("ResourcePatternFilterTest, case by case", () => {
    const cases: [ReturnType<typeof pf>, ReturnType<typeof pat>, boolean, string][] = [
      [pf(TOPIC, "Name", LITERAL), pat(GROUP, "Name", LITERAL), false, "different resource type"],
      [pf(TOPIC, "Different", PREFIXED), pat(TOPIC, "Name", PREFIXED), false, "different name"],
      [pf(TOPIC, "NAME", LITERAL), pat(TOPIC, "Name", LITERAL), false, "different name case"],
      [pf(TOPIC, "Name", LITERAL), pat(TOPIC, "Name", PREFIXED), false, "different pattern type"],
      [pf(ResourceType.ANY, "Name", PREFIXED), pat(TOPIC, "Name", PREFIXED), true, "resource type ANY"],
      [pf(TOPIC, null, PREFIXED), pat(TOPIC, "Name", PREFIXED), true, "name null"],
      [pf(TOPIC, null, ANYP), pat(TOPIC, "Name", PREFIXED), true, "pattern type ANY"],
      [pf(TOPIC, null, MATCH), pat(TOPIC, "Name", PREFIXED), true, "pattern type MATCH"],
      [pf(TOPIC, "Name", LITERAL), pat(TOPIC, "Name", LITERAL), true, "literal exact"],
      [pf(TOPIC, "Name", ANYP), pat(TOPIC, "Name", LITERAL), true, "literal, filter ANY"],
      [pf(TOPIC, "Name", MATCH), pat(TOPIC, "Name", LITERAL), true, "literal, filter MATCH"],
      [pf(TOPIC, "Name-something", MATCH), pat(TOPIC, "Name", LITERAL), false, "literal is not a prefix"],
      [pf(TOPIC, "*", LITERAL), pat(TOPIC, "*", LITERAL), true, "wildcard exact"],
      [pf(TOPIC, "Name", LITERAL), pat(TOPIC, "*", LITERAL), false, "wildcard vs other name"],
      [pf(TOPIC, "*", LITERAL), pat(TOPIC, "Name", LITERAL), false, "wildcard the way around"],
      [pf(TOPIC, "Name", ANYP), pat(TOPIC, "*", LITERAL), false, "wildcard, filter ANY"],
      [pf(TOPIC, "Name", MATCH), pat(TOPIC, "*", LITERAL), true, "wildcard, filter MATCH"],
      [pf(TOPIC, "Name", PREFIXED), pat(TOPIC, "Name", PREFIXED), true, "prefixed exact"],
      [
        pf(TOPIC, "Name", PREFIXED),
        pat(TOPIC, "Name-something", PREFIXED),
        false,
        "both prefixed, filter shorter",
      ],
      [
        pf(TOPIC, "Name-something", PREFIXED),
        pat(TOPIC, "Name", PREFIXED),
        false,
        "both prefixed, pattern shorter",
      ],
      [pf(TOPIC, "Name-something", ANYP), pat(TOPIC, "Name", PREFIXED), false, "prefixed, filter ANY"],
      [pf(TOPIC, "Name-something", MATCH), pat(TOPIC, "Name", PREFIXED), true, "prefixed, filter MATCH"],
    ];
    for (const [f, p, expected, what] of cases) assert.equal(patternFilterMatches(f, p), expected, what);
  });

  test("PatternType.MATCH's documented example: ResourcePatternFilter(TOPIC, 'payments.received', MATCH)", () => {
    const a = authorizerWith([
      acl(TOPIC, "payments.received", LITERAL, "User:a", "*", READ, ALLOW),
      acl(TOPIC, "*", LITERAL, "User:b", "*", READ, ALLOW),
      acl(TOPIC, "payments.", PREFIXED, "User:c", "*", READ, ALLOW),
      acl(TOPIC, "payments.sent", LITERAL, "User:d", "*", READ, ALLOW),
      acl(TOPIC, "payments.received", PREFIXED, "User:e", "*", READ, ALLOW),
      acl(GROUP, "payments.received", LITERAL, "User:f", "*", READ, ALLOW),
      acl(TOPIC, "payments.received.eu", PREFIXED, "User:g", "*", READ, ALLOW),
    ]);
    const principals = (f: AclBindingFilter) => a.acls(f).map((b) => b.principal);
    assert.deepEqual(
      principals(filter({ resourceType: TOPIC, resourceName: "payments.received", patternType: MATCH })),
      ["User:a", "User:b", "User:c", "User:e"],
    );
    assert.deepEqual(
      principals(
        filter({ resourceType: TOPIC, resourceName: "payments.received", patternType: PatternType.ANY }),
      ),
      ["User:a", "User:e"],
      "ANY: any pattern type, exact name",
    );
    assert.deepEqual(
      principals(filter({ resourceType: ResourceType.ANY, resourceName: "payments.received" })),
      ["User:a", "User:e", "User:f"],
    );
    assert.deepEqual(principals(filter({ resourceType: TOPIC, resourceName: null, patternType: PREFIXED })), [
      "User:c",
      "User:e",
      "User:g",
    ]);
  });

  test("AclBindingTest.testMatching and testMatchesAtMostOne", () => {
    const ACL1 = acl(TOPIC, "mytopic", LITERAL, "User:ANONYMOUS", "", ALL, ALLOW);
    const ACL2 = acl(TOPIC, "mytopic", LITERAL, "User:*", "", READ, ALLOW);
    const ACL3 = acl(TOPIC, "mytopic2", LITERAL, "User:ANONYMOUS", "127.0.0.1", READ, DENY);
    const UNKNOWN_ACL = acl(
      TOPIC,
      "mytopic2",
      LITERAL,
      "User:ANONYMOUS",
      "127.0.0.1",
      AclOperation.UNKNOWN,
      DENY,
    );
    const ANY_ANONYMOUS = filter({ principal: "User:ANONYMOUS" });
    const ANY_DENY = filter({ permissionType: DENY });
    const ANY_MYTOPIC = filter({ resourceType: TOPIC, resourceName: "mytopic", patternType: LITERAL });
    const m = aclFilterMatches;
    assert.deepEqual(
      [ACL1, ACL2, ACL3].map((b) => m(ANY_ACL_FILTER, b)),
      [true, true, true],
    );
    assert.deepEqual(
      [ACL1, ACL2, ACL3, UNKNOWN_ACL].map((b) => m(ANY_ANONYMOUS, b)),
      [true, false, true, true],
    );
    assert.deepEqual(
      [ACL1, ACL2, ACL3, UNKNOWN_ACL].map((b) => m(ANY_DENY, b)),
      [false, false, true, true],
    );
    assert.deepEqual(
      [ACL1, ACL2, ACL3, UNKNOWN_ACL].map((b) => m(ANY_MYTOPIC, b)),
      [true, true, false, false],
    );
    for (const b of [ACL1, ACL2, ACL3]) assert.equal(findIndefiniteField(aclBindingToFilter(b)), null);
    for (const f of [ANY_ANONYMOUS, ANY_DENY, ANY_MYTOPIC]) assert.equal(aclFilterMatchesAtMostOne(f), false);
    assert.equal(findIndefiniteField(ANY_MYTOPIC), "Principal is NULL");
  });
});

describe("the ACLs: add, list, delete", () => {
  test("adding twice keeps one; deleteAcls answers what each filter deleted, all at once", () => {
    const changes: AclChange[] = [];
    const a = new Authorizer({ onChange: (c) => changes.push(c) });
    const read = acl(TOPIC, "t", LITERAL, "User:alice", "*", READ, ALLOW);
    const write = acl(TOPIC, "t", LITERAL, "User:alice", "*", WRITE, ALLOW);
    const group = acl(GROUP, "g", PREFIXED, "User:bob", "*", READ, ALLOW);
    assert.deepEqual(a.addAcls([read, write, group, read]), [read, write, group]);
    assert.equal(a.aclCount, 3);
    assert.deepEqual(a.addAcls([read]), []);
    assert.equal(changes.length, 1, "no change, no onChange");

    const results = a.deleteAcls([
      filter({ resourceType: TOPIC, resourceName: "t", patternType: LITERAL }),
      filter({ operation: READ }),
      filter({ resourceType: ResourceType.UNKNOWN }),
    ]);
    assert.deepEqual(results[0], { errorCode: 0, errorMessage: null, deleted: [read, write] });
    assert.deepEqual(
      results[1],
      { errorCode: 0, errorMessage: null, deleted: [read, group] },
      "matched before deletion",
    );
    assert.deepEqual(results[2], {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: "Unknown patternFilter.",
      deleted: [],
    });
    assert.equal(a.aclCount, 0);
    assert.deepEqual(changes[1].removed, [read, write, group]);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "t"), false, "the index forgot them too");
    assert.deepEqual(patternsOf([read, write, group]), [
      { resourceType: TOPIC, resourceName: "t", patternType: LITERAL },
      { resourceType: GROUP, resourceName: "g", patternType: PREFIXED },
    ]);
  });

  test("setAclsOf replaces one pattern's entries (a ZooKeeper change notification)", () => {
    const a = authorizerWith([
      acl(TOPIC, "p-", PREFIXED, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "p-", LITERAL, "User:alice", "*", READ, ALLOW),
    ]);
    const pattern = { resourceType: TOPIC, resourceName: "p-", patternType: PREFIXED } as const;
    a.setAclsOf(pattern, [{ principal: "User:bob", host: "*", operation: WRITE, permissionType: ALLOW }]);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "p-1"), false);
    assert.equal(a.authorize("User:bob", HOST, WRITE, TOPIC, "p-1"), true);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "p-"), true, "the LITERAL p- is untouched");
    assert.equal(a.aclsOf(pattern).length, 1);
    a.setAclsOf(pattern, []);
    assert.equal(a.authorize("User:bob", HOST, WRITE, TOPIC, "p-1"), false);
  });
});

describe("CreateAcls validation (Kafka's errors)", () => {
  const good = acl(TOPIC, "t", LITERAL, "User:alice", "*", READ, ALLOW);
  const error = (b: Partial<AclBinding>, zooKeeper = false) =>
    validateAclBinding({ ...good, ...b }, { zooKeeper });
  const invalid = (errorMessage: string) => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage });

  test("each invalid element answers INVALID_REQUEST with Kafka's message", () => {
    assert.equal(error({}), null);
    assert.equal(error({ patternType: PREFIXED }), null);
    assert.equal(error({ resourceName: "*" }), null, "the wildcard");
    assert.equal(error({ resourceName: "*", patternType: PREFIXED }), null, "Kafka accepts a prefixed '*'");
    assert.deepEqual(error({ resourceType: ResourceType.ANY }), invalid("Invalid resourceType ANY"));
    assert.deepEqual(error({ resourceType: ResourceType.UNKNOWN }), invalid("Invalid resourceType UNKNOWN"));
    assert.deepEqual(error({ patternType: MATCH }), invalid("Invalid patternType MATCH"));
    assert.deepEqual(error({ patternType: PatternType.ANY }), invalid("Invalid patternType ANY"));
    assert.deepEqual(error({ patternType: PatternType.UNKNOWN }), invalid("Invalid patternType UNKNOWN"));
    assert.deepEqual(error({ operation: AclOperation.ANY }), invalid("Invalid operation ANY"));
    assert.deepEqual(error({ operation: AclOperation.UNKNOWN }), invalid("Invalid operation UNKNOWN"));
    assert.deepEqual(error({ permissionType: AclPermissionType.ANY }), invalid("Invalid permissionType ANY"));
    assert.deepEqual(
      error({ permissionType: AclPermissionType.UNKNOWN }),
      invalid("Invalid permissionType UNKNOWN"),
    );
    assert.deepEqual(error({ resourceName: "" }), invalid("Invalid empty resource name"));
    assert.deepEqual(
      error({ resourceType: CLUSTER, resourceName: "my-cluster" }),
      invalid("The only valid name for the CLUSTER resource is kafka-cluster"),
    );
    assert.equal(error({ resourceType: CLUSTER, resourceName: CLUSTER_NAME }), null);
    assert.deepEqual(
      error({ principal: "alice" }),
      invalid("expected a string in format principalType:principalName but got alice"),
    );
    assert.equal(error({ resourceType: GROUP, resourceName: "a/b" }), null);
    assert.deepEqual(
      error({ resourceType: GROUP, resourceName: "a/b" }, true),
      invalid("ACL binding contains invalid resource name: a/b"),
    );
  });

  test("createAclsFromRequest: one result per creation; valid ones added; SECURITY_DISABLED without an authorizer", () => {
    const creation = (c: Partial<CreateAclsRequestAclCreation>): CreateAclsRequestAclCreation => ({
      resourceType: TOPIC,
      resourceName: "t",
      resourcePatternType: LITERAL,
      principal: "User:alice",
      host: "*",
      operation: READ,
      permissionType: ALLOW,
      ...c,
    });
    const req = {
      creations: [
        creation({}),
        creation({ resourceType: ResourceType.ANY }),
        creation({ operation: 99 }),
        creation({ resourcePatternType: PREFIXED, resourceName: "t-" }),
      ],
    };
    const a = new Authorizer();
    assert.deepEqual(createAclsFromRequest(a, req), {
      throttleTimeMs: 0,
      results: [
        { errorCode: 0, errorMessage: null },
        { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Invalid resourceType ANY" },
        { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Invalid operation UNKNOWN" },
        { errorCode: 0, errorMessage: null },
      ],
    });
    assert.equal(a.aclCount, 2);
    assert.equal(a.authorize("User:alice", HOST, READ, TOPIC, "t-1"), true);
    assert.deepEqual(createAclsFromRequest(null, req).results, [
      ...req.creations.map(() => ({
        errorCode: AclErrorCode.SECURITY_DISABLED,
        errorMessage: "No Authorizer is configured.",
      })),
    ]);
    assert.deepEqual(createAclsErrorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null).results[3], {
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: null,
    });
    assert.equal(createAclsRequestError(req), null, "99 is not 0");
    assert.equal(
      createAclsRequestError({ creations: [creation({ permissionType: 0 })] }),
      "CreatableAcls contain unknown elements",
    );
  });

  test("describeAclsResponse groups by resource pattern; SECURITY_DISABLED without an authorizer", () => {
    const a = authorizerWith([
      acl(TOPIC, "t", LITERAL, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "t", PREFIXED, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "t", LITERAL, "User:bob", "10.0.0.1", WRITE, DENY),
      acl(GROUP, "g", LITERAL, "User:bob", "*", READ, ALLOW),
    ]);
    const req = {
      resourceTypeFilter: TOPIC,
      resourceNameFilter: "t",
      patternTypeFilter: MATCH,
      principalFilter: null,
      hostFilter: null,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
    };
    assert.deepEqual(describeAclsResponse(a, req), {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      resources: [
        {
          resourceType: TOPIC,
          resourceName: "t",
          patternType: LITERAL,
          acls: [
            { principal: "User:alice", host: "*", operation: READ, permissionType: ALLOW },
            { principal: "User:bob", host: "10.0.0.1", operation: WRITE, permissionType: DENY },
          ],
        },
        {
          resourceType: TOPIC,
          resourceName: "t",
          patternType: PREFIXED,
          acls: [{ principal: "User:alice", host: "*", operation: READ, permissionType: ALLOW }],
        },
      ],
    });
    assert.deepEqual(describeAclsResponse(null, req), {
      throttleTimeMs: 0,
      errorCode: 54,
      errorMessage: "No Authorizer is configured on the broker",
      resources: [],
    });
    assert.equal(describeAclsRequestError(req), null);
    assert.equal(
      describeAclsRequestError({ ...req, operation: 0 }),
      "DescribeAclsRequest contains UNKNOWN elements",
    );
  });

  test("deleteAclsResponse: per filter, the deleted ACLs with error 0", () => {
    const a = authorizerWith([
      acl(TOPIC, "t", LITERAL, "User:alice", "*", READ, ALLOW),
      acl(TOPIC, "u", LITERAL, "User:alice", "*", READ, ALLOW),
    ]);
    const f = (x: Partial<DeleteAclsRequestFilter>): DeleteAclsRequestFilter => ({
      resourceTypeFilter: TOPIC,
      resourceNameFilter: null,
      patternTypeFilter: LITERAL,
      principalFilter: null,
      hostFilter: null,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
      ...x,
    });
    const req = {
      filters: [f({ resourceNameFilter: "t" }), f({ resourceNameFilter: "nothing" }), f({ operation: 99 })],
    };
    const res = deleteAclsResponse(a, req);
    assert.deepEqual(res.filterResults[0], {
      errorCode: 0,
      errorMessage: null,
      matchingAcls: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: TOPIC,
          resourceName: "t",
          patternType: LITERAL,
          principal: "User:alice",
          host: "*",
          operation: READ,
          permissionType: ALLOW,
        },
      ],
    });
    assert.deepEqual(res.filterResults[1], { errorCode: 0, errorMessage: null, matchingAcls: [] });
    assert.deepEqual(res.filterResults[2], {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: "Unknown entryFilter.",
      matchingAcls: [],
    });
    assert.equal(a.aclCount, 1);
    assert.equal(deleteAclsResponse(null, req).filterResults[2].errorCode, AclErrorCode.SECURITY_DISABLED);
    assert.equal(
      deleteAclsRequestError({ filters: [f({ patternTypeFilter: 0 })] }),
      "Filters contain UNKNOWN elements",
    );
  });
});

describe("names and codes", () => {
  test("Kafka's codes, enum names and PascalCase names", () => {
    assert.equal(resourceTypeName(TRANSACTIONAL_ID), "TransactionalId");
    assert.equal(resourceTypeName(ResourceType.DELEGATION_TOKEN), "DelegationToken");
    assert.equal(operationName(DESCRIBE_CONFIGS), "DescribeConfigs");
    assert.equal(operationName(AclOperation.CREATE_TOKENS), "CreateTokens");
    assert.equal(parseResourceType("TransactionalId"), TRANSACTIONAL_ID);
    assert.equal(parseResourceType("TRANSACTIONAL_ID"), TRANSACTIONAL_ID);
    assert.equal(parseResourceType("topic"), TOPIC);
    assert.equal(parseResourceType("Topics"), ResourceType.UNKNOWN);
    assert.equal(parseOperation("IdempotentWrite"), IDEMPOTENT_WRITE);
    assert.equal(parseOperation("READ"), READ);
    assert.equal(AclOperation.DESCRIBE_TOKENS, 14);
    assert.equal(authorizationErrorCode(TOPIC), 29);
    assert.equal(authorizationErrorCode(GROUP), 30);
    assert.equal(authorizationErrorCode(CLUSTER), 31);
    assert.equal(authorizationErrorCode(TRANSACTIONAL_ID), 53);
  });
});

describe("REQUIRED_ACLS", () => {
  test("covers every API the broker serves and the security APIs", () => {
    for (const [name, key] of Object.entries({ ...ApiKey, ...SecurityApiKey }))
      assert.ok(REQUIRED_ACLS.has(key), `${name} (${key}) has no entry`);
    for (const [key, entry] of REQUIRED_ACLS) {
      assert.equal(entry.apiKey, key);
      assert.ok(entry.kafka.length > 0, `${entry.api} cites Kafka`);
      for (const c of entry.checks) {
        assert.ok(c.anyOf.length > 0 && c.failure.length > 0, entry.api);
        if (c.errorCode === null) continue;
        // The error names the resource type of the (last) action, Kafka's AclEntry.authorizationError,
        // with two documented exceptions.
        const expected = authorizationErrorCode(c.anyOf[c.anyOf.length - 1].resourceType);
        if (entry.api === "Fetch" || entry.api === "InitProducerId") continue;
        assert.equal(c.errorCode, expected, `${entry.api}: ${JSON.stringify(c.anyOf)}`);
      }
    }
  });

  test("the checks Kafka's KafkaApis makes, as the wiring needs them", () => {
    const ops = (key: number) =>
      REQUIRED_ACLS.get(key)!.checks.map((c) =>
        c.anyOf.map((a) => `${operationName(a.operation)}:${resourceTypeName(a.resourceType)}`).join("|"),
      );
    assert.deepEqual(ops(ApiKey.Produce), ["Write:TransactionalId", "Write:Topic"]);
    assert.deepEqual(ops(ApiKey.Fetch), ["ClusterAction:Cluster", "Read:Topic"]);
    assert.equal(REQUIRED_ACLS.get(ApiKey.Fetch)!.checks[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.deepEqual(ops(ApiKey.Metadata), [
      "Describe:Topic",
      "Create:Cluster|Create:Topic",
      "Describe:Cluster",
    ]);
    assert.deepEqual(ops(ApiKey.OffsetFetch), ["Describe:Group", "Describe:Topic"]);
    assert.deepEqual(ops(ApiKey.OffsetCommit), ["Read:Group", "Read:Topic"]);
    assert.deepEqual(ops(ApiKey.InitProducerId), [
      "Write:TransactionalId",
      "IdempotentWrite:Cluster|Write:Topic",
    ]);
    assert.equal(REQUIRED_ACLS.get(ApiKey.InitProducerId)!.checks[1].anyOf[1].name, "any");
    assert.equal(
      REQUIRED_ACLS.get(ApiKey.InitProducerId)!.checks[1].errorCode,
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    );
    assert.deepEqual(ops(ApiKey.WriteTxnMarkers), ["Alter:Cluster|ClusterAction:Cluster"]);
    assert.deepEqual(ops(SecurityApiKey.CreateAcls), ["Alter:Cluster"]);
    assert.deepEqual(ops(SecurityApiKey.DescribeAcls), ["Describe:Cluster"]);
    assert.deepEqual(ops(ApiKey.ApiVersions), []);
    for (const key of [
      ApiKey.LeaderAndIsr,
      ApiKey.UpdateMetadata,
      ApiKey.StopReplica,
      ApiKey.ControlledShutdown,
    ])
      assert.deepEqual(ops(key), ["ClusterAction:Cluster"]);
  });
});
