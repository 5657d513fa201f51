"""Pseudonymization: stable placeholders in, exact values back out, streamed or not, and nothing kept or shown."""

from __future__ import annotations

import asyncio
import pickle

import pytest
from hypothesis import given, settings, strategies as st

from detectors.pii import PiiDetector, PresidioPool
from policies.pseudonymize import PlaceholderRestorer, Vault, pseudonymize
from policies.verdict import RuleFinding


def finding(type_: str, start: int, end: int, action: str = "pseudonymize", score: float = 0.9) -> RuleFinding:
    return RuleFinding(type=type_, start=start, end=end, score=score, detector="pii", rule="pii.contact",
                       action=action)  # type: ignore[arg-type]


def spans_of(text: str, *values: tuple[str, str]) -> list[RuleFinding]:
    """Findings for each (type, value) at every place the value occurs in the text."""
    out = []
    for type_, value in values:
        at = text.find(value)
        while at >= 0:
            out.append(finding(type_, at, at + len(value)))
            at = text.find(value, at + 1)
    return out


def stream(restorer: PlaceholderRestorer, text: str, cuts: list[int]) -> str:
    out, previous = [], 0
    for cut in sorted(set(cuts)) + [len(text)]:
        out.append(restorer.feed(text[previous:cut]))
        previous = cut
    out.append(restorer.finish())
    return "".join(out)


# --- Vault -------------------------------------------------------------------------------------------------------

def test_numbering_is_per_type_by_first_appearance_and_stable() -> None:
    vault = Vault()
    assert vault.placeholder("EMAIL_ADDRESS", "a@x.org") == "<EMAIL_ADDRESS_1>"
    assert vault.placeholder("PERSON", "Jane Roe") == "<PERSON_1>"
    assert vault.placeholder("EMAIL_ADDRESS", "b@x.org") == "<EMAIL_ADDRESS_2>"
    assert vault.placeholder("EMAIL_ADDRESS", "a@x.org") == "<EMAIL_ADDRESS_1>"
    assert vault.placeholder("PERSON", "Jane Roe") == "<PERSON_1>"
    assert len(vault) == 3


def test_same_value_under_two_types_gets_two_placeholders() -> None:
    vault = Vault()
    assert vault.placeholder("PERSON", "Paris") == "<PERSON_1>"
    assert vault.placeholder("LOCATION", "Paris") == "<LOCATION_1>"
    assert vault.restore("<PERSON_1> in <LOCATION_1>") == "Paris in Paris"


@pytest.mark.parametrize(("entity_type", "expected"), [
    ("EMAIL_ADDRESS", "<EMAIL_ADDRESS_1>"),
    ("competitor names", "<COMPETITOR_NAMES_1>"),
    ("cn-id", "<CN_ID_1>"),
    ("机密", "<ENTITY_1>"),
    ("<evil>", "<EVIL_1>"),
])
def test_free_text_entity_types_make_plain_labels(entity_type: str, expected: str) -> None:
    vault = Vault()
    assert vault.placeholder(entity_type, "v") == expected
    assert vault.restore(expected) == "v"


def test_empty_vault_is_falsy_and_restores_nothing() -> None:
    vault = Vault()
    assert not vault and len(vault) == 0
    assert vault.restore("<PERSON_1> said <b>hi</b>") == "<PERSON_1> said <b>hi</b>"
    vault.placeholder("PERSON", "Jane")
    assert vault


@pytest.mark.parametrize("text", [
    "<PERSON_2> and <PERSON> and <EMAIL_ADDRESS_1> and <person_1>",
    "<<PERSON_1 >> < PERSON_1> <PERSON_1",
    "<b>bold</b> a<b, c>d",
])
def test_restore_leaves_unknown_placeholders_alone(text: str) -> None:
    vault = Vault()
    vault.placeholder("PERSON", "Jane Roe")
    assert vault.restore(text) == text


def test_restore_handles_adjacent_placeholders_and_unicode() -> None:
    vault = Vault()
    p, e = vault.placeholder("PERSON", "李雷"), vault.placeholder("EMAIL_ADDRESS", "lǐ@例子.中国")
    assert vault.restore(f"你好{p}{e}😀<{p}>") == "你好李雷lǐ@例子.中国😀<李雷>"


def test_restored_values_come_back_raw_for_the_caller_to_escape() -> None:
    vault = Vault()
    value = 'O"Brien\\n\n\t</script>'
    p = vault.placeholder("PERSON", value)
    assert vault.restore(f'{{"name": "{p}"}}') == f'{{"name": "{value}"}}'


def test_a_value_that_looks_like_a_placeholder_is_not_restored_twice() -> None:
    vault = Vault()
    first = vault.placeholder("PERSON", "<PERSON_2>")
    second = vault.placeholder("PERSON", "Jane")
    assert (first, second) == ("<PERSON_1>", "<PERSON_2>")
    assert vault.restore("<PERSON_1>") == "<PERSON_2>"


@pytest.mark.parametrize("show", [repr, str, format])
def test_repr_shows_counts_never_values(show) -> None:
    vault = Vault()
    vault.placeholder("EMAIL_ADDRESS", "jane.roe@example.org")
    vault.placeholder("EMAIL_ADDRESS", "bob@example.org")
    vault.placeholder("PERSON", "Jane Roe")
    shown = show(vault)
    assert "jane.roe@example.org" not in shown and "bob@example.org" not in shown and "Jane Roe" not in shown
    assert shown == "<Vault: 3 placeholders (EMAIL_ADDRESS=2, PERSON=1)>"
    assert "Jane Roe" not in repr([vault]) and "Jane Roe" not in f"{vault!r}"


def test_a_vault_cannot_be_pickled() -> None:
    vault = Vault()
    vault.placeholder("PERSON", "Jane Roe")
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(vault)


def test_two_vaults_are_independent() -> None:
    a, b = Vault(), Vault()
    assert a.placeholder("PERSON", "Alice") == b.placeholder("PERSON", "Bob") == "<PERSON_1>"
    assert a.restore("<PERSON_1>") == "Alice" and b.restore("<PERSON_1>") == "Bob"
    assert b.placeholder("PERSON", "Alice") == "<PERSON_2>"
    assert a.restore("<PERSON_2>") == "<PERSON_2>"


# --- pseudonymize() ----------------------------------------------------------------------------------------------

def test_stable_numbering_across_the_texts_of_one_request() -> None:
    messages = ["I am Jane Roe, jane@example.org.", "Forward it to bob@example.org please.",
                "Again: jane@example.org, signed Jane Roe."]
    values = [("PERSON", "Jane Roe"), ("EMAIL_ADDRESS", "jane@example.org"), ("EMAIL_ADDRESS", "bob@example.org")]
    vault = Vault()
    out = [pseudonymize(m, spans_of(m, *values), vault) for m in messages]
    assert out == ["I am <PERSON_1>, <EMAIL_ADDRESS_1>.", "Forward it to <EMAIL_ADDRESS_2> please.",
                   "Again: <EMAIL_ADDRESS_1>, signed <PERSON_1>."]
    assert [vault.restore(o) for o in out] == messages
    # The next turn resends the history: a fresh vault numbers it the same way.
    again = Vault()
    assert [pseudonymize(m, spans_of(m, *values), again) for m in messages + ["ok"]] == out + ["ok"]


def test_other_actions_are_ignored() -> None:
    text = "jane@example.org 4111 1111 1111 1111"
    findings = [finding("EMAIL_ADDRESS", 0, 16), finding("CREDIT_CARD", 17, 36, action="redact"),
                finding("CREDIT_CARD", 17, 36, action="block")]
    vault = Vault()
    assert pseudonymize(text, findings, vault) == "<EMAIL_ADDRESS_1> 4111 1111 1111 1111"
    assert len(vault) == 1


@pytest.mark.parametrize(("findings", "expected", "value"), [
    # Nested: the outer span wins the extent, the higher score names it.
    ([finding("URL", 5, 16, score=0.5), finding("EMAIL_ADDRESS", 0, 16, score=0.9)], "<EMAIL_ADDRESS_1>!", None),
    # Partial overlap: one placeholder for the union.
    ([finding("PERSON", 0, 8, score=0.85), finding("EMAIL_ADDRESS", 5, 16, score=0.85)], "<PERSON_1>!", None),
    # Touching spans stay apart.
    ([finding("PERSON", 0, 4), finding("PERSON", 4, 16)], "<PERSON_1><PERSON_2>!", "jane"),
    # Empty spans are nothing to hide.
    ([finding("PERSON", 3, 3)], "jane@example.org!", None),
])
def test_overlapping_spans_merge(findings: list[RuleFinding], expected: str, value: str | None) -> None:
    text = "jane@example.org!"
    vault = Vault()
    assert pseudonymize(text, findings, vault) == expected
    assert vault.restore(expected) == text
    if value is not None:
        assert vault.restore("<PERSON_1>") == value


def test_merge_is_independent_of_finding_order() -> None:
    text = "jane@example.org and more"
    findings = [finding("URL", 5, 16, score=0.5), finding("EMAIL_ADDRESS", 0, 16, score=0.9),
                finding("PERSON", 14, 20, score=0.9), finding("PERSON", 21, 25)]
    results = {pseudonymize(text, order, Vault()) for order in (findings, findings[::-1], findings[1:] + findings[:1])}
    # The e-mail and the overlapping PERSON tie on score: the type breaks the tie, whatever the order.
    assert results == {"<PERSON_1> <PERSON_2>"}


def test_placeholders_already_in_the_prompt_are_never_issued() -> None:
    text = "Template: Dear <PERSON_1>, from jane@example.org"
    vault = Vault()
    out = pseudonymize(text, spans_of(text, ("EMAIL_ADDRESS", "jane@example.org")), vault)
    vault2 = Vault()
    vault2.reserve("literal <EMAIL_ADDRESS_1> here")
    assert vault2.placeholder("EMAIL_ADDRESS", "jane@example.org") == "<EMAIL_ADDRESS_2>"
    # The prompt's own <PERSON_1> is not ours: a later PERSON skips it and restoring leaves it alone.
    assert vault.placeholder("PERSON", "Jane Roe") == "<PERSON_2>"
    assert vault.restore(out) == text


def test_pseudonymized_text_never_contains_the_values() -> None:
    text = "Contact 王小明 at wang@例子.cn or +86 138 0013 8000 😀"
    values = [("PERSON", "王小明"), ("EMAIL_ADDRESS", "wang@例子.cn"), ("PHONE_NUMBER", "+86 138 0013 8000")]
    vault = Vault()
    out = pseudonymize(text, spans_of(text, *values), vault)
    assert out == "Contact <PERSON_1> at <EMAIL_ADDRESS_1> or <PHONE_NUMBER_1> 😀"
    assert vault.restore(out) == text


# --- PlaceholderRestorer -----------------------------------------------------------------------------------------

def contact_vault() -> Vault:
    vault = Vault()
    for type_, value in [("EMAIL_ADDRESS", "jane@example.org"), ("PERSON", "Jane \"JR\" Roe"),
                         ("EMAIL_ADDRESS", "李@例子.中国")] + [("PERSON", f"p{i}") for i in range(2, 12)]:
        vault.placeholder(type_, value)
    return vault  # EMAIL_ADDRESS_1..2, PERSON_1..11


@pytest.mark.parametrize(("chunks", "released"), [
    (["Hello <", "EMAIL_", "ADDRESS_1", ">!"], ["Hello ", "", "", "jane@example.org!"]),
    (["<PERSON_1", "1> and <PERSON_1>"], ["", "p11 and Jane \"JR\" Roe"]),
    (["a <b>", " bold"], ["a <b>", " bold"]),  # cannot become a placeholder: released at once
    (["x < ", "y"], ["x < ", "y"]),
    (["<EMAIL_ADDRESS_3", ">"], ["<EMAIL_ADDRESS_3", ">"]),  # not issued by this vault
    (["<PER<PERSON_", "2>"], ["<PER", "p2"]),
    (["数据<", "PERSON_1>😀"], ["数据", "Jane \"JR\" Roe😀"]),
])
def test_hold_back_only_what_could_still_be_a_placeholder(chunks: list[str], released: list[str]) -> None:
    restorer = PlaceholderRestorer(contact_vault())
    assert [restorer.feed(c) for c in chunks] == released
    assert restorer.finish() == ""


@pytest.mark.parametrize("tail", ["<", "<EMAIL_", "<EMAIL_ADDRESS_1", "<PERSON_1"])
def test_finish_releases_an_unfinished_placeholder_as_it_is(tail: str) -> None:
    restorer = PlaceholderRestorer(contact_vault())
    assert restorer.feed("end " + tail) == "end "
    assert restorer.pending == tail
    assert restorer.finish() == tail
    assert restorer.pending == ""


def test_an_empty_vault_holds_nothing_back() -> None:
    restorer = PlaceholderRestorer(Vault())
    assert restorer.feed("<EMAIL_ADDRESS_") == "<EMAIL_ADDRESS_"


PLACEHOLDERS = ["<EMAIL_ADDRESS_1>", "<EMAIL_ADDRESS_2>", "<PERSON_1>", "<PERSON_2>", "<PERSON_11>"]
LOOKALIKES = ["<", ">", "<b>", "< ", "<PERSON_", "<EMAIL_ADDRESS_3>", "<PERSON>", "1>", "_1>", "<<", "<PERSON_1 >"]
FILLER = ["Hi ", "数据", "😀", "é", "\n", '"', "\\", "ok. ", "a", " "]
texts = st.lists(st.sampled_from(PLACEHOLDERS + LOOKALIKES + FILLER), max_size=16).map("".join)


def naive_restore(text: str, vault_values: dict[str, str]) -> str:
    """An independent oracle: none of the test values contains `<`, so replacing one by one is exact."""
    for placeholder, value in vault_values.items():
        text = text.replace(placeholder, value)
    return text


CONTACT_VALUES = {"<EMAIL_ADDRESS_1>": "jane@example.org", "<PERSON_1>": "Jane \"JR\" Roe",
                  "<EMAIL_ADDRESS_2>": "李@例子.中国", **{f"<PERSON_{i}>": f"p{i}" for i in range(2, 12)}}


@settings(max_examples=400, deadline=None)
@given(text=texts, data=st.data())
def test_any_split_restores_exactly_the_whole_text(text: str, data) -> None:
    vault = contact_vault()
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=len(text) + 1))
    assert stream(PlaceholderRestorer(vault), text, cuts) == vault.restore(text) == naive_restore(text, CONTACT_VALUES)


@settings(max_examples=300, deadline=None)
@given(text=texts, data=st.data())
def test_only_a_possible_placeholder_start_is_ever_held(text: str, data) -> None:
    vault = contact_vault()
    restorer = PlaceholderRestorer(vault)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))) + [len(text)]
    released, previous = "", 0
    for cut in cuts:
        released += restorer.feed(text[previous:cut])
        previous = cut
        held = restorer.pending
        assert held == "" or any(p.startswith(held) and p != held for p in CONTACT_VALUES)
        assert released == naive_restore(text[: cut - len(held)], CONTACT_VALUES)


async def test_concurrent_streams_never_see_each_others_values() -> None:
    async def one_request(name: str, email: str) -> tuple[str, str]:
        vault = Vault()
        prompt = pseudonymize(f"I am {name}, {email}", spans_of(f"I am {name}, {email}", ("PERSON", name),
                                                               ("EMAIL_ADDRESS", email)), vault)
        assert prompt == "I am <PERSON_1>, <EMAIL_ADDRESS_1>"
        restorer = PlaceholderRestorer(vault)
        answer = "Dear <PERSON_1>, we wrote to <EMAIL_ADDRESS_1>."
        out = []
        for ch in answer:  # one character per step, yielding so the two streams interleave
            out.append(restorer.feed(ch))
            await asyncio.sleep(0)
        out.append(restorer.finish())
        return "".join(out), repr(vault)

    (a, ra), (b, rb) = await asyncio.gather(one_request("Alice", "alice@a.org"), one_request("Bob", "bob@b.org"))
    assert a == "Dear Alice, we wrote to alice@a.org."
    assert b == "Dear Bob, we wrote to bob@b.org."
    assert ra == rb == "<Vault: 2 placeholders (EMAIL_ADDRESS=1, PERSON=1)>"


# --- With the real Presidio detector -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector(PresidioPool().analyzer("en", None), ["EMAIL_ADDRESS", "PHONE_NUMBER"], 0.4, "en")


def test_presidio_findings_pseudonymize_and_restore(detector: PiiDetector) -> None:
    messages = ["Hi, I'm reachable at jane.roe@example.org or +1 415-555-0100.",
                "Please cc jane.roe@example.org and ops@example.com on the reply."]
    found = detector.detect_batch(messages)
    findings = [[RuleFinding(type=f.entity_type, start=f.start, end=f.end, score=f.score, detector=f.detector,
                             rule="pii.contact", action="pseudonymize") for f in per_text] for per_text in found]
    vault = Vault()
    prompts = [pseudonymize(m, fs, vault) for m, fs in zip(messages, findings)]
    assert prompts == ["Hi, I'm reachable at <EMAIL_ADDRESS_1> or <PHONE_NUMBER_1>.",
                       "Please cc <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2> on the reply."]
    for value in ("jane.roe@example.org", "415-555-0100", "ops@example.com"):
        assert all(value not in p for p in prompts) and value not in repr(vault)
    answer = 'Sure: I emailed <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>, and called {"to": "<PHONE_NUMBER_1>"}.'
    expected = ('Sure: I emailed jane.roe@example.org and ops@example.com, and called {"to": "+1 415-555-0100"}.')
    assert vault.restore(answer) == expected
    assert stream(PlaceholderRestorer(vault), answer, list(range(0, len(answer), 3))) == expected
