import { getApp } from '../access/policy.js';
import { composeFile } from '../domain/compose-file.js';
import { planFormation } from '../domain/formation.js';
import { ConflictError, InvalidError } from '../errors.js';
import { configOf } from '../pipeline/app-config.js';
import { releaseCommand } from '../pipeline/release-phase.js';
import type { Ask } from './operation.js';

/**
 * apps:compose APP [--with-values] [--seed]: a docker-compose.yaml for
 * local work that runs the app's current release image (by its content)
 * beside local copies of its linked services. Values only when asked (a
 * user of the app may read them with config:get too); --seed loads each
 * postgres's newest good backup, downloaded beside the file.
 */
export async function appCompose({ services, caller }: Ask, appName: string | undefined, options: { withValues: boolean; seed: boolean }): Promise<string> {
  const app = getApp(services, caller, appName);
  const rel = services.store.releases.current(app.name);
  if (!rel) throw new ConflictError(`${app.name} has no release yet; push to deploy first`);
  const links = services.store.backingServices.links({ app: app.name });
  const linked = new Set(links.map((l) => l.variable));
  const config = Object.fromEntries(
    Object.entries(configOf(services.store, app.name))
      .filter(([k]) => !linked.has(k))
      .map(([k, v]) => [k, options.withValues ? v : null]),
  );
  const processes = planFormation(rel.processes, services.store.formation.list(app.name))
    .filter((p) => p.quantity > 0)
    .map((p) => ({ process: p.process, command: p.command }));
  const composeLinks = links.map((link) => {
    const service = services.store.backingServices.find(link.service);
    if (!service || service.id !== link.serviceId) throw new ConflictError(`${link.service} was destroyed meanwhile; try again`);
    let seed: { backup: number } | null = null;
    if (options.seed && service.kind === 'postgres') {
      const good = services.store.backups.list(service.id).find((b) => b.status === 'good');
      if (!good) throw new InvalidError(`${service.name} has no good backup to seed from; services:backup ${service.name} first`);
      seed = { backup: good.id };
    }
    return { service: service.name, kind: service.kind, image: service.image, variable: link.variable, seed };
  });
  try {
    return composeFile({
      app: app.name,
      version: rel.version,
      image: (await services.images.id(rel.image)) ?? rel.image,
      processes,
      releaseCommand: releaseCommand(rel) ?? null,
      port: rel.port ?? services.config.appPort,
      config,
      mounts: services.store.mounts.list(app.name).map((m) => ({ name: m.from === null ? m.name : `${m.from}-${m.name}`, path: m.path })),
      links: composeLinks,
    });
  } catch (err) {
    throw new InvalidError((err as Error).message);
  }
}
