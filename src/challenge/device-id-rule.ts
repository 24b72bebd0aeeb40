import { BadRequestError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';

/** Apple UDIDs: 40 hex digits (older devices) or 25 characters like 00008030-001A35E83C38802E. */
export const DEFAULT_DEVICE_ID_PATTERN = '[A-Za-z0-9-]{25}|[A-Za-z0-9-]{40}';

/** Longest device id checked against the pattern; longer ones are refused before matching. */
const MAX_DEVICE_ID = 256;

/**
 * What a device id given by an admin or a challenge client may look like (SCEPTER_DEVICE_ID_PATTERN,
 * matched against the whole id). Control and invisible formatting characters (src/shared/printable-text.ts)
 * are refused whatever the pattern says.
 */
export class DeviceIdRule {
  private readonly pattern: RegExp;

  constructor(readonly source: string = DEFAULT_DEVICE_ID_PATTERN) {
    this.pattern = new RegExp(`^(?:${source})$`);
  }

  /** The id as given, or BadRequestError (400) naming the rule; never echoes the id. */
  check(id: string, what = 'device id'): string {
    const rule = `${what} must match ${this.source} (SCEPTER_DEVICE_ID_PATTERN)`;
    if (id.length === 0 || id.length > MAX_DEVICE_ID) throw new BadRequestError(rule);
    if (hasUnprintable(id)) throw new BadRequestError(`${rule} without control or invisible formatting characters`);
    if (!this.pattern.test(id)) throw new BadRequestError(rule);
    return id;
  }
}
