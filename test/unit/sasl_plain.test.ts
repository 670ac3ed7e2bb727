// SASL PLAIN, the broker's side (src/broker/security/plain.ts): RFC 4616 messages as kafkajs
// sends them, checked against stored SCRAM credentials (SCRAM-SHA-512 first, else SCRAM-SHA-256),
// Kafka's PlainSaslServer rules and messages: authzid empty or the user, empty user name or
// password refused, wrong password and unknown user answered alike.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { AUTHZID_MISMATCH_MESSAGE, invalidCredentialsMessage } from "../../src/broker/security/errors.ts";
import {
  PLAIN_INVALID_MESSAGE,
  type PlainLookup,
  parsePlainMessage,
  SaslAuthenticationError,
  verifyPlain,
  verifyPlainAsync,
} from "../../src/broker/security/plain.ts";
import {
  credentialFromSaltedPassword,
  parseScramCredential,
  saltedPassword,
  scramCredential,
  type UserScramCredentials,
} from "../../src/broker/security/scram.ts";

const require = createRequire(import.meta.url);
const plainRequest = require("kafkajs/src/protocol/sasl/plain/request.js");

/** The auth_bytes kafkajs sends for PLAIN (its request encodes int32 length + bytes). */
async function kafkajsPlain(
  username: string,
  password: string,
  authorizationIdentity?: string,
): Promise<Buffer> {
  const encoded: Buffer = await plainRequest({ authorizationIdentity, username, password }).encode();
  return encoded.subarray(4);
}

const GENERIC = invalidCredentialsMessage("PLAIN");

const users: Record<string, UserScramCredentials> = {
  // both mechanisms, different passwords: PLAIN must use SCRAM-SHA-512's
  alice: {
    "SCRAM-SHA-256": scramCredential("SCRAM-SHA-256", "old-256-password"),
    "SCRAM-SHA-512": scramCredential("SCRAM-SHA-512", "alice-secret", 8192),
  },
  // SCRAM-SHA-256 only
  bob: { "SCRAM-SHA-256": scramCredential("SCRAM-SHA-256", "bob-secret") },
  // non-ASCII name and password
  zoë: { "SCRAM-SHA-512": scramCredential("SCRAM-SHA-512", "pässwörd") },
  // RFC 7677's user, from Kafka's stored form (the key values worked out by hand, see sasl_scram.test.ts)
  user: {
    "SCRAM-SHA-256": parseScramCredential(
      "salt=W22ZaJ0SNY7soEsUEjb6gQ==,stored_key=WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,server_key=wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=,iterations=4096",
      "SCRAM-SHA-256",
    ),
  },
  // a credential below Kafka's minimum iterations
  weak: {
    "SCRAM-SHA-512": credentialFromSaltedPassword(
      "sha512",
      Buffer.from("s"),
      saltedPassword("sha512", "weak-pw", Buffer.from("s"), 100),
      100,
    ),
  },
  // a user entry without credentials
  empty: {},
};
const lookup: PlainLookup = (u) => (Object.hasOwn(users, u) ? users[u] : undefined);

const verifiers = [
  ["verifyPlain", async (m: Buffer, l: PlainLookup = lookup) => verifyPlain(m, l)],
  ["verifyPlainAsync", (m: Buffer, l: PlainLookup = lookup) => verifyPlainAsync(m, l)],
] as const;

async function refusal(p: Promise<unknown>, message: string): Promise<SaslAuthenticationError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof SaslAuthenticationError, `SaslAuthenticationError expected, got ${caught}`);
  assert.equal(caught.message, message);
  assert.equal(caught.errorCode, 58);
  return caught;
}

for (const [name, verify] of verifiers) {
  describe(name, () => {
    test("a good password, as kafkajs sends it, gives the user", async () => {
      assert.deepEqual(await verify(await kafkajsPlain("alice", "alice-secret")), { username: "alice" });
      assert.deepEqual(await verify(await kafkajsPlain("bob", "bob-secret")), { username: "bob" });
      assert.deepEqual(await verify(await kafkajsPlain("zoë", "pässwörd")), { username: "zoë" });
      assert.deepEqual(await verify(await kafkajsPlain("user", "pencil")), { username: "user" });
    });

    test("SCRAM-SHA-512's credential is the one checked when the user has both", async () => {
      await refusal(verify(await kafkajsPlain("alice", "old-256-password")), PLAIN_INVALID_MESSAGE);
    });

    test("a wrong password and an unknown user get the same message", async () => {
      const wrong = await refusal(verify(await kafkajsPlain("alice", "alice-secreT")), PLAIN_INVALID_MESSAGE);
      const unknown = await refusal(
        verify(await kafkajsPlain("mallory", "alice-secret")),
        PLAIN_INVALID_MESSAGE,
      );
      const none = await refusal(verify(await kafkajsPlain("empty", "x")), PLAIN_INVALID_MESSAGE);
      assert.match(wrong.reason, /wrong password/);
      assert.match(unknown.reason, /unknown user/);
      assert.match(none.reason, /no SCRAM credential/);
    });

    test("a credential with fewer than 4096 iterations is refused even with its password", async () => {
      const err = await refusal(verify(await kafkajsPlain("weak", "weak-pw")), PLAIN_INVALID_MESSAGE);
      assert.match(err.reason, /unusable/);
    });

    test("a lookup that throws is refused like an unknown user", async () => {
      const err = await refusal(
        verify(await kafkajsPlain("alice", "alice-secret"), () => {
          throw new Error("store gone");
        }),
        PLAIN_INVALID_MESSAGE,
      );
      assert.match(err.reason, /store gone/);
    });

    test("authzid: equal to the user is accepted; another one refused after the password check", async () => {
      assert.deepEqual(await verify(await kafkajsPlain("alice", "alice-secret", "alice")), {
        username: "alice",
      });
      const err = await refusal(
        verify(await kafkajsPlain("alice", "alice-secret", "admin")),
        AUTHZID_MISMATCH_MESSAGE,
      );
      assert.match(err.reason, /authzid "admin"/);
      // with a wrong password, the password is what is refused (Kafka's order)
      await refusal(verify(await kafkajsPlain("alice", "nope", "admin")), PLAIN_INVALID_MESSAGE);
    });

    const malformed: [string, Buffer, RegExp][] = [
      ["no NUL", Buffer.from("alicealice-secret"), /expected 3 tokens, got 1/],
      ["one NUL", Buffer.from("alice\0alice-secret"), /expected 3 tokens, got 2/],
      ["three NULs", Buffer.from("\0alice\0alice-secret\0"), /expected 3 tokens, got 4/],
      ["an empty message", Buffer.alloc(0), /expected 3 tokens, got 1/],
      ["an empty user name", Buffer.from("\0\0alice-secret"), /username not specified/],
      ["an empty password", Buffer.from("\0alice\0"), /password not specified/],
      ["just the NULs", Buffer.from("\0\0"), /username not specified/],
      ["invalid UTF-8", Buffer.from([0, 0x61, 0, 0xff, 0xfe]), /not UTF-8/],
    ];
    for (const [what, message, reason] of malformed)
      test(`a message with ${what} is refused with Kafka's generic message`, async () => {
        const err = await refusal(verify(message), GENERIC);
        assert.match(err.reason, reason);
      });
  });
}

describe("parsePlainMessage", () => {
  test("splits authzid, user and password; NUL-free UTF-8 kept as it is", () => {
    assert.deepEqual(parsePlainMessage(Buffer.from("\0alice\0pw")), {
      authzid: "",
      username: "alice",
      password: "pw",
    });
    assert.deepEqual(parsePlainMessage(Buffer.from("admin\0al ice\0p w=,")), {
      authzid: "admin",
      username: "al ice",
      password: "p w=,",
    });
  });

  test("kafkajs's encoding of a missing authzid is an empty one", async () => {
    assert.deepEqual([...(await kafkajsPlain("u", "p"))], [0, 0x75, 0, 0x70]);
  });
});
