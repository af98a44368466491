/** Names of what Skiff owns in Docker, derived from app and release. */

export const LABEL_APP = 'skiff.app';
/** The app's identity, fixed at its creation: a name can be destroyed and taken again, an identity never. */
export const LABEL_APP_ID = 'skiff.app-id';
export const LABEL_RELEASE = 'skiff.release';
export const LABEL_PROCESS = 'skiff.process';
export const LABEL_INSTANCE = 'skiff.instance';
/** On a container a systemd unit runs: 'systemd' (the docker runtime's carry none), so each runtime sees only its own. */
export const LABEL_RUNTIME = 'skiff.runtime';
/** On a one-off container running a scheduled job: the run's id. */
export const LABEL_CRON_RUN = 'skiff.cron-run';
/** On an image a one-off's changes were kept in (app.json's predeploy): the id of the image it ran on, so that the next one starts there again. */
export const LABEL_KEPT_FROM = 'skiff.kept-from';

/** Whose a container, image, volume or network is: the app's name, and its identity where known. */
export function appLabels(app: string, appId: string | undefined): Record<string, string> {
  return appId === undefined ? { [LABEL_APP]: app } : { [LABEL_APP]: app, [LABEL_APP_ID]: appId };
}

export function imageRepository(app: string): string {
  return `skiff/${app}`;
}

export function buildImageTag(app: string, buildId: number): string {
  return `${imageRepository(app)}:build-${buildId}`;
}

export function releaseImageTag(app: string, version: number): string {
  return `${imageRepository(app)}:v${version}`;
}

/**
 * The bridge network every app container is on, with inter-container traffic
 * off: no container reaches another (of another app, or of its own, as on
 * Heroku), and the router reaches web instances through their loopback ports.
 * One network for all, so the engine's address pools never run out.
 */
export const APPS_NETWORK = 'skiff-apps';

export function containerName(app: string, process: string, index: number, version: number): string {
  return `skiff-${app}-${process}.${index}-v${version}`;
}
