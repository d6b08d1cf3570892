# ruff: noqa: E501  (Japanese lesson prose: a line break inside a paragraph would show as a space)
"""Data-literacy lessons: a city's population table and charts (misleading axes), averages vs medians, a survey
analysis.

The expected answers in the test cells are computed here from the shipped CSV files with the standard library
(independently of the pandas code the students write), so regenerating the data keeps the lessons consistent.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from . import Lesson, answer, code, md, rubric, solution, tests

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


_AGE = _rows("population_by_age.csv")
_TOTAL = sum(int(r["total"]) for r in _AGE)
_OLD = sum(int(r["total"]) for r in _AGE if int(r["age_group"].split("-")[0].removesuffix("以上")) >= 65)
_AGING_RATE = round(_OLD / _TOTAL * 100, 1)
_LARGEST = max(_AGE, key=lambda r: int(r["total"]))["age_group"]
_TREND = _rows("population_trend.csv")
_POP_FIRST, _POP_LAST = int(_TREND[0]["population"]), int(_TREND[-1]["population"])
_CHANGE_RATE = round((_POP_LAST - _POP_FIRST) / _POP_FIRST * 100, 1)

_SURVEY = _rows("survey.csv")
_ALLOWANCE = [int(r["allowance_yen"]) for r in _SURVEY]
_MEAN = statistics.mean(_ALLOWANCE)
_MEDIAN = statistics.median(_ALLOWANCE)
_ABOVE_MEAN = sum(1 for value in _ALLOWANCE if value > _MEAN)
_SLEEP = {
    grade: statistics.mean(float(r["sleep_hours"]) for r in _SURVEY if r["grade"] == grade)
    for grade in ("小6", "中1")
}
_READING_RATE = round(sum(1 for r in _SURVEY if int(r["reading_minutes"]) >= 30) / len(_SURVEY) * 100, 1)
_SUBJECTS = [r["favorite_subject"] for r in _SURVEY]
_TOP_SUBJECT_COUNT = max(_SUBJECTS.count(s) for s in set(_SUBJECTS))

SETUP = """
import matplotlib.pyplot as plt
import pandas as pd
from jpfont import use_japanese_font

use_japanese_font()  # グラフで日本語を使えるようにする（BIZ UDゴシック）
"""

POPULATION = Lesson(
    name="06_population",
    title="人口の表とグラフ",
    topic="data_literacy",
    files=["population_by_age.csv", "population_trend.csv", "jpfont.py"],
    cells=[
        md(
            """
# 第6回 人口の表を読み、グラフを作って確かめる

みどり市（架空の市、人口およそ10万人）の **年齢別人口** の表を読み取り、グラフにします。
後半では、**たて軸** の取り方で見え方がどう変わるかを調べます。
データはこのフォルダの `population_by_age.csv` と `population_trend.csv` です（作り方と利用条件は `classroom/data/LICENCE.md`）。

**すすめかた**: `# ここにコードを書こう` のセルにコードを書き、`raise NotImplementedError()` の行は消してください。

**提出のしかた**: 上のメニューの **Nbgrader** → **Assignment List**（課題の一覧）を開き、この課題の行の
**Submit**（提出）ボタンを押します。提出は何回でもやり直せます（先生は最後に提出したものを採点します）。
"""
        ),
        code(SETUP),
        code(
            """
population = pd.read_csv("population_by_age.csv")
population.head()
"""
        ),
        md(
            """
## 問1 総人口（1点）
`total` の列（男女の合計）をすべて足して、みどり市の総人口を変数 `total_population` に入れましょう。ヒント: `population["total"].sum()`
"""
        ),
        solution(
            "ans_total_population",
            """
### BEGIN SOLUTION
total_population = population["total"].sum()
### END SOLUTION
total_population
""",
        ),
        tests(
            "check_total_population",
            1,
            f"""
# チェック: 総人口
assert total_population > 0, "総人口を計算しよう"
### BEGIN HIDDEN TESTS
assert total_population == {_TOTAL}, "総人口がちがいます"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問2 高齢化率（2点）
65歳以上の人（`65-69` から `85以上` まで）が総人口にしめる割合を **パーセント** で求め、小数第1位までに四捨五入して
`aging_rate` に入れましょう。ヒント: `population.iloc[13:]` で14行目から最後までを取り出せます。
"""
        ),
        solution(
            "ans_aging_rate",
            """
### BEGIN SOLUTION
older = population.iloc[13:]["total"].sum()
aging_rate = round(older / total_population * 100, 1)
### END SOLUTION
aging_rate
""",
        ),
        tests(
            "check_aging_rate",
            2,
            f"""
# チェック: 高齢化率
assert 0 < aging_rate < 100, "パーセント（0〜100）で答えよう"
### BEGIN HIDDEN TESTS
assert abs(aging_rate - {_AGING_RATE}) < 0.05, "65歳以上の割合がちがいます"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 いちばん多い年齢層（1点）
人口がいちばん多い年齢層（`age_group` の値、たとえば `"40-44"`）を `largest_group` に入れましょう。
ヒント: `population["total"].idxmax()` で、いちばん大きい行の番号がわかります。
"""
        ),
        solution(
            "ans_largest_group",
            """
### BEGIN SOLUTION
largest_group = population.loc[population["total"].idxmax(), "age_group"]
### END SOLUTION
largest_group
""",
        ),
        tests(
            "check_largest_group",
            1,
            f"""
# チェック: いちばん多い年齢層
assert largest_group in set(population["age_group"]), "年齢層の名前で答えよう"
### BEGIN HIDDEN TESTS
assert largest_group == "{_LARGEST}"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 棒グラフ（2点）
年齢層ごとの人口を横向きの棒グラフにしましょう。`fig_bar, ax_bar = plt.subplots()` で図を作り、
`ax_bar.barh(...)` で描いて、タイトル（`ax_bar.set_title`）に「人口」という言葉を入れます。
"""
        ),
        solution(
            "ans_bar_chart",
            """
### BEGIN SOLUTION
fig_bar, ax_bar = plt.subplots(figsize=(6, 6))
ax_bar.barh(population["age_group"], population["total"])
ax_bar.set_title("みどり市の年齢別人口（2025年）")
ax_bar.set_xlabel("人数（人）")
### END SOLUTION
plt.show()
""",
        ),
        tests(
            "check_bar_chart",
            2,
            """
# チェック: 棒グラフ
assert len(ax_bar.patches) == len(population), "年齢層の数だけ棒があるはずです"
assert "人口" in ax_bar.get_title(), "タイトルに「人口」を入れよう"
### BEGIN HIDDEN TESTS
assert sorted(round(p.get_width()) for p in ax_bar.patches) == sorted(population["total"].tolist())
### END HIDDEN TESTS
""",
        ),
        md(
            """
## グラフのたて軸に注意
次のグラフは、2000年から2025年までのみどり市の人口です。実行して、見た印象をメモしておきましょう。
"""
        ),
        code(
            """
trend = pd.read_csv("population_trend.csv")
fig_steep, ax_steep = plt.subplots()
ax_steep.plot(trend["year"], trend["population"], marker="o")
ax_steep.set_ylim(98000, 108500)  # たて軸が 98000 から始まっている
ax_steep.set_title("みどり市の人口が急減！？")
plt.show()
"""
        ),
        md(
            """
## 問5 実際の変化率（2点）
2000年から2025年までに人口が何パーセント変化したかを求め、小数第1位までに四捨五入して `change_rate` に入れましょう
（減っていればマイナスになります）。式: (2025年の人口 − 2000年の人口) ÷ 2000年の人口 × 100
"""
        ),
        solution(
            "ans_change_rate",
            """
### BEGIN SOLUTION
first = trend["population"].iloc[0]
last = trend["population"].iloc[-1]
change_rate = round((last - first) / first * 100, 1)
### END SOLUTION
change_rate
""",
        ),
        tests(
            "check_change_rate",
            2,
            f"""
# チェック: 変化率
assert change_rate < 0, "人口は減っているのでマイナスになるはずです"
### BEGIN HIDDEN TESTS
assert abs(change_rate - ({_CHANGE_RATE})) < 0.05, "変化率がちがいます"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問6 誤解をまねかないグラフ（2点）
同じデータで、たて軸を **0 から** 始めた折れ線グラフを作りましょう。図は `fig_fair, ax_fair = plt.subplots()` で作り、
`ax_fair.set_ylim(0, ...)` を使います。タイトルも、内容に合った落ち着いたものにしましょう。
"""
        ),
        solution(
            "ans_fair_chart",
            """
### BEGIN SOLUTION
fig_fair, ax_fair = plt.subplots()
ax_fair.plot(trend["year"], trend["population"], marker="o")
ax_fair.set_ylim(0, 120000)
ax_fair.set_title("みどり市の人口の移り変わり（2000〜2025年）")
### END SOLUTION
plt.show()
""",
        ),
        tests(
            "check_fair_chart",
            2,
            """
# チェック: たて軸が 0 から始まっているか
assert ax_fair.get_ylim()[0] == 0, "たて軸を 0 から始めよう"
assert len(ax_fair.get_lines()) >= 1, "折れ線グラフを描こう"
assert ax_fair.get_ylim()[1] >= trend["population"].max(), "すべてのデータが見えるようにしよう"
""",
        ),
        md(
            """
## 問7 説明しよう（4点）
「人口が急減！？」のグラフを見た人は、どんな印象を持つでしょうか。実際の変化（問5）と比べて、
なぜ誤解をまねくのか、どう直せばよいのかを説明しましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 4点: ①たて軸が 0 からでなく途中から始まっているので変化が大きく見えること、
②実際は25年で約9％の減少（1年あたり1％未満）であること、③たて軸を0から始める・軸の目もりを示す・大げさなタイトルをやめる などの直し方、
④グラフを見るときは軸と目もりを確かめるという読み手としての注意、の4つが書けている。1つ欠けるごとに1点減。
"""
        ),
        answer(
            "explain_misleading_axis",
            4,
            """
### BEGIN SOLUTION
（解答例）最初のグラフは、たて軸が 98000 から始まっているので、線が急に下がって人口が半分以下になったように見えます。
実際は25年で約9％の減少で、1年あたりでは1％未満のゆっくりした変化です。たて軸を0から始め、タイトルも「急減」などの
言葉を使わないようにすると、正しい印象になります。グラフを見るときは、まず軸の目もりを確かめることが大切です。
### END SOLUTION
""",
        ),
    ],
)

SURVEY = Lesson(
    name="07_survey",
    title="平均と中央値・アンケートの分析",
    topic="data_literacy",
    files=["survey.csv", "jpfont.py"],
    cells=[
        md(
            """
# 第7回 平均と中央値 — アンケートを分析する

ある小中学校の小学6年生18人と中学1年生18人、あわせて36人に「睡眠時間」「読書時間」「1か月のおこづかい」「好きな教科」のアンケートをとりました（架空のデータです）。
**平均** と **中央値** のちがいに注意しながら分析します。データはこのフォルダの `survey.csv` です。

**すすめかた**: `# ここにコードを書こう` のセルにコードを書き、`raise NotImplementedError()` の行は消してください。

**提出のしかた**: 上のメニューの **Nbgrader** → **Assignment List**（課題の一覧）を開き、この課題の行の
**Submit**（提出）ボタンを押します。提出は何回でもやり直せます（先生は最後に提出したものを採点します）。
"""
        ),
        code(SETUP),
        code(
            """
survey = pd.read_csv("survey.csv")
survey.head()
"""
        ),
        md(
            """
## 問1 平均と中央値（2点）
おこづかい（`allowance_yen` の列）の平均を `mean_allowance`、中央値を `median_allowance` に入れましょう。
ヒント: `.mean()` と `.median()`
"""
        ),
        solution(
            "ans_mean_median",
            """
### BEGIN SOLUTION
mean_allowance = survey["allowance_yen"].mean()
median_allowance = survey["allowance_yen"].median()
### END SOLUTION
print(mean_allowance, median_allowance)
""",
        ),
        tests(
            "check_mean_median",
            2,
            f"""
# チェック: 平均と中央値
_low, _high = survey["allowance_yen"].min(), survey["allowance_yen"].max()
assert _low <= median_allowance <= _high, "中央値はデータの範囲の中にあります"
### BEGIN HIDDEN TESTS
assert abs(mean_allowance - {_MEAN!r}) < 0.01, "平均がちがいます"
assert median_allowance == {_MEDIAN!r}, "中央値がちがいます"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問2 平均より多い人（1点）
おこづかいが平均より **多い** 人の人数を `above_mean_count` に入れましょう。
"""
        ),
        solution(
            "ans_above_mean",
            """
### BEGIN SOLUTION
above_mean_count = int((survey["allowance_yen"] > mean_allowance).sum())
### END SOLUTION
above_mean_count
""",
        ),
        tests(
            "check_above_mean",
            1,
            f"""
# チェック: 平均より多い人の人数
assert 0 < above_mean_count < len(survey), "人数で答えよう"
### BEGIN HIDDEN TESTS
assert above_mean_count == {_ABOVE_MEAN}
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 学年別の平均睡眠時間（2点）
`groupby` を使って、学年（`grade`）ごとの睡眠時間（`sleep_hours`）の平均を `sleep_by_grade` に入れましょう。
"""
        ),
        solution(
            "ans_sleep_by_grade",
            """
### BEGIN SOLUTION
sleep_by_grade = survey.groupby("grade")["sleep_hours"].mean()
### END SOLUTION
sleep_by_grade
""",
        ),
        tests(
            "check_sleep_by_grade",
            2,
            f"""
# チェック: 学年別の平均
assert set(sleep_by_grade.index) >= {{"小6", "中1"}}, "学年ごとに平均を出そう"
### BEGIN HIDDEN TESTS
assert abs(sleep_by_grade["小6"] - {_SLEEP["小6"]:.6f}) < 0.001
assert abs(sleep_by_grade["中1"] - {_SLEEP["中1"]:.6f}) < 0.001
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 よく読書する人の割合（2点）
1日の読書時間（`reading_minutes`）が30分 **以上** の人の割合をパーセントで求め、小数第1位までに四捨五入して
`reading_30_rate` に入れましょう。
"""
        ),
        solution(
            "ans_reading_rate",
            """
### BEGIN SOLUTION
reading_30_rate = round((survey["reading_minutes"] >= 30).sum() / len(survey) * 100, 1)
### END SOLUTION
reading_30_rate
""",
        ),
        tests(
            "check_reading_rate",
            2,
            f"""
# チェック: 割合
assert 0 <= reading_30_rate <= 100, "パーセント（0〜100）で答えよう"
### BEGIN HIDDEN TESTS
assert abs(reading_30_rate - {_READING_RATE}) < 0.05
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問5 ヒストグラム（2点）
おこづかいの分布をヒストグラムにしましょう。`fig_hist, ax_hist = plt.subplots()` で図を作り、
`ax_hist.hist(...)` で描きます。平均と中央値の位置に `ax_hist.axvline(...)` で線を引き、凡例もつけましょう。
"""
        ),
        solution(
            "ans_histogram",
            """
### BEGIN SOLUTION
fig_hist, ax_hist = plt.subplots()
ax_hist.hist(survey["allowance_yen"], bins=15)
ax_hist.axvline(mean_allowance, color="red", label="平均")
ax_hist.axvline(median_allowance, color="green", linestyle="--", label="中央値")
ax_hist.set_xlabel("1か月のおこづかい（円）")
ax_hist.set_ylabel("人数")
ax_hist.legend()
### END SOLUTION
plt.show()
""",
        ),
        tests(
            "check_histogram",
            2,
            """
# チェック: ヒストグラムと線
assert sum(p.get_height() for p in ax_hist.patches) == len(survey), "全員分のデータを使おう"
positions = sorted(line.get_xdata()[0] for line in ax_hist.get_lines())
assert len(positions) >= 2, "平均と中央値の線を引こう"
assert any(abs(x - mean_allowance) < 1 for x in positions), "平均の線がありません"
assert any(abs(x - median_allowance) < 1 for x in positions), "中央値の線がありません"
""",
        ),
        md(
            """
## 問6 好きな教科（1点）
好きな教科（`favorite_subject`）ごとの人数を `value_counts()` で数え、`subject_counts` に入れましょう。
"""
        ),
        solution(
            "ans_subject_counts",
            """
### BEGIN SOLUTION
subject_counts = survey["favorite_subject"].value_counts()
### END SOLUTION
subject_counts
""",
        ),
        tests(
            "check_subject_counts",
            1,
            f"""
# チェック: 教科ごとの人数
assert subject_counts.sum() == len(survey)
### BEGIN HIDDEN TESTS
assert subject_counts.max() == {_TOP_SUBJECT_COUNT}
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問7 説明しよう（4点）
このクラスの「ふつうのおこづかい」を伝えるとき、平均と中央値のどちらを使うのがよいでしょうか。
問1・問2・問5の結果を使って、理由を説明しましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 4点: ①中央値を選んでいる、②平均は一部のとても大きい値（10000円・15000円）に引っぱられて大きくなること、
③平均より多い人が少ない（問2）ことやヒストグラムの形（問5）を根拠にしている、④データの特徴によって使い分けるという一般化、
の4つが書けている。1つ欠けるごとに1点減。
"""
        ),
        answer(
            "explain_mean_median",
            4,
            """
### BEGIN SOLUTION
（解答例）中央値を使うのがよいです。おこづかいには 10000 円や 15000 円というとても大きい値が2人いて、平均はその値に
引っぱられて大きくなっています。実際、平均より多い人は36人中わずかで、ヒストグラムでも多くの人は平均より左にいます。
大きくはなれた値があるときは中央値、かたよりが小さいときは平均、のように使い分けます。
### END SOLUTION
""",
        ),
        md(
            """
## 問8 アンケートの限界（2点）
このアンケートの結果から「日本の小6・中1はこうだ」と言ってよいでしょうか。気をつけることを2つ書きましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 2点: 気をつけることを2つ（人数が36人と少ない／1つの学校だけで全体を代表しない／
自己申告なので正確とは限らない／調べた時期によって変わる など）。1点: 1つ。0点: 書いていない。
"""
        ),
        answer(
            "explain_survey_limits",
            2,
            """
### BEGIN SOLUTION
（解答例）36人という少ない人数で、しかも1つのクラスだけの結果なので、日本全体を代表しているとは言えません。
また、睡眠時間などは自分で答えた数なので、正確とは限りません。
### END SOLUTION
""",
        ),
    ],
)
