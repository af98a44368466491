import type { Docker } from '../docker/client.js';
import { isConflict, isNotFound } from '../docker/client.js';
import { LABEL_APP, LABEL_APP_ID } from '../domain/names.js';
import type { App } from '../domain/entities.js';
import { volumeName } from '../domain/storage.js';
import { ConflictError, ExternalError } from '../errors.js';

export const LABEL_VOLUME = 'skiff.volume';

/** Whose volumes: an app by its identity (a volume of an earlier app of the same name is not its). */
export type VolumeOwner = Pick<App, 'name' | 'id' | 'createdAt'>;

/** The storage seam: an app's named volumes in the engine. */
export interface VolumeStore {
  /** Makes the volume unless it is there; refuses one of that name that is not the app's. */
  ensure(app: VolumeOwner, name: string): Promise<string>;
  /** The app's volumes (storage names). */
  names(app: VolumeOwner): Promise<string[]>;
  /** The same, with bytes on disk where the engine says (it walks every volume to say). */
  list(app: VolumeOwner): Promise<{ name: string; bytes: number | null }[]>;
  /** Removes one; refuses while a container uses it. */
  remove(app: VolumeOwner, name: string): Promise<void>;
  /** Removes all of the app's (apps:destroy); those still in use stay, and are returned. */
  removeApp(app: VolumeOwner): Promise<string[]>;
}

interface VolumeInfo {
  Name: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

/**
 * Whether a volume is this very app's: its name, storage and identity
 * labels say so; one made before identities counts when it is younger than
 * the app (an earlier app of that name was destroyed before this one was made).
 */
function isOwnedBy(v: VolumeInfo, app: VolumeOwner): boolean {
  const labels = v.Labels ?? {};
  const storage = labels[LABEL_VOLUME];
  if (labels[LABEL_APP] !== app.name || storage === undefined || v.Name !== volumeName(app.name, storage)) return false;
  const id = labels[LABEL_APP_ID];
  if (id !== undefined) return id === app.id;
  return v.CreatedAt !== undefined && Date.parse(v.CreatedAt) >= Date.parse(app.createdAt);
}

/** Named volumes labelled with their app, its identity and the storage name; Skiff touches none that is not the app's. */
export class Volumes implements VolumeStore {
  constructor(private readonly docker: Docker) {}

  async ensure(app: VolumeOwner, name: string): Promise<string> {
    const volume = volumeName(app.name, name);
    try {
      const info = (await this.docker.getVolume(volume).inspect()) as VolumeInfo;
      if (!isOwnedBy(info, app)) throw new ConflictError(`a volume named ${volume} exists and is not ${app.name}'s; remove it or choose another name`);
      return volume;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.docker.createVolume({ Name: volume, Labels: { [LABEL_APP]: app.name, [LABEL_APP_ID]: app.id, [LABEL_VOLUME]: name } });
    return volume;
  }

  async names(app: VolumeOwner): Promise<string[]> {
    const { Volumes } = (await this.docker.listVolumes({ filters: { label: [`${LABEL_APP}=${app.name}`, LABEL_VOLUME] } })) as { Volumes: VolumeInfo[] | null };
    // Labels alone could be copied onto any volume: the name must be the one Skiff gives it too, and the identity the app's.
    return (Volumes ?? [])
      .filter((v) => isOwnedBy(v, app))
      .map((v) => (v.Labels ?? {})[LABEL_VOLUME])
      .sort();
  }

  async list(app: VolumeOwner): Promise<{ name: string; bytes: number | null }[]> {
    const names = await this.names(app);
    // Sizes come from the engine's disk usage report, which walks every volume: only when there are some.
    const sizes = new Map<string, number>();
    if (names.length) {
      const df = await diskUsage(this.docker).catch(() => ({ Volumes: [] }));
      for (const v of df.Volumes ?? []) if (v.UsageData?.Size !== undefined && v.UsageData.Size >= 0) sizes.set(v.Name, v.UsageData.Size);
    }
    return names.map((name) => ({ name, bytes: sizes.get(volumeName(app.name, name)) ?? null }));
  }

  async remove(app: VolumeOwner, name: string): Promise<void> {
    const volume = volumeName(app.name, name);
    try {
      if (!isOwnedBy(await this.docker.getVolume(volume).inspect(), app)) return;
      await this.docker.getVolume(volume).remove();
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) throw new ConflictError(`${name} is still in use by a container of ${app.name}; try again once it has stopped`);
      throw new ExternalError(`could not remove the volume ${volume}: ${(err as Error).message}`, err);
    }
  }

  async removeApp(app: VolumeOwner): Promise<string[]> {
    const left: string[] = [];
    for (const name of await this.names(app)) {
      await this.remove(app, name).catch(() => left.push(name));
    }
    return left;
  }
}

/** The engine's disk usage of volumes only (older engines ignore the filter and report everything). */
function diskUsage(docker: Docker): Promise<{ Volumes?: { Name: string; UsageData?: { Size?: number } }[] }> {
  return new Promise((resolve, reject) => {
    docker.modem.dial({ path: '/system/df?type=volume', method: 'GET', statusCodes: { 200: true, 400: 'bad request', 500: 'server error' } }, (err, data) =>
      err ? reject(err) : resolve(data as { Volumes?: { Name: string; UsageData?: { Size?: number } }[] }),
    );
  });
}
