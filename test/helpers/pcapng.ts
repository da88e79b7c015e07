/** A writer of pcapng blocks, every field overridable. */
import { cat, ip4, pattern, toBuf, w16, w32, type Bytes } from './bytes.js';
import { LINKTYPE } from './link-layers.js';

export const BLOCK = { SHB: 0x0a0d0d0a, IDB: 1, PB: 2, SPB: 3, NRB: 4, ISB: 5, EPB: 6, DSB: 0x0a, CB: 0x00000bad, DCB: 0x40000bad } as const;
export const OPT = { END: 0, COMMENT: 1, IF_NAME: 2, IF_DESCRIPTION: 3, IF_TSRESOL: 9, IF_FCSLEN: 13, IF_TSOFFSET: 14, EPB_FLAGS: 2, SHB_HARDWARE: 2, SHB_OS: 3, SHB_USERAPPL: 4 } as const;

/** One option: code and value (strings as UTF-8). */
export type NgOption = readonly [code: number, value: Bytes | string];

/** Blocks of one byte order. Timestamps are counts of the interface's units, as bigints. */
export class Pcapng {
  constructor(readonly le = true) {}

  u32(v: number): Buffer {
    return w32(this.le, v);
  }

  u16(v: number): Buffer {
    return w16(this.le, v);
  }

  u64(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigUInt64LE(BigInt.asUintN(64, v));
    else b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return b;
  }

  /** Options area: each option padded to 4 bytes, then opt_endofopt (omitted when there is none). */
  options(opts: readonly NgOption[]): Buffer {
    if (opts.length === 0) return Buffer.alloc(0);
    const parts = opts.map(([code, value]) => {
      const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : toBuf(value);
      return cat(this.u16(code), this.u16(v.length), v, Buffer.alloc((4 - (v.length % 4)) % 4));
    });
    return cat(...parts, this.u16(OPT.END), this.u16(0));
  }

  /** A block: type, total length, body (padded to 4), total length. */
  block(type: number, body: Bytes): Buffer {
    const b = toBuf(body);
    const padded = cat(b, Buffer.alloc((4 - (b.length % 4)) % 4));
    const len = 12 + padded.length;
    return cat(this.u32(type), this.u32(len), padded, this.u32(len));
  }

  shb(o: { major?: number; minor?: number; sectionLength?: bigint; options?: readonly NgOption[] } = {}): Buffer {
    return this.block(BLOCK.SHB, cat(this.u32(0x1a2b3c4d), this.u16(o.major ?? 1), this.u16(o.minor ?? 0), this.u64(o.sectionLength ?? -1n), this.options(o.options ?? [])));
  }

  idb(
    o: {
      linkType?: number;
      snaplen?: number;
      /** if_tsresol byte: MSB clear 10^-n, set 2^-n. */
      tsresol?: number;
      /** if_tsoffset in seconds (signed). */
      tsoffset?: bigint | number;
      name?: string;
      fcslen?: number;
      options?: readonly NgOption[];
    } = {},
  ): Buffer {
    const opts: NgOption[] = [];
    if (o.name !== undefined) opts.push([OPT.IF_NAME, o.name]);
    if (o.tsresol !== undefined) opts.push([OPT.IF_TSRESOL, [o.tsresol]]);
    if (o.tsoffset !== undefined) opts.push([OPT.IF_TSOFFSET, this.u64(BigInt(o.tsoffset))]);
    if (o.fcslen !== undefined) opts.push([OPT.IF_FCSLEN, [o.fcslen]]);
    opts.push(...(o.options ?? []));
    return this.block(BLOCK.IDB, cat(this.u16(o.linkType ?? LINKTYPE.ETHERNET), this.u16(0), this.u32(o.snaplen ?? 0), this.options(opts)));
  }

  /** What EPB and PB share after the interface: timestamp, captured and original lengths, the data padded to 32 bits. */
  private packetRecord(ts: bigint, data: Buffer, capLen: number | undefined, origLen: number | undefined): Buffer {
    return cat(
      this.u32(Number(ts >> 32n)),
      this.u32(Number(ts & 0xffffffffn)),
      this.u32(capLen ?? data.length),
      this.u32(origLen ?? data.length),
      data,
      Buffer.alloc((4 - (data.length % 4)) % 4),
    );
  }

  epb(o: { ifId?: number; ts?: bigint; data: Bytes; capLen?: number; origLen?: number; comments?: string[]; options?: readonly NgOption[] }): Buffer {
    const data = toBuf(o.data);
    const ts = BigInt.asUintN(64, o.ts ?? 0n);
    const opts: NgOption[] = (o.comments ?? []).map((c) => [OPT.COMMENT, c] as const);
    opts.push(...(o.options ?? []));
    return this.block(
      BLOCK.EPB,
      cat(this.u32(o.ifId ?? 0), this.packetRecord(ts, data, o.capLen, o.origLen), this.options(opts)),
    );
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
  pb(o: { ifId?: number; drops?: number; ts?: bigint; data: Bytes; capLen?: number; origLen?: number; comments?: string[] }): Buffer {
    const data = toBuf(o.data);
    const ts = BigInt.asUintN(64, o.ts ?? 0n);
    return this.block(
      BLOCK.PB,
      cat(
        this.u16(o.ifId ?? 0),
        this.u16(o.drops ?? 0),
        this.packetRecord(ts, data, o.capLen, o.origLen),
        this.options((o.comments ?? []).map((c) => [OPT.COMMENT, c] as const)),
      ),
    );
  }

  /** Simple Packet Block: original length, then the data (already cut to the snaplen by the caller). */
  spb(o: { data: Bytes; origLen?: number }): Buffer {
    const data = toBuf(o.data);
    return this.block(BLOCK.SPB, cat(this.u32(o.origLen ?? data.length), data));
  }

  /** Name Resolution Block with IPv4 records. */
  nrb(entries: ReadonlyArray<{ ip: string; names: string[] }> = [{ ip: '10.0.0.1', names: ['host.example'] }]): Buffer {
    const rec = (type: number, value: Buffer): Buffer => cat(this.u16(type), this.u16(value.length), value, Buffer.alloc((4 - (value.length % 4)) % 4));
    const recs = entries.map((e) => rec(1, cat(ip4(e.ip), ...e.names.map((n) => Buffer.from(`${n}\0`)))));
    return this.block(BLOCK.NRB, cat(...recs, this.u16(0), this.u16(0)));
  }

  /** Interface Statistics Block. */
  isb(o: { ifId?: number; ts?: bigint; options?: readonly NgOption[] } = {}): Buffer {
    const ts = BigInt.asUintN(64, o.ts ?? 0n);
    return this.block(BLOCK.ISB, cat(this.u32(o.ifId ?? 0), this.u32(Number(ts >> 32n)), this.u32(Number(ts & 0xffffffffn)), this.options(o.options ?? [])));
  }

  /** Custom Block (copyable 0x0BAD, or do-not-copy 0x40000BAD): PEN, then data. */
  custom(o: { pen?: number; data?: Bytes; copy?: boolean } = {}): Buffer {
    return this.block(o.copy === false ? BLOCK.DCB : BLOCK.CB, cat(this.u32(o.pen ?? 32473), o.data ?? pattern(8)));
  }
}
