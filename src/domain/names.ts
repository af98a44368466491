/** Names of what Skiff owns in Docker, derived from app and release. */

export const LABEL_APP = 'skiff.app';
export const LABEL_RELEASE = 'skiff.release';
export const LABEL_PROCESS = 'skiff.process';
export const LABEL_INSTANCE = 'skiff.instance';

export function imageRepository(app: string): string {
  return `skiff/${app}`;
}

export function buildImageTag(app: string, buildId: number): string {
  return `${imageRepository(app)}:build-${buildId}`;
}

export function releaseImageTag(app: string, version: number): string {
  return `${imageRepository(app)}:v${version}`;
}

/** The bridge network an app's containers share, and no other app's: apps cannot reach each other. */
export function appNetworkName(app: string): string {
  return `skiff-app-${app}`;
}

export function containerName(app: string, process: string, index: number, version: number): string {
  return `skiff-${app}-${process}.${index}-v${version}`;
}
