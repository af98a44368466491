import { table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { InvalidError } from '../errors.js';
import { HEADING } from '../output/progress.js';

export const nodesCommands: CommandSpec[] = [
  {
    name: 'nodes',
    usage: '[--json]',
    summary: "The swarm's nodes: role, state, address, and which apps' tasks run on each",
    adminOnly: true,
    async run({ values, io, services }) {
      const swarm = services.runtime.named('swarm');
      const problem = await swarm.unavailable();
      if (problem) throw new InvalidError(`no swarm to list: ${problem}`);
      const nodes = await swarm.nodes();
      if (values.json) return writeJson(io.stdout, nodes);
      io.stdout.write(
        `${HEADING}Nodes\n${table([['HOSTNAME', 'ROLE', 'STATE', 'AVAILABILITY', 'ADDRESS', 'ENGINE'], ...nodes.map((n) => [n.hostname, n.role, n.state, n.availability, n.address, n.engine])])}`,
      );
      for (const n of nodes) {
        io.stdout.write(`\n${HEADING}Tasks on ${n.hostname}\n`);
        io.stdout.write(n.tasks.length ? table(n.tasks.map((t) => [t.app, `${t.process}.${t.index}`, `v${t.release}`, t.state])) : '(none)\n');
      }
    },
  },
];
