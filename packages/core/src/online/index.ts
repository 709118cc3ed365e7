/**
 * The online half of `createLicensing`, loaded on the first activate, refresh, deactivate,
 * online check or watch: the offline start-up check neither loads nor parses any of it.
 */
import { activate, resumeInterrupted } from './activate.js'
import { deactivate } from './deactivate.js'
import { devices, freeDevice } from './devices.js'
import { revalidateStored } from './revalidate.js'
import { startLeasedTrial } from './trial-start.js'
import { watch } from './watch.js'

export { createOnlineSession, type OnlineSession } from './session.js'

/** What `createLicensing` calls once this chunk is loaded, each with the online session. */
export const onlineCode = {
  activate,
  deactivate,
  devices,
  freeDevice,
  resumeInterrupted,
  revalidateStored,
  startLeasedTrial,
  watch,
}
