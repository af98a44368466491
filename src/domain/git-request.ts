import { parseAppName } from './app-name.js';

export type GitService = 'git-receive-pack' | 'git-upload-pack';

export interface GitRequest {
  service: GitService;
  app: string;
}

const GIT_SERVICES: readonly string[] = ['git-receive-pack', 'git-upload-pack'];

/**
 * Recognise what git's ssh transport sends: `git-receive-pack '/myapp.git'`,
 * `git-upload-pack 'myapp'`, also spelt `git receive-pack`. The path names an
 * app, never a file: it is reduced to an app name and validated, so it can
 * never leave the repos folder.
 */
export function parseGitRequest(words: readonly string[]): GitRequest | undefined {
  let rest = words;
  let service: string | undefined;
  if (rest[0] === 'git' && (rest[1] === 'receive-pack' || rest[1] === 'upload-pack')) {
    service = `git-${rest[1]}`;
    rest = rest.slice(2);
  } else if (GIT_SERVICES.includes(rest[0] ?? '')) {
    service = rest[0];
    rest = rest.slice(1);
  }
  if (!service) return undefined;
  const target = rest.length === 1 ? rest[0] : undefined;
  let name = (target ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (name.endsWith('.git')) name = name.slice(0, -4);
  return { service: service as GitService, app: parseAppName(name) };
}
