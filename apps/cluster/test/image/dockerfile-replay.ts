import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Copy, DockerfileParser, Env, From, Healthcheck, JSONInstruction, Run, type Instruction, type ModifiableInstruction } from 'dockerfile-ast';
import { BuildContext, copySource } from './build-context.js';
import { nodeOnlyDir, runStep } from './run-step.js';

/** What a container of the replayed image starts with. */
export interface ReplayedImage {
  /** The final stage's file system: the container's `/` is this directory. */
  readonly root: string;
  /** WORKDIR, inside the container. */
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  /** USER, or `root` when none is set. */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly healthcheck: { readonly command: readonly string[]; readonly options: Readonly<Record<string, string>> } | null;
  readonly exposed: readonly number[];
  /** The exact Node version of the final stage's `node:` base image. */
  readonly nodeVersion: string;
  /** A directory whose only entry is that Node's `node`: first on PATH, it runs things as the image does. */
  readonly nodeBinDir: string;
  /** Each instruction and how long its replay took, in order. */
  readonly timings: readonly { readonly instruction: string; readonly ms: number }[];
}

export interface ReplayOptions {
  readonly dockerfile: string;
  /** The build context (`docker build <context>`); its `.dockerignore` applies to every COPY from it. */
  readonly context: string;
  /** An empty directory to build the stages in. */
  readonly outDir: string;
  /** The path of the `node` binary of an exact version (see `imageNodeBinary`). */
  readonly nodeBinary: (version: string) => Promise<string>;
}

interface Stage {
  readonly name: string;
  /** The stage's `/`, on this machine. */
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: readonly string[];
  cmd: readonly string[];
  healthcheck: ReplayedImage['healthcheck'];
  exposed: readonly number[];
  readonly nodeVersion: string;
  /** The directory holding only that Node's `node`. */
  readonly nodeDir: string;
}

/**
 * Replays a Dockerfile without Docker: each stage is a directory, each COPY a copy (through the
 * context's `.dockerignore`, or from an earlier stage), each RUN a process in the stage's WORKDIR
 * with its ENV and the base image's exact Node first on PATH (npm and npx are this machine's, run
 * by that Node). The only base images known are `node:<version>[-variant]`, so a RUN may use
 * Node, npm, npx and the POSIX shell's tools. An instruction or flag the replay cannot honour
 * throws rather than being skipped, so the Dockerfile cannot drift away from what is tested.
 */
export async function replayDockerfile(options: ReplayOptions): Promise<ReplayedImage> {
  const replay = new DockerfileReplay(options);
  const dockerfile = DockerfileParser.parse(readFileSync(options.dockerfile, 'utf8'));
  for (const instruction of dockerfile.getInstructions()) {
    const where = `${options.dockerfile}:${instruction.getRange().start.line + 1} (${instruction.getKeyword()})`;
    try {
      await replay.step(instruction);
    } catch (error) {
      throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return replay.result();
}

class DockerfileReplay {
  private readonly context: BuildContext;
  private readonly stages: Stage[] = [];
  private readonly timings: { instruction: string; ms: number }[] = [];

  constructor(private readonly options: ReplayOptions) {
    this.context = new BuildContext(options.context);
  }

  async step(instruction: Instruction): Promise<void> {
    const began = performance.now();
    await this.apply(instruction);
    this.timings.push({ instruction: instruction.toString().replace(/\s+/g, ' ').slice(0, 120), ms: Math.round(performance.now() - began) });
  }

  result(): ReplayedImage {
    const { root, workdir, env, user, entrypoint, cmd, healthcheck, exposed, nodeVersion, nodeDir } = this.current();
    return { root, workdir, env, user, entrypoint, cmd, healthcheck, exposed, nodeVersion, nodeBinDir: nodeDir, timings: this.timings };
  }

  private current(): Stage {
    const stage = this.stages.at(-1);
    if (stage === undefined) throw new Error('no FROM yet');
    return stage;
  }

  private async apply(instruction: Instruction): Promise<void> {
    const keyword = instruction.getKeyword();
    // An ARG before the first FROM is expanded by the parser wherever it is used.
    if (keyword === 'ARG' && this.stages.length === 0) return;
    if (keyword === 'FROM') {
      this.stages.push(await this.from(kind(instruction, From)));
      return;
    }
    const stage = this.current();
    const args = instruction.getExpandedArguments().map((arg) => arg.getValue());
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, single(args));
        mkdirSync(onHost(stage, stage.workdir), { recursive: true });
        return;
      case 'ENV':
        for (const property of kind(instruction, Env).getProperties()) {
          const value = property.getValue() ?? '';
          if (value.includes('$')) throw new Error('variables in ENV values are not replayed');
          stage.env[property.getName()] = value;
        }
        return;
      case 'COPY':
        this.copy(kind(instruction, Copy), stage);
        return;
      case 'RUN': {
        const run = kind(instruction, Run);
        onlyFlags(run, ['mount']);
        // A cache mount speeds a rebuild up and changes nothing in the result.
        if (run.getFlags().some((flag) => !/^type=cache(,|$)/.test(flag.getValue() ?? ''))) throw new Error('only --mount=type=cache is replayed');
        const command = run.getJSONStrings().length > 0 ? execForm(run) : ['/bin/sh', '-c', run.getArgumentsContent() ?? ''];
        await runStep({ command, cwd: onHost(stage, stage.workdir), env: stage.env, nodeDir: stage.nodeDir });
        return;
      }
      case 'USER':
        stage.user = single(args);
        return;
      case 'EXPOSE':
        stage.exposed = args.map((port) => Number(port.replace(/\/tcp$/, '')));
        return;
      case 'HEALTHCHECK':
        stage.healthcheck = healthcheck(kind(instruction, Healthcheck));
        return;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(kind(instruction, JSONInstruction));
        return;
      case 'CMD':
        stage.cmd = execForm(kind(instruction, JSONInstruction));
        return;
      default:
        throw new Error('the replay does not know this instruction');
    }
  }

  /** FROM node:<exact version>[-variant] starts empty; FROM <earlier stage> starts from a copy of it. */
  private async from(from: From): Promise<Stage> {
    const [image = '', as, name, ...rest] = from.getExpandedArguments().map((arg) => arg.getValue());
    if (from.getFlags().length > 0 || rest.length > 0 || (as !== undefined && (as.toLowerCase() !== 'as' || name === undefined))) throw new Error('expected FROM <image> [AS <name>]');
    const stageName = name ?? String(this.stages.length);
    const root = join(this.options.outDir, `${this.stages.length}-${stageName}`);
    const parent = this.stages.find((stage) => stage.name === image);
    if (parent !== undefined) {
      cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
      return { ...parent, name: stageName, root, env: { ...parent.env } };
    }
    const nodeVersion = /^node:(\d+\.\d+\.\d+)(-[a-z0-9.-]+)?$/.exec(image)?.[1];
    if (nodeVersion === undefined) throw new Error(`the replay knows node:<exact version>[-variant] base images only, not ${image}`);
    mkdirSync(root, { recursive: true });
    const nodeDir = nodeOnlyDir(join(this.options.outDir, `node-${nodeVersion}`), await this.options.nodeBinary(nodeVersion));
    return { name: stageName, root, workdir: '/', env: {}, user: 'root', entrypoint: [], cmd: [], healthcheck: null, exposed: [], nodeVersion, nodeDir };
  }

  /** COPY [--from=<stage>] <src>... <dest> */
  private copy(instruction: Copy, stage: Stage): void {
    onlyFlags(instruction, ['from']);
    const fromName = instruction.getFromFlag()?.getValue();
    const from = fromName === undefined ? null : this.stages.find((s) => s.name === fromName);
    if (from === undefined) throw new Error(`no earlier stage named ${fromName}`);
    const args = instruction.getJSONStrings().length > 0 ? execForm(instruction) : instruction.getExpandedArguments().map((arg) => arg.getValue());
    const dest = args.at(-1);
    const sources = args.slice(0, -1);
    if (dest === undefined || sources.length === 0) throw new Error('expected COPY <src>... <dest>');
    for (const source of sources) {
      if (/[*?[]/.test(source)) throw new Error(`wildcards are not replayed (${source})`);
      const intoDir = dest.endsWith('/') || sources.length > 1;
      if (from === null) {
        copySource(this.context.source(source), dest, intoDir, (path) => onHost(stage, path), this.context.keeps);
      } else {
        copySource(onHost(from, source), dest, intoDir, (path) => onHost(stage, path));
      }
    }
  }
}

/** A container path of a stage (relative to its WORKDIR, or absolute), on this machine. */
function onHost(stage: Stage, containerPath: string): string {
  return join(stage.root, posix.resolve(stage.workdir, containerPath));
}

/** The parser's class for an instruction, checked. */
function kind<T extends Instruction>(instruction: Instruction, type: abstract new (...args: never[]) => T): T {
  if (!(instruction instanceof type)) throw new Error(`not parsed as ${type.name}`);
  return instruction;
}

function onlyFlags(instruction: ModifiableInstruction, allowed: readonly string[]): void {
  const other = instruction.getFlags().find((flag) => !allowed.includes(flag.getName()));
  if (other !== undefined) throw new Error(`--${other.getName()} is not replayed`);
}

function single(args: readonly string[]): string {
  if (args.length !== 1 || args[0] === undefined) throw new Error('expected one argument');
  return args[0];
}

/** The exec form (a JSON array); ENTRYPOINT and CMD must use it, so the app, not a shell, gets the container's signals. */
function execForm(instruction: JSONInstruction): string[] {
  const strings = instruction.getJSONStrings().map((s) => s.getJSONValue());
  if (strings.length === 0) throw new Error('expected the exec form ["program", "arg", ...]');
  return strings;
}

/** HEALTHCHECK [--option=value]... CMD <exec or shell form> | NONE */
function healthcheck(instruction: Healthcheck): ReplayedImage['healthcheck'] {
  const options = Object.fromEntries(instruction.getFlags().map((flag) => [flag.getName(), flag.getValue() ?? '']));
  const content = (instruction.getArgumentsContent() ?? '').trim();
  if (/^NONE$/i.test(content)) return null;
  const command = /^CMD\s+(.+)$/is.exec(content)?.[1];
  if (command === undefined) throw new Error('expected HEALTHCHECK [options] CMD <command>');
  if (!command.startsWith('[')) return { command: ['/bin/sh', '-c', command], options };
  const parsed: unknown = JSON.parse(command);
  if (!Array.isArray(parsed) || !parsed.every((s): s is string => typeof s === 'string')) throw new Error('expected a JSON array of strings after CMD');
  return { command: parsed, options };
}
