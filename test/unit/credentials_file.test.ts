// The broker's SASL credential file (src/broker/security/credentials_file.ts): load/save/upsert/
// delete round trips, the exact text written, mode 0600 whatever the umask and the old file's
// mode, no temporary file left behind, corrupt files refused with a message naming the file and
// the entry (and never the key material), and a loaded store authenticating kafkajs.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  type CredentialStore,
  CredentialsFileError,
  deleteCredential,
  formatCredentialsFile,
  loadCredentialsFile,
  parseCredentialsFile,
  plainLookup,
  saveCredentialsFile,
  scramLookup,
  updateCredentialsFile,
  upsertCredential,
} from "../../src/broker/security/credentials_file.ts";
import { verifyPlain } from "../../src/broker/security/plain.ts";
import {
  parseScramCredential,
  ScramServerExchange,
  scramCredential,
} from "../../src/broker/security/scram.ts";

const require = createRequire(import.meta.url);
const { SCRAM, DIGESTS } = require("kafkajs/src/broker/saslAuthenticator/scram.js");
interface KafkajsStep {
  request: { encode(): Promise<Buffer> };
  response: { parse(data: Buffer): Promise<unknown> };
}

const temps: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(join(tmpdir(), "milena-creds-"));
  temps.push(d);
  return d;
};
after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

// RFC 7677's user/pencil, in Kafka's stored form (worked out by hand, see sasl_scram.test.ts)
const RFC_256 =
  "salt=W22ZaJ0SNY7soEsUEjb6gQ==,stored_key=WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,server_key=wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=,iterations=4096";
const RFC_512 =
  "salt=W22ZaJ0SNY7soEsUEjb6gQ==,stored_key=6AAub3065EYRmyFpM2RNwqK+eGnrkYuEWbXn19LsEmBqzu8QaCXNc1FwpnX9NhH2hK/60dzj9DoO5DvVkOHbvg==,server_key=jZHbYjC1aHh0/hKbxyBuGFjDrgjgKTT1esA7awWiKcRZ0o/0b1yWEebBeSVkkCFewf91nLDfKF24mvD5nmE6rA==,iterations=4096";

const mode = (p: string) => fs.statSync(p).mode & 0o777;

/** assert.throws for a CredentialsFileError whose message matches every pattern. */
function rejects(fn: () => unknown, ...patterns: RegExp[]): CredentialsFileError {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof CredentialsFileError, `CredentialsFileError expected, got ${caught}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

describe("round trips", () => {
  test("save then load gives the same store; the text is Kafka's stored form, users sorted", () => {
    const path = join(tmp(), "credentials.json");
    const store: CredentialStore = new Map();
    upsertCredential(store, "user", "SCRAM-SHA-512", parseScramCredential(RFC_512));
    upsertCredential(store, "user", "SCRAM-SHA-256", parseScramCredential(RFC_256));
    upsertCredential(store, "alice", "SCRAM-SHA-256", scramCredential("SCRAM-SHA-256", "a", 8192));
    saveCredentialsFile(path, store);
    assert.deepEqual(loadCredentialsFile(path), store);
    const text = fs.readFileSync(path, "utf8");
    assert.ok(text.endsWith("}\n"));
    const doc = JSON.parse(text);
    assert.deepEqual(Object.keys(doc.users), ["alice", "user"]);
    assert.deepEqual(doc.users.user, { "SCRAM-SHA-256": RFC_256, "SCRAM-SHA-512": RFC_512 });
    assert.equal(
      formatCredentialsFile(new Map([["user", { "SCRAM-SHA-256": parseScramCredential(RFC_256) }]])),
      `{\n  "users": {\n    "user": {\n      "SCRAM-SHA-256": "${RFC_256}"\n    }\n  }\n}\n`,
    );
  });

  test("a file written by hand in the documented form loads", () => {
    const path = join(tmp(), "c.json");
    fs.writeFileSync(path, JSON.stringify({ users: { user: { "SCRAM-SHA-256": RFC_256 } } }));
    const store = loadCredentialsFile(path);
    assert.deepEqual([...store.keys()], ["user"]);
    assert.equal(store.get("user")!["SCRAM-SHA-256"]!.iterations, 4096);
    assert.equal(store.get("user")!["SCRAM-SHA-512"], undefined);
  });

  test("upsert replaces one mechanism and keeps the other; delete removes it, and the user with its last", () => {
    const store: CredentialStore = new Map();
    const first = scramCredential("SCRAM-SHA-256", "one");
    const second = scramCredential("SCRAM-SHA-256", "two");
    const other = scramCredential("SCRAM-SHA-512", "three");
    upsertCredential(store, "u", "SCRAM-SHA-256", first);
    upsertCredential(store, "u", "SCRAM-SHA-512", other);
    upsertCredential(store, "u", "SCRAM-SHA-256", second);
    assert.equal(store.get("u")!["SCRAM-SHA-256"], second);
    assert.equal(store.get("u")!["SCRAM-SHA-512"], other);
    assert.equal(deleteCredential(store, "u", "SCRAM-SHA-256"), true);
    assert.equal(deleteCredential(store, "u", "SCRAM-SHA-256"), false);
    assert.deepEqual(Object.keys(store.get("u")!), ["SCRAM-SHA-512"]);
    assert.equal(deleteCredential(store, "u", "SCRAM-SHA-512"), true);
    assert.equal(store.has("u"), false);
    assert.equal(deleteCredential(store, "nobody", "SCRAM-SHA-512"), false);
    assert.throws(() => upsertCredential(store, "", "SCRAM-SHA-256", first), /empty/);
  });

  test("updateCredentialsFile creates a missing file, then changes it in place", () => {
    const path = join(tmp(), "new.json");
    updateCredentialsFile(path, (s) =>
      upsertCredential(s, "a", "SCRAM-SHA-256", scramCredential("SCRAM-SHA-256", "x")),
    );
    updateCredentialsFile(path, (s) =>
      upsertCredential(s, "b", "SCRAM-SHA-512", scramCredential("SCRAM-SHA-512", "y")),
    );
    const removed = updateCredentialsFile(path, (s) => deleteCredential(s, "a", "SCRAM-SHA-256"));
    assert.equal(removed, true);
    assert.deepEqual([...loadCredentialsFile(path).keys()], ["b"]);
  });

  test("odd user names survive: __proto__, commas, '=', non-ASCII", () => {
    const path = join(tmp(), "odd.json");
    const store: CredentialStore = new Map();
    for (const name of ["__proto__", "a,b=c", "zoë", "CN=x,O=y"])
      upsertCredential(store, name, "SCRAM-SHA-256", scramCredential("SCRAM-SHA-256", name));
    saveCredentialsFile(path, store);
    const loaded = loadCredentialsFile(path);
    assert.deepEqual([...loaded.keys()].sort(), [...store.keys()].sort());
    assert.deepEqual(loaded.get("__proto__"), store.get("__proto__"));
  });
});

describe("saving", () => {
  test("mode 0600 whatever the umask, also over an existing 0644 file; no temporary file left", () => {
    const dir = tmp();
    const path = join(dir, "credentials.json");
    fs.writeFileSync(path, "{}", { mode: 0o644 });
    fs.chmodSync(path, 0o644);
    const old = process.umask(0);
    try {
      saveCredentialsFile(path, new Map([["u", { "SCRAM-SHA-256": parseScramCredential(RFC_256) }]]));
    } finally {
      process.umask(old);
    }
    assert.equal(mode(path), 0o600);
    assert.deepEqual(fs.readdirSync(dir), ["credentials.json"]);
    saveCredentialsFile(path, new Map());
    assert.equal(mode(path), 0o600);
    assert.deepEqual(loadCredentialsFile(path), new Map());
  });

  test("a failed save leaves the old file whole and no temporary file", () => {
    const dir = tmp();
    const path = join(dir, "credentials.json");
    const store: CredentialStore = new Map([["u", { "SCRAM-SHA-256": parseScramCredential(RFC_256) }]]);
    saveCredentialsFile(path, store);
    const before = fs.readFileSync(path, "utf8");
    // the target is a non-empty directory now: rename fails
    fs.rmSync(path);
    fs.mkdirSync(path);
    fs.writeFileSync(join(path, "x"), "");
    assert.throws(() => saveCredentialsFile(path, new Map()));
    assert.deepEqual(fs.readdirSync(dir), ["credentials.json"]);
    fs.rmSync(path, { recursive: true });
    fs.writeFileSync(path, before);
    assert.deepEqual(loadCredentialsFile(path), store);
  });
});

describe("refusing bad files", () => {
  function fileWith(text: string): string {
    const path = join(tmp(), "credentials.json");
    fs.writeFileSync(path, text);
    return path;
  }
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

  test("a missing file names it (unless allowMissing)", () => {
    const path = join(tmp(), "absent.json");
    rejects(() => loadCredentialsFile(path), new RegExp(esc(path)), /cannot read/);
    assert.deepEqual(loadCredentialsFile(path, { allowMissing: true }), new Map());
  });

  test("parseCredentialsFile names the file it is given", () => {
    rejects(() => parseCredentialsFile("[1]", "/etc/milena/creds.json"), /^\/etc\/milena\/creds\.json: /);
    assert.equal(parseCredentialsFile('{"users":{}}', "x").size, 0);
  });

  test("corrupt JSON names the file", () => {
    const path = fileWith('{"users": {"alice": ');
    rejects(() => loadCredentialsFile(path), new RegExp(`^${esc(path)}: not valid JSON`));
  });

  const bad: [string, unknown, RegExp[]][] = [
    ["a top-level array", [], [/expected a JSON object/]],
    ["no users", {}, [/"users" must be an object/]],
    ["users an array", { users: [] }, [/"users" must be an object/]],
    ["an unknown top-level key", { users: {}, extra: 1 }, [/unknown top-level key "extra"/]],
    ["a user that is a string", { users: { alice: "x" } }, [/user "alice"/, /expected an object/]],
    ["an empty user name", { users: { "": {} } }, [/user name is empty/]],
    [
      "an unknown mechanism",
      { users: { alice: { PLAIN: "pw" } } },
      [/user "alice"/, /unknown mechanism "PLAIN"/],
    ],
    [
      "a number credential",
      { users: { alice: { "SCRAM-SHA-256": 1 } } },
      [/user "alice" SCRAM-SHA-256: expected a string/],
    ],
    [
      "a truncated credential",
      { users: { alice: { "SCRAM-SHA-256": RFC_256.split(",iterations")[0] } } },
      [/user "alice" SCRAM-SHA-256: iterations missing/],
    ],
    [
      "a SCRAM-SHA-256 credential filed under SCRAM-SHA-512",
      { users: { ok: { "SCRAM-SHA-256": RFC_256 }, bob: { "SCRAM-SHA-512": RFC_256 } } },
      [/user "bob" SCRAM-SHA-512: .*64 bytes/],
    ],
  ];
  for (const [name, doc, patterns] of bad)
    test(`${name} is refused, naming the file and the entry`, () => {
      const path = fileWith(JSON.stringify(doc));
      const err = rejects(() => loadCredentialsFile(path), new RegExp(`^${esc(path)}: `), ...patterns);
      assert.ok(!err.message.includes("WG5d8oPm"), "no key material in the message");
    });
});

describe("a loaded store authenticates", () => {
  test("kafkajs SCRAM-SHA-256 and PLAIN against RFC 7677's user, from the file", async () => {
    const path = join(tmp(), "c.json");
    fs.writeFileSync(path, JSON.stringify({ users: { user: { "SCRAM-SHA-256": RFC_256 } } }));
    const store = loadCredentialsFile(path);
    const ex = new ScramServerExchange("SCRAM-SHA-256", scramLookup(store, "SCRAM-SHA-256"));
    let step = 0;
    const client = new SCRAM(
      { username: "user", password: "pencil" },
      "localhost",
      9092,
      { debug() {}, info() {}, warn() {}, error() {} },
      async ({ request, response }: KafkajsStep) => {
        const body = (await request.encode()).subarray(4);
        return response.parse(step++ === 0 ? ex.first(body) : ex.final(body));
      },
      DIGESTS.SHA256,
    );
    await client.authenticate();
    assert.equal(ex.principal, "user");
    assert.deepEqual(verifyPlain(Buffer.from("\0user\0pencil"), plainLookup(store)), { username: "user" });
    assert.throws(
      () => verifyPlain(Buffer.from("\0user\0pencil!"), plainLookup(store)),
      /Invalid username or password/,
    );
    assert.equal(scramLookup(store, "SCRAM-SHA-512")("user"), undefined);
  });
});
