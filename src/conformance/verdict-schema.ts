// The JSON Schema (draft-07) of one verdict line: the normative definition an implementer writes
// against. The suite carries it as verdict.schema.json; `ctsim conformance check` validates every
// line of an implementation's file with it before comparing anything.
import { VERDICTS } from './verdict-line.js';

const nullableString = { type: ['string', 'null'] } as const;
const IPV4 = { type: 'string', pattern: '^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$' } as const;

export const VERDICT_LINE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://ctsim.invalid/conformance/verdict-line-1.schema.json',
  title: 'ctsim conformance verdict line (ctsim-conformance/1)',
  description: 'What one conntrack implementation did with one packet of one conformance case. One JSON object per line (JSON Lines).',
  type: 'object',
  required: ['case', 'n', 'verdict'],
  additionalProperties: false,
  properties: {
    case: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9._-]+$', description: 'case id: its pcap is cases/<case>.pcap' },
    n: { type: 'integer', minimum: 1, description: 'packet number in the case pcap, from 1' },
    verdict: { enum: [...VERDICTS], description: 'new | established | related | invalid (ct_state / --ctstate), untracked (never tracked), dropped (conntrack dropped it)' },
    dir: { enum: ['original', 'reply', null], description: 'direction of the entry the packet was attached to; null: none' },
    state: { ...nullableString, description: "entry state after the packet, in Linux's names (SYN_SENT, ESTABLISHED, ...); null: no entry" },
    timeout: { type: ['integer', 'null'], minimum: 0, description: 'seconds until the entry expires, right after the packet; null: no entry' },
    nat: {
      description: 'NAT cases only: the packet as it leaves NAT (null: not rewritten because no entry)',
      oneOf: [
        { type: 'null' },
        {
          type: 'object', required: ['src', 'sport', 'dst', 'dport'], additionalProperties: false,
          properties: {
            src: IPV4, dst: IPV4,
            sport: { type: 'integer', minimum: 0, maximum: 65535 }, dport: { type: 'integer', minimum: 0, maximum: 65535 },
          },
        },
      ],
    },
    reason: { type: 'string', description: 'free text, never compared' },
    detail: { type: 'object', description: 'implementation-specific facts, never compared' },
  },
} as const;
