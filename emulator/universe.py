"""The listed universe: N slots, each holding exactly one listed ticker on every session.

A slot's tickers follow each other: when one delists, a newly IPO'd ticker takes the slot
from the next session. Everything is drawn per slot, so slot i looks the same whatever N is
(only the symbols of later listings depend on N, since they are handed out in listing order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from . import rng

GENERATIONS = 4  # listings per slot that are ever drawn; the last one never delists
NEVER = 1 << 40
DELIST_RATE = 0.035 / 252  # per slot per session
SPLIT_RATE = 0.012 / 252
MAX_SPLITS = 3

# (sector, Alpha Vantage sector, [(industry, Finnhub industry, Alpha Vantage industry)], weight)
SECTORS: list[tuple[str, str, list[tuple[str, str, str]], float]] = [
    (
        "Information Technology",
        "TECHNOLOGY",
        [
            ("Software", "Technology", "SERVICES-PREPACKAGED SOFTWARE"),
            ("Semiconductors", "Semiconductors", "SEMICONDUCTORS & RELATED DEVICES"),
            ("Technology Hardware", "Technology", "ELECTRONIC COMPUTERS"),
            ("IT Services", "Technology", "SERVICES-COMPUTER PROGRAMMING SERVICES"),
        ],
        0.14,
    ),
    (
        "Health Care",
        "LIFE SCIENCES",
        [
            ("Pharmaceuticals", "Pharmaceuticals", "PHARMACEUTICAL PREPARATIONS"),
            ("Biotechnology", "Biotechnology", "BIOLOGICAL PRODUCTS, (NO DIAGNOSTIC SUBSTANCES)"),
            ("Medical Devices", "Health Care", "SURGICAL & MEDICAL INSTRUMENTS & APPARATUS"),
            ("Health Care Providers", "Health Care", "HOSPITAL & MEDICAL SERVICE PLANS"),
        ],
        0.16,
    ),
    (
        "Financials",
        "FINANCE",
        [
            ("Banks", "Banking", "NATIONAL COMMERCIAL BANKS"),
            ("Insurance", "Insurance", "FIRE, MARINE & CASUALTY INSURANCE"),
            ("Capital Markets", "Financial Services", "SECURITY BROKERS, DEALERS & FLOTATION COMPANIES"),
            ("Consumer Finance", "Financial Services", "PERSONAL CREDIT INSTITUTIONS"),
        ],
        0.14,
    ),
    (
        "Consumer Discretionary",
        "TRADE & SERVICES",
        [
            ("Retail", "Retail", "RETAIL-CATALOG & MAIL-ORDER HOUSES"),
            ("Automobiles", "Automobiles", "MOTOR VEHICLES & PASSENGER CAR BODIES"),
            ("Hotels & Leisure", "Hotels, Restaurants & Leisure", "HOTELS & MOTELS"),
            ("Apparel", "Textiles, Apparel & Luxury Goods", "APPAREL & OTHER FINISHD PRODS OF FABRICS"),
        ],
        0.11,
    ),
    (
        "Communication Services",
        "TECHNOLOGY",
        [
            ("Media", "Media", "SERVICES-MOTION PICTURE & VIDEO TAPE PRODUCTION"),
            ("Telecom", "Telecommunication", "TELEPHONE COMMUNICATIONS (NO RADIOTELEPHONE)"),
            ("Interactive Media", "Media", "SERVICES-COMPUTER PROGRAMMING, DATA PROCESSING, ETC."),
        ],
        0.05,
    ),
    (
        "Industrials",
        "MANUFACTURING",
        [
            ("Machinery", "Machinery", "CONSTRUCTION, MINING & MATERIALS HANDLING MACHINERY & EQUIP"),
            ("Aerospace & Defense", "Aerospace & Defense", "GUIDED MISSILES & SPACE VEHICLES & PARTS"),
            ("Transportation", "Logistics & Transportation", "TRUCKING (NO LOCAL)"),
            ("Building Products", "Building", "GENERAL BLDG CONTRACTORS - RESIDENTIAL BLDGS"),
        ],
        0.13,
    ),
    (
        "Consumer Staples",
        "MANUFACTURING",
        [
            ("Food Products", "Food Products", "FOOD AND KINDRED PRODUCTS"),
            ("Beverages", "Beverages", "BEVERAGES"),
            (
                "Household Products",
                "Consumer products",
                "SOAP, DETERGENTS, CLEANG PREPARATIONS, PERFUMES, COSMETICS",
            ),
        ],
        0.06,
    ),
    (
        "Energy",
        "ENERGY & TRANSPORTATION",
        [
            ("Oil & Gas", "Energy", "CRUDE PETROLEUM & NATURAL GAS"),
            ("Energy Equipment", "Energy", "OIL & GAS FIELD SERVICES, NEC"),
            ("Refining", "Energy", "PETROLEUM REFINING"),
        ],
        0.05,
    ),
    (
        "Utilities",
        "ENERGY & TRANSPORTATION",
        [
            ("Electric Utilities", "Utilities", "ELECTRIC SERVICES"),
            ("Gas Utilities", "Utilities", "NATURAL GAS DISTRIBUTION"),
            ("Water Utilities", "Utilities", "WATER SUPPLY"),
        ],
        0.03,
    ),
    (
        "Real Estate",
        "REAL ESTATE & CONSTRUCTION",
        [
            ("REITs", "Real Estate", "REAL ESTATE INVESTMENT TRUSTS"),
            ("Real Estate Services", "Real Estate", "REAL ESTATE AGENTS & MANAGERS (FOR OTHERS)"),
        ],
        0.06,
    ),
    (
        "Materials",
        "MANUFACTURING",
        [
            ("Chemicals", "Chemicals", "CHEMICALS & ALLIED PRODUCTS"),
            ("Metals & Mining", "Metals & Mining", "METAL MINING"),
            ("Packaging", "Packaging", "PAPER MILLS"),
        ],
        0.05,
    ),
]
SECTOR_NAMES = [s[0] for s in SECTORS]
N_SECTORS = len(SECTORS)

TYPES = ["CS", "ETF", "ADRC"]
EXCHANGES = ["XNYS", "XNAS", "XASE", "ARCX", "BATS"]
ADR_COUNTRIES = ["GB", "DE", "JP", "CN", "FR", "NL", "CH", "IN", "BR", "KR"]

# Pinned slots: well-known, awkward or one-letter symbols that never delist.
# (symbol, name, type, exchange, sector, industry index, market cap, price at market start, ipo)
PINNED = [
    ("AAPL", "Apple Inc.", "CS", "XNAS", 0, 2, 6.4e11, 109.33, "1980-12-12"),
    ("MSFT", "Microsoft Corporation", "CS", "XNAS", 0, 0, 3.8e11, 46.76, "1986-03-13"),
    ("IBM", "International Business Machines Corporation", "CS", "XNYS", 0, 3, 1.6e11, 162.06, "1915-11-11"),
    ("BRK.B", "Berkshire Hathaway Inc. Class B", "CS", "XNYS", 2, 1, 3.6e11, 149.17, "1996-05-09"),
    ("BF-B", "Brown-Forman Corporation Class B", "CS", "XNYS", 6, 1, 1.9e10, 88.63, "1972-06-01"),
    ("F", "Ford Motor Company", "CS", "XNYS", 3, 1, 6.1e10, 15.36, "1972-06-01"),
    ("T", "AT&T Inc.", "CS", "XNYS", 4, 1, 1.7e11, 33.87, "1983-11-21"),
    ("SPY", "SPDR S&P 500 ETF Trust", "ETF", "ARCX", 0, 0, 1.9e11, 205.43, "1993-01-29"),
    ("BP", "BP p.l.c. American Depositary Shares", "ADRC", "XNYS", 7, 0, 1.2e11, 38.45, "1977-03-28"),
    ("C", "Citigroup Inc.", "CS", "XNYS", 2, 0, 1.6e11, 54.26, "1986-10-29"),
]
# A known split for tests to find: AAPL's 4-for-1 of 2020-08-31.
PINNED_SPLITS = {"AAPL": [("2020-08-31", 4.0)]}

_ROOTS_A = [
    "Al",
    "Ber",
    "Cor",
    "Dyn",
    "El",
    "Fal",
    "Gen",
    "Hor",
    "In",
    "Jun",
    "Kel",
    "Lum",
    "Mer",
    "Nov",
    "Or",
    "Pen",
    "Quan",
    "Ros",
    "Sol",
    "Ter",
    "Ul",
    "Ver",
    "Wes",
    "Xen",
    "Yor",
    "Zen",
    "Ar",
    "Bel",
    "Cal",
    "Dar",
]
_ROOTS_B = ["a", "e", "i", "o", "u", "ar", "en", "is", "on", "el", "ri", "ta"]
_ROOTS_C = [
    "tech",
    "ron",
    "dex",
    "tis",
    "ra",
    "lo",
    "via",
    "nix",
    "gen",
    "cor",
    "tas",
    "ley",
    "mont",
    "field",
    "stone",
    "way",
    "bridge",
    "point",
]
_SECTOR_WORDS = [
    ["Systems", "Software", "Technologies", "Networks", "Micro", "Semiconductor", "Data"],
    ["Therapeutics", "Pharmaceuticals", "Biosciences", "Medical", "Health", "Genomics"],
    ["Bancorp", "Financial", "Capital", "Insurance Group", "Trust", "Bancshares"],
    ["Brands", "Retail", "Motors", "Resorts", "Outfitters", "Stores"],
    ["Media", "Communications", "Entertainment", "Interactive", "Broadcasting"],
    ["Industries", "Aerospace", "Logistics", "Machinery", "Engineering", "Manufacturing"],
    ["Foods", "Beverage", "Consumer Products", "Farms", "Household"],
    ["Energy", "Petroleum", "Oil & Gas", "Resources", "Drilling"],
    ["Utilities", "Power", "Electric", "Water", "Gas"],
    ["Realty", "Properties", "REIT", "Land", "Residential"],
    ["Materials", "Chemicals", "Mining", "Metals", "Packaging"],
]
_SUFFIXES = ["Inc.", "Corp.", "Holdings Inc.", "Co.", "Group Inc.", "Ltd.", "Corporation"]
_ETF_THEMES = [
    "Broad Market",
    "Total Market",
    "Dividend Growth",
    "Momentum",
    "Low Volatility",
    "Small-Cap",
    "Mid-Cap",
    "Value",
    "Quality",
    "Equal Weight",
]
_ETF_SPONSORS = ["Summit", "Harbor", "Granite", "Beacon", "Crescent", "Atlas", "Meridian"]

# Attribute columns drawn per (slot, generation).
(
    A_TYPE,
    A_EXCH,
    A_SECTOR,
    A_INDUSTRY,
    A_CAP,
    A_PRICE,
    A_VOL,
    A_BETA,
    A_GAMMA,
    A_MU,
    A_PAY,
    A_YIELD,
    A_PHASE,
    A_TRADE,
    A_TURN,
    A_EY,
    A_BP,
    A_IPO,
    A_MISC,
    A_COUNTRY,
) = range(20)
N_ATTRS = 20


@dataclass(frozen=True)
class Listing:
    slot: int
    gen: int
    symbol: str
    name: str
    type: str
    exchange: str
    sector: int
    industry: int
    country: str
    ipo: dt.date
    start: int  # first session index (negative for listings older than the market start)
    end: int  # last session index (NEVER when it never delists)
    cik: str
    composite_figi: str
    share_class_figi: str

    @property
    def sector_name(self) -> str:
        return "" if self.type == "ETF" else SECTORS[self.sector][0]

    @property
    def industry_name(self) -> str:
        return "Exchange Traded Fund" if self.type == "ETF" else SECTORS[self.sector][2][self.industry][0]


def _letters(index: int, length: int) -> str:
    out = []
    for _ in range(length):
        index, rem = divmod(index, 26)
        out.append(chr(65 + rem))
    return "".join(reversed(out))


class Universe:
    def __init__(self, seed: int, n: int, market_start: dt.date, session_date):
        """`session_date(idx)` maps a session index to its date (the calendar's)."""
        self.seed = seed
        self.n = n
        self.market_start = market_start
        self._session_date = session_date
        self.n_pinned = min(n, len(PINNED))
        K = GENERATIONS

        attrs = np.empty((K, n, N_ATTRS))
        for k in range(K):
            attrs[k] = rng.slot_uniforms(seed, (rng.ATTRIBUTES, k), n, N_ATTRS)
        self._u = attrs
        self._derive_attributes()

        life = rng.slot_uniforms(seed, (rng.LIFETIMES,), n, K)
        lengths = np.floor(-np.log(np.clip(life, 1e-300, 1.0)) / DELIST_RATE).astype(np.int64)
        lengths[:, 1:] += 40
        self.starts = np.empty((n, K), dtype=np.int64)
        self.ends = np.empty((n, K), dtype=np.int64)
        self.starts[:, 0] = -NEVER
        self.ends[:, 0] = lengths[:, 0]
        for k in range(1, K):
            self.starts[:, k] = self.ends[:, k - 1] + 1
            self.ends[:, k] = self.starts[:, k] + lengths[:, k]
        self.ends[:, K - 1] = NEVER
        self.ends[: self.n_pinned, 0] = NEVER
        self.starts[: self.n_pinned, 1:] = NEVER
        self.ends[: self.n_pinned, 1:] = NEVER
        self._assign_symbols()
        self._draw_splits()

    # -- attributes -----------------------------------------------------------------------
    def _derive_attributes(self) -> None:
        u = self._u
        K, n = u.shape[:2]
        typ = np.where(u[..., A_TYPE] < 0.06, 1, np.where(u[..., A_TYPE] < 0.10, 2, 0))
        exch = np.where(u[..., A_EXCH] < 0.38, 0, np.where(u[..., A_EXCH] < 0.93, 1, 2))
        exch = np.where(typ == 1, np.where(u[..., A_EXCH] < 0.8, 3, 4), exch)
        exch = np.where(typ == 2, np.where(u[..., A_EXCH] < 0.5, 0, 1), exch)
        weights = np.cumsum([s[3] for s in SECTORS])
        sector = np.minimum(np.searchsorted(weights / weights[-1], u[..., A_SECTOR]), N_SECTORS - 1)
        n_ind = np.array([len(s[2]) for s in SECTORS])
        industry = np.floor(u[..., A_INDUSTRY] * n_ind[sector]).astype(np.int64)
        cap = np.clip(np.exp(np.log(1.2e9) + 1.9 * rng.logit(u[..., A_CAP])), 2e7, 2e12)
        price = np.clip(np.exp(np.log(28.0) + 0.9 * rng.logit(u[..., A_PRICE])), 0.6, 900.0)
        idio = np.clip(0.022 * (cap / 1e9) ** -0.12 * np.exp(0.25 * rng.logit(u[..., A_VOL])), 0.006, 0.09)
        beta = np.clip(1.0 + 0.3 * rng.logit(u[..., A_BETA]), 0.2, 2.2)
        gamma = np.clip(0.8 + 0.3 * rng.logit(u[..., A_GAMMA]), 0.0, 1.8)
        mu = 0.0002 + 0.0002 * rng.logit(u[..., A_MU])
        pay_p = np.where(cap > 1e10, 0.65, 0.25)
        payer = u[..., A_PAY] < np.where(typ == 1, 0.8, pay_p)
        dyield = np.where(payer, 0.005 + 0.04 * u[..., A_YIELD], 0.0)
        phase = np.floor(u[..., A_PHASE] * 63).astype(np.int64)
        trade = 60.0 + 200.0 * u[..., A_TRADE]
        turnover = np.where(typ == 1, 0.03, 0.004) + 0.012 * u[..., A_TURN]
        lam = np.clip(0.03 + 1.3 * np.sqrt(cap / 3e11), 0.03, 1.6)
        ey = 0.045 + 0.05 * rng.logit(u[..., A_EY])
        bp = 0.2 + 0.8 * u[..., A_BP]
        # ETFs: broad market exposure, little idiosyncratic noise, no earnings.
        idio = np.where(typ == 1, 0.0025, idio)
        beta = np.where(typ == 1, 1.0, beta)
        gamma = np.where(typ == 1, 0.0, gamma)
        mu = np.where(typ == 1, 0.0003, mu)

        for i, (_sym, _name, t, ex, sec, ind, pcap, pprice, _ipo) in enumerate(PINNED[: self.n_pinned]):
            typ[0, i] = TYPES.index(t)
            exch[0, i] = EXCHANGES.index(ex)
            sector[0, i] = sec
            industry[0, i] = ind
            cap[0, i] = pcap
            price[0, i] = pprice
            idio[0, i] = 0.0025 if t == "ETF" else 0.012
            beta[0, i] = 1.0
            gamma[0, i] = 0.0 if t == "ETF" else 0.8
            lam[0, i] = np.clip(0.03 + 1.3 * np.sqrt(pcap / 3e11), 0.03, 1.6)
        self.type, self.exch, self.sector, self.industry = typ, exch, sector, industry
        self.cap0, self.price0, self.idio, self.beta, self.gamma, self.mu = cap, price, idio, beta, gamma, mu
        self.shares0 = np.round(cap / price, -3)
        self.dyield, self.phase, self.trade, self.turnover, self.lam = dyield, phase, trade, turnover, lam
        self.ey, self.bp = ey, bp
        # total daily volatility, used to standardise returns for news tone
        self.tot_vol = np.sqrt((beta * 0.009) ** 2 + (gamma * 0.006) ** 2 + idio**2)

    # -- symbols ----------------------------------------------------------------------------
    def _assign_symbols(self) -> None:
        n, K = self.n, GENERATIONS
        used = {p[0] for p in PINNED}
        g = rng.generator(self.seed, rng.SYMBOLS)
        short_space = 26 + 26**2 + 26**3

        def short_symbol(i: int) -> str:
            if i < 26:
                return _letters(i, 1)
            if i < 26 + 676:
                return _letters(i - 26, 2)
            return _letters(i - 702, 3)

        state = {"short_used": 0}

        def draw(short: bool) -> str:
            if short and state["short_used"] < short_space * 0.7:
                while True:
                    sym = short_symbol(int(g.random() * short_space))
                    if sym not in used:
                        state["short_used"] += 1
                        break
            else:
                while True:
                    sym = _letters(int(g.random() * 26**4), 4)
                    if sym not in used:
                        break
            used.add(sym)
            return sym

        symbols = np.empty((n, K), dtype=object)
        for i in range(n):
            if i < self.n_pinned:
                symbols[i, 0] = PINNED[i][0]
            else:
                symbols[i, 0] = draw(self.exch[0, i] in (0, 2, 3))
        later = [(int(self.starts[i, k]), i, k) for i in range(self.n_pinned, n) for k in range(1, K)]
        later.sort()
        for _, i, k in later:
            symbols[i, k] = draw(self.exch[k, i] in (0, 2, 3))
        self.symbols = symbols
        self.by_symbol: dict[str, tuple[int, int]] = {}
        for i in range(n):
            for k in range(K):
                if symbols[i, k] is not None and self.starts[i, k] < NEVER:
                    self.by_symbol[symbols[i, k]] = (i, k)

    def lookup(self, symbol: str, strict: bool = False) -> tuple[int, int] | None:
        """(slot, generation) of a symbol; unless strict, '.' and '-' both pass as class separators."""
        if not symbol:
            return None
        sym = symbol.strip() if strict else symbol.strip().upper()
        hit = self.by_symbol.get(sym)
        if hit is None and not strict and ("." in sym or "-" in sym):
            hit = self.by_symbol.get(sym.replace(".", "-")) or self.by_symbol.get(sym.replace("-", "."))
        return hit

    # -- splits -----------------------------------------------------------------------------
    def _draw_splits(self) -> None:
        u = rng.slot_uniforms(self.seed, (rng.SPLITS,), self.n, 2 * MAX_SPLITS)
        gaps = np.floor(-np.log(np.clip(u[:, :MAX_SPLITS], 1e-300, 1.0)) / SPLIT_RATE).astype(np.int64)
        sess = np.cumsum(gaps, axis=1) + 1
        choice = u[:, MAX_SPLITS:]
        ratio = np.select(
            [choice < 0.5, choice < 0.65, choice < 0.8, choice < 0.9], [2.0, 3.0, 4.0, 10.0], 0.1
        )
        gen = np.zeros_like(sess)
        for k in range(1, GENERATIONS):
            gen += sess >= self.starts[:, k : k + 1]
        # a split on a listing's first session makes no sense; drop it
        first = self.starts[np.arange(self.n)[:, None], gen] == sess
        sess = np.where(first, NEVER, sess)
        sess[: self.n_pinned] = NEVER
        ratio[: self.n_pinned] = 1.0
        gen[: self.n_pinned] = 0
        self.split_sess, self.split_ratio, self.split_gen = sess, ratio, gen
        self._pinned_split_dates: dict[int, list[tuple[dt.date, float]]] = {}
        for i in range(self.n_pinned):
            for day, r in PINNED_SPLITS.get(PINNED[i][0], []):
                self._pinned_split_dates.setdefault(i, []).append((dt.date.fromisoformat(day), r))

    def resolve_pinned_splits(self, index_of) -> None:
        """Place the pinned splits once the calendar can map their dates to sessions."""
        for i, items in self._pinned_split_dates.items():
            for j, (day, r) in enumerate(items[:MAX_SPLITS]):
                idx = index_of(day)
                if idx is not None and idx > 0:
                    self.split_sess[i, j] = idx
                    self.split_ratio[i, j] = r
                    self.split_gen[i, j] = 0

    def splits_of(self, slot: int, gen: int) -> list[tuple[int, float]]:
        return sorted(
            (int(s), float(r))
            for s, r, g in zip(
                self.split_sess[slot], self.split_ratio[slot], self.split_gen[slot], strict=True
            )
            if s < NEVER and g == gen and self.starts[slot, gen] < s <= self.ends[slot, gen]
        )

    # -- who is where, when -----------------------------------------------------------------
    def gen_at(self, t: int | np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
        """Generation index listed in each slot at session(s) t: shape (len(t), n) or (n,)."""
        starts = self.starts if slots is None else self.starts[slots]
        t_arr = np.asarray(t)
        if t_arr.ndim == 0:
            return (starts[:, 1:] <= t_arr).sum(axis=1)
        return (starts[None, :, 1:] <= t_arr[:, None, None]).sum(axis=2)

    def listing(self, slot: int, gen: int) -> Listing:
        return _listing(self, slot, gen)

    def listing_at(self, slot: int, t: int) -> Listing:
        return self.listing(slot, int(self.gen_at(t, np.array([slot]))[0]))

    def active_slots_listings(self, t: int) -> list[Listing]:
        gens = self.gen_at(t)
        return [self.listing(i, int(g)) for i, g in enumerate(gens)]

    def delisted_before(self, t: int) -> list[Listing]:
        """Listings whose last session is before t (and that started within the market)."""
        out = []
        slots, gens = np.nonzero(self.ends < t)
        for i, k in zip(slots.tolist(), gens.tolist(), strict=True):
            out.append(self.listing(i, k))
        return out


def _company_name(u: np.random.Generator, sector: int, typ: int) -> str:
    root = (
        _ROOTS_A[int(u.random() * len(_ROOTS_A))]
        + _ROOTS_B[int(u.random() * len(_ROOTS_B))]
        + _ROOTS_C[int(u.random() * len(_ROOTS_C))]
    )
    if typ == 1:
        return (
            f"{_ETF_SPONSORS[int(u.random() * len(_ETF_SPONSORS))]} {root} "
            f"{_ETF_THEMES[int(u.random() * len(_ETF_THEMES))]} ETF"
        )
    words = _SECTOR_WORDS[sector]
    name = f"{root} {words[int(u.random() * len(words))]} {_SUFFIXES[int(u.random() * len(_SUFFIXES))]}"
    if typ == 2:
        name = f"{root} {words[int(u.random() * len(words))]} plc American Depositary Shares"
    return name


_FIGI_CHARS = "0123456789BCDFGHJKLMNPQRSTVWXYZ"


def _listing(u: Universe, slot: int, gen: int) -> Listing:
    cache = u.__dict__.setdefault("_listing_cache", {})
    hit = cache.get((slot, gen))
    if hit is not None:
        return hit
    g = rng.generator(u.seed, 7, slot, gen)
    typ = int(u.type[gen, slot])
    sector = int(u.sector[gen, slot])
    start = int(u.starts[slot, gen])
    if slot < u.n_pinned and gen == 0:
        name = PINNED[slot][1]
        ipo = dt.date.fromisoformat(PINNED[slot][8])
    else:
        name = _company_name(g, sector, typ)
        if start < 0:
            span = (u.market_start - dt.date(1975, 1, 1)).days - 30
            ipo = dt.date(1975, 1, 1) + dt.timedelta(days=int(u._u[gen, slot, A_IPO] * span))
        else:
            ipo = u._session_date(start)
    country = "US"
    if typ == 2:
        country = ADR_COUNTRIES[int(u._u[gen, slot, A_COUNTRY] * len(ADR_COUNTRIES))]
    if slot < u.n_pinned and gen == 0 and PINNED[slot][0] == "BP":
        country = "GB"
    h = rng.hash_u64(u.seed, "ids", slot, gen)
    cik = f"{(h % 1_999_999) + 1_000:010d}"
    figi = "BBG" + "".join(_FIGI_CHARS[(h >> (5 * j)) % len(_FIGI_CHARS)] for j in range(9))
    h2 = rng.hash_u64(u.seed, "sfigi", slot, gen)
    sfigi = "BBG" + "".join(_FIGI_CHARS[(h2 >> (5 * j)) % len(_FIGI_CHARS)] for j in range(9))
    item = Listing(
        slot=slot,
        gen=gen,
        symbol=u.symbols[slot, gen],
        name=name,
        type=TYPES[typ],
        exchange=EXCHANGES[int(u.exch[gen, slot])],
        sector=sector,
        industry=int(u.industry[gen, slot]),
        country=country,
        ipo=ipo,
        start=start,
        end=int(u.ends[slot, gen]),
        cik=cik,
        composite_figi=figi,
        share_class_figi=sfigi,
    )
    cache[(slot, gen)] = item
    return item
