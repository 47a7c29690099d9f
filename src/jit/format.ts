// One line of JIT counters for --stats.
import type { JitStats } from './jit.js';

export function formatJitStats(s: JitStats, totalInstructions: bigint | number): string {
  if (s.threshold === 0) return 'jit: off';
  const total = Number(totalInstructions);
  const share = total > 0 ? ` (${((100 * s.instructions) / total).toFixed(1)}% of all)` : '';
  return `jit: threshold ${s.threshold}; ${s.translations} translations (${s.moduleCacheHits} reused, ` +
    `${s.translatedInstructions} instructions, ${(s.wasmBytes / 1024).toFixed(0)} KiB wasm, ${s.compileMs.toFixed(1)} ms), ` +
    `${s.liveRegions} live; ${s.enters} region entries (${s.chains} chained), ${s.instructions} instructions in regions${share}, ` +
    `${s.misses} misses, ${s.checks} checks, ${s.stale} stale, ${s.flushes} flushes, ${s.failures} not compiled, ${s.deferred} deferred (compile budget)`;
}
