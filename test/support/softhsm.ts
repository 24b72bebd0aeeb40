// A SoftHSM2 token of its own for each test: a private SOFTHSM2_CONF and token directory under a
// temp dir, initialised with softhsm2-util. SoftHSM reads SOFTHSM2_CONF at C_Initialize, so the
// variable is set in this process (for in-process servers) and passed to child processes.
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeDir, run } from './proc';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  dir: string;
  conf: string;
  label: string;
  pin: string;
  /** mode 0600, holding the user PIN */
  pinFile: string;
  /** the settings a server needs for a CA key `object` in this token (plus SOFTHSM2_CONF) */
  env(object?: string): Record<string, string>;
  /** `pkcs11-tool` (OpenSC) on this token, logged in */
  tool(args: string[]): Promise<{ code: number | null; out: string }>;
  destroy(): void;
}

export async function createSoftHsm(label = 'scepter', pin = '123456'): Promise<SoftHsm> {
  const dir = makeTempDir('scepter-softhsm');
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const init = await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '12345678', '--pin', pin], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
  });
  if (init.exitCode !== 0) throw new Error(`softhsm2-util --init-token failed: ${init.stdout}${init.stderr}`);
  const pinFile = path.join(dir, 'pin');
  fs.writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  return {
    dir,
    conf,
    label,
    pin,
    pinFile,
    env: (object = 'scepter-ca') => ({
      SOFTHSM2_CONF: conf,
      SCEPTER_CA_KEY: `pkcs11:token=${label};object=${object}`,
      SCEPTER_PKCS11_MODULE: SOFTHSM_MODULE,
      SCEPTER_PKCS11_PIN_FILE: pinFile,
    }),
    tool: async (args) => {
      const r = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', label, '--login', '--pin', pin, ...args], {
        env: { ...process.env, SOFTHSM2_CONF: conf },
      });
      return { code: r.exitCode, out: r.stdout + r.stderr };
    },
    destroy: () => removeDir(dir),
  };
}
