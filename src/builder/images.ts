import { isConflict, isNotFound } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import type { RegistryAuth } from '../docker/images.js';
import { LABEL_APP } from '../domain/names.js';

/** The image seam: what the pipeline does with release images. */
export interface ImageStore {
  tag(source: string, target: string): Promise<void>;
  exists(tag: string): Promise<boolean>;
  /** The image's id (sha256:…), the same for every tag of it; undefined when the host lacks it. */
  id(tag: string): Promise<string | undefined>;
  untag(tag: string): Promise<void>;
  checkAuth(auth: { username: string; password: string; serveraddress: string }): Promise<void>;
  removeApp(app: string): Promise<string[]>;
  remove(ids: readonly string[]): Promise<string[]>;
}

/** Tags and removes the images Skiff made; never touches an image without its label. */
export class Images implements ImageStore {
  constructor(private readonly engine: Engine) {}

  async tag(source: string, target: string): Promise<void> {
    await this.engine.images.tag(source, target);
  }

  exists(tag: string): Promise<boolean> {
    return this.engine.images.exists(tag);
  }

  async id(tag: string): Promise<string | undefined> {
    return (await this.engine.images.find(tag))?.Id;
  }

  /** Drops one tag; the image stays while another tag or a container uses it. */
  async untag(tag: string): Promise<void> {
    try {
      await this.engine.images.remove(tag);
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** Asks the engine to log in to a registry with these credentials; rejects when the registry refuses them. */
  async checkAuth(auth: RegistryAuth): Promise<void> {
    await this.engine.images.checkAuth(auth);
  }

  /**
   * Removes an app's images; returns the ids of those that stay (another
   * image builds on them, or a container still uses them). A promotion
   * shares an image between apps: an image of this app that another app was
   * given keeps that app's tags, and an image given to this app loses only
   * this app's.
   */
  async removeApp(app: string): Promise<string[]> {
    const images = await this.engine.images.list([LABEL_APP]);
    // skiff/APP:vN, REGISTRY/APP:vN: the repository's last part names the app.
    const mine = (tag: string): boolean => tag.slice(0, tag.lastIndexOf(':')).split('/').pop() === app;
    const whole: string[] = [];
    // Newest first: an image built on an older one of the same app goes before it.
    for (const image of images.sort((a, b) => b.Created - a.Created)) {
      const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      if (image.Labels?.[LABEL_APP] === app && tags.every(mine)) whole.push(image.Id);
      // Every tag of the app goes now, also from an image that must stay (another builds on it):
      // a later app of the same name must find nothing under skiff/APP.
      for (const t of tags.filter(mine)) await this.untag(t);
    }
    return this.remove(whole);
  }

  /** Removes these images; returns the ids that stay (409: something still needs them). */
  async remove(ids: readonly string[]): Promise<string[]> {
    const left: string[] = [];
    for (const id of ids) {
      try {
        await this.engine.images.remove(id, { force: true });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
        if (!isNotFound(err)) left.push(id);
      }
    }
    return left;
  }
}
