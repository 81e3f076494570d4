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

/** @internal The page with its base path (validated: letters, digits, "/", "_", ".", "~", "-"). */
export function dashboardHtml(path: string): string {
  return dashboardAssets().html.replace('__BASE__', `${path}/`);
}
