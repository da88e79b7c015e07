import { LINKTYPE_PCAPNG_CUSTOM, LINKTYPE_SYSTEMD_JOURNAL } from '../capture/pcapng.js';
import { decodeEthernet } from './ethernet.js';
import type { LinkResult } from './link-result.js';
import { decodeIpv4Only, decodeIpv6Only, decodeLoop, decodeNull, decodeRaw } from './null-loop.js';
import { decodeNflog } from './nflog.js';
import { decodeArcnetLinux, decodeFddi, decodeIpoib, decodeJuniperEther } from './other-links.js';
import { decodeCiscoHdlc, decodePpp } from './ppp.js';
import { decodeSll, decodeSll2 } from './sll.js';

export type LinkDecoder = (buf: Buffer, off: number, end: number, out: LinkResult) => void;

/** The link layers we decode, by LINKTYPE_ value (tcpdump.org/linktypes.html). */
const DECODERS = new Map<number, LinkDecoder>([
  [0, decodeNull],
  [1, decodeEthernet],
  [9, decodePpp],
  [10, decodeFddi],
  [12, decodeRaw], // DLT_RAW on most BSDs, written as-is by old libpcaps
  [14, decodeRaw], // DLT_RAW on OpenBSD
  [50, decodePpp],
  [101, decodeRaw],
  [104, decodeCiscoHdlc],
  [108, decodeLoop],
  [113, decodeSll],
  [129, decodeArcnetLinux],
  [178, decodeJuniperEther],
  [228, decodeIpv4Only],
  [229, decodeIpv6Only],
  [239, decodeNflog],
  [242, decodeIpoib],
  [276, decodeSll2],
]);

const NAMES = new Map<number, string>([
  [LINKTYPE_PCAPNG_CUSTOM, 'PCAPNG_CUSTOM_BLOCK'],
  [LINKTYPE_SYSTEMD_JOURNAL, 'SYSTEMD_JOURNAL'],
  [0, 'NULL'],
  [1, 'ETHERNET'],
  [6, 'IEEE802_5'],
  [9, 'PPP'],
  [10, 'FDDI'],
  [12, 'RAW'],
  [14, 'RAW'],
  [50, 'PPP_HDLC'],
  [51, 'PPP_ETHER'],
  [101, 'RAW'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [108, 'LOOP'],
  [113, 'LINUX_SLL'],
  [119, 'IEEE802_11_PRISM'],
  [127, 'IEEE802_11_RADIOTAP'],
  [129, 'ARCNET_LINUX'],
  [147, 'USER0'],
  [178, 'JUNIPER_ETHER'],
  [189, 'USB_LINUX'],
  [195, 'IEEE802_15_4_WITHFCS'],
  [220, 'USB_LINUX_MMAPPED'],
  [228, 'IPV4'],
  [229, 'IPV6'],
  [239, 'NFLOG'],
  [242, 'IPOIB'],
  [249, 'USBPCAP'],
  [252, 'WIRESHARK_UPPER_PDU'],
  [263, 'BLUETOOTH_LE_LL'],
  [271, 'VSOCK'],
  [274, 'LINKTYPE(274)'],
  [276, 'LINUX_SLL2'],
]);

export function linkDecoder(linkType: number): LinkDecoder | undefined {
  return DECODERS.get(linkType);
}

export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `LINKTYPE(${linkType})`;
}

export function isSupportedLinkType(linkType: number): boolean {
  return DECODERS.has(linkType);
}
