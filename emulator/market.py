"""Daily bars from a factor model, generated lazily in blocks of sessions.

Returns are market + sector + idiosyncratic, each with GARCH(1,1) volatility and Student-t
shocks. The path (price level, volatility) is carried from block to block; the state at the
start of every block that was ever computed for the whole market is kept as a checkpoint, so
a cold date costs at most the blocks since the nearest checkpoint, and memory holds only
those small state vectors plus two bounded caches:

* whole-market blocks (for grouped daily and market-wide news), and
* single-slot blocks (for per-ticker ranges), computed with the very same code on a
  one-slot subset, so a ticker's history equals its rows in the grouped files bit for bit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from . import rng
from .calendar import Calendar
from .universe import MAX_SPLITS, N_SECTORS, NEVER, Universe

BLOCK = 32
S_EPS, S_OPEN, S_HIGH, S_LOW, S_VW, S_VOL, S_NEWS, S_TONE1, S_TONE2, S_MISS = range(10)
N_STREAMS = 10
# fields of a computed block, packed as (N_FIELDS, BLOCK, n)
F_O, F_H, F_L, F_C, F_VW, F_V, F_N, F_PC, F_RET, F_TONE, F_NEWS, F_GEN, F_MISS = range(13)
N_FIELDS = 13
MAX_NEWS = 6

GARCH_A, GARCH_B = 0.07, 0.91
# factor 0 is the market, 1..11 the sectors
F_MU = np.array([0.0003] + [0.0] * N_SECTORS)
F_VAR = np.array([0.009**2] + [0.006**2] * N_SECTORS)
F_A = np.array([0.09] + [0.06] * N_SECTORS)
F_B = np.array([0.89] + [0.90] * N_SECTORS)
F_OMEGA = F_VAR * (1.0 - F_A - F_B)


def round_price(x: np.ndarray) -> np.ndarray:
    """Cents from $1 up, four decimals below (sub-dollar quoting)."""
    return np.where(x >= 1.0, np.round(x, 2), np.round(x, 4))


class Market:
    def __init__(
        self,
        seed: int,
        universe: Universe,
        calendar: Calendar,
        planted_signal: float = 0.0,
        cache_mb: int = 96,
    ):
        self.seed = seed
        self.uni = universe
        self.cal = calendar
        self.planted = float(planted_signal)
        self.n = universe.n
        self.lock = threading.RLock()
        u = universe
        self.checkpoints: dict[int, tuple[np.ndarray, ...]] = {
            0: (u.price0[0].copy(), u.idio[0] ** 2, *(np.zeros(self.n) for _ in range(4)))
        }
        self._factor_blocks: list[np.ndarray] = []
        self._factor_h = F_VAR.copy()
        block_bytes = N_FIELDS * BLOCK * self.n * 8
        self._full: OrderedDict[int, np.ndarray] = OrderedDict()
        self._full_cap = max(2, min(64, int(cache_mb * 2**20 * 2 / 3 // block_bytes)))
        self._slot: OrderedDict[tuple[int, int], tuple[np.ndarray, tuple]] = OrderedDict()
        self._slot_cap = max(256, int(cache_mb * 2**20 / 3 // (N_FIELDS * BLOCK * 8 + 400)))

    # -- factors ------------------------------------------------------------------------------
    def factor_block(self, b: int) -> np.ndarray:
        """Market and sector returns for block b, shape (1 + N_SECTORS, BLOCK)."""
        with self.lock:
            while len(self._factor_blocks) <= b:
                k = len(self._factor_blocks)
                e = rng.t4(rng.generator(self.seed, rng.FACTOR_DRAWS, k).random((1 + N_SECTORS, BLOCK)))
                h = self._factor_h
                out = np.empty((1 + N_SECTORS, BLOCK))
                for j in range(BLOCK):
                    x = np.sqrt(h) * e[:, j]
                    out[:, j] = F_MU + x
                    h = F_OMEGA + F_A * x * x + F_B * h
                self._factor_h = h
                self._factor_blocks.append(out)
            return self._factor_blocks[b]

    # -- the block computation ----------------------------------------------------------------
    def _compute(
        self, b: int, slots: np.ndarray | None, state: tuple, full: bool = True
    ) -> tuple[np.ndarray | None, tuple]:
        """Advance `state` through block b; with full=False only the path, not the bars."""
        uni = self.uni
        L = BLOCK
        t0 = b * L
        self.cal.ensure_count(t0 + L)
        ts = np.arange(t0, t0 + L)
        sl = np.arange(self.n) if slots is None else np.asarray(slots)
        n = len(sl)

        # Each stream is drawn slot-major, (n, L) and contiguous whether n is the whole market
        # or one slot, and transcendental functions only ever see that layout: both paths then
        # give identical bits.
        def stream(s: int) -> np.ndarray:
            return rng.slot_uniforms(self.seed, (rng.SLOT_DRAWS, b, s), self.n, L, slots)

        eps = rng.t4(stream(S_EPS)).T.copy()
        tone_noise = rng.normal(stream(S_TONE1), stream(S_TONE2)).T.copy()
        u_news = stream(S_NEWS).T.copy()

        gens = uni.gen_at(ts, sl)  # (L, n)
        gen_start = uni.starts[sl][np.arange(n)[None, :], gens]
        start_mask = gen_start == ts[:, None]

        ssess, sratio, sgen = uni.split_sess[sl], uni.split_ratio[sl], uni.split_gen[sl]
        split_k = np.ones((L, n))
        for i, e in zip(*np.nonzero((ssess >= t0) & (ssess < t0 + L)), strict=True):
            j = ssess[i, e] - t0
            if gens[j, i] == sgen[i, e]:
                split_k[j, i] = sratio[i, e]

        attr_src = (
            uni.mu,
            uni.beta,
            uni.gamma,
            uni.idio,
            uni.sector,
            uni.lam,
            uni.tot_vol,
            uni.price0,
            uni.dyield,
            uni.phase,
            uni.shares0,
            uni.turnover,
            uni.trade,
        )
        g0 = gens[0]
        attrs = [a[g0, sl] for a in attr_src]
        gstart = gen_start[0].copy()

        fb = self.factor_block(b)
        # tone and news count of the previous session (p) and the one before it (pp)
        price, h, tone_p, news_p, tone_pp, news_pp = (x.copy() for x in state)
        rec = np.empty((9, L, n))  # base, close, pc, sig, ret, tone, news, shares, trade
        turnover_rec = np.empty((L, n))
        planted = self.planted
        for j in range(L):
            sm = start_mask[j]
            if sm.any():
                idx = np.nonzero(sm)[0]
                gj = gens[j, idx]
                for a, src in zip(attrs, attr_src, strict=True):
                    a[idx] = src[gj, sl[idx]]
                gstart[idx] = ts[j]
                price = np.where(sm, attrs[7], price)
                h = np.where(sm, attrs[3] * attrs[3], h)
                tone_p, tone_pp = np.where(sm, 0.0, tone_p), np.where(sm, 0.0, tone_pp)
                news_p, news_pp = np.where(sm, 0.0, news_p), np.where(sm, 0.0, news_pp)
            mu, beta, gamma, idio, sector, lam, tot_vol, _, dy, phase, shares, turnover, trade = attrs
            t = ts[j]
            sig = np.sqrt(h)
            shock = sig * eps[j]
            r = mu + beta * fb[0, j] + gamma * fb[1 + sector, j] + shock
            if planted:
                # News of session t is published after t's close; the first close-to-close
                # return a trader who read it by a close can still earn is t+2's.
                r = r + planted * idio * tone_pp * (news_pp > 0)
            r = np.clip(r, -0.8, 1.5)
            divq = np.where((dy > 0) & ((t - phase) % 63 == 0) & (t > gstart), dy * 0.25, 0.0)
            pc = price / split_k[j]
            base = pc * (1.0 - divq)
            close = np.maximum(base * (1.0 + r), 0.05)
            z = r / tot_vol
            x = 0.9 * z + 0.5 * tone_noise[j]
            tone = x / np.sqrt(1.0 + x * x)
            lj = lam * (1.0 + 0.6 * np.abs(z))
            p = lj / (1.0 + lj)
            cnt = np.zeros(n)
            pk = p
            for _ in range(MAX_NEWS):
                cnt = cnt + (u_news[j] < pk)
                pk = pk * p
            rec[0, j], rec[1, j], rec[2, j], rec[3, j], rec[4, j] = base, close, pc, sig, r
            rec[5, j], rec[6, j], rec[7, j], rec[8, j] = tone, cnt, shares, trade
            turnover_rec[j] = turnover
            h = idio * idio * (1.0 - GARCH_A - GARCH_B) + GARCH_A * shock * shock + GARCH_B * h
            price, tone_pp, news_pp, tone_p, news_p = close, tone_p, news_p, tone, cnt

        if not full:
            return None, (price, h, tone_p, news_p, tone_pp, news_pp)
        base_rec, close_rec, pc_rec, sig_rec, ret_rec, tone_rec, news_rec, shares_rec, trade_rec = rec
        share_mult = np.ones((L, n))
        for e in range(MAX_SPLITS):
            hit = (sgen[:, e][None, :] == gens) & (ssess[:, e][None, :] <= ts[:, None])
            if hit.any():
                share_mult = np.where(hit, share_mult * sratio[:, e][None, :], share_mult)
        out = np.empty((N_FIELDS, L, n))
        zo = rng.logit(stream(S_OPEN)).T.copy()
        open_raw = np.maximum(base_rec * (1.0 + 0.3 * ret_rec + 0.35 * sig_rec * zo), 0.05 * base_rec)
        e_h = (-np.log(np.clip(stream(S_HIGH), 1e-300, 1.0))).T.copy()
        e_l = (-np.log(np.clip(stream(S_LOW), 1e-300, 1.0))).T.copy()
        hi_raw = np.maximum(open_raw, close_rec) * (1.0 + 0.45 * sig_rec * e_h)
        lo_raw = np.minimum(open_raw, close_rec) * (1.0 - np.minimum(0.6, 0.45 * sig_rec * e_l))
        c = round_price(close_rec)
        o = round_price(open_raw)
        hh = np.maximum(np.maximum(round_price(hi_raw), o), c)
        ll = np.maximum(np.minimum(np.minimum(round_price(lo_raw), o), c), 0.0001)
        frac = np.clip(0.5 + 0.18 * rng.logit(stream(S_VW)), 0.02, 0.98).T.copy()
        vw = np.round(ll + (hh - ll) * frac, 4)
        early = self.cal.early[t0 : t0 + L][:, None]
        noise = np.exp(0.35 * rng.logit(stream(S_VOL))).T.copy()
        tot = np.sqrt(sig_rec * sig_rec + 0.0001)
        vol = (
            shares_rec
            * share_mult
            * turnover_rec
            * noise
            * (1.0 + 0.5 * np.abs(ret_rec) / tot)
            * np.where(early, 0.55, 1.0)
            * np.where(start_mask, 4.0, 1.0)
        )
        vol = np.maximum(np.round(vol), 100.0)
        out[F_O], out[F_H], out[F_L], out[F_C], out[F_VW], out[F_V] = o, hh, ll, c, vw, vol
        out[F_N] = np.maximum(1.0, np.round(vol / trade_rec))
        out[F_PC] = round_price(pc_rec)
        out[F_RET], out[F_TONE], out[F_NEWS] = ret_rec, tone_rec, news_rec
        out[F_GEN] = gens
        out[F_MISS] = (stream(S_MISS) < 0.004).T.copy()
        return out, (price, h, tone_p, news_p, tone_pp, news_pp)

    # -- caches ---------------------------------------------------------------------------------
    def _ensure_checkpoint(self, b: int) -> None:
        if b in self.checkpoints:
            return
        c = max(k for k in self.checkpoints if k < b)
        for k in range(c, b):
            _, self.checkpoints[k + 1] = self._compute(k, None, self.checkpoints[k], full=False)

    def full_block(self, b: int) -> np.ndarray:
        """All slots for block b: (N_FIELDS, BLOCK, n)."""
        with self.lock:
            hit = self._full.get(b)
            if hit is not None:
                self._full.move_to_end(b)
                return hit
            self._ensure_checkpoint(b)
            out, state = self._compute(b, None, self.checkpoints[b])
            self.checkpoints[b + 1] = state
            self._full[b] = out
            while len(self._full) > self._full_cap:
                self._full.popitem(last=False)
            return out

    def slot_block(self, slot: int, b: int) -> np.ndarray:
        """One slot for block b: (N_FIELDS, BLOCK)."""
        with self.lock:
            full = self._full.get(b)
            if full is not None:
                return full[:, :, slot]
            key = (slot, b)
            hit = self._slot.get(key)
            if hit is not None and hit[0] is not None:
                self._slot.move_to_end(key)
                return hit[0]
            c = b
            while c > 0 and c not in self.checkpoints and (slot, c - 1) not in self._slot:
                c -= 1
            if c in self.checkpoints:
                state = tuple(x[slot : slot + 1] for x in self.checkpoints[c])
            else:
                state = self._slot[(slot, c - 1)][1]
            idx = np.array([slot])
            for k in range(c, b + 1):
                prev = self._slot.get((slot, k))
                if prev is not None and k < b:
                    state = prev[1]
                    continue
                out, state = self._compute(k, idx, state, full=(k == b))
                self._slot[(slot, k)] = (None if out is None else out[:, :, 0], state)
            while len(self._slot) > self._slot_cap:
                self._slot.popitem(last=False)
            return self._slot[key][0]

    # -- reading -----------------------------------------------------------------------------------
    def row(self, t: int) -> np.ndarray:
        """Every slot on session t: (N_FIELDS, n)."""
        b, j = divmod(t, BLOCK)
        return self.full_block(b)[:, j, :]

    def column(self, slot: int, t_from: int, t_to: int) -> np.ndarray:
        """One slot over sessions t_from..t_to inclusive: (N_FIELDS, t_to - t_from + 1)."""
        if t_to < t_from:
            return np.empty((N_FIELDS, 0))
        parts = []
        for b in range(t_from // BLOCK, t_to // BLOCK + 1):
            blk = self.slot_block(slot, b)
            lo = max(t_from - b * BLOCK, 0)
            hi = min(t_to - b * BLOCK, BLOCK - 1)
            parts.append(blk[:, lo : hi + 1])
        return np.concatenate(parts, axis=1)

    # -- corporate actions ---------------------------------------------------------------------------
    def split_factor(self, slots: np.ndarray, gens: np.ndarray, t: np.ndarray, now_idx: int) -> np.ndarray:
        """Product of split ratios of the same listing after session t up to now_idx.

        Dividing an as-traded price by it gives the price adjusted for splits known today.
        """
        uni = self.uni
        f = np.ones(np.broadcast(slots, t).shape)
        for e in range(MAX_SPLITS):
            s = uni.split_sess[slots, e]
            hit = (uni.split_gen[slots, e] == gens) & (s > t) & (s <= now_idx) & (s < NEVER)
            f = np.where(hit, f * uni.split_ratio[slots, e], f)
        return f

    def dividend_sessions(self, slot: int, gen: int, t_from: int, t_to: int) -> list[tuple[int, float]]:
        """(ex-date session, quarterly yield) of a listing's dividends in a window."""
        uni = self.uni
        dy = float(uni.dyield[gen, slot])
        if dy <= 0:
            return []
        start = max(t_from, int(uni.starts[slot, gen]) + 1)
        end = min(t_to, int(uni.ends[slot, gen]))
        phase = int(uni.phase[gen, slot])
        first = start + ((phase - start) % 63)
        return [(t, dy / 4.0) for t in range(first, end + 1, 63)]
