// Ends the test run with the plain line CI reads: "N passed, N failed". Vitest's own summary is
// decorated; this one is a single undecorated line, preceded by the reason of every test that
// skipped itself because the machine lacks something (root, a program: test/support/prerequisites.ts).
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const reasons = new Map<string, string[]>();
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') failed++;
        else {
          skipped++;
          const note = result.state === 'skipped' ? result.note : undefined;
          if (note) reasons.set(note, [...(reasons.get(note) ?? []), `${mod.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`]);
        }
      }
      // A file that failed to load, or a beforeAll/afterAll that threw (its tests then show as
      // skipped), is a failure all the same: one per file or suite.
      if (mod.state() === 'failed' && [...mod.children.allTests()].every((t) => t.result().state !== 'failed')) {
        const suites = [...mod.children.allSuites()].filter((x) => x.state() === 'failed' && [...x.children.allTests()].every((t) => t.result().state !== 'failed'));
        failed += Math.max(1, suites.length);
      }
    }
    failed += unhandledErrors.length;
    let text = '\n';
    for (const [note, tests] of reasons) {
      text += `skipped ${tests.length} test${tests.length === 1 ? '' : 's'}: ${note}\n${tests.map((t) => `  - ${t}\n`).join('')}`;
    }
    const tail = skipped > 0 ? `, ${skipped} skipped` : '';
    process.stdout.write(`${text}${passed} passed, ${failed} failed${tail}\n`);
  }
}
