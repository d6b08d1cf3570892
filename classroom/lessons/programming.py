# ruff: noqa: E501  (Japanese lesson prose: a line break inside a paragraph would show as a space)
"""Programming lessons (小学校高学年〜中学校技術「情報の技術」).

Variables, conditions, loops, functions and a simple algorithm (searching and sorting).
"""

from __future__ import annotations

from . import Lesson, answer, code, md, rubric, solution, tests

HOW_TO = """
**すすめかた**: `# ここにコードを書こう` と書かれたセルにコードを書き、`raise NotImplementedError()` の行は消してください。
セルを実行（Shift + Enter）したら、すぐ下の「チェック」のセルも実行して、エラーが出ないか確かめましょう。
最後に上のメニューの **Validate**（検証）で全体を確かめてから提出します。

**提出のしかた**: 上のメニューの **Nbgrader** → **Assignment List**（課題の一覧）を開き、この課題の行の
**Submit**（提出）ボタンを押します。提出は何回でもやり直せます（先生は最後に提出したものを採点します）。
"""

VARIABLES = Lesson(
    name="01_variables",
    title="変数と計算",
    topic="programming",
    cells=[
        md(
            """
# 第1回 変数と計算

**変数**は、数や文字に名前をつけてしまっておく「名前つきの箱」です。
`=` は「右の値を左の箱に入れる」という意味です。
"""
            + HOW_TO
        ),
        code(
            """
# 例: りんご1個の値段を変数 apple に入れて、3個分の値段を計算する
apple = 120
print(apple * 3)
"""
        ),
        md(
            """
## 問1 買い物の合計（2点）
りんごは1個120円、みかんは1個50円です。りんごを3個、みかんを4個買いました。
変数 `apple`（りんごの値段）と `orange`（みかんの値段）を使って、合計金額を変数 `total` に入れましょう。
"""
        ),
        solution(
            "ans_total",
            """
### BEGIN SOLUTION
apple = 120
orange = 50
total = apple * 3 + orange * 4
### END SOLUTION
print(total)
""",
        ),
        tests(
            "check_total",
            2,
            """
# チェック: 合計金額
assert orange == 50, "みかんの値段 orange は 50 にしよう"
assert total == 560, "合計金額がちがいます。りんご3個とみかん4個の値段を足そう"
""",
        ),
        md(
            """
## 問2 おつり（1点）
1000円札で払いました。おつりを変数 `change` に入れましょう（`total` を使って計算すること）。
"""
        ),
        solution(
            "ans_change",
            """
### BEGIN SOLUTION
change = 1000 - total
### END SOLUTION
print(change)
""",
        ),
        tests(
            "check_change",
            1,
            """
# チェック: おつり
assert change == 440, "おつりがちがいます"
### BEGIN HIDDEN TESTS
# the same answer with another total: `change = 440` (copied from the check) does not count
_answer = [
    cell
    for cell in globals()["In"]
    if any(line.startswith("change =") or line.startswith("change=") for line in cell.splitlines())
][-1]
_other = {"total": 730, "print": lambda *args, **kwargs: None}
exec(_answer, _other)
assert _other["change"] == 270, "おつりは total を使って計算しよう"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 長方形（2点）
たて 7 cm、よこ 12 cm の長方形があります。すぐ下のセルで、長さが変数 `height`（たて）と `width`（よこ）に
入っています。この2つを使って、面積を `area`、まわりの長さを `perimeter` に入れましょう。
"""
        ),
        code("height = 7\nwidth = 12"),
        solution(
            "ans_rectangle",
            """
### BEGIN SOLUTION
area = height * width
perimeter = (height + width) * 2
### END SOLUTION
print(area, perimeter)
""",
        ),
        tests(
            "check_rectangle",
            2,
            """
# チェック: 面積とまわりの長さ
assert area == 84, "面積は たて × よこ です"
assert perimeter == 38, "まわりの長さは (たて + よこ) × 2 です"
### BEGIN HIDDEN TESTS
# the answer cell again with another rectangle: `area = 84` (copied from the check) does not count
_starts = ("area =", "area=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
_other = {"height": 5, "width": 9, "print": lambda *args, **kwargs: None}
exec(_answer, _other)
assert (_other["area"], _other["perimeter"]) == (45, 28), "height と width を使って計算しよう"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 グループ分け（2点）
25人を4人ずつのグループに分けます。すぐ下のセルで、人数が `people`、1グループの人数が `size` に入っています。
できるグループの数を `groups`、あまる人数を `rest` に入れましょう。
ヒント: `//` は「わり算の商」、`%` は「わり算のあまり」を計算します。
"""
        ),
        code("people = 25\nsize = 4"),
        solution(
            "ans_groups",
            """
### BEGIN SOLUTION
groups = people // size
rest = people % size
### END SOLUTION
print(groups, rest)
""",
        ),
        tests(
            "check_groups",
            2,
            """
# チェック: グループの数とあまり
assert groups == 6, "グループの数がちがいます"
assert rest == 1, "あまりの人数がちがいます"
### BEGIN HIDDEN TESTS
# the answer cell again with another class: `groups = 6` does not count
_starts = ("groups =", "groups=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
_other = {"people": 30, "size": 7, "print": lambda *args, **kwargs: None}
exec(_answer, _other)
assert (_other["groups"], _other["rest"]) == (4, 2), "people と size を使って計算しよう"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問5 説明しよう（3点）
プログラムの `x = x + 1` は、算数の式としてはおかしく見えます。プログラムではどういう意味になるのか、
算数の `=` とのちがいがわかるように説明しましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 3点: `=` が「代入（右の計算結果を左の変数に入れる）」であること、
`x = x + 1` で x が1増えること、算数の `=`（左右が等しい）とのちがい、の3つが書けている。
2点: 3つのうち2つ。 1点: 1つ。 0点: 書いていない、または関係のないことだけ。
"""
        ),
        answer(
            "explain_assignment",
            3,
            """
### BEGIN SOLUTION
（解答例）プログラムの `=` は「等しい」ではなく「右側を計算して、その結果を左の変数に入れる」（代入）という意味です。
`x = x + 1` は、いまの x に 1 を足した値を、あらためて x に入れるので、x が 1 増えます。
算数の `=` は左右が等しいことを表すので、意味がちがいます。
### END SOLUTION
""",
        ),
    ],
)

CONDITIONS = Lesson(
    name="02_conditions",
    title="条件分岐",
    topic="programming",
    cells=[
        md(
            """
# 第2回 条件分岐

`if`（もし〜なら）、`elif`（そうでなくて、もし〜なら）、`else`（どれでもなければ）を使うと、
条件によってちがう動きをさせられます。ここでは、条件によって変数に入れる値を変えます。
"""
            + HOW_TO
        ),
        code(
            """
# 例: 気温が 25 度以上なら「暑い」と表示する
temperature = 30
if temperature >= 25:
    print("暑い")
else:
    print("暑くない")
"""
        ),
        md(
            """
## 問1 気温の判定（3点）
気温 `t` が 25 度以上なら `"暑い"`、10 度未満なら `"寒い"`、それ以外は `"ふつう"` を、変数 `weather` に入れましょう。
すぐ下のセルの `t` の数を変えて実行し、いろいろな気温で確かめてみよう（チェックでは、ほかの気温でもためします）。
"""
        ),
        code("t = 30"),
        solution(
            "ans_judge_temperature",
            """
### BEGIN SOLUTION
if t >= 25:
    weather = "暑い"
elif t < 10:
    weather = "寒い"
else:
    weather = "ふつう"
### END SOLUTION
print(weather)
""",
        ),
        tests(
            "check_judge_temperature",
            3,
            """
# チェック: 気温の判定
assert weather in ("暑い", "寒い", "ふつう"), "weather には「暑い」「寒い」「ふつう」のどれかを入れよう"
if t == 30:
    assert weather == "暑い", "30度は「暑い」です"
### BEGIN HIDDEN TESTS
# the answer cell again with other temperatures (boundaries too): `weather = "暑い"` does not count
_starts = ("weather =", "weather=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
_cases = [(30, "暑い"), (25, "暑い"), (5, "寒い"), (10, "ふつう"), (24.9, "ふつう"), (-3, "寒い")]
for _t, _expected in _cases:
    _scope = {"t": _t, "print": lambda *args, **kwargs: None}
    exec(_answer, _scope)
    assert _scope["weather"] == _expected, f"t = {_t} のときは {_expected}"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問2 偶数かな？（2点）
整数 `n` が偶数なら `True`、奇数なら `False` を変数 `even` に入れましょう。ヒント: `n % 2`（2でわったあまり）
"""
        ),
        code("n = 4"),
        solution(
            "ans_is_even",
            """
### BEGIN SOLUTION
even = n % 2 == 0
### END SOLUTION
print(even)
""",
        ),
        tests(
            "check_is_even",
            2,
            """
# チェック: 偶数の判定
assert even is True or even is False, "even には True か False を入れよう"
if n == 4:
    assert even is True, "4 は偶数です"
### BEGIN HIDDEN TESTS
_starts = ("even =", "even=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
for _n, _expected in [(4, True), (7, False), (0, True), (-2, True), (101, False)]:
    _scope = {"n": _n, "print": lambda *args, **kwargs: None}
    exec(_answer, _scope)
    assert _scope["even"] is _expected, f"n = {_n} のときは {_expected}"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 入館料（3点）
博物館の入館料は、6歳未満は 0 円、6歳以上12歳以下は 300 円、13歳以上は 500 円です。
ただし 65 歳以上は 250 円です。年齢 `age` から入館料を変数 `price` に入れましょう。
"""
        ),
        code("age = 10"),
        solution(
            "ans_ticket_price",
            """
### BEGIN SOLUTION
if age < 6:
    price = 0
elif age <= 12:
    price = 300
elif age >= 65:
    price = 250
else:
    price = 500
### END SOLUTION
print(price)
""",
        ),
        tests(
            "check_ticket_price",
            3,
            """
# チェック: 入館料
assert price in (0, 250, 300, 500), "price には入館料（円）を入れよう"
if age == 10:
    assert price == 300, "10歳の入館料がちがいます"
### BEGIN HIDDEN TESTS
_starts = ("price =", "price=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
_cases = [(3, 0), (5, 0), (6, 300), (12, 300), (13, 500), (40, 500), (64, 500), (65, 250), (70, 250)]
for _age, _expected in _cases:
    _scope = {"age": _age, "print": lambda *args, **kwargs: None}
    exec(_answer, _scope)
    assert _scope["price"] == _expected, f"{_age}歳の入館料は {_expected} 円"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 説明しよう（3点）
問3で、「65歳以上」の条件を「13歳以上」の条件より **後** に書くと、70歳の人の入館料はいくらになりますか。
そうなる理由を、`if` / `elif` が上から順に調べられることを使って説明しましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 3点: 500円になること、条件は上から順に調べられ最初に当てはまったところだけが実行されること、
70歳は「13歳以上」に先に当てはまるので「65歳以上」まで進まないこと、の3つが書けている。
2点: 3つのうち2つ。 1点: 1つ。 0点: 書いていない。
"""
        ),
        answer(
            "explain_order",
            3,
            """
### BEGIN SOLUTION
（解答例）500円になります。`if` と `elif` は上から順に調べられ、最初に当てはまった条件の処理だけが実行されます。
70歳は先に「13歳以上」に当てはまるので price に 500 が入り、後ろの「65歳以上」の条件は調べられません。
だから、せまい条件（65歳以上）を先に書く必要があります。
### END SOLUTION
""",
        ),
    ],
)

LOOPS = Lesson(
    name="03_loops",
    title="繰り返し",
    topic="programming",
    cells=[
        md(
            """
# 第3回 繰り返し

同じような処理を何回も行うときは **繰り返し** を使います。
`for` は「決まった回数や、リストの中身を順番に」、`while` は「条件が成り立つあいだ」繰り返します。
"""
            + HOW_TO
        ),
        code(
            """
# 例: 0 から 4 まで順番に表示する
for i in range(5):
    print(i)
"""
        ),
        md(
            """
## 問1 1から100までの合計（2点）
`for` と `range` を使って、1 から 100 までの整数をすべて足した数を変数 `total_1_to_100` に入れましょう。
"""
        ),
        solution(
            "ans_total_1_to_100",
            """
### BEGIN SOLUTION
total_1_to_100 = 0
for number in range(1, 101):
    total_1_to_100 = total_1_to_100 + number
### END SOLUTION
print(total_1_to_100)
""",
        ),
        tests(
            "check_total_1_to_100",
            2,
            """
# チェック: 合計
assert total_1_to_100 == 5050, "1 から 100 までの合計になっていません（range(1, 101) で 100 まで）"
### BEGIN HIDDEN TESTS
# the sum must come from the loop, not from the number in this check
_starts = ("total_1_to_100 =", "total_1_to_100=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
assert "for" in _answer and "5050" not in _answer, "for と range を使って足そう"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問2 九九の段（2点）
`n` の段の九九（n×1 から n×9）を順番に入れたリストを、変数 `row` に作りましょう。`n` はすぐ下のセルに入っています。
ヒント: 空のリスト `row = []` に `row.append(...)` で付け足していきます。
"""
        ),
        code("n = 3"),
        solution(
            "ans_multiplication_row",
            """
### BEGIN SOLUTION
row = []
for i in range(1, 10):
    row.append(n * i)
### END SOLUTION
print(row)
""",
        ),
        tests(
            "check_multiplication_row",
            2,
            """
# チェック: 九九の段
assert isinstance(row, list) and len(row) == 9, "row は9個の数のリストにしよう"
if n == 3:
    assert row[0] == 3 and row[-1] == 27, "3の段は 3 から 27 まで"
### BEGIN HIDDEN TESTS
# the answer cell again with other n: a typed-in list does not count
_starts = ("row =", "row=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
for _n, _expected in [(k, [k * i for i in range(1, 10)]) for k in (1, 3, 9)]:
    _scope = {"n": _n, "print": lambda *args, **kwargs: None}
    exec(_answer, _scope)
    assert _scope["row"] == _expected, f"{_n}の段がちがいます"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 文字を数える（2点）
文字列 `text` の中に、文字 `char` がいくつあるかを、`for` で1文字ずつ調べて数え、変数 `count` に入れましょう。
`text` と `char` はすぐ下のセルに入っています。
"""
        ),
        code('text = "さくらさくら"\nchar = "さ"'),
        solution(
            "ans_count_char",
            """
### BEGIN SOLUTION
count = 0
for letter in text:
    if letter == char:
        count = count + 1
### END SOLUTION
print(count)
""",
        ),
        tests(
            "check_count_char",
            2,
            """
# チェック: 文字を数える
assert isinstance(count, int) and count >= 0, "count には数を入れよう"
if (text, char) == ("さくらさくら", "さ"):
    assert count == 2, "「さくらさくら」に「さ」は2つあります"
### BEGIN HIDDEN TESTS
_starts = ("count =", "count=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
_cases = [(("", "あ"), 0), (("ああああ", "あ"), 4), (("ぱぴぷぺぽ", "あ"), 0), (("さくらさくら", "く"), 2)]
for (_text, _char), _expected in _cases:
    _scope = {"text": _text, "char": _char, "print": lambda *args, **kwargs: None}
    exec(_answer, _scope)
    assert _scope["count"] == _expected, f"{_text!r} の {_char!r} の数がちがいます"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 2乗が limit をこえる最初の数（2点）
`while` を使って、`smallest × smallest` が `limit` より大きくなる、いちばん小さい正の整数を変数 `smallest` に入れましょう。
例: limit が 50 なら、7×7=49 はこえず、8×8=64 がこえるので 8。`limit` はすぐ下のセルに入っています。
"""
        ),
        code("limit = 50"),
        solution(
            "ans_first_square_over",
            """
### BEGIN SOLUTION
smallest = 1
while smallest * smallest <= limit:
    smallest = smallest + 1
### END SOLUTION
print(smallest)
""",
        ),
        tests(
            "check_first_square_over",
            2,
            """
# チェック: while の繰り返し
assert smallest * smallest > limit, "smallest × smallest が limit より大きくなっていません"
assert (smallest - 1) * (smallest - 1) <= limit, "もっと小さい数でも limit をこえます"
### BEGIN HIDDEN TESTS
_starts = ("smallest =", "smallest=")
_answer = [c for c in globals()["In"] if any(x.strip().startswith(_starts) for x in c.splitlines())][-1]
for _limit, _expected in [(50, 8), (100, 11), (0, 1), (99, 10)]:
    _scope = {"limit": _limit, "print": lambda *args, **kwargs: None}
    exec(_answer, _scope)
    assert _scope["smallest"] == _expected, f"limit = {_limit} のときは {_expected}"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問5 説明しよう（3点）
問1を繰り返しを使わずに書くと、どんなプログラムになりますか。繰り返しを使うとよい点を2つ以上説明しましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 3点: 繰り返しを使わないと `1 + 2 + ... + 100` を全部書く必要があることと、
よい点を2つ以上（短く書ける／まちがいが減る／回数を変えるのが簡単 など）書けている。
2点: よい点が1つ。 1点: 繰り返しを使わない書き方だけ。 0点: 書いていない。
"""
        ),
        answer(
            "explain_loops",
            3,
            """
### BEGIN SOLUTION
（解答例）繰り返しを使わないと `1 + 2 + 3 + ... + 100` と100個の数を全部書くことになります。
繰り返しを使うと、短く書ける、書きまちがいが減る、1000 までに変えたいときも `range` の数を変えるだけでよい、という良さがあります。
### END SOLUTION
""",
        ),
    ],
)

FUNCTIONS = Lesson(
    name="04_functions",
    title="関数",
    topic="programming",
    cells=[
        md(
            """
# 第4回 関数

**関数**は、ひとまとまりの処理に名前をつけたものです。`def 名前(引数):` で作り、`return` で結果を返します。
一度作れば、何回でも呼び出して使えます。
"""
            + HOW_TO
        ),
        code(
            """
# 例: 2倍にする関数
def double(x):
    return x * 2


print(double(21))
"""
        ),
        md(
            """
## 問1 三角形の面積（2点）
底辺 `base` と高さ `height` から三角形の面積を返す関数 `triangle_area` を完成させましょう。
"""
        ),
        solution(
            "ans_triangle_area",
            """
def triangle_area(base, height):
    ### BEGIN SOLUTION
    return base * height / 2
    ### END SOLUTION
""",
        ),
        tests(
            "check_triangle_area",
            2,
            """
# チェック: 三角形の面積
assert triangle_area(10, 6) == 30
assert triangle_area(5, 3) == 7.5
### BEGIN HIDDEN TESTS
assert triangle_area(0, 8) == 0
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問2 いちばん大きい数（2点）
3つの数 `a`, `b`, `c` のうちいちばん大きい数を返す関数 `largest` を、`max` を使わずに `if` で完成させましょう。
"""
        ),
        solution(
            "ans_largest",
            """
def largest(a, b, c):
    ### BEGIN SOLUTION
    biggest = a
    if b > biggest:
        biggest = b
    if c > biggest:
        biggest = c
    return biggest
    ### END SOLUTION
""",
        ),
        tests(
            "check_largest",
            2,
            """
# チェック: いちばん大きい数
assert largest(1, 5, 3) == 5
assert largest(9, 2, 4) == 9
assert largest(2, 4, 8) == 8
### BEGIN HIDDEN TESTS
assert largest(7, 7, 7) == 7
assert largest(-5, -2, -9) == -2
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 平均（2点）
数のリスト `numbers` の平均を返す関数 `average` を完成させましょう。リストが空のときは `None` を返します。
"""
        ),
        solution(
            "ans_average",
            """
def average(numbers):
    ### BEGIN SOLUTION
    if len(numbers) == 0:
        return None
    return sum(numbers) / len(numbers)
    ### END SOLUTION
""",
        ),
        tests(
            "check_average",
            2,
            """
# チェック: 平均
assert average([70, 80, 90]) == 80
assert average([]) is None
### BEGIN HIDDEN TESTS
assert average([5]) == 5
assert abs(average([1, 2]) - 1.5) < 1e-9
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 関数を組み合わせる（2点）
テストの点数のリスト `scores` の平均が 80 以上なら `"よくできました"`、60 以上なら `"がんばりました"`、
それより下なら `"もう少し"` を返す関数 `grade_report` を、問3の `average` を使って完成させましょう。
"""
        ),
        solution(
            "ans_grade_report",
            """
def grade_report(scores):
    ### BEGIN SOLUTION
    mean = average(scores)
    if mean >= 80:
        return "よくできました"
    elif mean >= 60:
        return "がんばりました"
    return "もう少し"
    ### END SOLUTION
""",
        ),
        tests(
            "check_grade_report",
            2,
            """
# チェック: 関数の組み合わせ
assert grade_report([90, 85, 80]) == "よくできました"
assert grade_report([60, 70]) == "がんばりました"
assert grade_report([30, 50]) == "もう少し"
### BEGIN HIDDEN TESTS
assert grade_report([80]) == "よくできました"
assert grade_report([59, 61]) == "がんばりました"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問5 説明しよう（3点）
同じ計算を何度もするとき、関数にしておくとどんな良いことがありますか。このノートの例を使って説明しましょう。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 3点: 良いことを2つ以上（同じ処理を何度も書かなくてよい／直すときに1か所でよい／
名前で何をするかわかりやすい／組み合わせて使える など）を、このノートの関数（例: `average` を `grade_report` で使った）と結びつけて書けている。
2点: 良いことが2つ以上だが例がない。 1点: 良いことが1つ。 0点: 書いていない。
"""
        ),
        answer(
            "explain_functions",
            3,
            """
### BEGIN SOLUTION
（解答例）関数にしておくと、同じ計算を何度も書かずに名前で呼び出せます。まちがいを直すときも関数の中の1か所を直せばすみます。
たとえば問4では、問3で作った `average` をそのまま使えたので、平均の計算をもう一度書かずにすみました。
### END SOLUTION
""",
        ),
    ],
)

ALGORITHMS = Lesson(
    name="05_algorithms",
    title="簡単なアルゴリズム（探索と整列）",
    topic="programming",
    cells=[
        md(
            """
# 第5回 簡単なアルゴリズム — さがす・ならべる

**アルゴリズム**は、問題を解くための手順のことです。
ここでは、リストからデータを **さがす**（探索）方法と、小さい順に **ならべる**（整列・ソート）方法を作ります。
"""
            + HOW_TO
        ),
        md(
            """
## 問1 線形探索（2点）
リスト `items` を前から順番に調べ、`target` が見つかったらその位置（0から数える番号）を、
見つからなければ `-1` を返す関数 `linear_search` を完成させましょう。
リストの `index` や「`target in items`」のような、さがしてくれる命令は使わないこと（`for ... in` の繰り返しは使ってかまいません）。
"""
        ),
        solution(
            "ans_linear_search",
            """
def linear_search(items, target):
    ### BEGIN SOLUTION
    for position in range(len(items)):
        if items[position] == target:
            return position
    return -1
    ### END SOLUTION
""",
        ),
        tests(
            "check_linear_search",
            2,
            """
# チェック: 線形探索
assert linear_search([4, 8, 15, 16, 23, 42], 15) == 2
assert linear_search(["いぬ", "ねこ", "うさぎ"], "うさぎ") == 2
assert linear_search([1, 2, 3], 9) == -1
### BEGIN HIDDEN TESTS
assert linear_search([], 1) == -1
assert linear_search([5, 5, 5], 5) == 0
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問2 二分探索（3点）
小さい順にならんだリスト `items` から `target` をさがします。まん中の値とくらべて、
さがす範囲を半分ずつにせばめていく関数 `binary_search` を完成させましょう。見つからなければ `-1` を返します。
"""
        ),
        solution(
            "ans_binary_search",
            """
def binary_search(items, target):
    low = 0
    high = len(items) - 1
    ### BEGIN SOLUTION
    while low <= high:
        middle = (low + high) // 2
        if items[middle] == target:
            return middle
        elif items[middle] < target:
            low = middle + 1
        else:
            high = middle - 1
    return -1
    ### END SOLUTION
""",
        ),
        tests(
            "check_binary_search",
            3,
            """
# チェック: 二分探索
cards = [3, 7, 11, 19, 24, 31, 40]
assert binary_search(cards, 19) == 3
assert binary_search(cards, 3) == 0
assert binary_search(cards, 40) == 6
assert binary_search(cards, 20) == -1
### BEGIN HIDDEN TESTS
big = list(range(0, 2000, 2))
assert all(binary_search(big, value) == value // 2 for value in big)
assert binary_search(big, 7) == -1
assert binary_search([], 1) == -1
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問3 バブルソート（3点）
となりどうしをくらべて、順番が逆なら入れかえる、を繰り返して小さい順にならべる関数 `bubble_sort` を完成させましょう。
もとのリストは変えずに、ならべかえた **新しいリスト** を返します（`sorted` や `sort` は使わないこと）。
"""
        ),
        solution(
            "ans_bubble_sort",
            """
def bubble_sort(numbers):
    result = list(numbers)  # もとのリストを変えないようにコピーする
    ### BEGIN SOLUTION
    for end in range(len(result) - 1, 0, -1):
        for i in range(end):
            if result[i] > result[i + 1]:
                result[i], result[i + 1] = result[i + 1], result[i]
    ### END SOLUTION
    return result
""",
        ),
        tests(
            "check_bubble_sort",
            3,
            """
# チェック: バブルソート
import random

original = [5, 2, 9, 1, 7]
assert bubble_sort(original) == [1, 2, 5, 7, 9]
assert original == [5, 2, 9, 1, 7], "もとのリストが変わっています"
### BEGIN HIDDEN TESTS
rng = random.Random(5)
for _ in range(20):
    values = [rng.randint(-50, 50) for _ in range(rng.randint(0, 15))]
    assert bubble_sort(values) == sorted(values)


class _Counted:  # a number that counts how often it is compared
    comparisons = 0

    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        _Counted.comparisons += 1
        return self.value < other.value

    def __gt__(self, other):
        _Counted.comparisons += 1
        return self.value > other.value


backwards = [_Counted(v) for v in range(8, 0, -1)]
assert [c.value for c in bubble_sort(backwards)] == list(range(1, 9))
# 8 numbers in reverse order need 28 swaps of neighbours; sorted() or sort() compares only 7 times
assert _Counted.comparisons >= 28, "sorted や sort を使わずに、となりどうしをくらべて入れかえよう"
### END HIDDEN TESTS
""",
        ),
        md(
            """
## 問4 説明しよう（4点）
1000枚のカードから1枚をさがします。線形探索と二分探索では、それぞれ **最大で何回くらい** くらべることになりますか。
また、二分探索を使うために必要な条件は何ですか。
"""
        ),
        rubric(
            """
**採点のめやす（ルーブリック）** 4点: 線形探索は最大1000回、二分探索は最大10回くらい（2を10回かけると1024）と書けていて、
理由（半分ずつになる）と、二分探索にはカードが小さい順（大きい順）にならんでいる必要があること、が書けている。
3点: 回数2つと条件。 2点: 回数か条件のどちらか。 1点: 考えを書こうとしている。 0点: 書いていない。
"""
        ),
        answer(
            "explain_search",
            4,
            """
### BEGIN SOLUTION
（解答例）線形探索は前から1枚ずつ調べるので、最大で1000回くらべます。二分探索は1回くらべるごとに範囲が半分になるので、
1000 → 500 → 250 → … と10回くらいで1枚になります（2を10回かけると1024）。
ただし二分探索は、カードが小さい順にならんでいないと使えません。
### END SOLUTION
""",
        ),
    ],
)
