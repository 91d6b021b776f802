import { renderBenchmarks } from '../../bench/report';

describe('BENCHMARKS.md: the test suite on a fresh clone (part g)', () => {
  const suite = {
    commit: 'abc1234',
    wall_seconds: 610.4,
    jest: 'Tests:       726 passed, 726 total',
    pytest: '191 passed in 207.81s (0:03:27)',
    load: [0.5, 2.1] as const,
  };

  test('a target row against 8 minutes, and its section with method and reproduce line', () => {
    const text = renderBenchmarks({ suite, measured_at: { suite: '2026-12-05T14:00:00.000Z' } });
    expect(text).toContain(
      '| the test suite on a fresh clone, set-up included, ≤ 8 min | 10 min 10 s (610 s) | **missed** |',
    );
    expect(text).toContain('## (g) The test suite on a fresh clone — 2026-12-05T14:00:00.000Z');
    expect(text).toContain('`git clone` of the repository at abc1234');
    expect(text).toContain('| jest | Tests: 726 passed, 726 total |');
    expect(text).toContain('| pytest | 191 passed in 207.81s (0:03:27) |');
    expect(text).toContain('Reproduce: `npm run bench -- --only g`');
  });

  test('met at 8 minutes or less', () => {
    expect(renderBenchmarks({ suite: { ...suite, wall_seconds: 480 } })).toContain('| 8 min 0 s (480 s) | met |');
  });
});
