export { DecayedPopularity, decayFactor, popularityPrior } from './decayed.js';
