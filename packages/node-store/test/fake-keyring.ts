import type { KeyringModule } from '@keygate/node-store'

/** An OS keyring held in memory, shaped like `@napi-rs/keyring`. */
export function fakeKeyring() {
  const slots = new Map<string, string>()
  const module: KeyringModule = {
    Entry: class {
      readonly slot: string
      constructor(service: string, account: string) {
        this.slot = `${service}/${account}`
      }
      getPassword() {
        return slots.get(this.slot) ?? null
      }
      setPassword(password: string) {
        slots.set(this.slot, password)
      }
    },
  }
  return { slots, load: async () => module }
}
