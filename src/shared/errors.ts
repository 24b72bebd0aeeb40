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
  constructor(message = 'authentication required', readonly challenge?: string) {
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
  constructor(message = 'too many requests', readonly retryAfterSeconds = 60) {
    super(message, { status: 429, code: 'too_many_requests' });
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(message: string) {
    super(message, { status: 503, code: 'unavailable', expose: true });
  }
}

/** Invalid configuration: start-up stops with one line naming the variable (exit code 2). */
export class ConfigError extends AppError {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`, { status: 500, code: 'config', expose: false });
  }
}
