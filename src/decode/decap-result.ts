/**
 * What an encapsulation decoder made of a payload. Numbers, not objects: one is
 * returned per packet.
 */

/** Not this encapsulation (a wrong version or type): the packet stays what its outer header says. */
export const DECAP_NOT = 0;
/** Decapsulated: the LinkResult says what follows (NET_NONE: something other than IP). */
export const DECAP_INNER = 1;
/** The encapsulation header is cut short by the capture. */
export const DECAP_CUT = 2;
export type DecapResult = typeof DECAP_NOT | typeof DECAP_INNER | typeof DECAP_CUT;
