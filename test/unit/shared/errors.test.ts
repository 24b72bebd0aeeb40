import { expect } from 'chai';
import { QueryFailedError } from 'typeorm';
import { asStorageUnavailable, BadRequestError, StorageUnavailableError } from '../../../src/shared/errors';

/** Which database failures mean "cannot store now, retry later" (503 / SCEP FAILURE) and which stay faults. */
describe('asStorageUnavailable: the one place database failures are recognised', () => {
  const driver = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  const wrapped = (code: string, message = 'x') => new QueryFailedError('INSERT ...', [], driver(code, message));

  it('recognises a full, read-only or failing SQLite file and an unreachable or exhausted PostgreSQL', () => {
    for (const code of [
      'SQLITE_FULL',
      'SQLITE_IOERR',
      'SQLITE_READONLY',
      'SQLITE_BUSY',
      'SQLITE_CANTOPEN',
      '53100',
      '53300',
      '57P01',
      '08006',
      '3D000',
      '25006',
      'ECONNREFUSED',
      'ENOSPC',
    ]) {
      for (const err of [driver(code), wrapped(code)]) {
        const s = asStorageUnavailable(err);
        expect(s, code).to.be.instanceOf(StorageUnavailableError);
        expect([s!.status, s!.retryAfterSeconds, s!.cause]).to.deep.equal([503, 30, err]);
      }
    }
    expect(asStorageUnavailable(new Error('Connection terminated unexpectedly'))).to.be.instanceOf(StorageUnavailableError);
  });

  it('leaves constraint violations, SQL mistakes, our own refusals and non-errors alone', () => {
    for (const code of ['SQLITE_CONSTRAINT', 'SQLITE_ERROR', '23505', '42P01', '22001']) expect(asStorageUnavailable(wrapped(code)), code).to.equal(undefined);
    expect(asStorageUnavailable(new BadRequestError('no'))).to.equal(undefined);
    expect(asStorageUnavailable('SQLITE_FULL')).to.equal(undefined);
    expect(asStorageUnavailable(new TypeError('x is undefined'))).to.equal(undefined);
  });
});
