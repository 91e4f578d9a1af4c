# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled link-queue movement (the model: ``kernels/traffic.py``; the state:
``kernels/traffic_state.py``; the reference: ``kernels/_traffic_reference.py``).

:class:`Engine` binds typed memoryviews to the arrays of a ``LinkQueueState`` and runs the
event loop with the GIL released. It mirrors ``kernels._traffic_reference.ReferenceEngine``
statement for statement, so both backends give identical results. Inputs arrive validated.
"""

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

cdef enum:
    T_LAST_MOVE = 0
    T_NOW = 1
    T_EMERGENCY_CONGESTION = 2
    T_RELIEF = 3


cdef struct LinkHot:
    int64_t q_head
    int64_t q_tail
    int64_t w_head
    int64_t head
    double occ
    double next_free
    double headway
    double storage

cdef struct LinkCold:
    int64_t w_tail
    int64_t st_entries
    int64_t st_exits
    double length
    double st_len
    double st_time
    double occ_int
    double occ_last
    double cum_len

cdef struct Vehicle:
    int64_t next
    int64_t cls
    int64_t dest
    int64_t row
    int64_t link
    int64_t origin
    double ready
    double enter
    double dist
    double fftime
    double depart
    double arrive

cdef struct HeapEntry:
    double time
    int64_t seq
    int64_t item


cdef class Engine:
    cdef int64_t m, n, emergency_class
    cdef LinkHot[::1] lh
    cdef LinkCold[::1] lc
    cdef Vehicle[::1] veh
    cdef HeapEntry[::1] heap
    cdef const double[:, ::1] free_flow
    cdef const double[::1] class_pcu
    cdef const uint32_t[::1] closed
    cdef int64_t[::1] s_head, s_tail, w_next, order, counts, row_active
    cdef int8_t[::1] item_state, v_state
    cdef double[::1] clock, block_t
    cdef const int32_t[:, ::1] next_edge
    cdef const int64_t[::1] class_group
    cdef int64_t row_stride

    def __init__(self, s):
        self.m = s.n_links
        self.n = s.n_nodes
        self.emergency_class = s.emergency_class
        self.lh = s.link_hot
        self.lc = s.link_cold
        self.veh = s.vehicles
        self.heap = s.heap
        self.free_flow = s.free_flow
        self.class_pcu = s.class_pcu
        self.closed = s.closed
        self.s_head = s.s_head
        self.s_tail = s.s_tail
        self.w_next = s.w_next
        self.order = s.order
        self.counts = s.counts
        self.row_active = s.row_active
        self.item_state = s.item_state
        self.v_state = s.v_state
        self.clock = s.clock
        self.block_t = s.block_t
        self.next_edge = s.next_edge
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
            p = (i - 1) >> 1
            if self.heap[p].time < key or (self.heap[p].time == key and self.heap[p].seq < seq):
                break
            self.heap[i].time = self.heap[p].time
            self.heap[i].seq = self.heap[p].seq
            self.heap[i].item = self.heap[p].item
            i = p
        self.heap[i].time = key
        self.heap[i].seq = seq
        self.heap[i].item = item
        self.item_state[item] = IN_HEAP

    cdef inline int64_t pop(self, double* key) noexcept nogil:
        cdef int64_t item = self.heap[0].item
        cdef int64_t size = self.counts[C_HEAP_SIZE] - 1
        cdef int64_t i = 0, child, r, ls, li
        cdef double lt
        key[0] = self.heap[0].time
        self.counts[C_HEAP_SIZE] = size
        if size > 0:
            lt = self.heap[size].time
            ls = self.heap[size].seq
            li = self.heap[size].item
            while True:
                child = 2 * i + 1
                if child >= size:
                    break
                r = child + 1
                if r < size and (
                    self.heap[r].time < self.heap[child].time
                    or (self.heap[r].time == self.heap[child].time
                        and self.heap[r].seq < self.heap[child].seq)
                ):
                    child = r
                if self.heap[child].time < lt or (
                    self.heap[child].time == lt and self.heap[child].seq < ls
                ):
                    self.heap[i].time = self.heap[child].time
                    self.heap[i].seq = self.heap[child].seq
                    self.heap[i].item = self.heap[child].item
                    i = child
                else:
                    break
            self.heap[i].time = lt
            self.heap[i].seq = ls
            self.heap[i].item = li
        self.item_state[item] = IDLE
        return item

    cdef inline void push_link(self, int64_t e, double t) noexcept nogil:
        cdef int64_t v = self.lh[e].q_head
        cdef double key = self.veh[v].ready
        if t > key:
            key = t
        if self.lh[e].head != self.veh[v].dest and self.lh[e].next_free > key:
            key = self.lh[e].next_free
        self.push(e, key)

    cdef inline void push_source(self, int64_t o, double t) noexcept nogil:
        cdef int64_t v = self.s_head[o]
        cdef double key = self.veh[v].depart
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

    cdef void wake(self, int64_t e, double t) noexcept nogil:
        cdef int64_t item = self.lh[e].w_head
        cdef int64_t nxt
        self.lh[e].w_head = -1
        self.lc[e].w_tail = -1
        while item >= 0:
            nxt = self.w_next[item]
            self.w_next[item] = -1
            self.item_state[item] = IDLE
            self.push_item(item, t)
            item = nxt

    # -- link bookkeeping ----------------------------------------------------------------
    cdef inline void occ_change(self, int64_t e, double t, double delta) noexcept nogil:
        self.lc[e].occ_int += self.lh[e].occ * (t - self.lc[e].occ_last)
        self.lc[e].occ_last = t
        self.lh[e].occ += delta

    cdef inline bint has_space(self, int64_t f, double pcu) noexcept nogil:
        return self.lh[f].q_head < 0 or self.lh[f].occ + pcu <= self.lh[f].storage + 1e-9

    cdef void enter(self, int64_t v, int64_t f, double t) noexcept nogil:
        cdef int64_t cls = self.veh[v].cls
        cdef double ratio, factor
        self.veh[v].link = f
        self.veh[v].enter = t
        self.lc[f].st_entries += 1
        if cls == self.emergency_class:
            ratio = self.lh[f].occ / self.lh[f].storage
            if ratio > 1.0:
                ratio = 1.0
            factor = 1.0 + self.clock[T_EMERGENCY_CONGESTION] * ratio
            self.veh[v].ready = t + self.free_flow[cls, f] * factor
            self.push(self.m + self.n + v, self.veh[v].ready)
            return
        self.veh[v].ready = t + self.free_flow[cls, f]
        self.veh[v].next = -1
        if self.lh[f].q_tail < 0:
            self.lh[f].q_head = v
        else:
            self.veh[self.lh[f].q_tail].next = v
        self.lh[f].q_tail = v
        self.occ_change(f, t, self.class_pcu[cls])
        if self.lh[f].q_head == v and self.item_state[f] == IDLE:
            self.push_link(f, t)

    cdef void leave(self, int64_t v, int64_t e, double t, bint serve=True) noexcept nogil:
        cdef int64_t cls = self.veh[v].cls
        cdef double pcu
        self.lc[e].st_exits += 1
        self.lc[e].st_len += self.lc[e].length
        self.lc[e].st_time += t - self.veh[v].enter
        self.lc[e].cum_len += self.lc[e].length
        self.veh[v].dist += self.lc[e].length
        self.veh[v].fftime += self.free_flow[cls, e]
        self.counts[C_TRAVERSALS] += 1
        self.clock[T_LAST_MOVE] = t
        if cls == self.emergency_class:
            return
        self.lh[e].q_head = self.veh[v].next
        if self.lh[e].q_head < 0:
            self.lh[e].q_tail = -1
        self.veh[v].next = -1
        pcu = self.class_pcu[cls]
        self.occ_change(e, t, -pcu)
        if self.lh[e].q_head < 0:
            self.lh[e].occ = 0.0
        if serve:
            self.lh[e].next_free = t + pcu * self.lh[e].headway

    cdef inline void finish(self, int64_t v, double t, int8_t state) noexcept nogil:
        self.v_state[v] = state
        self.veh[v].link = -1
        self.counts[C_ON_NETWORK] -= 1
        if state == ARRIVED:
            self.veh[v].arrive = t
            self.counts[C_ARRIVED] += 1
        else:
            self.counts[C_UNROUTABLE] += 1
        self.row_active[self.veh[v].row] -= 1

    cdef inline bint must_wait(self, int64_t f, int64_t item, double pcu, double t) noexcept nogil:
        if self.has_space(f, pcu):
            return False
        if self.block_t[item] < 0:
            self.block_t[item] = t
            return True
        if t - self.block_t[item] >= self.clock[T_RELIEF]:
            self.counts[C_FORCED] += 1
            return False
        return True

    cdef inline void after_exit(self, int64_t e, double t) noexcept nogil:
        self.block_t[e] = -1.0
        if self.lh[e].w_head >= 0:
            self.wake(e, t)
        if self.lh[e].q_head >= 0 and self.item_state[e] == IDLE:
            self.push_link(e, t)

    cdef inline int64_t route_row(self, int64_t v) noexcept nogil:
        """Row of vehicle ``v``'s routes: its destination row in its class's group."""
        return self.class_group[self.veh[v].cls] * self.row_stride + self.veh[v].row

    # -- events ----------------------------------------------------------------------------
    cdef void process_link(self, int64_t e, double t) noexcept nogil:
        cdef int64_t v = self.lh[e].q_head
        cdef int64_t h = self.lh[e].head
        cdef int64_t f
        if h == self.veh[v].dest:
            self.leave(v, e, t, False)
            self.finish(v, t, ARRIVED)
            self.after_exit(e, t)
            return
        f = self.next_edge[self.route_row(v), h]
        if f < 0 or (self.closed[f] >> self.veh[v].cls) & 1:
            self.leave(v, e, t)
            self.finish(v, t, STRANDED)
            self.after_exit(e, t)
            return
        if self.must_wait(f, e, self.class_pcu[self.veh[v].cls], t):
            self.block(f, e)
            return
        self.leave(v, e, t)
        self.enter(v, f, t)
        self.after_exit(e, t)

    cdef void process_source(self, int64_t o, double t) noexcept nogil:
        cdef int64_t v = self.s_head[o]
        cdef int64_t f = self.next_edge[self.route_row(v), o]
        cdef bint shut = f < 0 or (self.closed[f] >> self.veh[v].cls) & 1
        if not shut and self.must_wait(
            f, self.m + o, self.class_pcu[self.veh[v].cls], t
        ):
            self.block(f, self.m + o)
            return
        self.block_t[self.m + o] = -1.0
        self.s_head[o] = self.veh[v].next
        if self.s_head[o] < 0:
            self.s_tail[o] = -1
        self.veh[v].next = -1
        self.counts[C_WAITING] -= 1
        if shut:
            self.v_state[v] = UNROUTABLE
            self.counts[C_UNROUTABLE] += 1
            self.row_active[self.veh[v].row] -= 1
        else:
            self.v_state[v] = ON_NETWORK
            self.counts[C_ON_NETWORK] += 1
            self.clock[T_LAST_MOVE] = t
            self.enter(v, f, t)
        if self.s_head[o] >= 0:
            self.push_source(o, t)

    cdef void process_emergency(self, int64_t v, double t) noexcept nogil:
        cdef int64_t e = self.veh[v].link
        cdef int64_t h = self.lh[e].head
        cdef int64_t f
        self.leave(v, e, t)
        if h == self.veh[v].dest:
            self.finish(v, t, ARRIVED)
            return
        f = self.next_edge[self.route_row(v), h]
        if f < 0 or (self.closed[f] >> self.veh[v].cls) & 1:
            self.finish(v, t, STRANDED)
            return
        self.enter(v, f, t)

    cdef void release(self, int64_t v) noexcept nogil:
        cdef double t = self.veh[v].depart
        cdef int64_t o = self.veh[v].origin
        cdef int64_t f
        self.counts[C_DEPARTED] += 1
        self.row_active[self.veh[v].row] += 1
        if o == self.veh[v].dest:
            self.v_state[v] = ARRIVED
            self.veh[v].arrive = t
            self.counts[C_ARRIVED] += 1
            self.row_active[self.veh[v].row] -= 1
            return
        if self.veh[v].cls == self.emergency_class:
            f = self.next_edge[self.route_row(v), o]
            if f < 0 or (self.closed[f] >> self.veh[v].cls) & 1:
                self.v_state[v] = UNROUTABLE
                self.counts[C_UNROUTABLE] += 1
                self.row_active[self.veh[v].row] -= 1
                return
            self.v_state[v] = ON_NETWORK
            self.counts[C_ON_NETWORK] += 1
            self.enter(v, f, t)
            return
        self.v_state[v] = WAITING
        self.counts[C_WAITING] += 1
        self.veh[v].next = -1
        if self.s_tail[o] < 0:
            self.s_head[o] = v
        else:
            self.veh[self.s_tail[o]].next = v
        self.s_tail[o] = v
        if self.item_state[self.m + o] == IDLE:
            self.push_source(o, t)

    cdef void run(self, double t_end, const int64_t[::1] inject) noexcept nogil:
        cdef Py_ssize_t i
        cdef int64_t v, item
        cdef int64_t mn = self.m + self.n
        cdef double t
        for i in range(inject.shape[0]):
            self.release(inject[i])
        while self.counts[C_RELEASED] < self.counts[C_ORDER]:
            v = self.order[self.counts[C_RELEASED]]
            if self.veh[v].depart >= t_end:
                break
            self.counts[C_RELEASED] += 1
            self.release(v)
        while self.counts[C_HEAP_SIZE] > 0 and self.heap[0].time < t_end:
            item = self.pop(&t)
            if item < self.m:
                self.process_link(item, t)
            elif item < mn:
                self.process_source(item - self.m, t)
            else:
                self.process_emergency(item - mn, t)
        self.clock[T_NOW] = t_end

    # -- Python entry points ---------------------------------------------------------------
    def advance(self, double t_end, const int64_t[::1] inject):
        with nogil:
            self.run(t_end, inject)

    def wake_all(self, double t):
        cdef int64_t e
        with nogil:
            for e in range(self.m):
                if self.lh[e].w_head >= 0:
                    self.wake(e, t)

    def queued_pcu(self, double now, double[::1] out):
        cdef int64_t e, v
        cdef double total
        with nogil:
            for e in range(self.m):
                v = self.lh[e].q_head
                total = 0.0
                while v >= 0:
                    if self.veh[v].ready <= now:
                        total += self.class_pcu[self.veh[v].cls]
                    v = self.veh[v].next
                out[e] = total
