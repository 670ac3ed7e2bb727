// A network for partition tests: a Linux bridge on the host (10.213.X.1) and one network
// namespace per broker, each joined to the bridge by a veth pair (10.213.X.1N for broker N).
// cut(N) takes broker N's link down: it can reach nothing and nothing reaches it (ZooKeeper,
// the other brokers, clients), until heal(N). Needs root (ip netns, ip link); CI runs as root.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function netnsAvailable(): boolean {
  const probe = `mlnprobe${randomBytes(2).toString("hex")}`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return true;
  } catch {
    return false;
  }
}

export class TestNetwork {
  private constructor(
    private readonly tag: string,
    readonly subnet: number,
    readonly members: number,
  ) {}

  /** A bridge and `members` namespaces (1..members). */
  static create(members: number): TestNetwork {
    const tag = randomBytes(2).toString("hex");
    const subnet = 100 + Math.floor(Math.random() * 150);
    const n = new TestNetwork(tag, subnet, members);
    try {
      ip("link", "add", n.bridge, "type", "bridge");
      ip("addr", "add", `${n.hostIp}/24`, "dev", n.bridge);
      ip("link", "set", n.bridge, "up");
      for (let i = 1; i <= members; i++) {
        ip("netns", "add", n.ns(i));
        ip("link", "add", n.hostVeth(i), "type", "veth", "peer", "name", n.nsVeth(i));
        ip("link", "set", n.nsVeth(i), "netns", n.ns(i));
        ip("link", "set", n.hostVeth(i), "master", n.bridge);
        ip("link", "set", n.hostVeth(i), "up");
        ip("netns", "exec", n.ns(i), "ip", "addr", "add", `${n.ipOf(i)}/24`, "dev", n.nsVeth(i));
        ip("netns", "exec", n.ns(i), "ip", "link", "set", n.nsVeth(i), "up");
        ip("netns", "exec", n.ns(i), "ip", "link", "set", "lo", "up");
      }
    } catch (e) {
      n.destroy();
      throw e;
    }
    return n;
  }

  get bridge(): string {
    return `mlnbr${this.tag}`;
  }

  get hostIp(): string {
    return `10.213.${this.subnet}.1`;
  }

  ns(i: number): string {
    return `mln${this.tag}-${i}`;
  }

  private hostVeth(i: number): string {
    return `mlnh${this.tag}${i}`;
  }

  private nsVeth(i: number): string {
    return `mlnn${this.tag}${i}`;
  }

  ipOf(i: number): string {
    return `10.213.${this.subnet}.${10 + i}`;
  }

  /** The command prefix that runs a process in member i's namespace. */
  wrapper(i: number): string[] {
    return ["ip", "netns", "exec", this.ns(i)];
  }

  cut(i: number): void {
    ip("link", "set", this.hostVeth(i), "down");
  }

  heal(i: number): void {
    ip("link", "set", this.hostVeth(i), "up");
  }

  destroy(): void {
    for (let i = 1; i <= this.members; i++) {
      try {
        ip("link", "del", this.hostVeth(i));
      } catch {
        // not made, or gone with its namespace
      }
      try {
        ip("netns", "del", this.ns(i));
      } catch {
        // not made
      }
    }
    try {
      ip("link", "del", this.bridge);
    } catch {
      // not made
    }
  }
}
