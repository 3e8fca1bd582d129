/** Thrown by a check that cannot judge: becomes "not tested" with this reason. */
export class NotTested extends Error {}
