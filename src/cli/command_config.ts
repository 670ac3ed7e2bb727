// `--command-config FILE` (the Kafka tools' option): the client's security settings as a
// properties file in librdkafka's names, read by every command that connects to a broker.
//
//   security.protocol                     PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
//   sasl.mechanism (or sasl.mechanisms)   PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
//   sasl.username, sasl.password          the SASL credentials
//   ssl.ca.location                       PEM CA certificates the broker's certificate is checked against
//   ssl.certificate.location              PEM client certificate (mTLS)
//   ssl.key.location, ssl.key.password    PEM client key, and its passphrase when it is encrypted
//   enable.ssl.certificate.verification   true (default) | false
//
// Lines are key=value (or key: value); # and ! start comments. An unknown key, a bad value, a
// setting that the security protocol does not use, or a file that cannot be read is a
// CommandConfigError naming it (the command exits 1).

import * as fs from "node:fs";
import type { SaslOptions, TlsOptions } from "../client/security.ts";

export class CommandConfigError extends Error {
  override name = "CommandConfigError";
}

export interface CommandSecurity {
  ssl?: TlsOptions;
  sasl?: SaslOptions;
}

const PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] as const;
const MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
const KEYS = [
  "security.protocol",
  "sasl.mechanism",
  "sasl.mechanisms",
  "sasl.username",
  "sasl.password",
  "ssl.ca.location",
  "ssl.certificate.location",
  "ssl.key.location",
  "ssl.key.password",
  "enable.ssl.certificate.verification",
];

/** key -> value of a properties file (later lines win; a key twice is an error). */
export function parseProperties(text: string, where: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) return;
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (m === null) throw new CommandConfigError(`${where} line ${i + 1}: expected key=value, got "${line}"`);
    const [, key, value] = m;
    if (!KEYS.includes(key))
      throw new CommandConfigError(
        `${where} line ${i + 1}: unknown key "${key}" (known: ${KEYS.join(", ")})`,
      );
    if (out.has(key)) throw new CommandConfigError(`${where} line ${i + 1}: ${key} given twice`);
    out.set(key, value);
  });
  return out;
}

/** The security settings of a properties map (`where` names the file in errors). */
export function securityOf(props: Map<string, string>, where: string): CommandSecurity {
  const bad = (key: string, msg: string) => new CommandConfigError(`${where}: ${key}: ${msg}`);
  const protocolText = (props.get("security.protocol") ?? "PLAINTEXT").toUpperCase();
  const protocol = PROTOCOLS.find((p) => p === protocolText);
  if (protocol === undefined)
    throw bad(
      "security.protocol",
      `"${props.get("security.protocol")}" is not one of ${PROTOCOLS.join(", ")}`,
    );
  const useSsl = protocol === "SSL" || protocol === "SASL_SSL";
  const useSasl = protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";
  for (const key of props.keys()) {
    if (!useSsl && (key.startsWith("ssl.") || key === "enable.ssl.certificate.verification"))
      throw bad(key, `set, but security.protocol ${protocol} does not use TLS`);
    if (!useSasl && key.startsWith("sasl."))
      throw bad(key, `set, but security.protocol ${protocol} does not use SASL`);
  }
  if (props.has("sasl.mechanism") && props.has("sasl.mechanisms"))
    throw bad("sasl.mechanisms", "give sasl.mechanism or sasl.mechanisms, not both");
  const out: CommandSecurity = {};
  if (useSsl) {
    const read = (key: string): Buffer | undefined => {
      const path = props.get(key);
      if (path === undefined) return undefined;
      try {
        return fs.readFileSync(path);
      } catch (e) {
        throw bad(key, `cannot read ${path}: ${(e as Error).message}`);
      }
    };
    const verifyText = (props.get("enable.ssl.certificate.verification") ?? "true").toLowerCase();
    if (verifyText !== "true" && verifyText !== "false")
      throw bad(
        "enable.ssl.certificate.verification",
        `"${props.get("enable.ssl.certificate.verification")}" is not true or false`,
      );
    const ssl: TlsOptions = { rejectUnauthorized: verifyText === "true" };
    const ca = read("ssl.ca.location");
    const cert = read("ssl.certificate.location");
    const key = read("ssl.key.location");
    if ((cert === undefined) !== (key === undefined))
      throw bad(
        cert === undefined ? "ssl.key.location" : "ssl.certificate.location",
        "a client certificate needs both ssl.certificate.location and ssl.key.location",
      );
    if (props.has("ssl.key.password") && key === undefined)
      throw bad("ssl.key.password", "set without ssl.key.location");
    if (ca !== undefined) ssl.ca = ca;
    if (cert !== undefined) ssl.cert = cert;
    if (key !== undefined) ssl.key = key;
    if (props.has("ssl.key.password")) ssl.passphrase = props.get("ssl.key.password");
    out.ssl = ssl;
  }
  if (useSasl) {
    const mkey = props.has("sasl.mechanisms") ? "sasl.mechanisms" : "sasl.mechanism";
    const mtext = props.get(mkey);
    if (mtext === undefined) throw bad("sasl.mechanism", `required with security.protocol ${protocol}`);
    const mechanism = MECHANISMS.find((m) => m === mtext.toUpperCase());
    if (mechanism === undefined) throw bad(mkey, `"${mtext}" is not one of ${MECHANISMS.join(", ")}`);
    const username = props.get("sasl.username");
    const password = props.get("sasl.password");
    if (username === undefined || username === "") throw bad("sasl.username", `required with ${mechanism}`);
    if (password === undefined) throw bad("sasl.password", `required with ${mechanism}`);
    out.sasl = {
      mechanism: mechanism.toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512",
      username,
      password,
    };
  }
  return out;
}

/** Read --command-config FILE. */
export function loadCommandConfig(path: string): CommandSecurity {
  const where = `--command-config ${path}`;
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new CommandConfigError(`${where}: cannot read it: ${(e as Error).message}`);
  }
  return securityOf(parseProperties(text, where), where);
}
