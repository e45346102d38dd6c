export { DecayedPopularity, decayFactor, popularityPrior, priorsAt, type PopularityCounts } from './decayed.js';
