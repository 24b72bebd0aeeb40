import { readFileSync } from 'node:fs';
import { SIM_DEFAULTS, startWs1Simulator, type Ws1SimFault, type Ws1SimulatorOptions } from './ws1-simulator';

const HELP = `Workspace ONE UEM REST API simulator (device search subset)

Usage: node dist/scripts/ws1-sim/main.js [options]

  --host H                    listen address (default 127.0.0.1)
  --port N                    listen port (default 8089; 0 = any free port)
  --devices-per-platform N    generate N devices for each of Apple, AppleOsX, Android, WinRT (default 100)
  --seed N                    seed of the generated fleet (default 1)
  --inventory FILE            load devices from a JSON file instead: {"Devices": [...]} or an array of
                              WS1 device objects; Udid and Platform (Apple, AppleOsX, Android, WinRT)
                              required, optional SerialNumber, MacAddress, Imei, DeviceFriendlyName,
                              Model, OperatingSystem, UserName, UserEmailAddress, EnrollmentStatus
                              (default Enrolled), LastSeen; e.g.
                              {"Devices":[{"Udid":"00008110-000A1B2C3D4E5F01","Platform":"Apple",
                                "EnrollmentStatus":"Enrolled","UserName":"alice"}]}
  --quota N                   API requests per window (default 50000)
  --quota-window SECONDS      quota window (default 86400)
  --latency MS                delay every answer
  --tenant-code CODE          expected aw-tenant-code (default ${SIM_DEFAULTS.tenantCode})
  --username NAME             API account (default ${SIM_DEFAULTS.username})
  --password PW               its password (default ${SIM_DEFAULTS.password})
  --fault SPEC                inject a fault into the API answers, for tests and demos:
                              status:CODE (answer CODE, WS1's error body), hang (never answer) or
                              reset (drop the connection), then optional ,on-request=N (from the
                              Nth matching request), ,times=N, ,page=N, ,path=/api/mdm/devices/search
                              e.g. --fault status:503,page=1,times=1 (page 1 fails once)
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
  '--fault': { key: 'fault', kind: 'string' },
};

/** `--fault status:503,page=1,times=1` -> the simulator's fault object. */
export function parseFault(spec: string): Ws1SimFault {
  const [head, ...mods] = spec.split(',');
  const [type, status] = (head ?? '').split(':');
  let fault: Ws1SimFault;
  if (type === 'status' && /^[1-5]\d\d$/.test(status ?? '')) fault = { type: 'status', status: Number(status) };
  else if ((type === 'hang' || type === 'reset') && status === undefined) fault = { type };
  else throw new Error(`--fault wants status:CODE, hang or reset, got "${head}"`);
  for (const mod of mods) {
    const [k, v] = mod.split('=');
    if (k === 'path' && v?.startsWith('/')) fault.path = v.toLowerCase();
    else if ((k === 'on-request' || k === 'times' || k === 'page') && /^\d+$/.test(v ?? '')) fault[k === 'on-request' ? 'onRequest' : k] = Number(v);
    else throw new Error(`--fault: unknown modifier "${mod}" (on-request=N, times=N, page=N, path=/...)`);
  }
  return fault;
}

export function parseArgs(argv: string[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    let arg: string = argv[i] ?? '';
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) [arg, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
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
  const { tlsCert, tlsKey, fault, ...rest } = args;
  let injected: Ws1SimFault | undefined;
  try {
    injected = fault === undefined ? undefined : parseFault(String(fault));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const options: Ws1SimulatorOptions = {
    port: 8089,
    devicesPerPlatform: rest.inventoryFile === undefined ? 100 : undefined,
    ...(rest as Ws1SimulatorOptions),
    tls: tlsCert ? { cert: readFileSync(String(tlsCert)), key: readFileSync(String(tlsKey)) } : undefined,
  };
  const started = Date.now();
  const sim = await startWs1Simulator(options);
  if (injected) sim.setFault(injected);
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
