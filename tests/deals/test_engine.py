"""The credit split engine (pure, no database): every DOMAIN.md §4 rule of the education preset,
the general preset, cents and percents that add up exactly, dispute shares, refunds."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from apps.deals.engine import (
    DealFacts,
    NoCreditRule,
    Participant,
    ShareLine,
    ValidationError,
    allocate,
    describe_errors,
    parse_rules,
    reverse,
    split,
    split_fixed,
)
from apps.deals.rules import PRESETS

D = Decimal
EDU = parse_rules(PRESETS["education"])
GEN = parse_rules(PRESETS["general"])

# Staff ids: consultant 10, teachers 21/22/23, number obtainer 30 (and 31), closer 40,
# lead 50, assistant 60, advisor 70.
C, T1, T2, T3, N1, N2, CL, L, A, AD = 10, 21, 22, 23, 30, 31, 40, 50, 60, 70
ROLE = {C: "consultant", T1: "teacher", T2: "teacher", T3: "teacher", N1: "number_obtainer",
        N2: "number_obtainer", CL: "closer", L: "lead", A: "assistant", AD: "advisor"}


def facts(kind, amount, *staff, raised=True, roles=None) -> DealFacts:
    roles = roles or {}
    return DealFacts(kind=kind, amount=D(amount), teacher_raised=raised,
                     participants=tuple(Participant(s, roles.get(s, ROLE[s])) for s in staff))


def table(lines) -> list[tuple]:
    return [(line.staff_id, line.role, str(line.percent), str(line.amount)) for line in lines]


def check_exact(lines, amount) -> None:
    assert sum(line.amount for line in lines) == D(amount)
    assert sum(line.percent for line in lines) == D(100)
    assert all(line.percent.as_tuple().exponent == -6 for line in lines)
    assert all(line.amount.as_tuple().exponent == -2 for line in lines)


EDUCATION_TABLE = [
    # --- 一.新单: number obtainer half, trial-lesson teacher half, the consultant the rest
    ("new: consultant alone", "new", (C,), True,
     [(C, "consultant", "100.000000", "10000.00")]),
    ("new: number obtainer half, consultant the rest", "new", (N1, C), True,
     [(C, "consultant", "50.000000", "5000.00"), (N1, "number_obtainer", "50.000000", "5000.00")]),
    ("new: trial-lesson teacher half, consultant the rest", "new", (T1, C), True,
     [(C, "consultant", "50.000000", "5000.00"), (T1, "teacher", "50.000000", "5000.00")]),
    ("new: both halves claimed, the consultant earns nothing", "new", (N1, T1, C), True,
     [(T1, "teacher", "50.000000", "5000.00"), (N1, "number_obtainer", "50.000000", "5000.00")]),
    ("new: two number obtainers share their half", "new", (N2, N1, C), True,
     [(C, "consultant", "50.000000", "5000.00"), (N1, "number_obtainer", "25.000000", "2500.00"),
      (N2, "number_obtainer", "25.000000", "2500.00")]),
    ("new: the closer keeps the rest when there is no consultant", "new", (N1, CL), True,
     [(CL, "closer", "50.000000", "5000.00"), (N1, "number_obtainer", "50.000000", "5000.00")]),
    ("new: consultant before closer for the rest", "new", (CL, C), True,
     [(C, "consultant", "100.000000", "10000.00")]),
    ("new: a number obtainer alone gets it all", "new", (N1,), True,
     [(N1, "number_obtainer", "100.000000", "10000.00")]),
    ("new: lead and assistant earn no credit", "new", (L, A, C), True,
     [(C, "consultant", "100.000000", "10000.00")]),
    # --- 二.续费: done by the teacher; a consultant who took part gets half; teachers share
    ("renewal: teacher alone", "renewal", (T1,), True,
     [(T1, "teacher", "100.000000", "10000.00")]),
    ("renewal: consultant took part, half", "renewal", (C, T1), True,
     [(C, "consultant", "50.000000", "5000.00"), (T1, "teacher", "50.000000", "5000.00")]),
    ("renewal: two subjects' teachers share equally", "renewal", (T2, T1), True,
     [(T1, "teacher", "50.000000", "5000.00"), (T2, "teacher", "50.000000", "5000.00")]),
    ("renewal: consultant half, then three teachers share", "renewal", (T3, C, T1, T2), True,
     [(C, "consultant", "50.000000", "5000.00"), (T1, "teacher", "16.666667", "1666.67"),
      (T2, "teacher", "16.666667", "1666.67"), (T3, "teacher", "16.666666", "1666.66")]),
    ("renewal: consultant without a teacher (fallback)", "renewal", (C, AD), True,
     [(C, "consultant", "100.000000", "10000.00")]),
    ("renewal: the advisor alone (fallback)", "renewal", (AD,), True,
     [(AD, "advisor", "100.000000", "10000.00")]),
    ("renewal: the advisor earns nothing next to a teacher", "renewal", (AD, T1), True,
     [(T1, "teacher", "100.000000", "10000.00")]),
]

# --- 三.转介绍 and 四.扩课: the same rules
for _kind in ("referral", "expansion"):
    EDUCATION_TABLE += [
        (f"{_kind}: a teacher who closed alone gets all", _kind, (T1,), True,
         [(T1, "teacher", "100.000000", "10000.00")]),
        (f"{_kind}: with a consultant, half each", _kind, (T1, C), True,
         [(C, "consultant", "50.000000", "5000.00"), (T1, "teacher", "50.000000", "5000.00")]),
        (f"{_kind}: several teachers share the teacher half", _kind, (T2, T1, C), True,
         [(C, "consultant", "50.000000", "5000.00"), (T1, "teacher", "25.000000", "2500.00"),
          (T2, "teacher", "25.000000", "2500.00")]),
        (f"{_kind}: several teachers alone share all", _kind, (T1, T2), True,
         [(T1, "teacher", "50.000000", "5000.00"), (T2, "teacher", "50.000000", "5000.00")]),
        (f"{_kind}: the teacher did not raise it, the consultant alone", _kind, (T1, C), False,
         [(C, "consultant", "100.000000", "10000.00")]),
        (f"{_kind}: not raised, several teachers, still the consultant", _kind, (T1, T2, C), False,
         [(C, "consultant", "100.000000", "10000.00")]),
        (f"{_kind}: a consultant alone", _kind, (C,), True,
         [(C, "consultant", "100.000000", "10000.00")]),
        (f"{_kind}: not raised but no consultant, the teacher keeps it", _kind, (T1,), False,
         [(T1, "teacher", "100.000000", "10000.00")]),
        (f"{_kind}: a closer alone (fallback)", _kind, (CL, AD), True,
         [(CL, "closer", "100.000000", "10000.00")]),
    ]


@pytest.mark.parametrize(("case", "kind", "staff", "raised", "expected"), EDUCATION_TABLE,
                         ids=[row[0] for row in EDUCATION_TABLE])
def test_education_preset(case, kind, staff, raised, expected):
    lines = split(facts(kind, "10000.00", *staff, raised=raised), EDU)
    assert table(lines) == expected
    check_exact(lines, "10000.00")


GENERAL_TABLE = [
    ("closer alone", (CL,), [(CL, "closer", "100.000000", "999.99")]),
    ("closer, lead and assistant", (A, L, CL),
     [(CL, "closer", "70.000000", "699.99"), (L, "lead", "20.000000", "200.00"),
      (A, "assistant", "10.000000", "100.00")]),
    ("lead and assistant alone, in proportion", (A, L),
     [(L, "lead", "66.666667", "666.66"), (A, "assistant", "33.333333", "333.33")]),
    ("consultant alone (fallback)", (C,), [(C, "consultant", "100.000000", "999.99")]),
]


@pytest.mark.parametrize("kind", ["new", "renewal", "referral", "expansion"])
@pytest.mark.parametrize(("case", "staff", "expected"), GENERAL_TABLE,
                         ids=[row[0] for row in GENERAL_TABLE])
def test_general_preset(kind, case, staff, expected):
    lines = split(facts(kind, "999.99", *staff), GEN)
    assert table(lines) == expected
    check_exact(lines, "999.99")


def test_three_teachers_after_the_consultants_half_round_to_the_cent():
    lines = split(facts("renewal", "1000.00", C, T1, T2, T3), EDU)
    assert [str(line.amount) for line in lines] == ["500.00", "166.67", "166.67", "166.66"]
    assert [str(line.percent) for line in lines] == ["50.000000", "16.666667", "16.666667",
                                                     "16.666666"]
    check_exact(lines, "1000.00")


@pytest.mark.parametrize(("amount", "staff", "kind", "amounts"), [
    ("0.01", (T1, T2, T3), "renewal", ["0.01", "0.00", "0.00"]),
    ("0.02", (T1, T2, T3), "renewal", ["0.01", "0.01", "0.00"]),
    ("0.01", (C, T1, T2, T3), "renewal", ["0.01", "0.00", "0.00", "0.00"]),
    ("0.05", (C, T1, T2, T3), "renewal", ["0.02", "0.01", "0.01", "0.01"]),
    ("0.01", (C, T1), "referral", ["0.01", "0.00"]),
    ("99999999999.99", (C, T1, T2, T3), "renewal",
     ["50000000000.00", "16666666666.67", "16666666666.66", "16666666666.66"]),
    ("12345678901.23", (T1, T2, T3), "referral",
     ["4115226300.41", "4115226300.41", "4115226300.41"]),
])
def test_tiny_and_large_amounts_add_up_to_the_cent(amount, staff, kind, amounts):
    lines = split(facts(kind, amount, *staff), EDU)
    assert [str(line.amount) for line in lines] == amounts
    check_exact(lines, amount)


def test_tiny_amount_keeps_every_share_percent():
    lines = split(facts("renewal", "0.01", T1, T2, T3), EDU)
    assert [str(line.percent) for line in lines] == ["33.333334", "33.333333", "33.333333"]


def test_random_deals_always_add_up_and_are_within_a_cent_of_exact():
    rng = random.Random(7)
    people = list(ROLE)
    for _ in range(3000):
        kind = rng.choice(["new", "renewal", "referral", "expansion"])
        staff = rng.sample(people, rng.randint(1, 6))
        amount = D(rng.choice([1, 2, 3, 7, 100, 99999, rng.randrange(1, 10**9)])).scaleb(-2)
        rules = rng.choice([EDU, GEN])
        try:
            lines = split(facts(kind, amount, *staff, raised=rng.random() < 0.7), rules)
        except NoCreditRule:
            continue
        check_exact(lines, amount)
        # Within a cent of the exact share (the percent itself is rounded to 1e-6 %).
        for line in lines:
            exact = amount * line.percent / 100
            assert abs(line.amount - exact) <= D("0.01") + amount * D("1e-8"), (kind, line)
        # People sharing a role equally differ by at most a cent.
        for role in {line.role for line in lines}:
            same = [line.amount for line in lines if line.role == role]
            assert max(same) - min(same) <= D("0.01")


def test_same_input_same_output_whatever_the_order_of_participants():
    base = split(facts("renewal", "1000.00", C, T1, T2, T3), EDU)
    for order in [(T3, T2, T1, C), (T2, C, T3, T1)]:
        assert split(facts("renewal", "1000.00", *order), EDU) == base
    assert [line.staff_id for line in base] == [C, T1, T2, T3]


def test_a_participant_listed_twice_counts_once():
    f = DealFacts("renewal", D("100.00"), (Participant(T1, "teacher", "数学"),
                                           Participant(T1, "teacher", "数学"),
                                           Participant(T2, "teacher", "英语")))
    assert table(split(f, EDU)) == [(T1, "teacher", "50.000000", "50.00"),
                                    (T2, "teacher", "50.000000", "50.00")]


def test_one_person_with_two_roles_gets_a_line_per_role():
    f = DealFacts("referral", D("100.00"), (Participant(C, "consultant"),
                                            Participant(C, "teacher")))
    assert table(split(f, EDU)) == [(C, "consultant", "50.000000", "50.00"),
                                    (C, "teacher", "50.000000", "50.00")]


def test_explanations_say_which_rule_and_how_many_shared():
    lines = split(facts("renewal", "1000.00", C, T1, T2, T3), EDU)
    assert lines[0].explanation == "咨询参与续费：分一半（占成交额 50%）"
    assert lines[1].explanation == "续费由老师完成（多科老师平分）（占成交额 50%，3 人平分）"
    [line] = split(facts("referral", "1000.00", T1, C, raised=False), EDU)
    assert line.explanation == "老师授课期间没提转介绍：业绩全归咨询（占成交额 100%）"
    [line] = split(facts("new", "1000.00", N1), EDU)
    assert "未分配的 50% 按比例分给以上各份" in line.explanation


@pytest.mark.parametrize(("kind", "staff", "roles"), [
    ("referral", (L, A), "咨询师、任课老师、签单人"),
    ("new", (AD,), "要号人、任课老师、咨询师、签单人"),
    ("renewal", (L,), "咨询师、任课老师、学管师、签单人"),
])
def test_nobody_who_can_earn_is_refused_with_the_roles_that_could(kind, staff, roles):
    with pytest.raises(NoCreditRule) as exc:
        split(facts(kind, "100", *staff), EDU)
    assert str(exc.value).endswith(roles + "。"), str(exc.value)
    assert exc.value.kind == kind
    assert isinstance(exc.value, ValueError)


def test_no_participant_at_all_is_refused():
    with pytest.raises(NoCreditRule):
        split(DealFacts("new", D("100"), ()), EDU)


@pytest.mark.parametrize(("kind", "amount", "error"), [
    ("gift", "100", NoCreditRule), ("new", "-1", ValueError), ("new", "NaN", ValueError)])
def test_bad_facts_are_refused(kind, amount, error):
    with pytest.raises(error):
        split(DealFacts(kind, D(amount), (Participant(C, "consultant"),)), EDU)


def test_zero_amount_gives_zero_lines_with_their_percents():
    lines = split(facts("referral", "0", C, T1), EDU)
    assert table(lines) == [(C, "consultant", "50.000000", "0.00"),
                            (T1, "teacher", "50.000000", "0.00")]


def test_a_hand_written_rule_set():
    rules = parse_rules({"kinds": {
        kind: {"rules": [
            {"role": "lead", "percent": "12.5", "label": "带会"},
            {"role": "assistant", "percent": "7.5", "when": {"without": ["consultant"]}},
            {"role": "closer", "rest": True}]} for kind in ("new", "renewal", "referral",
                                                             "expansion")}})
    lines = split(facts("new", "800.00", L, A, CL), rules)
    # No role_order: lines follow the order the rules name the roles.
    assert table(lines) == [(L, "lead", "12.500000", "100.00"),
                            (A, "assistant", "7.500000", "60.00"),
                            (CL, "closer", "80.000000", "640.00")]
    assert lines[0].explanation == "带会（占成交额 12.5%）"
    # With a consultant the assistant's rule does not apply (and the consultant earns nothing).
    assert table(split(facts("new", "800.00", L, A, CL, C), rules)) == [
        (L, "lead", "12.500000", "100.00"), (CL, "closer", "87.500000", "700.00")]


# --------------------------------------------------------------------------- dispute shares

def test_split_fixed_dispute_shares():
    lines = split_fixed(D("1000.00"), {T2: D("40"), C: D("60")})
    assert table(lines) == [(C, "", "60.000000", "600.00"), (T2, "", "40.000000", "400.00")]
    assert not any(line.confiscated for line in lines)
    assert lines[0].explanation == "争议裁定的分成"


def test_split_fixed_thirds_add_up():
    lines = split_fixed(D("100.00"), {3: D("33.33"), 1: D("33.33"), 2: D("33.34")},
                        explanation="争议 #7 裁定")
    assert table(lines) == [(1, "", "33.330000", "33.33"), (2, "", "33.340000", "33.34"),
                            (3, "", "33.330000", "33.33")]
    assert {line.explanation for line in lines} == {"争议 #7 裁定"}
    lines = split_fixed(D("0.10"), {1: D("33.333333"), 2: D("33.333333"), 3: D("33.333334")})
    check_exact(lines, "0.10")


def test_split_fixed_confiscation_is_one_line_without_staff():
    [line] = split_fixed(D("2500.50"), {C: D("100")}, confiscated=True)
    assert (line.staff_id, line.role, str(line.percent), str(line.amount), line.confiscated) == (
        None, "", "100.000000", "2500.50", True)
    assert line.explanation == "争议裁定业绩充公"


@pytest.mark.parametrize(("shares", "message"), [
    ({}, "争议分成至少要有一份。"),
    ({1: D("50"), 2: D("40")}, "各份合计 90%，不是 100%。"),
    ({1: D("110"), 2: D("-10")}, "每一份都必须大于零。"),
])
def test_split_fixed_refuses_bad_shares(shares, message):
    with pytest.raises(ValueError) as exc:
        split_fixed(D("100"), shares)
    assert str(exc.value) == message


# --------------------------------------------------------------------------- refunds

def _reversed_so_far(reversals) -> dict:
    out: dict = {}
    for line in reversals:
        key = (line.staff_id, line.role)
        out[key] = out.get(key, D(0)) + line.amount
    return out


def test_partial_refund_reverses_in_proportion_then_the_rest_ends_at_zero():
    lines = split(facts("renewal", "1000.00", C, T1, T2, T3), EDU)
    first = reverse(lines, D("100.00"))
    assert table(first) == [(C, "consultant", "50.000000", "-50.00"),
                            (T1, "teacher", "16.666667", "-16.67"),
                            (T2, "teacher", "16.666667", "-16.67"),
                            (T3, "teacher", "16.666666", "-16.66")]
    second = reverse(lines, D("900.00"), _reversed_so_far(first))
    net = _reversed_so_far(first + second)
    assert {key: line.amount + net[key] for line in lines
            for key in [(line.staff_id, line.role)]} == {
        (C, "consultant"): D("0.00"), (T1, "teacher"): D("0.00"),
        (T2, "teacher"): D("0.00"), (T3, "teacher"): D("0.00")}


def test_three_thirds_refunded_end_exactly_at_zero():
    lines = split(facts("renewal", "1000.00", C, T1, T2, T3), EDU)
    done: list[ShareLine] = []
    for part in ("333.33", "333.33", "333.34"):
        batch = reverse(lines, D(part), _reversed_so_far(done))
        assert sum(line.amount for line in batch) == -D(part)
        done += batch
    net = _reversed_so_far(done)
    assert all(line.amount + net[(line.staff_id, line.role)] == 0 for line in lines)


def test_random_refund_sequences_end_at_zero_per_person():
    rng = random.Random(11)
    for _ in range(300):
        amount = D(rng.randrange(1, 10**7)).scaleb(-2)
        staff = rng.sample([C, T1, T2, T3, AD], rng.randint(1, 5))
        lines = split(facts("renewal", amount, *staff), EDU)
        left, done = amount, []
        while left > 0:
            part = min(left, D(rng.randrange(1, 10**6)).scaleb(-2))
            batch = reverse(lines, part, _reversed_so_far(done))
            assert sum(line.amount for line in batch) == -part
            assert all(line.amount < 0 for line in batch)
            done += batch
            left -= part
            net = _reversed_so_far(done)
            assert all(line.amount + net.get((line.staff_id, line.role), 0) >= 0 for line in lines)
        net = _reversed_so_far(done)
        assert all(line.amount + net[(line.staff_id, line.role)] == 0 for line in lines)


def test_reversal_of_a_confiscated_line_keeps_it_confiscated():
    lines = split_fixed(D("500.00"), {}, confiscated=True)
    [back] = reverse(lines, D("200.00"))
    assert (back.staff_id, back.confiscated, str(back.amount)) == (None, True, "-200.00")
    assert back.explanation == "退款 200.00，按比例冲回"


@pytest.mark.parametrize(("refund", "already", "message"), [
    ("0", {}, "退款金额必须大于零。"),
    ("-5", {}, "退款金额必须大于零。"),
    ("100.01", {}, "退款（100.01）超过了剩余金额（100.00）。"),
    ("60.00", {(C, "consultant"): D("-50.00")}, "退款（60.00）超过了剩余金额（50.00）。"),
])
def test_refund_larger_than_what_remains_is_refused(refund, already, message):
    lines = split(facts("referral", "100.00", C, T1), EDU)
    with pytest.raises(ValueError) as exc:
        reverse(lines, D(refund), already)
    assert str(exc.value) == message


# --------------------------------------------------------------------------- allocate

@pytest.mark.parametrize(("total", "weights", "expected"), [
    ("100", [1, 1, 1], ["33.34", "33.33", "33.33"]),
    ("-0.05", [1, 1], ["-0.03", "-0.02"]),
    ("10", [D("0.5"), 0, D("0.5")], ["5.00", "0.00", "5.00"]),
    ("0.03", [1, 2, 3, 4], ["0.00", "0.01", "0.01", "0.01"]),
    ("1.005", [1], ["1.01"]),  # rounded half-up to the cent first
])
def test_allocate_largest_remainder(total, weights, expected):
    parts = allocate(D(total), [D(w) for w in weights])
    assert [str(p) for p in parts] == expected


def test_allocate_with_more_places_and_ties_to_the_earlier():
    assert [str(p) for p in allocate(D(100), [D(1)] * 3, places=6)] == [
        "33.333334", "33.333333", "33.333333"]
    assert [str(p) for p in allocate(D("0.02"), [D(1)] * 4)] == ["0.01", "0.01", "0.00", "0.00"]


@pytest.mark.parametrize("weights", [[], [D(0), D(0)], [D(1), D(-1)]])
def test_allocate_refuses_weights_that_cannot_share(weights):
    with pytest.raises(ValueError):
        allocate(D(10), weights)


# --------------------------------------------------------------------------- invalid rule sets

def _kinds(new=None, **others):
    ok = {"rules": [{"role": "closer", "rest": True}]}
    kinds = {k: ok for k in ("new", "renewal", "referral", "expansion")}
    if new is not None:
        kinds["new"] = new
    kinds.update(others)
    return {"kinds": kinds}


def errors_of(data) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        parse_rules(data)
    return describe_errors(exc.value)


@pytest.mark.parametrize(("data", "messages"), [
    ({}, ["kinds：必须填写。"]),
    ("abc", ["必须是对象 {…}。"]),
    ({"kinds": []}, ["kinds：必须是对象 {…}。"]),
    ({"kinds": {"new": {"rules": []}}},
     ["新单：至少要有一条规则或一个兜底角色（fallback）。", "续费：必须填写。", "转介绍：必须填写。",
      "扩课：必须填写。"]),
    (_kinds(gift={"rules": []}), ["kinds › gift：不认识的键。"]),
    (_kinds({"rules": [{"role": "closer", "percent": "120"}]}),
     ["新单 › 规则 1 › percent：最多 100。"]),
    (_kinds({"rules": [{"role": "closer", "rest": True}, {"role": "lead", "percent": 0}]}),
     ["新单 › 规则 2 › percent：必须大于 0。"]),
    (_kinds({"rules": [{"role": "closer", "percent": "一半"}]}),
     ["新单 › 规则 1 › percent：必须是数字。"]),
    (_kinds({"rules": [{"role": "closer", "percent": "33.3333333"}]}),
     ["新单 › 规则 1 › percent：最多 6 位小数。"]),
    (_kinds({"rules": [{"role": "closer", "percent": "50", "rest": True}]}),
     ["新单 › 规则 1：percent（比例）和 “rest”: true 只能给一个。"]),
    (_kinds({"rules": [{"role": "closer"}]}),
     ["新单 › 规则 1：请给出占成交额的比例（percent）或 “rest”: true。"]),
    (_kinds({"rules": [{"role": "销售 顾问", "rest": True}]}),
     ["新单 › 规则 1 › role：必须是角色代码（字母、数字、_ 或 -）。"]),
    (_kinds({"rules": [{"role": "closer", "share": "50"}]}),
     ["新单 › 规则 1 › share：不认识的键。"]),
    (_kinds({"rules": [{"role": "closer", "percent": "60"}, {"role": "lead", "percent": "50.5"}]}),
     ["新单：可能同时适用的规则比例合计 110.5%，超过了 100%。"]),
    (_kinds({"rules": [{"role": "closer", "percent": "60", "when": {"teacher_raised": False}},
                       {"role": "lead", "percent": "50"}]}),
     ["新单：可能同时适用的规则比例合计 110%，超过了 100%。"]),
    (_kinds({"rules": [{"role": "closer", "rest": True,
                        "when": {"with": ["lead"], "without": ["lead"]}}]}),
     ["新单 › 规则 1 › when：条件不能同时要求 lead 参与和不参与。"]),
    (_kinds({"rules": [{"role": "closer", "rest": True, "when": {"teacher_raised": "maybe"}}]}),
     ["新单 › 规则 1 › when › teacher_raised：必须是 true 或 false。"]),
    (_kinds({"rules": [{"role": "closer", "rest": True, "when": {"if": "x"}}]}),
     ["新单 › 规则 1 › when › if：不认识的键。"]),
    (_kinds({"rules": [], "fallback": ["a b"]}), ["新单：“a b”不是角色代码（只能用字母、数字、_ 或 -）。"]),
    ({**_kinds(), "role_order": ["closer", "closer"]}, ["role_order 中有角色重复。"]),
    ({**_kinds(), "extra": 1}, ["extra：不认识的键。"]),
])
def test_invalid_rule_sets_are_refused_with_clear_messages(data, messages):
    assert errors_of(data) == messages


def test_exclusive_conditions_may_each_give_everything():
    rules = parse_rules(_kinds({"rules": [
        {"role": "consultant", "percent": "100", "when": {"teacher_raised": False}},
        {"role": "teacher", "percent": "100", "when": {"teacher_raised": True}}]}))
    assert table(split(facts("new", "10", C, T1, raised=False), rules)) == [
        (C, "consultant", "100.000000", "10.00")]
    assert table(split(facts("new", "10", C, T1, raised=True), rules)) == [
        (T1, "teacher", "100.000000", "10.00")]


def test_presets_are_valid_and_round_trip():
    for preset in PRESETS.values():
        rules = parse_rules(preset)
        again = parse_rules(rules.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        assert again.model_dump() == rules.model_dump()
