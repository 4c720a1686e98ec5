// The socket owners host-mode replay tries a locally generated packet as: root and the ids the nat
// table's owner matches name, read from the rules themselves.
import { describe, expect, it } from 'vitest';
import { socketOwners, socketOwnersText } from '../../src/replay/socket-owners.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { loadIstioPreset } from '../../src/stack/presets/istio.js';

const nat = (...rules: string[]) => parseIptablesSave(`*nat\n:OUTPUT ACCEPT [0:0]\n:X - [0:0]\n${rules.join('\n')}\nCOMMIT\n`);

describe('socket owners for a packet whose socket a capture does not show', () => {
  it("Istio's preset names its proxy, 1337 (uid and gid): root and 1337 in both, each pair", () => {
    const owners = socketOwners(loadIstioPreset({ invalidDrop: false }), 'nat');
    expect(owners[0]).toEqual({ uid: 0, gid: 0 });
    expect(owners).toContainEqual({ uid: 1337, gid: 0 });
    expect(socketOwnersText(owners)).toMatch(/^uid 0, 1337/);
  });

  it('ids from every chain, inverted matches too, each once; none named: root only', () => {
    const rules = nat('-A OUTPUT -m owner --uid-owner 1000 -j X', '-A X -m owner ! --uid-owner 1000 -j RETURN', '-A X -p tcp -m owner --gid-owner 5 -j REDIRECT --to-ports 15001');
    expect(rules.hiddenMatches('nat')).toEqual({ uids: [1000], gids: [5], markOrRandom: false });
    expect(socketOwners(rules, 'nat')).toEqual([{ uid: 0, gid: 0 }, { uid: 0, gid: 5 }, { uid: 1000, gid: 0 }, { uid: 1000, gid: 5 }]);
    expect(socketOwnersText(socketOwners(rules, 'nat'))).toBe('uid 0, 1000; gid 0, 5');
    expect(socketOwners(nat('-A OUTPUT -p tcp -j REDIRECT --to-ports 15001'), 'nat')).toEqual([{ uid: 0, gid: 0 }]);
    // A table the rules do not have names no owner.
    expect(nat().hiddenMatches('raw')).toEqual({ uids: [], gids: [], markOrRandom: false });
    // A mark match or a random one: what the capture does not show decides.
    expect(nat('-A OUTPUT -m mark --mark 0x539 -j RETURN').hiddenMatches('nat').markOrRandom).toBe(true);
    expect(nat('-A OUTPUT -m statistic --mode random --probability 0.5 -j RETURN').hiddenMatches('nat').markOrRandom).toBe(true);
  });
});
