"""Generate the small, fictional data sets used by the data-literacy lessons.

Everything here is *generated* (seeded, reproducible), not collected: the city 「みどり市」 and its
students do not exist, so the data can be shipped and reused freely (CC0 1.0, see LICENCE.md).

Run ``python classroom/data/make_data.py`` to rewrite the CSV files; the output is byte-identical for
the same seed, which the tests check.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20240401
HERE = Path(__file__).resolve().parent

AGE_BANDS = [f"{lo}-{lo + 4}" for lo in range(0, 85, 5)] + ["85以上"]


def population_by_age(rng: random.Random) -> list[dict[str, object]]:
    """Population of a fictional city of about 100,000 people by 5-year age band and sex (2025)."""
    rows: list[dict[str, object]] = []
    for index, band in enumerate(AGE_BANDS):
        # An ageing-city shape: small young cohorts, a bulge around 45-54 and 70-79.
        base = 2600 + 550 * (index >= 9) + 400 * (index in (14, 15))
        base += -150 * (index <= 3) - 1500 * (index == 17)
        male = base + rng.randint(-200, 200) - 120 * (index >= 14)
        female = base + rng.randint(-200, 200) + 180 * (index >= 14)
        rows.append({"age_group": band, "male": male, "female": female, "total": male + female})
    return rows


def population_trend(rng: random.Random) -> list[dict[str, object]]:
    """Total population of the same city, 2000-2025: a slow decline of about 0.4 % a year."""
    rows: list[dict[str, object]] = []
    population = 108_000
    for year in range(2000, 2026):
        rows.append({"year": year, "population": population})
        population -= 380 + rng.randint(-120, 120)
    return rows


def survey(rng: random.Random) -> list[dict[str, object]]:
    """A survey of 36 fictional students (小6, 中1): sleep, reading, pocket money, favourite subject."""
    subjects = ["国語", "算数・数学", "理科", "社会", "英語", "体育", "音楽", "図工・美術"]
    rows: list[dict[str, object]] = []
    for number in range(1, 37):
        grade = "小6" if number <= 18 else "中1"
        sleep = round(rng.gauss(8.6 if grade == "小6" else 7.9, 0.6) * 2) / 2
        reading = max(0, int(rng.gauss(25, 15)) // 5 * 5)
        allowance = rng.choice([500, 500, 800, 1000, 1000, 1000, 1500, 2000])
        rows.append(
            {
                "student": f"S{number:02d}",
                "grade": grade,
                "sleep_hours": sleep,
                "reading_minutes": reading,
                "allowance_yen": allowance,
                "favorite_subject": rng.choice(subjects),
            }
        )
    # Two large values on purpose: the lesson on averages vs medians is about them.
    rows[4]["allowance_yen"] = 10000
    rows[27]["allowance_yen"] = 15000
    return rows


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(out_dir: Path = HERE) -> list[Path]:
    rng = random.Random(SEED)
    outputs = {
        "population_by_age.csv": population_by_age(rng),
        "population_trend.csv": population_trend(rng),
        "survey.csv": survey(rng),
    }
    paths = []
    for name, rows in outputs.items():
        write_csv(out_dir / name, rows)
        paths.append(out_dir / name)
    return paths


if __name__ == "__main__":
    for written in main():
        print(written)
