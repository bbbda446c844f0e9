// `npm run bench`: every benchmark, one after the other on a quiet machine, each printing its table and writing its
// JSON to bench/results/ (http.svg is the chart). Each runs in its own process so none disturbs another's figures.
import { spawnSync } from 'node:child_process';

const BENCHES = [
  ['service operations', ['bench/service.bench.mjs']],
  ['scaling', ['--expose-gc', 'bench/scaling.bench.mjs']],
  ['HTTP', ['bench/http.bench.mjs']],
];

for (const [name, args] of BENCHES) {
  console.log(`\n## ${name}\n`);
  const { status } = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`The ${name} benchmark failed (exit ${status})`);
    process.exit(status ?? 1);
  }
}
console.log('\nResults: bench/results/service.json, scaling.json, http.json and http.svg');
