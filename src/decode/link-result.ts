/** Where a link layer left off: which network protocol follows, and at which offset. */
export const NET_NONE = 0;
export const NET_IPV4 = 4;
export const NET_IPV6 = 6;
export type NetProto = typeof NET_NONE | typeof NET_IPV4 | typeof NET_IPV6;

export class LinkResult {
  net: NetProto = NET_NONE;
  offset = 0;
  /** The link header was cut short by the capture. */
  truncated = false;
  /** Outermost VLAN id, -1 if none. */
  vlan = -1;
  /**
   * Where a link-layer length field (PPPoE, 802.3, NFLOG) says the network packet
   * ends, -1 when none does. Bytes past it are link-layer padding, never IP data.
   */
  end = -1;

  reset(): void {
    this.net = NET_NONE;
    this.offset = 0;
    this.end = -1;
    this.truncated = false;
    this.vlan = -1;
  }
}
