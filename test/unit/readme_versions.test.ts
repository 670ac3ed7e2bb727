// The README's API table says what the broker serves: each row's version range must be the one
// its codec declares (registry.ts, what ApiVersions advertises), and every served API must have
// a row. Editing a codec's range without the README (or the other way round) fails here.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { apiVersionsKeys } from "../../src/protocol/registry.ts";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** Rows of the form "| Name (key) | min–max | notes |". */
function readmeRanges(): Map<number, { name: string; min: number; max: number }> {
  const out = new Map<number, { name: string; min: number; max: number }>();
  for (const line of README.split("\n")) {
    const m = /^\s*\| ([A-Za-z]+) \((\d+)\) \| (\d+)[–-](\d+) \|/.exec(line);
    if (m === null) continue;
    const key = Number(m[2]);
    assert.ok(!out.has(key), `README lists api key ${key} twice`);
    out.set(key, { name: m[1], min: Number(m[3]), max: Number(m[4]) });
  }
  return out;
}

test("the README's API table lists exactly the served APIs and their version ranges", () => {
  const rows = readmeRanges();
  const served = apiVersionsKeys();
  assert.ok(rows.size > 0, "no API rows found in README.md");
  for (const k of served) {
    const row = rows.get(k.apiKey);
    assert.ok(row, `api key ${k.apiKey} is served (v${k.minVersion}-${k.maxVersion}) but has no README row`);
    assert.deepEqual(
      [row.min, row.max],
      [k.minVersion, k.maxVersion],
      `README says ${row.name} (${k.apiKey}) is v${row.min}-${row.max}; its codec serves v${k.minVersion}-${k.maxVersion}`,
    );
  }
  for (const [key, row] of rows)
    assert.ok(
      served.some((k) => k.apiKey === key),
      `README lists ${row.name} (${key}), which is not served`,
    );
});
