import {
  type ActivationInfo,
  type DescribeOptions,
  describe,
  isKeygateError,
  KeygateError,
  type LicenseInfo,
  type LicenseState,
  maskKey,
} from '@keygate/core'
import type { EncryptionStatus, RendererErrorData, RendererLicenseState } from './renderer-types.js'

/** Locale and time for the words a renderer gets; default the runtime's locale, now. */
export type WordsOptions = Pick<DescribeOptions, 'locale' | 'now'>

/**
 * The state a renderer may see, with its words from `describe()`. Built field by field,
 * never spread, so nothing added to core's state later (or a key) can leak through IPC
 * by accident.
 */
export function toRendererState(
  state: LicenseState,
  encryption: EncryptionStatus,
  wordsOptions: WordsOptions = {},
): RendererLicenseState {
  const words = describe(state, wordsOptions)
  const error =
    state.error === undefined ? {} : { error: toErrorData(state.error, undefined, wordsOptions) }
  const trust = {
    ...(state.integrity === undefined ? {} : { integrity: state.integrity }),
    ...(state.features === undefined ? {} : { features: [...state.features] }),
  }
  if (state.status === 'trial') {
    const { startedAt, endsAt, daysLeft } = state.trial
    return {
      status: 'trial',
      trial: { startedAt, endsAt, daysLeft },
      ...error,
      ...trust,
      encryption,
      words,
    }
  }
  if (state.status === 'inactive') {
    const trial = state.trial
    return {
      status: 'inactive',
      reason: state.reason,
      ...(trial === undefined
        ? {}
        : {
            trial: { startedAt: trial.startedAt, endsAt: trial.endsAt, daysLeft: trial.daysLeft },
          }),
      ...(state.detail === undefined ? {} : { detail: state.detail }),
      ...(state.license === undefined ? {} : { license: copyLicense(state.license) }),
      ...(state.activation === undefined ? {} : { activation: copyActivation(state.activation) }),
      ...error,
      ...trust,
      encryption,
      words,
    }
  }
  const licensed = {
    license: copyLicense(state.license),
    activation: copyActivation(state.activation),
    validatedAt: state.validatedAt,
    expiresAt: state.expiresAt,
    ...error,
    ...trust,
    encryption,
    words,
  }
  if (state.status === 'active') {
    return { status: 'active', ...licensed, nextCheckAt: state.nextCheckAt }
  }
  return { status: 'grace', ...licensed, graceEndsAt: state.graceEndsAt, why: state.why }
}

function copyActivation(activation: ActivationInfo | null): ActivationInfo | null {
  if (activation === null) return null
  return { id: activation.id, label: activation.label, createdAt: activation.createdAt }
}

function copyLicense(license: LicenseInfo): LicenseInfo {
  return {
    id: license.id,
    displayKey: license.displayKey,
    status: license.status,
    expiresAt: license.expiresAt,
    limitActivations: license.limitActivations,
    usage: license.usage,
    limitUsage: license.limitUsage,
    benefitId: license.benefitId,
    customerId: license.customerId,
  }
}

/**
 * Any thrown value as a `RendererErrorData`, with its words from `describe()`. Messages
 * are core's own and never hold the key; `key` is scrubbed anyway, since a foreign error
 * (Electron's, a bug) might echo it.
 */
export function toErrorData(
  error: unknown,
  key?: string,
  wordsOptions: WordsOptions = {},
): RendererErrorData {
  const known = isKeygateError(error)
    ? error
    : new KeygateError(
        'server',
        `Something unexpected went wrong: ${error instanceof Error ? error.message : String(error)}`,
      )
  const data = { ...known.toJSON(), words: describe(known, wordsOptions) }
  const secret = key?.trim()
  if (secret === undefined || secret.length < 4) return data
  // Case-insensitive: a server or a library may echo the key lower- or upper-cased.
  const pattern = new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')
  const masked = maskKey(secret)
  const scrub = (text: string) => text.replace(pattern, () => masked)
  return {
    ...data,
    message: scrub(data.message),
    ...(data.detail === undefined ? {} : { detail: scrub(data.detail) }),
  }
}
