// `--command-config`'s properties (src/cli/command_config.ts): librdkafka's keys become the
// client's ssl / sasl options; unknown keys, bad values, keys the security protocol does not use
// and unreadable files are errors naming the key.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  CommandConfigError,
  loadCommandConfig,
  parseProperties,
  securityOf,
} from "../../src/cli/command_config.ts";

const of = (text: string) => securityOf(parseProperties(text, "f"), "f");

test("each security protocol gives its ssl / sasl options", () => {
  const dir = fs.mkdtempSync(join(tmpdir(), "milena-cc-"));
  const ca = join(dir, "ca.pem");
  fs.writeFileSync(ca, "CA PEM");
  assert.deepEqual(of(""), {});
  assert.deepEqual(of("security.protocol=plaintext"), {});
  assert.deepEqual(of(`security.protocol=SSL\nssl.ca.location=${ca}`), {
    ssl: { rejectUnauthorized: true, ca: Buffer.from("CA PEM") },
  });
  assert.deepEqual(of("security.protocol = SSL\nenable.ssl.certificate.verification = false"), {
    ssl: { rejectUnauthorized: false },
  });
  assert.deepEqual(
    of(
      "# a comment\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanisms=scram-sha-256\nsasl.username=u\nsasl.password=p=w",
    ),
    {
      sasl: { mechanism: "scram-sha-256", username: "u", password: "p=w" },
    },
  );
  const f = join(dir, "c.properties");
  fs.writeFileSync(
    f,
    `security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\nssl.ca.location=${ca}\n`,
  );
  assert.deepEqual(loadCommandConfig(f), {
    ssl: { rejectUnauthorized: true, ca: Buffer.from("CA PEM") },
    sasl: { mechanism: "plain", username: "u", password: "p" },
  });
  fs.rmSync(dir, { recursive: true });
});

test("mistakes are errors naming the key", () => {
  for (const [text, pattern] of [
    ["sasl.mechansim=PLAIN", /unknown key "sasl\.mechansim"/],
    ["security.protocol=TLS", /security\.protocol: "TLS" is not one of/],
    ["security.protocol=SSL\nsecurity.protocol=SSL", /security\.protocol given twice/],
    ["no equals sign here", /expected key=value/],
    ["security.protocol=SASL_SSL\nsasl.username=u\nsasl.password=p", /sasl\.mechanism: required/],
    [
      "security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\nsasl.username=u\nsasl.password=p",
      /sasl\.mechanism: "GSSAPI"/,
    ],
    ["security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.password=p", /sasl\.username: required/],
    ["security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=u", /sasl\.password: required/],
    ["sasl.username=u", /sasl\.username: set, but security\.protocol PLAINTEXT does not use SASL/],
    [
      "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\nssl.ca.location=x",
      /ssl\.ca\.location: set, but/,
    ],
    [
      "security.protocol=SSL\nssl.ca.location=/nonexistent/ca.pem",
      /ssl\.ca\.location: cannot read \/nonexistent/,
    ],
    [
      "security.protocol=SSL\nenable.ssl.certificate.verification=yes",
      /enable\.ssl\.certificate\.verification: "yes"/,
    ],
    ["security.protocol=SSL\nssl.key.password=x", /ssl\.key\.password: set without ssl\.key\.location/],
  ] as const)
    assert.throws(
      () => of(text),
      (e: Error) => e instanceof CommandConfigError && pattern.test(e.message),
      text,
    );
  assert.throws(
    () => loadCommandConfig("/nonexistent.properties"),
    /--command-config \/nonexistent\.properties: cannot read/,
  );
});
