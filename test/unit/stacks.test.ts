import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_STACKS, NODE_STACK, PYTHON_STACK, STATIC_STACK } from '../../src/builder/stacks.js';
import { tempDir } from '../helpers/skiff.js';

const settings = { images: { node: 'img/node', python: 'img/python', static: 'img/static' } };

function app(files: Record<string, string>): string {
  const dir = tempDir('stack');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('built-in stacks', () => {
  it('are detected by their marker files, node first', () => {
    const detect = (dir: string) => BUILTIN_STACKS.find((s) => s.detect(dir))?.name;
    expect(detect(app({ 'package.json': '{}', 'index.html': '' }))).toBe('node');
    expect(detect(app({ 'requirements.txt': '' }))).toBe('python');
    expect(detect(app({ 'pyproject.toml': '' }))).toBe('python');
    expect(detect(app({ 'index.html': '' }))).toBe('static');
    expect(detect(app({ 'README.md': '' }))).toBeUndefined();
  });

  it('node: dependencies in their own layer from the lockfile, then the code, then npm start', () => {
    const text = NODE_STACK.dockerfile(app({ 'package.json': '{"name":"x"}', 'package-lock.json': '{}' }), settings);
    const lines = text.split('\n');
    expect(lines[0]).toBe('FROM img/node');
    const copyManifests = lines.indexOf('COPY package.json package-lock.json ./');
    const install = lines.indexOf('RUN npm ci --no-audit --no-fund');
    const copyCode = lines.indexOf('COPY . .');
    expect(copyManifests).toBeGreaterThan(0);
    expect(install).toBe(copyManifests + 1);
    expect(copyCode).toBeGreaterThan(install);
    expect(lines).toContain('CMD ["npm", "start"]');
  });

  it('node: npm install without a lockfile, the build script with dev dependencies, the Procfile web line, CA and engines', () => {
    const dir = app({
      'package.json': JSON.stringify({ scripts: { build: 'tsc' }, engines: { node: '>=22' } }),
      Procfile: 'web: node dist/server.js\nworker: node dist/worker.js\n',
    });
    const text = NODE_STACK.dockerfile(dir, { ...settings, caFile: '.skiff/ca.crt' });
    expect(text).toContain('RUN npm install --include=dev --no-audit --no-fund');
    expect(text).toContain('RUN npm run build && npm prune --omit=dev');
    expect(text).toContain('CMD ["sh", "-c", "node dist/server.js"]');
    expect(text).toContain('COPY .skiff/ca.crt /usr/local/share/ca-certificates/skiff-build-ca.crt');
    expect(text).toMatch(/ENV NODE_EXTRA_CA_CERTS=\S+ npm_config_cafile=\S+/);
    expect(text).toMatch(/RUN node -e .*>=22/);
    expect(() => NODE_STACK.dockerfile(app({ 'package.json': '{nope' }), settings)).toThrow(/package.json is not valid JSON/);
  });

  it('python: requirements in their own layer, and a clear error without a web process', () => {
    const text = PYTHON_STACK.dockerfile(app({ 'requirements.txt': 'flask\n', Procfile: 'web: python app.py\n' }), settings);
    expect(text.indexOf('COPY requirements.txt ./')).toBeLessThan(text.indexOf('RUN pip install -r requirements.txt'));
    expect(text.indexOf('RUN pip install -r requirements.txt')).toBeLessThan(text.indexOf('COPY . .'));
    expect(text).toContain('CMD ["sh", "-c", "python app.py"]');
    expect(() => PYTHON_STACK.dockerfile(app({ 'requirements.txt': '' }), settings)).toThrow(/needs a Procfile with a web line/);
  });

  it('static: the files served on $PORT', () => {
    const text = STATIC_STACK.dockerfile(app({ 'index.html': 'hi' }), settings);
    expect(text).toContain('FROM img/static');
    expect(text).toContain('busybox httpd -f -p \\"$PORT\\" -h /www');
  });
});
