// A cluster whose brokers reach each other over a secured inter-broker listener, with the ACL
// authorizer on, three real brokers over a real ZooKeeper:
//   - SASL_SSL with SCRAM-SHA-512: the brokers authenticate as User:broker (made with
//     `milena users --zookeeper` before they start; the only super user), check each other's
//     certificate against the test CA, and replicate: a topic with min.insync.replicas=3 takes
//     acks=all writes (each follower fetched them over SASL_SSL) and every replica ends in the ISR;
//   - SSL with ssl.client.auth=required: the brokers present their certificate and are let in as
//     User:<its subject> (the super user), and replicate the same way;
//   - a broker with a wrong inter-broker password is refused by the others: its fetches fail with
//     a logged authentication error, and the leader drops it from the ISR.
// A PLAINTEXT listener is kept for the test's own probes (ANONYMOUS: no topic is visible to it).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { certificatePrincipal } from "../../src/transport/tls_options.ts";
import { addUser, BrokerProcess } from "../helpers/broker_process.ts";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";

const JAAS = (password: string) =>
  `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="${password}";`;

/** Replicate a topic of RF 3 with min.insync.replicas=3, acks=all, through `kafka`. */
async function replicates(kafka: Kafka, topic: string, brokers: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 2,
          replicationFactor: brokers,
          configEntries: [{ name: "min.insync.replicas", value: String(brokers) }],
        },
      ],
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await eventually(
        async () => {
          await producer.send({
            topic,
            acks: -1,
            messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
          });
          return true;
        },
        30_000,
        `acks=all writes to ${topic} with min.insync.replicas=${brokers}`,
      );
    } finally {
      await producer.disconnect();
    }
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    for (const p of md.topics[0].partitions)
      assert.equal(p.isr.length, brokers, `partition ${p.partitionId} ISR`);
  } finally {
    await admin.disconnect();
  }
}

describe("a cluster over a secured inter-broker listener", () => {
  let certs: TestCerts;
  before(() => {
    certs = makeCerts();
  });
  after(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

  const tls = () => ({
    "ssl.key.location": certs.serverKey,
    "ssl.certificate.location": certs.serverCert,
    "ssl.ca.location": certs.ca,
  });

  describe("SASL_SSL with SCRAM-SHA-512", () => {
    let cluster: TestCluster;

    before(async () => {
      cluster = await TestCluster.start({
        overrides: {
          listeners: "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
          "inter.broker.listener.name": "SASL_SSL",
          "sasl.enabled.mechanisms": "SCRAM-SHA-512",
          "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
          "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": JAAS("broker-secret"),
          "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
          "super.users": "User:broker",
          "offsets.topic.replication.factor": 1,
          ...tls(),
        },
        probeListener: "PLAINTEXT",
        beforeBrokers: (connect) =>
          addUser("broker", "broker-secret", ["--mechanism", "SCRAM-SHA-512", "--zookeeper", connect]),
      });
    });
    after(async () => cluster?.destroy());

    const kafka = () =>
      new Kafka({
        clientId: "inter-broker-sasl",
        brokers: cluster.brokers.map((b) => `127.0.0.1:${b.ports.SASL_SSL}`),
        ssl: { ca: [fs.readFileSync(certs.ca)] },
        sasl: { mechanism: "scram-sha-512", username: "broker", password: "broker-secret" },
        logLevel: logLevel.NOTHING,
      });

    it("replicates: acks=all with min.insync.replicas=3, every replica in the ISR", async () => {
      await replicates(kafka(), "secured-sasl", 3);
    });

    it("a broker with a wrong inter-broker password is refused and leaves the ISR", async () => {
      const dir = fs.mkdtempSync(join(fs.realpathSync("/tmp"), "milena-wrong-"));
      const wrong = await BrokerProcess.start({
        logDir: dir,
        overrides: {
          ...cluster.brokerOverrides(),
          "broker.id": 4,
          "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": JAAS("not-the-secret"),
        },
      });
      try {
        const admin = kafka().admin();
        await admin.connect();
        try {
          // Broker 1 leads, broker 4 follows: its fetches to broker 1 are refused.
          await admin.createTopics({
            topics: [{ topic: "secured-wrong", replicaAssignment: [{ partition: 0, replicas: [1, 4] }] }],
            waitForLeaders: true,
          });
          await eventually(
            () =>
              /authentication failed|SASL_AUTHENTICATION_FAILED|Authentication failed/i.test(wrong.output),
            20_000,
            "broker 4 to log its failed authentication",
          );
          // A new partition starts with every replica in the ISR; broker 4 never fetches, so the
          // leader drops it after replica.lag.time.max.ms (4 s here).
          await eventually(
            async () => {
              const md = await admin.fetchTopicMetadata({ topics: ["secured-wrong"] });
              return md.topics[0].partitions[0].isr.join(",") === "1";
            },
            20_000,
            "broker 4 to leave the ISR",
          );
        } finally {
          await admin.disconnect();
        }
      } finally {
        await wrong.destroy();
      }
    });
  });

  describe("SSL with client certificates (ssl.client.auth=required)", () => {
    let cluster: TestCluster;

    before(async () => {
      cluster = await TestCluster.start({
        overrides: {
          listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
          "inter.broker.listener.name": "SSL",
          "ssl.client.auth": "required",
          "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
          "super.users": certificatePrincipal(fs.readFileSync(certs.serverCert)),
          "offsets.topic.replication.factor": 1,
          ...tls(),
        },
        probeListener: "PLAINTEXT",
      });
    });
    after(async () => cluster?.destroy());

    it("replicates: the brokers are let in by their certificate", async () => {
      const kafka = new Kafka({
        clientId: "inter-broker-ssl",
        brokers: cluster.brokers.map((b) => `127.0.0.1:${b.ports.SSL}`),
        // The brokers' own certificate: the super user.
        ssl: {
          ca: [fs.readFileSync(certs.ca)],
          cert: fs.readFileSync(certs.serverCert),
          key: fs.readFileSync(certs.serverKey),
        },
        logLevel: logLevel.NOTHING,
      });
      await replicates(kafka, "secured-ssl", 3);
    });
  });
});
