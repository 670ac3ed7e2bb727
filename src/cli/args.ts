// A small command-line parser for the `milena` subcommands: --name value, --name=value,
// repeatable options, booleans, positionals. Every mistake is a UsageError with a message that
// names the option; main.ts prints it with the command's usage and exits 2.

export class UsageError extends Error {
  override name = "UsageError";
}

export interface OptionSpec {
  type: "string" | "number" | "boolean";
  /** May be given several times (values collected in order). */
  repeat?: boolean;
}

export type Parsed = {
  options: Map<string, (string | number | boolean)[]>;
  positionals: string[];
};

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const options = new Map<string, (string | number | boolean)[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "--") {
      if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) throw new UsageError(`unknown option ${a}`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (s === undefined) throw new UsageError(`unknown option --${name}`);
    let value: string | number | boolean;
    if (s.type === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      value = true;
    } else {
      let raw: string;
      if (eq >= 0) raw = a.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
        raw = argv[++i];
      }
      if (s.type === "number") {
        const n = Number(raw);
        if (raw.trim() === "" || !Number.isFinite(n))
          throw new UsageError(`--${name}: "${raw}" is not a number`);
        value = n;
      } else value = raw;
    }
    const list = options.get(name) ?? [];
    if (!s.repeat && list.length > 0) throw new UsageError(`--${name} given twice`);
    list.push(value);
    options.set(name, list);
  }
  return { options, positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  return p.options.get(name)?.[0] as string | undefined;
}

export function num(p: Parsed, name: string): number | undefined {
  return p.options.get(name)?.[0] as number | undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.options.has(name);
}

export function all(p: Parsed, name: string): string[] {
  return (p.options.get(name) ?? []) as string[];
}

/** "key=value" → [key, value]; the option's name in the error. */
export function keyValue(option: string, s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0) throw new UsageError(`--${option} expects key=value, got "${s}"`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

export function integer(option: string, v: number | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min)
    throw new UsageError(`--${option} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** acks as Kafka tools take it: 0, 1, -1 or all. */
export function acksOf(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (s === "all" || s === "-1") return -1;
  if (s === "0" || s === "1") return Number(s);
  throw new UsageError(`--acks must be 0, 1, -1 or all, got "${s}"`);
}

export function compressionOf(s: string | undefined): "none" | "gzip" | "lz4" | undefined {
  if (s === undefined) return undefined;
  if (s === "none" || s === "gzip" || s === "lz4") return s;
  throw new UsageError(`--compression must be none, gzip or lz4, got "${s}"`);
}
