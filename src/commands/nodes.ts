import { listNodes, nodeJoinCommand, removeNode, setNodeAvailability } from '../operations/nodes.js';
import { HEADING, STEP } from '../output/progress.js';
import type { NodeInfo } from '../runtime/runtime.js';
import { table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { operation } from './operation-io.js';

const nodeNote = ({ positionals }: { positionals: string[] }): { app: null; detail: Record<string, unknown> } => ({
  app: null,
  detail: { node: positionals[0] ?? null },
});

export const nodesCommands: CommandSpec[] = [
  {
    name: 'nodes',
    usage: '[--json]',
    summary: "The swarm's nodes: role, state, availability, address, engine, CPUs and memory, and which apps' tasks run on each",
    adminOnly: true,
    async run({ values, io, services, caller }) {
      const nodes = await listNodes({ services, caller });
      if (values.json) return writeJson(io.stdout, nodes);
      io.stdout.write(
        `${HEADING}Nodes\n${table([
          ['HOSTNAME', 'ROLE', 'STATE', 'AVAILABILITY', 'ADDRESS', 'ENGINE', 'CPUS', 'MEMORY', 'TASKS'],
          ...nodes.map((n) => [n.hostname, n.role, n.state, n.availability, n.address, n.engine, cpus(n), memory(n), String(n.tasks.length)]),
        ])}`,
      );
      for (const n of nodes) {
        io.stdout.write(`\n${HEADING}Tasks on ${n.hostname}\n`);
        io.stdout.write(n.tasks.length ? table(n.tasks.map((t) => [t.app, `${t.process}.${t.index}`, `v${t.release}`, t.state])) : '(none)\n');
      }
    },
  },
  {
    name: 'nodes:add',
    usage: '',
    summary: 'Print the line that makes another Docker engine a worker of this swarm (run it there, as root)',
    adminOnly: true,
    audit: () => ({ app: null, detail: {} }),
    async run({ io, services, caller }) {
      const line = await nodeJoinCommand({ services, caller });
      io.stdout.write(`${STEP}On the new host, with the release images' registry reachable from it (SKIFF_REGISTRY), run:\n${line}\n`);
      io.stdout.write(`${STEP}Then nodes shows it. The token lets any engine join: keep it as a secret.\n`);
    },
  },
  {
    name: 'nodes:drain',
    usage: 'NODE',
    summary: "Move a node's tasks to the others (they start there before this returns) and give it no new ones",
    adminOnly: true,
    audit: nodeNote,
    async run(ctx) {
      const change = await setNodeAvailability(operation(ctx), ctx.positionals[0], 'drain');
      ctx.io.stdout.write(
        `${STEP}${change.node.hostname} is drained${change.moved ? `: ${change.moved} task(s) run on other nodes now` : ''}; nodes:activate ${change.node.hostname} takes it back\n`,
      );
    },
  },
  {
    name: 'nodes:activate',
    usage: 'NODE',
    summary: 'Let a drained node take tasks again (swarm moves none back by itself; the next deploy or scale-up places tasks there)',
    adminOnly: true,
    audit: nodeNote,
    async run(ctx) {
      const change = await setNodeAvailability(operation(ctx), ctx.positionals[0], 'active');
      ctx.io.stdout.write(`${STEP}${change.node.hostname} is active: new tasks may run on it\n`);
    },
  },
  {
    name: 'nodes:remove',
    usage: 'NODE',
    summary: 'Drain a worker node, then take it out of the swarm',
    adminOnly: true,
    audit: nodeNote,
    async run(ctx) {
      const change = await removeNode(operation(ctx), ctx.positionals[0]);
      ctx.io.stdout.write(`${STEP}${change.node.hostname} is out of the swarm${change.moved ? `; its ${change.moved} task(s) run on other nodes` : ''}\n`);
    },
  },
];

function cpus(n: NodeInfo): string {
  return n.cpus === null ? '?' : String(n.cpus);
}

function memory(n: NodeInfo): string {
  return n.memory === null ? '?' : `${(n.memory / 1024 ** 3).toFixed(1)} GiB`;
}
