import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(__dirname, 'assets');
let cache: { html: string; js: string; css: string } | undefined;

/** @internal The page's files, shipped in the package (no CDN): read once. */
export function dashboardAssets(): { html: string; js: string; css: string } {
  cache ??= {
    html: readFileSync(join(DIR, 'index.html'), 'utf8'),
    js: readFileSync(join(DIR, 'app.js'), 'utf8'),
    css: readFileSync(join(DIR, 'style.css'), 'utf8'),
  };
  return cache;
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
