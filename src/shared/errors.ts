/**
 * The one error hierarchy. Every refusal the service makes is an AppError; `http/error-mapping.ts`
 * turns it into an HTTP answer (and the SCEP service turns its ScepFailure, in scep/, into a signed CertRep).
 * `expose` says whether the message is safe to show a client; anything that is not an AppError is
 * an internal fault and is answered with a generic 500 text, never its message or stack.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;
  constructor(message: string, opts: { status: number; code: string; expose?: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = opts.status;
    this.code = opts.code;
    this.expose = opts.expose ?? opts.status < 500;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(message, { status: 400, code: 'bad_request', cause });
  }
}
export class UnauthorizedError extends AppError {
  constructor(
    message = 'authentication required',
    readonly challenge?: string,
  ) {
    super(message, { status: 401, code: 'unauthorized' });
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'forbidden') {
    super(message, { status: 403, code: 'forbidden' });
  }
}
export class NotFoundError extends AppError {
  constructor(message = 'not found') {
    super(message, { status: 404, code: 'not_found' });
  }
}
export class MethodNotAllowedError extends AppError {
  constructor(
    message: string,
    /** the methods the resource takes (the Allow header) */
    readonly allow: string[],
  ) {
    super(message, { status: 405, code: 'method_not_allowed' });
  }
}
export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, { status: 409, code: 'conflict' });
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(message = 'request body too large') {
    super(message, { status: 413, code: 'payload_too_large' });
  }
}
export class TooManyRequestsError extends AppError {
  constructor(
    message = 'too many requests',
    readonly retryAfterSeconds = 60,
  ) {
    super(message, { status: 429, code: 'too_many_requests' });
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(message: string) {
    super(message, { status: 503, code: 'unavailable', expose: true });
  }
}

/**
 * The database cannot be written or reached (disk full, read-only file, I/O error, lock held too
 * long, PostgreSQL down or out of resources). Nothing was recorded; the client should retry later:
 * HTTP 503 with Retry-After, or a signed CertRep FAILURE once a SCEP request was decrypted.
 */
export class StorageUnavailableError extends AppError {
  readonly retryAfterSeconds = 30;
  constructor(cause?: unknown) {
    super('storage temporarily unavailable, retry later', { status: 503, code: 'storage_unavailable', expose: true, cause });
  }
}

// SQLite result codes, and PostgreSQL SQLSTATEs (classes 08 connection, 53 resources, 57P operator
// intervention, 3D000 missing database, 25006 read-only transaction) that mean "cannot store now"
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|PROTOCOL|NOMEM)/;
const PG_UNAVAILABLE = /^(08...|53...|57P0[1-4]|3D000|25006|58030)$/;
// errors of the connection itself (pg's socket, TypeORM's pool) rather than of a statement
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENOSPC', 'EROFS', 'EIO', 'EDQUOT']);
const CONNECTION_TEXT =
  /Connection terminated|connection (timeout|is closed)|timeout exceeded when trying to connect|Client has encountered a connection error|database is locked|disk is full|readonly database|disk I\/O error/i;

/**
 * The one place database failures are recognised: a StorageUnavailableError wrapping `err` when it
 * is one (driver errors come bare or wrapped in TypeORM's QueryFailedError as `driverError`),
 * else undefined. Used by the HTTP error mapping and by the SCEP service after decryption.
 */
export function asStorageUnavailable(err: unknown): StorageUnavailableError | undefined {
  if (err instanceof StorageUnavailableError) return err;
  if (err instanceof AppError || !(err instanceof Error)) return undefined;
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const x = e as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    const code = typeof x.code === 'string' ? x.code : '';
    if (SQLITE_UNAVAILABLE.test(code) || PG_UNAVAILABLE.test(code) || NETWORK_CODES.has(code)) return new StorageUnavailableError(err);
    if (typeof x.message === 'string' && CONNECTION_TEXT.test(x.message)) return new StorageUnavailableError(err);
    e = x.driverError ?? x.cause;
  }
  return undefined;
}

/** Invalid configuration: start-up stops with one line naming the variable (exit code 2). */
export class ConfigError extends AppError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`, { status: 500, code: 'config', expose: false });
  }
}
