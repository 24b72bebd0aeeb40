import { readFileSync } from 'node:fs';
import { SIM_DEFAULTS, startWs1Simulator, type Ws1SimulatorOptions } from './ws1-simulator';

const HELP = `Workspace ONE UEM REST API simulator (device search subset)

Usage: node dist/scripts/ws1-sim/main.js [options]

  --host H                    listen address (default 127.0.0.1)
  --port N                    listen port (default 8089; 0 = any free port)
  --devices-per-platform N    generate N devices for each of Apple, AppleOsX, Android, WinRT (default 100)
  --seed N                    seed of the generated fleet (default 1)
  --inventory FILE            load devices from a JSON file ({Devices:[...]} or an array, WS1 field names)
  --quota N                   API requests per window (default 50000)
  --quota-window SECONDS      quota window (default 86400)
  --latency MS                delay every answer
  --tenant-code CODE          expected aw-tenant-code (default ${SIM_DEFAULTS.tenantCode})
  --username NAME             API account (default ${SIM_DEFAULTS.username})
  --password PW               its password (default: SIM_DEFAULTS.password in ws1-simulator.ts)
  --tls-cert FILE --tls-key FILE   serve HTTPS
  --help                      this text
`;

type Flag = { key: string; kind: 'string' | 'int' };
const FLAGS: Record<string, Flag> = {
  '--host': { key: 'host', kind: 'string' },
  '--port': { key: 'port', kind: 'int' },
  '--devices-per-platform': { key: 'devicesPerPlatform', kind: 'int' },
  '--seed': { key: 'seed', kind: 'int' },
  '--inventory': { key: 'inventoryFile', kind: 'string' },
  '--quota': { key: 'quota', kind: 'int' },
  '--quota-window': { key: 'quotaWindowSeconds', kind: 'int' },
  '--latency': { key: 'latencyMs', kind: 'int' },
  '--tenant-code': { key: 'tenantCode', kind: 'string' },
  '--username': { key: 'username', kind: 'string' },
  '--password': { key: 'password', kind: 'string' },
  '--tls-cert': { key: 'tlsCert', kind: 'string' },
  '--tls-key': { key: 'tlsKey', kind: 'string' },
};

export function parseArgs(argv: string[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) [arg, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    if (arg === '--help' || arg === '-h') { out.help = true; continue; }
    const flag = FLAGS[arg];
    if (!flag) throw new Error(`unknown option ${arg} (see --help)`);
    value ??= argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (flag.kind === 'int') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg} wants a non-negative integer, got "${value}"`);
      out[flag.key] = n;
    } else out[flag.key] = value;
  }
  return out;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  if (args.help) return void process.stdout.write(HELP);
  const { tlsCert, tlsKey, ...rest } = args;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const options: Ws1SimulatorOptions = {
    port: 8089,
    devicesPerPlatform: rest.inventoryFile === undefined ? 100 : undefined,
    ...(rest as Ws1SimulatorOptions),
    tls: tlsCert ? { cert: readFileSync(String(tlsCert)), key: readFileSync(String(tlsKey)) } : undefined,
  };
  const started = Date.now();
  const sim = await startWs1Simulator(options);
  // Neither the password nor the API key is printed, even the simulator's own.
  process.stdout.write(
    `WS1 simulator on ${sim.url} (${sim.devices.size} devices, ready in ${Date.now() - started} ms), username ${sim.credentials.username}\n` +
    `  try: curl -u "${sim.credentials.username}:$WS1_PASSWORD" -H "aw-tenant-code: $WS1_TENANT_CODE" ` +
    `-H 'Accept: application/json;version=2' '${sim.url}/API/mdm/devices/search?platform=Apple&page=0&pagesize=2'\n`,
  );
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`ws1-sim: ${err.message}\n`);
    process.exit(1);
  });
}
