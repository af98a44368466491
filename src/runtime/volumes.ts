import type { Docker } from '../docker/client.js';
import { isConflict, isNotFound } from '../docker/client.js';
import { LABEL_APP } from '../domain/names.js';
import { volumeName } from '../domain/storage.js';
import { ConflictError, ExternalError } from '../errors.js';

export const LABEL_VOLUME = 'skiff.volume';

/** The storage seam: an app's named volumes in the engine. */
export interface VolumeStore {
  /** Makes the volume unless it is there; refuses one of that name that is not the app's. */
  ensure(app: string, name: string): Promise<string>;
  /** The app's volumes (storage names). */
  names(app: string): Promise<string[]>;
  /** The same, with bytes on disk where the engine says (it walks every volume to say). */
  list(app: string): Promise<{ name: string; bytes: number | null }[]>;
  /** Removes one; refuses while a container uses it. */
  remove(app: string, name: string): Promise<void>;
  /** Removes all of the app's (apps:destroy); those still in use stay, and are returned. */
  removeApp(app: string): Promise<string[]>;
}

/** Named volumes labelled with their app and name; Skiff touches none without both labels. */
export class Volumes implements VolumeStore {
  constructor(private readonly docker: Docker) {}

  async ensure(app: string, name: string): Promise<string> {
    const volume = volumeName(app, name);
    try {
      const info = (await this.docker.getVolume(volume).inspect()) as { Labels?: Record<string, string> | null };
      if (info.Labels?.[LABEL_APP] !== app || info.Labels?.[LABEL_VOLUME] !== name) throw new ConflictError(`a volume named ${volume} exists and is not ${app}'s; remove it or choose another name`);
      return volume;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.docker.createVolume({ Name: volume, Labels: { [LABEL_APP]: app, [LABEL_VOLUME]: name } });
    return volume;
  }

  async names(app: string): Promise<string[]> {
    const { Volumes } = (await this.docker.listVolumes({ filters: { label: [`${LABEL_APP}=${app}`, LABEL_VOLUME] } })) as { Volumes: { Name: string; Labels: Record<string, string> }[] | null };
    // Labels alone could be copied onto any volume: the name must be the one Skiff gives it too.
    return (Volumes ?? []).filter((v) => v.Name === volumeName(app, v.Labels[LABEL_VOLUME])).map((v) => v.Labels[LABEL_VOLUME]).sort();
  }

  async list(app: string): Promise<{ name: string; bytes: number | null }[]> {
    const names = await this.names(app);
    // Sizes come from the engine's disk usage report, which walks every volume: only when there are some.
    const sizes = new Map<string, number>();
    if (names.length) {
      const df = await diskUsage(this.docker).catch(() => ({ Volumes: [] }));
      for (const v of df.Volumes ?? []) if (v.UsageData?.Size !== undefined && v.UsageData.Size >= 0) sizes.set(v.Name, v.UsageData.Size);
    }
    return names.map((name) => ({ name, bytes: sizes.get(volumeName(app, name)) ?? null }));
  }

  async remove(app: string, name: string): Promise<void> {
    try {
      await this.docker.getVolume(volumeName(app, name)).remove();
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) throw new ConflictError(`${name} is still in use by a container of ${app}; try again once it has stopped`);
      throw new ExternalError(`could not remove the volume ${volumeName(app, name)}: ${(err as Error).message}`, err);
    }
  }

  async removeApp(app: string): Promise<string[]> {
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
