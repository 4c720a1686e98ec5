// A capture does not show which socket sent a locally generated packet, yet `-m owner` rules in
// nat OUTPUT decide by it (Istio exempts its proxy, uid 1337, from REDIRECT). The owners worth
// trying are root and each uid and gid the table's owner matches name: any other owner matches
// exactly the rules root matches.
import type { RuleEvaluator, Table } from '../stack/rules.js';

export interface SocketOwner {
  uid: number;
  gid: number;
}

/** Root and every uid x gid the table's owner matches name (root's first). */
export function socketOwners(rules: RuleEvaluator, table: Table): SocketOwner[] {
  const ids = rules.hiddenMatches?.(table) ?? { uids: [], gids: [] };
  const uids = [0, ...ids.uids.filter((u) => u !== 0)];
  const gids = [0, ...ids.gids.filter((g) => g !== 0)];
  return uids.flatMap((uid) => gids.map((gid) => ({ uid, gid })));
}

/** "uid 0, 1337" (and "; gid 0, 5" when gids are named): for a message. */
export function socketOwnersText(owners: readonly SocketOwner[]): string {
  const uids = [...new Set(owners.map((o) => o.uid))];
  const gids = [...new Set(owners.map((o) => o.gid))];
  return `uid ${uids.join(', ')}${gids.length > 1 ? `; gid ${gids.join(', ')}` : ''}`;
}
