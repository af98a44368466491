import { BuildFailedError, isSkiffError } from '../errors.js';
import { hasSourceFile, readSourceFile } from './source-files.js';

/** Settings the built-in stacks are generated with. */
export interface StackSettings {
  images: { node: string; python: string; static: string };
  /** Where, inside the build context, a CA bundle for package installs was put (behind an intercepting proxy). */
  caFile?: string;
}

/**
 * A built-in stack writes the Dockerfile for code that has none, in two
 * levels so rebuilds are fast: dependencies (a layer kept while the lockfile
 * or requirements file stays the same), then the code.
 */
export interface BuiltinStack {
  name: string;
  description: string;
  /** What a commit needs for this stack, for a user who set it and has none. */
  needs: string;
  detect(dir: string): string | undefined;
  dockerfile(dir: string, settings: StackSettings): string;
}

const exists = hasSourceFile;

function readJson(dir: string, name: string): Record<string, unknown> {
  try {
    return JSON.parse(readSourceFile(dir, name) ?? '') as Record<string, unknown>;
  } catch (err) {
    if (isSkiffError(err)) throw err;
    throw new BuildFailedError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

function procfileWeb(dir: string): string | undefined {
  const procfile = readSourceFile(dir, 'Procfile');
  if (procfile === undefined) return undefined;
  const line = procfile.split(/\r?\n/).find((l) => /^web\s*:/.test(l.trim()));
  return line?.trim().replace(/^web\s*:\s*/, '');
}

function caLines(settings: StackSettings, envs: string[]): string[] {
  if (!settings.caFile) return [];
  const target = '/usr/local/share/ca-certificates/skiff-build-ca.crt';
  return [`COPY ${settings.caFile} ${target}`, `ENV ${envs.map((e) => `${e}=${target}`).join(' ')}`];
}

/** A RUN step that warns (never fails) when the image's node does not meet engines.node, judged by major version. */
function enginesCheck(range: string): string {
  const script = [
    `const want = ${JSON.stringify(range)};`,
    "const have = Number(process.versions.node.split('.')[0]);",
    "const ok = want.split('||').some((alt) => alt.trim().split(/\\s+/).filter(Boolean).every((c) => {",
    '  const m = /^(>=|<=|>|<|\\^|~|=)?v?(\\d+)/.exec(c); if (!m) return true; const n = Number(m[2]);',
    "  return { '>=': have >= n, '<=': have <= n, '>': have > n, '<': have < n }[m[1]] ?? have === n;",
    '}));',
    "if (!ok) console.log('WARNING: package.json asks for node ' + want + '; this image has ' + process.version + '. Building anyway.');",
  ].join(' ');
  return `RUN node -e ${JSON.stringify(script)}`;
}

export const NODE_STACK: BuiltinStack = {
  name: 'node',
  needs: 'add a package.json',
  description: 'Node.js: npm ci (or npm install), scripts.build, the Procfile web line or npm start',
  detect: (dir) => (exists(dir, 'package.json') ? 'package.json found' : undefined),
  dockerfile(dir, settings) {
    const pkg = readJson(dir, 'package.json');
    const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
    const engines = (pkg.engines ?? {}) as Record<string, unknown>;
    const lock = exists(dir, 'package-lock.json') || exists(dir, 'npm-shrinkwrap.json');
    const build = typeof scripts.build === 'string';
    const manifests = ['package.json', ...['package-lock.json', 'npm-shrinkwrap.json'].filter((f) => exists(dir, f))];
    // A build script needs the dev dependencies; they are pruned after it.
    const install = lock ? `npm ci${build ? ' --include=dev' : ''}` : `npm install${build ? ' --include=dev' : ''}`;
    const web = procfileWeb(dir);
    return [
      `FROM ${settings.images.node}`,
      'WORKDIR /app',
      'ENV NODE_ENV=production',
      ...caLines(settings, ['NODE_EXTRA_CA_CERTS', 'npm_config_cafile']),
      ...(typeof engines.node === 'string' ? [enginesCheck(engines.node)] : []),
      '# Dependencies: this layer is reused while the manifests stay the same.',
      `COPY ${manifests.join(' ')} ./`,
      `RUN ${install} --no-audit --no-fund`,
      '# The code.',
      'COPY . .',
      ...(build ? ['RUN npm run build && npm prune --omit=dev'] : []),
      web ? `CMD ["sh", "-c", ${JSON.stringify(web)}]` : 'CMD ["npm", "start"]',
      '',
    ].join('\n');
  },
};

export const PYTHON_STACK: BuiltinStack = {
  name: 'python',
  needs: 'add a requirements.txt or pyproject.toml',
  description: 'Python: pip install of requirements.txt or pyproject.toml, the Procfile web line',
  detect: (dir) => (exists(dir, 'requirements.txt') ? 'requirements.txt found' : exists(dir, 'pyproject.toml') ? 'pyproject.toml found' : undefined),
  dockerfile(dir, settings) {
    const web = procfileWeb(dir);
    if (!web) throw new BuildFailedError('the python stack needs a Procfile with a web line, e.g. web: python app.py (it gets $PORT)');
    const requirements = exists(dir, 'requirements.txt');
    return [
      `FROM ${settings.images.python}`,
      'WORKDIR /app',
      'ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1',
      ...caLines(settings, ['PIP_CERT', 'REQUESTS_CA_BUNDLE']),
      ...(requirements
        ? [
            '# Dependencies: this layer is reused while requirements.txt stays the same.',
            'COPY requirements.txt ./',
            'RUN pip install -r requirements.txt',
            'COPY . .',
          ]
        : ['COPY . .', 'RUN pip install .']),
      `CMD ["sh", "-c", ${JSON.stringify(web)}]`,
      '',
    ].join('\n');
  },
};

export const STATIC_STACK: BuiltinStack = {
  name: 'static',
  needs: 'add an index.html',
  description: 'Static files: index.html and the rest, served by a small HTTP server on $PORT',
  detect: (dir) => (exists(dir, 'index.html') ? 'index.html found' : undefined),
  dockerfile(_dir, settings) {
    return [
      `FROM ${settings.images.static}`,
      'COPY . /www',
      'RUN rm -rf /www/.skiff /www/.git',
      'CMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]',
      '',
    ].join('\n');
  },
};

/** In the order they are tried. */
export const BUILTIN_STACKS: readonly BuiltinStack[] = [NODE_STACK, PYTHON_STACK, STATIC_STACK];
