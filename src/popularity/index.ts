export { DAY_MS, DecayedPopularity, decayFactor, popularityPrior } from './decayed.js';
