// The client's errors. Every error it throws is a MilenaError, which says whether retrying the
// same operation may succeed (`retriable`). A Kafka error code from the broker becomes a
// KafkaProtocolError carrying the code (`code`), Kafka's name for it (`type`, e.g.
// "UNKNOWN_TOPIC_OR_PARTITION", as kafkajs's KafkaJSProtocolError has it), and where it
// happened (`topic`, `partition`, `broker` when known); the codes a Milena broker can answer
// have their own subclass (UnknownTopicOrPartitionError ...), so `instanceof` works as well as
// comparing `code`. Transport problems are ConnectionError / RequestTimeoutError (retriable).
//
// Kafka's names and retriability come from src/protocol/error_codes.ts, the one table.

import { ErrorCode, errorName, isRetriable } from "../protocol/error_codes.ts";

/** Where an error happened, when known. */
export interface ErrorDetails {
  topic?: string;
  partition?: number;
  /** "host:port" or the WebSocket URL of the broker. */
  broker?: string;
  /** The underlying error (a socket error, the last retriable error before giving up ...). */
  cause?: unknown;
}

/** Kafka's name for an error code ("UNKNOWN_ERROR_<code>" when it is not known). */
export function kafkaErrorName(code: number): string {
  return errorName(code);
}

/** Whether Kafka classes an error code as retriable. */
export function isRetriableCode(code: number): boolean {
  return isRetriable(code);
}

export class MilenaError extends Error {
  /** Whether the same operation may succeed if tried again. */
  readonly retriable: boolean;
  readonly topic?: string;
  readonly partition?: number;
  readonly broker?: string;

  constructor(message: string, retriable = false, details: ErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = new.target.name;
    this.retriable = retriable;
    if (details.topic !== undefined) this.topic = details.topic;
    if (details.partition !== undefined) this.partition = details.partition;
    if (details.broker !== undefined) this.broker = details.broker;
  }
}

/** An error code from the broker (or the same condition found by the client first). */
export class KafkaProtocolError extends MilenaError {
  /** Kafka's error code. */
  readonly code: number;
  /** Kafka's name for the code, e.g. "OFFSET_OUT_OF_RANGE". */
  readonly type: string;

  constructor(code: number, message?: string, details: ErrorDetails = {}) {
    const type = kafkaErrorName(code);
    const where =
      details.topic !== undefined
        ? ` (${details.topic}${details.partition !== undefined ? `-${details.partition}` : ""})`
        : "";
    super(`${type}${where}${message ? `: ${message}` : ""}`, isRetriableCode(code), details);
    this.code = code;
    this.type = type;
  }
}

/** The connection to a broker failed or closed (retriable: the client reconnects). */
export class ConnectionError extends MilenaError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, true, details);
  }
}

/**
 * The TLS handshake failed because a certificate was refused (the broker's, not signed by a
 * trusted CA or not for that host; or the client's): not retriable, trying again fails the same.
 */
export class TlsError extends MilenaError {
  /** node:tls's code (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID). */
  readonly code?: string;
  constructor(message: string, details: ErrorDetails & { code?: string } = {}) {
    super(message, false, details);
    if (details.code !== undefined) this.code = details.code;
  }
}

/**
 * OpenSSL's / node:tls's codes for a refused certificate, ours or the broker's (trying again
 * fails the same way): such a failure is a TlsError. Plain strings, so the browser-safe
 * WebSocket transport can check a `ws` error's code too.
 */
export const CERTIFICATE_ERRORS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
]);

/** A TlsError for a socket error that is a refused certificate, else null. */
export function tlsRefusal(label: string, e: unknown): TlsError | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !CERTIFICATE_ERRORS.has(code)) return null;
  return new TlsError(`TLS with ${label} failed: ${(e as Error).message} (${code})`, {
    broker: label,
    cause: e,
    code,
  });
}

/** No reply within requestTimeout (retriable; the connection is closed, as Kafka clients do). */
export class RequestTimeoutError extends MilenaError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, true, details);
  }
}

/** The producer, consumer or admin was used before connect() or after disconnect(). */
export class NotConnectedError extends MilenaError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A bad argument or configuration (not retriable). */
export class InvalidArgumentError extends MilenaError {
  constructor(message: string) {
    super(message, false);
  }
}

/** Several operations failed at once (e.g. createTopics of several topics); `errors` has each. */
export class MilenaAggregateError extends MilenaError {
  constructor(
    message: string,
    readonly errors: MilenaError[],
  ) {
    super(
      message,
      errors.every((e) => e.retriable),
    );
  }
}

/**
 * SASL authentication failed (kafkajs: KafkaJSSASLAuthenticationError): the broker refused the
 * credentials (SASL_AUTHENTICATION_FAILED, with its message), does not offer the mechanism
 * (UNSUPPORTED_SASL_MECHANISM), does not take SASL on that listener (ILLEGAL_SASL_STATE), or the
 * client refused the broker (a wrong SCRAM server signature). Not retriable: the same
 * credentials fail again.
 */
export class SaslAuthenticationError extends KafkaProtocolError {
  constructor(
    message?: string,
    details: ErrorDetails = {},
    code: number = ErrorCode.SASL_AUTHENTICATION_FAILED,
  ) {
    super(code, message, details);
  }
}

// ---- one subclass per code a Milena broker answers (and a few a Kafka cluster adds) ----

export class UnknownServerError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.UNKNOWN_SERVER_ERROR, message, details);
  }
}
export class OffsetOutOfRangeError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, message, details);
  }
}
export class CorruptMessageError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.CORRUPT_MESSAGE, message, details);
  }
}
export class UnknownTopicOrPartitionError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message, details);
  }
}
export class LeaderNotAvailableError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.LEADER_NOT_AVAILABLE, message, details);
  }
}
export class NotLeaderOrFollowerError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.NOT_LEADER_OR_FOLLOWER, message, details);
  }
}
export class RequestTimedOutError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.REQUEST_TIMED_OUT, message, details);
  }
}
export class MessageTooLargeError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.MESSAGE_TOO_LARGE, message, details);
  }
}
export class CoordinatorNotAvailableError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.COORDINATOR_NOT_AVAILABLE, message, details);
  }
}
export class InvalidTopicError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_TOPIC_EXCEPTION, message, details);
  }
}
export class RecordListTooLargeError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.RECORD_LIST_TOO_LARGE, message, details);
  }
}
export class InvalidRequiredAcksError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_REQUIRED_ACKS, message, details);
  }
}
export class UnsupportedVersionError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.UNSUPPORTED_VERSION, message, details);
  }
}
export class TopicAlreadyExistsError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.TOPIC_ALREADY_EXISTS, message, details);
  }
}
export class InvalidPartitionsError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_PARTITIONS, message, details);
  }
}
export class InvalidReplicationFactorError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_REPLICATION_FACTOR, message, details);
  }
}
export class InvalidReplicaAssignmentError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message, details);
  }
}
export class InvalidConfigError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_CONFIG, message, details);
  }
}
export class InvalidRequestError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_REQUEST, message, details);
  }
}
export class KafkaStorageError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, message, details);
  }
}
export class TopicDeletionDisabledError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(73, message, details);
  }
}
export class UnsupportedCompressionTypeError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message, details);
  }
}
export class InvalidRecordError extends KafkaProtocolError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_RECORD, message, details);
  }
}

type ProtocolErrorClass = new (message?: string, details?: ErrorDetails) => KafkaProtocolError;

const BY_CODE = new Map<number, ProtocolErrorClass>([
  [ErrorCode.UNKNOWN_SERVER_ERROR, UnknownServerError],
  [ErrorCode.OFFSET_OUT_OF_RANGE, OffsetOutOfRangeError],
  [ErrorCode.CORRUPT_MESSAGE, CorruptMessageError],
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UnknownTopicOrPartitionError],
  [ErrorCode.LEADER_NOT_AVAILABLE, LeaderNotAvailableError],
  [ErrorCode.NOT_LEADER_OR_FOLLOWER, NotLeaderOrFollowerError],
  [ErrorCode.REQUEST_TIMED_OUT, RequestTimedOutError],
  [ErrorCode.MESSAGE_TOO_LARGE, MessageTooLargeError],
  [ErrorCode.COORDINATOR_NOT_AVAILABLE, CoordinatorNotAvailableError],
  [ErrorCode.INVALID_TOPIC_EXCEPTION, InvalidTopicError],
  [ErrorCode.RECORD_LIST_TOO_LARGE, RecordListTooLargeError],
  [ErrorCode.INVALID_REQUIRED_ACKS, InvalidRequiredAcksError],
  [ErrorCode.UNSUPPORTED_VERSION, UnsupportedVersionError],
  [ErrorCode.TOPIC_ALREADY_EXISTS, TopicAlreadyExistsError],
  [ErrorCode.INVALID_PARTITIONS, InvalidPartitionsError],
  [ErrorCode.INVALID_REPLICATION_FACTOR, InvalidReplicationFactorError],
  [ErrorCode.INVALID_REPLICA_ASSIGNMENT, InvalidReplicaAssignmentError],
  [ErrorCode.INVALID_CONFIG, InvalidConfigError],
  [ErrorCode.INVALID_REQUEST, InvalidRequestError],
  [ErrorCode.KAFKA_STORAGE_ERROR, KafkaStorageError],
  [73, TopicDeletionDisabledError],
  [ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, UnsupportedCompressionTypeError],
  [ErrorCode.INVALID_RECORD, InvalidRecordError],
  [ErrorCode.SASL_AUTHENTICATION_FAILED, SaslAuthenticationError],
]);

/** The typed error for a Kafka error code (its subclass when there is one). */
export function protocolError(
  code: number,
  message?: string | null,
  details?: ErrorDetails,
): KafkaProtocolError {
  const cls = BY_CODE.get(code);
  return cls !== undefined
    ? new cls(message ?? undefined, details)
    : new KafkaProtocolError(code, message ?? undefined, details);
}
