import { assertAdmin } from '../access/policy.js';
import { InvalidError } from '../errors.js';
import type { NodeChange, NodeInfo, Runtime } from '../runtime/runtime.js';
import type { Ask, Op } from './operation.js';

/** The swarm runtime, for an admin: nodes are the fleet's, not an app's. */
function fleet({ services, caller }: Ask, what: string): Runtime {
  assertAdmin(caller, what);
  return services.runtime.named('swarm');
}

export async function listNodes(ask: Ask): Promise<NodeInfo[]> {
  const swarm = fleet(ask, 'nodes');
  const problem = await swarm.unavailable();
  if (problem) throw new InvalidError(`no swarm to list: ${problem}`);
  return swarm.nodes();
}

/** The line to run on another Docker engine to make it a worker of this swarm. */
export function nodeJoinCommand(ask: Ask): Promise<string> {
  return fleet(ask, 'nodes:add').joinCommand();
}

/** Drains a node (its tasks run elsewhere before this returns) or makes it active again. */
export function setNodeAvailability(op: Op, node: string, availability: 'active' | 'drain'): Promise<NodeChange> {
  const swarm = fleet(op, availability === 'drain' ? 'nodes:drain' : 'nodes:activate');
  return swarm.setAvailability(node, availability, nodeOptions(op));
}

export function removeNode(op: Op, node: string): Promise<NodeChange> {
  return fleet(op, 'nodes:remove').removeNode(node, nodeOptions(op));
}

/** Tasks get two ready timeouts to start elsewhere: an image pull, then the health check. */
function nodeOptions(op: Op): { progress: Op['progress']; signal: AbortSignal; timeoutMs: number } {
  return { progress: op.progress, signal: op.signal, timeoutMs: op.services.config.readyTimeoutMs * 2 + 30_000 };
}
