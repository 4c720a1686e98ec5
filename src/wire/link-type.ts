// Link-layer header types, as numbered by tcpdump.org's LINKTYPE_ registry
// (the values stored in pcap file headers and pcapng IDBs).
export const LinkType = {
  /** LINKTYPE_ETHERNET: Ethernet II, optionally with 802.1Q tags. */
  ETHERNET: 1,
  /** LINKTYPE_RAW: raw IPv4 or IPv6, version nibble decides. */
  RAW: 101,
  /** LINKTYPE_LINUX_SLL: Linux "cooked" capture v1 (tcpdump -i any before libpcap 1.10). */
  LINUX_SLL: 113,
  /** LINKTYPE_IPV4: raw IPv4 only. */
  IPV4: 228,
  /** LINKTYPE_LINUX_SLL2: Linux cooked capture v2, carries the interface index. */
  LINUX_SLL2: 276,
  /** LINKTYPE_NFLOG: netfilter log messages (`tcpdump -i nflog:GROUP`: what an NFLOG rule logged). */
  NFLOG: 239,
} as const;

export type LinkType = (typeof LinkType)[keyof typeof LinkType];

const KNOWN = new Set<number>(Object.values(LinkType));

export function isKnownLinkType(value: number): value is LinkType {
  return KNOWN.has(value);
}

export function linkTypeName(value: number): string {
  for (const [name, v] of Object.entries(LinkType)) if (v === value) return name;
  return `LINKTYPE(${value})`;
}
