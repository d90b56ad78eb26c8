// A Dockerfile reader for the checks no container engine can run here: what each stage copies,
// runs and produces. Handles the instructions the Wolk Dockerfile uses (ARG, FROM ... AS, WORKDIR,
// COPY [--from] [--chown], RUN, ENV, USER, EXPOSE, CMD, ENTRYPOINT), line continuations and
// ${ARG} substitution in FROM.
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

export interface Copy {
  readonly line: number;
  readonly from?: string;
  readonly sources: readonly string[];
  /** Absolute destination in the stage. */
  readonly dest: string;
  /** The destination is a directory the sources go into (ends with / or several sources). */
  readonly destIsDir: boolean;
}

export interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: Instruction[];
  workdir: string;
  readonly copies: Copy[];
  readonly runs: { line: number; command: string }[];
  user?: string;
  cmd?: string[];
}

export function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    const start = i + 1;
    if (/^\s*(#|$)/.test(raw)) continue;
    while (raw.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      raw = raw.trimEnd().slice(0, -1) + ' ' + lines[++i]!.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(raw);
    if (m) instructions.push({ line: start, keyword: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    const stage = stages[stages.length - 1];
    switch (ins.keyword) {
      case 'ARG': {
        const [k, v] = ins.args.split('=');
        if (!stage && k) args.set(k, v ?? '');
        break;
      }
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
        const image = (m?.[1] ?? ins.args).replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args.get(a ?? b) ?? '');
        stages.push({ name: m?.[2] ?? String(stages.length), image, instructions: [], workdir: '/', copies: [], runs: [] });
        break;
      }
      default: {
        if (!stage) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
        stage.instructions.push(ins);
        if (ins.keyword === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, ins.args);
        if (ins.keyword === 'USER') stage.user = ins.args;
        if (ins.keyword === 'RUN') stage.runs.push({ line: ins.line, command: ins.args });
        if (ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT') stage.cmd = JSON.parse(ins.args) as string[];
        if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
          const words = ins.args.split(/\s+/);
          let from: string | undefined;
          const rest: string[] = [];
          for (const w of words) {
            if (w.startsWith('--from=')) from = w.slice('--from='.length);
            else if (!w.startsWith('--')) rest.push(w);
          }
          const dest = rest.pop() ?? '';
          const destIsDir = dest.endsWith('/') || rest.length > 1;
          stage.copies.push({ line: ins.line, ...(from !== undefined ? { from } : {}), sources: rest, dest: posix.resolve(stage.workdir, dest), destIsDir });
        }
      }
    }
  }
  return stages;
}

export function readDockerfile(root: string): Stage[] {
  return parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
}

/** .dockerignore patterns (simple: names, path prefixes and * globs; no ! exceptions). */
export function readDockerignore(root: string): string[] {
  const path = join(root, '.dockerignore');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Whether a context path is excluded by a .dockerignore pattern. */
export function ignoredBy(patterns: readonly string[], path: string): string | undefined {
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '');
  for (const p of patterns) {
    if (p.startsWith('!')) throw new Error('.dockerignore exceptions (!) are not supported by this check');
    const pat = p.replace(/^\.?\//, '').replace(/\/$/, '');
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*')}(/.*)?$`);
    if (re.test(clean)) return p;
  }
  return undefined;
}

/** Paths (absolute, in the stage's filesystem) a stage creates: COPY destinations and npm outputs. */
export function producedPaths(stage: Stage, buildOutDir: string): Set<string> {
  const out = new Set<string>();
  for (const c of stage.copies) {
    if (c.destIsDir) for (const s of c.sources) out.add(posix.resolve(c.dest, posix.basename(s)));
    else out.add(c.dest);
  }
  for (const r of stage.runs) {
    if (/\bnpm (ci|install)\b/.test(r.command)) out.add(posix.resolve(stage.workdir, 'node_modules'));
    if (/\bnpm run build\b/.test(r.command)) out.add(posix.resolve(stage.workdir, buildOutDir));
  }
  return out;
}

/** npm scripts a RUN line calls (`npm run x`). */
export function npmScriptsRun(command: string): string[] {
  return [...command.matchAll(/\bnpm run(?:-script)? ([\w:-]+)/g)].map((m) => m[1]!);
}
