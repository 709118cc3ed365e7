// Compiled into the app: nothing at run time (an environment variable, a flag, a file)
// can point it at another license server, one that would approve any key.

/** Your Polar organization id. */
export const ORGANIZATION_ID = '1dbfc517-0bbf-4301-9ba8-555ca42b9737'

/** Polar's sandbox while you develop; `'production'` in the build you ship. */
export const POLAR_SERVER = 'sandbox'

/** Where a license is bought: the activation window links it while not activated. */
export const BUY_URL = 'https://polar.sh/acme'

/** Polar's customer portal, where a customer frees seats: linked from every state. */
export const PORTAL_URL = 'https://polar.sh/acme/portal'
