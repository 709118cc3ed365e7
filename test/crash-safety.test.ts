import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleFixture, startChild } from './fixtures/build-fixture.js'

// A SIGKILL at any instant of a write must leave the previous record or the new one.
const KILLS = 200

let work: string
let writer: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'keygate-crash-'))
  writer = await bundleFixture('crash-writer.ts', work)
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('crash safety of createFileStore', () => {
  it(`leaves the old or the new record after each of ${KILLS} SIGKILLs at random instants`, async () => {
    const dir = join(work, 'store')
    const path = join(dir, 'license.json')
    let last = 0
    let newerThanAcked = 0
    for (let kill = 0; kill < KILLS; kill++) {
      const child = startChild(writer, { CRASH_DIR: dir })
      await child.waitFor(() => true) // it is in its write loop
      await sleep(Math.random() * 6)
      child.process.kill('SIGKILL')
      expect((await child.exited).signal).toBe('SIGKILL')

      const acked = Number(child.lines.filter((line) => line !== '').at(-1))
      const record = JSON.parse(await readFile(path, 'utf8')) as { n: number; body: string }
      expect(record.body).toBe(`${record.n}:`.repeat(4000)) // whole, not a mix of two
      // The last acknowledged record, or the next one if the kill fell between its rename and the print.
      expect([acked, acked + 1]).toContain(record.n)
      if (record.n === acked + 1) newerThanAcked++
      expect(record.n).toBeGreaterThan(last) // every run made progress
      last = record.n
    }
    // Temp files a killed write left behind: proof that kills landed inside writes,
    // the window this test is about (no writer can clean up after a SIGKILL).
    const leftovers = (await readdir(dir)).filter((name) => /^license\.json\.\d+$/.test(name))
    expect(leftovers.length).toBeGreaterThan(0)
    console.info(
      `[crash-safety] ${KILLS} kills, ${last} records written, ${leftovers.length} kills inside a write, ${newerThanAcked} between rename and ack`,
    )
  })
})
