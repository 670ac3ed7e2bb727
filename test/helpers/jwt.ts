// Tokens as a user's backend mints them for SASL OAUTHBEARER: an RSA key pair whose public half
// the broker reads as a JWKS file (sasl.oauthbearer.jwks.endpoint.url), RS256 JWTs with kid k1,
// audience "milena" and issuer "https://backend.test" unless told otherwise, and a stranger's key
// the broker never saw.

import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import * as fs from "node:fs";

export const issuer = generateKeyPairSync("rsa", { modulusLength: 2048 });
export const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });

export const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
export const nowS = () => Math.floor(Date.now() / 1000);

/** A signed token for `sub` (valid 10 minutes), with `claims` on top. */
export function mint(
  sub: string,
  claims: Record<string, unknown> = {},
  key: KeyObject = issuer.privateKey,
): string {
  const input = `${b64({ alg: "RS256", typ: "JWT", kid: "k1" })}.${b64({
    sub,
    iat: nowS(),
    exp: nowS() + 600,
    aud: "milena",
    iss: "https://backend.test",
    ...claims,
  })}`;
  return `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

/** Write the issuer's JWKS (its public key as kid k1) to `path`. */
export function writeJwks(path: string): void {
  fs.writeFileSync(
    path,
    JSON.stringify({ keys: [{ ...issuer.publicKey.export({ format: "jwk" }), kid: "k1", use: "sig" }] }),
  );
}
