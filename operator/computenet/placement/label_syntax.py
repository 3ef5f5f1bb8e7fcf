"""Label keys, label values and integers as Kubernetes v1.36.3 parses them in selectors.

Ports of three upstream rules that decide whether a node selector requirement is valid at all:
- `IsLabelKey` and `IsLabelValue` from k8s.io/apimachinery@v0.36.3 `pkg/api/validate/content/kube.go`
  (with `IsDNS1123Subdomain` from `content/dns.go` for the key's prefix), which
  `labels.NewRequirement` (`pkg/labels/selector.go`) applies to every key and value;
- `strconv.ParseInt(s, 10, 64)`, which `NewRequirement` and `Requirement.Matches` use for the `Gt`
  and `Lt` operators: an optional sign and decimal digits, no spaces, underscores or prefixes, and
  within the signed 64-bit range.

Each check returns the upstream messages (an empty list when valid), so errors read the same as
the ones kubectl shows. Lengths are in bytes, as Go measures strings.
"""

from __future__ import annotations

import re

_KEY_CHAR = "[A-Za-z0-9]"
_KEY_EXT_CHAR = "[-A-Za-z0-9_.]"
LABEL_KEY_FMT = f"({_KEY_CHAR}{_KEY_EXT_CHAR}*)?{_KEY_CHAR}"
LABEL_VALUE_FMT = f"({LABEL_KEY_FMT})?"
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
NAME_MAX_BYTES = 63
VALUE_MAX_BYTES = 63
SUBDOMAIN_MAX_BYTES = 253
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DECIMAL = re.compile(r"[+-]?[0-9]+")


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """`content.RegexError`: the message, examples and the regex, worded as upstream."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _bytes(text: str) -> int:
    return len(text.encode())


def dns1123_subdomain_errors(value: str) -> list[str]:
    errors = []
    if _bytes(value) > SUBDOMAIN_MAX_BYTES:
        errors.append(f"must be no more than {SUBDOMAIN_MAX_BYTES} bytes")
    if not re.fullmatch(DNS1123_SUBDOMAIN_FMT, value):
        errors.append(regex_error(_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(key: str) -> list[str]:
    """`content.IsLabelKey`: an optional DNS subdomain prefix and '/', then a name of 1-63 bytes."""
    parts = key.split("/")
    errors: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend(f"prefix part {m}" for m in dns1123_subdomain_errors(prefix))
    else:
        example = regex_error(_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        return [
            f"a valid label key {example} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif _bytes(name) > NAME_MAX_BYTES:
        errors.append(f"name part must be no more than {NAME_MAX_BYTES} bytes")
    if not re.fullmatch(LABEL_KEY_FMT, name):
        errors.append("name part " + regex_error(_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errors


def label_value_errors(value: str) -> list[str]:
    """`content.IsLabelValue`: empty, or at most 63 bytes of the label-key alphabet."""
    errors = []
    if _bytes(value) > VALUE_MAX_BYTES:
        errors.append(f"must be no more than {VALUE_MAX_BYTES} bytes")
    if not re.fullmatch(LABEL_VALUE_FMT, value):
        errors.append(regex_error(_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def parse_int64(text: str) -> int | None:
    """`strconv.ParseInt(text, 10, 64)`: the integer, or None where Go returns an error."""
    if not _DECIMAL.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None
