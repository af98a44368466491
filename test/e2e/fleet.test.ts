import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, NODE_IMAGE, SERVICE_IMAGES } from '../helpers/base-image.js';
import { Pebble, httpsGet } from '../helpers/pebble.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  SkiffServer,
  commitAll,
  fixtureRepo,
  freePort,
  makeKey,
  removeDockerLeftovers,
  removeServiceLeftovers,
  tempDir,
  uniqueApp,
  waitFor,
} from '../helpers/skiff.js';
import { FLEET, fleet, managerAddress, underLoad, type LoadResult } from '../helpers/swarm.js';

interface PsInstance {
  name: string;
  state: string;
  release: number;
  node: string | null;
}

/**
 * A fleet of two real Docker engines: this host's (the manager) and a second
 * one in a network namespace of its own (scripts/fleet.sh), joined with the
 * line nodes:add prints. Release images go through a registry with
 * credentials; the app is served over HTTPS (pebble as the CA) through the
 * router and the gateway, which reach tasks on both nodes over the overlay.
 */
describe('a fleet of two Docker engines', () => {
  let registry: TestRegistry;
  let pebble: Pebble;
  let server: SkiffServer;
  let key: string;
  let userKey: string;
  let tlsPort: number;
  let root: string;
  let manager: string;
  const network = `skiff-fleet-${Math.random().toString(36).slice(2, 8)}`;
  const app = uniqueApp('fleet');
  const stateful = uniqueApp('fleetvol');
  const linked = uniqueApp('fleetdb');
  const db = uniqueApp('fleetpg');
  const host = (): string => `${app}.skiff.test`;
  let repo: string;

  const get = (): ReturnType<typeof httpsGet> => httpsGet(tlsPort, host(), root);
  const ps = async (): Promise<PsInstance[]> => (JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout) as { instances: PsInstance[] }).instances;
  const nodesOf = (instances: PsInstance[]): string[] => [...new Set(instances.map((i) => i.node ?? '?'))].sort();
  const both = (): string[] => [manager, FLEET.hostname].sort();
  const noFailures = (load: LoadResult): void => {
    expect(load.failed).toEqual([]);
    expect(load.sent).toBeGreaterThan(10);
  };

  /** Six replicas, then four again: the two new ones go to the node with fewer, and the two removed come from the one with more. */
  const spreadAgain = async (): Promise<void> => {
    expect((await server.ssh(key, ['ps:scale', app, 'web=6'])).exitCode).toBe(0);
    expect((await server.ssh(key, ['ps:scale', app, 'web=4'])).exitCode).toBe(0);
    const spread = await ps();
    expect(spread.filter((i) => i.state === 'running')).toHaveLength(4);
    expect(nodesOf(spread)).toEqual(both());
  };

  beforeAll(async () => {
    manager = (await execa('docker', ['info', '--format', '{{.Name}}'])).stdout.trim();
    const advertised = await managerAddress();
    if (advertised !== FLEET.hostAddr)
      throw new Error(
        `this engine's swarm advertises ${advertised}, not the fleet's ${FLEET.hostAddr}: docker swarm leave --force, and the test set-up makes it again`,
      );
    registry = await startRegistry({ username: 'skiff', password: 'fleet pass' });
    // The worker pulls from the registry at the same name, 127.0.0.1:PORT, forwarded into its namespace.
    await fleet('up', '--no-join', registry.address.split(':')[1]);
    let env: Record<string, string>;
    ({ pebble, tlsPort, env } = await Pebble.forSkiff());
    server = await SkiffServer.start({
      ...env,
      ...SERVICE_IMAGES,
      SKIFF_STACK_NODE_IMAGE: NODE_IMAGE,
      SKIFF_BUILD_CA_FILE: '/etc/ssl/certs/ca-certificates.crt',
      SKIFF_RUNTIME: 'swarm',
      SKIFF_SWARM_NETWORK: network,
      SKIFF_SWARM_GATEWAY_PORT: String(await freePort()),
      SKIFF_SWARM_GATEWAY_IMAGE: BASE_IMAGE,
      SKIFF_READY_TIMEOUT: '30',
      SKIFF_STOP_TIMEOUT: '5',
      SKIFF_REGISTRY: `${registry.address}/fleet`,
      SKIFF_REGISTRY_USER: 'skiff',
      SKIFF_REGISTRY_PASSWORD: 'fleet pass',
    });
    const keys = tempDir('keys');
    key = await makeKey(keys, 'admin');
    userKey = await makeKey(keys, 'bob');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    await server.cli(['keys:add', 'bob'], fs.readFileSync(`${userKey}.pub`, 'utf8'));
    repo = await fixtureRepo('node-fleet');
    root = await pebble.issuingRoot();
  }, 300_000);

  afterAll(async () => {
    await server?.ssh(key, ['apps:destroy', linked, '--confirm', linked]).catch(() => undefined);
    await server?.ssh(key, ['services:destroy', db, '--confirm', db]).catch(() => undefined);
    await server?.cleanup();
    await removeServiceLeftovers([db]);
    pebble?.stop();
    await execa('docker', ['service', 'rm', `skiff-${app}-web`, `skiff-${stateful}-web`, `skiff-${linked}-web`], { reject: false });
    await execa('docker', ['rm', '-f', `skiff-gateway-${server?.env.SKIFF_SWARM_GATEWAY_PORT}`], { reject: false });
    await removeDockerLeftovers([app, stateful, linked]);
    for (const n of [`${network}-${app}`, `${network}-${stateful}`, `${network}-${linked}`, network]) {
      await waitFor(async () => (await execa('docker', ['network', 'rm', n], { reject: false })).exitCode === 0, 30_000, `network ${n} removed`).catch(
        () => undefined,
      );
    }
    await fleet('down');
    await registry?.stop();
  }, 180_000);

  it('nodes:add prints the line that joins a second engine; nodes shows both, with CPUs and memory', async () => {
    const denied = await server.ssh(userKey, ['nodes:add']);
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toContain('nodes:add is for admins');
    expect(denied.stdout + denied.stderr).not.toContain('SWMTKN');

    const add = await server.ssh(key, ['nodes:add']);
    expect(add.exitCode, add.stderr).toBe(0);
    const line = /^docker swarm join --token (SWMTKN-\S+) (\S+)$/m.exec(add.stdout);
    expect(line, add.stdout).not.toBeNull();
    expect(line![2]).toBe(`${FLEET.hostAddr}:2377`);
    // The exact line, run against the worker's engine.
    await fleet('worker', ...line![0].split(' ').slice(1));
    await waitFor(async () => (await server.cli(['nodes'])).stdout.includes(FLEET.hostname), 30_000, 'the worker listed');

    const nodes = JSON.parse((await server.cli(['nodes', '--json'])).stdout) as {
      hostname: string;
      role: string;
      state: string;
      cpus: number;
      memory: number;
    }[];
    expect(nodes.map((n) => n.hostname).sort()).toEqual(both());
    const worker = nodes.find((n) => n.hostname === FLEET.hostname)!;
    expect(worker).toMatchObject({ role: 'worker', state: 'ready' });
    expect(worker.cpus).toBeGreaterThan(0);
    expect(worker.memory).toBeGreaterThan(0);
    const table = await server.cli(['nodes']);
    expect(table.stdout).toMatch(new RegExp(`${FLEET.hostname}\\s+worker\\s+ready\\s+active\\s+${FLEET.workerAddr.replaceAll('.', '\\.')}`));
    expect(JSON.stringify((await server.cli(['events', '--json'])).stdout)).toContain('nodes:add');
  });

  it('spreads four replicas over both nodes: the router reaches each over HTTPS; ps, logs and run', async () => {
    await server.ssh(key, ['apps:create', app]);
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain(`Pushing ${registry.address}/fleet/${app}:v1`);
    const scale = await server.ssh(key, ['ps:scale', app, 'web=4']);
    expect(scale.exitCode, scale.stderr).toBe(0);

    const instances = await ps();
    expect(instances.filter((i) => i.state === 'running')).toHaveLength(4);
    expect(nodesOf(instances)).toEqual(both());
    const text = await server.ssh(key, ['ps', app]);
    expect(text.stdout).toContain(`on ${FLEET.hostname}`);

    // Each container answers with its host name: those on the worker are the worker engine's containers.
    const onWorker = (await fleet('worker', 'ps', '--filter', `label=skiff.app=${app}`, '--format', '{{.ID}}')).split('\n').filter(Boolean);
    expect(onWorker.length).toBeGreaterThan(0);
    await waitFor(async () => (await httpsGet(tlsPort, host(), root).catch(() => ({ status: 0 }))).status === 200, 90_000, 'HTTPS for the app');
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) seen.add((await get()).body.trim().split(' ')[2]);
    expect(seen.size).toBe(4);
    expect([...seen].some((h) => onWorker.some((id) => id.startsWith(h) || h.startsWith(id)))).toBe(true);

    // Logs come from the worker's tasks too: each task logs its container's name as it starts.
    const logs = await server.ssh(key, ['logs', app, '-n', '50']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(onWorker.some((id) => logs.stdout.includes(`listening in ${id.slice(0, 12)}`))).toBe(true);

    const run = await server.ssh(key, ['run', app, 'echo', 'ran', 'here']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('ran here');
  });

  it('changes config, redeploys and rolls back on both nodes without failing a request', async () => {
    const load = await underLoad(get, async () => {
      const config = await server.ssh(key, ['config:set', app, 'GREETING=bonjour']);
      expect(config.exitCode, config.stderr).toBe(0);
      fs.writeFileSync(path.join(repo, 'server.js'), fs.readFileSync(path.join(repo, 'server.js'), 'utf8').replace("'v1'", "'v2'"));
      await commitAll(repo, 'v2');
      const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
      expect(push.exitCode, push.stderr).toBe(0);
    });
    noFailures(load);
    const after = await ps();
    expect(after.map((i) => i.release)).toEqual([3, 3, 3, 3]);
    expect(nodesOf(after)).toEqual(both());
    expect((await get()).body).toMatch(/^v2 bonjour /);

    const rollback = await underLoad(get, async () => {
      const back = await server.ssh(key, ['rollback', app, 'v2']);
      expect(back.exitCode, back.stderr).toBe(0);
    });
    noFailures(rollback);
    const rolled = await ps();
    expect(rolled.map((i) => i.release)).toEqual([4, 4, 4, 4]);
    expect(nodesOf(rolled)).toEqual(both());
    expect((await get()).body).toMatch(/^v1 bonjour /);
  });

  it('drains the worker under load without failing a request, and takes it back with nodes:activate', async () => {
    const load = await underLoad(get, async () => {
      const drain = await server.ssh(key, ['nodes:drain', FLEET.hostname]);
      expect(drain.exitCode, drain.stderr).toBe(0);
      expect(drain.stdout).toMatch(new RegExp(`${FLEET.hostname} is drained: \\d task\\(s\\) run on other nodes now`));
    });
    noFailures(load);
    const drained = await ps();
    expect(drained.filter((i) => i.state === 'running')).toHaveLength(4);
    expect(nodesOf(drained)).toEqual([manager]);
    expect((await server.cli(['nodes'])).stdout).toMatch(new RegExp(`${FLEET.hostname}\\s+worker\\s+ready\\s+drain`));

    const activate = await server.ssh(key, ['nodes:activate', FLEET.hostname]);
    expect(activate.exitCode, activate.stderr).toBe(0);
    expect((await server.cli(['nodes'])).stdout).toMatch(new RegExp(`${FLEET.hostname}\\s+worker\\s+ready\\s+active`));
    const events = (await server.cli(['events', '-n', '20'])).stdout;
    expect(events).toContain('nodes:drain');
    expect(events).toContain('nodes:activate');

    // Swarm moves nothing back by itself; new tasks go to the node with fewest, and a scale down takes from the one with most.
    await spreadAgain();
  });

  it('places the app on the worker (apps:set APP node) without failing a request, and serves it over HTTPS from there', async () => {
    const own = await server.ssh(key, ['nodes:drain', manager]);
    expect(own.exitCode).toBe(1);
    expect(own.stderr).toContain(`${manager} is this server's own node`);
    const userTry = await server.ssh(userKey, ['apps:set', app, 'node', FLEET.hostname]);
    expect(userTry.exitCode).toBe(1);

    const load = await underLoad(get, async () => {
      const placed = await server.ssh(key, ['apps:set', app, 'node', FLEET.hostname]);
      expect(placed.exitCode, placed.stderr).toBe(0);
      expect(placed.stdout).toContain(`tasks run on ${FLEET.hostname} now`);
    });
    noFailures(load);
    const placed = await ps();
    expect(placed.filter((i) => i.state === 'running')).toHaveLength(4);
    expect(nodesOf(placed)).toEqual([FLEET.hostname]);
    const answer = await get();
    expect(answer.status).toBe(200);
    expect(answer.issuer).toMatch(/Pebble/i);
    expect(JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).node).toBe(FLEET.hostname);

    const unknown = await server.ssh(key, ['apps:set', app, 'node', 'no-such-node']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("no node 'no-such-node' in this swarm; nodes lists them");
    expect((await server.ssh(key, ['nodes:drain', 'no-such-node'])).stderr).toContain("no node 'no-such-node' in this swarm");
    const any = await server.ssh(key, ['apps:set', app, 'node', 'any']);
    expect(any.exitCode, any.stderr).toBe(0);
  });

  it("pins an app with storage to this server's node: its tasks, one-offs and data stay there", async () => {
    expect((await server.ssh(key, ['apps:create', stateful])).exitCode).toBe(0);
    const single = await server.ssh(key, ['storage:mount', stateful, 'db:/db', '--single-writer']);
    expect(single.exitCode).toBe(1);
    expect(single.stderr).toContain('single-writer volume on swarm');
    const mount = await server.ssh(key, ['storage:mount', stateful, 'data:/data']);
    expect(mount.exitCode, mount.stderr).toBe(0);
    const push = await server.git(key, await fixtureRepo('node-fleet'), ['push', server.remote(stateful), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await server.ssh(key, ['ps:scale', stateful, 'web=4'])).exitCode).toBe(0);
    const instances = (JSON.parse((await server.ssh(key, ['ps', stateful, '--json'])).stdout) as { instances: PsInstance[] }).instances;
    expect(instances.filter((i) => i.state === 'running')).toHaveLength(4);
    expect(nodesOf(instances)).toEqual([manager]);
    const service = JSON.parse((await execa('docker', ['service', 'inspect', `skiff-${stateful}-web`])).stdout)[0];
    expect(service.Spec.TaskTemplate.Placement.Constraints).toEqual([`node.hostname==${manager}`]);
    expect(service.Spec.TaskTemplate.ContainerSpec.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Target: '/data' })]);

    // A one-off writes, a restart of every task keeps it, and a one-off reads it back: one volume, on this node.
    expect((await server.ssh(key, ['run', stateful, 'sh', '-c', "'echo kept > /data/file'"])).exitCode).toBe(0);
    expect((await server.ssh(key, ['ps:restart', stateful])).exitCode).toBe(0);
    expect((await server.ssh(key, ['run', stateful, 'cat', '/data/file'])).stdout).toContain('kept');
    const storage = JSON.parse((await server.ssh(key, ['storage', stateful, '--json'])).stdout) as { name: string; node: string }[];
    expect(storage).toEqual([expect.objectContaining({ name: 'data', node: manager })]);
    const moved = await server.ssh(key, ['apps:set', stateful, 'node', FLEET.hostname]);
    expect(moved.exitCode).toBe(1);
    expect(moved.stderr).toContain(`whose volumes live on ${manager}`);
  });

  it("links a database to a swarm app: tasks on both nodes reach it over the app's overlay, and an unlink takes it off", async () => {
    expect((await server.ssh(key, ['services:create', 'postgres', db])).exitCode).toBe(0);
    expect((await server.ssh(key, ['apps:create', linked])).exitCode).toBe(0);
    const link = await server.ssh(key, ['services:link', db, linked]);
    expect(link.exitCode, link.stderr).toBe(0);
    const push = await server.git(key, await fixtureRepo('node-postgres'), ['push', server.remote(linked), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await server.ssh(key, ['ps:scale', linked, 'web=4'])).exitCode).toBe(0);
    const instances = (JSON.parse((await server.ssh(key, ['ps', linked, '--json'])).stdout) as { instances: PsInstance[] }).instances;
    expect(nodesOf(instances)).toEqual(both());
    // The release phase (a one-off on this host) made the table; a row through psql.
    const sql = await server.ssh(key, ['services:connect', db], { input: "INSERT INTO items (name) VALUES ('from-psql');\n" });
    expect(sql.exitCode, sql.stderr).toBe(0);
    const items = async (): Promise<{ status: number; body: string }> => httpsGet(tlsPort, `${linked}.skiff.test`, root, '/items');
    await waitFor(async () => (await items().catch(() => ({ status: 0 }))).status === 200, 90_000, 'HTTPS for the linked app');
    // Every task answers with the row: those on the worker reach the database on this host too.
    const answers = await Promise.all(Array.from({ length: 16 }, () => items()));
    expect(answers.map((a) => `${a.status} ${a.body.trim()}`)).toEqual(Array.from({ length: 16 }, () => '200 from-psql'));

    const overlays = async (): Promise<string[]> => {
      const names = (await execa('docker', ['ps', '--filter', `name=skiff-service-${db}-`, '--format', '{{.Names}}'])).stdout.split('\n');
      const own = names.find((n) => /^skiff-service-[a-z0-9-]+-[0-9a-f]+$/.test(n) && !/-(connect|check)-/.test(n));
      return Object.keys(JSON.parse((await execa('docker', ['inspect', own ?? 'none'])).stdout)[0].NetworkSettings.Networks as object);
    };
    expect(await overlays()).toContain(`${network}-${linked}`);
    const unlink = await server.ssh(key, ['services:unlink', db, linked, '--no-release-phase']);
    expect(unlink.exitCode, unlink.stderr).toBe(0);
    expect(await overlays()).not.toContain(`${network}-${linked}`);
  });

  it('loses the worker outright: swarm starts its tasks on the manager; the failed requests and the recovery are reported', async () => {
    await spreadAgain();
    let lostAt = 0;
    let recoveredAt = 0;
    const load = await underLoad(get, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      lostAt = Date.now();
      // Power off: every process of the worker's namespace (its engine, containerd, the containers) at once.
      await fleet('kill');
      await waitFor(
        async () => {
          const running = (await ps()).filter((i) => i.state === 'running');
          return running.length === 4 && nodesOf(running).join() === manager;
        },
        120_000,
        'four tasks running on the manager',
      );
      recoveredAt = Date.now();
      // Requests after the recovery, to see that none fail any more.
      await new Promise((r) => setTimeout(r, 3000));
    });
    const failedAfter = load.timeline.filter((t) => !t.ok && t.at > recoveredAt);
    const lastFailure = Math.max(lostAt, ...load.timeline.filter((t) => !t.ok).map((t) => t.at));
    console.log(
      `worker lost: ${load.failed.length} of ${load.sent} requests failed; the last failure ${((lastFailure - lostAt) / 1000).toFixed(1)} s after the loss; ` +
        `all replicas running on the manager after ${((recoveredAt - lostAt) / 1000).toFixed(1)} s`,
    );
    expect(failedAfter).toEqual([]);
    expect((await get()).status).toBe(200);
    expect((await server.cli(['nodes'])).stdout).toMatch(new RegExp(`${FLEET.hostname}\\s+worker\\s+down`));
  });
});
