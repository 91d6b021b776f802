/** Quoting for the DuckDB SQL that LocalAthena writes (identifiers and string literals). */

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;
