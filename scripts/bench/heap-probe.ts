/**
 * Preloaded into a server process by the soak (`node -r heap-probe.js dist/src/server.js`); never part
 * of the service. On SIGUSR2 it runs a full garbage collection and writes process.memoryUsage() as
 * JSON to $SCEPTER_HEAP_PROBE_FILE, so the soak can judge memory by the live heap rather than by RSS,
 * which V8 grows lazily and returns to the system late.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

const file = process.env.SCEPTER_HEAP_PROBE_FILE;
if (file) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  process.on('SIGUSR2', () => {
    gc();
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
    fs.renameSync(`${file}.tmp`, file);
  });
}
