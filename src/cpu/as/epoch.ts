// The code cache's check epochs (layout.ts CACHE_*): blocks and JIT regions are compared with
// memory again when entered in a new epoch, which starts wherever the host may have written guest
// memory or a guest store reached a frame holding checked code.
import {
  HART_BCACHE, CACHE_EPOCH, CACHE_BHEAD, BLOCK_SLOTS, BLOCK_HEAD_SIZE, CACHE_CODEMAP, CODEMAP_BITS,
  CACHE_JITMAP, JITMAP_SLOTS, JITMAP_ENTRY_SIZE,
} from '../layout';

/** The code cache (layout.ts CACHE_*) hart h runs with. */
@inline export function code_cache(h: usize): usize {
  return <usize>load<u32>(h + HART_BCACHE);
}

/** Starts a new check epoch of the code cache c (layout.ts): every block is compared with memory
 *  again before it next runs. Called wherever the host may have written guest memory. */
export function bump_epoch_c(c: usize): void {
  let ep = load<u32>(c + CACHE_EPOCH) + 1;
  if (ep == 0) { // wrapped: forget every block and region check so no old one can look current
    memory.fill(c + CACHE_BHEAD, 0, BLOCK_SLOTS * BLOCK_HEAD_SIZE);
    for (let i: usize = 0; i < <usize>JITMAP_SLOTS; i++) store<u32>(c + CACHE_JITMAP + i * JITMAP_ENTRY_SIZE, 0, 8);
    ep = 1;
  }
  store<u32>(c + CACHE_EPOCH, ep);
}

/** bump_epoch_c on the code cache of hart h. */
export function bump_epoch(h: usize): void {
  bump_epoch_c(code_cache(h));
}

/** Marks the frame holding host address a as holding checked code (in code cache c). */
@inline export function mark_code(c: usize, a: usize): void {
  const i = (a >> 12) & (CODEMAP_BITS - 1);
  const m = c + CACHE_CODEMAP + ((i >> 5) << 2);
  store<u32>(m, load<u32>(m) | (<u32>1 << <u32>(i & 31)));
}

/** After a guest store to host address a: true (and a new epoch) if its frame holds code checked
 *  in this epoch of code cache c, which the interpreter must then check again. */
@inline export function code_hit(c: usize, a: usize): bool {
  const i = (a >> 12) & (CODEMAP_BITS - 1);
  const m = c + CACHE_CODEMAP + ((i >> 5) << 2);
  const bits = load<u32>(m);
  const bit = <u32>1 << <u32>(i & 31);
  if ((bits & bit) == 0) return false;
  store<u32>(m, bits & ~bit);
  bump_epoch_c(c);
  return true;
}

