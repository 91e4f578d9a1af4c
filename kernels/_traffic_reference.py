"""The link-queue movement loop in plain Python: the readable specification and the fallback.

:class:`ReferenceEngine` runs the events of a :class:`~kernels.traffic_state.LinkQueueState`
(the model is described in :mod:`kernels.traffic`, which picks this engine under
``TWIN_KERNELS=python`` or when the compiled one is missing). It mirrors ``Engine`` in
``kernels/_traffic_cy.pyx`` statement for statement, on purpose: the two read and write the
same arrays and must give identical results, which the equivalence tests check. Do not
factor it differently from the compiled loop.

Heap items are numbered: link exits ``[0, m)``, departure queues ``[m, m+n)``, link
entrances ``[m+n, 2m+n)`` (a timer that wakes the traffic waiting to enter a link when its
entrance or its freed space allows), link windows ``[2m+n, 3m+n)`` (a timer that lets the
vehicles behind a blocked head take other exits) and emergency vehicles ``[3m+n, …)``.
"""

from __future__ import annotations

import math

import numpy as np

from kernels.junctions import gap_capacity, green_after, green_from
from kernels.traffic_state import (
    ARRIVED,
    BLOCKED,
    C_ARRIVED,
    C_BYPASSED,
    C_DEPARTED,
    C_FILTERED,
    C_FORCED,
    C_HEAP_SIZE,
    C_ON_NETWORK,
    C_ORDER,
    C_RELEASED,
    C_SEQ,
    C_TK_FREE,
    C_TK_NFREE,
    C_TRAVERSALS,
    C_UNROUTABLE,
    C_WAITING,
    CTRL_MAJOR,
    CTRL_MINOR,
    CTRL_SIGNAL,
    IDLE,
    IN_HEAP,
    NEED_TOKENS,
    ON_NETWORK,
    STRANDED,
    T_EMERGENCY_CONGESTION,
    T_FILTER_GAIN,
    T_FLOW_WINDOW,
    T_LAST_MOVE,
    T_NOW,
    T_RELIEF,
    UNROUTABLE,
    WAITING,
    LinkQueueState,
)

#: Most vehicles behind a queue's head that a filtering vehicle is looked for among.
FILTER_DEPTH = 64

__all__ = ["ReferenceEngine"]


class ReferenceEngine:
    """The movement loop in plain Python, statement for statement as the compiled one."""

    def __init__(self, s: LinkQueueState) -> None:
        self.s = s
        self.m, self.n = s.n_links, s.n_nodes
        self.rcv = self.m + self.n  # first link-entrance timer
        self.win = 2 * self.m + self.n  # first link-window timer
        self.veh = 3 * self.m + self.n  # first emergency vehicle item

    # -- heap of (time, seq) keyed items ------------------------------------------------
    def push(self, item: int, key: float) -> None:
        """Insert ``item`` with ``key`` into the 4-ary heap ordered by (time, seq)."""
        s = self.s
        c = s.counts
        i = int(c[C_HEAP_SIZE])
        c[C_HEAP_SIZE] += 1
        seq = int(c[C_SEQ])
        c[C_SEQ] += 1
        ht, hs, hi = s.heap_time, s.heap_seq, s.heap_item
        while i > 0:
            p = (i - 1) >> 2
            if ht[p] < key or (ht[p] == key and hs[p] < seq):
                break
            ht[i], hs[i], hi[i] = ht[p], hs[p], hi[p]
            i = p
        ht[i], hs[i], hi[i] = key, seq, item
        s.item_state[item] = IN_HEAP

    def pop(self) -> tuple[float, int]:
        s = self.s
        c = s.counts
        ht, hs, hi = s.heap_time, s.heap_seq, s.heap_item
        key, item = float(ht[0]), int(hi[0])
        size = int(c[C_HEAP_SIZE]) - 1
        c[C_HEAP_SIZE] = size
        if size > 0:
            lt, ls, li = ht[size], hs[size], hi[size]
            i = 0
            while True:
                child = 4 * i + 1
                if child >= size:
                    break
                best = child
                last = min(child + 4, size)
                for r in range(child + 1, last):
                    if ht[r] < ht[best] or (ht[r] == ht[best] and hs[r] < hs[best]):
                        best = r
                if ht[best] < lt or (ht[best] == lt and hs[best] < ls):
                    ht[i], hs[i], hi[i] = ht[best], hs[best], hi[best]
                    i = best
                else:
                    break
            ht[i], hs[i], hi[i] = lt, ls, li
        s.item_state[item] = IDLE
        return key, item

    # -- junction control of a link's exit -------------------------------------------------
    def green(self, e: int, t: float) -> float:
        """The earliest time at or after ``t`` when link ``e``'s exit may serve."""
        s = self.s
        if s.ctrl[e] != CTRL_SIGNAL:
            return t
        return green_from(t, s.sig_cycle[e], s.sig_start[e], s.sig_green[e])

    def node_flow(self, h: int, t: float) -> float:
        """The smoothed conflicting flow at node ``h`` at ``t``, PCU/s."""
        s = self.s
        return s.node_q[h] * math.exp(-(t - s.node_t[h]) / s.clock[T_FLOW_WINDOW])

    def service_end(self, e: int, t: float, pcu: float) -> float:
        """When link ``e``'s exit is free again after serving ``pcu`` at ``t``."""
        s = self.s
        ctrl = s.ctrl[e]
        if ctrl == CTRL_SIGNAL:
            duration = pcu * s.sat_headway[e]
            return green_after(t, duration, s.sig_cycle[e], s.sig_start[e], s.sig_green[e])
        h = s.headway[e]
        node = s.head[e]
        if ctrl == CTRL_MINOR:
            gap = 1.0 / gap_capacity(self.node_flow(node, t), s.gap_tc[e], s.gap_tf[e])
            if gap > h:
                h = gap
        elif ctrl == CTRL_MAJOR:
            s.node_q[node] = self.node_flow(node, t) + pcu / s.clock[T_FLOW_WINDOW]
            s.node_t[node] = t
        return t + pcu * h

    def push_link(self, e: int, t: float) -> None:
        s = self.s
        v = s.q_head[e]
        key = max(s.v_ready[v], t)
        if s.heads[e] != s.v_dest[v]:  # arrivals leave without the exit server
            key = self.green(e, max(key, s.next_free[e]))
        self.push(e, key)

    def push_source(self, o: int, t: float) -> None:
        s = self.s
        v = s.s_head[o]
        self.push(self.m + o, max(s.v_depart[v], t))

    def push_item(self, item: int, t: float) -> None:
        if item < self.m:
            self.push_link(item, t)
        else:
            self.push_source(item - self.m, t)

    # -- waiting lists -------------------------------------------------------------------
    def block(self, f: int, item: int) -> None:
        s = self.s
        s.w_next[item] = -1
        if s.w_tail[f] < 0:
            s.w_head[f] = item
        else:
            s.w_next[s.w_tail[f]] = item
        s.w_tail[f] = item
        s.item_state[item] = BLOCKED
        s.wait_on[item] = f
        if s.tag[item] < s.vtime[f]:
            s.tag[item] = s.vtime[f]

    def wake(self, e: int, t: float) -> None:
        """Wake the traffic waiting for link ``e``, lowest fair-queueing tag first."""
        s = self.s
        while s.w_head[e] >= 0:
            best = int(s.w_head[e])
            best_prev = -1
            prev = best
            item = int(s.w_next[best])
            while item >= 0:
                if s.tag[item] < s.tag[best]:
                    best = item
                    best_prev = prev
                prev = item
                item = int(s.w_next[item])
            if best_prev < 0:
                s.w_head[e] = s.w_next[best]
            else:
                s.w_next[best_prev] = s.w_next[best]
            if s.w_tail[e] == best:
                s.w_tail[e] = best_prev
            s.w_next[best] = -1
            s.item_state[best] = IDLE
            self.push_item(best, t)

    def wake_all(self, t: float) -> None:
        for e in range(self.m):
            if self.s.w_head[e] >= 0:
                self.wake(e, t)

    def wake_links(self, links: np.ndarray, t: float) -> None:
        """After ``links`` changed (their timers taken out of the heap): wake the traffic
        waiting for them and schedule their exits and windows again."""
        s = self.s
        for e in links.tolist():
            if s.w_head[e] >= 0:
                self.wake(e, t)
            if s.q_head[e] >= 0 and s.item_state[e] == IDLE:
                self.push_link(e, t)
            window = self.win + e
            if s.lookahead[e] > 0 and s.item_state[e] == BLOCKED and s.item_state[window] == IDLE:
                self.push(window, t)

    def arm_entrance(self, f: int, t: float) -> None:
        """Schedule link ``f``'s entrance timer for when waiting traffic may enter."""
        s = self.s
        if s.item_state[self.rcv + f] != IDLE or s.w_head[f] < 0:
            return
        if s.tk_first[f] <= t:
            self.expire_tokens(f, t)
        when = -1.0
        if s.entry_free[f] > t:
            when = s.entry_free[f]
        elif s.tk_head[f] >= 0:
            when = s.tk_first[f]
        if when > t:
            self.push(self.rcv + f, when)

    # -- freed space travelling upstream (kinematic waves) -----------------------------------
    def add_token(self, e: int, now: float, t: float, pcu: float) -> None:
        """Space of ``pcu`` freed at link ``e``'s exit at ``now`` reaches its entrance at
        ``t``; tokens already there are retired first."""
        s = self.s
        if s.tk_first[e] <= now:
            self.expire_tokens(e, now)
        k = int(s.counts[C_TK_FREE])
        s.counts[C_TK_FREE] = s.tk_next[k]
        s.counts[C_TK_NFREE] -= 1
        s.tk_time[k] = t
        s.tk_pcu[k] = pcu
        s.tk_next[k] = -1
        if s.tk_tail[e] < 0:
            s.tk_head[e] = k
            s.tk_first[e] = t
        else:
            s.tk_next[s.tk_tail[e]] = k
        s.tk_tail[e] = k
        s.tok_pcu[e] += pcu

    def expire_tokens(self, f: int, t: float) -> None:
        s = self.s
        k = int(s.tk_head[f])
        while k >= 0 and s.tk_time[k] <= t:
            s.tok_pcu[f] -= s.tk_pcu[k]
            nxt = int(s.tk_next[k])
            s.tk_next[k] = s.counts[C_TK_FREE]
            s.counts[C_TK_FREE] = k
            s.counts[C_TK_NFREE] += 1
            k = nxt
        s.tk_head[f] = k
        if k < 0:
            s.tk_tail[f] = -1
            s.tk_first[f] = math.inf
            s.tok_pcu[f] = 0.0  # no drift from adding and removing fractional PCU
        else:
            s.tk_first[f] = s.tk_time[k]

    # -- link bookkeeping ----------------------------------------------------------------
    def occ_change(self, e: int, t: float, delta: float) -> None:
        s = self.s
        s.occ_int[e] += s.occ[e] * (t - s.occ_last[e])
        s.occ_last[e] = t
        s.occ[e] += delta

    def charge_for(self, v: int, f: int) -> float:
        """PCU that vehicle ``v`` takes on link ``f`` (filtering classes take less beside
        larger vehicles)."""
        s = self.s
        cls = s.v_class[v]
        pcu = s.class_pcu[cls]
        if s.class_filters[cls] and s.occ[f] > 0.0:
            pcu = pcu * (1.0 - s.clock[T_FILTER_GAIN] * (s.occ_large[f] / s.occ[f]))
        return pcu

    def has_space(self, f: int, pcu: float, t: float) -> bool:
        s = self.s
        if s.occ[f] + s.tok_pcu[f] + pcu <= s.storage[f] + 1e-9:
            return True  # room even before the tokens due by now are retired
        if s.tk_first[f] <= t:
            self.expire_tokens(f, t)
        if s.q_head[f] < 0 and s.tk_head[f] < 0:
            return True
        return s.occ[f] + s.tok_pcu[f] + pcu <= s.storage[f] + 1e-9

    def behind_others(self, f: int, item: int) -> bool:
        """Whether traffic already waiting for link ``f`` goes before ``item`` (a lower or
        equal fair-queueing tag)."""
        s = self.s
        tag = max(s.tag[item], s.vtime[f])
        k = int(s.w_head[f])
        while k >= 0:
            if s.tag[k] <= tag:
                return True
            k = int(s.w_next[k])
        return False

    def can_enter(self, f: int, item: int, pcu: float, t: float) -> bool:
        """Whether ``pcu`` sent by ``item`` may enter link ``f`` at ``t`` (its turn, the
        entrance free and room)."""
        s = self.s
        if s.w_head[f] >= 0 and self.behind_others(f, item):
            return False
        return s.entry_free[f] <= t and self.has_space(f, pcu, t)

    def enter(self, v: int, f: int, t: float, pcu: float, item: int) -> None:
        """Vehicle ``v`` enters link ``f`` at ``t`` taking ``pcu``, sent by ``item``."""
        s = self.s
        cls = s.v_class[v]
        s.v_link[v] = f
        s.v_enter[v] = t
        s.st_entries[f] += 1
        if cls == s.emergency_class:
            ratio = min(1.0, s.occ[f] / s.storage[f])
            factor = 1.0 + s.clock[T_EMERGENCY_CONGESTION] * ratio
            s.v_ready[v] = t + s.free_flow[cls, f] * factor
            s.v_charge[v] = 0.0
            self.push(self.veh + v, s.v_ready[v])
            return
        s.v_ready[v] = t + s.free_flow[cls, f]
        s.v_charge[v] = pcu
        s.v_next[v] = -1
        if s.q_tail[f] < 0:
            s.q_head[f] = v
        else:
            s.v_next[s.q_tail[f]] = v
        s.q_tail[f] = v
        self.occ_change(f, t, pcu)
        if s.class_filters[cls]:
            s.n_filter[f] += 1
        else:
            s.occ_large[f] += pcu
        if s.in_headway[f] > 0.0:
            s.entry_free[f] = t + pcu * s.in_headway[f]
        s.vtime[f] = s.tag[item]
        if item < self.m:
            s.tag[item] += pcu * s.headway[item]
        else:
            s.tag[item] += pcu * s.headway[f]
        if s.q_head[f] == v and s.item_state[f] == IDLE:
            self.push_link(f, t)

    def leave(self, v: int, e: int, t: float, serve: bool, prev: int) -> None:
        """Vehicle ``v`` (behind ``prev`` in the queue, ``-1`` at the head) leaves link
        ``e`` at ``t``: statistics; queue, occupancy, freed space, exit server."""
        s = self.s
        cls = s.v_class[v]
        s.st_exits[e] += 1
        s.st_len[e] += s.length[e]
        s.st_time[e] += t - s.v_enter[v]
        s.cum_len[e] += s.length[e]
        s.v_dist[v] += s.length[e]
        s.v_fftime[v] += s.free_flow[cls, e]
        s.counts[C_TRAVERSALS] += 1
        s.clock[T_LAST_MOVE] = t
        if cls == s.emergency_class:
            return
        if prev < 0:
            s.q_head[e] = s.v_next[v]
            if s.q_head[e] < 0:
                s.q_tail[e] = -1
            s.passed[e] = 0
        else:
            s.v_next[prev] = s.v_next[v]
            if s.q_tail[e] == v:
                s.q_tail[e] = prev
        s.v_next[v] = -1
        pcu = s.v_charge[v]
        self.occ_change(e, t, -pcu)
        if s.class_filters[cls]:
            s.n_filter[e] -= 1
        else:
            s.occ_large[e] -= pcu
        if s.q_head[e] < 0:
            s.occ[e] = 0.0  # no drift from adding and removing fractional PCU
            s.occ_large[e] = 0.0
        if s.wave[e] > 0.0:
            self.add_token(e, t, t + s.wave[e], pcu)
        if serve:
            s.next_free[e] = self.service_end(e, t, pcu)

    def finish(self, v: int, t: float, state: int) -> None:
        s = self.s
        s.v_state[v] = state
        s.v_link[v] = -1
        s.counts[C_ON_NETWORK] -= 1
        if state == ARRIVED:
            s.v_arrive[v] = t
            s.counts[C_ARRIVED] += 1
        else:
            s.counts[C_UNROUTABLE] += 1
        s.row_active[s.v_row[v]] -= 1

    def must_wait(self, f: int, item: int, pcu: float, t: float) -> bool:
        """Whether the head of ``item`` must wait to enter ``f`` (its turn, gridlock
        relief)."""
        s = self.s
        if s.w_head[f] >= 0 and self.behind_others(f, item):
            return True
        space = self.has_space(f, pcu, t)
        if s.entry_free[f] > t:
            return True
        if space:
            return False
        if s.block_t[item] < 0:
            s.block_t[item] = t
            return True
        if t - s.block_t[item] >= s.clock[T_RELIEF]:
            s.counts[C_FORCED] += 1
            return False
        return True

    def space_freed(self, e: int, t: float) -> None:
        """A vehicle left link ``e``: tell the traffic waiting for it."""
        s = self.s
        if s.w_head[e] >= 0:
            if s.wave[e] > 0.0:
                self.arm_entrance(e, t)
            else:
                self.wake(e, t)

    def after_exit(self, e: int, t: float) -> None:
        s = self.s
        s.block_t[e] = -1.0
        self.space_freed(e, t)
        if s.q_head[e] >= 0 and s.item_state[e] == IDLE:
            self.push_link(e, t)

    def route_row(self, v: int) -> int:
        """Row of vehicle ``v``'s routes: its destination row in its class's group."""
        s = self.s
        return int(s.class_group[s.v_class[v]] * s.row_stride + s.v_row[v])

    def hop(self, v: int, node: int) -> int:
        """Next link of vehicle ``v`` at ``node``: every other vehicle follows the
        alternate tree when there is one (emergency vehicles never)."""
        s = self.s
        if len(s.alt_edge) and v & 1 and s.v_class[v] != s.emergency_class:
            return int(s.alt_edge[self.route_row(v), node])
        return int(s.next_edge[self.route_row(v), node])

    # -- vehicles behind the head ---------------------------------------------------------
    def move_behind(self, e: int, v: int, prev: int, t: float, server: bool) -> bool:
        """Let vehicle ``v`` (behind ``prev``) leave link ``e`` at ``t`` if it can; only
        arrivals when the exit server is busy (``server`` false)."""
        s = self.s
        h = s.heads[e]
        if h == s.v_dest[v]:
            self.leave(v, e, t, False, prev)
            self.finish(v, t, ARRIVED)
            self.space_freed(e, t)
            return True
        if not server:
            return False
        f = self.hop(v, h)
        if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
            self.leave(v, e, t, True, prev)
            self.finish(v, t, STRANDED)
            self.space_freed(e, t)
            return True
        pcu = self.charge_for(v, f)
        if not self.can_enter(f, e, pcu, t):
            return False
        self.leave(v, e, t, True, prev)
        self.enter(v, f, t, pcu, e)
        self.space_freed(e, t)
        return True

    def filter_past(self, e: int, t: float) -> bool:
        """The first filtering vehicle queued behind the (non-filtering) head, among the
        next :data:`FILTER_DEPTH` that have reached the end of the link, passes it and
        leaves; whether one did."""
        s = self.s
        prev = int(s.q_head[e])
        v = int(s.v_next[prev])
        k = 0
        while v >= 0 and k < FILTER_DEPTH:
            if s.v_ready[v] > t:
                return False
            if s.class_filters[s.v_class[v]] and self.move_behind(e, v, prev, t, True):
                s.passed[e] += 1
                s.counts[C_FILTERED] += 1
                if s.q_head[e] >= 0 and s.item_state[e] == IDLE:
                    self.push_link(e, t)
                return True
            prev = v
            v = int(s.v_next[v])
            k += 1
        return False

    def process_window(self, e: int, t: float) -> None:
        """Link ``e``'s window timer: while its head is blocked, the first vehicle among
        the next ``lookahead`` that can take another exit (or park) leaves."""
        s = self.s
        if s.item_state[e] != BLOCKED:
            return
        server_at = self.green(e, max(t, s.next_free[e]))
        server = server_at <= t
        h = s.heads[e]
        prev = int(s.q_head[e])
        blocked = self.hop(prev, h)
        v = int(s.v_next[prev])
        k = 0
        retry = math.inf
        while v >= 0 and k < s.lookahead[e]:
            if s.v_ready[v] > t:
                retry = s.v_ready[v]
                break
            arriving = h == s.v_dest[v]
            if (arriving or self.hop(v, h) != blocked) and self.move_behind(e, v, prev, t, server):
                s.counts[C_BYPASSED] += 1
                retry = t if arriving else self.green(e, max(t, s.next_free[e]))
                break
            if not arriving and not server and server_at < retry:
                retry = server_at
            prev = v
            v = int(s.v_next[v])
            k += 1
        if retry < math.inf and s.item_state[self.win + e] == IDLE:
            self.push(self.win + e, max(retry, t))

    # -- events ----------------------------------------------------------------------------
    def process_link(self, e: int, t: float) -> None:
        s = self.s
        v = int(s.q_head[e])
        h = s.heads[e]
        if h == s.v_dest[v]:
            self.leave(v, e, t, False, -1)
            self.finish(v, t, ARRIVED)
            self.after_exit(e, t)
            return
        f = self.hop(v, h)
        if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
            self.leave(v, e, t, True, -1)
            self.finish(v, t, STRANDED)
            self.after_exit(e, t)
            return
        if (
            s.lookahead[e] > 0
            and not s.class_filters[s.v_class[v]]
            and s.passed[e] < s.lookahead[e]
            and s.n_filter[e] > 0
            and self.filter_past(e, t)
        ):
            return
        pcu = self.charge_for(v, f)
        if self.must_wait(f, e, pcu, t):
            self.block(f, e)
            self.arm_entrance(f, t)
            if s.lookahead[e] > 0 and s.item_state[self.win + e] == IDLE:
                self.push(self.win + e, t)
            return
        self.leave(v, e, t, True, -1)
        self.enter(v, f, t, pcu, e)
        self.after_exit(e, t)

    def process_source(self, o: int, t: float) -> None:
        s = self.s
        v = int(s.s_head[o])
        f = self.hop(v, o)
        shut = f < 0 or bool((s.closed[f] >> s.v_class[v]) & 1)
        pcu = 0.0
        if not shut:
            pcu = self.charge_for(v, f)
            if self.must_wait(f, self.m + o, pcu, t):
                self.block(f, self.m + o)
                self.arm_entrance(f, t)
                return
        s.block_t[self.m + o] = -1.0
        s.s_head[o] = s.v_next[v]
        if s.s_head[o] < 0:
            s.s_tail[o] = -1
        s.v_next[v] = -1
        s.counts[C_WAITING] -= 1
        if shut:
            s.v_state[v] = UNROUTABLE
            s.counts[C_UNROUTABLE] += 1
            s.row_active[s.v_row[v]] -= 1
        else:
            s.v_state[v] = ON_NETWORK
            s.counts[C_ON_NETWORK] += 1
            s.clock[T_LAST_MOVE] = t
            self.enter(v, f, t, pcu, self.m + o)
        if s.s_head[o] >= 0:
            self.push_source(o, t)

    def process_entrance(self, f: int, t: float) -> None:
        s = self.s
        if s.tk_first[f] <= t:
            self.expire_tokens(f, t)
        if s.w_head[f] >= 0:
            self.wake(f, t)

    def process_emergency(self, v: int, t: float) -> None:
        s = self.s
        e = int(s.v_link[v])
        h = s.heads[e]
        self.leave(v, e, t, True, -1)
        if h == s.v_dest[v]:
            self.finish(v, t, ARRIVED)
            return
        f = self.hop(v, h)
        if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
            self.finish(v, t, STRANDED)
            return
        self.enter(v, f, t, 0.0, e)

    def release(self, v: int) -> None:
        s = self.s
        t = s.v_depart[v]
        o = int(s.v_origin[v])
        s.counts[C_DEPARTED] += 1
        s.row_active[s.v_row[v]] += 1
        if o == s.v_dest[v]:
            s.v_state[v] = ARRIVED
            s.v_arrive[v] = t
            s.counts[C_ARRIVED] += 1
            s.row_active[s.v_row[v]] -= 1
            return
        if s.v_class[v] == s.emergency_class:
            f = self.hop(v, o)
            if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
                s.v_state[v] = UNROUTABLE
                s.counts[C_UNROUTABLE] += 1
                s.row_active[s.v_row[v]] -= 1
                return
            s.v_state[v] = ON_NETWORK
            s.counts[C_ON_NETWORK] += 1
            self.enter(v, f, t, 0.0, self.m + o)
            return
        s.v_state[v] = WAITING
        s.counts[C_WAITING] += 1
        s.v_next[v] = -1
        if s.s_tail[o] < 0:
            s.s_head[o] = v
        else:
            s.v_next[s.s_tail[o]] = v
        s.s_tail[o] = v
        if s.item_state[self.m + o] == IDLE:
            self.push_source(o, t)

    def advance(self, t_end: float, inject: np.ndarray) -> int:
        """Run the events before ``t_end``; ``NEED_TOKENS`` when it stopped early because
        the token slots ran low (grow them and call again without ``inject``), else 0."""
        s = self.s
        c = s.counts
        for v in inject.tolist():
            self.release(v)
        while c[C_RELEASED] < c[C_ORDER]:
            v = int(s.order[c[C_RELEASED]])
            if s.v_depart[v] >= t_end:
                break
            c[C_RELEASED] += 1
            self.release(v)
        while c[C_HEAP_SIZE] > 0 and s.heap_time[0] < t_end:
            if c[C_TK_NFREE] < 2:
                return NEED_TOKENS
            t, item = self.pop()
            if item < self.m:
                self.process_link(item, t)
            elif item < self.rcv:
                self.process_source(item - self.m, t)
            elif item < self.win:
                self.process_entrance(item - self.rcv, t)
            elif item < self.veh:
                self.process_window(item - self.win, t)
            else:
                self.process_emergency(item - self.veh, t)
        s.clock[T_NOW] = t_end
        return 0

    def queued_pcu(self, now: float, out: np.ndarray) -> None:
        s = self.s
        for e in range(self.m):
            v = int(s.q_head[e])
            total = 0.0
            while v >= 0:
                if s.v_ready[v] <= now:
                    total += s.v_charge[v]
                v = int(s.v_next[v])
            out[e] = total
