/**
 * The path bench/short-connections.mjs bundles shortConnections from, and docs/performance.md
 * names for synFlood; the builders themselves live in the modules beside this one.
 */
export { shortConnections, synFlood } from './scenarios.js';
