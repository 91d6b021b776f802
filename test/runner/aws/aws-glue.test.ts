import type { JobRun } from '@aws-sdk/client-glue';
import { dpuPerWorker, summarizeJobRun } from '../../../runner/aws/aws-glue';

describe('summarizeJobRun: a job run as `txlake runs` shows it', () => {
  const run: JobRun = {
    Id: 'jr_1',
    JobRunState: 'SUCCEEDED',
    Arguments: { '--run_id': '2024-01-16_x', '--job_mode': 'publish' },
    StartedOn: new Date('2024-01-17T02:00:00Z'),
    ExecutionTime: 100,
  };

  test('DPUSeconds when Glue reports them', () => {
    expect(summarizeJobRun({ ...run, DPUSeconds: 42.5, MaxCapacity: 2 })).toEqual({
      id: 'jr_1',
      mode: 'publish',
      state: 'SUCCEEDED',
      started_on: '2024-01-17T02:00:00.000Z',
      execution_time_s: 100,
      dpu_seconds: 42.5,
    });
  });

  test('else MaxCapacity × time, else workers × DPUs per worker × time; no --job_mode is transform', () => {
    expect(summarizeJobRun({ ...run, MaxCapacity: 2 }).dpu_seconds).toBe(200);
    const byWorkers = summarizeJobRun({ ...run, Arguments: {}, WorkerType: 'G.2X', NumberOfWorkers: 3 });
    expect(byWorkers).toMatchObject({ mode: 'transform', dpu_seconds: 600 });
    expect(summarizeJobRun({ ...run, ErrorMessage: 'boom\n at x' })).toMatchObject({
      dpu_seconds: 0,
      error: 'boom at x',
    });
  });

  test.each([
    ['G.1X', 1],
    ['G.025X', 0.25],
    ['G.8X', 8],
    ['Z.2X', 2],
    ['Standard', 1],
    ['Other', 0],
    [undefined, 0],
  ])('DPUs of a %s worker: %s', (type, dpu) => {
    expect(dpuPerWorker(type)).toBe(dpu);
  });
});
