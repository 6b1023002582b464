"""The naming rules and limits of the cloud registries' APIs, and how text is made to obey them.

Every function here returns text its API accepts (or None when nothing acceptable is left),
so an export never emits a request the service would refuse for its shape.

SageMaker (CreateModelPackage):
  ModelPackageGroupName     1-63 chars, [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
  ModelPackageDescription   at most 1024 chars of letters, marks, spaces, symbols, digits, punctuation
  CustomerMetadataProperties at most 50 entries; keys 1-128 and values 1-256 chars of
                            letters, spaces, digits and _ . : / = + - @
Vertex AI (models.upload):
  displayName               at most 128 characters
  labels                    at most 64; keys 1-63 chars starting with a lowercase letter, values
                            0-63 chars; lowercase letters (international ones too), digits, _ and -
  versionAliases            [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]; `default` belongs to Vertex
  modelId                   at most 63 chars of [a-z0-9_-], not starting with a digit or hyphen
"""

from __future__ import annotations

import re
import unicodedata

# ---- SageMaker ----

GROUP_NAME_MAX = 63
GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
DESCRIPTION_MAX = 1024
METADATA_MAX_ENTRIES = 50
METADATA_KEY_MAX = 128
METADATA_VALUE_MAX = 256
METADATA_PUNCTUATION = frozenset("_.:/=+-@")


def group_name(model: str) -> str:
    """A model name (`fraud.v2_eu`) as a ModelPackageGroupName (`fraud-v2-eu`)."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", model)[:GROUP_NAME_MAX].strip("-")
    return cleaned or "model"


def description(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """One line (control characters are not allowed), cut at `limit` with an ellipsis."""
    flat = " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _metadata_char(char: str) -> bool:
    return unicodedata.category(char)[0] in ("L", "N", "Z") or char in METADATA_PUNCTUATION


def metadata_text(text: str, limit: int) -> str | None:
    """`text` with every character CustomerMetadataProperties refuses replaced by `_`, cut at `limit`."""
    cleaned = "".join(c if _metadata_char(c) else "_" for c in text)[:limit]
    return cleaned or None


def metadata_valid(key: str, value: str) -> bool:
    return (0 < len(key) <= METADATA_KEY_MAX and 0 < len(value) <= METADATA_VALUE_MAX
            and all(map(_metadata_char, key)) and all(map(_metadata_char, value)))  # fmt: skip


# ---- Vertex AI ----

DISPLAY_NAME_MAX = 128
LABELS_MAX = 64
LABEL_MAX = 63
ALIAS = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$")
RESERVED_ALIASES = frozenset({"default"})
MODEL_ID = re.compile(r"^[a-z_][a-z0-9_-]{0,62}$")


def _label_char(char: str) -> bool:
    return unicodedata.category(char) in ("Ll", "Lo", "Nd") or char in "_-"


def label_value(text: str) -> str:
    """Lowercased, every other refused character as `_`, at most 63 characters (may be empty)."""
    return "".join(c if _label_char(c) else "_" for c in text.lower())[:LABEL_MAX]


def label_key(text: str) -> str | None:
    """A label value that also starts with a lowercase letter; None when nothing is left."""
    value = label_value(text)
    if not value.strip("_-"):
        return None
    if unicodedata.category(value[0]) not in ("Ll", "Lo"):
        value = ("k" + value)[:LABEL_MAX]
    return value


def label_valid(key: str, value: str) -> bool:
    return (0 < len(key) <= LABEL_MAX and len(value) <= LABEL_MAX and unicodedata.category(key[0]) in ("Ll", "Lo")
            and all(map(_label_char, key)) and all(map(_label_char, value)))  # fmt: skip


def version_alias(text: str) -> str | None:
    """A stage or alias as a Vertex version alias (`Champion_EU` -> `champion-eu`); None if unusable."""
    if ALIAS.match(text) and text not in RESERVED_ALIASES:
        return text
    # Lowercased whole: the pattern wants the ends lowercase, and one case reads better.
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    if not cleaned:
        return None
    if not cleaned[0].isalpha():
        cleaned = "v" + cleaned
    cleaned = cleaned[:128].rstrip("-")
    if len(cleaned) < 2:
        cleaned += "0"
    return cleaned if ALIAS.match(cleaned) and cleaned not in RESERVED_ALIASES else None


def model_id(model: str) -> str:
    """A model name as a Vertex model id."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", model.lower())
    if not re.match(r"[a-z_]", cleaned[:1]):
        cleaned = "m" + cleaned
    return cleaned[:63]


def display_name(text: str) -> str:
    return text[:DISPLAY_NAME_MAX]
