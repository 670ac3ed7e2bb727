// CPU time of a process and of its threads, from /proc (Linux), to say which thread bounds a
// phase: a thread at ~100% of the phase's wall time is the bottleneck.
//
// /proc/<pid>/task/<tid>/stat: "tid (comm) state ..." then utime (field 14) and stime (15) in
// clock ticks (USER_HZ, 100 on Linux).

import * as fs from "node:fs";

const TICK_MS = 10;

export interface ThreadTimes {
  /** Main thread (tid === pid): the broker's acceptor. */
  mainMs: number;
  /** Every thread together (writers, libuv pool, GC, ...). */
  totalMs: number;
  /** Per thread name (comm), summed. */
  byName: Map<string, number>;
}

function parseStat(text: string): { comm: string; ms: number } {
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14 -> index 11, stime 15 -> 12.
  return { comm, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
}

/** Per-thread CPU of a live process; threads that ended since are not counted (use deltas). */
export function threadTimes(pid: number): ThreadTimes {
  const byName = new Map<string, number>();
  let mainMs = 0;
  let totalMs = 0;
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return { mainMs: 0, totalMs: 0, byName };
  }
  for (const tid of tids) {
    let s: { comm: string; ms: number };
    try {
      s = parseStat(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
    } catch {
      continue; // thread ended
    }
    if (Number(tid) === pid) mainMs = s.ms;
    totalMs += s.ms;
    byName.set(s.comm, (byName.get(s.comm) ?? 0) + s.ms);
  }
  return { mainMs, totalMs, byName };
}

/**
 * CPU busy on the whole machine, in ms summed over cores (/proc/stat "cpu" line: user nice
 * system idle iowait irq softirq steal ...; busy = all but idle and iowait). Steal counts as
 * busy: on a VM it is time another guest had this core.
 */
export function machineBusyMs(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + (steal ?? 0)) * TICK_MS;
}

/**
 * Wait (up to maxWaitMs) until the rest of the machine is quiet: less than `thresholdPct` of
 * one core busy outside this process over a 500 ms sample. Returns that share when done.
 */
export async function waitForQuiet(maxWaitMs: number, thresholdPct = 30): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const m0 = machineBusyMs();
    const c0 = selfCpuMs();
    await new Promise((r) => setTimeout(r, 500));
    const others = ((machineBusyMs() - m0 - (selfCpuMs() - c0)) / 500) * 100;
    if (others < thresholdPct || Date.now() >= deadline) return Math.max(0, others);
  }
}

/** CPU used by this (client) process, in ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * CPU of this process's children that exited and were reaped (cutime + cstime of
 * /proc/self/stat), in ms: a client run as a child process (kcat), counted once it exits.
 */
export function reapedChildrenCpuMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  // fields after the command name (which may hold spaces), from field 3 (state) on
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

export interface CpuShare {
  /** Broker main thread CPU as % of one core over the phase. */
  brokerMain: number;
  /** Broker, all threads, % of one core (200% = both cores of a 2-core box). */
  brokerTotal: number;
  /** The benchmark client process, % of one core. */
  client: number;
  /** Everything else on the machine (other processes, steal), % of one core. */
  others: number;
}

export class CpuMeter {
  private b0: ThreadTimes;
  private c0: number;
  private m0: number;
  private t0: number;

  /** children: count the CPU of child processes that exit meanwhile as the client's (kcat). */
  constructor(
    private readonly pid: number,
    private readonly children = false,
  ) {
    this.b0 = threadTimes(pid);
    this.c0 = this.clientMs();
    this.m0 = machineBusyMs();
    this.t0 = performance.now();
  }

  private clientMs(): number {
    return selfCpuMs() + (this.children ? reapedChildrenCpuMs() : 0);
  }

  stop(): CpuShare {
    const b1 = threadTimes(this.pid);
    const c1 = this.clientMs();
    const m1 = machineBusyMs();
    const wall = performance.now() - this.t0;
    const pct = (ms: number) => (wall > 0 ? (100 * ms) / wall : 0);
    const broker = b1.totalMs - this.b0.totalMs;
    const client = c1 - this.c0;
    return {
      brokerMain: pct(b1.mainMs - this.b0.mainMs),
      brokerTotal: pct(broker),
      client: pct(client),
      others: Math.max(0, pct(m1 - this.m0 - broker - client)),
    };
  }
}
