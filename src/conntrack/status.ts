// Conntrack status bits (enum ip_conntrack_status, include/uapi/linux/netfilter/nf_conntrack_common.h).
export const Status = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SEQ_ADJUST: 1 << 6,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
  FIXED_TIMEOUT: 1 << 10,
} as const;

const NAMES: Array<[number, string]> = Object.entries(Status).map(([k, v]) => [v, k]);

/** ["SEEN_REPLY","ASSURED",...] in bit order. */
export function statusNames(status: number): string[] {
  return NAMES.filter(([bit]) => status & bit).map(([, n]) => n);
}

/** The bits a user sees (conntrack -L shows SEEN_REPLY as the absence of [UNREPLIED], ASSURED as [ASSURED]). */
const VISIBLE = Status.EXPECTED | Status.SEEN_REPLY | Status.ASSURED | Status.SRC_NAT | Status.DST_NAT | Status.DYING | Status.FIXED_TIMEOUT;

export function visibleStatusNames(status: number): string[] {
  return statusNames(status & VISIBLE);
}
