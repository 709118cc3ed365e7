// Reads vitest's JSON report and prints the closing line CI looks for.
// With no report (the run stopped before vitest: typecheck, lint, build or package
// checks failed) it counts that stage as one failure.
import { existsSync, readFileSync } from 'node:fs'

const file = process.argv[2] ?? 'reports/vitest.json'
if (!existsSync(file)) {
  console.log('0 passed, 1 failed')
  process.exit(0)
}
const report = JSON.parse(readFileSync(file, 'utf8'))
const passed = report.numPassedTests ?? 0
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTests ?? 0)
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
const suitesFailed = report.numFailedTestSuites ?? 0
if (suitesFailed > 0 && failed === 0) {
  console.log(`${passed} passed, ${suitesFailed} failed, ${skipped} skipped`)
} else {
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
}
