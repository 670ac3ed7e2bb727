// SASL authentication of one connection, right after ApiVersions (and again to re-authenticate,
// KIP-368): SaslHandshake v1 names the mechanism, then the exchange travels in SaslAuthenticate
// (v0-2, the newest the broker advertises; v1+ answers session_lifetime_ms). Mechanisms:
//   PLAIN        one step: "\0<user>\0<password>" (RFC 4616)
//   SCRAM-SHA-*  two steps (src/client/scram.ts); the server signature is checked
//   OAUTHBEARER  one step: "n,,\x01auth=Bearer <token>\x01[key=value\x01...]\x01" (RFC 7628,
//                extensions as KIP-342), the token from the provider (asked again on every
//                authentication, so re-authentication takes a fresh token)
// Any refusal is a SaslAuthenticationError carrying the broker's message.

import type { ApiCodec } from "../protocol/api.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { saslAuthenticateCodec, saslHandshakeCodec } from "../protocol/security.ts";
import { SaslAuthenticationError } from "./errors.ts";
import { ScramClient, ScramError, type ScramMechanism } from "./scram.ts";
import type { OauthBearerToken, SaslOptions } from "./security.ts";
import type { SaslCrypto } from "./web_crypto.ts";

/** What authenticate() needs of the connection. */
export interface SaslChannel {
  readonly label: string;
  /** The version agreed for an API, or -1. */
  version(apiKey: number): number;
  /** Send now (ahead of requests held back during a re-authentication) and decode the reply. */
  call<Req, Res, ReqIn>(codec: ApiCodec<Req, Res, ReqIn, unknown>, version: number, req: ReqIn): Promise<Res>;
}

const utf8 = new TextEncoder();

/** RFC 7628's initial client response (KIP-342 extensions; "auth" is reserved). */
export function oauthBearerInitialResponse(token: OauthBearerToken): Uint8Array {
  if (typeof token?.value !== "string" || token.value === "")
    throw new SaslAuthenticationError("the oauthBearerProvider returned no token value");
  if (!/^[\x21-\x7e]+$/.test(token.value))
    throw new SaslAuthenticationError("the OAUTHBEARER token has characters a bearer token cannot have");
  let ext = "";
  for (const [k, v] of Object.entries(token.extensions ?? {})) {
    if (k === "auth" || !/^[A-Za-z]+$/.test(k))
      throw new SaslAuthenticationError(`bad OAUTHBEARER extension name "${k}"`);
    if (!/^[\x21-\x7e \t\r\n]*$/.test(v))
      throw new SaslAuthenticationError(`bad OAUTHBEARER extension value for "${k}"`);
    ext += `${k}=${v}\x01`;
  }
  return utf8.encode(`n,,\x01auth=Bearer ${token.value}\x01${ext}\x01`);
}

/** The PLAIN message (no authorization id). */
export function plainMessage(username: string, password: string): Uint8Array {
  return utf8.encode(`\u0000${username}\u0000${password}`);
}

/** Authenticate; resolves with the session lifetime the broker gave (ms, 0 = none). */
export async function authenticate(
  ch: SaslChannel,
  sasl: SaslOptions,
  crypto: SaslCrypto | null,
): Promise<number> {
  const mechanism = sasl.mechanism.toUpperCase();
  const broker = ch.label;
  if (ch.version(ApiKey.SaslHandshake) < 1)
    throw new SaslAuthenticationError(
      `${broker} does not serve SaslHandshake v1 (this client does not speak the v0 raw-token exchange)`,
      { broker },
      ErrorCode.ILLEGAL_SASL_STATE,
    );
  const av = ch.version(ApiKey.SaslAuthenticate);
  if (av < 0)
    throw new SaslAuthenticationError(
      `${broker} does not serve SaslAuthenticate`,
      { broker },
      ErrorCode.ILLEGAL_SASL_STATE,
    );
  const h = await ch.call(saslHandshakeCodec, 1, { mechanism });
  if (h.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM)
    throw new SaslAuthenticationError(
      `${broker} does not offer SASL ${mechanism} (it offers ${h.mechanisms.join(", ") || "none"})`,
      { broker },
      h.errorCode,
    );
  if (h.errorCode === ErrorCode.ILLEGAL_SASL_STATE)
    throw new SaslAuthenticationError(
      `${broker} refused the SASL handshake (ILLEGAL_SASL_STATE: is it a SASL_PLAINTEXT / SASL_SSL listener?)`,
      { broker },
      h.errorCode,
    );
  if (h.errorCode !== 0)
    throw new SaslAuthenticationError(`SaslHandshake answered error ${h.errorCode}`, { broker }, h.errorCode);
  let lifetime = 0;
  const step = async (bytes: Uint8Array): Promise<Uint8Array> => {
    const r = await ch.call(saslAuthenticateCodec, av, { authBytes: bytes });
    if (r.errorCode !== 0)
      throw new SaslAuthenticationError(
        `SASL ${mechanism} authentication with ${broker} failed${r.errorMessage ? `: ${r.errorMessage}` : ""}`,
        { broker },
        r.errorCode,
      );
    lifetime = Number(r.sessionLifetimeMs ?? 0);
    return r.authBytes;
  };
  if (sasl.mechanism === "plain") {
    await step(plainMessage(sasl.username, sasl.password));
  } else if (sasl.mechanism === "oauthbearer") {
    let token: OauthBearerToken;
    try {
      token = await sasl.oauthBearerProvider();
    } catch (e) {
      throw new SaslAuthenticationError(`the oauthBearerProvider failed: ${(e as Error).message}`, {
        broker,
        cause: e,
      });
    }
    await step(oauthBearerInitialResponse(token));
  } else {
    if (crypto === null)
      throw new SaslAuthenticationError(
        `SASL ${mechanism} needs Web Crypto (crypto.subtle), which this environment lacks (a browser page outside a secure context?)`,
        { broker },
      );
    const scram = new ScramClient(crypto, mechanism as ScramMechanism, sasl.username, sasl.password);
    try {
      const serverFirst = await step(scram.first());
      const serverFinal = await step(await scram.final(serverFirst));
      scram.verify(serverFinal);
    } catch (e) {
      if (e instanceof ScramError)
        throw new SaslAuthenticationError(`SASL ${mechanism} with ${broker}: ${e.message}`, {
          broker,
          cause: e,
        });
      throw e;
    }
  }
  return Math.max(lifetime, 0);
}
