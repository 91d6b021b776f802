import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cachedSynthesis, templateCacheKey } from '../../../runner/local/template-cache';
import { synthesizeTemplates, synthesizeUncached } from '../../../runner/local/template-resolver';
import { ROOT } from '../../helpers/cli';
import { tempDirs } from '../../helpers/lake';

const dirs = tempDirs('template-cache-');

/** A project root of its own: a copy of cdk.json that a test may change. */
function projectRoot(): string {
  const root = dirs();
  copyFileSync(path.join(ROOT, 'cdk.json'), path.join(root, 'cdk.json'));
  return root;
}

describe('cachedSynthesis', () => {
  test('synthesizes once per key and returns the same templates after', () => {
    const cacheDir = dirs();
    let calls = 0;
    const synth = (): unknown => {
      calls += 1;
      return [{ Resources: { A: { Type: 'X', Properties: { n: calls } } } }];
    };
    const first = cachedSynthesis({ root: ROOT, envName: 'dev', cacheDir }, synth);
    const second = cachedSynthesis({ root: ROOT, envName: 'dev', cacheDir }, synth);
    expect(calls).toBe(1);
    expect(second).toEqual(first);
    cachedSynthesis({ root: ROOT, envName: 'prod', cacheDir }, synth);
    expect(calls).toBe(2);
    expect(readdirSync(cacheDir).filter((n) => n.endsWith('.json'))).toHaveLength(2);
  });

  test('the key changes with the environment and with cdk.json, not otherwise', () => {
    const root = projectRoot();
    const dev = templateCacheKey(root, 'dev');
    expect(templateCacheKey(root, 'dev')).toBe(dev);
    expect(templateCacheKey(root, 'prod')).not.toBe(dev);
    const cdkJson = path.join(root, 'cdk.json');
    writeFileSync(cdkJson, JSON.stringify({ context: { changed: true } }));
    expect(templateCacheKey(root, 'dev')).not.toBe(dev);
  });

  test('an unreadable entry is synthesized again and replaced', () => {
    const cacheDir = dirs();
    const key = templateCacheKey(ROOT, 'dev');
    writeFileSync(path.join(cacheDir, `templates-${key}.json`), '{"half": ');
    let calls = 0;
    const value = cachedSynthesis({ root: ROOT, envName: 'dev', cacheDir }, () => {
      calls += 1;
      return { whole: true };
    });
    expect(calls).toBe(1);
    expect(value).toEqual({ whole: true });
    expect(cachedSynthesis({ root: ROOT, envName: 'dev', cacheDir }, () => ({ whole: false }))).toEqual({
      whole: true,
    });
  });

  test('what the CLI reads from the cache is the app as synthesized now', () => {
    synthesizeTemplates({ root: ROOT, envName: 'staging' }); // fills the cache if it is cold
    expect(synthesizeTemplates({ root: ROOT, envName: 'staging' })).toEqual(
      synthesizeUncached({ root: ROOT, envName: 'staging' }),
    );
  });
});
