// Quantities the whole project shares, each defined once here (the lowest layer, so settings can use them too).

/** One day in milliseconds (event time and wall clock alike). */
export const DAY_MS = 86_400_000;

/**
 * An item is cold for an event while it has fewer than this many earlier interactions (none included): the replay's
 * cold-item slice and cold-user slice, the per-user cold counts, and the default of the cold slots' threshold
 * (LEARN_REPLAY_COLD_SLOTS_BELOW, which changes the slots alone, never the slice).
 */
export const COLD_ITEM_THRESHOLD = 5;
