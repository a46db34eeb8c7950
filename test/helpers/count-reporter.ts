/**
 * Closes the run with the name of every failed test (file > describe > test), then one line `N passed, N failed,
 * N skipped`, so that a failure names itself at the very end of CI's log, whatever scrolled past before.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let skipped = 0;
    const failures: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failures.push(`${m.moduleId.replace(`${process.cwd()}/`, '')} > ${t.fullName}: ${t.result().errors?.[0]?.message ?? ''}`);
        else skipped++;
      }
      // A file that failed to load, or whose setup failed (its tests then show as skipped), is a failure.
      if (m.state() === 'failed' && ![...m.children.allTests()].some((t) => t.result().state === 'failed'))
        failures.push(`${m.moduleId.replace(`${process.cwd()}/`, '')}: ${m.errors()[0]?.message ?? 'failed to run'}`);
    }
    const named = failures.map((f) => `FAILED ${f.split('\n')[0]}\n`).join('');
    process.stdout.write(`\n${named}${passed} passed, ${failures.length} failed, ${skipped} skipped\n`);
  }
}
