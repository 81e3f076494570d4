import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TERMINAL_UNSAFE } from '../terminal-unsafe';

const DIR = join(__dirname, 'assets');
/** Where app.js takes the CLI's rule of what is never shown raw (its `UNSAFE`). */
const UNSAFE_PLACEHOLDER = "'__TERMINAL_UNSAFE__'";
let cache: { html: string; js: string; css: string } | undefined;

/**
 * @internal The page's files, shipped in the package (no CDN): read once. app.js gets the CLI's
 * TERMINAL_UNSAFE, so the page and the CLI never disagree on what is shown raw.
 */
export function dashboardAssets(): { html: string; js: string; css: string } {
  cache ??= {
    html: readFileSync(join(DIR, 'index.html'), 'utf8'),
    js: withUnsafeRule(readFileSync(join(DIR, 'app.js'), 'utf8')),
    css: readFileSync(join(DIR, 'style.css'), 'utf8'),
  };
  return cache;
}

function withUnsafeRule(js: string): string {
  if (!js.includes(UNSAFE_PLACEHOLDER)) throw new Error(`dashboard app.js: no ${UNSAFE_PLACEHOLDER} to fill in`);
  return js.replace(UNSAFE_PLACEHOLDER, () => JSON.stringify(TERMINAL_UNSAFE.source));
}

/**
 * @internal The page, its relative URLs resolved under `path` wherever the app mounts it (a global
 * prefix, a router module): the base is relative to the URL the page was served at. `requestPath`
 * ends in "/" or in path's last segment (the route matched it); `path` is validated (letters,
 * digits, "/", "_", ".", "~", "-"), so the base is never request text.
 */
export function dashboardHtml(path: string, requestPath: string): string {
  const base = requestPath.endsWith('/') ? './' : `${path.slice(path.lastIndexOf('/') + 1)}/`;
  return dashboardAssets().html.replace('__BASE__', base);
}
