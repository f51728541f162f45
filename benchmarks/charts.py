"""Draw the benchmark tables in ``benchmarks/results/*.md`` as PNG charts.

Each benchmark writes Markdown tables; any table with a column whose header
says "ratio" becomes one horizontal bar chart of that column, one bar per
row, with a line at 1.0 and the goal where a "goal" column gives one (a
bar on the wrong side of its goal is drawn in another colour).
Tables it cannot chart (no ratio column, no number in it) are skipped with
a message saying why. Charts go to ``docs/img/<results file>[-<n>].png``.

    python benchmarks/charts.py            # or: make charts
    python benchmarks/charts.py --results other/dir --out /tmp/img

Needs matplotlib (``pip install -e '.[charts]'``); parsing does not.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
OUT = HERE.parent / "docs" / "img"

# "2.70× Dispatcher", "**0.85x**", "1,234.5", "≤ 1.5×": the first number
# in a cell, and whatever follows the × as the thing it is compared with.
NUMBER = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?|\.\d+)")
AFTER_TIMES = re.compile(r"[×x]\s*(?P<reference>[^|]*)$")
MARKUP = re.compile(r"\*|`")


@dataclass
class Table:
    """One Markdown table with the heading and the note around it."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""  # the _Reproduce: ..._ line below the table, if any
    skipped: list[str] = field(default_factory=list)

    def column(self, word: str) -> int | None:
        """Index of the first column whose header contains ``word``."""
        for index, name in enumerate(self.header):
            if word in plain(name).lower():
                return index
        return None


@dataclass
class Bar:
    label: str
    ratio: float
    text: str  # the cell as written, e.g. "2.70× Dispatcher"
    goal: float | None
    at_least: bool = False  # the goal is a floor ("≥ 2×"), not a ceiling

    @property
    def missed(self) -> bool:
        """True when the ratio is on the wrong side of its goal."""
        if self.goal is None:
            return False
        return self.ratio < self.goal if self.at_least else self.ratio > self.goal


def plain(cell: str) -> str:
    """The cell without Markdown emphasis or code marks, trimmed."""
    # Underscores only mark emphasis at the ends: bench_stream.py keeps its.
    return MARKUP.sub("", cell).strip().strip("_").strip()


def number_in(cell: str) -> float | None:
    """The first number written in ``cell``, or None."""
    found = NUMBER.search(plain(cell))
    if found is None:
        return None
    return float(found.group(1).replace(",", ""))


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def _is_separator(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(re.fullmatch(r":?-{1,}:?", cell) for cell in cells)


def parse_tables(text: str) -> list[Table]:
    """Every table in a Markdown text, with its nearest heading as title.

    A table is a row of cells, a separator row (``|---|:--:|``), then rows
    until a line that is not one. Rows with fewer cells are padded, rows
    with more are cut, as Markdown renderers do.
    """
    lines = text.splitlines()
    tables: list[Table] = []
    title = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            title = line.lstrip("#").strip()
        is_table = (
            "|" in line and index + 1 < len(lines) and _is_separator(lines[index + 1])
        )
        if not is_table:
            index += 1
            continue

        header = _cells(line)
        rows = []
        index += 2
        while index < len(lines) and "|" in lines[index] and lines[index].strip():
            cells = _cells(lines[index])
            rows.append((cells + [""] * len(header))[: len(header)])
            index += 1
        tables.append(Table(title or "Benchmark", header, rows))

        # The note that says how to reproduce the table follows it.
        for later in lines[index : index + 4]:
            if "reproduce" in later.lower():
                tables[-1].note = plain(later)
                break
    return tables


#: Besides "ratio", header words that mark a column of ratios; the first
#: column is the row's name and is never taken for one.
RATIO_WORDS = ("ratio", "speed-up", " / ", " vs ", "vs ")


def ratio_column(table: Table) -> int | None:
    """The column to chart: one named "ratio", else one that reads as a
    comparison ("bigopool / serial", "vs floor", "speed-up over serial")."""
    for word in RATIO_WORDS:
        for index, name in enumerate(table.header[1:], start=1):
            if word in f" {plain(name).lower()} ":
                return index
    return None


def bars_of(table: Table) -> list[Bar]:
    """The rows of ``table`` that have a ratio, as bars; notes the others.

    A bar's label is the row's first cell and its other words before the
    ratio column (the contender's name where the first cell is a workload).

    Raises:
        ValueError: the table has no column of ratios.
    """
    ratio = ratio_column(table)
    if ratio is None:
        raise ValueError(f"no ratio column in {table.header}")
    goal = table.column("goal")

    bars = []
    for row in table.rows:
        value = number_in(row[ratio])
        if value is None:
            table.skipped.append(plain(row[0]))
            continue
        words = [plain(cell) for cell in row[1:ratio] if number_in(cell) is None]
        goal_text = "" if goal is None else row[goal]
        bars.append(
            Bar(
                label=" ".join([plain(row[0]), *words]),
                ratio=value,
                text=plain(row[ratio]),
                goal=number_in(goal_text) if goal_text else None,
                at_least=any(sign in goal_text for sign in ("≥", ">")),
            )
        )
    return bars


def draw(table: Table, bars: list[Bar], path: Path) -> None:
    """Write one horizontal bar chart of ``bars`` to ``path`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = 1.2 + 0.45 * len(bars)
    figure, axes = plt.subplots(figsize=(8, height), dpi=100)
    labels = [bar.label for bar in reversed(bars)]
    values = [bar.ratio for bar in reversed(bars)]
    positions = range(len(bars))

    colours = ["#d9822b" if bar.missed else "#3f7fbf" for bar in reversed(bars)]
    axes.barh(positions, values, color=colours, height=0.6)
    axes.set_yticks(list(positions), labels=labels, fontsize=9)
    axes.axvline(1.0, color="#555555", linewidth=1, linestyle="--")
    for position, bar in zip(positions, reversed(bars), strict=True):
        axes.text(bar.ratio, position, f" {bar.text}", va="center", fontsize=8)
        if bar.goal is not None:
            axes.plot(
                [bar.goal, bar.goal],
                [position - 0.35, position + 0.35],
                color="#c0392b",
                linewidth=2,
            )

    # Room on the right for the longest annotation. Ratios spanning more
    # than a hundredfold (a queue of one) would flatten the rest: log scale.
    top = max([*values, *(b.goal or 0 for b in bars)])
    positive = [value for value in values if value > 0]
    if positive and top / min(positive) > 100:
        axes.set_xscale("log")
        axes.set_xlim(min(positive) / 2, top * 4)
    else:
        axes.set_xlim(0, top * 1.45)
    axes.set_xlabel(
        "ratio (1.0 = the row it is compared with; red: goal; orange: missed)"
    )
    axes.set_title(table.title, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    if table.note:
        figure.text(0.01, 0.01, table.note, fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.04 if table.note else 0, 1, 1))

    path.parent.mkdir(parents=True, exist_ok=True)
    # No software or date metadata: the same table gives the same file.
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)


def chart_all(results: Path, out: Path) -> tuple[list[Path], list[str]]:
    """Chart every table in ``results/*.md``; return (written, messages)."""
    written: list[Path] = []
    messages: list[str] = []
    for source in sorted(results.glob("*.md")):
        if source.name == "ALL.md":
            continue  # every other file's tables again, gathered by run.py
        tables = parse_tables(source.read_text(encoding="utf-8"))
        if not tables:
            messages.append(f"{source.name}: skipped, no Markdown table in it")
            continue

        chartable = []
        for number, table in enumerate(tables, start=1):
            where = f"{source.name} table {number} ({table.title})"
            try:
                bars = bars_of(table)
            except ValueError:
                messages.append(f"{where}: skipped, no column of ratios")
                continue
            if not bars:
                messages.append(f"{where}: skipped, no number in its ratio column")
                continue
            if table.skipped:
                rows = ", ".join(table.skipped)
                messages.append(f"{where}: rows without a ratio left out: {rows}")
            chartable.append((table, bars))

        for number, (table, bars) in enumerate(chartable, start=1):
            suffix = "" if len(chartable) == 1 else f"-{number}"
            path = out / f"{source.stem}{suffix}.png"
            draw(table, bars, path)
            written.append(path)
    return written, messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("charts need matplotlib: pip install -e '.[charts]'", file=sys.stderr)
        return 2

    written, messages = chart_all(args.results, args.out)
    for message in messages:
        print(message)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"no chart drawn from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
