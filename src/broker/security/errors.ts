// The errors of SASL authentication and of SCRAM credential management, each carrying the Kafka
// error code the broker answers with.
//
// SaslAuthenticationError: an authentication refused. Its `message` is safe to send to the client
// (SaslAuthenticate's error_message): it never says whether the user exists, what was wrong with
// a proof or which step failed. What went wrong, for the broker's own log, is in `reason` (which
// may name the user and say it does not exist: never send it). This mirrors Kafka's
// SaslServerAuthenticator: a SaslException's text stays on the broker and the client gets
// "Authentication failed during authentication due to invalid credentials with SASL mechanism
// <M>"; only a SaslAuthenticationException's own text (authzid mismatch, PLAIN's "Invalid username
// or password") goes to the client.
//
// UnacceptableCredentialError: a credential refused when it is created or altered
// (AlterUserScramCredentials: too few or too many iterations, empty user name), with Kafka's
// messages (ScramControlManager.validateUpsertion).

import { ErrorCode } from "../../protocol/error_codes.ts";

/** Kafka's UNACCEPTABLE_CREDENTIAL (Errors.java, 93): not in src/protocol/error_codes.ts yet. */
export const UNACCEPTABLE_CREDENTIAL = 93;

export class SaslAuthenticationError extends Error {
  override name = "SaslAuthenticationError";
  /** SASL_AUTHENTICATION_FAILED (58), or ILLEGAL_SASL_STATE (34) for a message out of turn. */
  readonly errorCode: number;
  /** For the broker's log only: may reveal whether the user exists. */
  readonly reason: string;

  constructor(message: string, options: { reason?: string; errorCode?: number } = {}) {
    super(message);
    this.errorCode = options.errorCode ?? ErrorCode.SASL_AUTHENTICATION_FAILED;
    this.reason = options.reason ?? message;
  }
}

/**
 * Kafka's answer to every SaslException (SaslServerAuthenticator.handleSaslToken): the same text
 * whatever failed, so a client learns nothing about which users exist.
 */
export function invalidCredentialsMessage(mechanism: string): string {
  return `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
}

/** PlainSaslServer's and ScramSaslServer's SaslAuthenticationException for an authzid that is not the user. */
export const AUTHZID_MISMATCH_MESSAGE =
  "Authentication failed: Client requested an authorization id that is different from username";

export class UnacceptableCredentialError extends Error {
  override name = "UnacceptableCredentialError";
  readonly errorCode = UNACCEPTABLE_CREDENTIAL;
}
