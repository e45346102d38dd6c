// MovieLens-100K (RecBole atomic files) -> the product's records: a listing per movie, an event per rating.
import { readFile } from 'node:fs/promises';
import type { ItemListing, UserEvent } from '../codec/index.js';
import { columnIndex, parseAtomicFile } from './atomic-file.js';
import { sortByTime, type DatasetRecord } from './stream.js';

/** One line of ml-100k.inter; `row` is its 1-based data row (the line number minus the header). */
export interface Ml100kRating {
  row: number;
  userId: string;
  itemId: string;
  rating: number;
  /** Epoch seconds, as in the file. */
  timestamp: number;
}

/** One line of ml-100k.item. */
export interface Ml100kMovie {
  itemId: string;
  title: string;
  year: number | null;
  genres: string[];
}

export function parseMl100kRatings(text: string, source = 'ml-100k.inter'): Ml100kRating[] {
  const t = parseAtomicFile(text, source);
  const [u, i, r, ts] = ['user_id', 'item_id', 'rating', 'timestamp'].map((c) => columnIndex(t, c, source)) as [number, number, number, number];
  return t.rows.map((cells, k) => {
    const rating = Number(cells[r]);
    const timestamp = Number(cells[ts]);
    if (!Number.isFinite(rating) || !Number.isFinite(timestamp)) {
      throw new Error(`${source}:${k + 2}: rating "${cells[r]}" and timestamp "${cells[ts]}" must be numbers`);
    }
    return { row: k + 1, userId: cells[u] ?? '', itemId: cells[i] ?? '', rating, timestamp };
  });
}

export function parseMl100kMovies(text: string, source = 'ml-100k.item'): Ml100kMovie[] {
  const t = parseAtomicFile(text, source);
  const [id, title, year, cls] = ['item_id', 'movie_title', 'release_year', 'class'].map((c) => columnIndex(t, c, source)) as [
    number,
    number,
    number,
    number,
  ];
  return t.rows.map((cells) => {
    const name = (cells[title] ?? '').trim();
    return {
      itemId: cells[id] ?? '',
      title: name,
      year: releaseYear(cells[year] ?? '', name),
      // `class` is a space-separated token sequence; "unknown" is MovieLens's placeholder for no genre.
      genres: (cells[cls] ?? '').split(' ').filter((g) => g !== '' && g !== 'unknown'),
    };
  });
}

// A few rows carry a placeholder ("unkonwn", "V") instead of the year; a "(1995)" in the title then still tells it.
function releaseYear(field: string, title: string): number | null {
  const m = /^\d{4}$/.exec(field.trim()) ?? /\((\d{4})\)\s*$/.exec(title);
  return m ? Number(m[1] ?? m[0]) : null;
}

export function movieListing(movie: Ml100kMovie, listedAt: number): ItemListing {
  return {
    item_id: movie.itemId,
    title: movie.title,
    category: movie.genres.length > 0 ? movie.genres.join(', ') : null,
    brand: null,
    price: null,
    keywords: null,
    attributes: movie.year === null ? null : [`released ${movie.year}`],
    listed_at: listedAt,
  };
}

export function ratingEvent(r: Ml100kRating): UserEvent {
  return {
    event_id: `ml100k-${r.row}`,
    user_id: r.userId,
    item_id: r.itemId,
    type: 'rating',
    ts: r.timestamp * 1000,
    weight: r.rating,
  };
}

/**
 * The data set as one stream in time order: every rating an event, every movie a listing dated 1 ms before
 * its first rating. Timestamps are whole seconds, so that listing sorts just before the first rating's second
 * and the stream's time never goes backwards. Ties keep file order. A movie nobody rated is listed 1 ms before
 * the first event of the data set.
 */
export function ml100kStream(ratings: readonly Ml100kRating[], movies: readonly Ml100kMovie[]): DatasetRecord[] {
  const firstTs = new Map<string, number>();
  for (const r of ratings) {
    const ts = r.timestamp * 1000;
    const seen = firstTs.get(r.itemId);
    if (seen === undefined || ts < seen) firstTs.set(r.itemId, ts);
  }
  const known = new Set(movies.map((m) => m.itemId));
  const unknown = [...firstTs.keys()].filter((id) => !known.has(id));
  if (unknown.length > 0) throw new Error(`ml-100k: ${unknown.length} rated items have no movie row (e.g. ${unknown.slice(0, 3).join(', ')})`);
  const start = firstTs.size > 0 ? Math.min(...firstTs.values()) : 0;
  const listings: DatasetRecord[] = movies.map((m) => ({ kind: 'listing', value: movieListing(m, (firstTs.get(m.itemId) ?? start) - 1) }));
  const events: DatasetRecord[] = ratings.map((r) => ({ kind: 'event', value: ratingEvent(r) }));
  return sortByTime([...listings, ...events]);
}

/** Reads the two cached files (see fetchMl100k) and converts them. */
export async function loadMl100k(files: { interPath: string; itemPath: string }): Promise<DatasetRecord[]> {
  const [inter, item] = await Promise.all([readFile(files.interPath, 'utf8'), readFile(files.itemPath, 'utf8')]);
  return ml100kStream(parseMl100kRatings(inter, files.interPath), parseMl100kMovies(item, files.itemPath));
}
