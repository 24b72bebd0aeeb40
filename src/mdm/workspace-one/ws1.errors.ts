import { AppError } from '../../shared/errors';

/**
 * Failures talking to Workspace ONE. They are upstream problems, so they map to 502/503/504 (never
 * 401/403: those would read as the admin's own credentials being wrong). Messages are ours and
 * never carry the password, the API key or WS1's raw text, so they are safe to show an admin.
 */
export interface Ws1ErrorDetails {
  /** HTTP status WS1 answered, when it answered. */
  upstreamStatus?: number;
  /** WS1 `errorCode` from the error body (1005, 1013, 5061 ...). */
  errorCode?: number;
  /** WS1 `activityId`, quoted to WS1 support when escalating. */
  activityId?: string;
  cause?: unknown;
}

export class Ws1Error extends AppError {
  readonly upstreamStatus?: number;
  readonly errorCode?: number;
  readonly activityId?: string;
  constructor(message: string, code: string, status: number, details: Ws1ErrorDetails = {}) {
    super(message, { status, code, expose: true, cause: details.cause });
    this.upstreamStatus = details.upstreamStatus;
    this.errorCode = details.errorCode;
    this.activityId = details.activityId;
  }
}

/** The client settings themselves are unusable (bad base URL, unreadable CA file). */
export class Ws1SettingsError extends Ws1Error {
  constructor(message: string, cause?: unknown) {
    super(message, 'ws1_settings', 400, { cause });
  }
}

/** 401 / errorCode 1005: username or password refused. */
export class Ws1AuthenticationError extends Ws1Error {
  constructor(details: Ws1ErrorDetails) {
    super('Workspace ONE rejected the username or password', 'ws1_bad_credentials', 502, details);
  }
}

/** 403 / errorCode 1013: the API key (aw-tenant-code) is unknown. */
export class Ws1TenantCodeError extends Ws1Error {
  constructor(details: Ws1ErrorDetails) {
    super('Workspace ONE does not recognise the API key (aw-tenant-code)', 'ws1_bad_tenant_code', 502, details);
  }
}

/** Any other 403: the account authenticates but its role lacks REST API read access. */
export class Ws1PermissionError extends Ws1Error {
  constructor(details: Ws1ErrorDetails) {
    super('The Workspace ONE account lacks REST API read permission on devices', 'ws1_no_permission', 502, details);
  }
}

export class Ws1HostNotFoundError extends Ws1Error {
  constructor(
    readonly host: string,
    cause?: unknown,
  ) {
    super(`Workspace ONE host not found: ${host}`, 'ws1_host_not_found', 502, { cause });
  }
}

/** Certificate verification or handshake failure; `tlsCode` is OpenSSL's/Node's code. */
export class Ws1TlsError extends Ws1Error {
  constructor(
    readonly tlsCode: string,
    cause?: unknown,
  ) {
    super(`TLS connection to Workspace ONE failed (${tlsCode})`, 'ws1_tls', 502, { cause });
  }
}

export class Ws1TimeoutError extends Ws1Error {
  constructor(readonly timeoutMs: number) {
    super(`Workspace ONE did not answer within ${timeoutMs} ms`, 'ws1_timeout', 504);
  }
}

/** The quota is exhausted and waiting for its reset would exceed the configured maximum. */
export class Ws1RateLimitError extends Ws1Error {
  constructor(
    readonly retryAfterMs: number,
    details: Ws1ErrorDetails = {},
  ) {
    super(`Workspace ONE API quota exhausted; it resets in ${Math.ceil(retryAfterMs / 1000)} s`, 'ws1_rate_limited', 503, details);
  }
}

/** 5xx that persisted through the retries. */
export class Ws1ServerError extends Ws1Error {
  constructor(details: Ws1ErrorDetails) {
    super(`Workspace ONE answered HTTP ${details.upstreamStatus ?? '?'}`, 'ws1_server_error', 502, details);
  }
}

/** Connection refused/reset and similar, after the retries. */
export class Ws1NetworkError extends Ws1Error {
  /** `retryable`: a transient condition (reset, refused, EAI_AGAIN ...) worth a retry. */
  constructor(
    readonly networkCode: string,
    readonly retryable: boolean,
    cause?: unknown,
  ) {
    super(`Network error talking to Workspace ONE (${networkCode})`, 'ws1_network', 502, { cause });
  }
}

/** An answer we cannot use: unexpected status, non-JSON or malformed body, 404 on the API path. */
export class Ws1ProtocolError extends Ws1Error {
  constructor(message: string, details: Ws1ErrorDetails = {}) {
    super(message, 'ws1_unexpected', 502, details);
  }
}
