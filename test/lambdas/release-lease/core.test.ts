import { LAKE_LEASE_KEY } from '../../../core/lake-layout';
import { handle } from '../../../lambdas/release-lease/handler';
import { releaseLease } from '../../../lambdas/release-lease/core';
import { acquireLakeLease } from '../../../lambdas/shared/lake-lease';
import { storeLakePerTest } from '../../helpers/lake';

const lake = storeLakePerTest();
const deps = () => ({ store: lake.store, stagingBucket: 'staging' });
const acquire = (id: string) =>
  acquireLakeLease(id, { ...deps(), isExecutionRunning: async () => true, pause: async () => {} });

describe('releaseLease', () => {
  test('drops the lease of this execution; a retry finds none', async () => {
    await acquire('arn:exec:A');
    expect(await releaseLease({ executionId: 'arn:exec:A' }, deps())).toEqual({ released: true, holder: 'arn:exec:A' });
    expect(await lake.store.getText('staging', LAKE_LEASE_KEY)).toBeUndefined();
    expect(await releaseLease({ executionId: 'arn:exec:A' }, deps())).toEqual({ released: false, holder: null });
  });

  test("another execution's lease (this one failed LAKE_BUSY) is left alone", async () => {
    await acquire('arn:exec:A');
    const lease = await lake.store.getText('staging', LAKE_LEASE_KEY);
    expect(await releaseLease({ executionId: 'arn:exec:B' }, deps())).toEqual({
      released: false,
      holder: 'arn:exec:A',
    });
    expect(await lake.store.getText('staging', LAKE_LEASE_KEY)).toBe(lease);
  });

  test('handler: {execution_id} from the state machine, the staging bucket from the environment', async () => {
    await acquire('arn:exec:A');
    const env = { STAGING_BUCKET: 'staging' };
    await expect(handle({}, { store: lake.store, env })).rejects.toThrow();
    expect(await handle({ execution_id: 'arn:exec:A', extra: 1 }, { store: lake.store, env })).toEqual({
      released: true,
      holder: 'arn:exec:A',
    });
  });
});
