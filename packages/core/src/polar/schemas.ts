import * as v from 'valibot'

/**
 * Polar's response shapes, parsed leniently: only the fields keygate uses are
 * required, unknown fields are dropped (so customer PII never goes further), and
 * both the 2024 shape (with `user`) and the 2026-10 shape parse.
 *
 * Imported only by the HTTP clients, never by the start-up path: building these
 * schemas is work the offline check does not need.
 */
const MetaValue = v.union([v.string(), v.number(), v.boolean()])
const Meta = v.record(v.string(), MetaValue)
const nullableString = v.optional(v.nullable(v.string()), null)
const nullableInt = v.optional(v.nullable(v.number()), null)

export const PolarLicenseKeySchema = v.object({
  id: v.string(),
  // Read by no customer-side code: a version or proxy that drops it must still parse.
  organization_id: v.optional(v.string()),
  customer_id: v.string(),
  benefit_id: v.string(),
  display_key: v.string(),
  status: v.string(),
  limit_activations: nullableInt,
  usage: v.optional(v.number(), 0),
  limit_usage: nullableInt,
  validations: v.optional(v.number(), 0),
  last_validated_at: nullableString,
  expires_at: nullableString,
})

export const PolarActivationBaseSchema = v.object({
  id: v.string(),
  license_key_id: v.optional(v.string()),
  label: v.string(),
  meta: v.optional(Meta, {}),
  created_at: v.string(),
  modified_at: nullableString,
})

/** `LicenseKeyActivationRead`: what activate returns. */
export const PolarActivationSchema = v.object({
  ...PolarActivationBaseSchema.entries,
  license_key: PolarLicenseKeySchema,
})

/** `ValidatedLicenseKey`: what validate returns (`activation` only when one was sent). */
export const PolarValidatedKeySchema = v.object({
  ...PolarLicenseKeySchema.entries,
  activation: v.optional(v.nullable(PolarActivationBaseSchema), null),
})

export type PolarLicenseKey = v.InferOutput<typeof PolarLicenseKeySchema>
export type PolarActivation = v.InferOutput<typeof PolarActivationSchema>
export type PolarValidatedKey = v.InferOutput<typeof PolarValidatedKeySchema>
