// The RFC 5961 §7 challenge-ACK budget every socket of a netns shares (tcp_send_challenge_ack:
// net.ipv4.tcp_challenge_ack_limit per second, host-wide before v6.0, per netns after; INT_MAX
// means no limit). Time comes in as a number, so the budget knows no clock.
import { SEC } from '../scheduler.js';

export class ChallengeAckBudget {
  private windowStart = -1;
  private count = 0;

  constructor(private readonly limit: number) {}

  /** Spends one challenge ACK at `now` (ns); false when this second's budget is used up. */
  take(now: number): boolean {
    if (this.limit >= 0x7fffffff) return true;
    if (this.windowStart < 0 || now - this.windowStart >= SEC) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.limit;
  }
}
