import path from 'node:path';

/** The optional configuration file inside a home, read by the server and the CLI alike. */
export const CONFIG_FILE_NAME = 'scepter.env';

/**
 * The default home: the checkout this code runs from (dist/src/config -> the repository root, or
 * src/config when run from sources), so `npm install && npm start` keeps its data beside the code.
 */
export function defaultHome(): string {
  const up = path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? 3 : 2;
  return path.resolve(__dirname, ...Array<string>(up).fill('..'));
}

/** SCEPTER_HOME (absolute, or relative to the working directory), else the checkout. */
export function homeOf(env: NodeJS.ProcessEnv): string {
  const set = env.SCEPTER_HOME?.trim();
  return set ? path.resolve(set) : defaultHome();
}
