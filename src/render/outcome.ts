// How a command ended: declared beside the errors it is made from, so engines report it without render.
export type { Outcome } from '../errors.js';
