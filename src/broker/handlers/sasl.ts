// SASL on the SASL_PLAINTEXT / SASL_SSL listeners (Kafka's SaslServerAuthenticator), and the
// SCRAM users (DescribeUserScramCredentials, AlterUserScramCredentials).
//
//   SaslHandshake v1       the client names a mechanism of sasl.enabled.mechanisms, else
//                          UNSUPPORTED_SASL_MECHANISM with the list; on a listener without SASL, or
//                          twice without an authentication between, ILLEGAL_SASL_STATE
//   SaslAuthenticate       PLAIN: one step; SCRAM-SHA-256/512: client-first -> server-first,
//                          client-final -> server-final; OAUTHBEARER: one step (the client's
//                          message with a JWT, security/oauthbearer.ts). Success: the
//                          connection's principal is User:<name> (OAUTHBEARER: the token's sub),
//                          session_lifetime_ms is connections.max.reauth.ms, for OAUTHBEARER
//                          min(exp - now, connections.max.reauth.ms when > 0), as Kafka (the
//                          client re-authenticates with a new handshake before it ends, or the
//                          connection is closed at its next request). A re-authentication as
//                          another principal is refused (the connection closes), as Kafka.
//                          Failure: SASL_AUTHENTICATION_FAILED with a message that never says
//                          whether the user exists, answered after
//                          connection.failed.authentication.delay.ms, then the connection closes.

import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "../../protocol/security.ts";
import type { Connection, RequestContext } from "../../transport/connection.ts";
import type { BrokerContext } from "../context.ts";
import { SaslAuthenticationError, UnacceptableCredentialError } from "../security/errors.ts";
import { OAuthBearerServerExchange, type TokenValidator } from "../security/oauthbearer.ts";
import { verifyPlainAsync } from "../security/plain.ts";
import type { SaslCredentials } from "../security/sasl_store.ts";
import {
  isScramMechanism,
  SCRAM_MECHANISM_TYPE,
  type ScramMechanism,
  ScramServerExchange,
  scramCredentialFromSaltedPassword,
  scramMechanismFromType,
  validateScramUpsertion,
} from "../security/scram.ts";

const EMPTY = new Uint8Array(0);

export function handleSaslHandshake(
  ctx: BrokerContext,
  req: SaslHandshakeRequest,
  rc: RequestContext,
): SaslHandshakeResponse {
  const mechanisms = ctx.config.saslEnabledMechanisms;
  const s = rc.connection.sasl;
  if (s === null || s.mechanism !== null) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
  const mechanism = req.mechanism.toUpperCase();
  if (!mechanisms.includes(mechanism)) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
  s.mechanism = mechanism;
  s.exchange = null;
  // v0: the exchange follows as raw tokens (Connection.rawSaslToken -> saslRawToken).
  s.raw = rc.header.apiVersion === 0;
  return { errorCode: ErrorCode.NONE, mechanisms };
}

/** What a SASL listener authenticates against: the SCRAM users, and OAUTHBEARER's token check (null: not enabled). */
export interface SaslBackends {
  users: SaslCredentials;
  oauthbearer: TokenValidator | null;
}

type SaslStep =
  | { ok: true; bytes: Uint8Array; sessionLifetimeMs: number }
  | { ok: false; errorCode: number; message: string };

/** One step of the connection's exchange (SaslAuthenticate's bytes, or a v0 raw token). */
async function saslStep(
  ctx: BrokerContext,
  { users, oauthbearer }: SaslBackends,
  conn: Connection,
  bytes: Uint8Array,
): Promise<SaslStep> {
  const s = conn.sasl;
  if (s === null || s.mechanism === null)
    return {
      ok: false,
      errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      message: "SaslAuthenticate before a SaslHandshake",
    };
  const mechanism = s.mechanism;
  const maxReauthMs = ctx.config.connectionsMaxReauthMs;
  /** Authenticated; the session lasts connections.max.reauth.ms, or until a credential expires (0: no end). */
  const done = (username: string, reply: Uint8Array, credentialExpiresAtMs = 0): SaslStep => {
    const principal = `User:${username}`;
    // A re-authentication (KIP-368) renews the session of the same principal: a credential of
    // someone else (another user's token) is refused, and the connection closes, as Kafka does.
    if (s.authenticated && conn.principal !== principal)
      throw new SaslAuthenticationError(
        `Cannot change principals during re-authentication from ${conn.principal.replace(":", ".")}: ${principal.replace(":", ".")}`,
      );
    conn.principal = principal;
    s.authenticated = true;
    s.mechanism = null;
    s.exchange = null;
    s.raw = false;
    const now = Date.now();
    let lifetime = maxReauthMs;
    // Kafka's ReauthInfo: min(credential lifetime, connections.max.reauth.ms when set). A token
    // accepted within the clock skew after its exp gets 1 ms (0 would mean "no end").
    if (credentialExpiresAtMs > 0) {
      const left = Math.max(1, Math.floor(credentialExpiresAtMs - now));
      lifetime = maxReauthMs > 0 ? Math.min(left, maxReauthMs) : left;
    }
    s.expiresAtMs = lifetime > 0 ? now + lifetime : 0;
    return { ok: true, bytes: reply, sessionLifetimeMs: lifetime };
  };
  try {
    if (mechanism === "PLAIN") {
      const { username } = await verifyPlainAsync(bytes, (u) => users.user(u), {
        fakeCredentialSecret: users.secret,
      });
      return done(username, EMPTY);
    }
    if (mechanism === "OAUTHBEARER" && oauthbearer !== null) {
      let x = s.exchange as OAuthBearerServerExchange | null;
      if (x === null) {
        // After SaslHandshake v0 there is no error code: an invalid token is answered as Kafka
        // does, with an error challenge, and the client's "\x01" then fails.
        x = new OAuthBearerServerExchange(oauthbearer, { challengeOnInvalidToken: s.raw });
        s.exchange = x;
      }
      const reply = await x.evaluate(bytes);
      if (!x.complete) return { ok: true, bytes: reply, sessionLifetimeMs: 0 };
      return done(x.result.principalName, reply, x.result.expiresAtMs);
    }
    if (!isScramMechanism(mechanism))
      return { ok: false, errorCode: ErrorCode.ILLEGAL_SASL_STATE, message: `mechanism ${mechanism}` };
    let x = s.exchange as ScramServerExchange | null;
    if (x === null) {
      x = new ScramServerExchange(mechanism, (u) => users.user(u)?.[mechanism], {
        fakeCredentialSecret: users.secret,
      });
      s.exchange = x;
      return { ok: true, bytes: x.first(Buffer.from(bytes)), sessionLifetimeMs: 0 };
    }
    const serverFinal = x.final(Buffer.from(bytes));
    return done(x.principal, serverFinal);
  } catch (e) {
    if (!(e instanceof SaslAuthenticationError)) throw e;
    ctx.logger.limited(
      "authentication failed",
      `SASL ${mechanism} authentication from ${conn.sink.remote} on ${conn.sink.listener} failed: ${e.reason ?? e.message}`,
    );
    s.mechanism = null;
    s.exchange = null;
    // Answered after a delay (against guessing); the connection then closes, as Kafka does.
    await new Promise((r) => setTimeout(r, ctx.config.connectionFailedAuthenticationDelayMs));
    return { ok: false, errorCode: e.errorCode, message: e.message };
  }
}

export async function handleSaslAuthenticate(
  ctx: BrokerContext,
  backends: SaslBackends,
  req: SaslAuthenticateRequest,
  rc: RequestContext,
): Promise<SaslAuthenticateResponse> {
  const r = await saslStep(ctx, backends, rc.connection, req.authBytes);
  if (r.ok)
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      authBytes: r.bytes,
      sessionLifetimeMs: r.sessionLifetimeMs,
    };
  const conn = rc.connection;
  // A SASL connection that failed is closed once the answer is out; a SaslAuthenticate on a
  // listener without SASL is only answered (ILLEGAL_SASL_STATE): closing it later would cut the
  // requests it sent since.
  if (conn.sasl !== null) setTimeout(() => conn.fail("SASL authentication failed"), 50).unref();
  return { errorCode: r.errorCode, errorMessage: r.message, authBytes: EMPTY, sessionLifetimeMs: 0 };
}

/** A raw token after SaslHandshake v0: the reply token, or null (failed: the connection closes). */
export async function saslRawToken(
  ctx: BrokerContext,
  backends: SaslBackends,
  conn: Connection,
  token: Buffer,
): Promise<Uint8Array | null> {
  const r = await saslStep(ctx, backends, conn, token);
  return r.ok ? r.bytes : null;
}

/** DescribeUserScramCredentials: each user's mechanisms and iterations (never the keys). */
export function handleDescribeUserScramCredentials(
  users: SaslCredentials,
  req: DescribeUserScramCredentialsRequest,
): DescribeUserScramCredentialsResponse {
  const names = req.users === null || req.users.length === 0 ? users.users() : req.users.map((u) => u.name);
  const seen = new Set<string>();
  const results = names.map((user) => {
    if (seen.has(user))
      return {
        user,
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: "Cannot describe the same user twice in a single request",
        credentialInfos: [],
      };
    seen.add(user);
    const creds = users.user(user);
    if (creds === undefined)
      return {
        user,
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
        credentialInfos: [],
      };
    const credentialInfos = (Object.entries(creds) as [ScramMechanism, { iterations: number }][]).map(
      ([m, c]) => ({ mechanism: SCRAM_MECHANISM_TYPE[m], iterations: c.iterations }),
    );
    return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos };
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
}

/**
 * AlterUserScramCredentials: the client sends each upsertion's salt and salted password (never
 * the password); the stored and server keys are derived from it and written with the rest.
 * One error per user, Kafka's: UNSUPPORTED_SASL_MECHANISM, UNACCEPTABLE_CREDENTIAL (iterations,
 * an empty name), DUPLICATE_RESOURCE (a user twice), RESOURCE_NOT_FOUND (deleting nothing).
 */
export async function handleAlterUserScramCredentials(
  ctx: BrokerContext,
  users: SaslCredentials,
  req: AlterUserScramCredentialsRequest,
): Promise<AlterUserScramCredentialsResponse> {
  const errors = new Map<string, { code: number; message: string }>();
  const fail = (user: string, code: number, message: string) => {
    if (!errors.has(user)) errors.set(user, { code, message });
  };
  const count = new Map<string, number>();
  for (const x of [...req.deletions, ...req.upsertions]) {
    const key = `${x.name}\u0000${x.mechanism}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  const order: string[] = [];
  const upserts: Parameters<SaslCredentials["alter"]>[0][number][] = [];
  const deletes: Parameters<SaslCredentials["alter"]>[1][number][] = [];
  for (const d of req.deletions) {
    if (!order.includes(d.name)) order.push(d.name);
    const m = scramMechanismFromType(d.mechanism);
    if (m === undefined) fail(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
    else if ((count.get(`${d.name}\u0000${d.mechanism}`) ?? 0) > 1)
      fail(
        d.name,
        ErrorCode.DUPLICATE_RESOURCE,
        "A user credential cannot be altered twice in the same request",
      );
    else if (users.user(d.name)?.[m] === undefined)
      fail(d.name, ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist");
    else deletes.push({ user: d.name, mechanism: m });
  }
  for (const u of req.upsertions) {
    if (!order.includes(u.name)) order.push(u.name);
    const m = scramMechanismFromType(u.mechanism);
    if (m === undefined) {
      fail(u.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
      continue;
    }
    if ((count.get(`${u.name}\u0000${u.mechanism}`) ?? 0) > 1) {
      fail(
        u.name,
        ErrorCode.DUPLICATE_RESOURCE,
        "A user credential cannot be altered twice in the same request",
      );
      continue;
    }
    try {
      validateScramUpsertion(u.name, u.iterations);
      upserts.push({
        user: u.name,
        mechanism: m,
        credential: scramCredentialFromSaltedPassword(m, u.salt, u.saltedPassword, u.iterations),
      });
    } catch (e) {
      if (!(e instanceof UnacceptableCredentialError)) throw e;
      fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, e.message);
    }
  }
  // A user with an error has none of its changes applied.
  const ok = (user: string) => !errors.has(user);
  try {
    await users.alter(
      upserts.filter((u) => ok(u.user)),
      deletes.filter((d) => ok(d.user)),
    );
  } catch (e) {
    ctx.logger.limited("scram users", `writing the SCRAM credentials failed: ${(e as Error).message}`);
    for (const user of order)
      fail(user, ErrorCode.UNKNOWN_SERVER_ERROR, "the credentials could not be stored");
  }
  return {
    throttleTimeMs: 0,
    results: order.map((user) => {
      const e = errors.get(user);
      return { user, errorCode: e?.code ?? ErrorCode.NONE, errorMessage: e?.message ?? null };
    }),
  };
}
