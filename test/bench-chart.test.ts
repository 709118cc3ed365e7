import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CHART_FILE, startupChart } from '../bench/lib/chart.js'
import type { Results } from '../bench/lib/report.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const published = JSON.parse(readFileSync(`${root}/bench/results.json`, 'utf8')) as Results

/** The width of each bar, by its class (floor, keygate, sdk), in drawing order. */
function barWidths(svg: string): Array<[string, number]> {
  return [...svg.matchAll(/<rect class="(floor|keygate|sdk)"[^>]* width="([\d.]+)"/g)].map(
    ([, kind, width]) => [kind ?? '', Number(width)],
  )
}

describe("docs/benchmarks.md's start-up chart", () => {
  it('is the one drawn from bench/results.json (pnpm bench redraws both together)', () => {
    const committed = readFileSync(`${root}/docs/${CHART_FILE}`, 'utf8')
    expect(committed, 'stale chart: run `node --import tsx bench/run.ts --render`').toBe(
      startupChart(published),
    )
    expect(readFileSync(`${root}/docs/benchmarks.md`, 'utf8')).toContain(`](${CHART_FILE})`)
  })

  it('draws each variant at its median, on one linear scale', () => {
    const wp = published.wholeProcess
    if (wp === undefined) throw new Error('bench/results.json has no whole-process figures')
    const svg = startupChart(published) ?? ''
    const widths = barWidths(svg)
    expect(widths.map(([kind]) => kind)).toEqual(['floor', 'keygate', 'keygate', 'sdk'])
    const medians = [wp.bare, wp.gate, wp.gateBundled, wp.sdkValidate].map((s) => s.median)
    const [, bareWidth = 0] = widths[0] ?? []
    widths.forEach(([, width], index) => {
      const ratio = (medians[index] ?? 0) / (medians[0] ?? 1)
      expect(width / bareWidth).toBeCloseTo(ratio, 1)
    })
    // As the chart writes a time: whole milliseconds from 100 ms up.
    const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1))
    expect(svg).toContain(`${ms(wp.gate.median)} ms`)
    expect(svg).toContain(`${wp.ratio.toFixed(2)} × bare Node`)
  })

  it('puts the fresh-process cost beside the warm check, both from the same run', () => {
    const svg = startupChart(published) ?? ''
    const phases = Object.values(published.wholeProcess?.gatePhases ?? {})
    const own = phases.reduce((sum, s) => sum + s.median, 0)
    expect(svg).toContain(`in that fresh process: ${own.toFixed(1)} ms`)
    expect(svg).toContain(`a check() takes ${published.inProcess?.check.median.toFixed(1)} µs`)
  })

  it('is not drawn from a run whose whole-process step failed', () => {
    const { wholeProcess: _, ...partial } = published
    expect(startupChart(partial)).toBeUndefined()
  })

  it('escapes what it prints from the run, so the file stays valid XML', () => {
    const odd = { ...published, meta: { ...published.meta, cpuModel: 'A & B <C>' } }
    expect(startupChart(odd)).toContain('A &amp; B &lt;C&gt;')
  })
})
