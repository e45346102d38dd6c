// RFC 4180 CSV: comma-separated, fields optionally in double quotes ("" inside one is a quote; commas and line
// breaks inside quotes are data). A small reader of our own so every row keeps the line it starts on, for errors.

export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  line: number;
  cells: string[];
}

export interface CsvTable {
  header: string[];
  rows: CsvRow[];
}

/** A malformed CSV file or row; the message names the file, the line and the field. */
export class CsvFormatError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    message: string,
  ) {
    super(`${source}:${line}: ${message}`);
    this.name = 'CsvFormatError';
  }
}

/** Parses CSV text; the first row is the header and every row must have as many fields as it. */
export function parseCsv(text: string, source: string): CsvTable {
  const records = splitRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, source);
  const head = records.shift();
  if (!head) throw new CsvFormatError(source, 1, 'empty file, expected a header row');
  const header = head.cells.map((c) => c.trim());
  for (const r of records) {
    if (r.cells.length !== header.length) throw new CsvFormatError(source, r.line, `${r.cells.length} fields, the header has ${header.length}`);
  }
  return { header, rows: records };
}

function splitRecords(text: string, source: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  // True once the current field began with a quote and that quote closed: only a comma or a line end may follow.
  let closed = false;
  const endRow = (): void => {
    cells.push(field);
    // A blank line is no row (a trailing newline, or blank lines between rows).
    if (!(cells.length === 1 && cells[0] === '' && !closed)) rows.push({ line: rowLine, cells });
    cells = [];
    field = '';
    closed = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          closed = true;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === ',') {
      cells.push(field);
      field = '';
      closed = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else if (closed) {
      throw new CsvFormatError(source, line, `field ${cells.length + 1}: text after a closing quote`);
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new CsvFormatError(source, rowLine, `field ${cells.length + 1}: quote never closed`);
  if (field !== '' || cells.length > 0 || closed) endRow();
  return rows;
}

/** Index of a named header column; throws naming the columns the file does have. */
export function csvColumn(table: CsvTable, name: string, source: string): number {
  const i = table.header.indexOf(name);
  if (i < 0) throw new CsvFormatError(source, 1, `no column "${name}" (columns: ${table.header.join(', ')})`);
  return i;
}
