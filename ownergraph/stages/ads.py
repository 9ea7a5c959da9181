"""The ads stage: load ad files (:func:`ownergraph.loaders.ads.load_ads`, one file at a
time, into one quarantine) and add up what each did."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ownergraph import defaults
from ownergraph.loaders.ad_mapping import AdMapping
from ownergraph.loaders.ads import LoadSummary, load_ads
from ownergraph.loaders.quarantine import InputError, Quarantine
from ownergraph.stages.base import Progress, StageSummary, no_progress


@dataclass
class AdFile:
    """One ad file and how to read it (the options of ``ownergraph load ads``)."""

    path: str | Path
    fmt: str | None = None
    mapping: AdMapping | None = None
    region: str = "US"
    timezone: str = "UTC"
    date_format: str | None = None
    country: str | None = None


@dataclass
class AdsSummary(StageSummary):
    """What ``load_ad_files`` did, over all files (``files``: each file's own summary;
    one with ``error`` set was unreadable and loaded nothing)."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    phones: int = 0
    emails: int = 0
    fields_dropped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined, by reason
    dropped: dict[str, int] = field(default_factory=dict)  # "field: reason" -> count
    files: list[LoadSummary] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        """Every file was read and each one's rows are loaded or quarantined."""
        return all(not f.error and f.reconciles for f in self.files)


def load_ad_files(
    store: object,
    files: Iterable[AdFile],
    *,
    quarantine: Quarantine | None = None,
    batch_size: int = defaults.ADS_BATCH,
    hmac_key: bytes | None = None,
    skip_unreadable: bool = False,
    progress: Progress = no_progress,
    workers: int = defaults.ADS_PARSE_WORKERS,
) -> AdsSummary:
    """Load each file into ``store`` (idempotent); returns the counts added up.

    ``skip_unreadable``: a file that cannot be read at all (``ValueError``/``OSError``) is
    recorded in ``files`` with its ``error`` and the next one is loaded; otherwise the
    error stops the stage. A bad record is quarantined with its reason either way (or
    stops the stage, with a strict quarantine). ``workers``: processes parsing records
    (see :func:`~ownergraph.loaders.ads.load_ads`).
    """
    out = AdsSummary()
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress("ads", done, None)

    for f in files:
        try:
            s = load_ads(
                store,
                f.path,
                fmt=f.fmt,
                mapping=f.mapping,
                default_region=f.region,
                timezone=f.timezone,
                date_format=f.date_format,
                country=f.country,
                quarantine=quarantine,
                batch_size=batch_size,
                hmac_key=hmac_key,
                progress=advance,
                workers=workers,
            )
        except (ValueError, OSError) as exc:
            if not skip_unreadable or isinstance(exc, InputError):  # InputError: --strict
                raise
            out.files.append(LoadSummary(str(f.path), error=str(exc)))
            continue
        out.files.append(s)
        for k in ("read", "loaded", "quarantined", "duplicates", "phones", "emails"):
            setattr(out, k, getattr(out, k) + getattr(s, k))
        for mine, theirs in ((out.reasons, s.reasons), (out.dropped, s.dropped)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
    out.fields_dropped = sum(out.dropped.values())
    return out
