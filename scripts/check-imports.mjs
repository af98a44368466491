#!/usr/bin/env node
// The import rules `npm run check` enforces (ARCHITECTURE.md, "Floors"):
// a module imports only from its own floor or below, only src/docker/
// imports dockerode or calls it (every other floor has the Engine's typed
// clients), and the doors (ssh, http, server, main) import no command
// module but the dispatcher. Reads the sources as text: every `from '…'` and
// `import('…')`, and every call of dockerode's own methods.
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src');

/** Floors, lowest first: what a floor may import is on it or below it. */
const FLOORS = [
  ['output', 'config.ts', 'errors.ts', 'log.ts', 'files.ts', 'clock.ts', 'processes.ts', 'modules.ts'],
  ['docker', 'domain'],
  ['builder', 'runtime', 'router', 'registry', 'store', 'git'],
  ['access'],
  ['pipeline'],
  ['operations'],
  ['commands'],
  ['ssh', 'http', 'server', 'main.ts'],
];

function floorOf(file) {
  const top = path.relative(SRC, file).split(path.sep)[0];
  const floor = FLOORS.findIndex((names) => names.includes(top));
  if (floor < 0) throw new Error(`${path.relative(SRC, file)} is on no floor: add ${top} to FLOORS in scripts/check-imports.mjs`);
  return floor;
}

function* sources(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

/** dockerode's methods (and its modem; a getter of its takes an argument, the Dockerfile parser's getImage() none): called anywhere but src/docker/, the engine is being talked to around its clients. */
const DOCKERODE_CALLS =
  /\.(getContainer|getImage|getNetwork|getVolume|getService|getExec)\((?!\))|\.(createContainer|listContainers|listImages|buildImage|createNetwork|listNetworks|createVolume|listVolumes|createService|listServices|listTasks|listNodes|demuxStream)\(|\.modem\b|\bcreateDocker\b/g;

const problems = [];
for (const file of sources(SRC)) {
  const text = fs.readFileSync(file, 'utf8');
  const rel = path.relative(SRC, file);
  if (!rel.startsWith(`docker${path.sep}`))
    for (const m of text.matchAll(DOCKERODE_CALLS)) problems.push(`${rel} calls dockerode (${m[0]}): only src/docker/ may; use the Engine's clients`);
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'([^']+)'/gm)) {
    const spec = m[1];
    if (spec === 'dockerode' && !rel.startsWith(`docker${path.sep}`)) problems.push(`${rel} imports dockerode: only src/docker/ may`);
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
    if (floorOf(target) > floorOf(file)) problems.push(`${rel} imports ${path.relative(SRC, target)}, a floor above it`);
    // The doors reach commands through the dispatcher alone; everything else they need is an operation.
    const door = floorOf(file) === FLOORS.length - 1;
    const command = path.relative(SRC, target).split(path.sep)[0] === 'commands';
    if (door && command && path.relative(SRC, target) !== path.join('commands', 'dispatch.ts'))
      problems.push(`${rel} imports ${path.relative(SRC, target)}: a door calls operations, and commands only through commands/dispatch.ts`);
  }
}
if (problems.length) {
  console.error(`Import rules broken:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('Imports point down only; only src/docker/ imports or calls dockerode; doors reach commands through the dispatcher alone.');
