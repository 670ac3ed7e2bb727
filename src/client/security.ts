// The client's security options, as kafkajs names them: `ssl` (TLS for TCP, wss:// for
// WebSocket) and `sasl` (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER), given once on the top-level
// options (MilenaConfig) and used by every connection the client opens (bootstrap and brokers),
// and by anything else that opens a Connection (ConnectionOptions.tls / .sasl).

import { InvalidArgumentError } from "./errors.ts";

/** PEM text or bytes (a file's contents), or a list of them. */
export type PemInput = string | Uint8Array | (string | Uint8Array)[];

/**
 * TLS settings, a subset of node:tls's ConnectionOptions. In a browser, TLS is the browser's
 * own (wss:// URLs): these are not used there.
 */
export interface TlsOptions {
  /** CA certificates the broker's certificate is checked against (default: the system's). */
  ca?: PemInput;
  /** Client certificate chain (mTLS, a listener with ssl.client.auth=required). */
  cert?: PemInput;
  /** Client private key. */
  key?: PemInput;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Check the broker's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** The name the broker's certificate must carry (default: the host connected to). */
  servername?: string;
  /**
   * Check that name (default true; Kafka's ssl.endpoint.identification.algorithm=https). False:
   * any certificate the CAs signed is accepted, whatever its name (Node only).
   */
  checkServerName?: boolean;
}

/** A token for SASL/OAUTHBEARER (RFC 7628), with optional extensions (KIP-342). */
export interface OauthBearerToken {
  value: string;
  extensions?: Record<string, string>;
}

export type SaslOptions =
  | { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string }
  | { mechanism: "oauthbearer"; oauthBearerProvider: () => Promise<OauthBearerToken> };

export type SaslMechanism = SaslOptions["mechanism"];

const MECHANISMS: readonly SaslMechanism[] = ["plain", "scram-sha-256", "scram-sha-512", "oauthbearer"];

/** `ssl` as MilenaConfig takes it: true = TLS with the defaults, an object = these settings. */
export function tlsOptionsOf(ssl: boolean | TlsOptions | undefined | null): TlsOptions | null {
  if (ssl === undefined || ssl === null || ssl === false) return null;
  if (ssl === true) return {};
  if (typeof ssl !== "object") throw new InvalidArgumentError("ssl must be true, false or an object");
  return ssl;
}

/** Check `sasl` (a clear error for a mistake, before any connection is tried). */
export function saslOptionsOf(sasl: SaslOptions | undefined | null): SaslOptions | null {
  if (sasl === undefined || sasl === null) return null;
  const m = String((sasl as { mechanism?: unknown }).mechanism ?? "").toLowerCase() as SaslMechanism;
  if (!MECHANISMS.includes(m))
    throw new InvalidArgumentError(
      `sasl.mechanism "${(sasl as { mechanism?: unknown }).mechanism}": expected one of ${MECHANISMS.join(", ")}`,
    );
  if (m === "oauthbearer") {
    const p = (sasl as { oauthBearerProvider?: unknown }).oauthBearerProvider;
    if (typeof p !== "function")
      throw new InvalidArgumentError("sasl.oauthBearerProvider must be a function returning { value }");
    return { mechanism: m, oauthBearerProvider: p as () => Promise<OauthBearerToken> };
  }
  const { username, password } = sasl as { username?: unknown; password?: unknown };
  if (typeof username !== "string" || username === "")
    throw new InvalidArgumentError(`sasl.username is required for ${m}`);
  if (typeof password !== "string") throw new InvalidArgumentError(`sasl.password is required for ${m}`);
  return { mechanism: m, username, password };
}
