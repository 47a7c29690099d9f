// Unit tests of the process VM's memory pieces: the page map, the address space (VMAs, demand
// paging, protections, mmap/munmap/mprotect/mremap/madvise/brk) and the guest copy helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import {
  PageMap, PM_DIRTY, PM_PRESENT, PM_READ, PM_WRITE, entryFrame, makeEntry,
} from '../src/memory/page-map.js';
import {
  AddressSpace, ACCESS_EXEC, ACCESS_READ, ACCESS_WRITE, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE,
  MADV_DONTNEED, MREMAP_MAYMOVE, PROT_EXEC, PROT_READ, PROT_WRITE,
} from '../src/user/address-space.js';
import { ERRNO } from '../src/user/errno.js';
import { MMAP_BASE, PAGE_SIZE, TASK_SIZE } from '../src/user/layout.js';

const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

test('page map: set, get, delete, sparse ranges and save/restore', () => {
  const pm = new PageMap();
  assert.equal(pm.get(5), 0);
  const e = makeEntry(0x4000_0000, PM_PRESENT | PM_READ);
  pm.set(5, e);
  pm.set(2 ** 26 - 1, makeEntry(0xffff_f000, PM_PRESENT | PM_WRITE));
  pm.set(2 ** 40, makeEntry(0x1000, PM_PRESENT));
  assert.equal(pm.size, 3);
  assert.equal(entryFrame(pm.get(5)), 0x4000_0000);
  assert.equal(entryFrame(pm.get(2 ** 26 - 1)), 0xffff_f000, 'frames above 2^31 survive');
  assert.equal(pm.get(2 ** 26 - 1) & PM_WRITE, PM_WRITE);
  const seen: number[] = [];
  pm.forEachInRange(0, 2 ** 41, (pn) => seen.push(pn));
  assert.deepEqual(seen, [5, 2 ** 26 - 1, 2 ** 40]);
  const saved = pm.save();
  const copy = new PageMap();
  copy.restore(saved);
  assert.deepEqual(copy.entries(), pm.entries());
  assert.equal(pm.delete(5), e);
  assert.equal(pm.get(5), 0);
  assert.equal(pm.size, 2);
  assert.throws(() => makeEntry(123, 0), RangeError);
});

function space(): { as: AddressSpace; mem: HostMemory; flushes: () => number } {
  const mem = new HostMemory(64 * 1048576 + 4 * 1048576);
  const as = new AddressSpace(mem);
  let n = 0;
  as.onShrink = () => n++;
  return { as, mem, flushes: () => n };
}

test('address space: demand-zero pages, permissions per access kind', () => {
  const { as, mem } = space();
  const a = as.mmap(0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
  assert.ok(a > 0 && a % PAGE_SIZE === 0 && a + 3 * PAGE_SIZE <= MMAP_BASE, 'top-down below the mmap base');
  assert.equal(as.pages.size, 0, 'nothing allocated before the first touch');
  const before = mem.framesInUse;
  const f = as.translate(a + 5, ACCESS_READ);
  assert.ok(f >= 0);
  assert.equal(mem.framesInUse, before + 1);
  assert.equal(as.translate(a + 100, ACCESS_WRITE), f, 'same page, same frame');
  assert.ok(as.pages.get(a / PAGE_SIZE) & PM_DIRTY, 'a write marks the page dirty');
  assert.equal(as.translate(a, ACCESS_EXEC), -1, 'no exec permission');
  assert.equal(as.translate(a + 3 * PAGE_SIZE, ACCESS_READ), -1, 'past the end');
  assert.equal(as.faultCode(a + 3 * PAGE_SIZE), 1, 'SEGV_MAPERR outside mappings');
  assert.equal(as.faultCode(a), 2, 'SEGV_ACCERR inside');
  const ro = as.mmap(0, PAGE_SIZE, PROT_READ, ANON);
  assert.ok(as.translate(ro, ACCESS_READ) >= 0);
  assert.equal(as.translate(ro, ACCESS_WRITE), -1, 'read-only stays read-only after a read fault');
  const guard = as.mmap(0, PAGE_SIZE, 0, ANON);
  assert.equal(as.translate(guard, ACCESS_READ), -1, 'PROT_NONE guard page');
  const x = as.mmap(0, PAGE_SIZE, PROT_READ | PROT_EXEC, ANON);
  assert.ok(as.translate(x, ACCESS_EXEC) >= 0);
  assert.equal(as.translate(-1, ACCESS_READ), -1);
  assert.equal(as.translate(TASK_SIZE, ACCESS_READ), -1);
});

test('address space: copies go through the page map and fail with EFAULT', () => {
  const { as } = space();
  const a = as.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
  const data = new Uint8Array(100).map((_, i) => i);
  assert.ok(as.write(a + PAGE_SIZE - 50, data), 'a write across a page boundary');
  assert.deepEqual(as.read(a + PAGE_SIZE - 50, 100), data);
  assert.equal(as.read(a + 2 * PAGE_SIZE - 10, 20), null, 'runs off the mapping');
  assert.equal(as.write(a + 2 * PAGE_SIZE - 10, new Uint8Array(20)), false);
  assert.deepEqual(as.read(a + 2 * PAGE_SIZE - 10, 10), new Uint8Array(10), 'a failed write writes nothing');
  assert.ok(as.write(a, new TextEncoder().encode('hello\0')));
  assert.deepEqual(as.readCString(a), new TextEncoder().encode('hello'));
  assert.equal(as.readCString(0x1000), -ERRNO.EFAULT);
  as.write(a + PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(65));
  assert.equal(as.readCString(a + PAGE_SIZE, 10), -ERRNO.ENAMETOOLONG);
  assert.ok(as.writeU64(a + 8, 0xfedcba9876543210n));
  assert.equal(as.readU64(a + 8), 0xfedcba9876543210n);
  assert.equal(as.readU32(a + 8), 0x76543210);
  assert.equal(as.readU32(2n ** 63n), null, 'kernel-half pointers fault');
  const ro = as.mmap(0, PAGE_SIZE, PROT_READ, ANON);
  assert.equal(as.write(ro, new Uint8Array(1)), false, 'copy_to_user respects read-only pages');
});

test('address space: MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses, hints are honoured', () => {
  const { as, flushes } = space();
  const want = 0x2000_0000;
  assert.equal(as.mmap(want, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON), want, 'a free hint is used');
  as.write(want, new Uint8Array([1, 2, 3]));
  assert.equal(as.mmap(want, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED_NOREPLACE), -ERRNO.EEXIST);
  const other = as.mmap(want, PAGE_SIZE, PROT_READ, ANON);
  assert.notEqual(other, want, 'a taken hint is ignored');
  const n = flushes();
  assert.equal(as.mmap(want, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED), want);
  assert.ok(flushes() > n, 'replacing a mapping flushes TLBs');
  assert.deepEqual(as.read(want, 3), new Uint8Array(3), 'the replacement reads as zeros');
  assert.equal(as.mmap(want + 1, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED), -ERRNO.EINVAL);
  assert.equal(as.mmap(0, 0, PROT_READ, ANON), -ERRNO.EINVAL);
  assert.equal(as.mmap(0, PAGE_SIZE, PROT_READ, MAP_ANONYMOUS), -ERRNO.EINVAL, 'neither private nor shared');
  assert.equal(as.mmap(0x1000, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED), -ERRNO.EPERM, 'below mmap_min_addr');
});

test('address space: munmap splits mappings and frees frames', () => {
  const { as, mem } = space();
  const a = as.mmap(0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
  for (let i = 0; i < 4; i++) as.write(a + i * PAGE_SIZE, new Uint8Array([i + 1]));
  const used = mem.framesInUse;
  assert.equal(as.munmap(a + PAGE_SIZE, PAGE_SIZE), 0);
  assert.equal(mem.framesInUse, used - 1);
  assert.equal(as.list().filter((v) => v.start >= a && v.end <= a + 4 * PAGE_SIZE).length, 2, 'split in two');
  assert.equal(as.read(a + PAGE_SIZE, 1), null);
  assert.deepEqual(as.read(a + 2 * PAGE_SIZE, 1), new Uint8Array([3]));
  assert.equal(as.munmap(a + 1, PAGE_SIZE), -ERRNO.EINVAL);
  assert.equal(as.munmap(a, 4 * PAGE_SIZE), 0);
  assert.equal(mem.framesInUse, used - 4);
});

test('address space: mprotect changes present and future pages, ENOMEM on holes', () => {
  const { as, flushes } = space();
  const a = as.mmap(0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
  as.write(a, new Uint8Array([9]));
  const n = flushes();
  assert.equal(as.mprotect(a, 2 * PAGE_SIZE, PROT_READ), 0);
  assert.ok(flushes() > n);
  assert.equal(as.translate(a, ACCESS_WRITE), -1, 'present page lost write');
  assert.equal(as.translate(a + PAGE_SIZE, ACCESS_WRITE), -1, 'untouched page too');
  assert.ok(as.translate(a + 2 * PAGE_SIZE, ACCESS_WRITE) >= 0);
  assert.deepEqual(as.read(a, 1), new Uint8Array([9]), 'contents kept');
  assert.equal(as.mprotect(a, 2 * PAGE_SIZE, PROT_NONE()), 0);
  assert.equal(as.translate(a, ACCESS_READ), -1);
  assert.equal(as.mprotect(a, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
  assert.deepEqual(as.read(a, 1), new Uint8Array([9]));
  as.munmap(a + PAGE_SIZE, PAGE_SIZE);
  assert.equal(as.mprotect(a, 3 * PAGE_SIZE, PROT_READ), -ERRNO.ENOMEM);
  assert.equal(as.mprotect(a + 1, PAGE_SIZE, PROT_READ), -ERRNO.EINVAL);
});

function PROT_NONE(): number {
  return 0;
}

test('address space: mremap grows in place, moves, shrinks', () => {
  const { as } = space();
  const a = as.mmap(0x3000_0000, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED);
  as.mmap(a + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED);
  as.write(a, new Uint8Array([7]));
  as.write(a + PAGE_SIZE, new Uint8Array([8]));
  // A mapping right above a: growing must move.
  assert.equal(as.mremap(a, 2 * PAGE_SIZE, 8 * PAGE_SIZE, 0, 0), -ERRNO.ENOMEM);
  const b = as.mremap(a, 2 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE, 0);
  assert.ok(b > 0 && b !== a);
  assert.deepEqual(as.read(b, 1), new Uint8Array([7]), 'pages moved with their contents');
  assert.deepEqual(as.read(b + PAGE_SIZE, 1), new Uint8Array([8]));
  assert.deepEqual(as.read(b + 7 * PAGE_SIZE, 1), new Uint8Array([0]));
  assert.equal(as.read(a, 1), null, 'the old range is gone');
  assert.equal(as.mremap(b, 8 * PAGE_SIZE, PAGE_SIZE, 0, 0), b, 'shrink in place');
  assert.equal(as.read(b + PAGE_SIZE, 1), null);
  // Room above: grows in place.
  const c = as.mmap(0x3800_0000, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
  assert.equal(as.mremap(c, PAGE_SIZE, 4 * PAGE_SIZE, 0, 0), c);
  assert.ok(as.check(c, 4 * PAGE_SIZE, ACCESS_WRITE));
  assert.equal(as.mremap(0x5000_0000, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE, 0), -ERRNO.EFAULT, 'nothing mapped');
});

test('address space: MADV_DONTNEED zeroes anonymous pages; brk grows and shrinks', () => {
  const { as } = space();
  const a = as.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON);
  as.write(a, new Uint8Array([1, 2, 3]));
  assert.equal(as.madvise(a, 2 * PAGE_SIZE, MADV_DONTNEED), 0);
  assert.deepEqual(as.read(a, 3), new Uint8Array(3));
  assert.equal(as.madvise(a + 8 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED), -ERRNO.ENOMEM);
  as.brkStart = as.brk = 0x40_0000;
  assert.equal(as.setBrk(0), 0x40_0000, 'below the start: unchanged');
  assert.equal(as.setBrk(0x40_0000 + 10000), 0x40_0000 + 10000);
  assert.ok(as.write(0x40_0000 + 9999, new Uint8Array([5])));
  assert.equal(as.setBrk(0x40_0000 + 100), 0x40_0000 + 100);
  assert.equal(as.read(0x40_0000 + 2 * PAGE_SIZE, 1), null, 'shrunk pages are unmapped');
  as.mmap(0x40_0000 + 4 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED);
  assert.equal(as.setBrk(0x40_0000 + 8 * PAGE_SIZE), 0x40_0000 + 100, 'cannot grow into a mapping');
});

test('address space: poke fills read-only pages for the loader; save/restore round-trips', () => {
  const { as } = space();
  const a = as.mmap(0, PAGE_SIZE, PROT_READ | PROT_EXEC, ANON);
  as.poke(a + 4, new Uint8Array([0x73, 0, 0, 0]));
  assert.deepEqual(as.read(a + 4, 4), new Uint8Array([0x73, 0, 0, 0]));
  assert.equal(as.translate(a, ACCESS_WRITE), -1);
  const s = as.save();
  const json = JSON.parse(JSON.stringify(s));
  as.restore(json);
  assert.deepEqual(as.save(), s);
});
