"""Writers: per-author templates with slot filling, personal quirks and drift over time.

A writer keeps a body plan (an ordered list of sentence templates drawn from shared
banks plus a few signature phrases of its own), two to four title templates, and
quirks: emoji palette and placement, capitalization habit, punctuation, misspellings,
line-break style, look-alike letters, and the way it writes phone numbers and e-mails.
Every ``style_drift_days`` (on average) it rewrites a sentence or a title. Some
independents post a popular copy-paste template instead, nearly unchanged.
"""

from __future__ import annotations

import re
from bisect import bisect
from functools import lru_cache
from itertools import accumulate
from random import Random
from typing import Any

from ownergraph.synth import vocab as V
from ownergraph.synth.obfuscate import (
    EMAIL_FORMS,
    PHONE_FORMS,
    SEPARATORS,
    render_email,
    render_phone,
    weighted_choice,
)

# Private-use placeholders survive case changes and are replaced by contacts last.
PH1, PH2, EM = "\ue000", "\ue001", "\ue002"
_SLOT = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"[A-Za-z']+")

_CAPS_MODES = {"normal": 45, "shouty": 25, "lower": 12, "title": 10, "upper": 5, "alt": 3}
_CAPS_POOL = (
    "REAL NEW INDEPENDENT UPSCALE NO ONLY TEXT SPECIAL INCALL OUTCALL NOW FUN SEXY "
    "HOT DISCREET READY AVAILABLE CLEAN SAFE BEST"
).split()
_TERMINATORS = (".", "!", "!!", "!!!", "...", "", " :)", "~", "!!!!", " ;)", "..")
_JOINERS = (" ", "  ", "\n", "\n\n", " <br> ", " • ", " ~ ", " | ", " ")
_SECTIONS = {
    "greet": V.GREETINGS,
    "intro": V.INTROS,
    "desc": V.DESCRIPTIONS,
    "pitch": V.PITCHES,
    "avail": V.AVAILABILITY,
    "rates": V.RATES,
    "rule": V.RULES,
    "contact": V.CONTACTS,
    "signoff": V.SIGNOFFS,
}
# Boilerplate popularity falls off like Zipf: a few disclaimers are everywhere.
_BP_WEIGHTS = [1.0 / (i + 1) for i in range(len(V.BOILERPLATE))]


@lru_cache(maxsize=65536)
def _parts(template: str) -> tuple[str, ...]:
    """A template split into literal text and slot names (odd positions are slots)."""
    return tuple(_SLOT.split(template))


def _signature(rng: Random) -> str:
    return (
        f"{rng.choice(V.SIG_OPENERS)} {rng.choice(V.SIG_SUBJECTS)} {rng.choice(V.SIG_VERBS)} "
        f"{rng.choice(V.SIG_OBJECTS)}{rng.choice(V.SIG_ENDINGS)}"
    )


class Writer:
    """One author's way of writing ads (``author_id`` in the truth)."""

    def __init__(
        self,
        author_id: str,
        seed: str,
        *,
        start_ts: float,
        drift_days: float,
        popular: int | None = None,
        base: int | None = None,
        signature_rate: float = 1.0,
    ) -> None:
        self.author_id = author_id
        self.seed = seed
        self.rng = rng = Random(f"{seed}/writer/{author_id}")
        self.popular = popular
        self.drift_s = max(drift_days, 1.0) * 86400.0
        self._epoch_end = start_ts + rng.expovariate(1.0 / self.drift_s)

        # contact habits
        self.phone_form = weighted_choice(rng, PHONE_FORMS)
        self.phone_form2 = weighted_choice(rng, PHONE_FORMS) if rng.random() < 0.2 else None
        self.phone_sep = rng.choice(SEPARATORS)
        self.email_form = weighted_choice(rng, EMAIL_FORMS)
        self.phone_in_title = rng.random() < 0.18
        self.phone_twice = rng.random() < 0.15
        self.two_phone_joiner = rng.choice((" or ", " / ", " & ", "  ", " or text "))

        # quirks
        self.addr = rng.choice(V.ADDRESS_TERMS)
        self.adjs = rng.sample(V.ADJECTIVES, rng.randint(3, 6))
        self.hooks = rng.sample(V.HOOKS, rng.randint(2, 4))
        n_emoji = rng.choice((0, 0, 1, 2, 2, 3, 4, 5, 6))
        self.emojis = rng.sample(V.EMOJI, n_emoji)
        self.emoji_rate = rng.uniform(0.15, 0.9) if n_emoji else 0.0
        self.emoji_lead = rng.random() < 0.3
        self.emoji_run = rng.choice((1, 1, 1, 2, 3))
        self.phone_emoji = self.emojis[0] if self.emojis else rng.choice(V.EMOJI)
        self.title_deco = rng.choice(V.DECORATIONS) if rng.random() < 0.3 else None
        self.caps_mode = weighted_choice(rng, _CAPS_MODES)
        self.caps_words = {w.lower() for w in rng.sample(_CAPS_POOL, rng.randint(2, 6))}
        self.shout_rate = rng.uniform(0.05, 0.3)
        n_miss = rng.choice((0, 0, 1, 2, 3, 4, 6, 8))
        self.misspell = dict(rng.sample(sorted(V.MISSPELLINGS.items()), n_miss))
        self.misspell_rate = rng.uniform(0.5, 1.0)
        self._miss_re = (
            re.compile(r"\b(" + "|".join(map(re.escape, self.misspell)) + r")\b", re.I)
            if self.misspell
            else None
        )
        self.terminators = rng.sample(_TERMINATORS, 3)
        self._set_term_weights([rng.random() + 0.1 for _ in self.terminators])
        self.joiner = rng.choice(_JOINERS)
        self.homoglyphs = (
            dict(rng.sample(sorted(V.TEXT_HOMOGLYPHS.items()), rng.randint(1, 3)))
            if rng.random() < 0.04
            else {}
        )
        self.no_contact_line = rng.choice(V.NO_CONTACT_LINES)
        self.age_in_title = rng.random() < 0.35
        self.drop_rate = rng.uniform(0.03, 0.2)
        self.paraphrase_rate = rng.uniform(0.05, 0.3)

        self.signature = rng.random() < signature_rate
        if popular is not None:
            self._init_popular(popular)
        else:
            self.titles = rng.sample(V.TITLES, rng.randint(2, 4))
            self.plan = self._new_plan(base)

    def _set_term_weights(self, weights: list[float]) -> None:
        self.term_cum = list(accumulate(weights))

    # ---- templates ----

    def _init_popular(self, k: int) -> None:
        """A copy-paste ad: the shared lines, almost none of the personal quirks."""
        title, lines = V.POPULAR_TEMPLATES[k % len(V.POPULAR_TEMPLATES)]
        self.titles = [title]
        self.plan = [("contact" if "{phone}" in ln else "fixed", ln) for ln in lines]
        self.plan.append(("email", "{email}"))
        self.caps_mode = "normal"
        self.misspell, self._miss_re = {}, None
        self.homoglyphs = {}
        self.emoji_rate *= 0.2
        self.terminators = ["", "."]
        self._set_term_weights([1.0, 0.3])
        self.joiner = " "
        self.phone_in_title = False
        self.age_in_title = False
        self.drop_rate = 0.0
        self.paraphrase_rate = 0.0
        self.drift_s = float("inf")
        self._epoch_end = float("inf")

    def _pick(self, section: str) -> str:
        return self.rng.choice(_SECTIONS[section])

    def _new_plan(self, base: int | None = None) -> list[tuple[str, str]]:
        """A writer's own plan; with ``base``, built on a popular copy-paste ad's lines."""
        rng = self.rng
        plan: list[tuple[str, str]] = []
        if base is not None:
            title, lines = V.POPULAR_TEMPLATES[base % len(V.POPULAR_TEMPLATES)]
            self.titles[0] = title
            plan.extend(("fixed", ln) for ln in lines if "{phone}" not in ln)
        else:
            if rng.random() < 0.7:
                plan.append(("greet", self._pick("greet")))
            if rng.random() < 0.9:
                plan.append(("intro", self._pick("intro")))
            if rng.random() < 0.6:
                plan.append(("desc", self._pick("desc")))
            for _ in range(rng.randint(1, 2)):
                plan.append(("pitch", self._pick("pitch")))
        if self.signature:
            for _ in range(rng.randint(1, 2)):
                plan.append(("sig", _signature(rng)))
        if rng.random() < 0.7:
            plan.append(("avail", self._pick("avail")))
        if rng.random() < 0.5:
            plan.append(("rates", self._pick("rates")))
        for rule in rng.sample(V.RULES, rng.choice((0, 1, 1, 2, 3))):
            plan.append(("rule", rule))
        n_bp = rng.choice((0, 1, 1, 2, 2, 3, 4))
        for bp in dict.fromkeys(rng.choices(V.BOILERPLATE, weights=_BP_WEIGHTS, k=n_bp)):
            plan.append(("boiler", bp))
        contact = ("contact", self._pick("contact"))
        if rng.random() < 0.25:
            plan.insert(0 if rng.random() < 0.5 else 1, contact)
        else:
            plan.insert(len(plan) - rng.randint(0, min(2, len(plan))), contact)
        plan.append(("email", rng.choice(V.EMAIL_LINES)))
        if rng.random() < 0.5:
            plan.append(("signoff", self._pick("signoff")))
        return plan

    def _drift_sentence(self) -> None:
        rng = self.rng
        editable = [i for i, (s, _) in enumerate(self.plan) if s not in ("contact", "email")]
        if not editable:
            return
        i = rng.choice(editable)
        sec = self.plan[i][0]
        if sec == "sig":
            self.plan[i] = ("sig", _signature(rng))
        elif sec == "boiler":
            self.plan[i] = ("boiler", rng.choices(V.BOILERPLATE, weights=_BP_WEIGHTS)[0])
        elif sec == "fixed" or sec not in _SECTIONS:
            self.plan[i] = ("pitch", self._pick("pitch"))
        else:
            self.plan[i] = (sec, self._pick(sec))

    def _drift(self) -> None:
        """A small rewrite: replace sentences or a title, tweak emoji or punctuation."""
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            for _ in range(rng.randint(1, 2)):
                self._drift_sentence()
        elif r < 0.7:
            self.titles[rng.randrange(len(self.titles))] = rng.choice(V.TITLES)
        elif r < 0.85 and self.emojis:
            self.emojis[rng.randrange(len(self.emojis))] = rng.choice(V.EMOJI)
        elif r < 0.93:
            self.hooks[rng.randrange(len(self.hooks))] = rng.choice(V.HOOKS)
        else:
            self._set_term_weights([rng.random() + 0.1 for _ in self.terminators])

    def advance(self, ts: float) -> None:
        while ts > self._epoch_end:
            self._drift()
            self._epoch_end += self.rng.expovariate(1.0 / self.drift_s)

    # ---- rendering ----

    def _fill(self, template: str, ctx: dict[str, Any], rng: Random) -> str:
        parts = _parts(template)
        if len(parts) == 1:
            return template
        out = list(parts)
        for i in range(1, len(parts), 2):
            key = parts[i]
            if key == "adj":
                v = rng.choice(self.adjs) if rng.random() < 0.85 else rng.choice(V.ADJECTIVES)
            elif key == "adj2":
                v = rng.choice(V.ADJECTIVES)
            elif key in ("hook", "hook2"):
                v = rng.choice(self.hooks)
            elif key == "addr":
                v = self.addr
            elif key == "noun":
                v = ctx.get("noun") or rng.choice(V.NOUNS)
            elif key == "phone":
                v = PH1
            elif key == "email":
                v = EM
            else:
                v = str(ctx.get(key, ""))
            out[i] = v
        return "".join(out)

    def _case(self, text: str, rng: Random) -> str:
        mode = self.caps_mode
        if mode == "normal":
            return text
        if mode == "lower":
            return text.lower()
        if mode == "upper":
            return text.upper()
        if mode == "title":
            return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
        if mode == "shouty":
            rate, caps = self.shout_rate, self.caps_words

            def shout(m: re.Match[str]) -> str:
                w = m.group(0)
                return w.upper() if w.lower() in caps or rng.random() < rate else w

            return _WORD.sub(shout, text)

        # "alt": a few words in alternating case
        def alt(m: re.Match[str]) -> str:
            w = m.group(0)
            if len(w) < 4 or rng.random() > 0.2:
                return w
            return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(w))

        return _WORD.sub(alt, text)

    def _misspell(self, text: str, rng: Random) -> str:
        if self._miss_re is None:
            return text
        table, rate = self.misspell, self.misspell_rate

        def repl(m: re.Match[str]) -> str:
            if rng.random() > rate:
                return m.group(0)
            w = m.group(0)
            out = table[w.lower()]
            return out[:1].upper() + out[1:] if w[:1].isupper() else out

        return self._miss_re.sub(repl, text)

    def _glyphs(self, text: str, rng: Random) -> str:
        if not self.homoglyphs:
            return text
        table = str.maketrans(self.homoglyphs)
        return " ".join(w.translate(table) if rng.random() < 0.6 else w for w in text.split(" "))

    def _emoji(self, rng: Random) -> str:
        return rng.choice(self.emojis) * rng.randint(1, self.emoji_run)

    def _sentence(self, text: str, rng: Random) -> str:
        text = self._case(self._misspell(text, rng), rng)
        cum = self.term_cum
        text = text + self.terminators[bisect(cum, rng.random() * cum[-1])]
        if self.emojis and rng.random() < self.emoji_rate:
            if self.emoji_lead:
                text = self._emoji(rng) + text
            else:
                text = text + self._emoji(rng)
        return text

    def render(
        self,
        ctx: dict[str, Any],
        rng: Random,
        *,
        phones: list[str],
        email: str | None,
        ts: float,
    ) -> tuple[str, str]:
        """Title and body of one ad. ``phones`` are 10-digit national numbers."""
        self.advance(ts)
        # title
        title = self._fill(rng.choice(self.titles), ctx, rng)
        title = self._glyphs(self._case(self._misspell(title, rng), rng), rng)
        if self.title_deco:
            d = self.title_deco
            title = f"{d}{title}{d}" if rng.random() < 0.7 else title.replace(" ", f" {d} ", 2)
        if self.emojis and rng.random() < self.emoji_rate:
            e = self._emoji(rng)
            title = f"{e}{title}{e}" if rng.random() < 0.5 else f"{title} {e}"
        if phones and self.phone_in_title:
            title = f"{title} - {PH1}"
        if self.age_in_title and ctx.get("age"):
            title = f"{title} - {ctx['age']}"

        # body
        parts: list[str] = []
        has_contact = bool(phones or email)
        for section, template in self.plan:
            if section == "email":
                if email:
                    parts.append(self._fill(template, ctx, rng))
                continue
            if section == "contact":
                if not phones:
                    if not has_contact:
                        parts.append(self._sentence(self.no_contact_line, rng))
                    continue
                line = self._sentence(self._fill(template, ctx, rng), rng)
                if len(phones) > 1:
                    line = line.replace(PH1, PH1 + self.two_phone_joiner + PH2, 1)
                parts.append(line)
                continue
            if section != "fixed":
                if rng.random() < self.drop_rate:
                    continue
                if section in _SECTIONS and rng.random() < self.paraphrase_rate:
                    template = rng.choice(_SECTIONS[section])  # said differently this time
            parts.append(self._sentence(self._fill(template, ctx, rng), rng))
        if phones and self.phone_twice:
            parts.append(PH1)
        body = self._glyphs(self.joiner.join(parts), rng)

        # contacts last, so that quirks never touch them
        subs = {}
        if phones:
            subs[PH1] = self._phone(phones[0], rng)
            if len(phones) > 1:
                subs[PH2] = self._phone(phones[1], rng)
        if email:
            subs[EM] = render_email(email, self.email_form)
        for ph, val in subs.items():
            title = title.replace(ph, val)
            body = body.replace(ph, val)
        return title, body

    def _phone(self, digits: str, rng: Random) -> str:
        form = self.phone_form
        if self.phone_form2 and rng.random() < 0.3:
            form = self.phone_form2
        return render_phone(digits, form, rng, sep=self.phone_sep, emoji=self.phone_emoji)
