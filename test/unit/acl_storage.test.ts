// Where ACLs are kept (src/broker/security/acl_store.ts): Kafka's ZooKeeper layout and JSON, byte
// for byte against what Kafka writes (its ZkData docs, AclEntryTest, LiteralAclStoreTest,
// ExtendedAclStoreTest), and the single broker's acls.json file.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  PatternType,
  ResourceType,
} from "../../src/broker/security/acl.ts";
import {
  ACL_FILE_NAME,
  AclFileError,
  decodeAclFile,
  decodeZkAclChange,
  decodeZkAcls,
  defaultAclFilePath,
  encodeAclFile,
  encodeZkAcls,
  loadAclFile,
  parseZkResourcePath,
  saveAclFile,
  ZK_ACL_PATHS,
  ZK_ACL_ROOTS,
  ZkAclFormatError,
  zkAclBindings,
  zkAclChangeNode,
  zkAclChangeSequence,
  zkResourcePath,
  zkResourceTypePath,
} from "../../src/broker/security/acl_store.ts";
import { Authorizer } from "../../src/broker/security/authorizer.ts";

const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;
const { LITERAL, PREFIXED } = PatternType;
const { READ, WRITE, DESCRIBE_CONFIGS, IDEMPOTENT_WRITE } = AclOperation;
const { ALLOW, DENY } = AclPermissionType;

const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("ZooKeeper paths (LiteralAclStoreTest, ExtendedAclStoreTest)", () => {
  test("ACL znodes", () => {
    assert.deepEqual(ZK_ACL_ROOTS, [
      { patternType: LITERAL, path: "/kafka-acl" },
      { patternType: PREFIXED, path: "/kafka-acl-extended/prefixed" },
    ]);
    assert.equal(zkResourceTypePath(LITERAL, TOPIC), "/kafka-acl/Topic");
    assert.equal(zkResourceTypePath(PREFIXED, TOPIC), "/kafka-acl-extended/prefixed/Topic");
    assert.equal(
      zkResourcePath({ resourceType: TOPIC, resourceName: "topic-1", patternType: LITERAL }),
      "/kafka-acl/Topic/topic-1",
    );
    assert.equal(
      zkResourcePath({ resourceType: CLUSTER, resourceName: CLUSTER_NAME, patternType: LITERAL }),
      "/kafka-acl/Cluster/kafka-cluster",
    );
    assert.equal(
      zkResourcePath({ resourceType: GROUP, resourceName: "group-1", patternType: PREFIXED }),
      "/kafka-acl-extended/prefixed/Group/group-1",
    );
    assert.equal(
      zkResourcePath({ resourceType: TRANSACTIONAL_ID, resourceName: "*", patternType: LITERAL }),
      "/kafka-acl/TransactionalId/*",
    );
    assert.throws(
      () => zkResourcePath({ resourceType: GROUP, resourceName: "a/b", patternType: LITERAL }),
      ZkAclFormatError,
    );
    assert.throws(
      () => zkResourcePath({ resourceType: GROUP, resourceName: "g", patternType: PatternType.MATCH }),
      ZkAclFormatError,
    );
    assert.deepEqual(ZK_ACL_PATHS, [
      "/kafka-acl",
      "/kafka-acl-changes",
      "/kafka-acl-extended/prefixed",
      "/kafka-acl-extended-changes",
    ]);
  });

  test("a znode path back to its pattern", () => {
    assert.deepEqual(parseZkResourcePath("/kafka-acl/Topic/orders"), {
      resourceType: TOPIC,
      resourceName: "orders",
      patternType: LITERAL,
    });
    assert.deepEqual(parseZkResourcePath("/kafka-acl-extended/prefixed/TransactionalId/app-"), {
      resourceType: TRANSACTIONAL_ID,
      resourceName: "app-",
      patternType: PREFIXED,
    });
    assert.equal(parseZkResourcePath("/kafka-acl/Topic"), null);
    assert.equal(parseZkResourcePath("/kafka-acl/Nonsense/x"), null);
    assert.equal(parseZkResourcePath("/brokers/ids/1"), null);
  });
});

describe("ZooKeeper ACL data (AclEntry JSON)", () => {
  const alice = { principal: "User:alice", permissionType: ALLOW, operation: READ, host: "*" };
  const bob = {
    principal: "User:bob",
    permissionType: DENY,
    operation: DESCRIBE_CONFIGS,
    host: "198.51.100.3",
  };

  test("encoded byte for byte as Kafka's AclAuthorizer writes it", () => {
    // Kafka 3.7: Json.encodeAsBytes(AclEntry.toJsonCompatibleMap(acls).asJava), Jackson over Scala
    // maps in insertion order (checked against Jackson 2.17).
    assert.deepEqual(
      encodeZkAcls([alice, bob]),
      utf8(
        '{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},' +
          '{"principal":"User:bob","permissionType":"Deny","operation":"DescribeConfigs","host":"198.51.100.3"}]}',
      ),
    );
    assert.deepEqual(encodeZkAcls([]), utf8('{"version":1,"acls":[]}'));
    assert.deepEqual(
      encodeZkAcls([
        { principal: 'User:"q"\\é', permissionType: ALLOW, operation: IDEMPOTENT_WRITE, host: "*" },
      ]),
      utf8(
        '{"version":1,"acls":[{"principal":"User:\\"q\\"\\\\é","permissionType":"Allow","operation":"IdempotentWrite","host":"*"}]}',
      ),
    );
  });

  test("Kafka's documented examples decode (ZkData.scala, AclEntryTest.AclJson, Kafka 3.8's key order)", () => {
    const zkDataDoc =
      '{"version": 1, "acls": [ { "host":"host1", "permissionType": "Allow","operation": "Read","principal": "User:alice"}]}';
    assert.deepEqual(decodeZkAcls(utf8(zkDataDoc)), [
      { principal: "User:alice", permissionType: ALLOW, host: "host1", operation: READ },
    ]);
    const aclEntryTest = `{"version": 1, "acls": [{"host": "host1","permissionType": "Deny","operation": "READ", "principal": "User:alice"  },
    {  "host":  "*" ,  "permissionType": "Allow",  "operation":  "Read", "principal": "User:bob"  },
    {  "host": "host1",  "permissionType": "Deny",  "operation":   "Read" ,  "principal": "User:bob"}]}`;
    assert.deepEqual(decodeZkAcls(utf8(aclEntryTest)), [
      { principal: "User:alice", permissionType: DENY, host: "host1", operation: READ },
      { principal: "User:bob", permissionType: ALLOW, host: "*", operation: READ },
      { principal: "User:bob", permissionType: DENY, host: "host1", operation: READ },
    ]);
    // Kafka 3.8 builds the same JSON from HashMaps (checked against Jackson): another key order.
    const kafka38 =
      '{"acls":[{"principal":"User:alice","permissionType":"Allow","host":"*","operation":"Read"}],"version":1}';
    assert.deepEqual(decodeZkAcls(utf8(kafka38)), [alice]);
  });

  test("round trip, and what is refused", () => {
    assert.deepEqual(decodeZkAcls(encodeZkAcls([alice, bob])), [alice, bob]);
    assert.deepEqual(decodeZkAcls(null), []);
    assert.deepEqual(decodeZkAcls(utf8("")), []);
    assert.throws(() => decodeZkAcls(utf8('{"version":2,"acls":[]}')), /version 2 is not 1/);
    assert.throws(() => decodeZkAcls(utf8("{not json")), ZkAclFormatError);
    assert.throws(
      () =>
        decodeZkAcls(
          utf8(
            '{"version":1,"acls":[{"principal":"alice","permissionType":"Allow","operation":"Read","host":"*"}]}',
          ),
        ),
      /expected a string in format principalType:principalName but got alice/,
    );
    // An operation Kafka does not know is kept as UNKNOWN (it allows nothing), as AclEntry.fromBytes does.
    const [e] = decodeZkAcls(
      utf8(
        '{"version":1,"acls":[{"principal":"User:x","permissionType":"Allow","operation":"Fly","host":"*"}]}',
      ),
    );
    assert.equal(e.operation, AclOperation.UNKNOWN);
  });

  test("a znode's bindings, loaded into the authorizer", () => {
    const pattern = { resourceType: TOPIC, resourceName: "payments-", patternType: PREFIXED };
    const a = new Authorizer();
    a.addAcls(zkAclBindings(pattern, encodeZkAcls([alice])));
    assert.equal(a.authorize("User:alice", "10.0.0.1", READ, TOPIC, "payments-eu"), true);
    assert.deepEqual(encodeZkAcls(a.aclsOf(pattern)), encodeZkAcls([alice]));
  });
});

describe("ZooKeeper change notifications (ZkAclChangeStore)", () => {
  const literal = { resourceType: TOPIC, resourceName: "some-topic", patternType: LITERAL };
  const prefixed = { resourceType: TOPIC, resourceName: "some-topic", patternType: PREFIXED };

  test("literal: /kafka-acl-changes/acl_changes_ with '<RESOURCE_TYPE>:<name>'", () => {
    const node = zkAclChangeNode(literal);
    assert.equal(node.path, "/kafka-acl-changes/acl_changes_");
    assert.deepEqual(node.data, utf8("TOPIC:some-topic"));
    assert.deepEqual(decodeZkAclChange("/kafka-acl-changes/acl_changes_0000000007", node.data), literal);
    assert.deepEqual(
      zkAclChangeNode({ resourceType: TRANSACTIONAL_ID, resourceName: "t", patternType: LITERAL }).data,
      utf8("TRANSACTIONAL_ID:t"),
    );
    // LiteralAclStoreTest.shouldDecodeResourceUsingTwoPartLogic
    const name = "PREFIXED:this, including the PREFIXED part, is a valid two part group name";
    assert.deepEqual(decodeZkAclChange("/kafka-acl-changes", utf8(`GROUP:${name}`)), {
      resourceType: GROUP,
      resourceName: name,
      patternType: LITERAL,
    });
    assert.throws(() => decodeZkAclChange("/kafka-acl-changes", utf8("no-colon")), ZkAclFormatError);
  });

  test("prefixed: /kafka-acl-extended-changes/acl_changes_ with the JSON event, byte for byte", () => {
    const node = zkAclChangeNode(prefixed);
    assert.equal(node.path, "/kafka-acl-extended-changes/acl_changes_");
    // ExtendedAclChangeEvent through Kafka's Jackson mapper (checked against Jackson 2.17).
    assert.deepEqual(
      node.data,
      utf8('{"version":1,"resourceType":"TOPIC","name":"some-topic","patternType":"PREFIXED"}'),
    );
    assert.deepEqual(
      decodeZkAclChange("/kafka-acl-extended-changes/acl_changes_0000000001", node.data),
      prefixed,
    );
    assert.deepEqual(
      decodeZkAclChange(
        "/kafka-acl-extended-changes",
        utf8('{"version":1,"resourceType":"Topic","name":"x","patternType":"Prefixed"}'),
      ),
      { resourceType: TOPIC, resourceName: "x", patternType: PREFIXED },
      "names in other cases are read too",
    );
    assert.throws(
      () =>
        decodeZkAclChange(
          "/kafka-acl-extended-changes",
          utf8('{"version":2,"resourceType":"TOPIC","name":"x","patternType":"PREFIXED"}'),
        ),
      /unsupported version: 2/,
    );
    assert.throws(() => decodeZkAclChange("/elsewhere", node.data), ZkAclFormatError);
  });

  test("sequence numbers", () => {
    assert.equal(zkAclChangeSequence("acl_changes_0000000042"), 42);
    assert.equal(zkAclChangeSequence("/kafka-acl-changes/acl_changes_0000000003"), 3);
    assert.equal(zkAclChangeSequence("other_0000000003"), null);
  });
});

describe("acls.json", () => {
  const dir = () => fs.mkdtempSync(join(tmpdir(), "milena-acls-"));
  const bindings: AclBinding[] = [
    {
      resourceType: TOPIC,
      resourceName: "orders",
      patternType: LITERAL,
      principal: "User:alice",
      host: "*",
      operation: WRITE,
      permissionType: ALLOW,
    },
    {
      resourceType: GROUP,
      resourceName: "app-",
      patternType: PREFIXED,
      principal: "User:alice",
      host: "10.0.0.1",
      operation: READ,
      permissionType: ALLOW,
    },
    {
      resourceType: CLUSTER,
      resourceName: CLUSTER_NAME,
      patternType: LITERAL,
      principal: "User:*",
      host: "*",
      operation: IDEMPOTENT_WRITE,
      permissionType: DENY,
    },
  ];

  test("in the first log dir", () => {
    assert.equal(defaultAclFilePath(["/data/a", "/data/b"]), join("/data/a", ACL_FILE_NAME));
  });

  test("the file's text: sorted, one ACL per line, Kafka's names", () => {
    assert.equal(
      encodeAclFile(bindings),
      [
        "{",
        '  "version": 1,',
        '  "acls": [',
        '    {"resourceType":"Topic","resourceName":"orders","patternType":"LITERAL","principal":"User:alice","host":"*","operation":"Write","permissionType":"Allow"},',
        '    {"resourceType":"Group","resourceName":"app-","patternType":"PREFIXED","principal":"User:alice","host":"10.0.0.1","operation":"Read","permissionType":"Allow"},',
        '    {"resourceType":"Cluster","resourceName":"kafka-cluster","patternType":"LITERAL","principal":"User:*","host":"*","operation":"IdempotentWrite","permissionType":"Deny"}',
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
    assert.equal(encodeAclFile([]), '{\n  "version": 1,\n  "acls": []\n}\n');
  });

  test("save and load: the same ACLs, nothing left behind, a save replaces the file whole", () => {
    const d = dir();
    const path = join(d, ACL_FILE_NAME);
    assert.deepEqual(loadAclFile(path), [], "no file: no ACLs");
    saveAclFile(path, bindings);
    assert.deepEqual(
      new Set(loadAclFile(path).map((b) => JSON.stringify(b))),
      new Set(bindings.map((b) => JSON.stringify(b))),
    );
    saveAclFile(path, bindings.slice(0, 1));
    assert.deepEqual(loadAclFile(path), bindings.slice(0, 1));
    assert.deepEqual(fs.readdirSync(d), [ACL_FILE_NAME]);
    saveAclFile(join(d, "sub", "dir", ACL_FILE_NAME), bindings);
    assert.equal(loadAclFile(join(d, "sub", "dir", ACL_FILE_NAME)).length, 3, "creates its directory");
  });

  test("an authorizer persisted through onChange decides the same after a restart", () => {
    const path = join(dir(), ACL_FILE_NAME);
    const first = new Authorizer({ onChange: () => saveAclFile(path, first.acls()) });
    first.createAcls(bindings);
    first.removeAcls({ ...bindings[1], resourceName: "app-" });
    const second = new Authorizer();
    second.replaceAll(loadAclFile(path));
    for (const a of [first, second]) {
      assert.equal(a.authorize("User:alice", "10.0.0.9", WRITE, TOPIC, "orders"), true);
      assert.equal(a.authorize("User:alice", "10.0.0.1", READ, GROUP, "app-1"), false);
      assert.equal(a.authorize("User:bob", "10.0.0.1", IDEMPOTENT_WRITE, CLUSTER, CLUSTER_NAME), false);
    }
    assert.equal(second.aclCount, 2);
  });

  test("load errors name the file, the entry and the field", () => {
    const bad = (text: string, pattern: RegExp) =>
      assert.throws(
        () => decodeAclFile(text, "/data/acls.json"),
        (e: unknown) => e instanceof AclFileError && pattern.test(e.message),
      );
    const entry = (fields: Record<string, string>) =>
      JSON.stringify({
        version: 1,
        acls: [
          {
            resourceType: "Topic",
            resourceName: "t",
            patternType: "LITERAL",
            principal: "User:a",
            host: "*",
            operation: "Read",
            permissionType: "Allow",
            ...fields,
          },
        ],
      });
    assert.equal(decodeAclFile(entry({}))[0].operation, READ);
    assert.equal(
      decodeAclFile(entry({ resourceType: "TRANSACTIONAL_ID", operation: "write" }))[0].resourceType,
      TRANSACTIONAL_ID,
    );
    bad("{", /^\/data\/acls\.json: not valid JSON/);
    bad('{"version": 2, "acls": []}', /"version" is 2; this broker reads version 1/);
    bad('{"version": 1}', /"acls" must be an array/);
    bad(entry({ operation: "Reed" }), /acls\[0\]: "operation" "Reed" is not one of All, Read, Write, Create/);
    bad(entry({ operation: "Any" }), /acls\[0\]: "operation" "Any" is not one of/);
    bad(entry({ patternType: "MATCH" }), /"patternType" "MATCH" is not one of LITERAL, PREFIXED/);
    bad(entry({ permissionType: "Maybe" }), /"permissionType" "Maybe" is not one of Allow, Deny/);
    bad(
      entry({ resourceType: "Cluster", resourceName: "c" }),
      /The only valid name for the CLUSTER resource is kafka-cluster/,
    );
    bad(
      entry({ principal: "alice" }),
      /acls\[0\]: expected a string in format principalType:principalName but got alice/,
    );
    bad(
      JSON.stringify({ version: 1, acls: [{ resourceType: "Topic" }] }),
      /acls\[0\]: "resourceName" must be a string/,
    );
    const d = dir();
    fs.writeFileSync(join(d, ACL_FILE_NAME), "[]");
    assert.throws(
      () => loadAclFile(join(d, ACL_FILE_NAME)),
      new RegExp(`${ACL_FILE_NAME}: expected a JSON object`),
    );
  });
});
