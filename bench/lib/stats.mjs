// Small statistics and timing helpers shared by the benches. Times are in microseconds.
import { cpus } from 'node:os';

/** The value at quantile q (0..1) of an ascending array, by nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** { n, median, p90, p99, min, max, mean } of a list of times. */
export function summarize(times) {
  const sorted = Float64Array.from(times).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

/** Microseconds since `start` (a process.hrtime.bigint()). */
export function since(start) {
  return Number(process.hrtime.bigint() - start) / 1000;
}

/**
 * Runs `fn(i)` for i = 0..count-1 sequentially, timing each call. Answers the summary plus `opsPerSec`
 * (count over the loop's wall time, which includes the loop's own bookkeeping).
 */
export async function timeLoop(count, fn) {
  const times = new Array(count);
  const loopStart = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    times[i] = since(start);
  }
  const wall = since(loopStart);
  return { ...summarize(times), opsPerSec: count / (wall / 1e6) };
}

/** Same as timeLoop, over the items of a list. */
export function timeEach(items, fn) {
  return timeLoop(items.length, (i) => fn(items[i], i));
}

export function machine(redisVersion) {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model.trim() ?? 'unknown', node: process.version, redis: redisVersion };
}

/** A number for a markdown table: thousands separated by thin spaces, `digits` decimals. */
export function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const fixed = Number(value).toFixed(digits);
  const [whole, part] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return part === undefined ? grouped : `${grouped}.${part}`;
}

/** A markdown table from a header row and rows of cells. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
