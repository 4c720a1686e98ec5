// Every upstream change between v4.19 and v7.x that alters a TCP conntrack verdict, state or
// timeout, listed once: commit title, mainline release, the stable point releases that carry a
// backport, and the behaviour switch it turns on. Sources: the kernel trees and stable review
// mails read for ctsim (stable "X.Y.Z-rc1 review" cover letters, git blob chains of
// net/netfilter/nf_conntrack_proto_tcp.c); `evidence` says how sure each entry is.
import type { TcpBehaviour } from './tcp-behaviour.js';
import type { LogWording } from './reasons.js';

export interface KernelChange {
  /** Short id used in docs and tests. */
  id: string;
  /** Abbreviated mainline commit. */
  commit: string;
  title: string;
  /** First mainline release (major.minor). */
  mainline: string;
  /** Stable series -> first point release carrying the backport. */
  stable: Record<string, number>;
  /** Behaviour switches this change turns on. */
  sets: Array<keyof TcpBehaviour>;
  effect: string;
  evidence: string;
}

export const KERNEL_CHANGES: readonly KernelChange[] = [
  {
    id: 'pickup-timeout-cap', commit: '(pre-4.19)', title: 'conntrack: avoid large timeout for mid-stream pickup', mainline: '4.19', stable: {},
    sets: ['pickupTimeoutCap', 'zeroWindowRetransTimeout'],
    effect: 'An ESTABLISHED entry picked up without any reply gets at most the unacknowledged timeout; a zero last window selects the max_retrans timeout.',
    evidence: 'present in 4.19.271, 5.4.124 and newest sources; treated as present in every modelled release',
  },
  {
    id: 'rst-exact', commit: 'be0502a3f2e9', title: 'netfilter: conntrack: tcp: only close if RST matches exact sequence', mainline: '5.3', stable: { '4.19': 238 },
    sets: ['rstExactToClose'],
    effect: 'An in-window RST whose seq is not the peer\'s max ACK keeps the state (ESTABLISHED stays) so an RFC 5961 challenge ACK can pass; it still gets the 10 s CLOSE timeout.',
    evidence: 'in 5.4.124 source; in 4.19.y by 4.19.238 (context of a later backport); the first 4.19 point release is not determined, 238 is the earliest proven',
  },
  {
    id: 'keepalive-reply', commit: '4f25434bccc2', title: 'netfilter: conntrack: connection timeout after re-register', mainline: '5.10', stable: { '4.19': 153, '5.4': 73, '5.9': 2 },
    sets: ['keepaliveReplyBump'],
    effect: 'When conntrack learns a side from a keepalive probe (seq = snd_nxt - 1), the reply acking snd_nxt (sack == receiver td_end + 1) bumps td_end so check III passes; the entry then learns td_maxack, so a later RST below it is "invalid rst". The kernel\'s case is an entry whose windows were reset by a hook re-register (nf_ct_tcp_fixup, not modelled); in ctsim it shows on picked-up connections.',
    evidence: 'commit id, author date 7 Oct 2020 and title from the patch mail (netdev, Fixes: f94e63801ab2) and blame of nf_conntrack_proto_tcp.c; mainline 5.10 (netfilter pull of 22 Oct 2020, [PATCH 2/7]); stable review mails of 27 Oct 2020: [PATCH 4.19 189/264] in 4.19.153-rc1, [PATCH 5.4 292/408] in 5.4.73-rc1, [PATCH 5.9 575/757] in 5.9.2-rc1; absent from the 5.4.33 source, present in 5.4.124, 5.10.89 and 5.10.198; forced by kernel-diff against a real 5.4.124 (UML): a reply RST/ACK acking SYN + 1 after an ignored ACK, and a reply FIN acking the picked-up FIN, were window-checked with the bump',
  },
  {
    id: 'ignore-invalid-rst', commit: '1da4cd82dd18', title: 'netfilter: conntrack: add new sysctl to disable RST check', mainline: '5.14', stable: {},
    sets: ['ignoreInvalidRstSysctl'],
    effect: 'Adds net.netfilter.nf_conntrack_tcp_ignore_invalid_rst (default 0); when 1 an RST with seq below the peer\'s max ACK is not "invalid rst".',
    evidence: 'verified: 5.14-rc2 net pull; no stable backport (absent from 4.19 <= .271 by blob chain)',
  },
  {
    id: 'rst-tuple-reuse', commit: 'c4edc3ccbc63', title: 'netfilter: conntrack: improve RST handling when tuple is re-used', mainline: '5.14', stable: {},
    sets: ['rstReuseChecks', 'rstClosingNoChecks'],
    effect: 'RST in FIN_WAIT/CLOSE_WAIT/LAST_ACK/TIME_WAIT/CLOSE skips every check; the max-ACK test is skipped after a SYN; seq 0 on a not-established entry goes to the window check.',
    evidence: 'verified: patch mail 20 May 2021 with all hunks; no stable copy; absent from 4.19 <= .271 and 5.10 <= .165 by blob chain, and from the 5.10.89 and 5.10.198 sources (the RST branch of nf_conntrack_tcp_packet is unchanged between them)',
  },
  {
    id: 'syn-sent-no-renew', commit: 'e15d4cdf27cb', title: 'netfilter: conntrack: do not renew entry stuck in tcp SYN_SENT state', mainline: '5.14', stable: { '4.19': 272, '5.4': 231, '5.10': 166 },
    sets: ['synRetransNoRenew'],
    effect: 'A retransmitted SYN on an unreplied SYN_SENT entry no longer refreshes its timeout.',
    evidence: 'verified: stable review mails and rc1 covers 4.19.272, 5.4.231, 5.10.166; absent from the 5.10.89 source, present in 5.10.198 (the SYN_SENT early return in nf_conntrack_tcp_packet)',
  },
  {
    id: 'preserve-liberal', commit: 'f2dd495a8d58', title: 'netfilter: nf_conntrack_tcp: preserve liberal flag in tcp options', mainline: '5.18', stable: { '4.19': 238, '5.10': 110, '5.15': 67, '5.16': 19, '5.17': 2 },
    sets: ['preserveLiberalFlag'],
    effect: 'Re-parsing options no longer clears BE_LIBERAL; a resync keeps it.',
    evidence: 'backport mails for 4.19/5.10/5.16/5.17 (points inferred from dates); 5.15 proven present by 5.15.67 (blob), earlier point not determined; 5.4.y not determined and modelled absent; absent from the 5.10.89 source (tcp_options zeroes flags), present in 5.10.198 (flags &= IP_CT_TCP_FLAG_BE_LIBERAL, nf_ct_tcp_state_reset); 5.15.y: absent from the 5.15.24 source and present in the 5.15.85 source, and real 5.15.24 and 5.15.85 (UML) each agree with their profile on 9,000 cases while the other profile disagrees (3 of 500 and 41 of 3,000 mixed cases, together with overshoot)',
  },
  {
    id: 'repeat-not-invalid', commit: '830af2eba403', title: 'netfilter: conntrack: don\'t increment invalid counter on NF_REPEAT', mainline: '5.17', stable: { '4.19': 227, '5.4': 176, '5.10': 96, '5.15': 19, '5.16': 5 },
    sets: ['repeatNotCountedInvalid'],
    effect: 'A SYN that re-opens a TIME_WAIT/CLOSE entry (-NF_REPEAT) no longer increments the invalid counter of conntrack -S; the verdict and the new entry are unchanged.',
    evidence: 'net pull of Jan 2022 (830af2eba403, v5.17-rc2); in the 5.4.176-rc1 and 5.10.96-rc1 review covers of 31 Jan 2022 (verified); 4.19.227, 5.15.19 and 5.16.5 are the same-day review cycle (backport hashes seen in their shortlogs, point numbers not re-checked); nf_conntrack_in of the 5.4.124 and 5.10.89 sources counts before the -NF_REPEAT test, 5.10.198 after it; forced by the port-collision scenario on a real 5.4.124 (UML): 6 invalid where ctsim counted 5; the same scenario counts 6 on a real 5.10.89 and 5 on a real 5.10.198 (UML), as their profiles do',
  },
  {
    id: 'synack-reinit', commit: '82b72cb94666', title: 'netfilter: conntrack: re-init state for retransmitted syn-ack', mainline: '5.17', stable: {},
    sets: ['synackReinit'],
    effect: 'A SYN/ACK arriving while the entry is still SYN_SENT (an earlier one was out of window, e.g. it acked an old ISN) re-initialises its sender like the first one (tcp_init_sender), whatever its sequence number.',
    evidence: 'verified in the 5.17 "Netfilter fixes" pull; the patch (netdev, 4 Feb 2022) adds a third branch (syn, REPLY, SYN_SENT) after the old re-init branch; never in an LTS series (Cardwell, netdev Aug/Sep 2022)',
  },
  {
    id: 'reinit-syn-only', commit: 'c7aab4f17021', title: 'netfilter: nf_conntrack_tcp: re-init for syn packets only', mainline: '5.18', stable: { '5.17': 6 },
    sets: ['reinitSynOnly', 'synackReinit'],
    effect: 'Only SYN/SYN-ACK packets re-initialise a sender in SYN_SENT/SYN_RECV. Before it, the RST answering a challenge ACK re-seeded the window whenever its seq was "after" the SYN\'s and passed; after it, such an RST fails check I (INVALID).',
    evidence: 'verified: 5.17.6 review mail and rc1 cover; not in 4.19/5.4/5.10/5.15 (5.15 source, blob chains, Cardwell mail)',
  },
  {
    id: 'overshoot', commit: 'cf97769c761a', title: 'netfilter: conntrack: work around exceeded receive window', mainline: '6.0', stable: { '5.15': 68 },
    sets: ['overWindowWorkaround'],
    effect: 'A segment failing only check I by at most the receiver\'s max window updates td_end ("N bytes more than expected"); still INVALID before 6.1, IGNORE from 6.1.',
    evidence: 'verified: 5.15.68 review mail; absent from 4.19 <= .271 and 5.10 <= .165 (blob chains) and from the 5.10.198 source; the boolean 5.15.y form is in the 5.15.85 source, and real 5.15.85 (UML) agrees with its profile on 9,000 cases where 5.15.24\'s profile (without it and preserve-liberal) disagrees on 41 of 3,000',
  },
  {
    id: 'ternary-window', commit: 'd9a6f0d0df18', title: 'netfilter: conntrack: prepare tcp_in_window for ternary return value (+ ignore overly delayed tcp packets, reduce timeout on out-of-window fin/rst)', mainline: '6.1', stable: {},
    sets: ['ternaryWindow'],
    effect: 'tcp_in_window returns ACCEPT/IGNORE/INVALID: checks II and IV become IGNORE (packet passes with the entry, nothing learnt); checks run I, III, II, IV; an out-of-window FIN/RST answering the peer\'s FIN/RST lowers the timeout to 300 s.',
    evidence: 'verified: net-next pull of 7 Sep 2022 (v6.1); not backported',
  },
  {
    id: 'challenge-ack-reuse', commit: 'c410cb974f2b', title: 'netfilter: conntrack: handle tcp challenge acks during connection reuse', mainline: '6.2', stable: { '6.1': 9 },
    sets: ['challengeAckReuse'],
    effect: 'In SYN_SENT the ack number of an ignored reply ACK (RFC 5961 challenge ACK) is recorded; an RST whose seq equals it is accepted without window check, so it reaches and resets the old socket.',
    evidence: 'verified: 6.1.9 review mail + rc1 cover; needs reinit-syn-only, so never in 5.15 or older',
  },
  {
    id: 'scale-reply-only', commit: 'fb366fc7541a', title: 'netfilter: conntrack: correct window scaling with retransmitted SYN', mainline: '6.8', stable: { '6.1': 77, '6.6': 16 },
    sets: ['scaleResetReplyOnly'],
    effect: 'The "both sides must send wscale" reset runs only for the REPLY direction, so a retransmitted ORIGINAL SYN no longer zeroes scaling.',
    evidence: 'verified: 6.1.77 and 6.6.16 review mails and covers; present in the 6.6.87 source (the wscale reset under `dir == IP_CT_DIR_REPLY` in tcp_in_window), and real 6.6.87 (UML) confirms it: after a retransmitted SYN with a new ISN, the server\'s FIN|ACK with the second 1,000 bytes moves the entry to FIN_WAIT, where the 6.6 profile (without it) ignores the packet and stays ESTABLISHED',
  },
  {
    id: 'rst-established-unack', commit: '(not determined)', title: 'netfilter: conntrack: tcp: an RST that keeps ESTABLISHED gets the UNACK timeout, not CLOSE\'s', mainline: '99.0', stable: { '6.12': 117 },
    sets: ['rstKeptEstablishedUnack'],
    effect: 'The timeout chain of nf_conntrack_tcp_packet tests `index == TCP_RST_SET && new_state == TCP_CONNTRACK_ESTABLISHED` (then min(ESTABLISHED, UNACK) = 300 s) where it tested `index == TCP_RST_SET` (CLOSE, 10 s): an inexact RST that keeps an ESTABLISHED entry no longer leaves it 10 s to live.',
    evidence: 'present in Debian\'s linux-source-6.12 6.12.117 (the timeout chain of nf_conntrack_tcp_packet) and forced by kernel-diff against it built as UML (45 of 10,000 mixed cases: ESTABLISHED [ASSURED] ~300 s where ctsim gave ~10 s); absent from real 6.1.176 (Debian user-mode-linux) and real 6.18.44 (this machine), where the same cases agreed with 10 s; the upstream commit and its mainline release are not determined (no mainline release is modelled with it; 6.12.117 is the only release proven to carry it)',
  },
  {
    id: 'rst-dir-check', commit: 'bed6e04be8e6', title: 'netfilter: conntrack: tcp: do not force CLOSE on invalid-seq RST without direction check', mainline: '7.1', stable: { '5.10': 259, '5.15': 210, '6.1': 176, '6.6': 143, '6.12': 117, '6.18': 44, '7.0': 12 },
    sets: ['rstLastDirCheck'],
    effect: 'The shortcut accepting an RST that answers a SYN we let through (ack == last_end) now also needs the SYN to have come from the other direction.',
    evidence: 'patch mail 22 May 2026 verified; stable points from 2026 review mails (per the shared reference, not re-checked); 6.18.44 carries it (observed with ctsim kernel-diff: an ORIGINAL RST with ack == last_end after an ignored SYN/ACK was window-checked; the first 6.18.y point release with it is not determined, so 6.18.0-6.18.43 are modelled without it); 6.12.y: present in Debian\'s linux-source-6.12 6.12.117 (the `last_dir != dir` test in the RST branch of nf_conntrack_tcp_packet) and confirmed by kernel-diff against it built as UML; its first 6.12.y point is not determined (6.12.117 is the earliest proven, 6.12.0-6.12.116 are modelled without it); 6.1.176 confirmed by kernel-diff against Debian\'s user-mode-linux 6.1.176; 6.6.y: absent from the 6.6.87 source (no `last_dir` test in that RST branch), and real 6.6.87 (UML) disagrees with the 6.6.143 profile (with it) on 11 of 3,000 mixed cases while agreeing in full with the 6.6.87 profile',
  },
];

/** Log wording by release: 5.14/5.15 already print the per-index "ignored" text. */
export function logWordingFor(major: number, minor: number): LogWording {
  if (major > 6 || (major === 6 && minor >= 1)) return 'v6';
  if (major > 5 || (major === 5 && minor >= 14)) return 'v5.15';
  return 'v5.4';
}
