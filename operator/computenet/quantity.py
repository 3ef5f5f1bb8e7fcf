"""Kubernetes resource quantities ("500m", "64Gi", "1e3") as exact numbers.

Every layer of computenet reads quantities: the API validates the ones users write, the member layer
reads tens of thousands of node capacities and pod requests, and placement compares them. Kubernetes
quantities are exact decimals, so they are parsed into :class:`decimal.Decimal` (never float) and
normalised to integers at the edge: CPU in millicores, everything else (memory, storage, extended
resources) in base units, both rounded up as Kubernetes itself does. Ordinary ``Decimal`` comparisons
then give the ordering, and the ``format_*`` functions turn integers back into canonical strings.

Parsing is cached: node objects repeat the same few dozen strings, so a cluster-wide relist costs
little more than the dictionary lookups.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Context, Decimal, InvalidOperation
from functools import lru_cache

__all__ = [
    "QUANTITY_PATTERN",
    "QuantityError",
    "QuantityOutOfRange",
    "cpu_millis",
    "format_bytes",
    "format_cpu",
    "format_quantity",
    "is_quantity",
    "parse_quantity",
    "to_int_units",
]

# The grammar of k8s.io/apimachinery/pkg/api/resource: a signed decimal number and one optional
# suffix, which is a binary SI prefix, a decimal SI prefix or a decimal exponent. "1E" is exa,
# "1E3" is an exponent: the exponent alternative needs digits, so the order below settles it.
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exponent>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]))?"
)
QUANTITY_PATTERN = f"^{_QUANTITY.pattern}$"
"""The syntax as an anchored regular expression (RE2-compatible), for CRD schemas.

Stricter than the API server's own parser in one respect: Kubernetes reads a missing number as
zero ("Gi", "e3", "+" are quantities to it), which only ever hides a typo.
"""

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

# Quantities beyond these bounds are typing mistakes, not resources; refusing them also keeps a
# string like "1e999999999" from turning into a gigantic integer further down.
_MAX_EXPONENT = 30
_LIMIT = Decimal(10) ** 24

# Wide enough that binary suffixes times long mantissas never round.
_EXACT = Context(prec=80)

_MAX_INPUT = 64


class QuantityError(ValueError):
    """A string is not a Kubernetes quantity, or is outside the range computenet accepts."""


class QuantityOutOfRange(QuantityError):
    """A well-formed quantity too large (or too precise) to be a real amount of anything."""


def is_quantity(value: object) -> bool:
    """True if ``value`` is an int or a string that :func:`parse_quantity` accepts."""
    if not isinstance(value, str | int | Decimal):
        return False
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def parse_quantity(value: str | int | Decimal) -> Decimal:
    """Parse a Kubernetes quantity into its exact value in base units ("1.5Gi" -> 1610612736).

    Integers and Decimals pass through, so callers may hand in whatever a manifest contained
    (YAML turns ``cpu: 2`` into an int). Raises :class:`QuantityError` on anything else.
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is a boolean, not a quantity")
    if isinstance(value, int):
        return _check_range(Decimal(value), str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise QuantityError(f"{value} is not a finite quantity")
        return _check_range(value, str(value))
    if not isinstance(value, str):
        raise TypeError(f"a quantity is a string or an int, not {type(value).__name__}")
    return _parse_string(value)


@lru_cache(maxsize=8192)
def _parse_string(text: str) -> Decimal:
    if len(text) > _MAX_INPUT:
        raise QuantityError(f"{text[:_MAX_INPUT]!r}... is too long to be a quantity")
    if text.isdigit():  # the common case on nodes: "64", "110", "8"
        return _check_range(Decimal(text), text)
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"{text!r} is not a quantity (expected e.g. 500m, 2, 1.5, 64Gi, 1e3, 100M)")
    try:
        number = Decimal(match["number"])
    except InvalidOperation as error:  # pragma: no cover - the regex admits only valid decimals
        raise QuantityError(f"{text!r} is not a quantity") from error
    if binary := match["binary"]:
        result = _EXACT.multiply(number, Decimal(2 ** _BINARY[binary]))
    else:
        if match["exponent"] is not None:
            exponent = int(match["exponent"])
            if abs(exponent) > _MAX_EXPONENT:
                raise QuantityOutOfRange(f"{text!r}: exponent out of range")
        elif decimal := match["decimal"]:
            exponent = _DECIMAL[decimal]
        else:
            exponent = 0
        result = number.scaleb(exponent, _EXACT)
    return _check_range(result, text)


def _check_range(value: Decimal, text: str) -> Decimal:
    if abs(value) >= _LIMIT:
        raise QuantityOutOfRange(f"{text!r} is out of range (at most 10^24 base units)")
    return value


def cpu_millis(value: str | int | Decimal) -> int:
    """CPU in millicores, rounded up like Kubernetes' ``MilliValue`` ("250m" -> 250, "1.5" -> 1500)."""
    return int(_EXACT.multiply(parse_quantity(value), Decimal(1000)).to_integral_value(ROUND_CEILING))


def to_int_units(value: str | int | Decimal) -> int:
    """Integer base units, rounded up like Kubernetes' ``Value`` ("64Gi" -> 68719476736, "1.5" -> 2).

    Use for memory, storage and extended resources such as ``nvidia.com/gpu``.
    """
    return int(parse_quantity(value).to_integral_value(ROUND_CEILING))


def format_cpu(millis: int) -> str:
    """Canonical CPU string from millicores: 2000 -> "2", 1500 -> "1500m"."""
    whole, rest = divmod(millis, 1000)
    return str(whole) if rest == 0 else f"{millis}m"


def format_bytes(count: int) -> str:
    """Canonical memory string from bytes, preferring binary suffixes: 68719476736 -> "64Gi".

    A count that no binary suffix divides uses the largest exact decimal suffix (1500000 -> "1500k"),
    so the result always parses back to the same integer.
    """
    if count == 0:
        return "0"
    for suffix, power in sorted(_BINARY.items(), key=lambda item: -item[1]):
        whole, rest = divmod(count, 1 << power)
        if rest == 0:
            return f"{whole}{suffix}"
    return format_quantity(count)


def format_quantity(value: int | Decimal) -> str:
    """Canonical decimal-SI string of an exact value: 2000 -> "2k", 0.5 -> "500m", 1500 -> "1500".

    Like Kubernetes, the suffix is the largest power of 1000 that leaves an integer; fractions below
    one nano are rounded up to the next nano.
    """
    value = Decimal(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude == magnitude.to_integral_value():
        integer = int(magnitude)
        for suffix, power in (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3)):
            whole, rest = divmod(integer, 10**power)
            if rest == 0:
                return f"{sign}{whole}{suffix}"
        return f"{sign}{integer}"
    for suffix, power in (("m", 3), ("u", 6)):
        scaled = magnitude.scaleb(power, _EXACT)
        if scaled == scaled.to_integral_value():
            return f"{sign}{int(scaled)}{suffix}"
    return f"{sign}{int(magnitude.scaleb(9, _EXACT).to_integral_value(ROUND_CEILING))}n"
