// The OpenFlow pipeline that makes OVS's conntrack observable packet by packet. Every packet
// leaves on p2 exactly once, in order, with its ct_state (the low 8 bits: new, est, rel, rpl,
// inv, trk, snat, dnat) copied into the last byte of its Ethernet destination:
//   table 0  TCP goes through ct (with nat: established NAT connections are rewritten); others
//            skip conntrack (ct_state 0 = untracked, as ctsim does not track them either)
//   table 1  ct_state -> eth_dst[0..7]
//   table 2  +new is committed (an OVS connection exists only once committed, like a Linux
//            entry once confirmed); new connections from NAT-case clients (198.18.128.0/17) to
//            a server are committed with DNAT to the sidecar, like Istio's REDIRECT;
//            nothing is dropped (an invalid packet passes without an entry, as in Linux without
//            an INVALID drop rule), so both sides see the same packets.
import { PROXY_ADDR, PROXY_PORT } from '../../fuzz/index.js';
import { formatIpv4Address } from '../../wire/index.js';

/** NAT cases' clients are given addresses in this half of 198.18.0.0/16. */
export const NAT_CLIENTS = '198.18.128.0/17';

export function ovsFlows(): string {
  const proxy = `${formatIpv4Address(PROXY_ADDR)}:${PROXY_PORT}`;
  return [
    'table=0,priority=10,tcp,actions=ct(table=1,nat)',
    'table=0,priority=0,actions=resubmit(,1)',
    'table=1,priority=0,actions=move:NXM_NX_CT_STATE[0..7]->NXM_OF_ETH_DST[0..7],resubmit(,2)',
    // The sidecar's own /24 is not a server (isServerAddr): no REDIRECT towards it.
    'table=2,priority=40,ct_state=+trk+new,tcp,nw_dst=198.19.255.0/24,actions=ct(commit),output:2',
    `table=2,priority=30,ct_state=+trk+new,tcp,nw_src=${NAT_CLIENTS},nw_dst=198.19.0.0/16,actions=ct(commit,nat(dst=${proxy})),output:2`,
    'table=2,priority=20,ct_state=+trk+new,tcp,actions=ct(commit),output:2',
    'table=2,priority=0,actions=output:2',
    '',
  ].join('\n');
}

/** OVS's ct_state bits (lib/packets.h CS_*). */
export const CtState = { NEW: 0x01, EST: 0x02, REL: 0x04, RPL: 0x08, INV: 0x10, TRK: 0x20, SNAT: 0x40, DNAT: 0x80 } as const;

export function ctStateText(bits: number): string {
  const names: Array<[number, string]> = [[CtState.TRK, 'trk'], [CtState.NEW, 'new'], [CtState.EST, 'est'], [CtState.REL, 'rel'], [CtState.RPL, 'rpl'], [CtState.INV, 'inv'], [CtState.SNAT, 'snat'], [CtState.DNAT, 'dnat']];
  const s = names.filter(([b]) => bits & b).map(([, n]) => `+${n}`).join('');
  return s || '-trk';
}
