/** pcapng's block types and option codes (draft-ietf-opsawg-pcapng), for the reader, the writer and the capture rewriter. */

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
/** Obsolete Packet Block. */
export const BT_PB = 2;
export const BT_SPB = 3;
/** Interface Statistics Block (4.6). */
export const BT_ISB = 5;
export const BT_EPB = 6;
export const BT_SYSTEMD_JOURNAL = 9;
export const BT_CUSTOM = 0x00000bad;
export const BT_CUSTOM_NOCOPY = 0x40000bad;
export const BOM = 0x1a2b3c4d;

export const OPT_END = 0;
export const OPT_COMMENT = 1;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_FCSLEN = 13;
export const IF_TSOFFSET = 14;
/** isb_endtime: when the capture on the interface stopped. */
export const ISB_ENDTIME = 3;
