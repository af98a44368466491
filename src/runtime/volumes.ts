import { isConflict, isNotFound } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import type { VolumeInfo } from '../docker/volumes.js';
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
  constructor(private readonly engine: Engine) {}

  async ensure(app: VolumeOwner, name: string): Promise<string> {
    const volume = volumeName(app.name, name);
    const found = await this.engine.volumes.find(volume);
    if (found) {
      if (!isOwnedBy(found, app)) throw new ConflictError(`a volume named ${volume} exists and is not ${app.name}'s; remove it or choose another name`);
      return volume;
    }
    await this.engine.volumes.create(volume, { [LABEL_APP]: app.name, [LABEL_APP_ID]: app.id, [LABEL_VOLUME]: name });
    return volume;
  }

  async names(app: VolumeOwner): Promise<string[]> {
    const volumes = await this.engine.volumes.list([`${LABEL_APP}=${app.name}`, LABEL_VOLUME]);
    // Labels alone could be copied onto any volume: the name must be the one Skiff gives it too, and the identity the app's.
    return volumes
      .filter((v) => isOwnedBy(v, app))
      .map((v) => (v.Labels ?? {})[LABEL_VOLUME])
      .sort();
  }

  async list(app: VolumeOwner): Promise<{ name: string; bytes: number | null }[]> {
    const names = await this.names(app);
    // Sizes come from the engine's disk usage report, which walks every volume: only when there are some.
    const sizes = new Map<string, number>();
    if (names.length) {
      const usage = await this.engine.volumes.sizes().catch(() => []);
      for (const v of usage) if (v.UsageData?.Size !== undefined && v.UsageData.Size >= 0) sizes.set(v.Name, v.UsageData.Size);
    }
    return names.map((name) => ({ name, bytes: sizes.get(volumeName(app.name, name)) ?? null }));
  }

  async remove(app: VolumeOwner, name: string): Promise<void> {
    const volume = volumeName(app.name, name);
    try {
      const found = await this.engine.volumes.find(volume);
      if (!found || !isOwnedBy(found, app)) return;
      await this.engine.volumes.remove(volume);
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
