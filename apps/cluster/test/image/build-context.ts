import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, posix, relative } from 'node:path';
import dockerignore, { type Ignore } from '@balena/dockerignore';

// The package's types declare `export default`; its code sets `module.exports` to the factory, which
// is what an ESM import's default is.
const ignore = dockerignore as unknown as (options?: { ignorecase?: boolean }) => Ignore;

/** `docker build`'s context directory, seen through its `.dockerignore`. */
export class BuildContext {
  private readonly excluded: (relativePath: string) => boolean;

  constructor(readonly dir: string) {
    const file = join(dir, '.dockerignore');
    const patterns = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '' && !line.startsWith('#'))
      : [];
    // An exception inside an excluded directory makes Docker walk it; the copy below does not.
    if (patterns.some((pattern) => pattern.startsWith('!'))) throw new Error(`${file}: exceptions (!) are not replayed`);
    const rules = ignore().add(patterns);
    this.excluded = (relativePath) => rules.ignores(relativePath);
  }

  /** A COPY source: its path on this machine; it must be inside the context and not excluded. */
  source(source: string): string {
    const path = join(this.dir, source);
    if (isAbsolute(source) || relative(this.dir, path).startsWith('..')) throw new Error(`${source} is outside the context`);
    if (!existsSync(path) || this.excluded(relative(this.dir, path))) throw new Error(`${source} is not in the context (or .dockerignore excludes it)`);
    return path;
  }

  /** Keeps what `.dockerignore` leaves in, below `path`. */
  readonly keeps = (path: string): boolean => path === this.dir || !this.excluded(relative(this.dir, path));
}

/**
 * One COPY source, by Docker's rules: a directory's contents go into `dest`; a file goes to
 * `dest`, or into it when `intoDir` (dest ends in `/`, or there are several sources). `onHost`
 * maps a container path to this machine. Symbolic links are copied as links.
 */
export function copySource(path: string, dest: string, intoDir: boolean, onHost: (containerPath: string) => string, keep?: (path: string) => boolean): void {
  const isDir = statSync(path).isDirectory();
  const target = onHost(isDir || !intoDir ? dest : posix.join(dest, basename(path)));
  cpSync(path, target, { recursive: true, verbatimSymlinks: true, ...(keep === undefined ? {} : { filter: keep }) });
}
