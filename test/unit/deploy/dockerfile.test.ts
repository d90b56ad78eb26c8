// The image, checked without a container engine (and the deploy guide against the manifests): every path the Dockerfile copies exists (and is not
// .dockerignored), every npm script it runs exists, the runtime stage gets what the services read at
// run time, and every workload's command is a package.json serve:<name> script whose entry file
// is compiled from a source file that exists.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { defaultText, ENV, SERVICE_NAMES, variablesOf } from '../../../lib/config/env.js';
import { containersOf, workloads } from './checks.js';
import { OVERLAYS, renderOverlay, ROOT } from './context.js';
import { ignoredBy, npmScriptsRun, parseDockerfile, producedPaths, readDockerfile, readDockerignore } from './dockerfile.js';
import { resolveEnvironments } from './env-checks.js';
import { describe } from './yaml-objects.js';

interface PackageJson {
  scripts: Record<string, string>;
  engines?: { node?: string };
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const buildConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[]; compilerOptions?: { outDir?: string } };
const baseConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir?: string } };
const OUT_DIR = buildConfig.compilerOptions?.outDir ?? baseConfig.compilerOptions.outDir;
const stages = readDockerfile(ROOT);
const runtime = stages[stages.length - 1]!;

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '(?:.*/)?')}$`);
}

/** dist/services/storer/main.js → services/storer/main.ts (tsc with rootDir "." and outDir dist). */
function sourceOf(built: string): string {
  return posix.relative(OUT_DIR, built.replace(/^\.\//, '')).replace(/\.js$/, '.ts');
}

test('Debian-based Node image matching package.json engines (rocksdb\'s prebuilt binary needs glibc)', (t) => {
  for (const s of stages) {
    t.notRegex(s.image, /alpine/, `stage ${s.name}: ${s.image}`);
    const major = /^node:(\d+)/.exec(s.image)?.[1];
    const engines = /(\d+)/.exec(pkg.engines?.node ?? '')?.[1];
    t.is(major, engines, `stage ${s.name}: ${s.image} vs engines ${pkg.engines?.node}`);
  }
  t.is(stages.length, 2, 'a build stage and a runtime stage');
});

test('every path the Dockerfile copies from the build context exists and is not .dockerignored', (t) => {
  const ignore = readDockerignore(ROOT);
  let copies = 0;
  for (const s of stages) {
    for (const c of s.copies.filter((x) => x.from === undefined)) {
      for (const src of c.sources) {
        copies++;
        t.true(existsSync(join(ROOT, src)), `Dockerfile line ${c.line}: COPY ${src}: no such path in the repository`);
        t.is(ignoredBy(ignore, src), undefined, `Dockerfile line ${c.line}: COPY ${src} is excluded by .dockerignore`);
      }
    }
  }
  t.true(copies >= 5);
});

test('every path copied between stages is produced by the stage it comes from', (t) => {
  for (const s of stages) {
    for (const c of s.copies.filter((x) => x.from !== undefined)) {
      const from = stages.find((x) => x.name === c.from);
      if (!from) {
        t.fail(`Dockerfile line ${c.line}: no stage named ${c.from}`);
        continue;
      }
      const produced = producedPaths(from, OUT_DIR);
      for (const src of c.sources) t.true(produced.has(posix.resolve(from.workdir, src)), `Dockerfile line ${c.line}: ${src} is not created in stage ${from.name} (it has: ${[...produced].join(', ')})`);
    }
  }
});

test('npm runs what exists: scripts in package.json, npm ci after the lockfile is copied', (t) => {
  for (const s of stages) {
    for (const r of s.runs) {
      for (const script of npmScriptsRun(r.command)) t.truthy(pkg.scripts[script], `Dockerfile line ${r.line}: npm run ${script} is not a package.json script`);
      if (/\bnpm ci\b/.test(r.command)) {
        const copied = s.copies.filter((c) => c.line < r.line).flatMap((c) => c.sources);
        t.true(copied.includes('package-lock.json'), `Dockerfile line ${r.line}: npm ci needs package-lock.json copied first`);
      }
    }
  }
  const build = stages[0]!;
  t.true(build.runs.some((r) => /\bnpm run build\b/.test(r.command)), 'the build stage compiles');
  t.true(build.runs.some((r) => /\bnpm prune --omit=dev\b/.test(r.command)), 'dev dependencies are pruned before node_modules is copied');
});

test('the runtime stage: /app, a numeric non-root user, and what the services read at run time', (t) => {
  t.is(runtime.workdir, '/app');
  t.regex(runtime.user ?? '', /^[1-9]\d*(:\d+)?$/, 'USER must be a numeric non-root uid for runAsNonRoot');
  const dests = new Set(runtime.copies.map((c) => posix.relative(runtime.workdir, c.dest)));
  for (const needed of ['package.json', 'node_modules', OUT_DIR, 'gen']) t.true(dests.has(needed), `runtime stage lacks ${needed}`);
  // lib/grpc/reflection.ts reads these descriptor sets from gen/ at run time.
  for (const f of ['gen/wolk.binpb', 'gen/health.binpb']) t.true(existsSync(join(ROOT, f)), `${f} must exist (npm run gen) to be copied into the image`);
  t.true(runtime.cmd !== undefined && Object.values(pkg.scripts).includes(runtime.cmd.join(' ')), `default CMD ${JSON.stringify(runtime.cmd)} is not a package.json script`);
});

test('every workload runs a serve:<name> script whose entry and preload are compiled from existing sources', (t) => {
  const build = stages[0]!;
  const copiedDirs = build.copies.flatMap((c) => c.sources);
  for (const overlay of OVERLAYS) {
    for (const w of workloads(renderOverlay(overlay))) {
      for (const c of containersOf(w)) {
        const command = (c['command'] as string[]).join(' ');
        const script = Object.entries(pkg.scripts).find(([name, body]) => name.startsWith('serve:') && body === command);
        t.truthy(script, `${overlay}: ${describe(w)} runs "${command}", which is no package.json serve:* script`);
        for (const built of command.split(' ').filter((a) => a.endsWith('.js'))) {
          t.true(built.replace(/^\.\//, '').startsWith(`${OUT_DIR}/`), `${built} is not under ${OUT_DIR}/`);
          const source = sourceOf(built);
          t.true(existsSync(join(ROOT, source)), `${overlay}: ${describe(w)}: ${built} is built from ${source}, which does not exist`);
          t.true(buildConfig.include.some((g) => globToRegExp(g).test(source)), `${source} is not in tsconfig.build.json include`);
          t.true(copiedDirs.includes(source.split('/')[0]!), `the build stage does not copy ${source.split('/')[0]}/`);
        }
      }
    }
  }
});

test('no workload asks for a storage backend the image lacks (the RADOS addon is not built into it)', (t) => {
  const imageHasRados = stages.some((s) => s.copies.some((c) => c.sources.some((src) => src.startsWith('native'))));
  for (const overlay of OVERLAYS) {
    for (const r of resolveEnvironments(renderOverlay(overlay))) {
      const store = r.env.get('WOLK_STORE')?.value ?? defaultText(ENV.WOLK_STORE)!;
      if (store.startsWith('rados://')) t.true(imageHasRados, `${overlay}: ${describe(r.workload)} sets WOLK_STORE=${store}, but the image has no RADOS addon`);
      else t.is(store, 'rocksdb');
    }
  }
});

test('the Dockerfile reader: stages, ARG substitution, continuations, COPY flags', (t) => {
  const s = parseDockerfile('ARG IMG=node:20\nFROM ${IMG} AS build\nWORKDIR /app\nCOPY --chown=1:1 a b ./\nRUN npm ci \\\n && npm run build\nFROM ${IMG}\nCOPY --from=build /app/dist ./dist\nUSER 10001\nCMD ["node", "x.js"]\n');
  t.is(s.length, 2);
  t.is(s[0]!.image, 'node:20');
  t.deepEqual(s[0]!.copies[0], { line: 4, sources: ['a', 'b'], dest: '/app', destIsDir: true });
  t.deepEqual(npmScriptsRun(s[0]!.runs[0]!.command), ['build']);
  t.true(producedPaths(s[0]!, 'dist').has('/app/dist'));
  t.deepEqual(s[1]!.copies[0], { line: 8, from: 'build', sources: ['/app/dist'], dest: '/dist', destIsDir: false });
  t.is(ignoredBy(['node_modules', 'bench/results', '*.log'], 'node_modules/x'), 'node_modules');
  t.is(ignoredBy(['*.log'], 'lib'), undefined);
});

test('docs/deploy.md documents every variable the services read and every path it tells operators to use', (t) => {
  const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const names = new Set<string>(SERVICE_NAMES.flatMap((s) => variablesOf(s).map((v) => v.name)));
  for (const overlay of OVERLAYS) for (const r of resolveEnvironments(renderOverlay(overlay))) for (const name of r.env.keys()) names.add(name);
  for (const name of names) t.true(doc.includes(`\`${name}\``), `docs/deploy.md does not mention \`${name}\``);
  const paths = [...doc.matchAll(/(?<![\w/.])((?:deploy|lib|test|services)\/[\w./-]*\w)/g)].map((m) => m[1]!);
  t.true(paths.length > 5);
  for (const p of new Set(paths)) t.true(existsSync(join(ROOT, p)), `docs/deploy.md names ${p}, which does not exist`);
  for (const m of doc.matchAll(/kubectl (?:apply|delete) -k (\S+)/g)) t.true(existsSync(join(ROOT, m[1]!, 'kustomization.yaml')), `kubectl apply -k ${m[1]}: no kustomization there`);
});
