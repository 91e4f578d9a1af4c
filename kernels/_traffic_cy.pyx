# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled link-queue movement (the model: ``kernels/traffic.py``; the state:
``kernels/traffic_state.py``; the reference: ``kernels/_traffic_reference.py``; the
junction arithmetic: ``kernels/junctions.py``).

:class:`Engine` binds typed memoryviews to the arrays of a ``LinkQueueState`` and runs the
event loop with the GIL released. It mirrors ``kernels._traffic_reference.ReferenceEngine``
statement for statement, so both backends give identical results. Inputs arrive validated.
One file on purpose: the event handlers call each other inline.
"""

from libc.math cimport INFINITY, exp, floor
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t

cdef enum:
    PENDING = 0
    WAITING = 1
    ON_NETWORK = 2
    ARRIVED = 3
    UNROUTABLE = 4
    STRANDED = 5

cdef enum:
    IDLE = 0
    IN_HEAP = 1
    BLOCKED = 2

cdef enum:
    CTRL_FREE = 0
    CTRL_SIGNAL = 1
    CTRL_MAJOR = 2
    CTRL_MINOR = 3

cdef enum:
    C_DEPARTED = 0
    C_WAITING = 1
    C_ON_NETWORK = 2
    C_ARRIVED = 3
    C_UNROUTABLE = 4
    C_HEAP_SIZE = 5
    C_SEQ = 6
    C_RELEASED = 7
    C_ORDER = 8
    C_TRAVERSALS = 9
    C_VEHICLES = 10
    C_FORCED = 11
    C_TK_FREE = 12
    C_TK_NFREE = 13
    C_BYPASSED = 14
    C_FILTERED = 15

cdef enum:
    T_LAST_MOVE = 0
    T_NOW = 1
    T_EMERGENCY_CONGESTION = 2
    T_RELIEF = 3
    T_FILTER_GAIN = 4
    T_FLOW_WINDOW = 5

cdef enum:
    NEED_TOKENS = 1
    FILTER_DEPTH = 64  # most vehicles behind a head that a filtering vehicle is looked for among


cdef struct LinkHot:
    int32_t q_head
    int32_t q_tail
    int32_t w_head
    int32_t head
    int32_t tk_head
    int32_t tk_tail
    int32_t ctrl
    int32_t lookahead
    int32_t n_filter
    double occ
    double occ_large
    double tok_pcu
    double tk_first
    double next_free
    double entry_free
    double headway
    double in_headway
    double storage
    double wave
    double vtime

cdef struct LinkCold:
    int64_t w_tail
    int64_t st_entries
    int64_t st_exits
    int64_t passed
    double length
    double st_len
    double st_time
    double occ_int
    double occ_last
    double cum_len
    double sig_cycle
    double sig_start
    double sig_green
    double sat_headway
    double gap_tc
    double gap_tf

cdef struct Vehicle:
    int32_t next
    int32_t cls
    int32_t dest
    int32_t row
    int32_t link
    int32_t origin
    double ready
    double enter
    double dist
    double fftime
    double charge

cdef struct Token:
    double time
    double pcu
    int64_t next

cdef struct HeapEntry:
    double time
    int64_t seq
    int64_t item


# -- junction arithmetic (kernels/junctions.py) ------------------------------------------------
cdef inline double _phase(double t, double cycle, double start) noexcept nogil:
    cdef double x = t - start
    return x - cycle * floor(x / cycle)


cdef inline double green_from(double t, double cycle, double start, double green) noexcept nogil:
    cdef double k = _phase(t, cycle, start)
    if k < green:
        return t
    return t + (cycle - k)


cdef inline double green_after(
    double t, double duration, double cycle, double start, double green
) noexcept nogil:
    cdef double k = _phase(t, cycle, start)
    cdef double left, rest, cycles
    if k >= green:
        t = t + (cycle - k)
        k = 0.0
    left = green - k
    if duration <= left:
        return t + duration
    rest = duration - left
    cycles = floor(rest / green)
    return t + left + (cycle - green) + cycles * cycle + (rest - cycles * green)


cdef inline double gap_capacity(double q, double tc, double tf) noexcept nogil:
    if q <= 1e-12:
        return 1.0 / tf
    return q * exp(-q * tc) / (1.0 - exp(-q * tf))


cdef class Engine:
    cdef int64_t m, n, rcv, win, veh, emergency_class
    cdef LinkHot[::1] lh
    cdef LinkCold[::1] lc
    cdef Vehicle[::1] vh
    cdef Token[::1] tk
    cdef HeapEntry[::1] heap
    cdef const double[:, ::1] free_flow
    cdef const double[::1] class_pcu
    cdef const uint8_t[::1] class_filters
    cdef const uint32_t[::1] closed
    cdef int64_t[::1] s_head, s_tail, w_next, order, counts, row_active, wait_on
    cdef int8_t[::1] item_state, v_state
    cdef double[::1] clock, block_t, tag, node_q, node_t, depart, arrive
    cdef const int32_t[:, ::1] next_edge
    cdef const int32_t[:, ::1] alt_edge
    cdef bint use_alt
    cdef const int64_t[::1] class_group
    cdef int64_t row_stride

    def __init__(self, s):
        self.m = s.n_links
        self.n = s.n_nodes
        self.rcv = self.m + self.n
        self.win = 2 * self.m + self.n
        self.veh = 3 * self.m + self.n
        self.emergency_class = s.emergency_class
        self.lh = s.link_hot
        self.lc = s.link_cold
        self.vh = s.vehicles
        self.depart = s.v_depart
        self.arrive = s.v_arrive
        self.tk = s.tokens
        self.heap = s.heap
        self.free_flow = s.free_flow
        self.class_pcu = s.class_pcu
        self.class_filters = s.class_filters
        self.closed = s.closed
        self.s_head = s.s_head
        self.s_tail = s.s_tail
        self.w_next = s.w_next
        self.wait_on = s.wait_on
        self.order = s.order
        self.counts = s.counts
        self.row_active = s.row_active
        self.item_state = s.item_state
        self.v_state = s.v_state
        self.clock = s.clock
        self.block_t = s.block_t
        self.tag = s.tag
        self.node_q = s.node_q
        self.node_t = s.node_t
        self.next_edge = s.next_edge
        self.alt_edge = s.alt_edge
        self.use_alt = s.alt_edge.shape[0] > 0
        self.class_group = s.class_group
        self.row_stride = s.row_stride

    # -- heap ----------------------------------------------------------------------------
    cdef inline void push(self, int64_t item, double key) noexcept nogil:
        cdef int64_t i = self.counts[C_HEAP_SIZE]
        cdef int64_t seq = self.counts[C_SEQ]
        cdef int64_t p
        self.counts[C_HEAP_SIZE] = i + 1
        self.counts[C_SEQ] = seq + 1
        while i > 0:
            p = (i - 1) >> 2
            if self.heap[p].time < key or (self.heap[p].time == key and self.heap[p].seq < seq):
                break
            self.heap[i] = self.heap[p]
            i = p
        self.heap[i].time = key
        self.heap[i].seq = seq
        self.heap[i].item = item
        self.item_state[item] = IN_HEAP

    cdef inline int64_t pop(self, double* key) noexcept nogil:
        cdef int64_t item = self.heap[0].item
        cdef int64_t size = self.counts[C_HEAP_SIZE] - 1
        cdef int64_t i = 0, child, r, best, last_child
        cdef HeapEntry last
        key[0] = self.heap[0].time
        self.counts[C_HEAP_SIZE] = size
        if size > 0:
            last = self.heap[size]
            while True:
                child = 4 * i + 1
                if child >= size:
                    break
                best = child
                last_child = child + 4
                if last_child > size:
                    last_child = size
                for r in range(child + 1, last_child):
                    if self.heap[r].time < self.heap[best].time or (
                        self.heap[r].time == self.heap[best].time
                        and self.heap[r].seq < self.heap[best].seq
                    ):
                        best = r
                if self.heap[best].time < last.time or (
                    self.heap[best].time == last.time and self.heap[best].seq < last.seq
                ):
                    self.heap[i] = self.heap[best]
                    i = best
                else:
                    break
            self.heap[i] = last
        self.item_state[item] = IDLE
        return item

    # -- junction control of a link's exit -------------------------------------------------
    cdef inline double green(self, int64_t e, double t) noexcept nogil:
        if self.lh[e].ctrl != CTRL_SIGNAL:
            return t
        return green_from(t, self.lc[e].sig_cycle, self.lc[e].sig_start, self.lc[e].sig_green)

    cdef inline double node_flow(self, int64_t h, double t) noexcept nogil:
        return self.node_q[h] * exp(-(t - self.node_t[h]) / self.clock[T_FLOW_WINDOW])

    cdef inline double service_end(self, int64_t e, double t, double pcu) noexcept nogil:
        cdef int32_t ctrl = self.lh[e].ctrl
        cdef double h, gap
        cdef int64_t node
        if ctrl == CTRL_SIGNAL:
            return green_after(
                t, pcu * self.lc[e].sat_headway,
                self.lc[e].sig_cycle, self.lc[e].sig_start, self.lc[e].sig_green,
            )
        h = self.lh[e].headway
        node = self.lh[e].head
        if ctrl == CTRL_MINOR:
            gap = 1.0 / gap_capacity(self.node_flow(node, t), self.lc[e].gap_tc, self.lc[e].gap_tf)
            if gap > h:
                h = gap
        elif ctrl == CTRL_MAJOR:
            self.node_q[node] = self.node_flow(node, t) + pcu / self.clock[T_FLOW_WINDOW]
            self.node_t[node] = t
        return t + pcu * h

    cdef inline void push_link(self, int64_t e, double t) noexcept nogil:
        cdef int64_t v = self.lh[e].q_head
        cdef double key = self.vh[v].ready
        if t > key:
            key = t
        if self.lh[e].head != self.vh[v].dest:
            if self.lh[e].next_free > key:
                key = self.lh[e].next_free
            key = self.green(e, key)
        self.push(e, key)

    cdef inline void push_source(self, int64_t o, double t) noexcept nogil:
        cdef int64_t v = self.s_head[o]
        cdef double key = self.depart[v]
        if t > key:
            key = t
        self.push(self.m + o, key)

    cdef inline void push_item(self, int64_t item, double t) noexcept nogil:
        if item < self.m:
            self.push_link(item, t)
        else:
            self.push_source(item - self.m, t)

    # -- waiting lists -------------------------------------------------------------------
    cdef inline void block(self, int64_t f, int64_t item) noexcept nogil:
        self.w_next[item] = -1
        if self.lc[f].w_tail < 0:
            self.lh[f].w_head = item
        else:
            self.w_next[self.lc[f].w_tail] = item
        self.lc[f].w_tail = item
        self.item_state[item] = BLOCKED
        self.wait_on[item] = f
        if self.tag[item] < self.lh[f].vtime:
            self.tag[item] = self.lh[f].vtime

    cdef void wake(self, int64_t e, double t) noexcept nogil:
        cdef int64_t best, best_prev, prev, item
        while self.lh[e].w_head >= 0:
            best = self.lh[e].w_head
            best_prev = -1
            prev = best
            item = self.w_next[best]
            while item >= 0:
                if self.tag[item] < self.tag[best]:
                    best = item
                    best_prev = prev
                prev = item
                item = self.w_next[item]
            if best_prev < 0:
                self.lh[e].w_head = self.w_next[best]
            else:
                self.w_next[best_prev] = self.w_next[best]
            if self.lc[e].w_tail == best:
                self.lc[e].w_tail = best_prev
            self.w_next[best] = -1
            self.item_state[best] = IDLE
            self.push_item(best, t)

    cdef void arm_entrance(self, int64_t f, double t) noexcept nogil:
        cdef double when
        if self.item_state[self.rcv + f] != IDLE or self.lh[f].w_head < 0:
            return
        if self.lh[f].tk_first <= t:
            self.expire_tokens(f, t)
        when = -1.0
        if self.lh[f].entry_free > t:
            when = self.lh[f].entry_free
        elif self.lh[f].tk_head >= 0:
            when = self.lh[f].tk_first
        if when > t:
            self.push(self.rcv + f, when)

    # -- freed space travelling upstream (kinematic waves) -----------------------------------
    cdef inline void add_token(self, int64_t e, double now, double t, double pcu) noexcept nogil:
        cdef int64_t k
        if self.lh[e].tk_first <= now:
            self.expire_tokens(e, now)
        k = self.counts[C_TK_FREE]
        self.counts[C_TK_FREE] = self.tk[k].next
        self.counts[C_TK_NFREE] -= 1
        self.tk[k].time = t
        self.tk[k].pcu = pcu
        self.tk[k].next = -1
        if self.lh[e].tk_tail < 0:
            self.lh[e].tk_head = k
            self.lh[e].tk_first = t
        else:
            self.tk[self.lh[e].tk_tail].next = k
        self.lh[e].tk_tail = k
        self.lh[e].tok_pcu += pcu

    cdef void expire_tokens(self, int64_t f, double t) noexcept nogil:
        cdef int64_t k = self.lh[f].tk_head
        cdef int64_t nxt
        while k >= 0 and self.tk[k].time <= t:
            self.lh[f].tok_pcu -= self.tk[k].pcu
            nxt = self.tk[k].next
            self.tk[k].next = self.counts[C_TK_FREE]
            self.counts[C_TK_FREE] = k
            self.counts[C_TK_NFREE] += 1
            k = nxt
        self.lh[f].tk_head = k
        if k < 0:
            self.lh[f].tk_tail = -1
            self.lh[f].tk_first = INFINITY
            self.lh[f].tok_pcu = 0.0
        else:
            self.lh[f].tk_first = self.tk[k].time

    # -- link bookkeeping ----------------------------------------------------------------
    cdef inline void occ_change(self, int64_t e, double t, double delta) noexcept nogil:
        self.lc[e].occ_int += self.lh[e].occ * (t - self.lc[e].occ_last)
        self.lc[e].occ_last = t
        self.lh[e].occ += delta

    cdef inline double charge_for(self, int64_t v, int64_t f) noexcept nogil:
        cdef int64_t cls = self.vh[v].cls
        cdef double pcu = self.class_pcu[cls]
        if self.class_filters[cls] and self.lh[f].occ > 0.0:
            pcu = pcu * (1.0 - self.clock[T_FILTER_GAIN] * (self.lh[f].occ_large / self.lh[f].occ))
        return pcu

    cdef inline bint has_space(self, int64_t f, double pcu, double t) noexcept nogil:
        if self.lh[f].occ + self.lh[f].tok_pcu + pcu <= self.lh[f].storage + 1e-9:
            return True
        if self.lh[f].tk_first <= t:
            self.expire_tokens(f, t)
        if self.lh[f].q_head < 0 and self.lh[f].tk_head < 0:
            return True
        return self.lh[f].occ + self.lh[f].tok_pcu + pcu <= self.lh[f].storage + 1e-9

    cdef inline bint behind_others(self, int64_t f, int64_t item) noexcept nogil:
        cdef double tag = self.tag[item]
        cdef int64_t k = self.lh[f].w_head
        if self.lh[f].vtime > tag:
            tag = self.lh[f].vtime
        while k >= 0:
            if self.tag[k] <= tag:
                return True
            k = self.w_next[k]
        return False

    cdef inline bint can_enter(self, int64_t f, int64_t item, double pcu, double t) noexcept nogil:
        if self.lh[f].w_head >= 0 and self.behind_others(f, item):
            return False
        return self.lh[f].entry_free <= t and self.has_space(f, pcu, t)

    cdef void enter(self, int64_t v, int64_t f, double t, double pcu, int64_t item) noexcept nogil:
        cdef int64_t cls = self.vh[v].cls
        cdef double ratio, factor
        self.vh[v].link = f
        self.vh[v].enter = t
        self.lc[f].st_entries += 1
        if cls == self.emergency_class:
            ratio = self.lh[f].occ / self.lh[f].storage
            if ratio > 1.0:
                ratio = 1.0
            factor = 1.0 + self.clock[T_EMERGENCY_CONGESTION] * ratio
            self.vh[v].ready = t + self.free_flow[cls, f] * factor
            self.vh[v].charge = 0.0
            self.push(self.veh + v, self.vh[v].ready)
            return
        self.vh[v].ready = t + self.free_flow[cls, f]
        self.vh[v].charge = pcu
        self.vh[v].next = -1
        if self.lh[f].q_tail < 0:
            self.lh[f].q_head = v
        else:
            self.vh[self.lh[f].q_tail].next = v
        self.lh[f].q_tail = v
        self.occ_change(f, t, pcu)
        if self.class_filters[cls]:
            self.lh[f].n_filter += 1
        else:
            self.lh[f].occ_large += pcu
        if self.lh[f].in_headway > 0.0:
            self.lh[f].entry_free = t + pcu * self.lh[f].in_headway
        self.lh[f].vtime = self.tag[item]
        if item < self.m:
            self.tag[item] += pcu * self.lh[item].headway
        else:
            self.tag[item] += pcu * self.lh[f].headway
        if self.lh[f].q_head == v and self.item_state[f] == IDLE:
            self.push_link(f, t)

    cdef void leave(self, int64_t v, int64_t e, double t, bint serve, int64_t prev) noexcept nogil:
        cdef int64_t cls = self.vh[v].cls
        cdef double pcu
        self.lc[e].st_exits += 1
        self.lc[e].st_len += self.lc[e].length
        self.lc[e].st_time += t - self.vh[v].enter
        self.lc[e].cum_len += self.lc[e].length
        self.vh[v].dist += self.lc[e].length
        self.vh[v].fftime += self.free_flow[cls, e]
        self.counts[C_TRAVERSALS] += 1
        self.clock[T_LAST_MOVE] = t
        if cls == self.emergency_class:
            return
        if prev < 0:
            self.lh[e].q_head = self.vh[v].next
            if self.lh[e].q_head < 0:
                self.lh[e].q_tail = -1
            self.lc[e].passed = 0
        else:
            self.vh[prev].next = self.vh[v].next
            if self.lh[e].q_tail == v:
                self.lh[e].q_tail = prev
        self.vh[v].next = -1
        pcu = self.vh[v].charge
        self.occ_change(e, t, -pcu)
        if self.class_filters[cls]:
            self.lh[e].n_filter -= 1
        else:
            self.lh[e].occ_large -= pcu
        if self.lh[e].q_head < 0:
            self.lh[e].occ = 0.0
            self.lh[e].occ_large = 0.0
        if self.lh[e].wave > 0.0:
            self.add_token(e, t, t + self.lh[e].wave, pcu)
        if serve:
            self.lh[e].next_free = self.service_end(e, t, pcu)

    cdef inline void finish(self, int64_t v, double t, int8_t state) noexcept nogil:
        self.v_state[v] = state
        self.vh[v].link = -1
        self.counts[C_ON_NETWORK] -= 1
        if state == ARRIVED:
            self.arrive[v] = t
            self.counts[C_ARRIVED] += 1
        else:
            self.counts[C_UNROUTABLE] += 1
        self.row_active[self.vh[v].row] -= 1

    cdef inline bint must_wait(self, int64_t f, int64_t item, double pcu, double t) noexcept nogil:
        cdef bint space
        if self.lh[f].w_head >= 0 and self.behind_others(f, item):
            return True
        space = self.has_space(f, pcu, t)
        if self.lh[f].entry_free > t:
            return True
        if space:
            return False
        if self.block_t[item] < 0:
            self.block_t[item] = t
            return True
        if t - self.block_t[item] >= self.clock[T_RELIEF]:
            self.counts[C_FORCED] += 1
            return False
        return True

    cdef inline void space_freed(self, int64_t e, double t) noexcept nogil:
        if self.lh[e].w_head >= 0:
            if self.lh[e].wave > 0.0:
                self.arm_entrance(e, t)
            else:
                self.wake(e, t)

    cdef inline void after_exit(self, int64_t e, double t) noexcept nogil:
        self.block_t[e] = -1.0
        self.space_freed(e, t)
        if self.lh[e].q_head >= 0 and self.item_state[e] == IDLE:
            self.push_link(e, t)

    cdef inline int64_t route_row(self, int64_t v) noexcept nogil:
        """Row of vehicle ``v``'s routes: its destination row in its class's group."""
        return self.class_group[self.vh[v].cls] * self.row_stride + self.vh[v].row

    cdef inline int64_t hop(self, int64_t v, int64_t node) noexcept nogil:
        """Next link of vehicle ``v`` at ``node``: every other vehicle follows the
        alternate tree when there is one (emergency vehicles never)."""
        if self.use_alt and (v & 1) and self.vh[v].cls != self.emergency_class:
            return self.alt_edge[self.route_row(v), node]
        return self.next_edge[self.route_row(v), node]

    # -- vehicles behind the head ---------------------------------------------------------
    cdef bint move_behind(
        self, int64_t e, int64_t v, int64_t prev, double t, bint server
    ) noexcept nogil:
        cdef int64_t h = self.lh[e].head
        cdef int64_t f
        cdef double pcu
        if h == self.vh[v].dest:
            self.leave(v, e, t, False, prev)
            self.finish(v, t, ARRIVED)
            self.space_freed(e, t)
            return True
        if not server:
            return False
        f = self.hop(v, h)
        if f < 0 or (self.closed[f] >> self.vh[v].cls) & 1:
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

    cdef bint filter_past(self, int64_t e, double t) noexcept nogil:
        cdef int64_t prev = self.lh[e].q_head
        cdef int64_t v = self.vh[prev].next
        cdef int64_t k = 0
        while v >= 0 and k < FILTER_DEPTH:
            if self.vh[v].ready > t:
                return False
            if self.class_filters[self.vh[v].cls] and self.move_behind(e, v, prev, t, True):
                self.lc[e].passed += 1
                self.counts[C_FILTERED] += 1
                if self.lh[e].q_head >= 0 and self.item_state[e] == IDLE:
                    self.push_link(e, t)
                return True
            prev = v
            v = self.vh[v].next
            k += 1
        return False

    cdef void process_window(self, int64_t e, double t) noexcept nogil:
        cdef double server_at, retry
        cdef bint server, arriving
        cdef int64_t h, prev, blocked, v, k
        if self.item_state[e] != BLOCKED:
            return
        server_at = self.lh[e].next_free
        if t > server_at:
            server_at = t
        server_at = self.green(e, server_at)
        server = server_at <= t
        h = self.lh[e].head
        prev = self.lh[e].q_head
        blocked = self.hop(prev, h)
        v = self.vh[prev].next
        k = 0
        retry = INFINITY
        while v >= 0 and k < self.lh[e].lookahead:
            if self.vh[v].ready > t:
                retry = self.vh[v].ready
                break
            arriving = h == self.vh[v].dest
            if (arriving or self.hop(v, h) != blocked) and self.move_behind(
                e, v, prev, t, server
            ):
                self.counts[C_BYPASSED] += 1
                if arriving:
                    retry = t
                else:
                    retry = self.lh[e].next_free
                    if t > retry:
                        retry = t
                    retry = self.green(e, retry)
                break
            if not arriving and not server and server_at < retry:
                retry = server_at
            prev = v
            v = self.vh[v].next
            k += 1
        if retry < INFINITY and self.item_state[self.win + e] == IDLE:
            if t > retry:
                retry = t
            self.push(self.win + e, retry)

    # -- events ----------------------------------------------------------------------------
    cdef void process_link(self, int64_t e, double t) noexcept nogil:
        cdef int64_t v = self.lh[e].q_head
        cdef int64_t h = self.lh[e].head
        cdef int64_t f
        cdef double pcu
        if h == self.vh[v].dest:
            self.leave(v, e, t, False, -1)
            self.finish(v, t, ARRIVED)
            self.after_exit(e, t)
            return
        f = self.hop(v, h)
        if f < 0 or (self.closed[f] >> self.vh[v].cls) & 1:
            self.leave(v, e, t, True, -1)
            self.finish(v, t, STRANDED)
            self.after_exit(e, t)
            return
        if (
            self.lh[e].lookahead > 0
            and not self.class_filters[self.vh[v].cls]
            and self.lc[e].passed < self.lh[e].lookahead
            and self.lh[e].n_filter > 0
            and self.filter_past(e, t)
        ):
            return
        pcu = self.charge_for(v, f)
        if self.must_wait(f, e, pcu, t):
            self.block(f, e)
            self.arm_entrance(f, t)
            if self.lh[e].lookahead > 0 and self.item_state[self.win + e] == IDLE:
                self.push(self.win + e, t)
            return
        self.leave(v, e, t, True, -1)
        self.enter(v, f, t, pcu, e)
        self.after_exit(e, t)

    cdef void process_source(self, int64_t o, double t) noexcept nogil:
        cdef int64_t v = self.s_head[o]
        cdef int64_t f = self.hop(v, o)
        cdef bint shut = f < 0 or (self.closed[f] >> self.vh[v].cls) & 1
        cdef double pcu = 0.0
        if not shut:
            pcu = self.charge_for(v, f)
            if self.must_wait(f, self.m + o, pcu, t):
                self.block(f, self.m + o)
                self.arm_entrance(f, t)
                return
        self.block_t[self.m + o] = -1.0
        self.s_head[o] = self.vh[v].next
        if self.s_head[o] < 0:
            self.s_tail[o] = -1
        self.vh[v].next = -1
        self.counts[C_WAITING] -= 1
        if shut:
            self.v_state[v] = UNROUTABLE
            self.counts[C_UNROUTABLE] += 1
            self.row_active[self.vh[v].row] -= 1
        else:
            self.v_state[v] = ON_NETWORK
            self.counts[C_ON_NETWORK] += 1
            self.clock[T_LAST_MOVE] = t
            self.enter(v, f, t, pcu, self.m + o)
        if self.s_head[o] >= 0:
            self.push_source(o, t)

    cdef void process_entrance(self, int64_t f, double t) noexcept nogil:
        if self.lh[f].tk_first <= t:
            self.expire_tokens(f, t)
        if self.lh[f].w_head >= 0:
            self.wake(f, t)

    cdef void process_emergency(self, int64_t v, double t) noexcept nogil:
        cdef int64_t e = self.vh[v].link
        cdef int64_t h = self.lh[e].head
        cdef int64_t f
        self.leave(v, e, t, True, -1)
        if h == self.vh[v].dest:
            self.finish(v, t, ARRIVED)
            return
        f = self.hop(v, h)
        if f < 0 or (self.closed[f] >> self.vh[v].cls) & 1:
            self.finish(v, t, STRANDED)
            return
        self.enter(v, f, t, 0.0, e)

    cdef void release(self, int64_t v) noexcept nogil:
        cdef double t = self.depart[v]
        cdef int64_t o = self.vh[v].origin
        cdef int64_t f
        self.counts[C_DEPARTED] += 1
        self.row_active[self.vh[v].row] += 1
        if o == self.vh[v].dest:
            self.v_state[v] = ARRIVED
            self.arrive[v] = t
            self.counts[C_ARRIVED] += 1
            self.row_active[self.vh[v].row] -= 1
            return
        if self.vh[v].cls == self.emergency_class:
            f = self.hop(v, o)
            if f < 0 or (self.closed[f] >> self.vh[v].cls) & 1:
                self.v_state[v] = UNROUTABLE
                self.counts[C_UNROUTABLE] += 1
                self.row_active[self.vh[v].row] -= 1
                return
            self.v_state[v] = ON_NETWORK
            self.counts[C_ON_NETWORK] += 1
            self.enter(v, f, t, 0.0, self.m + o)
            return
        self.v_state[v] = WAITING
        self.counts[C_WAITING] += 1
        self.vh[v].next = -1
        if self.s_tail[o] < 0:
            self.s_head[o] = v
        else:
            self.vh[self.s_tail[o]].next = v
        self.s_tail[o] = v
        if self.item_state[self.m + o] == IDLE:
            self.push_source(o, t)

    cdef int run(self, double t_end, const int64_t[::1] inject) noexcept nogil:
        cdef Py_ssize_t i
        cdef int64_t v, item
        cdef double t
        for i in range(inject.shape[0]):
            self.release(inject[i])
        while self.counts[C_RELEASED] < self.counts[C_ORDER]:
            v = self.order[self.counts[C_RELEASED]]
            if self.depart[v] >= t_end:
                break
            self.counts[C_RELEASED] += 1
            self.release(v)
        while self.counts[C_HEAP_SIZE] > 0 and self.heap[0].time < t_end:
            if self.counts[C_TK_NFREE] < 2:
                return NEED_TOKENS
            item = self.pop(&t)
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
        self.clock[T_NOW] = t_end
        return 0

    # -- Python entry points ---------------------------------------------------------------
    def advance(self, double t_end, const int64_t[::1] inject):
        cdef int status
        with nogil:
            status = self.run(t_end, inject)
        return status

    def wake_all(self, double t):
        cdef int64_t e
        with nogil:
            for e in range(self.m):
                if self.lh[e].w_head >= 0:
                    self.wake(e, t)

    def wake_links(self, const int64_t[::1] links, double t):
        cdef Py_ssize_t i
        cdef int64_t e
        with nogil:
            for i in range(links.shape[0]):
                e = links[i]
                if self.lh[e].w_head >= 0:
                    self.wake(e, t)
                if self.lh[e].q_head >= 0 and self.item_state[e] == IDLE:
                    self.push_link(e, t)
                if (
                    self.lh[e].lookahead > 0
                    and self.item_state[e] == BLOCKED
                    and self.item_state[self.win + e] == IDLE
                ):
                    self.push(self.win + e, t)

    def queued_pcu(self, double now, double[::1] out):
        cdef int64_t e, v
        cdef double total
        with nogil:
            for e in range(self.m):
                v = self.lh[e].q_head
                total = 0.0
                while v >= 0:
                    if self.vh[v].ready <= now:
                        total += self.vh[v].charge
                    v = self.vh[v].next
                out[e] = total
