// The format-neutral view of a capture file: what both the pcap and pcapng decoders produce.

export type CaptureFormat = 'pcap' | 'pcapng';

export type PacketDirection = 'inbound' | 'outbound';

/** One capture interface: the whole file for pcap, one IDB for pcapng. */
export interface CaptureInterface {
  /** LINKTYPE_ value (see src/wire/link-type.ts); FCS bits of a pcap header already masked off. */
  linkType: number;
  /** pcapng if_name (option 2). */
  name?: string;
  /** pcapng if_description (option 3). */
  description?: string;
  /** Maximum captured bytes per packet; 0 means "no limit" (pcapng IDB). */
  snaplen: number;
  /**
   * The timestamp unit as pcapng's if_tsresol spells it (10^-n s, or 2^-n s with the MSB set):
   * 6 for µs (pcap's classic magic, and pcapng's default), 9 for ns.
   */
  tsresol: number;
  /** Nanoseconds per timestamp unit: 1000 for µs, 1 for ns; fractional for 2^-n or sub-ns units. */
  tsresolNs: number;
  /** pcapng if_tsoffset (option 14): seconds added to every timestamp of this interface (signed 64-bit). */
  tsoffsetSec?: bigint;
  /** Length in bytes of the FCS carried at the end of each packet (pcap header's F bit, pcapng if_fcslen). */
  fcsLength?: number;
}

/** Section-level metadata: the pcap file header or a pcapng SHB. */
export interface CaptureSection {
  byteOrder: 'little' | 'big';
  versionMajor: number;
  versionMinor: number;
  /** pcapng shb_hardware (option 2). */
  hardware?: string;
  /** pcapng shb_os (option 3). */
  os?: string;
  /** pcapng shb_userappl (option 4). */
  application?: string;
  /** pcapng opt_comment (option 1) of the SHB. */
  comment?: string;
}

export interface CaptureRecord {
  /** 0-based packet number across the whole file (all sections). */
  index: number;
  /** Interface index within the record's section (always 0 for pcap). */
  interfaceId: number;
  iface: CaptureInterface;
  /** Absolute time, nanoseconds since the Unix epoch (pcapng SPBs carry none: the interface's if_tsoffset, else 0n). */
  timestampNs: bigint;
  /** The captured bytes (a copy: it does not pin the decoder's input chunks). */
  data: Uint8Array;
  /** Length of the packet on the wire; >= data.length when the capture was truncated. */
  originalLength: number;
  /** First opt_comment of the packet (pcapng EPB/PB). */
  comment?: string;
  /** Direction bits of epb_flags / pack_flags when set to inbound or outbound. */
  direction?: PacketDirection;
  /** File offset of the record header / block start. */
  fileOffset: number;
}
