"""DRA CEL selectors evaluate as the member's allocator evaluates them.

The first table is derived from k8s.io/dynamic-resource-allocation v0.36.3 ``cel/compile_test.go``
(``testcases``, with the features of Kubernetes 1.36: DRAConsumableCapacity on, DRAListTypeAttributes
off), case by case under upstream's names; cost estimates (``expectCost``) have no counterpart here.
The library tables follow k8s.io/apiserver v0.36.3 ``pkg/cel/library/quantity_test.go`` and
``semver_test.go``, each expression turned into a comparison with upstream's expected value.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from computenet.placement.dra_cel import (
    AttributeValue,
    CompileError,
    DeviceShape,
    Environment,
    Selector,
    all_match,
    normalize_semver,
    parse_semver,
)
from computenet.quantity import parse_quantity

CEL = Environment(parse_quantity)
D = "dra.example.com"
MI = Decimal(2**20)


def shape(
    driver: str = "",
    attributes: dict[str, AttributeValue] | None = None,
    capacity: dict[str, Decimal] | None = None,
    *,
    multiple: bool = False,
) -> DeviceShape:
    return DeviceShape(
        driver, tuple(sorted((attributes or {}).items())), tuple(sorted((capacity or {}).items())), multiple
    )


ALL = """
device.capacity["dra.example.com"].quantity.isGreaterThan(quantity("1Ki")) &&
device.attributes["dra.example.com"].bool &&
device.attributes["dra.example.com"].int > 0 &&
device.attributes["dra.example.com"].string == "fish" &&
device.attributes["dra.example.com"].version.isGreaterThan(semver("0.0.1")) &&
device.capacity["dra.example.com"]["quantity"].isGreaterThan(quantity("1Ki")) &&
device.attributes["dra.example.com"]["bool"] &&
device.attributes["dra.example.com"]["int"] > 0 &&
device.attributes["dra.example.com"]["string"] == "fish" &&
device.attributes["dra.example.com"]["version"].isGreaterThan(semver("0.0.1"))
"""

NAME_TRUE: dict[str, AttributeValue] = {"name": ("bool", True)}


@pytest.mark.parametrize(
    ("expression", "device", "expected"),
    [
        pytest.param("true", shape(), True, id="true"),
        pytest.param("false", shape(), False, id="false"),
        pytest.param(
            "?!",
            shape(),
            CompileError("compilation failed: Syntax error: unexpected input at line 1, column 1"),
            id="syntax-error",
        ),
        pytest.param(
            "1",
            shape(),
            CompileError("compilation failed: must evaluate to bool or the unknown type, not int"),
            id="type-error",
        ),
        pytest.param(
            'device.attributes["no-such-domain"].noSuchAttr.isGreaterThan(quantity("0"))',
            shape(),
            "no such key: noSuchAttr",
            id="runtime-error-lookup-identifier",
        ),
        pytest.param(
            'device.attributes["no-such-domain"]["noSuchAttr"].isGreaterThan(quantity("0"))',
            shape(),
            "no such key: noSuchAttr",
            id="runtime-error-lookup-map",
        ),
        pytest.param('"no-such-domain" in device.attributes', shape(), False, id="domain-check-negative"),
        pytest.param(
            '"dra.example.com" in device.attributes',
            shape(attributes={"dra.example.com/something": ("bool", True)}),
            True,
            id="domain-check-positive",
        ),
        pytest.param('device.driver == ""', shape(), True, id="empty-driver-name"),
        pytest.param('device.driver == "dra.example.com"', shape(D), True, id="real-driver-name"),
        pytest.param(
            'device.attributes["dra.example.com"].name', shape(D, NAME_TRUE), True, id="driver-name-qualifier"
        ),
        pytest.param(
            'device.attributes["dra.example.com"]["name"]',
            shape(D, NAME_TRUE),
            True,
            id="driver-name-qualifier-map-lookup",
        ),
        pytest.param(
            'cel.bind(dra, device.attributes["dra.example.com"], dra.name)', shape(D, NAME_TRUE), True, id="bind"
        ),
        pytest.param(
            'device.attributes["other.example.com"].name',
            shape(D, {"other.example.com/name": ("bool", True)}),
            True,
            id="qualified-attribute-name",
        ),
        pytest.param('device.attributes["dra.example.com"].name', shape(D, NAME_TRUE), True, id="bool"),
        pytest.param('device.attributes["dra.example.com"].name > 0', shape(D, {"name": ("int", 1)}), True, id="int"),
        pytest.param(
            'device.attributes["dra.example.com"].name == "fish"',
            shape(D, {"name": ("string", "fish")}),
            True,
            id="string",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].names',
            shape(D, {"names": ("strings", ("fish", "bird"))}),
            "attribute names: unsupported attribute value",
            id="attribute-access-causes-match-error",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].name.includes("fish")',
            shape(D),
            CompileError("compilation failed: undeclared reference to 'includes'"),
            id="includes-function-undeclared-error",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].name.isGreaterThan(semver("0.0.1"))',
            shape(D, {"name": ("version", "1.0.0")}),
            True,
            id="version",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].name.isGreaterThan(semver("v0.0.1", true)) && '
            'isSemver("v1.0.0", true)',
            shape(D, {"name": ("version", "1.0.0")}),
            True,
            id="version_v",
        ),
        pytest.param(
            'device.capacity["dra.example.com"].name.isGreaterThan(quantity("1Ki"))',
            shape(D, capacity={"name": MI}),
            True,
            id="quantity",
        ),
        pytest.param(
            '"name" in device.capacity["dra.example.com"] && '
            'device.capacity["dra.example.com"].name.isGreaterThan(quantity("1Ki"))',
            shape(D, capacity={"name": MI}),
            True,
            id="check-positive",
        ),
        pytest.param(
            '!("name" in device.capacity["dra.example.com"]) || '
            'device.capacity["dra.example.com"].name.isGreaterThan(quantity("1Ki"))',
            shape(),
            True,
            id="check-negative",
        ),
        pytest.param(
            ALL,
            shape(
                D,
                {
                    "bool": ("bool", True),
                    "int": ("int", 1),
                    "string": ("string", "fish"),
                    "version": ("version", "1.0.0"),
                },
                {"quantity": MI},
            ),
            True,
            id="all",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].a && device.attributes["dra.example.com"].b && '
            'device.attributes["dra.example.com"].c',
            shape(D, {"a": ("bool", True), "b": ("bool", True), "c": ("bool", True)}),
            True,
            id="many",
        ),
        pytest.param(
            'device.attributes.exists_one(x, x == "dra.example.com")',
            shape(D, {"services": ("string", "some_example_value")}),
            True,
            id="check_attribute_domains",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].exists_one(x, x == "services")',
            shape(D, {"services": ("string", "some_example_value")}),
            True,
            id="check_attribute_ids",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].services.split("example").size() >= 2',
            shape(D, {"services": ("string", "some_example_value")}),
            True,
            id="split_attribute",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].services.matches("[^a]?sym")',
            shape(D, {"services": ("string", "asymetric")}),
            True,
            id="regexp_attribute",
        ),
        pytest.param(
            'device.capacity.exists_one(x, x == "dra.example.com")',
            shape(D, capacity={"memory": MI}),
            True,
            id="check_capacity_domains",
        ),
        pytest.param(
            'device.capacity["dra.example.com"].exists_one(x, x == "memory")',
            shape(D, capacity={"memory": MI}),
            True,
            id="check_capacity_ids",
        ),
        pytest.param(
            "device.allowMultipleAllocations == true", shape(D, multiple=True), True, id="allow_multiple_allocations"
        ),
        pytest.param(
            "device.allowMultipleAllocations == false", shape(D), True, id="allow_multiple_allocations_default"
        ),
        # Beyond upstream's table: the checker's refusals and the driver's own domain.
        pytest.param(
            "device.model == 1",
            shape(D),
            CompileError("compilation failed: undefined field 'model'"),
            id="no such field",
        ),
        pytest.param(
            "gpu.memory > 1",
            shape(D),
            CompileError("compilation failed: undeclared reference to 'gpu'"),
            id="no such variable",
        ),
        pytest.param(
            'device.attributes["gpu.example.com"].model == "H100"',
            shape(D, {"model": ("string", "H100")}),
            "no such key: model",
            id="an unqualified attribute is in the driver's domain only",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].name',
            shape(D, {"name": ("version", "1.0.x")}),
            "attribute name: parse semantic version: invalid semantic version '1.0.x'",
            id="a version attribute that is no semver fails every selector",
        ),
        pytest.param(
            'device.attributes["dra.example.com"].name',
            shape(D, {"name": ("string", "x")}),
            "CEL result of type StringType could not be converted to bool",
            id="a result that is no bool is an error",
        ),
    ],
)
def test_upstream_compile_cases(expression: str, device: DeviceShape, expected: bool | str | CompileError) -> None:
    compiled = CEL.compile(expression)
    if isinstance(expected, CompileError):
        assert compiled == expected
        return
    assert isinstance(compiled, Selector), compiled
    assert compiled.matches(device) == expected


def test_expensive_expressions_stop_at_the_cost_limit() -> None:
    """Upstream's "expensive" case: ten nested ``all`` over ten items exceed the cost limit (a lower one here)."""
    expression = (
        "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(x, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(y, "
        "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z2, "
        "int('1'.find('[0-9]*')) < 100))))"
    )
    cheap = Environment(parse_quantity, cost_limit=5_000)
    selector = cheap.compile(expression)
    assert isinstance(selector, Selector)
    assert selector.matches(shape(D)) == "operation cancelled: actual cost limit exceeded"
    small = Environment(parse_quantity, cost_limit=5_000).compile("[1, 2, 3].all(x, x < 100)")
    assert isinstance(small, Selector)
    assert small.matches(shape(D)) is True


def test_an_expression_compiles_once() -> None:
    assert CEL.compile('device.driver == "x"') is CEL.compile('device.driver == "x"')


def test_selectors_stop_at_the_first_that_does_not_match_so_a_later_error_is_not_met() -> None:
    first, second = CEL.compile('device.driver == "a"'), CEL.compile('device.attributes["a"].missing')
    assert isinstance(first, Selector)
    assert isinstance(second, Selector)
    assert all_match((first, second), shape("b")) is False
    assert all_match((first, second), shape("a")) == "no such key: missing"


def value_is(expression: str, expected: str) -> str:
    return f"{expression} == {expected}"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param('quantity("12Mi") == quantity("12582912")', True, id="parse"),
        pytest.param('quantity("10Mo") == quantity("1")', "quantities must match", id="parseInvalidSuffix"),
        pytest.param('quantity("10Mm") == quantity("1")', "quantities must match", id="parseInvalidSuffixPassesRegex"),
        pytest.param('isQuantity("20")', True, id="isQuantity"),
        pytest.param('isQuantity("20M")', True, id="isQuantity_megabytes"),
        pytest.param('isQuantity("20Mi")', True, id="isQuantity_mebibytes"),
        pytest.param('isQuantity("20Mo")', False, id="isQuantity_invalidSuffix"),
        pytest.param('isQuantity("10Mm")', False, id="isQuantity_passingRegex"),
        pytest.param('quantity("200M") == quantity("200M")', True, id="equality_reflexivity"),
        pytest.param(
            'quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")', True, id="equality_symmetry"
        ),
        pytest.param(
            'quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") && '
            'quantity("0.002G") == quantity("2000k")',
            True,
            id="equality_transitivity",
        ),
        pytest.param('quantity("200M") == quantity("0.3G")', False, id="inequality"),
        pytest.param('quantity("50M").isLessThan(quantity("50Mi"))', True, id="quantity_less"),
        pytest.param('quantity("50M").isLessThan(quantity("100M"))', True, id="quantity_less_obvious"),
        pytest.param('quantity("100M").isLessThan(quantity("50M"))', False, id="quantity_less_false"),
        pytest.param('quantity("50Mi").isGreaterThan(quantity("50M"))', True, id="quantity_greater"),
        pytest.param('quantity("150Mi").isGreaterThan(quantity("100Mi"))', True, id="quantity_greater_obvious"),
        pytest.param('quantity("50M").isGreaterThan(quantity("100M"))', False, id="quantity_greater_false"),
        pytest.param(value_is('quantity("200M").compareTo(quantity("0.2G"))', "0"), True, id="compare_equal"),
        pytest.param(value_is('quantity("50M").compareTo(quantity("50Mi"))', "-1"), True, id="compare_less"),
        pytest.param(value_is('quantity("50Mi").compareTo(quantity("50M"))', "1"), True, id="compare_greater"),
        pytest.param('quantity("50k").add(quantity("20")) == quantity("50.02k")', True, id="add_quantity"),
        pytest.param('quantity("50k").add(20).isLessThan(quantity("50020"))', False, id="add_int"),
        pytest.param('quantity("50k").sub(quantity("20")) == quantity("49.98k")', True, id="sub_quantity"),
        pytest.param('quantity("50k").sub(20) == quantity("49980")', True, id="sub_int"),
        pytest.param(
            value_is('quantity("50k").add(20).sub(quantity("100k")).asInteger()', "-49980"), True, id="arith_chain_1"
        ),
        pytest.param(
            value_is('quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger()', "20"),
            True,
            id="arith_chain",
        ),
        pytest.param(value_is('quantity("50k").asInteger()', "50000"), True, id="as_integer"),
        pytest.param(
            value_is('quantity("10E").asInteger()', "0"), "cannot convert value to integer", id="as_integer_error"
        ),
        pytest.param('quantity("10E").isInteger()', False, id="is_integer beyond int64"),
        pytest.param('quantity("50").isInteger()', True, id="is_integer"),
        pytest.param(value_is('quantity("50.703k").asApproximateFloat()', "50703.0"), True, id="as_float"),
        pytest.param(value_is('sign(quantity("-1m"))', "-1"), True, id="sign"),
        # semver_test.go
        pytest.param('semver("1.2.3") == semver("1.2.3")', True, id="semver parse and equality"),
        pytest.param('semver("v1.0") == semver("1.0.0")', "No Major.Minor.Patch elements found", id="semver invalid"),
        pytest.param('isSemver("1.2.3-beta.1+build.1")', True, id="isSemver"),
        pytest.param('isSemver("")', False, id="isSemver empty"),
        pytest.param('isSemver("v1.0.0")', False, id="isSemver with v prefix"),
        pytest.param('isSemver(" 1.0.0")', False, id="isSemver leading space"),
        pytest.param('isSemver("1. 0.0")', False, id="isSemver contains space"),
        pytest.param('isSemver("1.0.0 ")', False, id="isSemver trailing space"),
        pytest.param('isSemver("01.01.01")', False, id="isSemver leading zeros"),
        pytest.param('isSemver("1")', False, id="isSemver major only"),
        pytest.param('isSemver("1.1")', False, id="isSemver major.minor only"),
        pytest.param('isSemver("", true)', False, id="isSemver empty normalized"),
        pytest.param('isSemver(" 1.0.0", true)', False, id="isSemver leading space normalized"),
        pytest.param('isSemver("1. 0.0", true)', False, id="isSemver contains space normalized"),
        pytest.param('isSemver("1.0.0 ", true)', False, id="isSemver trailing space normalized"),
        pytest.param('isSemver("v1.0.0", true)', True, id="isSemver with v prefix normalized"),
        pytest.param('isSemver("01.01.01", true)', True, id="isSemver leading zeros normalized"),
        pytest.param('isSemver("1", true)', True, id="isSemver major only normalized"),
        pytest.param('isSemver("1.1", true)', True, id="isSemver major.minor only normalized"),
        pytest.param('semver("v01.01", true) == semver("1.1.0")', True, id="semver normalized equality"),
        pytest.param('semver("1.2.3") == semver("1.0.0")', False, id="semver inequality"),
        pytest.param('semver("1.0.0").isLessThan(semver("1.2.3"))', True, id="semver less"),
        pytest.param('semver("1.0.0").isLessThan(semver("1.0.0"))', False, id="semver less false"),
        pytest.param('semver("1.2.3").isGreaterThan(semver("1.0.0"))', True, id="semver greater"),
        pytest.param('semver("1.0.0").isGreaterThan(semver("1.0.0"))', False, id="semver greater false"),
        pytest.param(value_is('semver("1.2.3").compareTo(semver("1.2.3"))', "0"), True, id="semver compare equal"),
        pytest.param(value_is('semver("1.0.0").compareTo(semver("1.2.3"))', "-1"), True, id="semver compare less"),
        pytest.param(value_is('semver("1.2.3").compareTo(semver("1.0.0"))', "1"), True, id="semver compare greater"),
        pytest.param(value_is('semver("1.2.3").major()', "1"), True, id="semver major"),
        pytest.param(value_is('semver("1.2.3").minor()', "2"), True, id="semver minor"),
        pytest.param(value_is('semver("1.2.3").patch()', "3"), True, id="semver patch"),
        pytest.param('semver("1.0.0-alpha").isLessThan(semver("1.0.0"))', True, id="a prerelease precedes its release"),
        pytest.param(
            'semver("1.0.0-alpha.2").isLessThan(semver("1.0.0-alpha.10"))',
            True,
            id="numeric prerelease parts compare as numbers",
        ),
        pytest.param('semver("1.0.0+build.1") == semver("1.0.0")', True, id="build metadata is ignored"),
        pytest.param(
            'quantity("1Gi").isGreaterThan(semver("1.0.0"))', "no such overload: isGreaterThan", id="mixed kinds"
        ),
    ],
)
def test_kubernetes_libraries(expression: str, expected: bool | str) -> None:
    selector = CEL.compile(expression)
    assert isinstance(selector, Selector), selector
    found = selector.matches(shape())
    if isinstance(expected, str):
        assert isinstance(found, str)
        assert expected in found
    else:
        assert found is expected


def test_semver_parsing_follows_blang_semver() -> None:
    assert parse_semver("1.2.3-rc.1+b") == parse_semver("1.2.3-rc.1")
    assert normalize_semver("v01.2") == parse_semver("1.2.0")
    with pytest.raises(ValueError, match="leading zeroes"):
        parse_semver("1.2.3-01")
    with pytest.raises(ValueError, match="short version"):
        normalize_semver("1.2-rc")


@pytest.mark.parametrize(
    ("expression", "refs"),
    [
        pytest.param('device.driver == "x"', set(), id="the driver is always seen"),
        pytest.param(
            'device.attributes["gpu.nvidia.com"].productName == "H100"',
            {("attributes", "gpu.nvidia.com", "productName")},
            id="an attribute by domain and name",
        ),
        pytest.param(
            'device.attributes["d"]["model"] == "x" && device.capacity["d"].memory.isGreaterThan(quantity("1Gi"))',
            {("attributes", "d", "model"), ("capacity", "d", "memory")},
            id="map lookups and capacities",
        ),
        pytest.param('"x" in device.attributes["d"]', {("attributes", "d", None)}, id="a domain read whole"),
        pytest.param('cel.bind(g, device.attributes["d"], g.x)', {("attributes", "d", None)}, id="a bound domain"),
        pytest.param('device.attributes.exists_one(x, x == "d")', None, id="the domains themselves: anything"),
        pytest.param("device.attributes[device.driver].x", None, id="a computed domain: anything"),
    ],
)
def test_what_a_selector_reads(expression: str, refs: set[tuple[str, str, str | None]] | None) -> None:
    selector = CEL.compile(expression)
    assert isinstance(selector, Selector)
    assert selector.refs == (None if refs is None else frozenset(refs))


def test_devices_differing_only_in_what_a_selector_does_not_read_share_one_evaluation() -> None:
    selector = Environment(parse_quantity).compile('device.attributes["dra.example.com"].model == "H100"')
    assert isinstance(selector, Selector)
    shapes = [shape(D, {"model": ("string", "H100"), "uuid": ("string", f"GPU-{i}")}) for i in range(50)]
    assert all(selector.matches(s) is True for s in shapes)
    assert len(selector._results) == 1
    broken = shape(D, {"model": ("string", "H100"), "driverVersion": ("version", "535.161.08")})
    assert selector.matches(broken) == (
        "attribute driverVersion: parse semantic version: invalid semantic version '535.161.08'"
    )  # an attribute that fails conversion fails every selector, read or not, as upstream
