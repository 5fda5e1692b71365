/**
 * Bundling for the Lambda cold start benchmark (bench/lambda.ts): one handler entry into one
 * minified ESM file, as a Lambda deployment bundles it, with its sizes, the AWS SDK packages it
 * imports, and where its bytes come from.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';

/** The esbuild options every handler is bundled with, for the results file. */
export const BUNDLE_OPTIONS =
  'bundle, minify, format esm, platform node, target node24, external @aws-sdk/*, no comments';

const gzipBytes = (code: string | Uint8Array) => gzipSync(code, { level: 9 }).length;

/**
 * Resolves `missive` and `missive/*` to the sources behind the package's `exports`: ./dist/x.js
 * to `srcRoot`/x.ts.
 */
function missiveSources(root: string, srcRoot: string): Plugin {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default?: string }>;
  };
  return {
    name: 'missive-sources',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^missive(\/|$)/ }, (args) => {
        const subpath = `.${args.path.slice('missive'.length)}`;
        const target = manifest.exports[subpath];
        const dist = typeof target === 'string' ? target : target?.default;
        if (!dist) return { errors: [{ text: `package.json exports no "${subpath}" for ${args.path}` }] };
        const path = join(srcRoot, dist.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
        if (!existsSync(path)) return { errors: [{ text: `${args.path} maps to ${path}, which does not exist` }] };
        return { path };
      });
    },
  };
}

/** The package an import specifier names: `@scope/name` or `name`. */
export const packageOf = (specifier: string) => specifier.split('/', specifier.startsWith('@') ? 2 : 1).join('/');

/** Groups an input path (relative to the repository) by npm package, or keeps the file path. */
function ownerOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  return at === -1 ? input : packageOf(input.slice(at + 'node_modules/'.length));
}

/** What one input (an npm package, or a file of this repository) puts into a bundle. */
export interface Contributor {
  readonly input: string;
  /** Minified bytes in the bundle, from esbuild's metafile. */
  readonly bytes: number;
  /** How much smaller the gzip size gets without this input's bytes (leave one out). */
  readonly gzipBytes: number;
}

export interface Bundle {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** `@aws-sdk/*` specifiers the bundle imports statically: loaded at import. */
  readonly sdkImports: readonly string[];
  /** `@aws-sdk/*` specifiers the bundle imports only with `import()`: loaded when first used. */
  readonly sdkLazyImports: readonly string[];
  /** Every input, the biggest gzip contributor first. */
  readonly contributors: readonly Contributor[];
  readonly metafile: Metafile;
}

/**
 * Bundles `entry` (relative to `root`, the repository) into `file`, with `missive/*` from
 * `srcRoot` (the repository's src/, or a prototype copy). `@aws-sdk/*` stays external, as the Lambda
 * runtime provides it; any other external import but `node:` builtins is an error. Comments are
 * dropped, license ones too (esbuild keeps Powertools' `v8 ignore … @preserve` lines otherwise),
 * so only code is compared.
 */
export async function bundle(root: string, srcRoot: string, entry: string, file: string): Promise<Bundle> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: ['@aws-sdk/*'],
    legalComments: 'none',
    plugins: [missiveSources(root, srcRoot)],
    metafile: true,
    sourcemap: 'external',
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles.find((f) => f.path === file);
  const map = result.outputFiles.find((f) => f.path === `${file}.map`);
  const output = result.metafile.outputs[relative(root, file)];
  if (!code || !map || !output) throw new Error(`esbuild produced no ${file}, source map or metafile output`);

  const externals = output.imports.filter((i) => i.external);
  const sdkOf = (kind: string) =>
    [...new Set(externals.filter((i) => i.kind === kind && i.path.startsWith('@aws-sdk/')).map((i) => i.path))].sort();
  // Only static imports load at import time; a dynamic `import()` loads when the code runs.
  const sdkImports = sdkOf('import-statement');
  const sdkLazyImports = sdkOf('dynamic-import').filter((path) => !sdkImports.includes(path));
  const others = externals.map((i) => i.path).filter((p) => !p.startsWith('@aws-sdk/') && !p.startsWith('node:'));
  if (others.length > 0) throw new Error(`${entry}: unexpected external imports ${others.join(', ')}`);

  const minified = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    minified.set(ownerOf(input), (minified.get(ownerOf(input)) ?? 0) + bytesInOutput);
  }
  const sourceMap = JSON.parse(map.text) as SourceMap;
  // The map names sources relative to the bundle; the metafile, relative to the repository.
  const sources = sourceMap.sources.map((path) => relative(root, resolve(dirname(file), path)));
  const gzipped = gzipByOwner(code.text, sourceMap.mappings, sources.map(ownerOf));
  const contributors = [...minified]
    .map(([input, bytes]) => ({ input, bytes, gzipBytes: gzipped.get(input) ?? 0 }))
    .sort((a, b) => b.gzipBytes - a.gzipBytes || b.bytes - a.bytes);
  writeFileSync(file, code.contents);
  return {
    file,
    bytes: code.contents.length,
    gzipBytes: gzipBytes(code.contents),
    sdkImports,
    sdkLazyImports,
    contributors,
    metafile: result.metafile,
  };
}

interface SourceMap {
  readonly sources: readonly string[];
  /** Base64 VLQ segments: generated column, source index, line, column (each a delta). */
  readonly mappings: string;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * For each owner (`owners[i]` owns source `i`), how many gzip bytes the bundle loses when that
 * owner's characters are cut out of it, per the source map's `mappings`. Gzip shares repeated
 * text between inputs, so these do not add up to the total; each tells what removing that input
 * would save.
 */
function gzipByOwner(code: string, mappings: string, owners: readonly string[]): Map<string, number> {
  const lines = code.split('\n');
  // The source index of every character of the bundle, -1 where the map names none.
  const sourceOf = lines.map((line) => new Int32Array(line.length).fill(-1));
  let source = 0;
  mappings.split(';').forEach((mapping, lineIndex) => {
    const lineSources = sourceOf[lineIndex];
    if (!lineSources || mapping === '') return;
    let column = 0;
    const starts: [column: number, source: number][] = [];
    for (const segment of mapping.split(',')) {
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >> 1) : value >> 1);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0] ?? 0;
      if (fields.length > 1) source += fields[1] ?? 0;
      starts.push([column, fields.length > 1 ? source : -1]);
    }
    for (const [i, [start, index]] of starts.entries()) {
      lineSources.fill(index, start, starts[i + 1]?.[0] ?? lineSources.length);
    }
  });

  const total = gzipBytes(code);
  const sourcesByOwner = new Map<string, Set<number>>();
  owners.forEach((owner, index) => {
    sourcesByOwner.set(owner, (sourcesByOwner.get(owner) ?? new Set()).add(index));
  });
  const saved = new Map<string, number>();
  for (const [owner, sources] of sourcesByOwner) {
    const without = lines
      .map((line, lineIndex) => {
        const lineSources = sourceOf[lineIndex] as Int32Array;
        let kept = '';
        for (let i = 0; i < line.length; i++) if (!sources.has(lineSources[i] as number)) kept += line[i];
        return kept;
      })
      .join('\n');
    saved.set(owner, total - gzipBytes(without));
  }
  return saved;
}
