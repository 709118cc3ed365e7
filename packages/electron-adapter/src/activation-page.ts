import { type ActivationPageConfig, activationPageScript } from './activation-page-script.js'

export interface ActivationPageOptions {
  /** Shown in the title and heading, e.g. "Acme Editor". Default: `app.getName()`. */
  productName?: string | undefined
  /**
   * The app's icon beside its name: a `data:image/…;base64,` URL, the path of a PNG, JPEG,
   * WebP, GIF or SVG file, or an Electron `nativeImage`.
   */
  icon?: string | { toDataURL(): string } | undefined
  /** `https:` page where a license is bought, linked while the app is not activated (and during a trial). */
  buyUrl?: string | undefined
  /** `https:` customer portal (devices, invoices), linked from every state. */
  portalUrl?: string | undefined
}

/** What the page itself takes: the icon already a data URL, links already checked. */
export interface ActivationPageInput {
  productName?: string | undefined
  /** A `data:image/…;base64,` URL. */
  icon?: string | undefined
  buyUrl?: string | undefined
  portalUrl?: string | undefined
}

const DATA_IMAGE = /^data:image\/(png|jpeg|webp|gif|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/

const STYLE = `
:root { color-scheme: light dark; --fg: #1c1d21; --bg: #fff; --muted: #5b5e66; --accent: #2459c7;
  --on-accent: #fff; --line: #d3d5db; --soft: #f3f4f7; --note: #f6f0e2; --note-line: #c9a64a;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6ea; --bg: #18191c; --muted: #a9acb5;
  --accent: #8fb1f5; --on-accent: #10141c; --line: #3c3f46; --soft: #222429; --note: #2b271d;
  --note-line: #a88a3b; } }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
main { max-width: 30rem; margin: 0 auto; padding: 1.75rem 1.5rem 1.25rem; }
header { display: flex; align-items: center; gap: .85rem; margin-bottom: 1.25rem; }
header img { width: 48px; height: 48px; border-radius: 10px; flex: none; }
h1 { font-size: 1.35rem; line-height: 1.2; margin: 0; }
#status { margin: .1rem 0 0; color: var(--muted); font-size: .95rem; }
#status::before { content: ""; display: inline-block; width: .55rem; height: .55rem;
  border-radius: 50%; margin-right: .45rem; background: var(--dot, var(--muted)); }
#status[data-tone="ok"] { --dot: #2e9d5b; }
#status[data-tone="wait"] { --dot: #c9a64a; }
#summary, #hint { margin: 0 0 .5rem; }
#hint { color: var(--muted); }
.key { white-space: nowrap; font-family: ui-monospace, monospace; font-size: .92em; }
label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
input { width: 100%; padding: .6rem .7rem; font: inherit; font-family: ui-monospace, monospace;
  color: inherit; background: transparent; border: 1px solid var(--line); border-radius: 8px; }
input[aria-invalid="true"] { border-color: var(--note-line); }
.actions { display: flex; align-items: center; flex-wrap: wrap; gap: .5rem 1rem; margin-top: .9rem; }
button { font: inherit; padding: .5rem 1.1rem; border-radius: 8px; white-space: nowrap;
  border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button.quiet, a { border: 0; padding: 0; background: none; color: var(--accent); font-size: .9rem;
  white-space: nowrap; text-decoration: underline; text-underline-offset: 2px; cursor: pointer; }
button:disabled { opacity: .55; cursor: default; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#message { margin: 1rem 0 0; padding: .7rem .9rem; border-left: 3px solid var(--note-line);
  background: var(--note); border-radius: 6px; }
#message p { margin: 0; }
#message-title { font-weight: 600; }
#progress { color: var(--muted); font-size: .9rem; min-height: 1.35rem; margin: .6rem 0 0; }
#devices { margin: 1rem 0 0; }
#devices p { margin: 0 0 .4rem; }
#device-list { list-style: none; margin: 0; padding: 0; border: 1px solid var(--line);
  border-radius: 8px; }
#device-list li { display: flex; align-items: center; justify-content: space-between;
  gap: 1rem; padding: .55rem .8rem; }
#device-list li + li { border-top: 1px solid var(--line); }
#device-list .when { display: block; color: var(--muted); font-size: .9rem; }
footer { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; margin-top: 1rem; padding-top: .8rem;
  border-top: 1px solid var(--line); }
[hidden] { display: none !important; }
`

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function body(productName: string, icon: string | undefined): string {
  const image = icon === undefined ? '' : `<img id="icon" src="${escapeHtml(icon)}" alt="">`
  return `
<main>
  <header>${image}
    <div><h1 id="heading">${escapeHtml(productName)}</h1><p id="status"></p></div>
  </header>
  <p id="summary"></p>
  <p id="hint" hidden></p>
  <form id="form" novalidate>
    <label for="key">License key</label>
    <input id="key" name="key" type="text" autocomplete="off" spellcheck="false"
      autocapitalize="off" aria-describedby="hint message" required>
    <div class="actions">
      <button id="activate" type="submit">Activate</button>
      <a id="buy" target="_blank" rel="noopener noreferrer" hidden>Buy a license</a>
    </div>
  </form>
  <div id="message" role="alert" hidden>
    <p id="message-title"></p><p id="message-detail"></p><p id="message-action"></p>
  </div>
  <section id="devices" aria-labelledby="devices-intro" hidden>
    <p id="devices-intro">Or free a seat here, and this computer takes it:</p>
    <ul id="device-list"></ul>
  </section>
  <p id="progress" role="status" aria-live="polite"></p>
  <div class="actions" id="licensed" hidden>
    <button id="continue" type="button" hidden>Continue</button>
    <button id="check" type="button" class="secondary" hidden>Check again</button>
  </div>
  <footer id="footer" hidden>
    <a id="portal" target="_blank" rel="noopener noreferrer" hidden>Manage your license</a>
    <button id="deactivate" type="button" class="quiet" hidden>Deactivate this computer</button>
  </footer>
</main>`
}

/**
 * The activation page: one self-contained HTML document (no external resources, so it
 * works offline) that talks to main only through `window.keygate`. Its words come from
 * core's `describe()` in main, carried by each state. Its CSP allows its own inline script
 * by hash, images from `data:` (the icon), and nothing else.
 */
export function activationPageHtml(options: ActivationPageInput = {}): string {
  const productName = options.productName?.trim() || 'the app'
  const icon =
    options.icon !== undefined && DATA_IMAGE.test(options.icon) ? options.icon : undefined
  const config: ActivationPageConfig = {
    productName,
    ...(options.buyUrl === undefined ? {} : { buyUrl: options.buyUrl }),
    ...(options.portalUrl === undefined ? {} : { portalUrl: options.portalUrl }),
  }
  // `<` escaped so no string in the config can close the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  // Bundlers with keepNames wrap named functions in `__name(...)`, which only exists in
  // their bundle: define it so the embedded function still runs.
  const script = `var __name = function (f) { return f };\n(${activationPageScript.toString()})(${json});`
  // node:crypto is fetched here, not imported: the gate's start-up never builds a page.
  const { createHash } = process.getBuiltinModule('node:crypto')
  const hash = createHash('sha256').update(script).digest('base64')
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(productName)} license</title>
<style>${STYLE}</style>
</head>
<body>${body(productName, icon)}
<script>${script}</script>
</body>
</html>
`
}

/** The page as a `data:` URL, the exact string the bridge trusts for this window. */
export function activationPageUrl(options: ActivationPageInput = {}): string {
  const html = activationPageHtml(options)
  return `data:text/html;charset=utf-8;base64,${Buffer.from(html).toString('base64')}`
}
