"""Style features of short, noisy ad texts, and features of a pair of ads.

Per ad (``StyleVectorizer``, fitted on masked training texts):

- ``char``: hashed character 3-4-grams inside word boundaries (case kept: ``HoTTiE`` and
  ``hottie`` are different habits), TF-IDF weighted, the 200 heaviest kept per ad (bounds
  memory and pair-scoring cost at 1M ads), L2-normalised rows;
- ``title``: hashed character 2-4-grams of the title line alone;
- ``word``: hashed word uni/bigrams (lower-cased), TF-IDF, L2-normalised;
- ``symbol``: the non-alphanumeric characters an author uses (punctuation, emoji,
  decorative Unicode), TF-IDF over single symbols and symbol bigrams, L2-normalised;
- ``func``: relative frequencies of ~120 function words (English and Spanish);
- ``style``: a dense vector of rates: length, word length, casing, digits, punctuation,
  emoji, repeated characters, spacing and line-break layout, non-ASCII look-alikes.

Per pair (``pair_features``): the cosine similarity of each sparse view; for the
``OVERLAP_VIEWS`` also the largest single-term product (one rare shared term, e.g. a
persona name or a habitual misspelling, weighs more than many common ones) and the
Jaccard overlap of the two ads' term sets, both read off the same element-wise product
as the cosine (no per-ad memory, ~no extra gathering); for the dense style vector the
absolute difference and the mean of the two ads. Hashing bounds
memory regardless of vocabulary size; everything is deterministic (no random state).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from ownergraph.linking.stylometry.masking import mask_text
from ownergraph.linking.stylometry.memory import release_free_memory
from ownergraph.linking.stylometry.ngram_hash import char_wb_counts
from ownergraph.linking.stylometry.sparse_rows import pair_products, row_lengths

SPARSE_VIEWS = ("char", "word", "symbol", "func", "title")
# Sparse views that may be added to ``views`` (not in the default):
# ``skeleton``: character 2-5-grams of the text's formatting skeleton (letters, digits
# and emoji by class, punctuation, spacing and line breaks kept); ``phrase``: word
# 3-5-grams (shared sentences); ``grammar``: the distorted-grammar token n-grams;
# ``folded``: word uni/bigrams after NFKC folding (``Ⓖⓞⓓⓓⓔⓢⓢ``, ``𝓗𝓸𝓽`` read as words).
EXTRA_VIEWS = ("skeleton", "phrase", "grammar", "folded")
# Views that can give likelihood-ratio pair features (``StyleVectorizer(likelihood=...)``):
# ``grammar`` is token n-grams of the text distorted to function words and word shapes.
LR_VIEWS = ("grammar", "char", "word")
# Views whose pair features include max-term product and term-set Jaccard besides the
# cosine. Dev split of the real Backpage ads (train components only, 6 seeds): TPR at
# FPR 1% 0.908 -> 0.921, better on 6 of 6 seeds; ``func`` (a fixed ~120-word
# vocabulary) adds nothing there.
OVERLAP_VIEWS = ("char", "word", "symbol", "title") + EXTRA_VIEWS

FUNCTION_WORDS = (
    "a about after all also am an and any are as at be because been before but by can "
    "could did do does for from get got had has have he her here him his how i if in into "
    "is it its just let like me more most my no not now of on one only or our out over so "
    "some than that the their them then there these they this to too u ur up very was we "
    "were what when where which while who will with would yes you your youre im ill ive "
    "dont cant wont thats whats de la el en y que los las por con para una un mi te tu"
).split()

_STYLE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("upper", r"[^\W\d_a-z]"),  # upper-case letters (any script with case)
    ("lower", r"[a-z]"),
    ("digit", r"\d"),
    ("space", r" "),
    ("double_space", r"  +"),
    ("newline", r"\n"),
    ("excl", r"!"),
    ("quest", r"\?"),
    ("period", r"\."),
    ("ellipsis", r"\.\.+"),
    ("comma", r","),
    ("star", r"\*"),
    ("dash", r"[-–—_~]"),
    ("amp", r"&"),
    ("hash", r"#"),
    ("quote", r"['\"’“”]"),
    ("paren", r"[()\[\]{}]"),
    ("colon", r"[:;]"),
    ("slash", r"/"),
    ("emoji", r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"),
    ("nonascii_letter", r"[^\W\d_A-Za-z]"),
    ("repeat3", r"(.)\1\1"),
    ("space_before_punct", r" [!?.,]"),
    ("no_space_after_punct", r"[!?.,][^\W\d_]"),
    ("caps_word", r"\b[A-Z]{2,}\b"),
    ("title_word", r"\b[A-Z][a-z]+\b"),
    ("lower_sentence_start", r"[.!?]\s+[a-z]"),
    ("masked", r"⟨[A-Z]+⟩"),
)
_STYLE_RES = tuple(re.compile(p) for _, p in _STYLE_PATTERNS)
_WORD = re.compile(r"[^\W\d_]+")
STYLE_NAMES = ("log_len", "log_words", "mean_word_len") + tuple(n for n, _ in _STYLE_PATTERNS)


# Patterns that match one character of a fixed set, counted with ``str.count`` (the
# same counts as the patterns, several times faster); "upper" and "nonascii_letter" are
# the letters (``_WORD`` runs) less the ASCII ones, counted on the UTF-8 bytes.
_CHAR_SETS = {
    "space": " ",
    "newline": "\n",
    "excl": "!",
    "quest": "?",
    "period": ".",
    "comma": ",",
    "star": "*",
    "dash": "-–—_~",
    "amp": "&",
    "hash": "#",
    "quote": "'\"’“”",
    "paren": "()[]{}",
    "colon": ":;",
    "slash": "/",
}
_LOWER = bytes(range(ord("a"), ord("z") + 1))
_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_COUNTERS = tuple(
    (k, name, _CHAR_SETS.get(name), rx)
    for k, ((name, _), rx) in enumerate(zip(_STYLE_PATTERNS, _STYLE_RES, strict=True), start=3)
)


def style_matrix(texts: list[str]) -> np.ndarray:
    """Dense style rates per text (counts divided by text length), float32."""
    out = np.zeros((len(texts), len(STYLE_NAMES)), dtype=np.float32)
    for i, t in enumerate(texts):
        n = max(len(t), 1)
        words = _WORD.findall(t)
        nw = max(len(words), 1)
        letters = sum(map(len, words))
        raw = t.encode("utf-8", "surrogatepass")
        lower = len(raw) - len(raw.translate(None, _LOWER))
        upper = len(raw) - len(raw.translate(None, _UPPER))
        row = out[i]
        row[0] = np.log1p(len(t))
        row[1] = np.log1p(len(words))
        row[2] = letters / nw
        for k, name, chars, rx in _COUNTERS:
            if chars is not None:
                c = sum(map(t.count, chars))
            elif name == "lower":
                c = lower
            elif name == "upper":
                c = letters - lower
            elif name == "nonascii_letter":
                c = letters - lower - upper
            else:
                c = len(rx.findall(t))
            row[k] = c / n
    return out


def _title(text: str) -> str:
    """The title line of a ``title\nbody`` text."""
    return text.partition("\n")[0]


_SKELETON_RUN = re.compile(r"([aA0XE])\1+")


@lru_cache(maxsize=1)
def _skeleton_table() -> dict[int, str]:
    """Map each character to its class: ``a``/``A`` lower/upper-case letter (``X`` any
    other letter), ``0`` digit, ``E`` emoji and pictographs; others stay themselves."""
    table: dict[int, str] = {}
    for cp in range(0x110000):
        c = chr(cp)
        if c.isalpha():
            table[cp] = "a" if c.islower() else ("A" if c.isupper() else "X")
        elif c.isdigit():
            table[cp] = "0"
    for lo, hi in ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF)):
        for cp in range(lo, hi + 1):
            table[cp] = "E"
    table[0xFE0F] = ""  # emoji variation selector
    return table


def skeleton(text: str) -> str:
    """The formatting skeleton of a text: characters mapped to their class
    (``_skeleton_table``), each run of one letter, digit or emoji class collapsed to one
    (``Hot BBW $150/hr!!`` -> ``Aa A $0/a!!``)."""
    return _SKELETON_RUN.sub(r"\1", text.translate(_skeleton_table()))


def _folded(text: str) -> str:
    """The text in NFKC form, lower-cased: decorative letter variants read as letters."""
    return unicodedata.normalize("NFKC", text).lower()


def _symbols(text: str) -> list[str]:
    """Non-alphanumeric, non-space characters and their adjacent pairs."""
    syms = [c for c in text if not (c.isalnum() or c.isspace())]
    return syms + [a + b for a, b in zip(syms, syms[1:], strict=False)]


@dataclass
class AdFeatures:
    """Features of a list of ads: L2-normalised sparse views and the dense style matrix."""

    views: dict[str, sp.csr_matrix] = field(default_factory=dict)
    style: np.ndarray = field(default_factory=lambda: np.zeros((0, len(STYLE_NAMES))))
    overlap: tuple[str, ...] = ()  # views with max-term and Jaccard pair features
    # dense L2-normalised per-ad vectors (e.g. ``embed``: a sentence embedding)
    dense: dict[str, np.ndarray] = field(default_factory=dict)
    # likelihood-ratio views: (log-ratio weights W, length-normalised counts K, lengths)
    lr: dict[str, tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]] = field(default_factory=dict)
    style_product: bool = False  # pair features also hold the product of the style rows
    # per-ad columns of the ad's own fields (``field_columns``), when attached
    ad_fields: dict[str, np.ndarray | sp.csr_matrix] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.style.shape[0]

    def take(self, idx: np.ndarray) -> AdFeatures:
        return AdFeatures(
            {k: v[idx] for k, v in self.views.items()},
            self.style[idx],
            self.overlap,
            {k: v[idx] for k, v in self.dense.items()},
            {k: (w[idx], c[idx], n[idx]) for k, (w, c, n) in self.lr.items()},
            self.style_product,
            {k: v[idx] for k, v in self.ad_fields.items()},
        )

    @staticmethod
    def concat(parts: list[AdFeatures]) -> AdFeatures:
        """Stack parts row-wise, consuming them: each part's view is released as soon as it
        is copied into the preallocated result, so the peak is about the size of the
        result, not twice it (``scipy.sparse.vstack`` holds all parts and the result)."""
        views = {}
        for k in list(parts[0].views):
            views[k] = _vstack_consuming([p.views.pop(k) for p in parts])
        dense = {k: np.vstack([p.dense.pop(k) for p in parts]) for k in list(parts[0].dense)}
        lr = {}
        for k in list(parts[0].lr):
            ws, cs, ns = zip(*[p.lr.pop(k) for p in parts], strict=True)
            lr[k] = (_vstack_consuming(list(ws)), _vstack_consuming(list(cs)), np.concatenate(ns))
        style = np.vstack([p.style for p in parts])
        ad_fields = {
            k: sp.vstack([p.ad_fields.pop(k) for p in parts]).tocsr()
            if sp.issparse(parts[0].ad_fields[k])
            else np.concatenate([p.ad_fields.pop(k) for p in parts])
            for k in list(parts[0].ad_fields)
        }
        return AdFeatures(
            views, style, parts[0].overlap, dense, lr, parts[0].style_product, ad_fields
        )


def _vstack_consuming(mats: list[sp.csr_matrix], trim_every: int = 2**28) -> sp.csr_matrix:
    """Row-stack CSR matrices into preallocated arrays, releasing each input once copied
    (the list is emptied) and the freed memory every ``trim_every`` bytes."""
    n_rows = sum(m.shape[0] for m in mats)
    n_cols = mats[0].shape[1]
    nnz = sum(m.nnz for m in mats)
    idx_t = np.int32 if max(nnz, n_cols) < 2**31 - 1 else np.int64
    data = np.empty(nnz, dtype=mats[0].dtype)
    indices = np.empty(nnz, dtype=idx_t)
    indptr = np.empty(n_rows + 1, dtype=idx_t)
    indptr[0] = 0
    r = e = freed = 0
    mats.reverse()
    while mats:
        m = mats.pop().tocsr()
        data[e : e + m.nnz] = m.data
        indices[e : e + m.nnz] = m.indices
        indptr[r + 1 : r + m.shape[0] + 1] = m.indptr[1:] + e
        r, e = r + m.shape[0], e + m.nnz
        freed += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        del m
        if freed > trim_every:
            # parts are ~16-32 MB arrays that glibc keeps on its heap once freed: without
            # this, stacking 1M ads' features held the parts and the result (2 x 3.7 GB)
            release_free_memory()
            freed = 0
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


class StyleVectorizer(TransformerMixin, BaseEstimator):
    """Turn masked ad texts into ``AdFeatures`` (hashed TF-IDF views + style rates).

    ``fit`` learns the IDF weights of each sparse view; ``transform`` is stateless
    otherwise and deterministic.
    """

    def __init__(
        self,
        views: tuple[str, ...] = SPARSE_VIEWS,
        char_ngram: tuple[int, int] = (3, 4),
        word_ngram: tuple[int, int] = (1, 2),
        n_features: int = 2**20,
        max_terms: int | None = 200,
        style: bool = True,
        overlap: bool = True,
        likelihood: tuple[str, ...] = (),
        lr_mu: float = 50.0,
        embedding: str | None = None,
        style_product: bool = False,
        phrase_ngram: tuple[int, int] = (3, 5),
    ) -> None:
        self.views = views
        self.char_ngram = char_ngram
        self.word_ngram = word_ngram
        self.n_features = n_features
        self.max_terms = max_terms
        self.style = style
        self.overlap = overlap
        self.likelihood = likelihood
        self.lr_mu = lr_mu
        self.embedding = embedding
        self.style_product = style_product
        self.phrase_ngram = phrase_ngram

    def __setstate__(self, state: dict) -> None:
        # vectorizers pickled before the likelihood / embedding options read as without them
        state = {
            "likelihood": (),
            "lr_mu": 50.0,
            "embedding": None,
            "style_product": False,
            "phrase_ngram": (3, 5),
        } | state
        super().__setstate__(state)

    def _hashers(self) -> dict[str, object]:
        common = {"alternate_sign": False, "norm": None, "dtype": np.float32}
        known = SPARSE_VIEWS + EXTRA_VIEWS
        unknown = set(self.views) - set(known)
        if unknown:
            raise ValueError(f"unknown feature views {sorted(unknown)}; known: {known}")
        unknown = set(self.likelihood) - set(LR_VIEWS)
        if unknown:
            raise ValueError(f"unknown likelihood views {sorted(unknown)}; known: {LR_VIEWS}")
        makers = {
            "char": lambda: HashingVectorizer(
                analyzer="char_wb",
                ngram_range=self.char_ngram,
                lowercase=False,
                n_features=self.n_features,
                **common,
            ),
            "word": lambda: HashingVectorizer(
                analyzer="word",
                ngram_range=self.word_ngram,
                token_pattern=r"(?u)\b\w+\b",
                n_features=self.n_features,
                **common,
            ),
            "symbol": lambda: HashingVectorizer(analyzer=_symbols, n_features=2**18, **common),
            "title": lambda: HashingVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 4),
                preprocessor=_title,
                lowercase=False,
                n_features=2**18,
                **common,
            ),
            "func": lambda: CountVectorizer(
                vocabulary=FUNCTION_WORDS, token_pattern=r"(?u)\b\w+\b", dtype=np.float32
            ),
            "grammar": lambda: HashingVectorizer(
                analyzer=_grammar_ngrams, n_features=self.n_features, **common
            ),
            "skeleton": lambda: HashingVectorizer(
                analyzer="char",
                ngram_range=(2, 5),
                preprocessor=skeleton,
                lowercase=False,
                n_features=2**18,
                **common,
            ),
            "folded": lambda: HashingVectorizer(
                analyzer="word",
                ngram_range=self.word_ngram,
                preprocessor=_folded,
                token_pattern=r"(?u)\b\w+\b",
                n_features=self.n_features,
                **common,
            ),
            "phrase": lambda: HashingVectorizer(
                analyzer="word",
                ngram_range=self.phrase_ngram,
                token_pattern=r"(?u)\b\w+\b",
                n_features=self.n_features,
                binary=True,
                **common,
            ),
        }
        wanted = list(self.views) + [f"lr_{v}" for v in self.likelihood if v not in self.views]
        return {v: makers[v.removeprefix("lr_")]() for v in wanted}

    def _counts(self, texts: list[str]) -> dict[str, sp.csr_matrix]:
        return {v: _hashed_counts(h, texts) for v, h in self._hashers().items()}

    def _fit_counts(self, counts: dict[str, sp.csr_matrix], n: int) -> None:
        self.idf_ = {}
        for v, c in counts.items():
            if v == "func" or v.startswith("lr_"):
                continue  # function words: relative frequencies, no IDF
            self.idf_[v] = TfidfTransformer(sublinear_tf=True).fit(c)
        # reference n-gram distribution of each likelihood view (add-one smoothed)
        self.ref_ = {}
        for v in self.likelihood:
            c = counts[v if v in counts else f"lr_{v}"]
            freq = np.asarray(c.sum(axis=0)).ravel() + 1.0
            self.ref_[v] = (freq / freq.sum()).astype(np.float32)
        self.n_texts_ = n

    def fit(self, texts: list[str], y: object = None) -> StyleVectorizer:
        texts = _check_texts(texts)
        self._fit_counts(self._counts(texts), len(texts))
        return self

    def fit_transform(self, texts: list[str], y: object = None) -> AdFeatures:  # type: ignore[override]
        """``fit(texts).transform(texts)`` with the n-grams of each text counted once."""
        texts = _check_texts(texts)
        counts = self._counts(texts)
        self._fit_counts(counts, len(texts))
        return self._features(texts, counts)

    def transform(self, texts: list[str]) -> AdFeatures:
        check_is_fitted(self, "idf_")
        texts = _check_texts(texts)
        return self._features(texts, self._counts(texts))

    def _features(self, texts: list[str], counts: dict[str, sp.csr_matrix]) -> AdFeatures:
        lr = {
            v: likelihood_view(counts[v if v in counts else f"lr_{v}"], self.ref_[v], self.lr_mu)
            for v in self.likelihood
        }
        views = {}
        for v in self.views:
            c = counts.pop(v)
            x = self.idf_[v].transform(c) if v in self.idf_ else c
            if self.max_terms and v in ("char", "word", "phrase", "folded"):
                x = top_terms(x.tocsr(), self.max_terms)
            views[v] = normalize(x, norm="l2", copy=False).astype(np.float32).tocsr()
        style = style_matrix(texts) if self.style else np.zeros((len(texts), 0), dtype=np.float32)
        dense = {}
        if self.embedding is not None:
            from ownergraph.linking.stylometry.embeddings import encode  # noqa: PLC0415

            dense["embed"] = encode(texts, self.embedding)
        return AdFeatures(
            views, style, self._overlap_views(), dense, lr, self.style and self.style_product
        )

    def _overlap_views(self) -> tuple[str, ...]:
        if not self.overlap:
            return ()
        return tuple(v for v in self.views if v in OVERLAP_VIEWS)

    def feature_names(self) -> list[str]:
        """Names of the pair features ``pair_features`` returns for this vectorizer."""
        names = [f"cos_{v}" for v in self.views]
        for v in self._overlap_views():
            names += [f"maxterm_{v}", f"jaccard_{v}"]
        if self.style:
            names += [f"absdiff_{n}" for n in STYLE_NAMES] + [f"mean_{n}" for n in STYLE_NAMES]
            if self.style_product:
                names += [f"prod_{n}" for n in STYLE_NAMES]
        for v in self.likelihood:
            names += [f"lr_mean_{v}", f"lr_min_{v}"]
        if self.embedding is not None:
            names.append("cos_embed")
        return names


def _hashed_counts(h: object, texts: list[str]) -> sp.csr_matrix:
    """``h.transform(texts)`` as CSR; the char_wb count views (``char``, ``title``) by
    the vectorised hasher of :mod:`~ownergraph.linking.stylometry.ngram_hash`, which
    returns the same matrix ~2.5x faster."""
    if (
        isinstance(h, HashingVectorizer)
        and h.analyzer == "char_wb"
        and h.input == "content"
        and h.preprocessor in (None, _title)
        and (h.preprocessor is not None or not h.lowercase)
        and h.strip_accents is None
        and not (h.binary or h.alternate_sign or h.norm)
    ):
        docs = texts if h.preprocessor is None else [h.preprocessor(t) for t in texts]
        try:
            return char_wb_counts(docs, h.ngram_range, h.n_features, h.dtype)
        except UnicodeEncodeError:
            pass  # a lone surrogate: scikit-learn's path reports it as before
    return h.transform(texts).tocsr()


_GRAMMAR_TOKEN = re.compile(r"⟨[A-Z]+⟩|[^\W\d_]+|\d+|\n|[^\w\s]")
_FUNCTION_SET = frozenset(FUNCTION_WORDS)


def _shape(tok: str) -> str:
    """A token as grammar sees it: function words and symbols as they are (lower-cased
    words), other words by their casing shape, digits as ``0``, a line break as ``¶``."""
    if tok == "\n":
        return "¶"
    low = tok.lower()
    if low in _FUNCTION_SET:
        return low if tok == low else ("F" + low if tok.isupper() and len(tok) > 1 else "f" + low)
    if tok[0].isdigit():
        return "0"
    if not tok[0].isalpha():
        return tok
    if tok.isupper():
        return "W" if len(tok) > 1 else "C"
    if tok[0].isupper():
        return "Ww"
    return "w"


def _grammar_ngrams(text: str) -> list[str]:
    """Token 1-3-grams of the text distorted to its grammar: content words replaced by
    their shape, function words, punctuation, emoji and layout kept (as in the text
    distortion of Stamatatos 2017 / POSnoise of LambdaG, without a tagger)."""
    toks = [_shape(t) for t in _GRAMMAR_TOKEN.findall(text)]
    out = list(toks)
    for n in (2, 3):
        out += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return out


def likelihood_view(
    counts: sp.csr_matrix, ref: np.ndarray, mu: float
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Per-ad parts of a Dirichlet-smoothed n-gram likelihood ratio (LambdaG-like).

    With ``P_A(g) = (c_A(g) + mu p_ref(g)) / (|A| + mu)`` (ad A's n-gram model smoothed
    towards the reference distribution), the mean log-ratio over the n-grams of B is
    ``sum_g K_B(g) W_A(g) + log(mu / (|A| + mu))`` with ``W_A = log1p(c_A / (mu p_ref))``
    and ``K_B = c_B / |B|``. Returns ``(W, K, |.|)``, float32.
    """
    counts = counts.tocsr().astype(np.float32)
    n = np.asarray(counts.sum(axis=1)).ravel().astype(np.float32)
    w = counts.copy()
    w.data = np.log1p(w.data / (mu * ref[w.indices])).astype(np.float32)
    k = counts.multiply(1.0 / np.maximum(n, 1.0)[:, None]).tocsr().astype(np.float32)
    return w, k, np.log(mu / (n + mu)).astype(np.float32)


def likelihood_ratio(
    w: sp.csr_matrix,
    k: sp.csr_matrix,
    log_norm: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    chunk: int = 200_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and minimum of the two directions' likelihood ratios (B under A's model vs
    the reference, and A under B's) for pairs ``(a[k], b[k])``: symmetric in a and b."""
    mean, low = (np.empty(len(a), dtype=np.float32) for _ in range(2))
    for s in range(0, len(a), chunk):
        ca, cb = a[s : s + chunk], b[s : s + chunk]
        ab = np.asarray(w[ca].multiply(k[cb]).sum(axis=1)).ravel() + log_norm[ca]
        ba = np.asarray(w[cb].multiply(k[ca]).sum(axis=1)).ravel() + log_norm[cb]
        mean[s : s + chunk] = (ab + ba) / 2
        low[s : s + chunk] = np.minimum(ab, ba)
    return mean, low


def top_terms(x: sp.csr_matrix, t: int) -> sp.csr_matrix:
    """Keep the ``t`` largest entries of each row (bounds memory and pair-scoring cost)."""
    x.sort_indices()
    counts = np.diff(x.indptr)
    if counts.max(initial=0) <= t:
        return x
    keep = np.ones(x.nnz, dtype=bool)
    for r in np.flatnonzero(counts > t):
        s, e = x.indptr[r], x.indptr[r + 1]
        drop = np.argpartition(x.data[s:e], e - s - t)[: e - s - t]
        keep[s + drop] = False
    rows = np.repeat(np.arange(x.shape[0]), counts)[keep]
    return sp.csr_matrix((x.data[keep], (rows, x.indices[keep])), shape=x.shape)


def _check_texts(texts: object) -> list[str]:
    texts = list(texts)  # type: ignore[call-overload]
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text #{i} is {type(t).__name__}, not str")
    return texts


def row_cosine(x: sp.csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of rows ``a[k]`` and ``b[k]`` of an L2-normalised CSR matrix."""
    return pair_products(x, a, b)[0]


def row_overlap(
    x: sp.csr_matrix, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cosine, largest term product and term-set Jaccard of rows ``a[k]``, ``b[k]`` of an
    L2-normalised CSR matrix with non-negative entries, from one element-wise product."""
    cos, top, inter = pair_products(x, a, b)
    union = row_lengths(x, a) + row_lengths(x, b) - inter
    jac = (inter / np.maximum(union, 1)).astype(np.float32)
    return cos, top, jac


def pair_features(
    feats: AdFeatures,
    a: np.ndarray,
    b: np.ndarray,
    fields: tuple[str, ...] = (),
    rarity: LocationRarity | None = None,
) -> np.ndarray:
    """Pair feature matrix for ad index pairs ``(a[k], b[k])`` (symmetric in a and b):
    the cosine of every view, then max-term and Jaccard of the overlap views, then the
    style differences and means (the order of ``StyleVectorizer.feature_names``), then
    the pair features of the ad ``fields`` asked for (``field_pair_features``; ``rarity``:
    the location's rarity weights learned in fit)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    cols, extra = [], []
    for v, x in feats.views.items():
        if v in feats.overlap:
            cos, top, jac = row_overlap(x, a, b)
            cols.append(cos)
            extra += [top, jac]
        else:
            cols.append(row_cosine(x, a, b))
    cols += extra
    out = np.column_stack(cols) if cols else np.zeros((len(a), 0), dtype=np.float32)
    if feats.style.shape[1]:
        sa, sb = feats.style[a], feats.style[b]
        out = np.hstack([out, np.abs(sa - sb), (sa + sb) / 2])
        if feats.style_product:
            out = np.hstack([out, sa * sb])
    more = []
    for w, k, n in feats.lr.values():
        more += list(likelihood_ratio(w, k, n, a, b))
    for x in feats.dense.values():
        more.append(np.einsum("ij,ij->i", x[a], x[b]))
    if more:
        out = np.hstack([out, np.column_stack(more)])
    if fields:
        out = np.hstack([out, field_pair_features(feats, a, b, fields, rarity)])
    return out.astype(np.float32)


# ---- pair features from the ad's own fields (not its text) --------------------------------
# ``age``: the stated age; ``location``: the free-text location string the author wrote;
# ``date``: the creation time. A missing field is a "missing" indicator, never a match.
FIELD_FEATURES = ("age", "location", "date")
_AGE = re.compile(r"\d{2}")
_LOC_TOKEN = re.compile(r"[^\W_]{2,}")
_PLACEHOLDER = re.compile(r"⟨[A-Z]+⟩")


def _age(v: object) -> float:
    """The first two-digit number of a stated age in 16..80, else NaN."""
    m = _AGE.search(str(v)) if v is not None else None
    age = float(m.group()) if m else np.nan
    return age if 16 <= age <= 80 else np.nan


def location_tokens(v: object) -> list[str]:
    """Normalised tokens of a location string (phones, e-mails, URLs and handles masked
    out, as in the text: they are the labels; NFKC, lower-cased, 2+ letters/digits, each
    once): ``Inglewood / Hawthorne, LAX`` -> ``inglewood hawthorne lax``."""
    if v is None:
        return []
    text = _PLACEHOLDER.sub(" ", mask_text(unicodedata.normalize("NFKC", str(v))))
    return list(dict.fromkeys(_LOC_TOKEN.findall(text.lower())))


def _key(s: str) -> int:
    """A stable non-zero 63-bit hash of a string (Python's ``hash`` varies per process)."""
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") >> 1 or 1


def field_columns(
    values: dict[str, list] | None, fields: tuple[str, ...], n: int
) -> dict[str, np.ndarray | sp.csr_matrix]:
    """Per-ad columns of the ad ``fields`` (see ``FIELD_FEATURES``) from raw values per
    ad (``LabelledAds.fields``: ``age``, ``location``, ``posted_at``; a missing key or
    ``None`` is a missing value): ``age`` float (NaN missing); ``location`` a binary
    hashed token-set matrix and ``location_key`` a hash of the token sequence (0
    missing); ``date`` days since 1970 (NaN missing)."""
    unknown = set(fields) - set(FIELD_FEATURES)
    if unknown:
        raise ValueError(f"unknown ad fields {sorted(unknown)}; known: {FIELD_FEATURES}")
    values = values or {}

    def raw(k: str) -> list:
        v = values.get(k)
        if v is not None and len(v) != n:
            raise ValueError(f"ad field {k!r} has {len(v)} values for {n} ads")
        return list(v) if v is not None else [None] * n

    out: dict[str, np.ndarray | sp.csr_matrix] = {}
    if "age" in fields:
        out["age"] = np.array([_age(v) for v in raw("age")], dtype=np.float32)
    if "location" in fields:
        toks = [location_tokens(v) for v in raw("location")]
        out["location"] = HashingVectorizer(
            analyzer=lambda t: t, n_features=2**18, alternate_sign=False, norm=None,
            binary=True, dtype=np.float32,
        ).transform(toks).tocsr()  # fmt: skip
        key = [_key(" ".join(t)) if t else 0 for t in toks]
        out["location_key"] = np.array(key, dtype=np.int64)
    if "date" in fields:
        import pandas as pd  # noqa: PLC0415

        t = pd.to_datetime(pd.Series(raw("posted_at"), dtype=object), errors="coerce", utc=True)
        days = (t - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86400
        out["date"] = days.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def field_feature_names(fields: tuple[str, ...], rarity: bool = False) -> list[str]:
    """Names of the pair features of ``fields`` (the order ``field_pair_features`` uses);
    ``rarity`` adds the location's rarity-weighted matches (``LocationRarity``)."""
    names = {
        "age": ["age_missing", "age_equal", "age_absdiff"],
        "location": ["location_missing", "location_jaccard", "location_same"]
        + (list(LocationRarity.NAMES) if rarity else []),
        "date": ["date_missing", "date_days_apart"],
    }
    return [n for f in FIELD_FEATURES if f in fields for n in names[f]]


@dataclass
class LocationRarity:
    """How rare each location value is among a model's training ads: the IDF of each
    hashed location token and the count of each whole location string (its key), from
    ``fit(columns, rows)`` on the training ads only. Pair features (``NAMES``): the
    IDF-weighted token Jaccard, the largest IDF of a shared token, and for two equal
    strings ``-log`` of the string's share of the training ads (0 when they differ; an
    unseen string counts as seen once). A shared common value ("Las Vegas") then weighs
    less than a shared rare one ("Hawthorne, LAX 405 fwy")."""

    NAMES = ("location_idf_jaccard", "location_idf_max_shared", "location_same_rarity")
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_ads: int = 0

    @classmethod
    def fit(cls, columns: dict, rows: np.ndarray) -> LocationRarity:
        """From the ``field_columns`` of ads ``rows`` (ads without a location skipped)."""
        x, key = columns["location"], columns["location_key"]
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        rows = rows[key[rows] != 0]
        n = len(rows)
        df = np.asarray((x[rows] > 0).sum(axis=0)).ravel()
        idf = (np.log((n + 1) / (df + 1)) + 1).astype(np.float32)  # smoothed, as sklearn
        keys, counts = np.unique(key[rows], return_counts=True)
        return cls(idf, keys, counts.astype(np.int64), n)

    def pair_features(self, columns: dict, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        x, key = columns["location"], columns["location_key"]
        miss = (key[a] == 0) | (key[b] == 0)
        xa = x[a].multiply(self.idf[None, :]).tocsr()
        shared = xa.multiply(x[b]).tocsr()
        w_sh = np.asarray(shared.sum(axis=1)).ravel()
        w_a = np.asarray(xa.sum(axis=1)).ravel()
        w_b = np.asarray(x[b].multiply(self.idf[None, :]).sum(axis=1)).ravel()
        jac = w_sh / np.maximum(w_a + w_b - w_sh, 1e-9)
        top = shared.max(axis=1).toarray().ravel()
        pos = np.clip(np.searchsorted(self.keys, key[a]), 0, max(len(self.keys) - 1, 0))
        seen = self.keys[pos] == key[a] if len(self.keys) else np.zeros(len(a), bool)
        count = np.where(seen, self.counts[pos] if len(self.keys) else 0, 0)
        rarity = -np.log(np.maximum(count, 1) / max(self.n_ads, 1))
        same = key[a] == key[b]
        return [
            np.where(miss, np.nan, jac),
            np.where(miss, np.nan, top),
            np.where(miss, np.nan, np.where(same, rarity, 0.0)),
        ]


def field_pair_features(
    feats: AdFeatures,
    a: np.ndarray,
    b: np.ndarray,
    fields: tuple[str, ...],
    rarity: LocationRarity | None = None,
) -> np.ndarray:
    """Pair features of the ad ``fields`` (order of ``field_feature_names``): per field
    how many of the two ads miss it (0, 1, 2), then its comparison, NaN or 0 (never a
    match) when either misses it: age equal and |difference|; location token-set
    Jaccard and "same location string" (with ``rarity``: then its rarity-weighted
    matches, ``LocationRarity``); |days apart|."""
    missing = set(fields) - set(feats.ad_fields)
    if missing:
        raise ValueError(f"features lack the ad fields {sorted(missing)} (field_columns)")
    cols = []
    if "age" in fields:
        x = feats.ad_fields["age"]
        xa, xb = x[a], x[b]
        miss = np.isnan(xa).astype(np.float32) + np.isnan(xb)
        cols += [miss, (miss == 0) & (xa == xb), np.where(miss == 0, np.abs(xa - xb), np.nan)]
    if "location" in fields:
        x, key = feats.ad_fields["location"], feats.ad_fields["location_key"]
        miss = (key[a] == 0).astype(np.float32) + (key[b] == 0)
        _, _, jac = row_overlap(x, a, b)
        cols += [miss, np.where(miss == 0, jac, np.nan), (miss == 0) & (key[a] == key[b])]
        if rarity is not None:
            cols += rarity.pair_features(feats.ad_fields, a, b)
    if "date" in fields:
        x = feats.ad_fields["date"]
        xa, xb = x[a], x[b]
        miss = np.isnan(xa).astype(np.float32) + np.isnan(xb)
        cols += [miss, np.where(miss == 0, np.abs(xa - xb), np.nan)]
    return np.column_stack(cols).astype(np.float32)
