// The Schema Registry's errors as Confluent's REST API answers them: an HTTP status and a JSON
// body {"error_code": N, "message": "..."}, with Confluent's codes and messages
// (io.confluent.kafka.schemaregistry.rest.exceptions.Errors), so clients that switch on
// error_code (40401 subject not found, 409 incompatible, ...) behave as against Confluent's.

export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }

  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const Errors = {
  subjectNotFound: (subject: string) => new RegistryError(404, 40401, `Subject '${subject}' not found.`),
  versionNotFound: (version: number | string) =>
    new RegistryError(404, 40402, `Version ${version} not found.`),
  schemaNotFound: (id?: number) =>
    new RegistryError(404, 40403, id === undefined ? "Schema not found" : `Schema ${id} not found`),
  subjectSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      40404,
      `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
    ),
  subjectNotSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      40405,
      `Subject '${subject}' was not deleted first before being permanently deleted`,
    ),
  versionSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      40406,
      `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete permanently`,
    ),
  versionNotSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      40407,
      `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`,
    ),
  subjectLevelCompatibilityNotConfigured: (subject: string) =>
    new RegistryError(
      404,
      40408,
      `Subject '${subject}' does not have subject-level compatibility configured`,
    ),
  subjectLevelModeNotConfigured: (subject: string) =>
    new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`),
  incompatible: (message: string) => new RegistryError(409, 409, message),
  invalidSchema: (detail: string) => new RegistryError(422, 42201, `Invalid schema ${detail}`),
  invalidVersion: (version: string) =>
    new RegistryError(
      422,
      42202,
      `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    ),
  invalidCompatibilityLevel: () =>
    new RegistryError(
      422,
      42203,
      "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
    ),
  invalidMode: () =>
    new RegistryError(
      422,
      42204,
      "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT",
    ),
  operationNotPermitted: (message: string) => new RegistryError(422, 42205, message),
  /** Confluent's 42205 when an imported id is taken by another schema. */
  idInUse: (id: number) =>
    new RegistryError(422, 42205, `Overwrite new schema with id ${id} is not permitted.`),
  storeError: (message: string) => new RegistryError(500, 50001, message),
  timeout: (message: string) => new RegistryError(500, 50002, message),
  /** A cluster: the primary could not be reached, or failed to answer, for a forwarded write. */
  forwardingFailed: (detail: string) =>
    new RegistryError(500, 50003, `Error while forwarding the request to the primary: ${detail}`),
  /** A cluster: no primary known (the leader of `_schemas` being elected). */
  unknownPrimary: (detail: string) => new RegistryError(500, 50004, `Unknown primary: ${detail}`),
  // Jersey's own answers for what no resource matches, as Confluent's registry gives them.
  notFound: () => new RegistryError(404, 404, "HTTP 404 Not Found"),
  methodNotAllowed: () => new RegistryError(405, 405, "HTTP 405 Method Not Allowed"),
  unsupportedMediaType: () => new RegistryError(415, 415, "HTTP 415 Unsupported Media Type"),
  notAcceptable: () => new RegistryError(406, 406, "HTTP 406 Not Acceptable"),
  badRequest: (message: string) => new RegistryError(400, 400, message),
  unprocessable: (message: string) => new RegistryError(422, 422, message),
  tooLarge: (limit: number) =>
    new RegistryError(413, 413, `Request body larger than schema.registry.max.request.bytes (${limit})`),
};
