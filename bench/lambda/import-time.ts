/**
 * Times `await import()` of one or more modules, in order, in this fresh process, and prints the
 * times as JSON (wall clock and the process's CPU time, all threads), with the names the last
 * module exports:
 *
 *   node bench/lambda/import-time.ts /tmp/…/missive.mjs       # {"ms":[66.1],"cpuMs":[80.2],"exports":["handler"]}
 *   node bench/lambda/import-time.ts sdk.mjs missive.mjs      # {"ms":[64.0,2.1],…}: the second one
 *                                                             # finds the SDK already loaded
 *
 * Run by bench/lambda.ts, one fresh process per sample, so the first import is a cold one. Each
 * time covers resolving, loading, linking and evaluating the module graph not loaded yet: what a
 * Lambda cold start pays for the handler module once the runtime itself has booted.
 */
import { pathToFileURL } from 'node:url';

const paths = process.argv.slice(2);
if (paths.length === 0) throw new Error('Usage: node bench/lambda/import-time.ts <module path>...');
const ms: number[] = [];
const cpuMs: number[] = [];
let exports: string[] = [];
for (const path of paths) {
  const url = pathToFileURL(path).href;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const module: Record<string, unknown> = await import(url);
  ms.push(performance.now() - start);
  const cpu = process.cpuUsage(cpuStart);
  cpuMs.push((cpu.user + cpu.system) / 1000);
  exports = Object.keys(module).sort();
}
console.log(JSON.stringify({ ms, cpuMs, exports }));
