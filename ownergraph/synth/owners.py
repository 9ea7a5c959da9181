"""Owners of ads: independent workers and operations, with their people, phones,
e-mails, writers, travel and posting process; and the shared booking/agency lines that
unrelated independents list (generic identifiers, named in the truth). An independent
may change persona (another name and way of writing, a new author) under one phone.

An owner is created when it arrives and dropped when it retires, so a world of any size
holds only the owners active at one time.
"""

from __future__ import annotations

import math
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from ownergraph.synth import vocab as V
from ownergraph.synth.config import WorldConfig
from ownergraph.synth.geo import CITIES, REGIONS, City, cities_in, region_of
from ownergraph.synth.style import Writer

DAY = 86400.0
# Relative posting activity per local hour (evenings busy, early mornings quiet).
HOUR_WEIGHT = (
    0.9, 0.7, 0.5, 0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.5, 0.6, 0.7,
    0.75, 0.75, 0.75, 0.8, 0.85, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95,
)  # fmt: skip
MEAN_HOUR_WEIGHT = sum(HOUR_WEIGHT) / 24.0
_POST_KINDS = ("post", "bump", "repost")
_KIND_CUM_OP = (0.5, 0.8)  # post 50%, bump 30%, repost 20%
_KIND_CUM_IND = (0.6, 0.85)
_NLOC_CUM_OP = (0.6, 0.8, 0.92)  # 1, 2, 3 or 4 locations
_CITY_W = [c.weight for c in CITIES]
_TZ_OFFSET_H: dict[str, float] = {}


def tz_offset_hours(tz: str) -> float:
    """Standard-time UTC offset of a zone (used only for the daily posting rhythm)."""
    if tz not in _TZ_OFFSET_H:
        off = datetime(2016, 1, 15, tzinfo=ZoneInfo(tz)).utcoffset()
        _TZ_OFFSET_H[tz] = off.total_seconds() / 3600.0 if off else 0.0
    return _TZ_OFFSET_H[tz]


class PhoneBook:
    """Hands out valid, never-repeated US numbers (10 national digits) in an area code."""

    def __init__(self, seed: str) -> None:
        self.rng = Random(f"{seed}/phones")
        self.used: set[str] = set()

    def new(self, area: str) -> str:
        rng = self.rng
        while True:
            exch = rng.randint(201, 989)
            if exch % 100 == 11 or exch == 555:
                continue
            digits = f"{area}{exch:03d}{rng.randint(0, 9999):04d}"
            if digits in self.used:
                continue
            if not phonenumbers.is_valid_number(phonenumbers.parse("+1" + digits)):
                continue
            self.used.add(digits)
            return digits


class SharedLines:
    """Booking or agency lines that several unrelated owners list (generic identifiers).

    Per region up to ``OPEN`` lines at a time; each takes a drawn number of owners
    (1 + geometric, mean ``shared_line_owners``) and then closes, so the pool stays small
    at any world size.
    """

    OPEN = 3

    def __init__(self, seed: str, phonebook: PhoneBook, mean_owners: float) -> None:
        self.rng = Random(f"{seed}/shared-lines")
        self.phonebook = phonebook
        self.p_stop = 1.0 / max(mean_owners, 1.0)
        self.open: dict[str, list[list[Any]]] = {}

    def take(self, city: City) -> str:
        """A shared line for a new owner in ``city``'s region."""
        rng = self.rng
        pool = self.open.setdefault(region_of(city.state), [])
        if len(pool) < self.OPEN:
            cap = 1
            while rng.random() >= self.p_stop:
                cap += 1
            pool.append([self.phonebook.new(rng.choice(city.area_codes)), cap])
        k = rng.randrange(len(pool))
        line = pool[k]
        line[1] -= 1
        if line[1] <= 0:
            pool.pop(k)
        return line[0]


@dataclass
class Person:
    id: str
    name: str
    age: int
    ctx: dict[str, Any]
    start: float
    end: float
    writer: int = 0
    phone: str = ""
    phone_until: float = 0.0
    category: str = "escorts"
    last: dict[str, Any] | None = None


@dataclass
class AdDraft:
    """What an owner decides about one ad (text included); ids and prices come later."""

    person: Person
    author_id: str
    city: City
    category: str
    post_kind: str
    sponsored: bool
    n_locations: int
    title: str
    body: str
    phones: list[str]
    email: str | None
    pay_btc: bool


def _lognormal(rng: Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def draw_life(rng: Random, kind: str, cfg: WorldConfig) -> tuple[float, float, int]:
    """(active days, ads per day, people) of a new owner."""
    if kind == "independent":
        days = min(max(_lognormal(rng, cfg.indep_days_median, 0.9), 0.25), 2 * cfg.days)
        rate = min(max(_lognormal(rng, cfg.indep_ads_per_day_median, 0.7), 0.05), 6.0)
        return days, rate, 1
    n_people = int(round(_lognormal(rng, cfg.op_people_median, 0.6)))
    n_people = min(max(n_people, 2), cfg.op_people_max)
    days = min(max(_lognormal(rng, cfg.op_days_median, 0.7), 5.0), 2 * cfg.days)
    per_person = cfg.op_ads_per_day_median / cfg.op_people_median
    rate = min(max(_lognormal(rng, per_person * n_people, 0.5), 0.5), 150.0)
    return days, rate, n_people


def _rates(rng: Random, kind: str) -> dict[str, int]:
    hh = rng.choice((80, 100, 120, 140, 150, 160, 180, 200))
    hr = int(hh * rng.choice((1.5, 1.6, 1.75, 2.0)) // 10 * 10)
    qv = int(hh * rng.choice((0.5, 0.6, 0.7)) // 10 * 10)
    return {"qv": qv, "hh": hh, "hr": hr}


class Owner:
    """One owner (the unit the pipeline should recover)."""

    def __init__(
        self,
        idx: int,
        kind: str,
        cfg: WorldConfig,
        seed: str,
        t0: float,
        phonebook: PhoneBook,
        popular_weights: list[float],
        shared_lines: SharedLines | None = None,
    ) -> None:
        self.idx = idx
        self.id = f"o{idx:07d}"
        self.kind = kind
        self.cfg = cfg
        self.rng = rng = Random(f"{seed}/owner/{idx}")
        self.phonebook = phonebook
        days, rate, n_people = draw_life(rng, kind, cfg)
        self.start, self.end = t0, t0 + days * DAY
        self.rate_per_s = rate / DAY
        self.expected_ads = days * rate * MEAN_HOUR_WEIGHT
        self.home = rng.choices(CITIES, weights=_CITY_W)[0]
        self.region = region_of(self.home.state)
        self.n_ads = 0
        self.n_paid = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.states: set[str] = set()
        self.cities: set[str] = set()
        self.phones: list[str] = []
        self.emails: list[str] = []
        self.wallets: list[Any] = []  # filled by the chain when the owner first pays
        op = kind == "operation"
        share, ad_share = (
            (cfg.op_btc_owner_share, cfg.op_btc_ad_share)
            if op
            else (cfg.indep_btc_owner_share, cfg.indep_btc_ad_share)
        )
        self.uses_btc = rng.random() < share
        self.btc_ad_share = ad_share if self.uses_btc else 0.0
        self.n_wallets = (rng.choice((1, 1, 2, 2, 3)) if op else 1) if self.uses_btc else 0

        # writers
        if op:
            if cfg.op_single_writer_share is None:
                n_writers = min(rng.choice((1, 1, 2, 2, 3)), cfg.op_writers_max)
            elif rng.random() < cfg.op_single_writer_share:
                n_writers = 1
            else:
                n_writers = min(rng.choice((2, 3)), cfg.op_writers_max)
            self.writers = []
            for k in range(n_writers):
                base = None  # some operations build their ads on a circulating template
                if rng.random() < cfg.shared_template_share:
                    base = rng.choices(range(len(popular_weights)), weights=popular_weights)[0]
                self.writers.append(
                    Writer(
                        f"a{idx:07d}-{k}",
                        seed,
                        start_ts=t0,
                        drift_days=cfg.style_drift_days,
                        base=base,
                        signature_rate=cfg.signature_rate,
                    )
                )
        else:
            popular = None
            if rng.random() < cfg.shared_template_share:
                popular = rng.choices(range(len(popular_weights)), weights=popular_weights)[0]
            self.writers = [
                Writer(
                    f"a{idx:07d}-0",
                    seed,
                    start_ts=t0,
                    drift_days=cfg.style_drift_days,
                    popular=popular,
                    signature_rate=cfg.signature_rate,
                )
            ]
        self.popular = self.writers[0].popular

        # people
        self.people: list[Person] = []
        for k in range(n_people):
            if op and k >= 2:
                p_start = t0 + rng.uniform(0.0, 0.6) * days * DAY
                p_end = min(p_start + rng.uniform(0.3, 1.0) * days * DAY, self.end)
            else:
                p_start, p_end = t0, self.end
            self.people.append(self._person(k, p_start, p_end, op))

        # contacts
        self.email = (
            self._email() if rng.random() < cfg.email_owner_share * (2 if op else 1) else None
        )
        self.booking = None
        if op and rng.random() < cfg.op_booking_line_share:
            self.booking = self._new_phone(self.home)
        self.booking_until = t0 + self._booking_period()
        self.old_booking: str | None = None
        self.booking_ts = -math.inf
        self.switch_ts = math.inf
        self.old_phone: str | None = None
        self.persona_ts = math.inf
        self.shared_line: str | None = None
        if not op:
            p = self.people[0]
            p.phone = self._new_phone(self.home)
            p.phone_until = math.inf
            if rng.random() < cfg.indep_phone_switch_rate:
                self.switch_ts = t0 + rng.uniform(0.2, 0.8) * days * DAY
            if rng.random() < cfg.persona_change_rate:
                self.persona_ts = t0 + rng.uniform(0.1, 0.9) * days * DAY
            if shared_lines is not None and rng.random() < cfg.shared_line_share:
                self.shared_line = shared_lines.take(self.home)

        # travel: (city, until) legs for operations; a home city for independents
        self.city = self.home
        self.leg_until = t0 + rng.uniform(2, 8) * DAY if op else math.inf
        self.category = rng.choices(
            ("escorts", "body rubs", "women seeking men"), weights=(68, 12, 20)
        )[0]

    # ---- construction helpers ----

    def _person(self, k: int, start: float, end: float, op: bool) -> Person:
        rng = self.rng
        name = rng.choice(V.NAMES)
        if rng.random() < 0.3:
            name = f"{name} {rng.choice(V.STAGE_SURNAMES)}"
        age = rng.randint(18, 26) if op else rng.randint(19, 38)
        ctx = {
            "name": name,
            "age": age,
            "ethn": rng.choice(V.ETHNICITIES),
            "hair": rng.choice(V.HAIR),
            "eyes": rng.choice(V.EYES),
            "height": rng.choice(V.HEIGHTS),
            "weight": rng.randint(98, 165),
            "cup": rng.choice(V.CUPS),
            "noun": rng.choice(V.NOUNS),
            "area": rng.choice(V.AREAS),
            **_rates(rng, self.kind),
        }
        category = "escorts"
        if op:
            category = rng.choices(("escorts", "body rubs"), weights=(80, 20))[0]
        return Person(
            id=f"p{self.idx:07d}-{k}",
            name=name,
            age=age,
            ctx=ctx,
            start=start,
            end=end,
            writer=rng.randrange(len(self.writers)),
            category=category,
        )

    def _booking_period(self) -> float:
        period = self.cfg.op_booking_period_days
        return math.inf if math.isinf(period) else self.rng.expovariate(1.0 / (period * DAY))

    def _new_phone(self, city: City) -> str:
        digits = self.phonebook.new(self.rng.choice(city.area_codes))
        self.phones.append(digits)
        return digits

    def _email(self) -> str:
        rng = self.rng
        base = self.people[0].name.split()[0].lower()
        local = rng.choice(
            (
                f"{base}{rng.randint(1, 99)}",
                f"{base}.{rng.choice(V.EMAIL_WORDS)}",
                f"{rng.choice(V.EMAIL_WORDS)}{base}{rng.randint(80, 99)}",
                f"{base}_{rng.choice(V.EMAIL_WORDS)}{rng.randint(1, 9)}",
            )
        )
        local = f"{local}{self.idx % 1000}"  # owners never share an address by accident
        addr = f"{local}@{rng.choice(V.EMAIL_DOMAINS)}"
        self.emails.append(addr)
        return addr

    # ---- posting process ----

    def next_post(self, t: float) -> float | None:
        """Time of the next ad after ``t`` (None once the owner has retired)."""
        rng = self.rng
        off = tz_offset_hours(self.city.tz) * 3600.0
        while True:
            t += rng.expovariate(self.rate_per_s)
            if t > self.end:
                return None
            hour = int(((t + off) // 3600) % 24)
            if rng.random() < HOUR_WEIGHT[hour]:
                return t

    def _move(self, t: float) -> None:
        rng = self.rng
        while t > self.leg_until:
            r = rng.random()
            if r < 0.65:
                pool = [c for c in cities_in(REGIONS[self.region]) if c.state != self.city.state]
            elif r < 0.85:
                pool = [c for c in cities_in([self.city.state]) if c.name != self.city.name]
            else:
                pool = list(CITIES)
            pool = pool or list(CITIES)
            self.city = rng.choices(pool, weights=[c.weight for c in pool])[0]
            self.leg_until += rng.uniform(2, 8) * DAY

    def _active_person(self, t: float) -> Person:
        active = [p for p in self.people if p.start <= t <= p.end]
        return self.rng.choice(active or self.people)

    def _phones_op(self, p: Person, t: float) -> list[str]:
        rng, cfg = self.rng, self.cfg
        if rng.random() < cfg.op_burner_rate:
            return [self._new_phone(self.city)]
        if t > p.phone_until or not p.phone:
            old = p.phone
            area_city = self.home if rng.random() < 0.6 else self.city
            p.phone = self._new_phone(area_city)
            p.phone_until = t + rng.expovariate(1.0 / (cfg.op_phone_period_days * DAY))
            if old and rng.random() < 0.15:  # announced change bridges old and new
                return [p.phone, old]
        phones = [p.phone]
        if self.booking and rng.random() < cfg.op_booking_ad_rate:
            if t > self.booking_until:  # the operation replaces its booking line
                self.old_booking, self.booking = self.booking, self._new_phone(self.home)
                self.booking_ts, self.booking_until = t, t + self._booking_period()
            phones = [self.booking] if rng.random() < 0.5 else [p.phone, self.booking]
            if t < self.booking_ts + 7 * DAY and rng.random() < 0.35:
                phones.append(self.old_booking)  # "new number!": the old line bridges
        elif rng.random() < cfg.two_phone_rate and self.booking:
            phones = [p.phone, self.booking]
        return phones

    def _change_persona(self, p: Person) -> None:
        """Same person and phone, another advertised name and another way of writing."""
        rng = self.rng
        old = p.name
        while p.name == old:
            p.name = rng.choice(V.NAMES)
        p.ctx = dict(p.ctx, name=p.name, noun=rng.choice(V.NOUNS), ethn=rng.choice(V.ETHNICITIES))
        w = self.writers[0]
        self.writers.append(
            Writer(
                f"a{self.idx:07d}-{len(self.writers)}",
                w.seed,
                start_ts=self.persona_ts,
                drift_days=self.cfg.style_drift_days,
                signature_rate=self.cfg.signature_rate,
            )
        )
        p.writer = len(self.writers) - 1
        p.last = None
        self.persona_ts = math.inf

    def _phones_indep(self, p: Person, t: float) -> list[str]:
        rng = self.rng
        if self.shared_line and rng.random() < self.cfg.shared_line_ad_rate:
            return [self.shared_line] if rng.random() < 0.5 else [p.phone, self.shared_line]
        if t > self.switch_ts and self.old_phone is None:
            self.old_phone = p.phone
            p.phone = self._new_phone(self.home)
        if self.old_phone and t < self.switch_ts + 7 * DAY and rng.random() < 0.35:
            return [p.phone, self.old_phone]
        if rng.random() < self.cfg.two_phone_rate * 0.3 and self.old_phone:
            return [p.phone, self.old_phone]
        return [p.phone]

    def make_ad(self, t: float) -> AdDraft:
        rng, cfg = self.rng, self.cfg
        op = self.kind == "operation"
        if op:
            self._move(t)
            city = self.city
            if rng.random() < 0.15:  # also posting in a nearby city of the same state
                near = cities_in([city.state])
                city = rng.choice(near)
        else:
            city = self.home
            if rng.random() < 0.08:
                near = [c for c in cities_in(REGIONS[self.region]) if c.state == city.state]
                city = rng.choice(near or [city])
        p = self._active_person(t) if op else self.people[0]
        if t > self.persona_ts:
            self._change_persona(p)
        kind = _POST_KINDS[bisect(_KIND_CUM_OP if op else _KIND_CUM_IND, rng.random())]
        sponsored = rng.random() < (0.15 if op else 0.04)
        n_loc = 1 + bisect(_NLOC_CUM_OP, rng.random()) if op else (1 if rng.random() < 0.94 else 2)
        category = p.category if op else self.category
        pay_btc = rng.random() < self.btc_ad_share

        last = p.last
        copy_rate = {"bump": 0.75, "repost": cfg.repost_copy_rate}.get(kind, 0.0)
        if last is not None and last["city"] == city.name and rng.random() < copy_rate:
            title, body, phones, email, author = (
                last["title"],
                last["body"],
                last["phones"],
                last["email"],
                last["author"],
            )
        else:
            if rng.random() < cfg.no_contact_rate:
                phones = []
            else:
                phones = self._phones_op(p, t) if op else self._phones_indep(p, t)
            email = self.email if self.email and rng.random() < cfg.email_ad_rate else None
            if op and rng.random() < 0.2:
                w = self.writers[rng.randrange(len(self.writers))]
            else:
                w = self.writers[p.writer]
            ctx = dict(p.ctx)
            ctx["city"] = city.name
            if rng.random() < 0.1:
                ctx["age"] = p.age + rng.choice((-1, 1))
            title, body = w.render(ctx, rng, phones=phones, email=email, ts=t)
            author = w.author_id
            p.last = {
                "title": title,
                "body": body,
                "phones": phones,
                "email": email,
                "author": author,
                "city": city.name,
            }
        self.n_ads += 1
        self.first_ts = t if self.first_ts is None else self.first_ts
        self.last_ts = t
        self.states.add(city.state)
        self.cities.add(city.name)
        return AdDraft(
            person=p,
            author_id=author,
            city=city,
            category=category,
            post_kind=kind,
            sponsored=sponsored,
            n_locations=n_loc,
            title=title,
            body=body,
            phones=list(phones),
            email=email,
            pay_btc=pay_btc,
        )

    def truth_row(self) -> dict[str, Any]:
        return {
            "owner_id": self.id,
            "kind": self.kind,
            "n_people": len(self.people),
            "n_states": len(self.states),
            "n_cities": len(self.cities),
            "n_phones": len(self.phones),
            "n_emails": len(self.emails),
            "n_authors": len(self.writers),
            "n_wallets": len(self.wallets),
            "n_ads": self.n_ads,
            "n_paid_btc": self.n_paid,
            "first_ts": int(self.first_ts) if self.first_ts is not None else "",
            "last_ts": int(self.last_ts) if self.last_ts is not None else "",
            "home_state": self.home.state,
            "home_city": self.home.name,
            "uses_btc": self.uses_btc,
            "popular_template": "" if self.popular is None else self.popular,
        }
