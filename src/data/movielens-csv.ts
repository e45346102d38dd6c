// MovieLens CSV releases (ml-latest, ml-latest-small, ml-25m...): ratings.csv, movies.csv and, optionally, tags.csv
// in one folder -> the product's records: a listing per movie (its tags join its text), an event per rating.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ItemListing, UserEvent } from '../codec/index.js';
import { CsvFormatError, csvColumn, parseCsv, type CsvTable } from './csv.js';
import { sortByTime, type DatasetRecord } from './stream.js';

export const MOVIELENS_CSV_FILES = { ratings: 'ratings.csv', movies: 'movies.csv', tags: 'tags.csv' } as const;

export interface MovieLensRating {
  /** Line of ratings.csv, for the event id and errors. */
  line: number;
  userId: string;
  movieId: string;
  rating: number;
  /** Epoch seconds, as in the file. */
  timestamp: number;
}

export interface MovieLensMovie {
  movieId: string;
  title: string;
  /** The release year from the title's "(YYYY)" (or "(YYYY-YYYY)"), null when the title has none. */
  year: number | null;
  genres: string[];
}

export interface MovieLensTag {
  movieId: string;
  tag: string;
}

/** True when `dir` holds a MovieLens CSV release (ratings.csv and movies.csv). */
export function isMovieLensCsvDir(dir: string): boolean {
  return existsSync(join(dir, MOVIELENS_CSV_FILES.ratings)) && existsSync(join(dir, MOVIELENS_CSV_FILES.movies));
}

type Cell = (name: string) => string;

/** Rows of a table as named-cell readers; a blank required cell fails naming the file, line and field. */
function rowsOf<T>(table: CsvTable, source: string, names: readonly string[], build: (cell: Cell, line: number) => T): T[] {
  const index = new Map(names.map((n) => [n, csvColumn(table, n, source)]));
  return table.rows.map((row) =>
    build((name) => {
      const v = (row.cells[index.get(name) as number] ?? '').trim();
      if (v === '') throw new CsvFormatError(source, row.line, `field "${name}" is empty`);
      return v;
    }, row.line),
  );
}

function numberField(cell: Cell, name: string, source: string, line: number, integer = false): number {
  const raw = cell(name);
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new CsvFormatError(source, line, `field "${name}": "${raw}" is not ${integer ? 'an integer' : 'a number'}`);
  }
  return n;
}

export function parseMovieLensRatings(text: string, source: string = MOVIELENS_CSV_FILES.ratings): MovieLensRating[] {
  return rowsOf(parseCsv(text, source), source, ['userId', 'movieId', 'rating', 'timestamp'], (cell, line) => ({
    line,
    userId: cell('userId'),
    movieId: cell('movieId'),
    rating: numberField(cell, 'rating', source, line),
    timestamp: numberField(cell, 'timestamp', source, line, true),
  }));
}

export function parseMovieLensMovies(text: string, source: string = MOVIELENS_CSV_FILES.movies): MovieLensMovie[] {
  return rowsOf(parseCsv(text, source), source, ['movieId', 'title', 'genres'], (cell) => {
    const title = cell('title');
    return {
      movieId: cell('movieId'),
      title,
      year: titleYear(title),
      // "(no genres listed)" is MovieLens's placeholder for none.
      genres: cell('genres')
        .split('|')
        .filter((g) => g !== '' && g !== '(no genres listed)'),
    };
  });
}

export function parseMovieLensTags(text: string, source: string = MOVIELENS_CSV_FILES.tags): MovieLensTag[] {
  return rowsOf(parseCsv(text, source), source, ['movieId', 'tag'], (cell) => ({ movieId: cell('movieId'), tag: cell('tag') }));
}

/** The release year a MovieLens title ends with: "Heat (1995)" -> 1995, "Death Note (2006–2007)" -> 2006. */
export function titleYear(title: string): number | null {
  const m = /\((\d{4})(?:[–-]\d{4})?\)\s*$/.exec(title);
  return m ? Number(m[1]) : null;
}

/** Each movie's distinct tags (case-insensitive), most used first, ties in order of first use. */
export function tagsByMovie(tags: readonly MovieLensTag[]): Map<string, string[]> {
  const counts = new Map<string, Map<string, { tag: string; n: number }>>();
  for (const t of tags) {
    let m = counts.get(t.movieId);
    if (!m) counts.set(t.movieId, (m = new Map()));
    const key = t.tag.toLowerCase();
    const seen = m.get(key);
    if (seen) seen.n++;
    else m.set(key, { tag: t.tag, n: 1 });
  }
  // Array.prototype.sort is stable: equal counts keep first-use order.
  return new Map([...counts].map(([id, m]) => [id, [...m.values()].sort((a, b) => b.n - a.n).map((x) => x.tag)]));
}

/**
 * When a movie is listed: at the start (UTC) of its release year, but never after its first rating (then 1 ms
 * before it, so the listing sorts first). A title without a year: 1 ms before its first rating. A movie nobody
 * rated: the start of its year, or 1 ms before the data set's first rating when it has none.
 */
export function listingTime(year: number | null, firstRatingMs: number | undefined, streamStartMs: number): number {
  const yearStart = year === null ? undefined : Date.UTC(year, 0, 1);
  if (firstRatingMs === undefined) return yearStart ?? streamStartMs - 1;
  return yearStart === undefined ? firstRatingMs - 1 : Math.min(yearStart, firstRatingMs - 1);
}

export function movieLensListing(movie: MovieLensMovie, tags: readonly string[], listedAt: number): ItemListing {
  return {
    item_id: movie.movieId,
    title: movie.title,
    category: movie.genres.length > 0 ? movie.genres.join(', ') : null,
    brand: null,
    price: null,
    keywords: tags.length > 0 ? [...tags] : null,
    attributes: movie.year === null ? null : [`released ${movie.year}`],
    listed_at: listedAt,
  };
}

export function movieLensEvent(r: MovieLensRating): UserEvent {
  return { event_id: `movielens-${r.line}`, user_id: r.userId, item_id: r.movieId, type: 'rating', ts: r.timestamp * 1000, weight: r.rating };
}

/** The data set as one stream in time order (ties keep file order, a listing before an event of its millisecond). */
export function movieLensStream(ratings: readonly MovieLensRating[], movies: readonly MovieLensMovie[], tags: readonly MovieLensTag[] = []): DatasetRecord[] {
  const firstTs = new Map<string, number>();
  let start = Number.POSITIVE_INFINITY;
  for (const r of ratings) {
    const ts = r.timestamp * 1000;
    start = Math.min(start, ts);
    const seen = firstTs.get(r.movieId);
    if (seen === undefined || ts < seen) firstTs.set(r.movieId, ts);
  }
  const known = new Set(movies.map((m) => m.movieId));
  const unknown = [...firstTs.keys()].filter((id) => !known.has(id));
  if (unknown.length > 0) throw new Error(`${MOVIELENS_CSV_FILES.ratings}: ${unknown.length} rated movies have no row in ${MOVIELENS_CSV_FILES.movies} (e.g. ${unknown.slice(0, 3).join(', ')})`);
  const tagged = tagsByMovie(tags);
  const listings: DatasetRecord[] = movies.map((m) => ({
    kind: 'listing',
    value: movieLensListing(m, tagged.get(m.movieId) ?? [], listingTime(m.year, firstTs.get(m.movieId), Number.isFinite(start) ? start : 0)),
  }));
  const events: DatasetRecord[] = ratings.map((r) => ({ kind: 'event', value: movieLensEvent(r) }));
  return sortByTime([...listings, ...events]);
}

/** Reads a MovieLens CSV folder (tags.csv optional) and converts it. */
export async function loadMovieLensCsv(dir: string): Promise<DatasetRecord[]> {
  const path = (f: string): string => join(dir, f);
  const tagsPath = path(MOVIELENS_CSV_FILES.tags);
  const [ratings, movies, tags] = await Promise.all([
    readFile(path(MOVIELENS_CSV_FILES.ratings), 'utf8'),
    readFile(path(MOVIELENS_CSV_FILES.movies), 'utf8'),
    existsSync(tagsPath) ? readFile(tagsPath, 'utf8') : Promise.resolve(undefined),
  ]);
  return movieLensStream(
    parseMovieLensRatings(ratings, path(MOVIELENS_CSV_FILES.ratings)),
    parseMovieLensMovies(movies, path(MOVIELENS_CSV_FILES.movies)),
    tags === undefined ? [] : parseMovieLensTags(tags, tagsPath),
  );
}
