"""Bank rules of `giga items stats --check`: each rule fails on a bank built to break it."""

from __future__ import annotations

from typer.testing import CliRunner

from reading_tests.bank_stats import (
    MIN_TEST_ITEMS,
    bank_checks,
    coverage_check,
    key_position_check,
    longest_option_check,
    parity_check,
    rationale_check,
    status_table,
    unique_longest_key,
)
from reading_tests.cli.root import root_app
from reading_tests.items import BANDS, SKILLS, Item, Option, validate_path

runner = CliRunner()


def choice(
    n: int,
    key: str,
    *,
    skill: str = "DEP",
    band: str = "P3-4",
    texts: str = "ああ いい うう ええ",
    pool: str = "test",
    rationale: str | None = "reason",
) -> Item:
    options = tuple(
        Option(id=oid, text=t, rationale=None if oid == key else rationale)
        for oid, t in zip("ABCD", texts.split(), strict=True)
    )
    return Item(
        id=f"{skill}-{n:03d}",
        skill=skill,
        format="single_choice",
        grade_min=BANDS[band][0],
        grade_band=band,
        genre="textbook",
        writing_mode="horizontal",
        status="draft",
        design_difficulty=0.0,
        stimulus="x",
        instruction="x",
        options=options,
        key=(key,),
        explanation="x",
        pool=pool,
    )


def balanced(n: int, **kw: object) -> list[Item]:
    return [choice(i + 1, "ABCD"[(i * 7 // 3) % 4], **kw) for i in range(n)]  # type: ignore[arg-type]


def test_coverage_counts_only_the_test_pool_and_honours_written_exemptions() -> None:
    items = [choice(i, "A", skill=s, band=b) for s in SKILLS for b in BANDS for i in range(MIN_TEST_ITEMS)]
    assert coverage_check(items, {}).ok
    short = [i for i in items if not (i.skill == "REP" and i.grade_band == "P1-2")]
    practice = [choice(i, "A", skill="REP", band="P1-2", pool="practice") for i in range(MIN_TEST_ITEMS)]
    result = coverage_check(short + practice, {})
    assert not result.ok and result.details == ("REP P1-2: 0 test items (need 20)",)
    assert coverage_check(short, {("REP", "P1-2"): "pictures of a 小1 level are in the practice pool"}).ok


def test_status_table_counts_deliverable_test_items_and_drafts_apart() -> None:
    from dataclasses import replace

    items = [
        choice(1, "A"),
        replace(choice(2, "B"), status="reviewed"),
        replace(choice(3, "C"), status="pilot"),
    ]
    items += [choice(4, "D", pool="practice"), replace(choice(5, "A"), status="retired")]
    rows = dict(row.split("\t", 1) for row in status_table(items))
    assert rows["DEP"].split("\t")[list(BANDS).index("P3-4")] == "2/1"  # practice and retired left out
    assert rows["ANA"].split("\t") == ["0/0"] * len(BANDS)


def test_key_positions() -> None:
    assert key_position_check(balanced(40)).ok
    skewed = [choice(i, "C" if i % 5 else "A") for i in range(40)]
    assert not key_position_check(skewed).ok


def test_longest_option() -> None:
    assert unique_longest_key(choice(1, "B", texts="あ いいいい う え"))
    assert not unique_longest_key(choice(1, "B", texts="あああ あああ う え"))  # tied: not unique
    long_keys = [choice(i, "B", texts="あ いいいい う え") for i in range(4)] + balanced(6)
    assert not longest_option_check(long_keys).ok  # 4/10 = 40 % > 30 %
    assert longest_option_check(long_keys[2:]).ok  # 2/8 = 25 %


def test_id_parity_pattern_is_found_and_a_shuffled_bank_passes() -> None:
    alternating = [choice(i, "A" if i % 2 else "C") for i in range(20)]
    result = parity_check(alternating)
    assert not result.ok and "mod 2" in result.details[0]
    assert parity_check(balanced(40)).ok


def test_missing_rationales_are_listed() -> None:
    result = rationale_check([choice(1, "A", rationale=None)])
    assert not result.ok and result.details == ("DEP-001 option B", "DEP-001 option C", "DEP-001 option D")


def test_cli_check_exits_2_with_the_failed_rules(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(root_app, ["items", "stats", "--check"])
    shipped = bank_checks(validate_path().items)
    if all(c.ok for c in shipped):
        assert result.exit_code == 0
    else:
        assert result.exit_code == 2
        assert "the bank fails" in result.output
    assert "coverage" in result.output and "DEP\t" in result.output


_report = validate_path()


def test_the_complete_bank_passes_every_rule() -> None:
    failed = {c.name: c.details[:5] for c in bank_checks(_report.items) if not c.ok}
    assert failed == {}


def test_every_shipped_distractor_says_why_a_child_would_pick_it() -> None:
    assert rationale_check(_report.items).ok
    # the validator's own warning covers every format, same/different included
    assert not [str(issue) for issue in _report.warnings if "has no rationale" in issue.message]
