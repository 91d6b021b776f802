import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { JOB_MODE_ARGUMENT } from './ingestion-job';

export interface TableMaintenanceProps {
  /** The Glue job whose maintain mode keeps the lake's Iceberg tables. */
  readonly job: glue.IJob;
  /**
   * When maintenance runs (Glue trigger cron, UTC): away from the 02:00 nightly run, so that it does
   * not commit to a table between a date's audit and its publish (which would then be refused).
   * @default 'cron(0 14 ? * SUN *)' (Sundays 14:00 UTC)
   */
  readonly schedule?: string;
  /**
   * Whether the schedule is switched on.
   * @default true
   */
  readonly enabled?: boolean;
}

/**
 * Scheduled Iceberg upkeep (SPEC §1 maintenance): the Glue job in maintain mode — snapshots
 * expired after the retention (the last ones always kept), small files compacted, orphan files
 * removed, condemned rows past their 7-year retention deleted. `txlake maintain` runs the same mode
 * on a local lake.
 */
export class TableMaintenance extends Construct {
  readonly trigger: glue.CfnTrigger;

  constructor(scope: Construct, id: string, props: TableMaintenanceProps) {
    super(scope, id);
    this.trigger = new glue.CfnTrigger(this, 'Schedule', {
      type: 'SCHEDULED',
      description: 'txlake: weekly Iceberg table maintenance',
      schedule: props.schedule ?? 'cron(0 14 ? * SUN *)',
      startOnCreation: props.enabled ?? true,
      actions: [
        { jobName: props.job.jobName, arguments: { [JOB_MODE_ARGUMENT]: 'maintain', '--run_id': 'scheduled' } },
      ],
    });
  }
}
