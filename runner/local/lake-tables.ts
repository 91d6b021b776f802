import { type LocalTable, icebergTable } from './athena-table-views';
import { IcebergCatalog, catalogDbPathOf } from './iceberg-catalog';
import { lakeNamespace } from './local-catalog';
import type { ResolvedPipeline } from './template-resolver';

/**
 * The app's tables as LocalAthena reads them on a lake: each Iceberg table of the lake's catalog at
 * main's head (re-resolved on every query, like Athena) or as it stood at `asOf` (Athena's
 * `FOR TIMESTAMP AS OF`). At main's head, a table the catalog does not hold yet (a lake no run has
 * written) reads as empty, like an Athena table with no data.
 */
export function lakeTables(
  pipeline: ResolvedPipeline,
  lake: string,
  options: { readonly asOf?: Date } = {},
): LocalTable[] {
  const { catalog, namespace } = lakeNamespace(pipeline);
  const reader = new IcebergCatalog({ catalogDbPath: catalogDbPathOf(lake), catalogName: catalog, namespace });
  return pipeline.tables.map((table) => {
    const view = icebergTable(reader, table.name, table.columns, options.asOf ? { asOf: options.asOf } : {});
    return {
      ...view,
      // As of an instant, a table that did not exist is the reader's error (no state then).
      files: async () => (options.asOf || (await reader.tableExists(table.name)) ? view.files() : []),
    };
  });
}
