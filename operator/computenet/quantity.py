"""Kubernetes resource quantities ("500m", "64Gi", "1e3", ``0.5``) as exact numbers.

Every layer of computenet reads quantities: the API validates the ones users write, the member layer
reads tens of thousands of node capacities and pod requests, and placement compares them. Kubernetes
quantities are exact decimals, so they are parsed into :class:`decimal.Decimal` (never float) and
normalised to integers at the edge: CPU in millicores, everything else (memory, storage, extended
resources) in base units, both rounded up as Kubernetes itself does. Ordinary ``Decimal`` comparisons
then give the ordering, and the ``format_*`` functions turn amounts back into strings.

The grammar, the value rules and the canonical form are ported from Kubernetes v1.36.3,
``k8s.io/apimachinery@v0.36.3/pkg/api/resource/quantity.go`` (``ParseQuantity``,
``CanonicalizeBytes``, ``String``, ``UnmarshalJSON``) and ``suffix.go``:

* ``<signedNumber><suffix>``: an optional sign, digits with an optional decimal point, then one
  binary suffix (``Ki`` ... ``Ei``), decimal suffix (``n u m k M G T P E``, or none) or decimal
  exponent (``e3``, ``E-3``, ``e+3``; "1E" alone is exa).
* A non-zero value is rounded up, away from zero, to a whole number of nano units ("0.1n" is 1n,
  "-0.1n" is -1n); a binary-suffixed value is capped at 2^63-1 in magnitude ("9Ei").
* The quantity remembers its format (DecimalSI, BinarySI or DecimalExponent), which decides its
  canonical string: no fractional digits, the largest suffix that loses nothing ("1.5Gi" ->
  "1536Mi", "1.5" -> "1500m", "1000M" -> "1G", "1.2e3" -> "1200"), a BinarySI amount below 1024 or
  not whole written as DecimalSI.
* A JSON number is a quantity too: ``UnmarshalJSON`` parses the number's text. YAML ``cpu: 0.5``
  reaches Python as a ``float``; it is read from ``float.__repr__``, the shortest decimal text that
  reads back as the same float. That is exactly the text the operator itself writes when it sends
  the value on (``json.dumps``), so ``0.5`` is 500m and ``0.1`` is 100m, never a binary-float artefact
  such as 0.1000000000000000055511151231257827. (``UnmarshalJSON`` also trims spaces around a JSON
  string; :func:`parse_quantity` follows ``ParseQuantity`` and refuses them, as the API server's
  schema check ``isQuantity`` does.)
* ``String`` echoes an input that its fast path finds canonical-looking ("+1", "01", "1E3");
  :func:`canonical_quantity` always gives the canonical form ("1", "1", "1e3"), the same amount.

Deliberately stricter than upstream, so that a typo is an error instead of a strange amount:

* the number must have a digit: upstream reads "Gi", "e3", "+", "." and "-." as zero;
* at most 64 characters, a decimal exponent of at most 30 in magnitude (upstream takes any int64 and
  silently wraps it to int32: "1e4294967296" is 1 there), and a magnitude below 10^24 base units
  (upstream keeps any decimal value, so a value may exceed the 2^63-1 its documentation promises);
* a DecimalSI amount of 10^21 or more keeps the ``E`` suffix ("1000E"); upstream has no suffix for
  exponents above 18 and prints the bare mantissa ("1000E" becomes "1", which reads back as one).

:data:`QUANTITY_PATTERN` states the same syntax for CRD schemas, so the API server and this module
refuse the same strings. :func:`parse_quantity` raises only :class:`QuantityError`, whatever it is
given. Parsing is cached: node objects repeat the same few dozen strings, so a cluster-wide relist
costs little more than the dictionary lookups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_UP, Context, Decimal
from enum import StrEnum
from functools import lru_cache

__all__ = [
    "NON_NEGATIVE_QUANTITY_PATTERN",
    "POSITIVE_QUANTITY_PATTERN",
    "QUANTITY_PATTERN",
    "ParsedQuantity",
    "QuantityError",
    "QuantityFormat",
    "QuantityInput",
    "QuantityOutOfRange",
    "base_units",
    "canonical_quantity",
    "cpu_millis",
    "format_bytes",
    "format_canonical",
    "format_cpu",
    "format_quantity",
    "is_quantity",
    "parse_quantity",
    "parse_quantity_and_format",
    "to_int_units",
]

QuantityInput = str | int | float | Decimal
"""What a manifest can hold for a quantity once decoded from JSON or YAML (plus ``Decimal``)."""

MAX_EXPONENT = 30
"""Largest decimal exponent accepted, in magnitude ("1e30", "1e-30")."""
MAX_LENGTH = 64
"""Longest quantity string accepted."""
LIMIT = Decimal(10) ** 24
"""Magnitudes from here on are refused: typing mistakes, not resources."""

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
# An exponent of at most 30 in magnitude, leading zeros allowed ("1e007").
_EXPONENT_VALUE = r"[+-]?0*(?:[12]?[0-9]|30)"
_QUANTITY = re.compile(
    f"(?P<number>{_NUMBER})"
    rf"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exponent>{_EXPONENT_VALUE})|(?P<decimal>[numkMGTPE]))?"
)
# The same shape with any exponent, only to tell "out of range" apart from "not a quantity".
_ANY_EXPONENT = re.compile(f"{_NUMBER}[eE][+-]?[0-9]+")

QUANTITY_PATTERN = f"^{_QUANTITY.pattern}$"
"""The syntax as an anchored regular expression (RE2-compatible), for CRD schemas.

Upstream's grammar minus what this module refuses on purpose: a missing number ("Gi", "e3" and "+"
are zero to Kubernetes) and exponents above 30 in magnitude.
"""
NON_NEGATIVE_QUANTITY_PATTERN = QUANTITY_PATTERN.replace(_NUMBER, r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", 1)
""":data:`QUANTITY_PATTERN` without the minus sign, for amounts that cannot be negative."""
POSITIVE_QUANTITY_PATTERN = QUANTITY_PATTERN.replace(
    _NUMBER, r"\+?(?:[0-9]*[1-9][0-9]*(?:\.[0-9]*)?|[0-9]*\.[0-9]*[1-9][0-9]*)", 1
)
""":data:`QUANTITY_PATTERN` for amounts above zero: no minus sign, and a digit other than 0 in the number.

A non-zero number stays above zero whatever its suffix, since Kubernetes rounds up to 1n.
"""

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = {power // 10: suffix for suffix, power in _BINARY.items()}

_LIMIT_BITS = 80  # 2^80 > 10^24
_NANO = Decimal("1e-9")
_INT64_MAX = Decimal(2**63 - 1)
# Wide enough that 64 digits times 2^60 or scaled by 10^30 never round.
_EXACT = Context(prec=200)


class QuantityError(ValueError):
    """A value is not a Kubernetes quantity, or is outside the range computenet accepts."""


class QuantityOutOfRange(QuantityError):
    """A well-formed quantity too large (or with too large an exponent) to be a real amount of anything."""


class QuantityFormat(StrEnum):
    """How a quantity was written, which decides its canonical string (upstream ``resource.Format``)."""

    DECIMAL_SI = "DecimalSI"
    """No suffix or a decimal SI suffix: 12M, 500m, 2."""
    BINARY_SI = "BinarySI"
    """A binary suffix: 12Mi."""
    DECIMAL_EXPONENT = "DecimalExponent"
    """A decimal exponent: 12e6."""


@dataclass(frozen=True, slots=True)
class ParsedQuantity:
    """A quantity as Kubernetes holds it: its exact value (base units) and the format it was written in."""

    value: Decimal
    format: QuantityFormat

    def canonical(self) -> str:
        """The string Kubernetes writes back for this quantity (``Quantity.String``)."""
        return format_canonical(self.value, self.format)


def is_quantity(value: object) -> bool:
    """True if :func:`parse_quantity` accepts ``value``."""
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def parse_quantity(value: object) -> Decimal:
    """The exact value of a Kubernetes quantity in base units ("1.5Gi" -> 1610612736, ``0.5`` -> 0.5).

    Accepts a string, an int or a float as a manifest holds them (YAML turns ``cpu: 2`` into an int and
    ``cpu: 0.5`` into a float), and a finite ``Decimal``. Raises :class:`QuantityError` for anything
    else, of any type (booleans, None, lists, NaN, infinities, too large integers).
    """
    return parse_quantity_and_format(value).value


def parse_quantity_and_format(value: object) -> ParsedQuantity:
    """The value and the format of a quantity, as ``ParseQuantity`` (or ``UnmarshalJSON`` for numbers).

    A ``Decimal`` is taken as an exact DecimalSI amount. Raises :class:`QuantityError`.
    """
    if isinstance(value, str):
        return _parse_string(str.__str__(value))
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is a boolean, not a quantity")
    if isinstance(value, int):
        if value.bit_length() > _LIMIT_BITS:  # checked before any conversion of a huge integer
            raise QuantityOutOfRange(f"an integer of {value.bit_length()} bits is out of range (below 10^24)")
        return _finish(Decimal(int(value)), QuantityFormat.DECIMAL_SI, str(int(value)))
    if isinstance(value, float):
        # The text's grammar is known (repr), and its exponent is Python's choice, not the user's: only
        # the magnitude is checked (a tiny 1e-40 is 1n, as Kubernetes reads it).
        text = _float_text(value)
        form = QuantityFormat.DECIMAL_EXPONENT if "e" in text else QuantityFormat.DECIMAL_SI
        return _finish(Decimal(text), form, text)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise QuantityError(f"{value} is not a finite quantity")
        return _finish(value, QuantityFormat.DECIMAL_SI, f"{value:.6e}")
    raise QuantityError(f"a quantity is a string or a number, not {type(value).__name__}")


def _float_text(value: float) -> str:
    """The shortest decimal text that reads back as ``value`` (``float.__repr__``: 0.5 -> "0.5").

    ``json.dumps`` writes a float with the same text, so it is the number a member parses when the
    operator sends the value on.
    """
    if value != value or value in (float("inf"), float("-inf")):
        raise QuantityError(f"{float.__repr__(value)} is not a finite quantity")
    return float.__repr__(value)


def canonical_quantity(value: object) -> str:
    """The canonical string Kubernetes stores for a quantity: "1.5Gi" -> "1536Mi", ``0.5`` -> "500m".

    Raises :class:`QuantityError` if ``value`` is not a quantity.
    """
    return parse_quantity_and_format(value).canonical()


@lru_cache(maxsize=8192)
def _parse_string(text: str) -> ParsedQuantity:
    if len(text) > MAX_LENGTH:
        raise QuantityError(f"{text[:MAX_LENGTH]!r}... is too long to be a quantity")
    if text.isascii() and text.isdigit():  # the common case on nodes: "64", "110", "8"
        return _finish(Decimal(text), QuantityFormat.DECIMAL_SI, text)
    match = _QUANTITY.fullmatch(text)
    if match is None:
        if _ANY_EXPONENT.fullmatch(text):
            raise QuantityOutOfRange(f"{text!r}: the exponent is out of range (at most {MAX_EXPONENT})")
        raise QuantityError(f"{text!r} is not a quantity (expected e.g. 500m, 2, 1.5, 64Gi, 1e3, 100M)")
    number = Decimal(match["number"])
    if binary := match["binary"]:
        return _finish(_EXACT.multiply(number, Decimal(2 ** _BINARY[binary])), QuantityFormat.BINARY_SI, text)
    if match["exponent"] is not None:
        return _finish(number.scaleb(int(match["exponent"]), _EXACT), QuantityFormat.DECIMAL_EXPONENT, text)
    return _finish(number.scaleb(_DECIMAL[match["decimal"] or ""], _EXACT), QuantityFormat.DECIMAL_SI, text)


def _finish(exact: Decimal, form: QuantityFormat, text: str) -> ParsedQuantity:
    """Range check, then upstream's value rules: round up to nano units, cap binary amounts."""
    if abs(exact) >= LIMIT:
        raise QuantityOutOfRange(f"{text!r} is out of range (below 10^24 base units)")
    if exact == 0:
        return ParsedQuantity(Decimal(0), form)
    value = exact.quantize(_NANO, rounding=ROUND_UP, context=_EXACT).normalize(_EXACT)
    if form is QuantityFormat.BINARY_SI:
        if abs(value) > _INT64_MAX:
            value = _INT64_MAX.copy_sign(value)
        elif abs(value) < 1:
            form = QuantityFormat.DECIMAL_SI
    if value == value.to_integral_value():
        value = value.quantize(Decimal(1), context=_EXACT)  # 1E+3 -> 1000, as people read it
    return ParsedQuantity(value, form)


def cpu_millis(value: QuantityInput) -> int:
    """CPU in millicores, rounded up like Kubernetes' ``MilliValue`` ("250m" -> 250, "1.5" -> 1500)."""
    return int(_EXACT.multiply(parse_quantity(value), Decimal(1000)).to_integral_value(ROUND_CEILING))


def to_int_units(value: QuantityInput) -> int:
    """Integer base units, rounded up like Kubernetes' ``Value`` ("64Gi" -> 68719476736, "1.5" -> 2).

    Use for memory, storage and extended resources such as ``nvidia.com/gpu``.
    """
    return int(parse_quantity(value).to_integral_value(ROUND_CEILING))


def format_canonical(value: int | Decimal, form: QuantityFormat = QuantityFormat.DECIMAL_SI) -> str:
    """The canonical string of an amount in a format, as upstream ``CanonicalizeBytes``.

    DecimalSI and DecimalExponent: the value (rounded up to nano units first, away from zero) as an
    integer mantissa and the largest exponent that is a multiple of 3 (1.08 -> "1080m", 3000 -> "3k"
    or "3e3"). BinarySI: the largest power of 1024 that divides the value ("1536Mi"), unless the
    value is below 1024 in magnitude or not whole, which are written as DecimalSI.
    """
    amount = Decimal(value)
    if not amount.is_finite():
        raise QuantityError(f"{amount} is not a finite quantity")
    if amount == 0:
        return "0"
    if form is QuantityFormat.BINARY_SI:
        if -1024 < amount < 1024 or amount != amount.to_integral_value():
            form = QuantityFormat.DECIMAL_SI
        else:
            mantissa, power = int(amount), 0
            while abs(mantissa) >= 1024 and mantissa % 1024 == 0:
                mantissa, power = mantissa // 1024, power + 1
            return f"{mantissa}{_BINARY_SUFFIX.get(power, '')}"
    if -amount.as_tuple().exponent > 9:  # type: ignore[operator]  # finite, so an int
        amount = amount.quantize(_NANO, rounding=ROUND_UP, context=_EXACT)
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)))
    while mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    while exponent % 3:
        mantissa, exponent = mantissa * 10, exponent - 1
    if form is QuantityFormat.DECIMAL_EXPONENT:
        suffix = f"e{exponent}" if exponent else ""
    else:
        if exponent > 18:  # no suffix above E: keep E and a longer mantissa (upstream prints none)
            mantissa, exponent = mantissa * 10 ** (exponent - 18), 18
        suffix = _DECIMAL_SUFFIX[exponent]
    return f"{'-' if sign else ''}{mantissa}{suffix}"


def format_cpu(millis: int) -> str:
    """Canonical CPU string from millicores: 2000 -> "2", 1500 -> "1500m"."""
    whole, rest = divmod(millis, 1000)
    return str(whole) if rest == 0 else f"{millis}m"


def format_bytes(count: int) -> str:
    """Memory string from bytes, preferring binary suffixes: 68719476736 -> "64Gi".

    A count that no binary suffix divides uses the largest exact decimal suffix (1500000 -> "1500k";
    upstream's BinarySI form would be "1500000"), so the result always parses back to the same integer.
    """
    if count == 0:
        return "0"
    for suffix, power in sorted(_BINARY.items(), key=lambda item: -item[1]):
        whole, rest = divmod(count, 1 << power)
        if rest == 0:
            return f"{whole}{suffix}"
    return format_quantity(count)


def format_quantity(value: int | Decimal) -> str:
    """Canonical DecimalSI string of an exact value: 2000 -> "2k", 0.5 -> "500m", 1500 -> "1500".

    Like Kubernetes, the suffix is the largest power of 1000 that leaves an integer; fractions below
    one nano are rounded up (away from zero) to the next nano.
    """
    return format_canonical(value, QuantityFormat.DECIMAL_SI)


def is_byte_resource(resource: str) -> bool:
    """Whether a resource is counted in bytes: memory, ephemeral-storage and hugepages-<size>.

    These are the resources Kubernetes prints in BinarySI (``IsHugePageResourceName`` and the
    ``ResourceMemory``/``ResourceEphemeralStorage`` names, k8s.io/kubernetes v1.36.3 ``pkg/apis/core``).
    """
    return resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")


def format_amount(resource: str, units: int) -> str:
    """One resource amount as a quantity: cpu from millicores, byte resources from bytes, others DecimalSI.

    The one formatter of amounts the operator computes (status, problems, rendered requests):
    ``format_amount("cpu", 1500) == "1500m"``, ``format_amount("memory", 2**30) == "1Gi"``,
    ``format_amount("nvidia.com/gpu", 8) == "8"``.
    """
    if resource == "cpu":
        return format_cpu(units)
    if is_byte_resource(resource):
        return format_bytes(units)
    return format_quantity(units)


def format_amounts(amounts: Mapping[str, int]) -> dict[str, str]:
    """`format_amount` of every resource, sorted by name."""
    return {name: format_amount(name, value) for name, value in sorted(amounts.items())}


def base_units(resource: str, amount: int) -> float:
    """An amount as a metric reports it: cores for cpu (amounts are millicores), bytes and devices as they are."""
    return amount / 1000 if resource == "cpu" else float(amount)
