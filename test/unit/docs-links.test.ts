/**
 * The documentation's own links: every relative link in README.md and docs/ names a file that exists, and an
 * anchor names a heading of that file. The README stays a front page.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks, where a `](…)` is code, not a link. */
const prose = (md: string) => md.replace(/^```[^]*?^```/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(path: string): Set<string> {
  return new Set([...prose(readFileSync(path, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
}

function linksOf(page: string): { target: string; hash: string | null }[] {
  return [...prose(readFileSync(join(root, page), 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !/^[a-z]+:/i.test(href))
    .map((href) => {
      const [path, hash] = href.split('#') as [string, string | undefined];
      return { target: path === '' ? join(root, page) : resolve(dirname(join(root, page)), path), hash: hash ?? null };
    });
}

describe('the documentation', () => {
  it.each(pages)('%s: every relative link resolves, anchors included', (page) => {
    const broken = linksOf(page).filter(({ target, hash }) => !existsSync(target) || (hash !== null && !anchorsOf(target).has(hash)));
    expect(broken.map(({ target, hash }) => `${target.slice(root.length)}${hash === null ? '' : `#${hash}`}`)).toEqual([]);
  });

  it('links somewhere: the README links every page in docs/', () => {
    const linked = new Set(linksOf('README.md').map(({ target }) => target));
    expect(pages.filter((p) => p !== 'README.md' && !linked.has(join(root, p)))).toEqual([]);
  });

  it('the README is a front page: at most 250 lines', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(250);
  });
});
