/**
 * The online half of `createLicensing`, loaded on the first activate, refresh, deactivate,
 * online check or watch: the offline start-up check neither loads nor parses any of it.
 */
export { activate } from './activate.js'
export { deactivate } from './deactivate.js'
export { devices, freeDevice } from './devices.js'
export { revalidateStored } from './revalidate.js'
export { createOnlineSession, type OnlineSession } from './session.js'
export { startLeasedTrial } from './trial-start.js'
export { watch } from './watch.js'
