import { pipeline } from 'node:stream/promises';
import type { Duplex, Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type Docker from 'dockerode';
import type { ContainerCreateOptions, ContainerInfo, ContainerInspectInfo } from 'dockerode';

/** What a commit writes as the image's config; the engine fills what is left out from the container's. */
export interface CommitConfig {
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  Labels: Record<string, string>;
  WorkingDir?: string;
  User?: string;
}

/** A command started in a running container: its output, and its exit status once it ends. */
export interface ExecRun {
  stream: Duplex;
  exitCode: () => Promise<number | null>;
}

/** The engine's containers, by id or name: the only calls Skiff makes on them. */
export class ContainerClient {
  constructor(private readonly docker: Docker) {}

  /** Every container (running or not) with all of these labels (KEY or KEY=VALUE). */
  list(labels: string[]): Promise<ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: labels } });
  }

  async create(options: ContainerCreateOptions): Promise<string> {
    return (await this.docker.createContainer(options)).id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  inspect(id: string): Promise<ContainerInspectInfo> {
    return this.docker.getContainer(id).inspect();
  }

  async stop(id: string, seconds: number): Promise<void> {
    await this.docker.getContainer(id).stop({ t: seconds });
  }

  async restart(id: string, seconds: number): Promise<void> {
    await this.docker.getContainer(id).restart({ t: seconds });
  }

  /** Removes it, running or not. */
  async remove(id: string): Promise<void> {
    await this.docker.getContainer(id).remove({ force: true });
  }

  /**
   * A removal of it that runs once however often it is called, errors
   * ignored: a run's abort and its own end both remove its container, and
   * the engine answers a second removal at once ("already in progress")
   * while the first still runs, so awaiting that one would not mean gone.
   */
  removerOf(id: string): () => Promise<void> {
    let removing: Promise<void> | undefined;
    return () => (removing ??= this.remove(id).catch(() => undefined));
  }

  /** Its last lines (both streams, multiplexed unless it has a terminal). */
  async recentLogs(id: string, options: { tail: number; timestamps?: boolean }): Promise<Buffer> {
    return this.docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, timestamps: options.timestamps ?? false, tail: options.tail, follow: false as const });
  }

  /** Its lines from `since` (seconds) on, as they come. */
  async followLogs(id: string, since: number): Promise<NodeJS.ReadableStream> {
    return this.docker.getContainer(id).logs({ stdout: true, stderr: true, timestamps: true, follow: true, since });
  }

  /** Its stdout and stderr, and its stdin when asked, as one stream. */
  async attach(id: string, options: { stdin: boolean }): Promise<NodeJS.ReadWriteStream> {
    const container = this.docker.getContainer(id);
    return options.stdin
      ? await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })
      : await container.attach({ stream: true, stdout: true, stderr: true });
  }

  /** Resolves with the exit status of its next exit: ask before starting it. */
  async nextExit(id: string): Promise<number> {
    const { StatusCode } = (await this.docker.getContainer(id).wait({ condition: 'next-exit' })) as { StatusCode: number };
    return StatusCode;
  }

  async resize(id: string, size: { rows: number; cols: number }): Promise<void> {
    await this.docker.getContainer(id).resize({ h: size.rows, w: size.cols });
  }

  /** Runs a command in it (no stdin), with env added to the container's. */
  async exec(id: string, command: string[], env?: Record<string, string>): Promise<ExecRun> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: command,
      ...(env ? { Env: Object.entries(env).map(([k, v]) => `${k}=${v}`) } : {}),
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    return { stream, exitCode: async () => (await exec.inspect()).ExitCode };
  }

  /** Writes one file (size bytes from content, mode 0644) into dir, running or only created: as a tar of that one entry. */
  async putFile(id: string, dir: string, name: string, size: number, content: Readable): Promise<void> {
    const pack = tarStream.pack();
    // A failing content ends the pack with its error; the pipeline below throws it, once.
    pack.on('error', () => undefined);
    const entry = pack.entry({ name, size, mode: 0o644 });
    const put = this.docker.getContainer(id).putArchive(pack as unknown as NodeJS.ReadableStream, { path: dir });
    try {
      await pipeline(content, entry);
    } catch (err) {
      pack.destroy();
      await put.catch(() => undefined);
      throw err;
    }
    pack.finalize();
    await put;
  }

  /** Its files as image NAME:TAG, with that config (paused meanwhile). */
  async commit(id: string, repo: string, tag: string, config: CommitConfig): Promise<void> {
    await this.docker.getContainer(id).commit({ _query: { container: id, repo, tag, pause: true }, _body: config });
  }

  /** Splits an attached or exec stream of a container without a terminal into its stdout and stderr. */
  demux(stream: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
    this.docker.modem.demuxStream(stream, stdout, stderr);
  }
}
