import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout. Secrets never reach a log line: callers log identifiers, and the
 * redact list is a safety net for field names that could carry one. `pretty` (SCEPTER_LOG_FORMAT)
 * prints the same lines for people: time, level, message, then the fields; still one event a line.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, format: 'json' | 'pretty' = 'json'): Logger {
  if (format === 'pretty') {
    const out = (destination ?? process.stdout) as NodeJS.WritableStream & { isTTY?: boolean };
    destination = pretty({
      destination: out,
      sync: true,
      colorize: Boolean(out.isTTY),
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o',
      ignore: 'pid,hostname,service',
      singleLine: true,
    });
  }
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
