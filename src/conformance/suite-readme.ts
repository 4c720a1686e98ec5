// The README that travels inside every exported suite: enough for an implementer who has never
// seen ctsim to feed the cases to their conntrack and write a verdict file.
import type { Manifest } from './suite-files.js';
import { CATEGORIES } from './categorise.js';

export function suiteReadme(m: Manifest): string {
  const origins = new Map<string, number>();
  for (const c of m.cases) origins.set(c.origin, (origins.get(c.origin) ?? 0) + 1);
  const nat = m.cases.filter((c) => c.nat).length;
  const profile = `Linux ${m.profile.kernel}${m.profile.sysctls.length ? ` with ${m.profile.sysctls.join(', ')}` : ''}`;
  return `# Conntrack conformance suite (${m.format})

Expected behaviour: **${profile}** (as modelled by ${m.generator}, which agrees packet for packet with
the real kernel on every case tried). ${m.cases.length} cases, ${m.packets} packets:
${[...origins].map(([o, n]) => `${n} ${o}`).join(', ')}; ${nat} of them are NAT cases.

## Files

| file | what |
|---|---|
| \`suite.json\` | the manifest: format, profile, NAT rule, every case in order (\`id\`, \`origin\`, \`nat\`, \`packets\`, \`sha256\` of its pcap, \`description\`) |
| \`cases/<id>.pcap\` | the case: classic pcap, link type 101 (raw IPv4, no link header), nanosecond timestamps |
| \`expected.jsonl\` | one JSON object per line: what ${profile} does with each packet of each case, in manifest order |
| \`verdict.schema.json\` | JSON Schema (draft-07) of one line; your file must validate against it |

## Running a case through your conntrack

1. Start from an **empty** table for every case (or give each case's addresses a table of their own:
   cases never share a connection).
2. Feed the packets **in file order**, each at its timestamp: the **time since the case's first
   packet** is the only clock. Gaps matter: cases jump across timeouts (a 60 s gap before a
   packet checks the CLOSE_WAIT timeout). Use a virtual or warpable clock; don't sleep.
3. Every packet arrives from outside, like a router's PREROUTING: verify TCP checksums; a packet
   that fails the IPv4 header checks (bad checksum, bad lengths) never reaches conntrack (verdict
   \`untracked\`). Client addresses are in 198.18.0.0/16, servers in 198.19.0.0/16; the direction
   of a packet follows from the entry it matches, not from the file.
4. Accept and commit (confirm) every packet conntrack accepts as new; never drop a packet that is
   not \`dropped\` by conntrack itself: an INVALID packet passes without an entry (as without an
   \`--ctstate INVALID -j DROP\` rule), so the next packets meet the same table Linux has.
5. **NAT cases** (\`"nat": true\`): ${m.nat.rule} to ${m.nat.redirectTo.addr}:${m.nat.redirectTo.port}
   (Istio's \`-j REDIRECT\` to its sidecar). The servers' packets in these cases already come from
   ${m.nat.redirectTo.addr}:${m.nat.redirectTo.port}, as the sidecar sends them; your conntrack should
   rewrite them back (source = the server the client asked for).

## Writing your verdicts

One line per packet of every case (the same \`case\` + \`n\` pairs as \`expected.jsonl\`, any order):

\`\`\`json
{"case":"seed-port-collision-rst-after","n":11,"verdict":"invalid","dir":null}
\`\`\`

| field | required | meaning |
|---|---|---|
| \`case\` | yes | the case id (file name without \`.pcap\`) |
| \`n\` | yes | packet number in the pcap, from 1 |
| \`verdict\` | yes | \`new\`, \`established\`, \`related\`, \`invalid\` (what \`--ctstate\` / OVS \`ct_state\` says), \`untracked\` (never tracked: not TCP, dropped by the IP layer first), \`dropped\` (conntrack itself dropped it: table full, insert clash) |
| \`dir\` | no | \`original\` or \`reply\`: the direction of the entry the packet was attached to (OVS: \`+rpl\`); \`null\` when none |
| \`state\` | no | the entry's state after the packet, in Linux's names (\`SYN_SENT\`, \`SYN_RECV\`, \`ESTABLISHED\`, \`FIN_WAIT\`, \`CLOSE_WAIT\`, \`LAST_ACK\`, \`TIME_WAIT\`, \`CLOSE\`, \`SYN_SENT2\`); leave it out if your states are not Linux's |
| \`timeout\` | no | whole seconds until the entry expires, right after the packet |
| \`nat\` | NAT cases | \`{"src","sport","dst","dport"}\` of the packet after NAT; \`null\` when no entry was attached |
| \`reason\`, \`detail\` | no | free text / object for people; never compared |

A field you leave out is not compared. Check your file with any JSON Schema validator
(\`verdict.schema.json\`), then with ctsim if you have it:

\`\`\`sh
npx ctsim conformance check --suite . --verdicts yours.jsonl
\`\`\`

It reports agreement per category (${CATEGORIES.join(', ')}, nat), each disagreement with the
Linux side's explanation (the window check and its numbers, the state-table cell, the RST branch),
minimised to the shortest case that shows it.

## Reading expected.jsonl

\`reason\` holds the kernel's own log words for INVALID and ignored packets (\`nf_ct_tcp: SEQ is over
upper bound ...\`). \`timeout\` is rounded down to whole seconds. Timestamps in the pcaps start at
2026-01-01T00:00:00Z (a fixed epoch: the files are byte-identical for the same suite).
`;
}
