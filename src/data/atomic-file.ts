// RecBole atomic files: tab-separated, one header line of typed columns such as `user_id:token`.

export interface AtomicTable {
  /** Column names without their `:type` suffix, in file order. */
  columns: string[];
  /** Data rows, split on tabs; row i is line i + 2 of the file. */
  rows: string[][];
}

export function parseAtomicFile(text: string, source: string): AtomicTable {
  const lines = text.split(/\r?\n/);
  const header = lines[0];
  if (header === undefined || header.trim() === '') throw new Error(`${source}: empty file, expected a typed header line`);
  const columns = header.split('\t').map((c) => c.split(':')[0]?.trim() ?? '');
  const rows: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const cells = line.split('\t');
    if (cells.length !== columns.length) {
      throw new Error(`${source}:${i + 1}: ${cells.length} fields, the header has ${columns.length}`);
    }
    rows.push(cells);
  }
  return { columns, rows };
}

/** Index of a named column; throws naming the columns the file does have. */
export function columnIndex(table: AtomicTable, name: string, source: string): number {
  const i = table.columns.indexOf(name);
  if (i < 0) throw new Error(`${source}: no column "${name}" (columns: ${table.columns.join(', ')})`);
  return i;
}
