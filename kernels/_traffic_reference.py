"""The link-queue movement loop in plain Python: the readable specification and the fallback.

:class:`ReferenceEngine` runs the events of a :class:`~kernels.traffic_state.LinkQueueState`
(the model is described in :mod:`kernels.traffic`, which picks this engine under
``TWIN_KERNELS=python`` or when the compiled one is missing). It mirrors ``Engine`` in
``kernels/_traffic_cy.pyx`` statement for statement, on purpose: the two read and write the
same arrays and must give identical results, which the equivalence tests check. Do not
factor it differently from the compiled loop.
"""

from __future__ import annotations

import numpy as np

from kernels.traffic_state import (
    ARRIVED,
    BLOCKED,
    C_ARRIVED,
    C_DEPARTED,
    C_FORCED,
    C_HEAP_SIZE,
    C_ON_NETWORK,
    C_ORDER,
    C_RELEASED,
    C_SEQ,
    C_TRAVERSALS,
    C_UNROUTABLE,
    C_WAITING,
    IDLE,
    IN_HEAP,
    ON_NETWORK,
    STRANDED,
    T_EMERGENCY_CONGESTION,
    T_LAST_MOVE,
    T_NOW,
    T_RELIEF,
    UNROUTABLE,
    WAITING,
    LinkQueueState,
)

__all__ = ["ReferenceEngine"]


class ReferenceEngine:
    """The movement loop in plain Python, statement for statement as the compiled one."""

    def __init__(self, s: LinkQueueState) -> None:
        self.s = s
        self.m, self.n = s.n_links, s.n_nodes

    # -- heap of (time, seq) keyed items ------------------------------------------------
    def push(self, item: int, key: float) -> None:
        s = self.s
        c = s.counts
        i = int(c[C_HEAP_SIZE])
        c[C_HEAP_SIZE] += 1
        seq = int(c[C_SEQ])
        c[C_SEQ] += 1
        ht, hs, hi = s.heap_time, s.heap_seq, s.heap_item
        while i > 0:
            p = (i - 1) >> 1
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
                child = 2 * i + 1
                if child >= size:
                    break
                r = child + 1
                if r < size and (ht[r] < ht[child] or (ht[r] == ht[child] and hs[r] < hs[child])):
                    child = r
                if ht[child] < lt or (ht[child] == lt and hs[child] < ls):
                    ht[i], hs[i], hi[i] = ht[child], hs[child], hi[child]
                    i = child
                else:
                    break
            ht[i], hs[i], hi[i] = lt, ls, li
        s.item_state[item] = IDLE
        return key, item

    def push_link(self, e: int, t: float) -> None:
        s = self.s
        v = s.q_head[e]
        key = max(s.v_ready[v], t)
        if s.heads[e] != s.v_dest[v]:  # arrivals leave without the exit server
            key = max(key, s.next_free[e])
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

    def wake(self, e: int, t: float) -> None:
        s = self.s
        item = int(s.w_head[e])
        s.w_head[e] = -1
        s.w_tail[e] = -1
        while item >= 0:
            nxt = int(s.w_next[item])
            s.w_next[item] = -1
            s.item_state[item] = IDLE
            self.push_item(item, t)
            item = nxt

    def wake_all(self, t: float) -> None:
        for e in range(self.m):
            if self.s.w_head[e] >= 0:
                self.wake(e, t)

    # -- link bookkeeping ----------------------------------------------------------------
    def occ_change(self, e: int, t: float, delta: float) -> None:
        s = self.s
        s.occ_int[e] += s.occ[e] * (t - s.occ_last[e])
        s.occ_last[e] = t
        s.occ[e] += delta

    def has_space(self, f: int, pcu: float) -> bool:
        s = self.s
        return s.q_head[f] < 0 or s.occ[f] + pcu <= s.storage[f] + 1e-9

    def enter(self, v: int, f: int, t: float) -> None:
        """Vehicle ``v`` enters link ``f`` at ``t`` (space already checked)."""
        s = self.s
        cls = s.v_class[v]
        s.v_link[v] = f
        s.v_enter[v] = t
        s.st_entries[f] += 1
        if cls == s.emergency_class:
            ratio = min(1.0, s.occ[f] / s.storage[f])
            factor = 1.0 + s.clock[T_EMERGENCY_CONGESTION] * ratio
            s.v_ready[v] = t + s.free_flow[cls, f] * factor
            self.push(self.m + self.n + v, s.v_ready[v])
            return
        s.v_ready[v] = t + s.free_flow[cls, f]
        s.v_next[v] = -1
        if s.q_tail[f] < 0:
            s.q_head[f] = v
        else:
            s.v_next[s.q_tail[f]] = v
        s.q_tail[f] = v
        self.occ_change(f, t, s.class_pcu[cls])
        if s.q_head[f] == v and s.item_state[f] == IDLE:
            self.push_link(f, t)

    def leave(self, v: int, e: int, t: float, serve: bool = True) -> None:
        """Vehicle ``v`` leaves link ``e`` at ``t``: statistics; queue, occupancy, server."""
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
        s.q_head[e] = s.v_next[v]
        if s.q_head[e] < 0:
            s.q_tail[e] = -1
        s.v_next[v] = -1
        pcu = s.class_pcu[cls]
        self.occ_change(e, t, -pcu)
        if s.q_head[e] < 0:
            s.occ[e] = 0.0  # no drift from adding and removing fractional PCU
        if serve:
            s.next_free[e] = t + pcu * s.headway[e]

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
        """Whether the head of ``item`` must wait for room on ``f`` (gridlock relief)."""
        s = self.s
        if self.has_space(f, pcu):
            return False
        if s.block_t[item] < 0:
            s.block_t[item] = t
            return True
        if t - s.block_t[item] >= s.clock[T_RELIEF]:
            s.counts[C_FORCED] += 1
            return False
        return True

    def after_exit(self, e: int, t: float) -> None:
        s = self.s
        s.block_t[e] = -1.0
        if s.w_head[e] >= 0:
            self.wake(e, t)
        if s.q_head[e] >= 0 and s.item_state[e] == IDLE:
            self.push_link(e, t)

    def route_row(self, v: int) -> int:
        """Row of vehicle ``v``'s routes: its destination row in its class's group."""
        s = self.s
        return int(s.class_group[s.v_class[v]] * s.row_stride + s.v_row[v])

    # -- events ----------------------------------------------------------------------------
    def process_link(self, e: int, t: float) -> None:
        s = self.s
        v = int(s.q_head[e])
        h = s.heads[e]
        if h == s.v_dest[v]:
            self.leave(v, e, t, serve=False)
            self.finish(v, t, ARRIVED)
            self.after_exit(e, t)
            return
        f = int(s.next_edge[self.route_row(v), h])
        if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
            self.leave(v, e, t)
            self.finish(v, t, STRANDED)
            self.after_exit(e, t)
            return
        if self.must_wait(f, e, s.class_pcu[s.v_class[v]], t):
            self.block(f, e)
            return
        self.leave(v, e, t)
        self.enter(v, f, t)
        self.after_exit(e, t)

    def process_source(self, o: int, t: float) -> None:
        s = self.s
        v = int(s.s_head[o])
        f = int(s.next_edge[self.route_row(v), o])
        pcu = s.class_pcu[s.v_class[v]]
        shut = f < 0 or bool((s.closed[f] >> s.v_class[v]) & 1)
        if not shut and self.must_wait(f, self.m + o, pcu, t):
            self.block(f, self.m + o)
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
            self.enter(v, f, t)
        if s.s_head[o] >= 0:
            self.push_source(o, t)

    def process_emergency(self, v: int, t: float) -> None:
        s = self.s
        e = int(s.v_link[v])
        h = s.heads[e]
        self.leave(v, e, t)
        if h == s.v_dest[v]:
            self.finish(v, t, ARRIVED)
            return
        f = int(s.next_edge[self.route_row(v), h])
        if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
            self.finish(v, t, STRANDED)
            return
        self.enter(v, f, t)

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
            f = int(s.next_edge[self.route_row(v), o])
            if f < 0 or (s.closed[f] >> s.v_class[v]) & 1:
                s.v_state[v] = UNROUTABLE
                s.counts[C_UNROUTABLE] += 1
                s.row_active[s.v_row[v]] -= 1
                return
            s.v_state[v] = ON_NETWORK
            s.counts[C_ON_NETWORK] += 1
            self.enter(v, f, t)
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

    def advance(self, t_end: float, inject: np.ndarray) -> None:
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
        mn = self.m + self.n
        while c[C_HEAP_SIZE] > 0 and s.heap_time[0] < t_end:
            t, item = self.pop()
            if item < self.m:
                self.process_link(item, t)
            elif item < mn:
                self.process_source(item - self.m, t)
            else:
                self.process_emergency(item - mn, t)
        s.clock[T_NOW] = t_end

    def queued_pcu(self, now: float, out: np.ndarray) -> None:
        s = self.s
        for e in range(self.m):
            v = int(s.q_head[e])
            total = 0.0
            while v >= 0:
                if s.v_ready[v] <= now:
                    total += s.class_pcu[s.v_class[v]]
                v = int(s.v_next[v])
            out[e] = total
