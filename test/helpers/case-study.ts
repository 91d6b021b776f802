import type { SilverTx } from './sql-lake';

/** The case study's example (SPEC §4, "Balance history"): four transactions of two accounts in Q1 2024. */
export const CASE_STUDY: readonly SilverTx[] = [
  { id: 'T1', account: 'ACC001', currency: 'EUR', amount: '500.00', ts: '2024-01-05T10:00:00.000Z' },
  { id: 'T2', account: 'ACC001', currency: 'EUR', amount: '-174.00', ts: '2024-01-20T08:30:00.000Z' },
  { id: 'T3', account: 'ACC002', currency: 'EUR', amount: '-25.50', ts: '2024-02-10T12:00:00.000Z' },
  { id: 'T4', account: 'ACC002', currency: 'EUR', amount: '-100.00', ts: '2024-03-15T00:00:00.000Z' },
];

/**
 * Its 2024-Q1 balance history as CSV lines (account_id,currency,month,balance): ACC001 326.00 all
 * quarter; ACC002 no balance (NULL) in January, then -25.50 and -125.50.
 */
export const CASE_STUDY_Q1_HISTORY: readonly string[] = [
  'ACC001,EUR,2024-01,326.00',
  'ACC001,EUR,2024-02,326.00',
  'ACC001,EUR,2024-03,326.00',
  'ACC002,EUR,2024-01,',
  'ACC002,EUR,2024-02,-25.50',
  'ACC002,EUR,2024-03,-125.50',
];
