import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout. Secrets never reach a log line: callers log identifiers, and the
 * redact list is a safety net for field names that could carry one.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'scepter' },
      redact: {
        paths: ['password', 'challenge', 'challengePassword', 'apiKey', 'authorization', '*.password', '*.challenge', '*.apiKey', '*.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
