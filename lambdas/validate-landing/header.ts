/** The header rules of a landed file (SPEC §3): required columns present, no column named twice. */

/** A header that breaks a rule: the file is rejected with this code. */
export interface HeaderRejection {
  readonly ok: false;
  readonly code: 'MISSING_COLUMNS' | 'DUPLICATE_COLUMNS';
  readonly detail: string;
}

const trimSpaces = (value: string): string => value.replace(/^ +| +$/g, '');

export function checkHeader(header: readonly string[], required: readonly string[]): HeaderRejection | undefined {
  const names = header.map(trimSpaces);
  const present = new Set(names);
  const missing = required.filter((name) => !present.has(name));
  if (missing.length > 0)
    return { ok: false, code: 'MISSING_COLUMNS', detail: `missing column(s): ${missing.join(', ')}` };
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const name of names) {
    if (name === '') continue;
    if (seen.has(name) && !duplicates.includes(name)) duplicates.push(name);
    seen.add(name);
  }
  if (duplicates.length > 0) {
    return { ok: false, code: 'DUPLICATE_COLUMNS', detail: `duplicate column(s): ${duplicates.join(', ')}` };
  }
  return undefined;
}
