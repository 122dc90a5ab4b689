import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The docs are self-contained: every relative link of README.md and docs/*.md names a file of the repository. */
const pages = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

describe('documentation links', () => {
  it.each(pages)('%s links only to files inside the repository that exist', (page) => {
    const text = readFileSync(page, 'utf8');
    const targets = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? '').filter((t) => !/^[a-z]+:/.test(t));
    for (const target of targets) {
      const path = join(dirname(page), target);
      expect(path.startsWith('..'), `${page} links outside the repository: ${target}`).toBe(false);
      expect(existsSync(path), `${page} links to a missing file: ${target}`).toBe(true);
    }
  });

  it('the requirement catalogue defines R1 to R14, each once', () => {
    const ids = [...readFileSync('docs/requirements.md', 'utf8').matchAll(/^\| (R\d+) \|/gm)].map((m) => m[1]);
    expect(ids).toEqual(Array.from({ length: 14 }, (_, i) => `R${i + 1}`));
  });
});
