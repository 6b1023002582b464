"""Semantic versions of model versions: parsing, ordering, bumping and choosing the next one.

Rules (what a caller registering a version can rely on):

- Format: strictly ``MAJOR.MINOR.PATCH`` with an optional leading ``v`` (``v1.2.3``). Each
  part is a decimal integer 0..999999 without leading zeros (``01.2.3`` is refused, as the
  SemVer spec does, so one version has exactly one spelling). Pre-release and build suffixes
  (``1.2.3-rc1``, ``1.2.3+abc``) and surrounding blanks are refused. Bad input raises
  ``InvalidArgument(reason="INVALID_SEMVER", field="semver", value=...)``.
- Order: by (major, minor, patch); ``sort_key`` packs it into one integer
  (major*10**12 + minor*10**6 + patch) that the catalog stores as ``semver_key``, so SQL
  orders and compares semvers as numbers.
- Kind of change, when the caller gives none (``derive_change_kind``), judged against the
  previous version of the same model; the first rule that holds wins:
    1. no previous version                                   -> INITIAL (1.0.0)
    2. the new signature cannot serve callers of the previous -> SCHEMA  (major bump)
    3. the training data differ                              -> DATA    (minor bump)
    4. anything else (hyper-parameters, code, tuning)        -> TUNING  (patch bump)
  A kind is only claimed on evidence: a side that records no signature, or no data
  lineage at all (neither datasets nor ``training.data_versions``), is "unknown", and
  unknown is never read as a change. A retrain registered without lineage is therefore a
  patch, not a silent minor; callers who know better pass the kind or the semver.
  Datasets and ``training.data_versions`` are read as one set of (name, version) pairs,
  so recording the same data in both places is not a change; a dataset's URI is where
  it lives, not what it is, and is ignored.
- Next semver (``next_semver``):
    * an explicit semver (non-empty) wins. It may be lower than the highest one (a fix released on an
      older line, e.g. 1.4.1 after 2.0.0 exists) but it must not already exist for the
      model: the caller checks that with ``ensure_semver_unused`` (``ALREADY_EXISTS``,
      reason ``SEMVER_EXISTS``), because only the caller can see the catalog;
    * otherwise the bump applies to the model's highest existing semver, not to the
      previous version's, so a derived semver never collides with an explicit back-port
      and always sorts above everything registered before;
    * the first version is 1.0.0 whatever the kind;
    * INITIAL on a model that already has versions means "a fresh start" and bumps the
      major: it promises nothing about compatibility, and major is the bump that promises
      the least;
    * bumping past 999999 raises ``OutOfRange(reason="SEMVER_OUT_OF_RANGE")``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from studbook.daemon.domain.errors import AlreadyExists, InvalidArgument, OutOfRange
from studbook.daemon.domain.model import ChangeKind, Dataset, ModelVersion, Signature, TrainingConfig
from studbook.daemon.domain.signature import check_compatibility

MAX_PART = 999_999
# One part's share of `sort_key`; 10**6 > MAX_PART, so keys never overlap.
_PART_BASE = 10**6
INITIAL_SEMVER_TEXT = "1.0.0"

# [0-9] rather than \d: \d also matches non-ASCII digits such as "١".
_PART = r"(0|[1-9][0-9]{0,5})"
_SEMVER = re.compile(rf"v?{_PART}\.{_PART}\.{_PART}")


@dataclass(frozen=True, order=True)
class SemVer:
    """A MAJOR.MINOR.PATCH version; ordered by its parts."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        for part_name in ("major", "minor", "patch"):
            value = getattr(self, part_name)
            # bool is an int subclass; True is not a version part.
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PART:
                raise InvalidArgument(
                    f"semver {part_name} must be an integer from 0 to {MAX_PART}, got {value!r}",
                    reason="INVALID_SEMVER",
                    field="semver",
                    value=str(value)[:100],
                )

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``MAJOR.MINOR.PATCH`` (optionally ``v``-prefixed); refuse anything else."""
        match = _SEMVER.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidArgument(
                f"invalid semver {str(text)[:100]!r}: use MAJOR.MINOR.PATCH such as 1.4.2 "
                f"(optional leading 'v', each part 0..{MAX_PART} without leading zeros, "
                "no pre-release or build suffix)",
                reason="INVALID_SEMVER",
                field="semver",
                value=str(text)[:100],
            )
        major, minor, patch = (int(part) for part in match.groups())
        return cls(major, minor, patch)

    @classmethod
    def from_sort_key(cls, key: int) -> SemVer:
        """Inverse of `sort_key`, for rows read back from the catalog."""
        if not 0 <= key <= SemVer(MAX_PART, MAX_PART, MAX_PART).sort_key:
            raise InvalidArgument(
                f"semver key out of range: {key}", reason="INVALID_SEMVER", field="semver_key", value=key
            )
        major, rest = divmod(key, _PART_BASE * _PART_BASE)
        minor, patch = divmod(rest, _PART_BASE)
        return cls(major, minor, patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def sort_key(self) -> int:
        """major*10**12 + minor*10**6 + patch: the catalog's `semver_key` column."""
        return (self.major * _PART_BASE + self.minor) * _PART_BASE + self.patch

    def bump(self, kind: ChangeKind) -> SemVer:
        """The next version for a change of `kind`; always greater than `self`."""
        try:
            kind = ChangeKind(kind)
        except ValueError:
            raise InvalidArgument(
                f"unknown change kind {kind!r}", reason="INVALID_CHANGE_KIND", field="change_kind", value=kind
            ) from None
        if kind in (ChangeKind.SCHEMA, ChangeKind.INITIAL):
            return SemVer(self._next("major", self.major), 0, 0)
        if kind is ChangeKind.DATA:
            return SemVer(self.major, self._next("minor", self.minor), 0)
        return SemVer(self.major, self.minor, self._next("patch", self.patch))

    def _next(self, part_name: str, value: int) -> int:
        if value >= MAX_PART:
            raise OutOfRange(
                f"cannot bump the {part_name} of {self}: it is already {MAX_PART}; give an explicit semver instead",
                reason="SEMVER_OUT_OF_RANGE",
                field="semver",
                value=str(self),
            )
        return value + 1


INITIAL_SEMVER = SemVer(1, 0, 0)


@dataclass(frozen=True)
class ChangeBasis:
    """What a model's next version is judged against: the parts of its latest version that
    `derive_change_kind` and `next_semver` read. The version.created event of a version carries
    them too, so a daemon that takes another one's registrations need not read that version."""

    number: int
    semver: str
    signature: Signature
    datasets: list[Dataset]
    training: TrainingConfig

    @classmethod
    def of(cls, version: ModelVersion) -> ChangeBasis:
        return cls(version.number, version.semver, version.signature, version.datasets, version.training)


def derive_change_kind(previous: ModelVersion | ChangeBasis | None, new: ModelVersion) -> ChangeKind:
    """The kind of change from `previous` to `new` (see the module docstring for the rules)."""
    if previous is None:
        return ChangeKind.INITIAL
    if not previous.signature.empty and not new.signature.empty:
        if not check_compatibility(previous.signature, new.signature).compatible:
            return ChangeKind.SCHEMA
    previous_data, new_data = _data_fingerprint(previous), _data_fingerprint(new)
    if previous_data and new_data and previous_data != new_data:
        return ChangeKind.DATA
    return ChangeKind.TUNING


def _data_fingerprint(version: ModelVersion | ChangeBasis) -> frozenset[tuple[str, str]]:
    """The (name, version) pairs of the data a version was trained on; empty when unknown."""
    pairs = {(dataset.name, dataset.version) for dataset in version.datasets}
    pairs.update(version.training.data_versions.items())
    versioned_names = {name for name, data_version in pairs if data_version}
    # A name recorded once with a version and once without is one dataset, not two.
    return frozenset((name, v) for name, v in pairs if v or name not in versioned_names)


def next_semver(
    previous_semver: SemVer | None,
    kind: ChangeKind,
    explicit: str | None,
    highest: SemVer | None,
) -> SemVer:
    """The semver of a new version: the explicit one, else a bump of the highest existing.

    `previous_semver` is the semver of the version the change is judged against; it only
    matters when `highest` is unknown, since the highest existing semver is never below it.
    An explicit semver is parsed here but checked for collisions by the caller with
    `ensure_semver_unused`.
    """
    if explicit:
        return SemVer.parse(explicit)
    known = [semver for semver in (previous_semver, highest) if semver is not None]
    if not known:
        return INITIAL_SEMVER
    return max(known).bump(kind)


def ensure_semver_unused(candidate: SemVer, existing: Collection[SemVer], *, model: str = "") -> None:
    """Refuse a semver the model already has: one semver names one version."""
    if candidate in existing:
        where = f" of model {model!r}" if model else ""
        raise AlreadyExists(
            f"semver {candidate} is already used by another version{where}; "
            "choose another or leave it empty to derive the next one",
            reason="SEMVER_EXISTS",
            field="semver",
            value=str(candidate),
            model=model,
        )
