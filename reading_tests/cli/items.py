"""``giga items …``: validate the item bank, show its make-up, fill ruby, exchange QTI, run the pilot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
import yaml

from reading_tests.cli.apps import exits_2_on_invalid_input, items_app
from reading_tests.errors import InvalidInput
from reading_tests.items import (
    BANDS,
    default_bank_path,
    display_path,
    item_files,
    load_bank,
    rewrite_tool_blocks,
    validate_path,
)

PathArg = Annotated[Path | None, typer.Argument(help="Item file or folder (default: the shipped bank).")]


@items_app.command("validate")
@exits_2_on_invalid_input
def validate(
    path: PathArg = None,
    readings: Annotated[
        bool,
        typer.Option(
            "--readings/--no-readings",
            help="Lint ruby and read-aloud readings (counters, analyser, dictionary).",
        ),
    ] = True,
) -> None:
    """Check every item file; print each problem as file:line: message; exit 2 when any is invalid."""
    report = validate_path(path)
    if readings:
        from reading_tests.readings import lint_items

        report.issues.extend(lint_items(report.items))
    for issue in report.issues:
        typer.echo(str(issue), err=issue.severity == "error")
    if not report.ok:
        typer.echo(f"{len(report.errors)} error(s) in the item bank", err=True)
        raise typer.Exit(code=2)
    typer.echo(f"{len(report.items)} items valid ({len(report.warnings)} warning(s))")


@items_app.command("stats")
@exits_2_on_invalid_input
def stats(
    path: PathArg = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 2 unless every bank rule passes (coverage, keys, rationales)."),
    ] = False,
) -> None:
    """Counts per skill × band × format × genre and per skill × band × pool, then the bank rules."""
    from reading_tests.bank_stats import bank_checks, count_table, status_table

    bank = load_bank(path)
    by_cell = Counter((i.skill, i.grade_band, i.format, i.genre) for i in bank)
    typer.echo("skill\tband\tformat\tgenre\tn")
    for (skill, band, fmt, genre), n in sorted(by_cell.items()):
        typer.echo(f"{skill}\t{band}\t{fmt}\t{genre}\t{n}")
    typer.echo("")
    by_band = Counter((i.skill, i.grade_band) for i in bank)
    bands = tuple(BANDS)
    typer.echo("skill\t" + "\t".join(bands) + "\ttotal\tvertical")
    for skill in dict.fromkeys(i.skill for i in bank):
        counts = [by_band[(skill, b)] for b in bands]
        vertical = sum(1 for i in bank.filter(skill=skill) if i.writing_mode == "vertical")
        typer.echo(f"{skill}\t" + "\t".join(map(str, counts)) + f"\t{sum(counts)}\t{vertical}")
    typer.echo(f"total\t{len(bank)}")
    typer.echo("")
    for row in count_table(bank.items):
        typer.echo(row)
    typer.echo("")
    for row in status_table(bank.items):
        typer.echo(row)
    typer.echo("")
    checks = bank_checks(bank.items)
    for result in checks:
        typer.echo(f"{'ok  ' if result.ok else 'FAIL'} {result.name}: {result.summary}")
        for detail in result.details[:20]:
            typer.echo(f"       {detail}")
        if len(result.details) > 20:
            typer.echo(f"       … and {len(result.details) - 20} more")
    failed = [c.name for c in checks if not c.ok]
    if check and failed:
        typer.echo(f"the bank fails: {', '.join(failed)}", err=True)
        raise typer.Exit(code=2)


@items_app.command("ruby")
@exits_2_on_invalid_input
def ruby(
    path: PathArg = None,
    write: Annotated[bool, typer.Option("--write", help="Store the suggestions in the item files.")] = False,
) -> None:
    """Suggest ruby and readability for every item (fugashi + unidic-lite, bank/ruby_overrides.yaml).

    Without --write, lists the files whose stored ruby/readability would change.
    """
    from reading_tests.text import annotate_item_data, load_overrides

    overrides = load_overrides()
    root = path or default_bank_path()
    changed = 0
    unknown: Counter[str] = Counter()
    for file in item_files(root):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise InvalidInput(f"{display_path(file)}: not valid YAML; run `giga items validate`") from error
        if not isinstance(data, dict):
            raise InvalidInput(f"{display_path(file)}: not an item; run `giga items validate`")
        blocks, missing = annotate_item_data(data, overrides)
        unknown.update(missing)
        differs = any(data.get(name) != value for name, value in blocks.items())
        if differs:
            changed += 1
            if write:
                rewrite_tool_blocks(file, blocks)
            else:
                typer.echo(f"{display_path(file)}: ruby/readability would change")
    for word, n in unknown.most_common():
        typer.echo(
            f"no reading for '{word}' ({n}×): add it to reading_tests/bank/ruby_overrides.yaml", err=True
        )
    verb = "updated" if write else "to update"
    typer.echo(f"{changed} file(s) {verb}")


@items_app.command("export-qti")
@exits_2_on_invalid_input
def export_qti(
    outdir: Annotated[Path, typer.Argument(help="Folder to write <ID>.xml files into.")],
    path: Annotated[Path | None, typer.Option("--bank", help="Item bank folder (default: shipped).")] = None,
) -> None:
    """Write every choice item as a QTI 3.0 assessment item (one XML file per item)."""
    from reading_tests.qti import item_to_qti_string

    bank = load_bank(path)
    outdir.mkdir(parents=True, exist_ok=True)
    for item in bank:
        (outdir / f"{item.id}.xml").write_text(item_to_qti_string(item), encoding="utf-8")
    typer.echo(f"{len(bank)} item(s) written to {outdir}")


@items_app.command("import-qti")
@exits_2_on_invalid_input
def import_qti(
    files: Annotated[list[Path], typer.Argument(help="QTI 3.0 assessment item XML files.")],
    outdir: Annotated[
        Path | None, typer.Option("--out", help="Write item YAML files into this folder.")
    ] = None,
) -> None:
    """Read QTI 3.0 choice items; print a summary or, with --out, write them as item YAML files."""
    from reading_tests.qti import item_from_qti_string, item_to_yaml

    for file in files:
        if not file.is_file():
            raise InvalidInput(f"{file}: no such file")
        item = item_from_qti_string(file.read_text(encoding="utf-8"), source=str(file))
        if outdir is None:
            typer.echo(
                f"{file}: {item.id} {item.format} {len(item.options)} options, key {','.join(item.key)}"
            )
        else:
            target = outdir / item.skill / f"{item.id}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item_to_yaml(item), encoding="utf-8")
            typer.echo(f"{file} -> {target}")


@items_app.command("pilot")
@exits_2_on_invalid_input
def pilot(
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 20240601,
    students: Annotated[int, typer.Option(help="Simulated pilot students.")] = 3000,
    form_length: Annotated[int, typer.Option(help="Items per fixed pilot form.")] = 30,
    write: Annotated[bool, typer.Option("--write", help="Store irt blocks and bank/params.csv.")] = False,
    path: Annotated[Path | None, typer.Option("--bank", help="Item bank folder (default: shipped).")] = None,
) -> None:
    """Simulated pilot: provisional IRT parameters for the bank until real pilot data exist."""
    from reading_tests.pilot import run_pilot, write_results

    bank = load_bank(path)
    result = run_pilot(bank, seed=seed, n_students=students, form_length=form_length)
    typer.echo(result.summary())
    for band, r in result.recovery_by_band(bank).items():
        typer.echo(f"  {band}: {int(r['n_items'])} items, b r = {r['r_b']:.3f}, RMSE = {r['rmse_b']:.3f}")
    if write:
        write_results(bank, result)
        typer.echo(f"irt blocks and params.csv written for {len(result.params)} items")


def _item_file(item_id: str, bank: Path | None) -> Path:
    root = bank or default_bank_path()
    matches = [f for f in item_files(root) if f.stem == item_id]
    if not matches:
        raise InvalidInput(f"no item {item_id} under {display_path(root)}")
    return matches[0]


@items_app.command("review")
@exits_2_on_invalid_input
def review(
    item_id: Annotated[str, typer.Argument(help="Item id, e.g. ANA-007.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who checked the item (not its author).")],
    checks: Annotated[
        str,
        typer.Option(
            "--checks", help="Comma-separated: key,distractors,readings,grade_level,bias,text_only."
        ),
    ],
    author: Annotated[
        str | None, typer.Option("--author", help="The author, when the item has no review block yet.")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="What the reviewer changed or asked.")] = None,
    path: Annotated[Path | None, typer.Option("--bank", help="Item bank folder (default: shipped).")] = None,
) -> None:
    """Record a second person's review; with all five checks the draft becomes reviewed."""
    from reading_tests.review import record_review

    file = _item_file(item_id, path)
    item = record_review(
        file,
        reviewer=reviewer,
        checks=[c.strip() for c in checks.split(",") if c.strip()],
        author=author,
        notes=notes,
    )
    typer.echo(f"{item.id}: review by {reviewer} recorded; status {item.status}")


@items_app.command("set-status")
@exits_2_on_invalid_input
def set_status(
    item_id: Annotated[str, typer.Argument(help="Item id, e.g. ANA-007.")],
    status: Annotated[str, typer.Argument(help="pilot, operational, reviewed, draft or retired.")],
    by: Annotated[str, typer.Option("--by", help="Who makes the change.")],
    role: Annotated[str, typer.Option("--role", help="author, reviewer or psychometrics.")] = "reviewer",
    path: Annotated[Path | None, typer.Option("--bank", help="Item bank folder (default: shipped).")] = None,
) -> None:
    """Move an item along draft → reviewed → pilot → operational; operational only for psychometrics."""
    from reading_tests.review import set_status as change

    item = change(_item_file(item_id, path), status=status, by=by, role=role)
    typer.echo(f"{item.id}: status {item.status}")
