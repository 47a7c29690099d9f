// Unit tests of fork's copy-on-write address space copy (AddressSpace.fork): private pages are
// shared read-only until the first write, MAP_SHARED pages stay shared, frames are freed once
// their last owner lets go (no leaks, no early frees).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { PM_COW, entryFrame } from '../src/memory/page-map.js';
import {
  AddressSpace, ACCESS_READ, ACCESS_WRITE, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MADV_DONTNEED, PROT_READ, PROT_WRITE,
} from '../src/user/address-space.js';
import { PAGE_SIZE } from '../src/user/layout.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const str = (as: AddressSpace, va: number, n: number): string => dec.decode(as.read(va, n)!);

test('fork: private pages are copied on the first write, in either process', () => {
  const mem = new HostMemory();
  const base = mem.framesInUse;
  const a = new AddressSpace(mem);
  const p = a.mmap(0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  a.write(p, enc.encode('page0'));
  a.write(p + PAGE_SIZE, enc.encode('page1'));
  let flushes = 0;
  a.onShrink = () => flushes++;
  const b = a.fork();
  assert.equal(flushes, 1, "fork flushes the parent's TLBs (its pages lost write access)");
  const pn = p / PAGE_SIZE;
  assert.ok(a.pages.get(pn) & PM_COW && b.pages.get(pn) & PM_COW);
  assert.equal(entryFrame(a.pages.get(pn)), entryFrame(b.pages.get(pn)), 'one frame, two owners');
  assert.equal(mem.framesInUse - base, 2, 'fork copies no page');
  // The child writes page 0: it gets a copy; the parent's page is unchanged.
  b.write(p, enc.encode('CHILD'));
  assert.equal(str(b, p, 5), 'CHILD');
  assert.equal(str(a, p, 5), 'page0');
  assert.notEqual(entryFrame(a.pages.get(pn)), entryFrame(b.pages.get(pn)));
  // The parent writes page 0: it is the only owner left, so no copy is made.
  const before = mem.framesInUse;
  const frame = entryFrame(a.pages.get(pn));
  a.write(p, enc.encode('PAREN'));
  assert.equal(mem.framesInUse, before);
  assert.equal(entryFrame(a.pages.get(pn)), frame);
  assert.equal(a.pages.get(pn) & PM_COW, 0);
  // The parent writes page 1 (still shared): the child keeps the old contents.
  a.write(p + PAGE_SIZE, enc.encode('PAGE1'));
  assert.equal(str(b, p + PAGE_SIZE, 5), 'page1');
  // A page untouched before the fork is demand-zero in each, separately.
  b.write(p + 2 * PAGE_SIZE, enc.encode('zz'));
  assert.deepEqual([...a.read(p + 2 * PAGE_SIZE, 2)!], [0, 0]);
  // Reads never copy.
  const c = b.fork();
  const n = mem.framesInUse;
  assert.equal(str(c, p + PAGE_SIZE, 5), 'page1');
  assert.ok(c.translate(p + PAGE_SIZE, ACCESS_READ) >= 0);
  assert.equal(mem.framesInUse, n);
  a.destroy();
  b.destroy();
  assert.equal(str(c, p, 5), 'CHILD', 'frames live on while one owner is left');
  c.destroy();
  assert.equal(mem.framesInUse, base, 'every frame is freed once');
});

test('fork: MAP_SHARED memory stays shared, also pages first touched after the fork', () => {
  const mem = new HostMemory();
  const base = mem.framesInUse;
  const a = new AddressSpace(mem);
  const s = a.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  a.write(s, enc.encode('one'));
  const b = a.fork();
  b.write(s, enc.encode('TWO'));
  b.write(s + PAGE_SIZE, enc.encode('late'));
  assert.equal(str(a, s, 3), 'TWO');
  assert.equal(str(a, s + PAGE_SIZE, 4), 'late');
  assert.equal(b.madvise(s, PAGE_SIZE, MADV_DONTNEED), 0);
  assert.equal(str(a, s, 3), 'TWO', 'MADV_DONTNEED keeps shared contents');
  b.destroy();
  a.write(s, enc.encode('3'));
  assert.equal(str(a, s, 3), '3WO');
  a.destroy();
  assert.equal(mem.framesInUse, base);
});

test('fork: munmap, mprotect and poke respect shared frames', () => {
  const mem = new HostMemory();
  const base = mem.framesInUse;
  const a = new AddressSpace(mem);
  const p = a.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  a.write(p, enc.encode('keep'));
  a.write(p + PAGE_SIZE, enc.encode('gone'));
  const b = a.fork();
  assert.equal(b.munmap(p + PAGE_SIZE, PAGE_SIZE), 0);
  assert.equal(str(a, p + PAGE_SIZE, 4), 'gone', "the child's munmap leaves the parent's page");
  assert.equal(a.mprotect(p, PAGE_SIZE, PROT_READ), 0);
  assert.equal(a.translate(p, ACCESS_WRITE), -1, 'read-only stays read-only');
  assert.equal(a.mprotect(p, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
  a.poke(p, enc.encode('POKE'));
  assert.equal(str(b, p, 4), 'keep', 'poke copies a shared page first');
  assert.equal(str(a, p, 4), 'POKE');
  a.destroy();
  b.destroy();
  assert.equal(mem.framesInUse, base);
});
