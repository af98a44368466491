// Drives Skiff's systemd runtime from inside a container whose PID 1 is
// systemd (see test/integration/systemd-runtime.test.ts). Usage:
//   node systemd-driver.mjs start SPEC_JSON OPTIONS_JSON   → prints the instance as JSON
//   node systemd-driver.mjs stop INSTANCE_JSON OPTIONS_JSON
import { createEngine } from '../../dist/docker/engine.js';
import { SystemdRuntime } from '../../dist/runtime/systemd-runtime.js';
import { silentLogger } from '../../dist/log.js';
import { Progress } from '../../dist/output/progress.js';

const [command, subject, options] = process.argv.slice(2);
const opts = JSON.parse(options);

const runtime = new SystemdRuntime(createEngine(), opts, silentLogger);
if (command === 'start') {
  const instance = await runtime.start(JSON.parse(subject), {
    readyTimeoutMs: 30_000,
    progress: new Progress([process.stderr]),
    signal: new AbortController().signal,
  });
  process.stdout.write(JSON.stringify(instance));
} else if (command === 'stop') {
  await runtime.stop([JSON.parse(subject)]);
} else {
  throw new Error(`unknown command ${command}`);
}
