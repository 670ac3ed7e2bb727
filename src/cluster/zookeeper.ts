// A ZooKeeper session as promises, over node-zookeeper-client: connect (the chroot of
// zookeeper.connect created first, as Kafka does), reads with one-shot watches, conditional
// writes (znode versions), multi-op transactions, and the session's life: `expired` fires once
// when ZooKeeper ended the session (its ephemeral znodes are gone; the owner must build a new
// session and register again), `disconnected`/`connected` while the client reconnects within
// the session timeout.

import zookeeper from "node-zookeeper-client";

export const ZK_NO_NODE = -101;
export const ZK_BAD_VERSION = -103;
export const ZK_NODE_EXISTS = -110;
export const ZK_NOT_EMPTY = -111;

export class ZkError extends Error {
  override name = "ZkError";
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface ZkStat {
  version: number;
  /** The creating transaction's id (Kafka's broker epoch is its registration's czxid). */
  czxid: bigint;
  /** Session that owns an ephemeral znode, 0 for a persistent one. */
  ephemeralOwner: bigint;
  /** When the znode was created (ms since the epoch, the ZooKeeper server's clock). */
  ctime: number;
}

export interface ZkOptions {
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
}

export type ZkOp =
  | { op: "create"; path: string; data: Buffer; ephemeral?: boolean }
  | { op: "set"; path: string; data: Buffer; version: number }
  | { op: "check"; path: string; version: number }
  | { op: "delete"; path: string; version?: number };

function toError(e: unknown, what: string): Error {
  if (e instanceof zookeeper.Exception) return new ZkError(`${what}: ${e.getName()}`, e.getCode());
  return e instanceof Error ? e : new Error(String(e));
}

function stat(s: zookeeper.Stat): ZkStat {
  return {
    version: s.version,
    czxid: s.czxid.readBigInt64BE(0),
    ephemeralOwner: s.ephemeralOwner.readBigInt64BE(0),
    ctime: Number(s.ctime.readBigInt64BE(0)),
  };
}

/** Split "h1:p1,h2:p2/chroot" into the hosts and the chroot ("" for none). */
export function parseConnect(connect: string): { hosts: string; chroot: string } {
  const slash = connect.indexOf("/");
  if (slash < 0) return { hosts: connect, chroot: "" };
  const chroot = connect.slice(slash).replace(/\/+$/, "");
  return { hosts: connect.slice(0, slash), chroot };
}

export class ZkSession {
  private expiredListeners: (() => void)[] = [];
  private stateListeners: ((connected: boolean) => void)[] = [];
  private closed = false;
  /** Whether the client is connected to a server now (false while it reconnects). */
  connected = false;

  private constructor(private readonly client: zookeeper.Client) {}

  /** Connect within connectionTimeoutMs (rejects otherwise), creating the chroot when missing. */
  static async connect(connect: string, opts: ZkOptions): Promise<ZkSession> {
    const { hosts, chroot } = parseConnect(connect);
    if (chroot !== "") {
      const root = await ZkSession.open(hosts, opts);
      try {
        await root.mkdirp(chroot);
      } finally {
        root.close();
      }
    }
    return ZkSession.open(hosts + chroot, opts);
  }

  private static open(connect: string, opts: ZkOptions): Promise<ZkSession> {
    const client = zookeeper.createClient(connect, {
      sessionTimeout: opts.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
    });
    const s = new ZkSession(client);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(
          new Error(
            `could not connect to ZooKeeper at ${connect} within zookeeper.connection.timeout.ms (${opts.connectionTimeoutMs} ms)`,
          ),
        );
      }, opts.connectionTimeoutMs);
      client.once("connected", () => {
        clearTimeout(timer);
        s.connected = true;
        resolve(s);
      });
      client.on("state", (state: zookeeper.State) => {
        if (s.closed) return;
        if (state === zookeeper.State.SYNC_CONNECTED) {
          s.connected = true;
          for (const l of s.stateListeners) l(true);
        } else if (state === zookeeper.State.DISCONNECTED) {
          s.connected = false;
          for (const l of s.stateListeners) l(false);
        } else if (state === zookeeper.State.EXPIRED) {
          s.connected = false;
          s.closed = true;
          client.close();
          for (const l of s.expiredListeners) l();
        }
      });
      client.connect();
    });
  }

  /** The session id, as ZooKeeper's tools print it. */
  get sessionId(): string {
    return this.client.getSessionId().toString("hex");
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onExpired(l: () => void): void {
    this.expiredListeners.push(l);
  }

  onConnection(l: (connected: boolean) => void): void {
    this.stateListeners.push(l);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.client.close();
  }

  private call<T>(what: string, f: (cb: (e: unknown, v?: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new ZkError(`${what}: session closed`, -112));
    return new Promise((resolve, reject) =>
      f((e, v) => {
        if (e) reject(toError(e, what));
        else resolve(v as T);
      }),
    );
  }

  async create(path: string, data: Buffer, ephemeral = false): Promise<void> {
    const mode = ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT;
    await this.call<string>(`create ${path}`, (cb) => this.client.create(path, data, mode, cb));
  }

  /** Create a sequential znode under `prefix`; resolves to its full path. */
  createSequential(prefix: string, data: Buffer): Promise<string> {
    return this.call<string>(`create ${prefix}`, (cb) =>
      this.client.create(prefix, data, zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb),
    );
  }

  /** Create `path` and its missing parents; an existing znode is fine. */
  async mkdirp(path: string): Promise<void> {
    await this.call<string>(`mkdirp ${path}`, (cb) => this.client.mkdirp(path, cb));
  }

  /** The znode's data and stat, or null when it does not exist; `watch` fires once on a change. */
  get(path: string, watch?: () => void): Promise<{ data: Buffer; stat: ZkStat } | null> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ZkError(`get ${path}: session closed`, -112));
      const cb = (e: unknown, data: Buffer, s: zookeeper.Stat) => {
        if (e instanceof zookeeper.Exception && e.getCode() === ZK_NO_NODE) {
          // Watch for its creation instead.
          if (watch)
            this.client.exists(
              path,
              () => watch(),
              () => {},
            );
          resolve(null);
        } else if (e) reject(toError(e, `get ${path}`));
        else resolve({ data: data ?? Buffer.alloc(0), stat: stat(s) });
      };
      if (watch) this.client.getData(path, () => watch(), cb);
      else this.client.getData(path, cb);
    });
  }

  /** The znode's children (unsorted), [] when it does not exist; `watch` fires once on a change. */
  children(path: string, watch?: () => void): Promise<string[]> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ZkError(`children ${path}: session closed`, -112));
      const cb = (e: unknown, children: string[]) => {
        if (e instanceof zookeeper.Exception && e.getCode() === ZK_NO_NODE) {
          if (watch)
            this.client.exists(
              path,
              () => watch(),
              () => {},
            );
          resolve([]);
        } else if (e) reject(toError(e, `children ${path}`));
        else resolve(children);
      };
      if (watch) this.client.getChildren(path, () => watch(), cb);
      else this.client.getChildren(path, cb);
    });
  }

  /** Set data if the znode is at `version` (-1: any); resolves to the new version. */
  async set(path: string, data: Buffer, version: number): Promise<number> {
    const s = await this.call<zookeeper.Stat>(`set ${path}`, (cb) =>
      this.client.setData(path, data, version, cb),
    );
    return s.version;
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.call<void>(`delete ${path}`, (cb) => this.client.remove(path, version, cb));
  }

  /** Delete a znode and everything under it (missing: fine). */
  async deleteRecursive(path: string): Promise<void> {
    for (const c of await this.children(path)) await this.deleteRecursive(`${path}/${c}`);
    try {
      await this.delete(path);
    } catch (e) {
      if (!(e instanceof ZkError && e.code === ZK_NO_NODE)) throw e;
    }
  }

  /** All or nothing (ZooKeeper's multi): a failed check or version fails every op. */
  async multi(ops: readonly ZkOp[]): Promise<void> {
    const t = this.client.transaction();
    // node-zookeeper-client's transaction turns version 0 into -1 ("any version": `version ||
    // -1`), which would make the first fenced write of every znode unconditional: each op's
    // version is set again after it is added.
    const added = (t as unknown as { ops: { version?: number }[] }).ops;
    const exact = (version: number) => {
      const op = added[added.length - 1];
      if (op !== undefined) op.version = version;
    };
    for (const o of ops) {
      if (o.op === "create")
        t.create(
          o.path,
          o.data,
          o.ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT,
        );
      else if (o.op === "set") {
        t.setData(o.path, o.data, o.version);
        exact(o.version);
      } else if (o.op === "check") {
        t.check(o.path, o.version);
        exact(o.version);
      } else {
        t.remove(o.path, o.version ?? -1);
        exact(o.version ?? -1);
      }
    }
    await this.call<unknown>("multi", (cb) => t.commit(cb));
  }
}
