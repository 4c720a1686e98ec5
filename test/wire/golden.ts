// Golden packets, computed independently of ctsim (Python struct + RFC 1071 sum) so the tests
// do not check the code against itself.
import { fromHex } from '../../src/wire/index.js';

/** 198.18.0.1:44410 -> 198.18.0.2:7777 SYN, seq 0x12345678, Linux option order MSS,SACK_PERM,TS,NOP,WS. */
export const SYN_HEX =
  '4500003c1c4640004006924ec6120001c6120002' +
  'ad7a1e611234567800000000a002faf0b5b30000020405b40402080a0badcafe0000000001030307';
export const SYN = fromHex(SYN_HEX);

/** 198.18.0.2:7777 -> 198.18.0.1:44410, flags AE|CWR|ECE|ACK|PSH, ECN CE... dscp 0 ecn 2, payload "hello", seq near wrap. */
export const DATA_HEX =
  '4502002d000040004006aea1c6120002c6120001' + '1e61ad7afffffffe1234567951d801f6a78f0000' + '68656c6c6f';
export const DATA = fromHex(DATA_HEX);
