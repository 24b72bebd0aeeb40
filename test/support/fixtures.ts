// Paths to the committed test fixtures (see test/fixtures/README.md). Compiled code runs
// from dist/test/support, so resolve back to the source tree rather than dist.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const fixturesDir = path.resolve(__dirname, '../../../test/fixtures');

export function fixturePath(name: string): string {
  return path.join(fixturesDir, name);
}

export function readFixture(name: string): Buffer {
  return fs.readFileSync(fixturePath(name));
}

export function readFixtureText(name: string): string {
  return fs.readFileSync(fixturePath(name), 'utf8');
}
