import fc from 'fast-check';

/** Byte-level mutations of valid captured messages, the way a fuzzer corrupts inputs. */
export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'duplicate'; at: number; len: number };

const pos = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: pos.map((p) => p), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: pos, value: fc.constantFrom(0x00, 0x80, 0xff, 0x7f, 0x30, 0x04, 0x81, 0x82, 0x84) }),
  fc.record({ kind: fc.constant('truncate' as const), at: pos }),
  fc.record({ kind: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }),
) as fc.Arbitrary<Mutation>;

/** XORs the byte at `at` with `mask` in place (a RangeError outside the buffer). */
export function flipBits(b: Buffer, at: number, mask: number): void {
  b.writeUInt8(b.readUInt8(at) ^ mask, at);
}

export function mutate(input: Uint8Array, mutations: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = Math.floor((m as { at: number }).at * Math.max(b.length, 1));
    switch (m.kind) {
      case 'flip':
        if (b.length) flipBits(b, at, m.mask);
        break;
      case 'set':
        if (b.length) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at, at + m.len), b.subarray(at + m.len)]);
        break;
    }
  }
  return b;
}

/** Seeds plus 1-4 mutations, or plain random bytes (a tenth of the cases). */
export function mutatedInputs(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 9, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([s, ms]) => mutate(s, ms)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 2048 }).map((u) => Buffer.from(u)) },
  );
}
