"""Cross-checks a policy for mistakes its schema cannot express; every issue names the path it is about."""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.util
from pathlib import Path
from typing import Iterator, NamedTuple

from detectors.pii import NER_ENTITIES
from policies.schema import MaskOptions, PiiRule, Policy, Rule

JsonPath = tuple[str | int, ...]


class Issue(NamedTuple):
    path: JsonPath
    reason: str


def check_policy(policy: Policy) -> list[Issue]:
    """Every semantic issue; an empty list means the policy is sound. All issues are errors."""
    issues = list(_duplicate_ids(policy))
    issues += _limits(policy)
    issues += _stages(policy)
    for path, rule in _rules(policy):
        issues += _common(path, rule)
        if isinstance(rule, PiiRule):
            issues += _pii(path, rule)
    return issues


def _rules(policy: Policy) -> Iterator[tuple[JsonPath, Rule]]:
    for stage in ("input", "output"):
        for i, rule in enumerate(policy.stage(stage).rules):
            yield (stage, "rules", i), rule


def _duplicate_ids(policy: Policy) -> Iterator[Issue]:
    # Ids name rules in audit rows, metrics and error codes, so they must be unique across both stages.
    first: dict[str, JsonPath] = {}
    for path, rule in _rules(policy):
        if rule.id in first:
            where = "$." + ".".join(str(p) for p in first[rule.id][:2]) + f"[{first[rule.id][2]}]"
            yield Issue((*path, "id"), f"duplicate rule id {rule.id!r} (already used at {where}); ids must be "
                                       "unique across input and output")
        first.setdefault(rule.id, path)


def _limits(policy: Policy) -> Iterator[Issue]:
    limits = policy.limits
    if limits.temperature and limits.temperature.min > limits.temperature.max:
        yield Issue(("limits", "temperature", "min"),
                    f"temperature min ({limits.temperature.min}) is greater than max ({limits.temperature.max})")
    if limits.models is not None and not limits.models:
        yield Issue(("limits", "models"), "models is empty, so every request would be refused; "
                                          "list the allowed models or remove the key to allow any")


def _stages(policy: Policy) -> Iterator[Issue]:
    for i, rule in enumerate(policy.output.rules):
        if rule.action == "pseudonymize":
            yield Issue(("output", "rules", i, "action"), "pseudonymize is an input action: the output gets the "
                                                          "values back; use redact on output")
    if policy.output.mode != "sequential":
        yield Issue(("output", "mode"), "mode applies to the input stage only")
    if policy.input.mode == "parallel":
        for i, rule in enumerate(policy.input.rules):
            if rule.action in ("redact", "mask", "hash", "pseudonymize"):
                # The backend request starts before the rules finish, so it cannot carry their rewrites.
                yield Issue(("input", "rules", i, "action"),
                            f"mode: parallel sends the prompt before the rules finish, so input rules may only "
                            f"block, monitor or allow, not {rule.action}")


def _common(path: JsonPath, rule: Rule) -> Iterator[Issue]:
    if rule.action != "mask" and rule.mask != MaskOptions():
        yield Issue((*path, "mask"), f"mask options have no effect on a rule whose action is {rule.action!r}; "
                                     "remove them or set action: mask")


def _pii(path: JsonPath, rule: PiiRule) -> Iterator[Issue]:
    known = known_pii_entities()
    for i, entity in enumerate(rule.entities):
        where = (*path, "entities", i)
        if entity in NER_ENTITIES:
            if not rule.nlp_model:
                yield Issue(where, f"{entity} needs a spaCy NER model: set nlp_model: en_core_web_sm on this rule "
                                   f"(and install the model), or remove {entity}")
        elif known is not None and entity not in known:
            close = difflib.get_close_matches(entity, sorted(known), n=1) or \
                [k for k in sorted(known, key=len) if entity in k][:1]  # EMAIL -> EMAIL_ADDRESS, SSN -> US_SSN
            hint = f"did you mean {close[0]!r}?" if close else "no Presidio recognizer finds it"
            yield Issue(where, f"unknown PII entity {entity!r} ({hint})")
    if len(set(rule.entities)) != len(rule.entities):
        yield Issue((*path, "entities"), "entities lists the same entity more than once")


@functools.cache
def known_pii_entities() -> frozenset[str] | None:
    """Entity names of Presidio's predefined recognizers and ours, read from their source without importing them.

    Importing Presidio costs seconds; a policy check should not. When the source
    cannot be read this returns None and the entity check is skipped, never slowed.
    """
    spec = importlib.util.find_spec("presidio_analyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    # Only pattern recognizers: Presidio's NER recognizers (transformers, GLiNER, cloud) need engines we never
    # build, so their labels (EMAIL, AGE, ID) would wrongly pass; spaCy's are NER_ENTITIES, added below.
    predefined = Path(spec.submodule_search_locations[0]) / "predefined_recognizers"
    folders = [predefined / "generic", predefined / "country_specific",
               Path(__file__).resolve().parent.parent / "detectors" / "recognizers"]
    names: set[str] = set()
    try:
        for folder in folders:
            for source in folder.rglob("*.py"):
                names |= _entities_in(ast.parse(source.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError):
        return None
    return frozenset(names | NER_ENTITIES) if names else None


def _entities_in(tree: ast.AST) -> set[str]:
    """String defaults of `supported_entity` parameters and the literal lists of `*ENTITIES` class attributes."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            params = node.args[len(node.args) - len(node.defaults):] + node.kwonlyargs
            defaults = list(node.defaults) + list(node.kw_defaults)
            for param, default in zip(params, defaults):
                if param.arg == "supported_entity" and isinstance(default, ast.Constant):
                    found.add(default.value)
        elif isinstance(node, ast.keyword) and node.arg == "supported_entity" and isinstance(node.value, ast.Constant):
            found.add(node.value.value)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(t, ast.Name) and t.id.endswith("ENTITIES")
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            if isinstance(node.value, (ast.List, ast.Tuple, ast.Set)):
                found.update(e.value for e in node.value.elts if isinstance(e, ast.Constant))
    return {n for n in found if isinstance(n, str) and n.isupper()}
