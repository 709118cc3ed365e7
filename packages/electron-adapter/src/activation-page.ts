import { ERROR_MESSAGES, INACTIVE_MESSAGES } from './activation-messages.js'
import { type ActivationPageConfig, activationPageScript } from './activation-page-script.js'

export interface ActivationPageOptions {
  /** Shown in the title and heading, e.g. "Acme Editor". Default "the app". */
  productName?: string | undefined
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fff; --muted: #55575e; --accent: #0b57d0;
  --danger: #b3261e; --line: #c4c6cf; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e2e6; --bg: #1b1b1f; --muted: #c4c6cf;
  --accent: #a8c7fa; --danger: #f2b8b5; --line: #5d5f66; } }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
main { max-width: 30rem; margin: 0 auto; padding: 2rem 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input { width: 100%; padding: .6rem .7rem; font: inherit; font-family: ui-monospace, monospace;
  color: inherit; background: transparent; border: 1px solid var(--line); border-radius: 6px; }
input[aria-invalid="true"] { border-color: var(--danger); }
.help, #progress { color: var(--muted); font-size: .9rem; margin: .35rem 0; }
button { font: inherit; padding: .5rem 1rem; margin: .75rem .5rem 0 0; border-radius: 6px;
  border: 1px solid var(--accent); background: var(--accent); color: var(--bg); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .55; cursor: default; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#message { color: var(--danger); font-weight: 600; }
[hidden] { display: none !important; }
`

const BODY = `
<main>
  <h1 id="heading"></h1>
  <p id="summary"></p>
  <p id="detail" class="help" hidden></p>
  <form id="form" novalidate>
    <label for="key">License key</label>
    <input id="key" name="key" type="text" autocomplete="off" spellcheck="false"
      autocapitalize="off" aria-describedby="key-help message" required>
    <p id="key-help" class="help">You'll find it in the email you got after your purchase.</p>
    <button id="activate" type="submit">Activate</button>
  </form>
  <p id="progress" role="status" aria-live="polite"></p>
  <p id="message" role="alert" hidden></p>
  <section id="devices" hidden>
    <p class="help">Every seat of this key is in use. Free one of these computers to activate this one instead:</p>
    <ul id="device-list"></ul>
  </section>
  <div>
    <button id="check" type="button" hidden>Check again</button>
    <button id="continue" type="button" hidden>Continue</button>
    <button id="deactivate" type="button" class="secondary" hidden>Deactivate this computer</button>
  </div>
</main>`

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * The activation page: one self-contained HTML document (no external resources, so it
 * works offline) that talks to main only through `window.keygate`. Its CSP allows its
 * own inline script by hash and nothing else.
 */
export function activationPageHtml(options: ActivationPageOptions = {}): string {
  const productName = options.productName?.trim() || 'the app'
  const config: ActivationPageConfig = {
    productName,
    errors: ERROR_MESSAGES,
    inactive: INACTIVE_MESSAGES,
  }
  // `<` escaped so no string in the config can close the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  // Bundlers with keepNames wrap named functions in `__name(...)`, which only exists in
  // their bundle: define it so the embedded function still runs.
  const script = `var __name = function (f) { return f };\n(${activationPageScript.toString()})(${json});`
  // node:crypto is fetched here, not imported: the gate's start-up never builds a page.
  const { createHash } = process.getBuiltinModule('node:crypto')
  const hash = createHash('sha256').update(script).digest('base64')
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Activate ${escapeHtml(productName)}</title>
<style>${STYLE}</style>
</head>
<body>${BODY}
<script>${script}</script>
</body>
</html>
`
}

/** The page as a `data:` URL, the exact string the bridge trusts for this window. */
export function activationPageUrl(options: ActivationPageOptions = {}): string {
  const html = activationPageHtml(options)
  return `data:text/html;charset=utf-8;base64,${Buffer.from(html).toString('base64')}`
}
