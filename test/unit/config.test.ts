// Broker configuration (src/broker/config.ts): server.properties parsing, every key's default,
// Kafka's precedence rules, and clear errors that name the key.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  ConfigError,
  KEYS,
  loadConfigFile,
  parseOverrides,
  parseProperties,
  type RawConfig,
  resolveConfig,
} from "../../src/broker/config.ts";

function props(text: string): RawConfig {
  return parseProperties(text, "server.properties");
}

function resolve(entries: Record<string, string>, overrides: Record<string, string> = {}) {
  return resolveConfig(new Map(Object.entries(entries)), new Map(Object.entries(overrides)));
}

/** assert.throws for a ConfigError whose message matches every pattern. */
function rejects(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `ConfigError expected, got ${e}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe("parseProperties", () => {
  test("key=value, key: value, key = value; comments and blank lines skipped", () => {
    const m = props(
      [
        "# a comment",
        "! also a comment",
        "",
        "   ",
        "broker.id=1",
        "log.dirs: /a,/b",
        "  num.partitions   =   3  ",
        "zookeeper.connect=host:2181/chroot",
        "listeners = PLAINTEXT://:9092",
        "  # indented comment",
      ].join("\n"),
    );
    assert.deepEqual(Object.fromEntries(m), {
      "broker.id": "1",
      "log.dirs": "/a,/b",
      "num.partitions": "3",
      "zookeeper.connect": "host:2181/chroot",
      listeners: "PLAINTEXT://:9092",
    });
  });

  test("the first = or : separates; the value keeps the rest", () => {
    const m = props("advertised.listeners=PLAINTEXT://h:1,WEBSOCKET://h:2\nhost.name: a=b:c");
    assert.equal(m.get("advertised.listeners"), "PLAINTEXT://h:1,WEBSOCKET://h:2");
    assert.equal(m.get("host.name"), "a=b:c");
  });

  test("an empty value is kept as empty", () => {
    assert.equal(props("zookeeper.connect=").get("zookeeper.connect"), "");
  });

  test("backslash continues a line (leading spaces of the next line dropped)", () => {
    const m = props("log.dirs=/a,\\\n    /b,\\\n    /c\nbroker.id=2");
    assert.equal(m.get("log.dirs"), "/a,/b,/c");
    assert.equal(m.get("broker.id"), "2");
  });

  test("CRLF line ends", () => {
    assert.deepEqual(Object.fromEntries(props("broker.id=1\r\nnum.partitions=2\r\n")), {
      "broker.id": "1",
      "num.partitions": "2",
    });
  });

  test("the last of a repeated key wins", () => {
    assert.equal(props("broker.id=1\nbroker.id=2").get("broker.id"), "2");
  });

  test("a line that is not key=value is an error naming file and line", () => {
    rejects(() => props("broker.id=1\n\njust words"), /server\.properties:3/, /just words/);
    rejects(() => props("=value"), /server\.properties:1/);
  });

  // Java's Properties: "a comment line cannot be extended" by a trailing backslash, so the
  // next line is a setting of its own.
  test("a comment ending in a backslash does not swallow the next line", {}, () => {
    const m = props("# see C:\\\nbroker.id=7");
    assert.equal(m.get("broker.id"), "7");
  });

  test("loadConfigFile reads a file; a missing one is a ConfigError naming it", () => {
    const dir = fs.mkdtempSync(join(tmpdir(), "milena-config-"));
    try {
      const path = join(dir, "server.properties");
      fs.writeFileSync(path, "broker.id=4\nlog.dirs=/x\n");
      assert.equal(loadConfigFile(path).get("broker.id"), "4");
      rejects(() => loadConfigFile(join(dir, "missing.properties")), /missing\.properties/);
      fs.writeFileSync(path, "nonsense\n");
      rejects(() => loadConfigFile(path), new RegExp(`${path.replace(/[.\\/]/g, "\\$&")}:1`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("defaults", () => {
  test("an empty config resolves to Kafka's defaults", () => {
    const c = resolve({});
    assert.equal(c.brokerId, 0);
    assert.deepEqual(c.listeners, [
      { name: "PLAINTEXT", host: "127.0.0.1", port: 9092 },
      { name: "WEBSOCKET", host: "127.0.0.1", port: 9094 },
    ]);
    assert.deepEqual(c.advertised, c.listeners);
    assert.deepEqual(c.logDirs, ["/tmp/kafka-logs"]);
    assert.equal(c.recoveryThreadsPerDataDir, 1);
    assert.ok(c.partitionWriters >= 1);
    assert.equal(c.autoCreateTopics, true);
    assert.equal(c.numPartitions, 1);
    assert.equal(c.deleteTopicEnable, true);
    assert.equal(c.retentionMs, 168 * 3_600_000);
    assert.equal(c.retentionBytes, -1);
    assert.equal(c.retentionCheckIntervalMs, 300_000);
    assert.equal(c.segmentBytes, 1073741824);
    assert.equal(c.segmentMs, 168 * 3_600_000);
    assert.equal(c.indexIntervalBytes, 4096);
    assert.equal(c.flushMessages, 0, "Long.MAX_VALUE: never by count");
    assert.equal(c.flushMs, 0);
    assert.equal(c.messageMaxBytes, 1_000_000);
    assert.equal(c.replicaFetchMaxBytes, 1_048_576);
    assert.equal(c.socketRequestMaxBytes, 104_857_600);
    assert.equal(c.zookeeperConnect, null);
    assert.deepEqual(c.warnings, []);
    for (const [key, def] of Object.entries(KEYS)) {
      assert.deepEqual(c.effective.get(key), { value: def.default, source: "default" }, key);
    }
  });

  test("every key accepts its own default written out, and it means the same", () => {
    const base = resolve({});
    for (const [key, def] of Object.entries(KEYS)) {
      if (def.default === null) continue;
      const c = resolve({ [key]: def.default });
      assert.equal(c.effective.get(key)?.source, "static", key);
      const { effective: _a, warnings: _w, ...got } = c;
      const { effective: _b, warnings: _x, ...want } = base;
      assert.deepEqual(got, want, `${key}=${def.default}`);
    }
  });

  test("every key without a default accepts a sensible value", () => {
    const samples: Record<string, string> = {
      port: "9093",
      "host.name": "localhost",
      "advertised.listeners": "PLAINTEXT://broker1:9092",
      "zookeeper.connect": "localhost:2181/milena",
      "log.dirs": "/d1,/d2",
      "num.partition.writers": "3",
      "log.retention.ms": "1000",
      "log.retention.minutes": "5",
      "log.roll.ms": "60000",
      "log.segment.ms": "60000",
      "log.flush.interval.ms": "10",
      "zookeeper.connection.timeout.ms": "5000",
      "broker.rack": "r1",
      "inter.broker.listener.name": "PLAINTEXT",
      "ssl.key.location": "/etc/milena/key.pem",
      "ssl.certificate.location": "/etc/milena/cert.pem",
      "ssl.ca.location": "/etc/milena/ca.pem",
      "ssl.key.password": "secret",
      "sasl.jaas.config":
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b";',
      "sasl.credentials.file": "/etc/milena/sasl-credentials.json",
      "sasl.oauthbearer.jwks.endpoint.url": "https://idp.example/.well-known/jwks.json",
      "sasl.oauthbearer.expected.issuer": "https://idp.example",
      "schema.registry.authentication.method": "BASIC",
    };
    // Java keystores are refused with advice (ssl.*.location PEM files instead).
    for (const jks of ["ssl.keystore.location", "ssl.truststore.location"])
      rejects(() => resolve({ [jks]: "/etc/kafka/x.jks" }), new RegExp(jks.replaceAll(".", "\\.")), /PEM/);
    for (const [key, def] of Object.entries(KEYS)) {
      if (def.default !== null || key === "ssl.keystore.location" || key === "ssl.truststore.location")
        continue;
      assert.ok(key in samples, `a sample value for ${key}`);
      resolve({ [key]: samples[key] });
    }
  });

  test("cluster keys: zookeeper.connect with hosts and chroot, timeouts, replication", () => {
    const c = resolve({ "zookeeper.connect": "zk1:2181,zk2:2181/x/y", "replica.fetch.max.bytes": "2000000" });
    assert.equal(c.zookeeperConnect, "zk1:2181,zk2:2181/x/y");
    assert.equal(c.warnings.length, 0);
    assert.equal(c.zookeeperSessionTimeoutMs, 18000);
    assert.equal(c.zookeeperConnectionTimeoutMs, 18000);
    assert.equal(resolve({ "zookeeper.session.timeout.ms": "6000" }).zookeeperConnectionTimeoutMs, 6000);
    assert.equal(c.minInsyncReplicas, 1);
    assert.equal(c.uncleanLeaderElectionEnable, false);
    assert.throws(() => resolve({ "zookeeper.connect": "zk1" }), /zookeeper.connect/);
    assert.throws(() => resolve({ "zookeeper.connect": "zk1:2181/a b" }), /zookeeper.connect/);
    assert.throws(() => resolve({ "default.replication.factor": "3" }), /default.replication.factor/);
    assert.equal(
      resolve({ "zookeeper.connect": "zk:1", "default.replication.factor": "3" }).defaultReplicationFactor,
      3,
    );
  });
});

describe("values", () => {
  test("retention: ms over minutes over hours; any -1 means forever", () => {
    assert.equal(resolve({ "log.retention.hours": "2" }).retentionMs, 7_200_000);
    assert.equal(resolve({ "log.retention.hours": "2", "log.retention.minutes": "3" }).retentionMs, 180_000);
    assert.equal(
      resolve({ "log.retention.hours": "2", "log.retention.minutes": "3", "log.retention.ms": "1234" })
        .retentionMs,
      1234,
    );
    assert.equal(resolve({ "log.retention.minutes": "3", "log.retention.ms": "1234" }).retentionMs, 1234);
    assert.equal(resolve({ "log.retention.ms": "-1", "log.retention.hours": "5" }).retentionMs, -1);
    assert.equal(resolve({ "log.retention.minutes": "-1" }).retentionMs, -1);
    assert.equal(resolve({ "log.retention.hours": "-1" }).retentionMs, -1);
    assert.equal(resolve({ "log.retention.ms": "0" }).retentionMs, 0);
    rejects(() => resolve({ "log.retention.ms": "-2" }), /log\.retention\.ms/, /minimum/);
  });

  test("roll: log.roll.ms and its alias log.segment.ms over log.roll.hours", () => {
    assert.equal(resolve({ "log.roll.hours": "2" }).segmentMs, 7_200_000);
    assert.equal(resolve({ "log.roll.ms": "5000", "log.roll.hours": "2" }).segmentMs, 5000);
    assert.equal(resolve({ "log.segment.ms": "6000", "log.roll.hours": "2" }).segmentMs, 6000);
    assert.equal(resolve({ "log.segment.ms": "6000", "log.roll.ms": "6000" }).segmentMs, 6000);
    rejects(
      () => resolve({ "log.segment.ms": "6000", "log.roll.ms": "7000" }),
      /log\.segment\.ms/,
      /log\.roll\.ms/,
    );
    rejects(() => resolve({ "log.roll.ms": "0" }), /log\.roll\.ms/);
  });

  test("flush settings", () => {
    const c = resolve({ "log.flush.interval.messages": "1", "log.flush.interval.ms": "250" });
    assert.equal(c.flushMessages, 1);
    assert.equal(c.flushMs, 250);
    assert.equal(resolve({ "log.flush.interval.messages": "9223372036854775807" }).flushMessages, 0);
  });

  test("booleans are true or false", () => {
    assert.equal(resolve({ "auto.create.topics.enable": "false" }).autoCreateTopics, false);
    rejects(() => resolve({ "delete.topic.enable": "yes" }), /delete\.topic\.enable/, /"yes"/);
  });

  test("log.dirs over log.dir; lists are trimmed; empty or repeated dirs refused", () => {
    assert.deepEqual(resolve({ "log.dir": "/one" }).logDirs, ["/one"]);
    assert.deepEqual(resolve({ "log.dir": "/one", "log.dirs": " /a , /b ," }).logDirs, ["/a", "/b"]);
    rejects(() => resolve({ "log.dirs": " , " }), /log\.dirs/);
    rejects(() => resolve({ "log.dirs": "/a,/a" }), /log\.dirs/, /twice/);
  });

  // Kafka refuses it ("At least one log directory must be defined"); here it becomes [""].
  test("an empty log.dir is refused", {}, () => {
    rejects(() => resolve({ "log.dir": "" }), /log\.dir/);
  });

  test("message.max.bytes must fit a segment", () => {
    rejects(
      () => resolve({ "message.max.bytes": "2000", "log.segment.bytes": "1000" }),
      /message\.max\.bytes/,
      /log\.segment\.bytes/,
    );
  });

  test("replica.fetch.max.bytes below message.max.bytes is refused", () => {
    rejects(
      () => resolve({ "replica.fetch.max.bytes": "1000", "message.max.bytes": "2000" }),
      /replica\.fetch\.max\.bytes/,
      /message\.max\.bytes/,
    );
    rejects(() => resolve({ "replica.fetch.max.bytes": "999999" }), /replica\.fetch\.max\.bytes \(999999\)/);
    assert.equal(resolve({ "replica.fetch.max.bytes": "1000000" }).replicaFetchMaxBytes, 1_000_000);
  });
});

describe("errors name the key", () => {
  test("unknown key", () => {
    rejects(() => resolve({ "log.retention.days": "7" }), /unknown/, /"log\.retention\.days"/);
    rejects(() => resolve({}, { brokerid: "1" }), /"brokerid"/);
  });

  test("malformed integers", () => {
    for (const bad of ["abc", "1.5", "", " ", "0x10", "1e3", "--1", "+-1", "12 34"]) {
      rejects(() => resolve({ "num.partitions": bad }), /num\.partitions/, /not an integer/);
    }
    rejects(() => resolve({ "log.segment.bytes": "2147483648" }), /log\.segment\.bytes/, /int range/);
    rejects(() => resolve({ "broker.id": "-1" }), /broker\.id/, /minimum 0/);
    rejects(() => resolve({ "num.partitions": "0" }), /num\.partitions/, /minimum 1/);
    rejects(() => resolve({ "log.retention.bytes": "lots" }), /log\.retention\.bytes/);
  });

  test("longs beyond Long.MAX_VALUE are out of range", {}, () => {
    rejects(() => resolve({ "log.retention.ms": "99999999999999999999" }), /log\.retention\.ms/);
  });
});

describe("listeners", () => {
  test("PLAINTEXT and WEBSOCKET, any case, IPv6 in brackets, empty host = all interfaces", () => {
    const c = resolve({ listeners: "plaintext://[::1]:19092, WEBSOCKET://:19094" });
    assert.deepEqual(c.listeners, [
      { name: "PLAINTEXT", host: "::1", port: 19092 },
      { name: "WEBSOCKET", host: "0.0.0.0", port: 19094 },
    ]);
    assert.deepEqual(c.advertised, c.listeners);
    assert.deepEqual(resolve({ listeners: "PLAINTEXT://0.0.0.0:0" }).listeners, [
      { name: "PLAINTEXT", host: "0.0.0.0", port: 0 },
    ]);
  });

  test("advertised.listeners are parsed the same way", () => {
    const c = resolve({ "advertised.listeners": "PLAINTEXT://public.example:9092" });
    assert.deepEqual(c.advertised, [{ name: "PLAINTEXT", host: "public.example", port: 9092 }]);
    rejects(
      () => resolve({ "advertised.listeners": "SSL://h:1" }),
      /advertised\.listeners/,
      /SSL/,
      /not one of the listeners/,
    );
  });

  test("bad listeners are errors", () => {
    rejects(() => resolve({ listeners: "SSL://:9093" }), /ssl\.key\.location is required/);
    rejects(
      () => resolve({ listeners: "INTERNAL://:9093,PLAINTEXT://:9092" }),
      /INTERNAL/,
      /listener\.security\.protocol\.map/,
    );
    rejects(
      () => resolve({ listeners: "PLAINTEXT://:9092", "listener.security.protocol.map": "PLAINTEXT:TLS" }),
      /listener\.security\.protocol\.map/,
    );
    rejects(
      () => resolve({ listeners: "PLAINTEXT://:9092", "inter.broker.listener.name": "OTHER" }),
      /inter\.broker\.listener\.name/,
    );
    rejects(() => resolve({ listeners: "PLAINTEXT://host" }), /listeners/, /NAME:\/\/host:port/);
    rejects(() => resolve({ listeners: "localhost:9092" }), /listeners/);
    rejects(() => resolve({ listeners: "PLAINTEXT://h:port" }), /listeners/);
    rejects(() => resolve({ listeners: "PLAINTEXT://h:70000" }), /listeners/, /70000/);
    rejects(() => resolve({ listeners: "WEBSOCKET://:9094" }), /over TCP .* is required/);
    rejects(() => resolve({ listeners: "PLAINTEXT://:1,PLAINTEXT://:2" }), /once/);
    rejects(() => resolve({ listeners: "" }), /is required/);
  });

  test("classic port / host.name when listeners is not set", () => {
    assert.deepEqual(resolve({ port: "9999" }).listeners, [
      { name: "PLAINTEXT", host: "0.0.0.0", port: 9999 },
    ]);
    assert.deepEqual(resolve({ "host.name": "10.0.0.5" }).listeners, [
      { name: "PLAINTEXT", host: "10.0.0.5", port: 9092 },
    ]);
    assert.deepEqual(resolve({ port: "1234", "host.name": "h" }).listeners, [
      { name: "PLAINTEXT", host: "h", port: 1234 },
    ]);
    // listeners wins over the classic pair
    assert.deepEqual(resolve({ port: "1234", listeners: "PLAINTEXT://:5555" }).listeners, [
      { name: "PLAINTEXT", host: "0.0.0.0", port: 5555 },
    ]);
    rejects(() => resolve({ port: "http" }), /port/, /not an integer/);
  });

  test("classic port out of range is refused", {}, () => {
    rejects(() => resolve({ port: "70000" }), /port/, /70000/);
  });
});

describe("SASL OAUTHBEARER keys", () => {
  test("OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url; Kafka's defaults for the rest", () => {
    const sasl = { listeners: "SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms": "OAUTHBEARER" };
    rejects(() => resolve(sasl), /sasl\.oauthbearer\.jwks\.endpoint\.url is required/, /OAUTHBEARER/);
    rejects(
      () => resolve({ ...sasl, "sasl.oauthbearer.jwks.endpoint.url": "ftp://idp/jwks" }),
      /sasl\.oauthbearer\.jwks\.endpoint\.url: ftp: is not file:, http: or https:/,
    );
    rejects(
      () => resolve({ ...sasl, "sasl.oauthbearer.jwks.endpoint.url": "file:///nonexistent/jwks.json" }),
      /sasl\.oauthbearer\.jwks\.endpoint\.url: file:\/\/\/nonexistent\/jwks\.json does not exist/,
    );
    rejects(() => resolve({ ...sasl, "sasl.oauthbearer.jwks.endpoint.url": "jwks.json" }), /is not a URL/);
    const c = resolve({ ...sasl, "sasl.oauthbearer.jwks.endpoint.url": "https://idp.example/jwks" });
    assert.deepEqual(c.oauthbearer, {
      jwksEndpointUrl: "https://idp.example/jwks",
      jwksEndpointRefreshMs: 3_600_000,
      expectedAudience: [],
      expectedIssuer: null,
      subClaimName: "sub",
      scopeClaimName: "scope",
      clockSkewSeconds: 30,
    });
    const d = resolve({
      ...sasl,
      "sasl.oauthbearer.jwks.endpoint.url": "https://idp.example/jwks",
      "sasl.oauthbearer.expected.audience": "milena,kafka",
      "sasl.oauthbearer.sub.claim.name": "uid",
      "sasl.oauthbearer.clock.skew.seconds": "5",
    });
    assert.deepEqual(d.oauthbearer?.expectedAudience, ["milena", "kafka"]);
    assert.equal(d.oauthbearer?.subClaimName, "uid");
    assert.equal(d.oauthbearer?.clockSkewSeconds, 5);
    rejects(
      () =>
        resolve({
          ...sasl,
          "sasl.oauthbearer.jwks.endpoint.url": "https://x/j",
          "sasl.oauthbearer.sub.claim.name": " ",
        }),
      /sasl\.oauthbearer\.sub\.claim\.name must not be empty/,
    );
    // Without OAUTHBEARER the keys are accepted and unused.
    assert.equal(resolve({ "sasl.oauthbearer.jwks.endpoint.url": "https://x/j" }).oauthbearer, null);
    rejects(() => resolve({ "sasl.enabled.mechanisms": "GSSAPI" }), /GSSAPI is not served/);
  });
});

describe("parseOverrides", () => {
  test("key=value pairs, trimmed; the value may hold '='", () => {
    assert.deepEqual(
      Object.fromEntries(
        parseOverrides(["broker.id=3", " num.partitions = 4 ", "zookeeper.connect=a:1/x=y"]),
      ),
      { "broker.id": "3", "num.partitions": "4", "zookeeper.connect": "a:1/x=y" },
    );
    assert.deepEqual(Object.fromEntries(parseOverrides(["log.dirs="])), { "log.dirs": "" });
  });

  test("a pair without a key is an error quoting it", () => {
    rejects(() => parseOverrides(["broker.id"]), /"broker\.id"/);
    rejects(() => parseOverrides(["=5"]), /"=5"/);
  });

  test("overrides win over the file and show as set", () => {
    const c = resolveConfig(props("broker.id=1\nnum.partitions=2"), parseOverrides(["broker.id=9"]));
    assert.equal(c.brokerId, 9);
    assert.equal(c.numPartitions, 2);
    assert.deepEqual(c.effective.get("broker.id"), { value: "9", source: "static" });
    rejects(() => resolveConfig(new Map(), parseOverrides(["nope=1"])), /"nope"/);
    rejects(() => resolveConfig(new Map(), parseOverrides(["num.partitions=x"])), /num\.partitions/);
  });
});

describe("inter-broker security", () => {
  const SASL = {
    listeners: "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093",
    "inter.broker.listener.name": "SASL_PLAINTEXT",
    "zookeeper.connect": "127.0.0.1:2181",
  };
  const JAAS =
    'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="p\\"w";';

  test("a SASL inter-broker listener takes the mechanism and the JAAS credentials", () => {
    const c = resolve({
      ...SASL,
      "sasl.mechanism.inter.broker.protocol": "scram-sha-512",
      "sasl.jaas.config": JAAS,
    });
    assert.equal(c.interBrokerProtocol, "SASL_PLAINTEXT");
    assert.deepEqual(c.interBrokerSasl, { mechanism: "SCRAM-SHA-512", username: "broker", password: 'p"w' });
    assert.equal(resolve({}).interBrokerSasl, null);
    // A single broker does not connect to itself: no credentials needed.
    assert.equal(resolve({ listeners: "SASL_PLAINTEXT://127.0.0.1:9093" }).interBrokerSasl, null);
  });

  test("listener.name.<listener>.<mechanism>.sasl.jaas.config wins over sasl.jaas.config", () => {
    const c = resolve({
      ...SASL,
      "sasl.mechanism.inter.broker.protocol": "PLAIN",
      "sasl.jaas.config": JAAS,
      "listener.name.sasl_plaintext.plain.sasl.jaas.config":
        'org.apache.kafka.common.security.plain.PlainLoginModule required username=admin password="s3cret";',
    });
    assert.deepEqual(c.interBrokerSasl, { mechanism: "PLAIN", username: "admin", password: "s3cret" });
  });

  test("Kafka's default GSSAPI, a missing or malformed JAAS line: errors naming the key", () => {
    rejects(
      () => resolve({ ...SASL, "sasl.jaas.config": JAAS }),
      /sasl\.mechanism\.inter\.broker\.protocol: GSSAPI/,
    );
    rejects(
      () => resolve({ ...SASL, "sasl.mechanism.inter.broker.protocol": "PLAIN" }),
      /listener\.name\.sasl_plaintext\.plain\.sasl\.jaas\.config \(or sasl\.jaas\.config\) is required/,
    );
    rejects(
      () =>
        resolve({
          ...SASL,
          "sasl.mechanism.inter.broker.protocol": "PLAIN",
          "sasl.jaas.config": "username=a",
        }),
      /sasl\.jaas\.config: not a JAAS line/,
    );
    rejects(
      () =>
        resolve({
          ...SASL,
          "sasl.mechanism.inter.broker.protocol": "PLAIN",
          "sasl.jaas.config": 'x.PlainLoginModule required username="a";',
        }),
      /sasl\.jaas\.config: needs username/,
    );
  });

  test("secrets are marked sensitive", () => {
    assert.equal(KEYS["sasl.jaas.config"].sensitive, true);
    assert.equal(KEYS["ssl.key.password"].sensitive, true);
  });
});

describe("schema.registry.*", () => {
  test("listeners: default 127.0.0.1:8081, empty turns the registry off, malformed ones stop startup", () => {
    assert.deepEqual(resolve({}).schemaRegistry?.listeners, [{ tls: false, host: "127.0.0.1", port: 8081 }]);
    assert.equal(resolve({ "schema.registry.listeners": "" }).schemaRegistry, null);
    assert.deepEqual(resolve({ "schema.registry.listeners": "http://:0" }).schemaRegistry?.listeners, [
      { tls: false, host: "0.0.0.0", port: 0 },
    ]);
    rejects(
      () => resolve({ "schema.registry.listeners": "PLAINTEXT://127.0.0.1:8081" }),
      /schema\.registry\.listeners/,
    );
    rejects(() => resolve({ "schema.registry.listeners": "http://127.0.0.1:99999" }), /out of range/);
    rejects(() => resolve({ "schema.registry.listeners": "https://127.0.0.1:8081" }), /ssl\.key\.location/);
  });

  test("authentication: BASIC when a listener uses SASL, else NONE; other values stop startup", () => {
    assert.equal(resolve({}).schemaRegistry?.authentication, "NONE");
    assert.equal(
      resolve({ listeners: "SASL_PLAINTEXT://127.0.0.1:9092" }).schemaRegistry?.authentication,
      "BASIC",
    );
    assert.equal(
      resolve({
        listeners: "SASL_PLAINTEXT://127.0.0.1:9092",
        "schema.registry.authentication.method": "none",
      }).schemaRegistry?.authentication,
      "NONE",
    );
    rejects(() => resolve({ "schema.registry.authentication.method": "KERBEROS" }), /NONE or BASIC/);
  });
});

describe("metrics.listener", () => {
  test("default 127.0.0.1:9644; host:port and [v6]:port; empty or off disables", () => {
    assert.deepEqual(resolve({}).metricsListener, { host: "127.0.0.1", port: 9644 });
    assert.deepEqual(resolve({ "metrics.listener": "0.0.0.0:0" }).metricsListener, {
      host: "0.0.0.0",
      port: 0,
    });
    assert.deepEqual(resolve({ "metrics.listener": "[::1]:9000" }).metricsListener, {
      host: "::1",
      port: 9000,
    });
    assert.equal(resolve({ "metrics.listener": "" }).metricsListener, null);
    assert.equal(resolve({ "metrics.listener": "off" }).metricsListener, null);
    assert.equal(resolve({ "metrics.listener": "OFF" }).metricsListener, null);
  });

  test("a malformed value names the key", () => {
    for (const bad of ["9644", "localhost", "host:port", "host:70000", "http://h:1", "h:1:2"])
      rejects(() => resolve({ "metrics.listener": bad }), /metrics\.listener/);
  });
});
