import { memoryStore, staticMachine } from '@keygate/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createElectronLicensing } from '../src/electron-licensing.js'
import { fakeApp, fakeNet, fakeSafeStorage } from './fakes.js'
import { DAY, HOUR, harness, MINUTE, SECOND, START } from './harness.js'

const made: Array<ReturnType<typeof harness>> = []
const setup = (...args: Parameters<typeof harness>) => {
  const h = harness(...args)
  made.push(h)
  return h
}

beforeEach(() => {
  vi.useFakeTimers({ now: START })
})
afterEach(() => {
  for (const h of made.splice(0)) h.gate.stop()
  vi.useRealTimers()
})

/** Lets time pass while the machine is asleep: the clock moves, no timer fires. */
const sleepFor = (ms: number) => vi.setSystemTime(Date.now() + ms)

describe('the start-up gate', () => {
  it('answers from the cache, without the network: not activated', async () => {
    const h = setup()
    const state = await h.gate.start()
    expect(state).toMatchObject({ status: 'inactive', reason: 'not_activated', encryption: 'os' })
    await vi.advanceTimersByTimeAsync(3 * DAY)
    expect(h.polar.requests).toHaveLength(0)
  })

  it('answers from the cache, without the network: active', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    sleepFor(HOUR)
    const before = h.polar.requests.length
    const state = await h.gate.start()
    expect(state).toMatchObject({ status: 'active', license: { displayKey: h.key.displayKey } })
    expect(h.polar.requests.length).toBe(before)
  })

  it('starts in grace when revalidation is due, then revalidates in the background', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    sleepFor(2 * DAY)
    const state = await h.gate.start()
    expect(state).toMatchObject({ status: 'grace', why: 'revalidation_due' })
    expect(h.count('validate')).toBe(0)

    // random() = 0.5: halfway through the 60 s window for checks due at start-up.
    await vi.advanceTimersByTimeAsync(29 * SECOND)
    expect(h.count('validate')).toBe(0)
    await vi.advanceTimersByTimeAsync(2 * SECOND)
    expect(h.count('validate')).toBe(1)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it('lets a user whose grace ran out back in as soon as Polar confirms the key', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    sleepFor(8 * DAY)
    expect(await h.gate.start()).toMatchObject({ status: 'inactive', reason: 'grace_expired' })
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it('starts inactive after a definitive verdict, and asks Polar again once a day, no more', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    h.polar.revoke(h.key)
    await h.gate.refresh()
    const requests = h.polar.requests.length
    expect(await h.gate.start()).toMatchObject({ status: 'inactive', reason: 'revoked' })
    await vi.advanceTimersByTimeAsync(DAY - MINUTE)
    expect(h.polar.requests.length).toBe(requests)
    await vi.advanceTimersByTimeAsync(2 * MINUTE)
    expect(h.polar.requests.length).toBe(requests + 1)
    await vi.advanceTimersByTimeAsync(9 * DAY)
    expect(h.polar.requests.length).toBe(requests + 10)
    expect(h.gate.state).toMatchObject({ status: 'inactive', reason: 'revoked' })

    // The seller re-enables the key: the next daily question lets the user back in.
    h.polar.grant(h.key)
    await vi.advanceTimersByTimeAsync(DAY)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it('starts as machine_mismatch with a record copied from another machine', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    const copied = await h.store.read()
    const elsewhere = createElectronLicensing({
      organizationId: h.polar.organizationId,
      electron: { app: fakeApp('/x'), safeStorage: h.safeStorage, net: fakeNet(h.polar) },
      store: memoryStore(copied),
      machine: staticMachine('fingerprint-of-another-machine'),
    })
    expect(await elsewhere.start()).toMatchObject({
      status: 'inactive',
      reason: 'machine_mismatch',
    })
    elsewhere.stop()
  })

  it('tells subscribers about every change, once', async () => {
    const h = setup()
    const seen: string[] = []
    h.gate.subscribe((state) => seen.push(state.status))
    await h.gate.start()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    await h.gate.deactivate()
    expect(seen).toEqual(['inactive', 'active', 'inactive'])
  })
})

describe('a subscription renewal (Polar extends expires_at)', () => {
  const PERIOD = 30 * DAY

  async function subscribed() {
    const h = setup()
    h.polar.updateKey(h.key, { expiresAt: START + PERIOD })
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    return h
  }

  it('unlocks at start-up when the app was closed across the renewal', async () => {
    const h = await subscribed()
    sleepFor(PERIOD + DAY)
    h.polar.updateKey(h.key, { expiresAt: START + 2 * PERIOD })
    expect(await h.gate.start()).toMatchObject({ status: 'inactive', reason: 'expired' })
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(h.count('validate')).toBe(1)
    expect(h.gate.state).toMatchObject({ status: 'active', expiresAt: START + 2 * PERIOD })
  })

  it('asks once a day while Polar still says expired, and unlocks when the renewal lands', async () => {
    const h = await subscribed()
    sleepFor(PERIOD + HOUR)
    await h.gate.start()
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(h.count('validate')).toBe(1)
    expect(h.gate.state).toMatchObject({ status: 'inactive', reason: 'expired' })
    await vi.advanceTimersByTimeAsync(12 * HOUR)
    expect(h.count('validate')).toBe(1)
    h.polar.updateKey(h.key, { expiresAt: START + 2 * PERIOD })
    await vi.advanceTimersByTimeAsync(12 * HOUR)
    expect(h.count('validate')).toBe(2)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it('backs off while Polar is unreachable, leaving the record as it was', async () => {
    const h = await subscribed()
    sleepFor(PERIOD + DAY)
    h.polar.setOffline(true)
    await h.gate.start() // writes the hourly clock mark, in the background
    await h.gate.licensing.settled()
    const record = await h.store.read()
    await vi.advanceTimersByTimeAsync(HOUR)
    // At 30 s, then 45 s, 90 s, 3, 6, 12, 24 min later (each attempt: 1 + 2 retries).
    expect(h.count('validate')).toBe(7 * 3)
    expect(h.gate.state).toMatchObject({ reason: 'expired', error: { code: 'network' } })
    expect(await h.store.read()).toBe(record)
  })
})

describe('background revalidation', () => {
  it.each([
    { random: 0, at: 24 * HOUR - 2.4 * HOUR },
    { random: 0.5, at: 24 * HOUR },
    { random: 0.999, at: 24 * HOUR + 0.998 * 2.4 * HOUR },
  ])('revalidates at revalidateAfter ± 10 % jitter (random $random)', async ({ random, at }) => {
    const h = setup({ random: () => random })
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    await h.gate.start()
    await vi.advanceTimersByTimeAsync(at - 2 * SECOND)
    expect(h.count('validate')).toBe(0)
    await vi.advanceTimersByTimeAsync(4 * SECOND)
    expect(h.count('validate')).toBe(1)
    // And again one period later: the schedule keeps going.
    await vi.advanceTimersByTimeAsync(at + 2 * SECOND)
    expect(h.count('validate')).toBe(2)
  })

  it('revalidates after the machine wakes up, when a check became due during sleep', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    await h.gate.start()
    await vi.advanceTimersByTimeAsync(0) // core's watch() plans once its online code is loaded
    sleepFor(30 * HOUR)
    h.powerMonitor.emit('resume')
    // Waits a few seconds for Wi-Fi to reconnect: 5 s × (1 + random()).
    await vi.advanceTimersByTimeAsync(7 * SECOND)
    expect(h.count('validate')).toBe(0)
    await vi.advanceTimersByTimeAsync(1 * SECOND)
    expect(h.count('validate')).toBe(1)
    expect(h.gate.state).toMatchObject({ status: 'active' })
    expect(h.gate.state?.status === 'active' && h.gate.state.validatedAt).toBeGreaterThan(
      START + 30 * HOUR,
    )
  })

  it('does not call Polar after a wake-up when nothing is due', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    await h.gate.start()
    sleepFor(2 * HOUR)
    h.powerMonitor.emit('resume')
    await vi.advanceTimersByTimeAsync(MINUTE)
    expect(h.count('validate')).toBe(0)
  })

  it('waits while net.isOnline() is false and revalidates when the network comes back', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    h.net.online = false
    sleepFor(2 * DAY)
    await h.gate.start()
    await vi.advanceTimersByTimeAsync(10 * MINUTE)
    expect(h.count('validate')).toBe(0)
    expect(h.gate.state).toMatchObject({ status: 'grace' })

    h.net.online = true
    // Noticed at the next 15 s poll, then spread by up to 2 s.
    await vi.advanceTimersByTimeAsync(15 * SECOND + 2 * SECOND)
    expect(h.count('validate')).toBe(1)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it('keeps the user running through an outage and backs off between attempts', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    sleepFor(2 * DAY)
    await h.gate.start()
    await h.gate.licensing.settled() // the hourly clock mark, written in the background
    const record = await h.store.read()
    h.polar.setOffline(true)

    // The check due at start-up runs 30 s in; core retries the dropped connection twice.
    await vi.advanceTimersByTimeAsync(MINUTE)
    const attempts = h.polar.requests.length
    expect(attempts).toBe(3)
    expect(h.gate.state).toMatchObject({ status: 'grace', error: { code: 'network' } })
    expect(await h.store.read()).toBe(record)

    // Then the gate backs off: 60 s × (0.5 + 0.5 × random()) = 45 s, so ~77 s in.
    await vi.advanceTimersByTimeAsync(15 * SECOND)
    expect(h.polar.requests.length).toBe(attempts)
    h.polar.setOffline(false)
    await vi.advanceTimersByTimeAsync(30 * SECOND)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it("honours Polar's Retry-After, whatever asks for a check meanwhile", async () => {
    const h = setup({
      // Two a second: an activation sends two (validate, then activate).
      polar: { rateLimit: { requests: 2, perMs: 1000, blockMs: 10 * MINUTE } },
    })
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    sleepFor(2 * DAY)
    await h.gate.start()

    // Another app behind the same office NAT trips Polar's limit: the IP is blocked.
    const other = () =>
      h.polar.fetch('https://api.polar.sh/v1/customer-portal/license-keys/validate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'SOMEONE-ELSE', organization_id: h.polar.organizationId }),
      })
    await other()
    await other()
    expect((await other()).status).toBe(429)

    await vi.advanceTimersByTimeAsync(31 * SECOND)
    expect(h.gate.state).toMatchObject({ error: { code: 'rate_limited', retryAfter: 570 } })
    const answeredAt = h.polar.requests.at(-1)?.at ?? Number.NaN
    const asked = h.count('validate')

    // Neither a wake-up, the network, nor the renderer may make it ask sooner.
    h.powerMonitor.emit('resume')
    await vi.advanceTimersByTimeAsync(MINUTE)
    await h.gate.refresh()
    h.net.online = false
    await vi.advanceTimersByTimeAsync(MINUTE)
    h.net.online = true
    await vi.advanceTimersByTimeAsync(answeredAt + 570 * SECOND - SECOND - Date.now())
    expect(h.count('validate')).toBe(asked)

    await vi.advanceTimersByTimeAsync(2 * SECOND)
    expect(h.count('validate')).toBe(asked + 1)
    expect(h.gate.state).toMatchObject({ status: 'active' })
  })

  it('stop() clears every timer and listener', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    await h.gate.start()
    expect(h.powerMonitor.listenerCount()).toBe(1)
    h.gate.stop()
    expect(vi.getTimerCount()).toBe(0)
    expect(h.powerMonitor.listenerCount()).toBe(0)
    expect(h.ipcMain.handlers.size).toBe(0)
    await vi.advanceTimersByTimeAsync(5 * DAY)
    expect(h.count('validate')).toBe(0)
  })

  it('stop() called while start() is still reading the record leaves nothing running', async () => {
    const h = setup()
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    // The app quits during start-up (before-quit calls stop()) before start() settles.
    const starting = h.gate.start()
    h.gate.stop()
    await expect(starting).resolves.toMatchObject({ status: 'active' })
    expect(h.powerMonitor.listenerCount()).toBe(0)
    expect(h.ipcMain.handlers.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(5 * DAY)
    expect(h.count('validate')).toBe(0)
  })

  it('stop() called while the start-up check reads a slow disk starts no watch', async () => {
    const store = memoryStore()
    const h = setup({ store })
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    const read = store.read.bind(store)
    let reading = false
    let release = () => {}
    const slow = new Promise<void>((resolve) => {
      release = resolve
    })
    store.read = async () => {
      reading = true
      await slow
      return read()
    }
    const starting = h.gate.start()
    while (!reading) await Promise.resolve()
    h.gate.stop()
    release()
    await expect(starting).resolves.toMatchObject({ status: 'active' })
    expect(h.powerMonitor.listenerCount()).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(5 * DAY)
    expect(h.count('validate')).toBe(0)
  })
})

describe('timers', () => {
  it('never keep the process alive (they are unref’d)', async () => {
    vi.useRealTimers()
    const h = setup({ polar: { now: () => START }, gate: { now: () => START } })
    await h.gate.activate(h.key.key)
    h.polar.clearRequests()
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timeouts()
    h.net.online = false
    await h.gate.start()
    await h.gate.refresh() // offline: starts the online poll too
    expect(timeouts()).toBe(before)
  })
})

it('uses safeStorage only after the app is ready', async () => {
  let ready = false
  const safeStorage = fakeSafeStorage()
  const isAvailable = safeStorage.isEncryptionAvailable
  safeStorage.isEncryptionAvailable = () => {
    if (!ready) throw new Error('safeStorage cannot be used before the app is ready')
    return isAvailable?.() ?? false
  }
  const h = setup({ safeStorage })
  h.app.whenReady = async () => {
    ready = true
  }
  await expect(h.gate.start()).resolves.toMatchObject({ status: 'inactive' })
})
