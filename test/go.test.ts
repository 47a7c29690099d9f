// The Go suite (guest/go/cases.mjs: the statically linked Go program guest/go/gotest.gz) under
// rvisor, with the same runner and case list as its QEMU recording (test/golden/go/cases.json,
// re-checked against live QEMU by guest/go/regen.sh).
import { goldenSuiteTests, loadSuite } from './golden-suite.js';

const { suite, golden } = await loadSuite('guest/go/cases.mjs');
goldenSuiteTests(suite, golden, 600_000);
