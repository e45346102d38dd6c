export { DAY_MS, DecayedPopularity, decayFactor, popularityPrior, priorsAt, type PopularityCounts } from './decayed.js';
