// The ZooKeeper session wrapper (src/cluster/zookeeper.ts) against a real ZooKeeper: the chroot
// is created, conditional writes are conditional, and a multi at version 0 is fenced too
// (node-zookeeper-client's transactions turned version 0 into "any version": the first
// controller's epoch check and every partition's first state write passed unconditionally).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ZK_BAD_VERSION, ZkError, ZkSession } from "../../src/cluster/zookeeper.ts";
import { ZooKeeperServer } from "../helpers/zookeeper.ts";

describe("ZkSession", () => {
  let server: ZooKeeperServer;
  let zk: ZkSession;

  before(async () => {
    server = await ZooKeeperServer.start();
    zk = await ZkSession.connect(server.connect("/a/b"), {
      sessionTimeoutMs: 6000,
      connectionTimeoutMs: 10_000,
    });
  });

  after(async () => {
    zk?.close();
    await server?.destroy();
  });

  it("creates the chroot and works inside it", async () => {
    await zk.create("/x", Buffer.from("1"));
    const root = await ZkSession.connect(server.connect(), {
      sessionTimeoutMs: 6000,
      connectionTimeoutMs: 10_000,
    });
    try {
      assert.equal((await root.get("/a/b/x"))?.data.toString(), "1");
    } finally {
      root.close();
    }
  });

  it("fences a multi at version 0", async () => {
    await zk.create("/epoch", Buffer.from("1"));
    await zk.create("/state", Buffer.from("created"));
    await zk.set("/epoch", Buffer.from("2"), 0);
    await zk.set("/state", Buffer.from("moved on"), 0);
    await assert.rejects(
      zk.multi([
        { op: "check", path: "/epoch", version: 0 },
        { op: "set", path: "/state", data: Buffer.from("stale"), version: 0 },
      ]),
      (e: unknown) => e instanceof ZkError && e.code === ZK_BAD_VERSION,
    );
    assert.equal((await zk.get("/state"))?.data.toString(), "moved on");
    await zk.multi([
      { op: "check", path: "/epoch", version: 1 },
      { op: "set", path: "/state", data: Buffer.from("current"), version: 1 },
    ]);
    assert.equal((await zk.get("/state"))?.data.toString(), "current");
  });
});
