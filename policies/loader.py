"""Reads policy files: the only I/O in the package.

Loading runs in four steps, and every step reports all of its problems with
file:line:column and a `$.path`, so an author fixes a file in one pass:

1. YAML is composed into a node tree, which keeps each node's position, and
   duplicate keys are refused (PyYAML would silently keep the last one).
2. The plain data is checked against the policy's JSON Schema; jsonschema's
   messages are rewritten into sentences an author can act on.
3. `msgspec.convert` builds the typed, frozen `Policy`.
4. `policies.validate` cross-checks what a schema cannot express.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar, get_args

import jsonschema
import msgspec
import yaml

from policies import validate
from policies.schema import Action, Policy, RuleId, json_schema

T = TypeVar("T")
JsonPath = validate.JsonPath


class Problem(msgspec.Struct, frozen=True):
    """One located mistake in a file; `line` and `column` are 1-based."""

    file: str
    line: int
    column: int
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.reason} (at {self.path})"


class PolicyError(Exception):
    """A file could not be loaded; `problems` lists every mistake found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.reason))
        super().__init__("\n".join(str(p) for p in self.problems))


class Locations:
    """Where each JSON path sits in the YAML text: at its value, and (for mapping entries) at its key."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.values: dict[JsonPath, tuple[int, int]] = {}
        self.keys: dict[JsonPath, tuple[int, int]] = {}

    def problem(self, path: JsonPath, reason: str, at_key: bool = False) -> Problem:
        """A problem at `path`, or at its nearest ancestor present in the file (a missing key has none)."""
        probe = path
        while True:
            spot = (self.keys.get(probe) if at_key else None) or self.values.get(probe)
            if spot or not probe:
                break
            probe = probe[:-1]
        line, column = spot or (1, 1)
        return Problem(file=self.filename, line=line, column=column, path=format_path(path), reason=reason)


def format_path(path: JsonPath) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def parse_path(text: str) -> JsonPath:
    """The inverse of `format_path`, for the paths msgspec puts in its error messages."""
    return tuple(int(i) if i else k for k, i in re.findall(r"\.([^.\[]+)|\[(\d+)\]", text))


# --- step 1: YAML with positions ----------------------------------------------------------------


def parse_yaml(text: str, filename: str) -> tuple[Any, Locations, list[Problem]]:
    """Plain data, the position of every path, and duplicate-key problems. Raises `PolicyError` on a syntax error."""
    locations = Locations(filename)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        problems = _index(node, (), locations, set()) if node is not None else []
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = f"YAML syntax error: {exc.problem}"
        if exc.context and exc.context_mark:
            reason += f" ({exc.context} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        elif exc.context:
            reason += f" ({exc.context})"
        raise PolicyError([Problem(file=filename, line=line, column=column, path="$", reason=reason)]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(file=filename, line=1, column=1, path="$", reason=f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    return data, locations, problems


def _index(node: yaml.Node, path: JsonPath, locations: Locations, stack: set[int]) -> list[Problem]:
    if id(node) in stack:  # a recursive alias: the schema will refuse it, there is nothing more to index
        return []
    locations.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    problems: list[Problem] = []
    stack = stack | {id(node)}
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            child = (*path, key)
            locations.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in first_seen:
                problems.append(locations.problem(child, f"duplicate key {key!r} (first defined on line "
                                                         f"{first_seen[key]}); YAML would keep only the last one",
                                                  at_key=True))
            first_seen.setdefault(key, key_node.start_mark.line + 1)
            problems += _index(value_node, child, locations, stack)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _index(item, (*path, i), locations, stack)
    return problems


# --- step 2: JSON Schema, in words --------------------------------------------------------------

_JSON_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "empty"}
_RULE_ID_PATTERN: str = RuleId.__metadata__[0].pattern
_ACTIONS: tuple[str, ...] = get_args(Action)  # the order the docs teach, weakest to strongest


def schema_problems(data: Any, schema: dict, locations: Locations, skip: Iterable[JsonPath] = ()) -> list[Problem]:
    """Every schema violation as a located problem; errors under a path in `skip` were already reported."""
    skip = tuple(skip)
    problems: dict[tuple[str, str], Problem] = {}
    for error in jsonschema.Draft202012Validator(schema).iter_errors(data):
        for leaf in _leaves(error):
            path = tuple(leaf.absolute_path)
            if any(path[: len(s)] == s for s in skip):
                continue
            for problem in _describe(leaf, path, locations):
                problems.setdefault((problem.path, problem.reason), problem)
    return list(problems.values())


def _leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """For anyOf/oneOf, the errors of the branch the author most plausibly meant, not every branch's."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        yield error
        return
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def implausibility(errors: list[jsonschema.ValidationError]) -> tuple[bool, bool, int]:
        # A branch whose type (or tag) does not even match was not what the author meant.
        wrong_type = any(e.validator == "type" and not e.relative_path for e in errors)
        wrong_tag = any(tuple(e.relative_path) == ("detector",) for e in errors)
        return wrong_type, wrong_tag, len(errors)

    for sub in min(branches.values(), key=implausibility):
        yield from _leaves(sub)


def _name(path: JsonPath) -> str:
    """`entities[2]` for a list item, `action` for a key, `the file` for the root."""
    tail = ""
    for part in reversed(path):
        if isinstance(part, int):
            tail = f"[{part}]{tail}"
        else:
            return f"{part}{tail}"
    return "the file" + (f" item {tail}" if tail else "")


def _describe(error: jsonschema.ValidationError, path: JsonPath, locations: Locations) -> Iterator[Problem]:
    kind, expected, got, name = error.validator, error.validator_value, error.instance, _name(path)
    if kind == "additionalProperties" and isinstance(got, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for key in got:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
                # Positions are indexed by the key's YAML text, so a key YAML reads as a number is looked up as text.
                yield locations.problem((*path, str(key)), f"unknown key {key!r} ({hint})", at_key=True)
    elif kind == "required" and isinstance(got, dict):
        for key in expected:
            if key not in got:
                where = f"in {name}" if path else "at the top level"
                yield locations.problem((*path, key), f"missing required key {key!r} {where}")
    else:
        yield locations.problem(path, _sentence(kind, expected, got, name, error.message))


def _sentence(kind: str, expected: Any, got: Any, name: str, fallback: str) -> str:
    if kind in ("enum", "const"):
        options = [expected] if kind == "const" else list(expected)
        if name == "version":
            return f"unsupported policy version {got!r}: this gateway reads version 1"
        if set(options) == set(_ACTIONS):
            options = list(_ACTIONS)
        if len(options) == 1:
            return f"{name} must be {options[0]!r}, got {got!r}"
        return f"{name} must be one of {', '.join(map(str, options))}, got {got!r}"
    if kind == "type":
        wanted = " or ".join(_JSON_TYPES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        return f"{name} must be {wanted}, got {_describe_value(got)}"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        return f"{name} must be {bounds[kind]} {expected}, got {got!r}"
    if kind == "pattern":
        if expected == _RULE_ID_PATTERN:
            return (f"rule id {got!r} is not valid: use 1 to 64 of a-z, 0-9, '_', '.', '-', "
                    "starting with a letter or digit")
        return f"{name} {got!r} must match the pattern {expected}"
    if kind in ("minItems", "minLength") and expected == 1:
        return f"{name} must not be empty"
    if kind == "maxLength" and expected == 1:
        return f"{name} must be a single character, got {got!r}"
    sizes = {"minItems": "at least {} items", "maxItems": "at most {} items",
             "minLength": "at least {} characters", "maxLength": "at most {} characters"}
    if kind in sizes:
        return f"{name} must have {sizes[kind].format(expected)}, got {got!r}"
    return fallback


def _describe_value(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    kind = {dict: "a mapping", list: "a list", str: "the string", bool: "the boolean",
            int: "the integer", float: "the number"}.get(type(value), type(value).__name__)
    return kind if isinstance(value, (dict, list)) else f"{kind} {value!r}"


# --- steps 3 and 4, and the public entry points -------------------------------------------------


def read_text(path: str | Path) -> str:
    """A file's text, or a `PolicyError` saying why it could not be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolicyError([Problem(file=str(path), line=1, column=1, path="$", reason=f"cannot read: {reason}")]) \
            from None


def load_document(text: str, filename: str, type_: type[T], schema: dict | None = None,
                  precheck: Callable[[Any, Locations], tuple[list[Problem], list[JsonPath]]] | None = None,
                  semantic: Callable[[T], list[validate.Issue]] | None = None) -> tuple[T, Locations]:
    """Parse, schema-check, convert and cross-check one YAML document into the strict Struct `type_`."""
    data, locations, problems = parse_yaml(text, filename)
    if data is None:
        raise PolicyError([Problem(file=filename, line=1, column=1, path="$", reason="the file is empty")])
    skip: list[JsonPath] = []
    if precheck:
        found, skip = precheck(data, locations)
        problems += found
    problems += schema_problems(data, schema or msgspec.json.schema(type_), locations, skip)
    if problems:
        raise PolicyError(problems)
    try:
        value = msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at ")
        path = parse_path(where.strip("`")) if message else ()
        raise PolicyError([locations.problem(path, _msgspec_sentence(message or str(exc), path))]) from None
    issues = semantic(value) if semantic else []
    if issues:
        raise PolicyError(locations.problem(i.path, i.reason) for i in issues)
    return value, locations


def _msgspec_sentence(message: str, path: JsonPath) -> str:
    # The schema passed, so this is a type JSON Schema cannot tell apart, like 5.0 where an integer belongs.
    match = re.fullmatch(r"Expected `(\w+)`, got `(\w+)`", message)
    if not match:
        return message
    names = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}
    wanted, got = match.groups()
    return f"{_name(path)} must be {names.get(wanted, wanted)}, got {names.get(got, got)}"


def _rule_tags(data: Any, locations: Locations) -> tuple[list[Problem], list[JsonPath]]:
    """One clear problem for a rule with a missing or unknown `detector`, instead of every branch's errors."""
    known = sorted(_known_detectors(json_schema()))
    problems: list[Problem] = []
    skip: list[JsonPath] = []
    for stage in ("input", "output"):
        rules = data.get(stage, {}).get("rules") if isinstance(data, dict) and isinstance(data.get(stage), dict) \
            else None
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, dict):
                continue
            path = (stage, "rules", i)
            if "detector" not in rule:
                problems.append(locations.problem((*path, "detector"),
                                                  f"rule is missing 'detector' (known: {', '.join(known)})"))
            elif rule["detector"] not in known:
                problems.append(locations.problem((*path, "detector"), f"unknown detector {rule['detector']!r} "
                                                                       f"(known: {', '.join(known)})"))
            else:
                continue
            skip.append(path)
    return problems, skip


def _known_detectors(schema: dict) -> set[str]:
    """The tags of the rule union, read from the schema so a new detector needs no change here."""
    tags: set[str] = set()
    for definition in schema.get("$defs", {}).values():
        tag = definition.get("properties", {}).get("detector", {})
        tags.update(tag.get("enum", [tag["const"]] if "const" in tag else []))
    return tags


def load_policy_text(text: str, filename: str = "<policy>") -> Policy:
    """A validated, frozen `Policy` from YAML text; `filename` only labels the problems."""
    return load_policy_located(text, filename)[0]


def load_policy_located(text: str, filename: str = "<policy>") -> tuple[Policy, Locations]:
    """As `load_policy_text`, with the positions, so later checks (compiling detectors) can be located too."""
    return load_document(text, filename, Policy, schema=json_schema(), precheck=_rule_tags,
                         semantic=validate.check_policy)


def load_policy(path: str | Path) -> Policy:
    """A validated, frozen `Policy` from a YAML file; raises `PolicyError` listing every problem."""
    return load_policy_text(read_text(path), str(path))
