import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface RunStepOptions {
  /** The program and its arguments (`/bin/sh -c …` for the shell form). */
  readonly command: readonly string[];
  /** WORKDIR, on this machine. */
  readonly cwd: string;
  /** The stage's ENV. */
  readonly env: Readonly<Record<string, string>>;
  /** A directory of its own holding the `node` link (see {@link nodeOnlyDir}). */
  readonly nodeDir: string;
}

/** One RUN; on a non-zero exit it throws with the end of the command's output. */
export async function runStep(options: RunStepOptions): Promise<void> {
  const [program = '', ...args] = options.command;
  const env = { ...builderNetwork(), ...options.env, PATH: `${options.nodeDir}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/root' };
  const child = spawn(program, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  if (exit !== 0) throw new Error(`\`${options.command.join(' ')}\` exited ${exit}:\n${output.slice(-8000)}`);
}

/**
 * A directory holding only a `node` link to `nodeBinary`: first on PATH, it makes npm, npx and
 * every script they start (`#!/usr/bin/env node`) run on that Node, and hides nothing else.
 */
export function nodeOnlyDir(dir: string, nodeBinary: string): string {
  if (!existsSync(join(dir, 'node'))) {
    mkdirSync(dir, { recursive: true });
    symlinkSync(nodeBinary, join(dir, 'node'));
  }
  return dir;
}

/** Variables that say how this machine reaches the registry (a proxy, extra CAs): passed to every RUN, as a builder passes its own proxy settings. */
const NETWORK_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

let network: Record<string, string> | undefined;

/**
 * This machine's network settings for a RUN. npm looks for its global npmrc (registry, cafile)
 * beside the Node that runs it, here the image's Node in a cache directory: so it is named.
 */
function builderNetwork(): Record<string, string> {
  if (network !== undefined) return network;
  const globalconfig = spawnSync('npm', ['config', 'get', 'globalconfig'], { encoding: 'utf8' }).stdout.trim();
  const entries = NETWORK_VARIABLES.flatMap((name) => {
    const value = process.env[name];
    return value === undefined ? [] : [[name, value] as const];
  });
  if (globalconfig !== '') entries.push(['npm_config_globalconfig', globalconfig]);
  network = Object.fromEntries(entries);
  return network;
}
