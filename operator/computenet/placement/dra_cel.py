"""DRA device selectors: CEL expressions evaluated over a device as the member's allocator does.

A DeviceClass's ``spec.selectors[i].cel.expression`` and a request's
``exactly.selectors[j].cel.expression`` are CEL over one variable, ``device``:

- ``device.driver`` (string), ``device.allowMultipleAllocations`` (bool, false when unset);
- ``device.attributes[domain].name``: the device's attributes by domain, a name without a domain
  (``model``) being in the driver's own domain; values are bool, int, string or semver; a domain
  the device has nothing in is an empty map (``device.attributes["other.example.com"]`` is ``{}``,
  and reading a name from it is the runtime error "no such key");
- ``device.capacity[domain].name``: quantities, by the same domain rule;
- the Kubernetes libraries: ``quantity("1Gi")``, ``isQuantity``, and on quantities ``compareTo``,
  ``isGreaterThan``, ``isLessThan``, ``add``/``sub`` (quantity or int), ``asInteger``, ``isInteger``,
  ``asApproximateFloat``, ``sign``; ``semver("1.2.3")`` (``semver("v1.2", true)`` normalising),
  ``isSemver``, and on versions ``compareTo``, ``isGreaterThan``, ``isLessThan``, ``major``,
  ``minor``, ``patch``; ``cel.bind``; string ``split``, ``find``, ``findAll``, ``lowerAscii``,
  ``upperAscii``, ``trim``, ``replace``, ``indexOf``, ``lastIndexOf``, ``join``, ``substring``;
  the standard macros and functions of CEL.

Ported from k8s.io/dynamic-resource-allocation v0.36.3 ``cel/compile.go`` (``CompileCELExpression``,
``DeviceMatches``, ``parseQualifiedName``, ``newStringInterfaceMapWithDefault``), with the Kubernetes
libraries of k8s.io/apiserver v0.36.3 ``pkg/cel/library/quantity.go`` and ``semverlib.go``
(versions parsed as github.com/blang/semver/v4 ``Parse`` does). The tests derive their table from
that package's ``compile_test.go``. Expressions are parsed and evaluated by cel-python
(``celpy``); what it lacks (the Kubernetes functions, ``cel.bind``, the string extensions, the
type checker's refusals, the cost limit) is added here:

- Compile errors (`CompileError`): a syntax error, an expression whose result is a literal of
  another type than bool ("must evaluate to bool or the unknown type, not int"), an undeclared
  identifier or function ("undeclared reference to 'foo'"), an undefined field of ``device``.
  Upstream's checker refuses more (argument types); those fail at run time here.
- Runtime: the result must be a bool; an error (a missing key, a bad quantity, no such overload, the
  cost limit) is returned as a string. The cost is counted per evaluated node of the expression, a
  stand-in for cel-go's cost units, and bounded by `COST_LIMIT` (``CELSelectorExpressionMaxCost``,
  k8s.io/api v0.36.3 ``resource/v1/types.go``).

The DRAListTypeAttributes gate (list-valued attributes, ``includes``) is off by default in 1.36:
a list-valued attribute fails evaluation ("unsupported attribute value") as upstream does then.

Quantities are parsed by a function the caller gives (`Environment`), so that this module keeps
placement's rule of importing nothing else from the operator: the member layer passes
``computenet.quantity.parse_quantity``, which follows ``resource.ParseQuantity``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import total_ordering
from typing import Any, cast

import celpy
import celpy.celtypes as ct
import lark
from celpy.evaluation import Activation, CELEvalError, Evaluator

COST_LIMIT = 1_000_000
"""``resourceapi.CELSelectorExpressionMaxCost`` (k8s.io/api v0.36.3): the most one evaluation may cost."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_Tree = lark.Tree[Any]

QuantityParser = Callable[[str], Decimal]
"""Parses a Kubernetes quantity string into its exact value; raises ValueError when it is not one."""

AttributeValue = tuple[str, object]
"""An attribute's value as a ResourceSlice gives it: ("bool", True), ("int", 4), ("string", "x"),
("version", "1.2.3"), or ("list", ...) for list-valued attributes (not supported, see above)."""


@dataclass(frozen=True, slots=True)
class DeviceShape:
    """What a selector can see of a device; devices with equal shapes match alike.

    `attributes` and `capacity` are sorted (qualified name, value) pairs as the ResourceSlice
    publishes them (names with or without a domain); capacity values are exact (base units).
    """

    driver: str
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
    capacity: tuple[tuple[str, Decimal], ...] = ()
    allow_multiple_allocations: bool = False


@dataclass(frozen=True, slots=True)
class CompileError:
    """Why an expression does not compile, in upstream's words ("compilation failed: ...")."""

    message: str


# ---- values of the Kubernetes libraries ----


@total_ordering
class Quantity:
    """A ``kubernetes.Quantity`` CEL value: an exact decimal amount (``resource.Quantity``)."""

    __slots__ = ("value",)

    def __init__(self, value: Decimal) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Quantity({self.value})"


_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@total_ordering
class Semver:
    """A ``kubernetes.Semver`` CEL value, compared as github.com/blang/semver/v4 ``Version.Compare``.

    Build metadata is ignored; a version with a prerelease is lower than the same version without;
    prerelease identifiers compare numerically when both are numbers, numbers before text.
    """

    __slots__ = ("major", "minor", "patch", "pre")

    def __init__(self, major: int, minor: int, patch: int, pre: tuple[str, ...]) -> None:
        self.major, self.minor, self.patch, self.pre = major, minor, patch, pre

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Semver) and self._key() == other._key()

    def __lt__(self, other: Semver) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Semver({self.major}.{self.minor}.{self.patch}{'-' + '.'.join(self.pre) if self.pre else ''})"


def parse_semver(text: str) -> Semver:
    """blang/semver ``Parse``: strict ``MAJOR.MINOR.PATCH[-pre][+build]``; raises ValueError."""
    text = str(text)
    match = _SEMVER.match(text)
    if match is None:
        if len(text.split(".", 2)) < 3:
            raise ValueError("No Major.Minor.Patch elements found")
        raise ValueError(f"invalid semantic version {text!r}")
    pre = tuple(match[4].split(".")) if match[4] else ()
    for p in pre:
        if p.isdigit() and len(p) > 1 and p[0] == "0":
            raise ValueError(f"numeric prerelease version must not contain leading zeroes: {p!r}")
    return Semver(int(match[1]), int(match[2]), int(match[3]), pre)


def normalize_semver(text: str) -> Semver:
    """``normalizeAndParse`` of semverlib.go: a leading "v", leading zeros and missing parts are forgiven."""
    parts = text.removeprefix("v").split(".", 2)
    for i, p in enumerate(parts):
        if len(p) > 1:
            p = p.lstrip("0")
            if not p or not p[0].isdigit():
                p = "0" + p
            parts[i] = p
    if len(parts) < 3:
        if "+" in parts[-1] or "-" in parts[-1]:
            raise ValueError("short version cannot contain PreRelease/Build meta data")
        parts += ["0"] * (3 - len(parts))
    return parse_semver(".".join(parts))


# ---- functions ----


def _no_overload(name: str) -> CELEvalError:
    return CELEvalError(f"no such overload: {name}")


def _is(value: object, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind)


def _compare(name: str) -> Callable[[object, object], Any]:
    def compare(a: object, b: object) -> Any:
        if not ((_is(a, Quantity) and _is(b, Quantity)) or (_is(a, Semver) and _is(b, Semver))):
            return _no_overload(name)
        x, y = cast(Any, a), cast(Any, b)
        order = (x > y) - (x < y)
        if name == "compareTo":
            return ct.IntType(order)
        return ct.BoolType(order == (1 if name == "isGreaterThan" else -1))

    return compare


def _quantity_arith(name: str, sign: int) -> Callable[[object, object], Any]:
    def arith(a: object, b: object) -> Any:
        if not isinstance(a, Quantity):
            return _no_overload(name)
        if isinstance(b, Quantity):
            return Quantity(a.value + sign * b.value)
        if isinstance(b, ct.IntType):
            return Quantity(a.value + sign * Decimal(int(b)))
        return _no_overload(name)

    return arith


def _as_integer(q: object) -> Any:
    if not isinstance(q, Quantity):
        return _no_overload("asInteger")
    if q.value != q.value.to_integral_value() or not INT64_MIN <= q.value <= INT64_MAX:
        return CELEvalError("cannot convert value to integer")
    return ct.IntType(int(q.value))


def _is_integer(q: object) -> Any:
    if not isinstance(q, Quantity):
        return _no_overload("isInteger")
    return ct.BoolType(q.value == q.value.to_integral_value() and INT64_MIN <= q.value <= INT64_MAX)


def _approximate_float(q: object) -> Any:
    return ct.DoubleType(float(q.value)) if isinstance(q, Quantity) else _no_overload("asApproximateFloat")


def _sign(q: object) -> Any:
    return ct.IntType((q.value > 0) - (q.value < 0)) if isinstance(q, Quantity) else _no_overload("sign")


def _part(name: str) -> Callable[[object], Any]:
    def part(v: object) -> Any:
        return ct.IntType(getattr(v, name)) if isinstance(v, Semver) else _no_overload(name)

    return part


def _semver(text: object, normalize: object = None) -> Any:
    if not isinstance(text, str) or not (normalize is None or isinstance(normalize, ct.BoolType | bool)):
        return _no_overload("semver")
    try:
        return normalize_semver(text) if normalize else parse_semver(text)
    except ValueError as error:
        return CELEvalError(str(error))


def _is_semver(text: object, normalize: object = None) -> Any:
    found = _semver(text, normalize)
    if isinstance(found, CELEvalError) and not isinstance(text, str):
        return found
    return ct.BoolType(isinstance(found, Semver))


def _string_function(name: str, body: Callable[..., Any]) -> Callable[..., Any]:
    def call(target: object, *args: object) -> Any:
        if not isinstance(target, str) or not all(isinstance(a, str | int) for a in args):
            return _no_overload(name)
        return body(target, *args)

    return call


def _split(s: str, sep: str, limit: int = -1) -> Any:
    if limit == 0:
        return ct.ListType([])
    parts = s.split(sep, limit - 1) if limit > 0 else s.split(sep) if sep else list(s)
    return ct.ListType([ct.StringType(p) for p in parts])


def _find(s: str, pattern: str) -> Any:
    found = re.search(pattern, s)
    return ct.StringType(found[0] if found else "")


def _find_all(s: str, pattern: str, limit: int = -1) -> Any:
    found = [m[0] for m in re.finditer(pattern, s)]
    return ct.ListType([ct.StringType(f) for f in (found if limit < 0 else found[:limit])])


def _substring(s: str, start: int, end: int | None = None) -> Any:
    stop = len(s) if end is None else end
    if not 0 <= start <= stop <= len(s):
        return CELEvalError(f"index out of range: {start if start < 0 or start > len(s) else stop}")
    return ct.StringType(s[start:stop])


def _join(items: object, sep: object = "") -> Any:
    if not isinstance(items, list) or not isinstance(sep, str) or not all(isinstance(i, str) for i in items):
        return _no_overload("join")
    return ct.StringType(sep.join(cast(list[str], items)))


def _functions(parse_quantity: QuantityParser) -> dict[str, Callable[..., Any]]:
    def quantity(text: object) -> Any:
        if not isinstance(text, str):
            return _no_overload("quantity")
        try:
            return Quantity(parse_quantity(text))
        except ValueError as error:
            return CELEvalError(f"quantities must match the regular expression: {error}")

    def is_quantity(text: object) -> Any:
        if not isinstance(text, str):
            return _no_overload("isQuantity")
        try:
            parse_quantity(text)
        except ValueError:
            return ct.BoolType(False)
        return ct.BoolType(True)

    return {
        "quantity": quantity,
        "isQuantity": is_quantity,
        "sign": _sign,
        "isGreaterThan": _compare("isGreaterThan"),
        "isLessThan": _compare("isLessThan"),
        "compareTo": _compare("compareTo"),
        "asApproximateFloat": _approximate_float,
        "asInteger": _as_integer,
        "isInteger": _is_integer,
        "add": _quantity_arith("add", 1),
        "sub": _quantity_arith("sub", -1),
        "semver": _semver,
        "isSemver": _is_semver,
        "major": _part("major"),
        "minor": _part("minor"),
        "patch": _part("patch"),
        "split": _string_function("split", _split),
        "find": _string_function("find", _find),
        "findAll": _string_function("findAll", _find_all),
        "lowerAscii": _string_function("lowerAscii", lambda s: ct.StringType(s.lower())),
        "upperAscii": _string_function("upperAscii", lambda s: ct.StringType(s.upper())),
        "trim": _string_function("trim", lambda s: ct.StringType(s.strip())),
        "replace": _string_function("replace", lambda s, a, b, n=-1: ct.StringType(s.replace(a, b, n))),
        "indexOf": _string_function("indexOf", lambda s, sub, at=0: ct.IntType(s.find(sub, at))),
        "lastIndexOf": _string_function("lastIndexOf", lambda s, sub: ct.IntType(s.rfind(sub))),
        "substring": _string_function("substring", _substring),
        "join": _join,
    }


_MACROS = frozenset({"map", "filter", "all", "exists", "exists_one"})
_STANDARD = frozenset(
    {
        "size", "contains", "endsWith", "startsWith", "matches", "has", "dyn", "type",
        "bool", "bytes", "double", "int", "uint", "string", "duration", "timestamp",
    }
)  # fmt: skip
_TYPE_NAMES = frozenset({"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"})
DEVICE_FIELDS = frozenset({"driver", "attributes", "capacity", "allowMultipleAllocations"})
"""The fields of ``kubernetes.DRADevice`` (1.36 with DRAConsumableCapacity, beta and on by default)."""

_LITERAL_TYPES = {
    "INT_LIT": "int",
    "UINT_LIT": "uint",
    "FLOAT_LIT": "double",
    "STRING_LIT": "string",
    "MLSTRING_LIT": "string",
    "BYTES_LIT": "bytes",
    "NULL_LIT": "null_type",
}
_WRAPPERS = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication"})
_RESULT_TYPES = {"quantity": "kubernetes.Quantity", "semver": "kubernetes.Semver", "size": "int", "string": "string"}


class _Cost:
    __slots__ = ("left",)

    def __init__(self, limit: int) -> None:
        self.left = limit


class _LimitExceeded(Exception):
    pass


class _Evaluator(Evaluator):
    """cel-python's interpreter with a cost bound and ``cel.bind`` (cel-go ``ext.Bindings``)."""

    def __init__(self, ast: _Tree, activation: Activation, cost: _Cost) -> None:
        super().__init__(ast, activation)
        self.cost = cost

    def visit(self, tree: _Tree) -> Any:
        self.cost.left -= 1
        if self.cost.left < 0:
            raise _LimitExceeded
        return super().visit(tree)

    def sub_evaluator(self, ast: _Tree) -> Evaluator:
        return _Evaluator(ast, self.activation, self.cost)

    def member_dot_arg(self, tree: _Tree) -> Any:
        target, method = tree.children[0], tree.children[1]
        if _is_ident(target, "cel") and isinstance(method, lark.Token) and method.value == "bind":
            var, init, body = cast(_Tree, tree.children[2]).children
            value = self.visit(cast(_Tree, init))
            if isinstance(value, CELEvalError):
                return value
            name = cast(lark.Token, next(cast(_Tree, var).find_data("ident")).children[0]).value
            nested = self.sub_evaluator(cast(_Tree, body))
            try:
                return nested.evaluate({name: value})
            except CELEvalError as error:
                return error
        return super().member_dot_arg(tree)


def _is_ident(node: object, name: str) -> bool:
    """Whether `node` (a member subtree) is just the identifier `name`."""
    while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data in ("member", "primary"):
        node = node.children[0]
    return isinstance(node, lark.Tree) and node.data == "ident" and cast(lark.Token, node.children[0]).value == name


def _check(ast: _Tree, functions: Mapping[str, object]) -> str:
    """What the type checker refuses in `ast` ("" for nothing): see the module docstring."""
    bound = {"device"}
    for call in ast.find_data("member_dot_arg"):
        method = cast(lark.Token, call.children[1]).value
        args = call.children[2] if len(call.children) > 2 else None
        if (method in _MACROS or (method == "bind" and _is_ident(call.children[0], "cel"))) and isinstance(
            args, lark.Tree
        ):
            first = args.children[0]
            bound.update(cast(lark.Token, i.children[0]).value for i in cast(_Tree, first).find_data("ident"))
    for node in ast.iter_subtrees():
        if node.data == "ident":
            name = cast(lark.Token, node.children[0]).value
            if name not in bound and name not in _TYPE_NAMES and name != "cel":
                return f"undeclared reference to '{name}'"
        elif node.data == "ident_arg":
            name = cast(lark.Token, node.children[0]).value
            if name not in functions and name not in _STANDARD:
                return f"undeclared reference to '{name}'"
        elif node.data == "member_dot_arg":
            name = cast(lark.Token, node.children[1]).value
            if name not in functions and name not in _STANDARD and name not in _MACROS and name != "bind":
                return f"undeclared reference to '{name}'"
        elif node.data == "member_dot" and _is_ident(node.children[0], "device"):
            name = cast(lark.Token, node.children[1]).value
            if name not in DEVICE_FIELDS:
                return f"undefined field '{name}'"
    result = _result_type(ast)
    if result is not None and result != "bool":
        return f"must evaluate to bool or the unknown type, not {result}"
    return ""


def _result_type(node: _Tree) -> str | None:
    """The static type of an expression's result where it is plain (a literal, a constructor); None if unknown."""
    while True:
        single = len(node.children) == 1 and node.data in _WRAPPERS | {"unary", "member", "primary", "paren_expr"}
        if single or (node.data == "expr" and len(node.children) == 3 and node.children[1] is None):
            node = cast(_Tree, node.children[0])
        else:
            break
    if node.data in ("conditionalor", "conditionaland", "relation"):
        return "bool"
    if node.data == "literal":
        token = cast(lark.Token, node.children[0])
        return _LITERAL_TYPES.get(token.type, "bool")
    if node.data == "list_lit":
        return "list(dyn)"
    if node.data == "map_lit":
        return "map(dyn, dyn)"
    if node.data in ("ident_arg", "member_dot_arg"):
        name = cast(lark.Token, node.children[0 if node.data == "ident_arg" else 1]).value
        if name == "compareTo" or name == "sign" or name == "asInteger":
            return "int"
        return _RESULT_TYPES.get(name)
    if node.data in ("addition", "multiplication") and len(node.children) == 2:
        left = _result_type(cast(_Tree, cast(_Tree, node.children[0]).children[0]))
        return left
    return None


class _DefaultMap(ct.MapType):
    """``newStringInterfaceMapWithDefault``: looking up an unknown domain gives an empty map."""

    def __getitem__(self, key: Any) -> Any:
        try:
            return super().__getitem__(key)
        except KeyError:
            return ct.MapType({})


def _qualified(name: str, driver: str) -> tuple[str, str]:
    """``parseQualifiedName``: (domain, id), the driver being the domain of a name without one."""
    domain, sep, ident = name.partition("/")
    return (domain, ident) if sep else (driver, name)


def _attribute(value: AttributeValue) -> Any:
    kind, raw = value
    if kind == "bool" and isinstance(raw, bool):
        return ct.BoolType(raw)
    if kind == "int" and isinstance(raw, int):
        return ct.IntType(raw)
    if kind == "string" and isinstance(raw, str):
        return ct.StringType(raw)
    if kind == "version" and isinstance(raw, str):
        try:
            return parse_semver(raw)
        except ValueError as error:
            raise _AttributeError(f"parse semantic version: {error}") from None
    raise _AttributeError("unsupported attribute value")


class _AttributeError(Exception):
    pass


def device_value(shape: DeviceShape) -> Any:
    """The ``device`` variable for `shape`; raises `_AttributeError` for a value CEL cannot hold."""
    attributes: dict[Any, Any] = {}
    for name, value in shape.attributes:
        domain, ident = _qualified(name, shape.driver)
        try:
            converted = _attribute(value)
        except _AttributeError as error:
            raise _AttributeError(f"attribute {name}: {error}") from None
        attributes.setdefault(ct.StringType(domain), {})[ct.StringType(ident)] = converted
    capacity: dict[Any, Any] = {}
    for name, amount in shape.capacity:
        domain, ident = _qualified(name, shape.driver)
        capacity.setdefault(ct.StringType(domain), {})[ct.StringType(ident)] = Quantity(amount)
    return ct.MapType(
        {
            ct.StringType("driver"): ct.StringType(shape.driver),
            ct.StringType("allowMultipleAllocations"): ct.BoolType(shape.allow_multiple_allocations),
            ct.StringType("attributes"): _DefaultMap({k: ct.MapType(v) for k, v in attributes.items()}),
            ct.StringType("capacity"): _DefaultMap({k: ct.MapType(v) for k, v in capacity.items()}),
        }
    )


_NO_SUCH_MEMBER = re.compile(r"no such member in mapping: '([^']*)'")


def _message(error: CELEvalError) -> str:
    """A short runtime error in cel-go's words ("no such key: name"), without cel-python's activation dump."""
    text = str(error.args[0]) if error.args else "evaluation failed"
    found = _NO_SUCH_MEMBER.match(text)
    if found:
        return f"no such key: {found[1]}"
    if text == "no such key" and len(error.args) > 2 and error.args[2]:
        return f"no such key: {error.args[2][0]}"
    if text.startswith("undeclared reference"):
        return text.split(" (in activation", 1)[0]
    return text


Reference = tuple[str, str, str | None]
"""What a selector reads: ("attributes" or "capacity", domain, name), name None for the whole domain."""

_CHAIN = frozenset({"member_dot", "member_index", "member_dot_arg"})


def _steps(node: _Tree) -> list[tuple[str, object]]:
    """A member chain (``device.attributes["d"].x``) from its base: [("ident", "device"), ("dot", ...), ...]."""
    steps: list[tuple[str, object]] = []
    current: object = node
    while isinstance(current, lark.Tree):
        kind, children = current.data, current.children
        if kind in ("member", "primary") and len(children) == 1:
            current = children[0]
            continue
        if kind in ("member_dot", "member_dot_arg"):
            steps.append(("dot" if kind == "member_dot" else "call", cast(lark.Token, children[1]).value))
        elif kind == "member_index":
            steps.append(("index", _string_literal(children[1])))
        elif kind == "ident":
            steps.append(("ident", cast(lark.Token, children[0]).value))
            break
        else:
            steps.append(("other", None))
            break
        current = children[0]
    return steps[::-1]


def _string_literal(node: object) -> str | None:
    """The value of a plain quoted string literal expression ("x" or 'x', no escapes); None otherwise."""
    while isinstance(node, lark.Tree) and len(node.children) in (1, 3) and node.data != "literal":
        if len(node.children) == 3 and node.children[1] is not None:
            return None
        node = node.children[0]
    if not isinstance(node, lark.Tree) or node.data != "literal":
        return None
    token = cast(lark.Token, node.children[0])
    text = str(token.value)
    if token.type != "STRING_LIT" or "\\" in text or len(text) < 2 or text[0] not in "\"'" or text[-1] != text[0]:
        return None
    return text[1:-1]


def references(ast: _Tree) -> frozenset[Reference] | None:
    """The attributes and capacities `ast` reads, by literal domain and name; None when it may read any.

    ``device.driver`` and ``device.allowMultipleAllocations`` are always seen. A domain read whole
    (``"x" in device.attributes["d"]``, ``cel.bind(g, device.attributes["d"], ...)``) counts whole;
    ``device.attributes`` itself, a computed domain, or ``device`` on its own: None.
    """
    found: set[Reference] = set()

    def visit(node: object, inner: bool) -> bool:
        if not isinstance(node, lark.Tree):
            return True
        if node.data in _CHAIN and not inner:
            steps = _steps(node)
            if steps and steps[0] == ("ident", "device") and not _classify(steps, found):
                return False
        elif node.data == "ident" and not inner and cast(lark.Token, node.children[0]).value == "device":
            return False
        for i, child in enumerate(node.children):
            chained = (node.data in _CHAIN and i == 0) or (node.data in ("member", "primary") and inner)
            if not visit(child, chained):
                return False
        return True

    return frozenset(found) if visit(ast, False) else None


def _classify(steps: list[tuple[str, object]], found: set[Reference]) -> bool:
    """Add what a ``device...`` chain reads to `found`; False when it may read anything."""
    if len(steps) < 2 or steps[1][0] != "dot":
        return False
    field_name = steps[1][1]
    if field_name in ("driver", "allowMultipleAllocations"):
        return True
    if field_name not in ("attributes", "capacity") or len(steps) < 3:
        return False
    kind, domain = steps[2]
    if kind != "index" or not isinstance(domain, str):
        return False
    name = steps[3][1] if len(steps) > 3 and steps[3][0] in ("dot", "index") else None
    found.add((str(field_name), domain, name if isinstance(name, str) else None))
    return True


def _plain(value: AttributeValue) -> bool:
    """Whether an attribute's value converts without error (else it must stay: it fails every selector)."""
    kind, raw = value
    if kind == "version" and isinstance(raw, str):
        try:
            parse_semver(raw)
        except ValueError:
            return False
        return True
    return (kind, type(raw)) in (("bool", bool), ("int", int), ("string", str))


def project(shape: DeviceShape, refs: frozenset[Reference]) -> DeviceShape:
    """`shape` with only what `refs` reads (and the attributes that fail conversion, which fail any selector)."""

    def read(kind: str, name: str) -> bool:
        domain, ident = _qualified(name, shape.driver)
        return (kind, domain, ident) in refs or (kind, domain, None) in refs

    return DeviceShape(
        shape.driver,
        tuple((n, v) for n, v in shape.attributes if read("attributes", n) or not _plain(v)),
        tuple((n, q) for n, q in shape.capacity if read("capacity", n)),
        shape.allow_multiple_allocations,
    )


@dataclass(frozen=True, eq=False)
class Selector:
    """A compiled selector expression; `matches` evaluates it on one device shape.

    Results are remembered per shape as the expression sees it (`project` onto its `refs`): devices
    that differ only in what it does not read (a ``uuid``, a PCI address) share one evaluation.
    """

    expression: str
    _program: _Tree
    _environment: Environment
    refs: frozenset[Reference] | None = None
    _results: dict[DeviceShape, bool | str] = field(default_factory=dict, repr=False)

    def matches(self, shape: DeviceShape) -> bool | str:
        """True or False, or the runtime error as a string (cached per projected shape)."""
        seen = shape if self.refs is None else project(shape, self.refs)
        found = self._results.get(seen)
        if found is None:
            found = self._results[seen] = self._environment.evaluate(self, seen)
        return found


class Environment:
    """The DRA CEL environment: compiles selectors (once per expression) and evaluates them.

    `parse_quantity` parses ``quantity("...")`` arguments (raising ValueError for a bad one);
    `cost_limit` bounds each evaluation (upstream's ``Options.CostLimit``).
    """

    def __init__(self, parse_quantity: QuantityParser, *, cost_limit: int = COST_LIMIT) -> None:
        self.functions = _functions(parse_quantity)
        self.cost_limit = cost_limit
        self._env: celpy.Environment | None = None  # its parser takes a second to build: on first use
        self._activation = Activation(functions=self.functions)
        self._compiled: dict[str, Selector | CompileError] = {}

    def compile(self, expression: str) -> Selector | CompileError:
        """The selector for `expression`, or why it does not compile (remembered per expression)."""
        found = self._compiled.get(expression)
        if found is None:
            found = self._compiled[expression] = self._compile(expression)
        return found

    def _compile(self, expression: str) -> Selector | CompileError:
        if self._env is None:
            self._env = celpy.Environment()
        try:
            ast = self._env.compile(expression)
        except Exception as error:  # celpy raises lark's and its own parse errors
            line, column = getattr(error, "line", None), getattr(error, "column", None)
            at = f" at line {line}, column {column}" if line is not None and column is not None else ""
            return CompileError(f"compilation failed: Syntax error: unexpected input{at}")
        problem = _check(ast, self.functions)
        if problem:
            return CompileError(f"compilation failed: {problem}")
        return Selector(expression, ast, self, references(ast))

    def evaluate(self, selector: Selector, shape: DeviceShape) -> bool | str:
        """`selector` on one device: True or False, or the runtime error (``DeviceMatches``)."""
        try:
            device = device_value(shape)
        except _AttributeError as error:
            return str(error)
        evaluator = _Evaluator(selector._program, self._activation, _Cost(self.cost_limit))
        try:
            result = evaluator.evaluate({"device": device})
        except CELEvalError as error:
            return _message(error)
        except _LimitExceeded:
            return "operation cancelled: actual cost limit exceeded"
        except RecursionError:
            return "operation cancelled: expression nested too deeply"
        if not isinstance(result, ct.BoolType | bool):
            return f"CEL result of type {type(result).__name__} could not be converted to bool"
        return bool(result)


def all_match(selectors: tuple[Selector, ...], shape: DeviceShape) -> bool | str:
    """Every selector matches `shape` (``selectorsMatch``): False at the first that does not, or its error."""
    for selector in selectors:
        found = selector.matches(shape)
        if found is not True:
            return found
    return True
