import type { Results } from './report.js'
import type { Summary } from './stats.js'

/** Where `pnpm bench` writes the chart; docs/benchmarks.md shows it. */
export const CHART_FILE = 'benchmarks-startup.svg'

interface Bar {
  label: string
  note: string
  summary: Summary
  kind: 'floor' | 'keygate' | 'sdk'
}

const WIDTH = 760
const LEFT = 250 // the row labels
const RIGHT = 150 // room for the value beside the longest bar
const TOP = 58
const ROW = 46
const BAR = 22

/**
 * The main comparison of docs/benchmarks.md (whole-process start-up, spawn to exit) as
 * an SVG: one bar per variant at its median, a whisker over its interquartile range.
 * Hand-written and deterministic: the same results.json always gives the same bytes,
 * so CI can tell a stale chart from a fresh one. Undefined when the section is missing.
 */
export function startupChart(results: Results): string | undefined {
  const wp = results.wholeProcess
  if (wp === undefined) return undefined
  const times = (ratio: number) => `${ratio.toFixed(2)} × bare Node`
  const bars: Bar[] = [
    {
      label: 'bare Node: read + parse the grant',
      note: 'the floor',
      summary: wp.bare,
      kind: 'floor',
    },
    { label: 'keygate gate', note: times(wp.ratio), summary: wp.gate, kind: 'keygate' },
    {
      label: 'keygate gate, bundled by esbuild',
      note: times(wp.ratioBundled),
      summary: wp.gateBundled,
      kind: 'keygate',
    },
    {
      label: '@polar-sh/sdk: import + validate',
      note: times(wp.ratioSdk),
      summary: wp.sdkValidate,
      kind: 'sdk',
    },
  ]
  const max = Math.max(...bars.map((bar) => bar.summary.q3))
  const step = tickStep(max)
  const axisMax = Math.ceil(max / step) * step
  const plot = WIDTH - LEFT - RIGHT
  const x = (ms: number) => LEFT + (ms / axisMax) * plot
  const axisY = TOP + bars.length * ROW

  const parts: string[] = [
    '', // the opening tag, once the height is known
    `<title id="title">Whole-process start-up: keygate's gate against bare Node and Polar's SDK</title>`,
    `<desc id="desc">${xml(
      bars.map((bar) => `${bar.label}: ${ms(bar.summary.median)} median`).join('; '),
    )}.</desc>`,
    '<style>',
    'text { font: 13px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #1f2328; }',
    '.muted { fill: #59636e; font-size: 12px; }',
    '.title { font-size: 15px; font-weight: 600; }',
    '.grid { stroke: #d1d9e0; stroke-width: 1; }',
    '.whisker { stroke: #1f2328; stroke-width: 1.5; }',
    '.floor { fill: #8c959f; } .keygate { fill: #1a7f64; } .sdk { fill: #bc4c00; }',
    '@media (prefers-color-scheme: dark) {',
    '  text { fill: #e6edf3; } .muted { fill: #9198a1; } .grid { stroke: #3d444d; }',
    '  .whisker { stroke: #e6edf3; } .keygate { fill: #2ea58a; } .sdk { fill: #e16f24; }',
    '}',
    '</style>',
    `<text class="title" x="16" y="26">Start-up of a fresh process, spawn to exit (lower is better)</text>`,
    `<text class="muted" x="16" y="44">${xml(
      `Median of ${wp.gate.runs} runs per variant (the SDK ${wp.sdkValidate.runs}), interleaved${
        (wp.repetitions?.length ?? 0) > 1 ? ` in ${wp.repetitions?.length} repetitions` : ''
      }; the whisker spans the middle half of the runs.`,
    )}</text>`,
  ]
  for (let tick = 0; tick <= axisMax; tick += step) {
    const at = round(x(tick))
    parts.push(
      `<line class="grid" x1="${at}" y1="${TOP - 6}" x2="${at}" y2="${axisY}"/>`,
      `<text class="muted" x="${at}" y="${axisY + 16}" text-anchor="middle">${tick + step > axisMax ? `${tick} ms` : tick}</text>`,
    )
  }
  bars.forEach((bar, index) => {
    const top = TOP + index * ROW + (ROW - BAR) / 2
    const middle = round(top + BAR / 2)
    const end = round(x(bar.summary.median))
    const q1 = round(x(bar.summary.q1))
    const q3 = round(x(bar.summary.q3))
    parts.push(
      `<text x="${LEFT - 10}" y="${middle + 4}" text-anchor="end">${xml(bar.label)}</text>`,
      `<rect class="${bar.kind}" x="${LEFT}" y="${round(top)}" width="${round(end - LEFT)}" height="${BAR}" rx="3"/>`,
      `<line class="whisker" x1="${q1}" y1="${middle}" x2="${q3}" y2="${middle}"/>`,
      `<line class="whisker" x1="${q1}" y1="${middle - 5}" x2="${q1}" y2="${middle + 5}"/>`,
      `<line class="whisker" x1="${q3}" y1="${middle - 5}" x2="${q3}" y2="${middle + 5}"/>`,
      `<text x="${q3 + 8}" y="${middle - 2}">${ms(bar.summary.median)}</text>`,
      `<text class="muted" x="${q3 + 8}" y="${middle + 13}">${xml(bar.note)}</text>`,
    )
  })
  const { meta } = results
  let y = axisY + 38
  for (const line of [
    'The emulator plays Polar on loopback: against api.polar.sh the SDK also waits for a network',
    "round trip on every start, while keygate's gate decides from the grant cached on disk.",
  ]) {
    parts.push(`<text class="muted" x="16" y="${y}">${xml(line)}</text>`)
    y += 17
  }
  y = phasesPanel(parts, results, y + 22)
  parts.push(
    `<text class="muted" x="16" y="${y}">${xml(
      `pnpm bench, ${meta.date.slice(0, 10)}${meta.commit ? ` at ${meta.commit.slice(0, 7)}` : ''}: ${meta.cpus} × ${meta.cpuModel}, ${meta.platform}/${meta.arch}, Node ${meta.node}, load average ${meta.loadAverage.before} → ${meta.loadAverage.after}.`,
    )}</text>`,
    '</svg>',
  )
  const height = y + 16
  parts[0] = svgOpen(height)
  return `${parts.join('\n')}\n`
}

function svgOpen(height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="title desc">`
}

const LEGEND_VALUE = 560
const PHASE_SHADES = ['#0b4f3f', '#1a7f64', '#3fa98c', '#7cc7b1', '#b5e0d3']

/**
 * The gate's own share of that fresh process, phase by phase, beside what one check costs
 * once the app is running: the two start-up figures a user asks about. Returns the next y.
 */
function phasesPanel(parts: string[], results: Results, top: number): number {
  const phases = Object.entries(results.wholeProcess?.gatePhases ?? {})
  if (phases.length === 0) return top
  const total = phases.reduce((sum, [, s]) => sum + s.median, 0)
  const warm = results.inProcess?.check
  const runs = phases[0]?.[1].runs ?? 0
  const first = results.wholeProcess?.firstCheck
  const firstNote =
    first === undefined
      ? ''
      : `First check(), import included: ${ms(first.ms.median)} (${ms(first.bundledMs.median)} bundled). `
  parts.push(
    `<text class="title" x="16" y="${top}">${xml(`The gate's own time in that fresh process: ${ms(total)}`)}</text>`,
    `<text class="muted" x="16" y="${top + 18}">${xml(
      `Inside the process, Node's own start excluded; medians of ${runs} fresh processes.`,
    )}</text>`,
  )
  if (warm) {
    parts.push(
      `<text class="muted" x="16" y="${top + 35}">${xml(
        `${firstNote}Once the app runs, a check() takes ${warm.median.toFixed(1)} µs.`,
      )}</text>`,
    )
  }
  const barTop = top + (warm ? 48 : 32)
  const plot = LEGEND_VALUE - 16
  let at = 16
  phases.forEach(([, summary], index) => {
    const width = (summary.median / total) * plot
    parts.push(
      `<rect x="${round(at)}" y="${barTop}" width="${round(width)}" height="${BAR}" fill="${PHASE_SHADES[index % PHASE_SHADES.length]}"/>`,
    )
    at += width
  })
  let y = barTop + BAR + 22
  phases.forEach(([name, summary], index) => {
    parts.push(
      `<rect x="16" y="${y - 10}" width="12" height="12" rx="2" fill="${PHASE_SHADES[index % PHASE_SHADES.length]}"/>`,
      `<text x="36" y="${y}">${xml(name)}</text>`,
      `<text x="${LEGEND_VALUE}" y="${y}" text-anchor="end">${summary.median.toFixed(2)} ms</text>`,
    )
    y += 19
  })
  return y + 16
}

/** 1, 2 or 5 × a power of ten, giving at most 7 intervals up to `max`. */
function tickStep(max: number): number {
  const rough = max / 7
  const power = 10 ** Math.floor(Math.log10(rough))
  const factor = [1, 2, 5, 10].find((f) => f * power >= rough) ?? 10
  return factor * power
}

function ms(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
