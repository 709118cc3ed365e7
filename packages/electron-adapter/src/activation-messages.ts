import type { InactiveReason, KeygateErrorCode } from '@keygate/core'

// Plain words for every failure, shown by the activation page. Kept as data (not
// code) so the page's script can embed them and apps with their own UI can reuse them.

/** What to tell a person when an action failed with this error code. `{seconds}` is filled in. */
export const ERROR_MESSAGES: Readonly<Record<KeygateErrorCode, string>> = Object.freeze({
  key_mismatch:
    'This license key is for a different product. Check that you entered the key for this app.',
  outcome_unknown:
    'The license server may not have received the last request. Check again in a moment.',
  invalid_input:
    "That doesn't look like a license key. Copy it again from your purchase email, all of it, and paste it here.",
  key_not_found:
    "This license key wasn't found. If you bought it in the last few minutes, wait a minute and try again: the store may still be creating it. Otherwise check that you copied all of it.",
  activation_not_found:
    "This computer's activation was removed (for example from the customer portal). Enter your key to activate again.",
  activation_limit_reached:
    'This key is already in use on as many computers as it allows. To free a seat, deactivate it in the app on a computer you no longer use, or sign in to the customer portal (the link is in your purchase email) and remove an old activation. Then try again.',
  activation_not_supported:
    "This key can't be activated on a computer. Contact the seller for a key that can.",
  revoked:
    'This license key is no longer active. Contact the seller if you think this is a mistake.',
  expired: 'This license key has expired. Renew your license, or contact the seller.',
  conditions_mismatch:
    'This activation belongs to another computer. Enter your key to activate this computer.',
  usage_limit: 'This license key has no uses left. Contact the seller.',
  rate_limited:
    'Too many attempts from your network right now. Wait {seconds} seconds, then try again.',
  network:
    "Couldn't reach the license server. Check your internet connection (and proxy, if you use one), then try again.",
  timeout:
    'The license server took too long to answer. Check your internet connection, then try again.',
  server: 'The license server had a problem. Try again in a few minutes.',
  bad_response:
    'The license server sent an answer we could not understand. Try again in a few minutes.',
  store:
    "The license couldn't be saved on this computer. Check that your disk isn't full and that the app can write to its folder, then try again.",
  unauthorized: 'The license server refused the request. Contact the seller.',
  forbidden: "This window isn't allowed to manage the license. Restart the app and try again.",
})

/** What to tell a person about a license that does not let the app run. */
export const INACTIVE_MESSAGES: Readonly<Record<InactiveReason, string>> = Object.freeze({
  not_activated: 'Enter the license key from your purchase email to activate this computer.',
  grace_expired:
    "Your license couldn't be checked for too long. Connect to the internet and choose Check again.",
  revoked:
    'This license key is no longer active. Contact the seller if you think this is a mistake.',
  expired: 'This license key has expired. Renew your license, or contact the seller.',
  key_not_found:
    'Your license key is no longer valid (it may have been replaced by a new one). Enter your current key.',
  activation_not_found:
    "This computer's activation was removed (for example from the customer portal). Enter your key to activate again.",
  machine_mismatch:
    'The license on this computer was set up on another computer or user account. Enter your key to activate this one.',
  tampered:
    'The license on this computer was changed outside the app. Connect to the internet and choose Check again.',
  clock_tampered:
    "Your computer's date and time look wrong. Correct them, then choose Check again.",
  conditions_mismatch:
    'The license on this computer belongs to another computer. Enter your key to activate this one.',
  usage_exhausted: 'This license key has no uses left. Contact the seller.',
})
