import { execa } from 'execa';

/**
 * Before any test: the project's own set-up (builds dist/, which the
 * end-to-end tests run, and makes the base image every docker test builds
 * FROM; both are cached, so a second run costs little).
 */
export default async function setup(): Promise<void> {
  await execa('bash', ['scripts/setup.sh', '--test'], { stdio: 'inherit' });
}
