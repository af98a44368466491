import { InvalidError } from '../errors.js';
import { printable } from './app-name.js';
import { parseYaml, scalarText } from './yaml.js';

/** Names the built-in stacks have; a stackfile may not take them. 'none' clears an app's stack. */
export const RESERVED_STACK_NAMES = new Set(['node', 'python', 'static', 'none', 'dockerfile']);
export const STACK_NAME_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;

/** A stack's name as a user typed it. */
export function parseStackName(name: string | undefined): string {
  if (!name || !STACK_NAME_PATTERN.test(name)) throw new InvalidError(`invalid stack name '${printable(name ?? '')}'; see stacks for their names`);
  return name;
}

/** An image a stack runs at build or verify time, with its limits (MiB, CPUs). */
export interface StackImage {
  image: string;
  memoryMb: number | null;
  cpus: number | null;
}

export interface HealthEntry {
  protocol: 'COMMAND' | 'HTTP';
  /** COMMAND: run with sh -c inside the new container. */
  command: string | null;
  /** HTTP: a path the new container must answer with 2xx. */
  path: string | null;
  /** Seconds between attempts, seconds per attempt, attempts before it fails. */
  interval: number;
  timeout: number;
  retries: number;
}

/** The main service of a stack: how its apps are built, verified and run. */
export interface StackService {
  name: string;
  build: StackImage;
  verify: StackImage | null;
  memoryMb: number | null;
  cpus: number | null;
  instances: number;
  /** The port the app listens on (its PORT); null: Skiff's default. */
  expose: number | null;
  health: HealthEntry[];
}

export interface StackDefinition {
  name: string;
  description: string;
  template: { type: 'git'; uri: string } | null;
  tags: string[];
  languages: { name: string; version: string | null }[];
  frameworks: { name: string; version: string | null }[];
  service: StackService;
}

type Fields = Record<string, unknown>;

/** A refusal names the field and the reason, like `services.main.expose: must be a port (1-65535)`. */
function refuse(field: string, reason: string): never {
  throw new InvalidError(`stackfile: ${field}: ${reason}`);
}

function mapping(value: unknown, field: string): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) refuse(field, 'must be a mapping');
  return value as Fields;
}

function onlyKnown(fields: Fields, field: string, known: readonly string[]): void {
  const extra = Object.keys(fields).filter((k) => !known.includes(k));
  if (extra.length) refuse(field ? `${field}.${extra[0]}` : extra[0], `unknown field (known: ${known.join(', ')})`);
}

function text(value: unknown, field: string, options: { required?: boolean; max?: number } = {}): string | null {
  if (value === undefined || value === null) {
    if (options.required) refuse(field, 'is required');
    return null;
  }
  if (typeof value !== 'string' || value.trim() === '') refuse(field, 'must be a non-empty string');
  if (value.length > (options.max ?? 1024) || /[\x00-\x1f\x7f]/.test(value)) refuse(field, `must be one line of at most ${options.max ?? 1024} characters`);
  return value;
}

function number(value: unknown, field: string, options: { min: number; max: number; integer?: boolean }): number | null {
  if (value === undefined || value === null) return null;
  const ok =
    typeof value === 'number' && Number.isFinite(value) && value >= options.min && value <= options.max && (!options.integer || Number.isInteger(value));
  if (!ok) refuse(field, `must be ${options.integer ? 'a whole number' : 'a number'} from ${options.min} to ${options.max}`);
  return value;
}

/** Image references as Docker takes them: [registry[:port]/]path[:tag][@digest], lower-case path. */
const IMAGE_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

function stackImage(value: unknown, field: string, required: boolean): StackImage | null {
  if (value === undefined || value === null) {
    if (required) refuse(field, 'is required: the image that builds the app');
    return null;
  }
  const fields = mapping(value, field);
  onlyKnown(fields, field, ['image', 'mem', 'cpus']);
  const image = text(fields.image, `${field}.image`, { required: true, max: 255 }) as string;
  if (!IMAGE_PATTERN.test(image)) refuse(`${field}.image`, 'must be an image reference, like registry.example/team/flask-build:1');
  return {
    image,
    memoryMb: number(fields.mem, `${field}.mem`, { min: 6, max: 1024 * 1024, integer: true }),
    cpus: number(fields.cpus, `${field}.cpus`, { min: 0.01, max: 1024 }),
  };
}

function named(value: unknown, field: string): { name: string; version: string | null }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) refuse(field, 'must be a list, like [{ name: python }]');
  return value.map((entry, i) => {
    const fields = mapping(entry, `${field}[${i}]`);
    onlyKnown(fields, `${field}[${i}]`, ['name', 'version']);
    return {
      name: text(fields.name, `${field}[${i}].name`, { required: true, max: 64 }) as string,
      version:
        fields.version === undefined || fields.version === null
          ? null
          : text(
              scalarText(fields.version, () => refuse(`${field}[${i}].version`, 'must be text')),
              `${field}[${i}].version`,
              { max: 64 },
            ),
    };
  });
}

/** The longest one health entry may take, over all its retries. */
const MAX_CHECK_SECONDS = 600;

function health(value: unknown, field: string): HealthEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) refuse(field, 'must be a list of checks');
  return value.map((entry, i) => {
    const at = `${field}[${i}]`;
    const fields = mapping(entry, at);
    onlyKnown(fields, at, ['protocol', 'command', 'path', 'interval', 'timeout', 'retries']);
    const protocol = scalarText(fields.protocol ?? '', () => refuse(`${at}.protocol`, 'must be COMMAND or HTTP')).toUpperCase();
    if (protocol !== 'COMMAND' && protocol !== 'HTTP') refuse(`${at}.protocol`, 'must be COMMAND or HTTP');
    const command = protocol === 'COMMAND' ? text(fields.command, `${at}.command`, { required: true }) : null;
    let path: string | null = null;
    if (protocol === 'HTTP') {
      path = text(fields.path ?? '/', `${at}.path`) ?? '/';
      if (!/^\/[\x21-\x7e]{0,1023}$/.test(path)) refuse(`${at}.path`, 'must be a path starting with /');
    }
    if (protocol === 'COMMAND' && fields.path !== undefined) refuse(`${at}.path`, 'belongs to HTTP checks');
    if (protocol === 'HTTP' && fields.command !== undefined) refuse(`${at}.command`, 'belongs to COMMAND checks');
    const interval = number(fields.interval, `${at}.interval`, { min: 0, max: 60 }) ?? 3;
    const timeout = number(fields.timeout, `${at}.timeout`, { min: 0.1, max: 60 }) ?? 5;
    const retries = number(fields.retries, `${at}.retries`, { min: 1, max: 100, integer: true }) ?? 3;
    // A check holds the app's lock while it runs: it must end in bounded time.
    if ((interval + timeout) * retries > MAX_CHECK_SECONDS) {
      refuse(at, `may take at most ${MAX_CHECK_SECONDS} seconds in all ((interval + timeout) × retries is ${(interval + timeout) * retries})`);
    }
    return { protocol, command, path, interval, timeout, retries };
  });
}

function service(name: string, value: unknown): StackService {
  const at = `services.${name}`;
  const fields = mapping(value, at);
  onlyKnown(fields, at, ['build', 'verify', 'main', 'mem', 'cpus', 'instances', 'expose', 'health']);
  if (fields.main !== undefined && typeof fields.main !== 'boolean') refuse(`${at}.main`, 'must be yes or no');
  return {
    name,
    build: stackImage(fields.build, `${at}.build`, true) as StackImage,
    verify: stackImage(fields.verify, `${at}.verify`, false),
    memoryMb: number(fields.mem, `${at}.mem`, { min: 6, max: 1024 * 1024, integer: true }),
    cpus: number(fields.cpus, `${at}.cpus`, { min: 0.01, max: 1024 }),
    instances: number(fields.instances, `${at}.instances`, { min: 0, max: 100, integer: true }) ?? 1,
    expose: number(fields.expose, `${at}.expose`, { min: 1, max: 65535, integer: true }),
    health: health(fields.health, `${at}.health`),
  };
}

/** Reads and checks a stackfile.yml; anything wrong is refused with the field and the reason. */
export function parseStackfile(source: string): StackDefinition {
  let doc: unknown;
  try {
    // YAML 1.1 so that `main: yes` is a boolean, as stackfiles write it.
    doc = parseYaml(source, { version: '1.1' });
  } catch (err) {
    throw new InvalidError(`stackfile is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) throw new InvalidError('stackfile is empty: send a stackfile.yml on stdin, e.g. stacks:create < stackfile.yml');
  const fields = mapping(doc, '(top level)');
  onlyKnown(fields, '', ['name', 'description', 'template', 'tags', 'languages', 'frameworks', 'services']);

  const name = text(fields.name, 'name', { required: true, max: 30 }) as string;
  if (!STACK_NAME_PATTERN.test(name)) refuse('name', 'use 1 to 30 lower-case letters, digits and dashes, starting with a letter');
  if (RESERVED_STACK_NAMES.has(name)) refuse('name', `'${name}' is taken by a built-in stack`);

  let template: StackDefinition['template'] = null;
  if (fields.template !== undefined && fields.template !== null) {
    const t = mapping(fields.template, 'template');
    onlyKnown(t, 'template', ['type', 'uri']);
    if (t.type !== 'git') refuse('template.type', 'must be git');
    template = { type: 'git', uri: text(t.uri, 'template.uri', { required: true }) as string };
  }

  let tags: string[] = [];
  if (fields.tags !== undefined && fields.tags !== null) {
    if (!Array.isArray(fields.tags)) refuse('tags', 'must be a list, like [python]');
    tags = fields.tags.map((t, i) => text(typeof t === 'number' ? String(t) : t, `tags[${i}]`, { required: true, max: 64 }) as string);
  }

  const services = mapping(fields.services, 'services');
  const entries = Object.entries(services);
  if (entries.length === 0) refuse('services', 'must name one service, with a build image');
  for (const [key] of entries) if (!STACK_NAME_PATTERN.test(key)) refuse(`services.${key}`, 'service names use lower-case letters, digits and dashes');
  if (entries.length > 1) refuse('services', `only one service is supported for now; found ${entries.map(([k]) => k).join(', ')}`);

  return {
    name,
    description: text(fields.description, 'description') ?? '',
    template,
    tags,
    languages: named(fields.languages, 'languages'),
    frameworks: named(fields.frameworks, 'frameworks'),
    service: service(entries[0][0], entries[0][1]),
  };
}
