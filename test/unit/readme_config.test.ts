// The README's configuration table names every key the broker accepts (src/broker/config.ts
// KEYS), so the documentation cannot fall behind the code.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { KEYS } from "../../src/broker/config.ts";

test("README's Configuration section lists every config key", () => {
  const readme = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## On disk"));
  const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| key"));
  const documented = new Set(
    rows.flatMap((r) =>
      r
        .split("|")[1]
        .split(/[,/]|\(alias/)
        .map((k) => k.trim().replace(/\)$/, "")),
    ),
  );
  // "log.retention.ms / .minutes / .hours" documents three keys.
  for (const r of rows) {
    const first = r.split("|")[1].trim();
    const m = /^(\S+)\.(\w+) \/ \.(\w+) \/ \.(\w+)$/.exec(first);
    if (m) for (const suffix of [m[2], m[3], m[4]]) documented.add(`${m[1]}.${suffix}`);
  }
  const missing = Object.keys(KEYS).filter((k) => !documented.has(k));
  assert.deepEqual(missing, []);
});
