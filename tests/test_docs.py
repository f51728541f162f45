"""The documentation runs: its examples, its build and its links.

Every ```python block in README.md and docs/*.md is run on its own in a
fresh interpreter. A block that cannot run here (it needs a cluster, or
it is a fragment on purpose) is preceded by a line
``<!-- not-run: why it is not run -->``; the reason is required.

The site is built with ``mkdocs build --strict`` into a temporary
directory, then every local link and image in the built pages is checked.
"""

from __future__ import annotations

import html.parser
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest

import bigopool

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:(?P<reason>.*?)-->\s*$")
MARKER_LIKE = re.compile(r"<!--\s*not[-_ ]?run", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    page: Path
    line: int  # 1-based line of the opening fence
    end: int  # 1-based line of the closing fence
    language: str
    code: str
    skip_reason: str | None  # None: run it; "" would be a marker without reason

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """Return the fenced blocks of ``page`` with the not-run marker before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue

        # The block ends at the first fence of the same kind, at least as long.
        fence, indent = opening["fence"], len(opening["indent"])
        end = index + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence)
            and lines[end].strip().strip(fence[0]) == ""
        ):
            end += 1
        body = [line[indent:] for line in lines[index + 1 : end]]

        blocks.append(
            Block(
                page=page,
                line=index + 1,
                end=end + 1,
                language=opening["info"].strip().split(" ")[0].lower(),
                code="\n".join(body) + "\n",
                skip_reason=_marker_before(lines, index),
            )
        )
        index = end + 1
    return blocks


def _marker_before(lines: list[str], index: int) -> str | None:
    # The marker is the nearest non-blank line above the fence.
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above < 0:
        return None
    marker = NOT_RUN.match(lines[above])
    return None if marker is None else marker["reason"].strip()


ALL_BLOCKS = [block for page in PAGES if page.exists() for block in blocks_of(page)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.language in ("python", "py")]


def test_docs_pages_have_python_examples() -> None:
    # Guards the extraction itself: a fence regex that matched nothing
    # would make every example test vanish and the suite still pass.
    assert len(PYTHON_BLOCKS) >= 10
    assert any(block.page.name == "cookbook.md" for block in PYTHON_BLOCKS)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.name)
def test_docs_example_runs(block: Block, tmp_path: Path) -> None:
    if block.skip_reason is not None:
        pytest.skip(f"marked not-run: {block.skip_reason}")

    # A fresh interpreter in an empty directory: the block must import what
    # it uses and may write files without touching the checkout.
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    env = {**os.environ, "PYTHONWARNINGS": "error", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (
        f"{block.name} failed with exit code {done.returncode}\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )


def prose_lines(page: Path) -> list[tuple[int, str]]:
    """The numbered lines of ``page`` outside its fenced code blocks.

    A marker shown inside a code block (as the docs do to explain the
    convention) is an example, not a marker.
    """
    fenced = {
        number
        for block in blocks_of(page)
        for number in range(block.line, block.end + 1)
    }
    lines = page.read_text(encoding="utf-8").splitlines()
    return [
        (number, line)
        for number, line in enumerate(lines, start=1)
        if number not in fenced
    ]


def test_docs_not_run_markers_give_a_reason() -> None:
    problems = []
    for page in PAGES:
        if not page.exists():
            continue
        for number, line in prose_lines(page):
            if not MARKER_LIKE.search(line):
                continue
            marker = NOT_RUN.match(line)
            if marker is None:
                problems.append(f"{page.name}:{number}: malformed marker {line!r}")
            elif not marker["reason"].strip():
                problems.append(f"{page.name}:{number}: not-run without a reason")
    assert problems == []


def test_docs_not_run_markers_precede_a_code_block() -> None:
    # A marker left behind after its block moved would silently skip the
    # next block instead, or nothing at all.
    marked = {(block.page, block.line) for block in ALL_BLOCKS if block.skip_reason}
    stray = []
    for page in PAGES:
        if not page.exists():
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in prose_lines(page):
            if NOT_RUN.match(line) is None:
                continue
            following = number
            while following < len(lines) and not lines[following].strip():
                following += 1
            if (page, following + 1) not in marked:
                stray.append(f"{page.name}:{number}")
    assert stray == []


def test_blocks_of_reads_markers_and_nested_fences(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n"
        "<!-- not-run: needs a cluster -->\n\n"
        "```python\nimport dask\n```\n\n"
        "- item\n\n"
        "    ```python\n    print(1)\n    ```\n\n"
        "````markdown\n```python\nnot code\n```\n````\n",
        encoding="utf-8",
    )

    blocks = blocks_of(page)

    assert [(block.language, block.skip_reason) for block in blocks] == [
        ("python", "needs a cluster"),
        ("python", None),
        ("markdown", None),
    ]
    assert blocks[1].code == "print(1)\n"


# The API reference.


def test_docs_reference_documents_every_public_name() -> None:
    text = (DOCS / "reference.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: bigopool\.(\w+)\s*$", text, re.MULTILINE))
    missing = sorted(set(bigopool.__all__) - documented)
    stale = sorted(documented - set(bigopool.__all__))

    assert missing == [], "add to docs/reference.md: " + ", ".join(
        f"::: bigopool.{name}" for name in missing
    )
    assert stale == [], f"docs/reference.md documents names not exported: {stale}"


# The built site.


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with ``mkdocs build --strict``, once for this module."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]'")

    target = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(target)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr}"
    return target


def test_docs_site_builds_without_warnings(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "reference" / "index.html").is_file()


def test_docs_site_reference_shows_every_public_name(site: Path) -> None:
    page = (site / "reference" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="bigopool\.(\w+)"', page))

    assert set(bigopool.__all__) <= anchors


class _LinkParser(html.parser.HTMLParser):
    """Collects the ids of a page and the local links and sources in it."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                self.ids.add(value)
            elif name in ("href", "src"):
                self.links.append(value)


def _parse(page: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _target_of(site: Path, page: Path, link: str) -> tuple[Path, str] | None:
    """The file and fragment a local link points at, or None if not local."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:")):
        return None

    path = unquote(parts.path)
    if not path:
        target = page
    elif path.startswith("/"):
        target = site / path.lstrip("/")
    else:
        target = page.parent / path
    if target.is_dir() or path.endswith("/"):
        target = target / "index.html"
    return target.resolve(), unquote(parts.fragment)


def broken_links(site: Path) -> list[str]:
    """Every local href or src in ``site`` whose file or anchor is missing."""
    site = site.resolve()
    pages = sorted(site.rglob("*.html"))
    parsed = {page: _parse(page) for page in pages}
    broken = []
    for page in pages:
        for link in parsed[page].links:
            target = _target_of(site, page, link)
            if target is None:
                continue
            path, fragment = target
            where = f"{page.relative_to(site)}: {link}"
            if not path.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else _parse(path).ids
                if fragment not in ids:
                    broken.append(f"{where} (no such anchor)")
    return broken


def test_docs_site_links_resolve(site: Path) -> None:
    assert broken_links(site) == []


def test_broken_links_finds_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "index.html").write_text('<h2 id="setup">Set-up</h2>')
    (tmp_path / "index.html").write_text(
        '<a href="guide/">ok</a> <a href="guide/#setup">ok</a>'
        '<a href="https://example.org/x">external</a> <a href="#top">bad</a>'
        '<a href="guide/#nowhere">bad</a> <img src="img/chart.png">'
    )

    assert broken_links(tmp_path) == [
        "index.html: #top (no such anchor)",
        "index.html: guide/#nowhere (no such anchor)",
        "index.html: img/chart.png (no such file)",
    ]


# The benchmark charts.


def _charts() -> ModuleType:
    """benchmarks/charts.py, a script rather than a package module."""
    name = "bigopool_bench_charts"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "benchmarks" / "charts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name while being defined.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


TABLE = """\
# Core

Intro text | with a pipe.

| measurement | ns/job | ratio | goal |
|:---|---:|---:|---|
| **bigopool** | 1,200 | 1.00 | |
| `ThreadPoolExecutor` | 3,000 | 2.50× bigopool | ≥ 2× |
| joblib | n/a | not run | |
| short row | 5 |

_Reproduce: `python benchmarks/bench_core.py --quick` — 2 cores, Python 3.11._

## Memory

| peer | MB |
|---|---:|
| bigopool | 3 |
"""


def test_charts_parse_tables_reads_cells_titles_and_notes() -> None:
    charts = _charts()

    tables = charts.parse_tables(TABLE)

    assert [table.title for table in tables] == ["Core", "Memory"]
    assert tables[0].header == ["measurement", "ns/job", "ratio", "goal"]
    assert tables[0].rows[3] == ["short row", "5", "", ""]
    assert tables[0].note.startswith("Reproduce: python benchmarks/bench_core.py")
    assert tables[1].rows == [["bigopool", "3"]]


def test_charts_bars_of_takes_ratios_and_goals_and_notes_the_rest() -> None:
    charts = _charts()
    table = charts.parse_tables(TABLE)[0]

    bars = charts.bars_of(table)

    assert [(bar.label, bar.ratio, bar.goal) for bar in bars] == [
        ("bigopool", 1.0, None),
        ("ThreadPoolExecutor", 2.5, 2.0),
    ]
    assert [bar.missed for bar in bars] == [False, False]  # 2.5 meets "≥ 2×"
    assert bars[1].text == "2.50× bigopool"
    assert table.skipped == ["joblib", "short row"]


def test_charts_bar_missed_reads_the_direction_of_the_goal() -> None:
    charts = _charts()
    table = charts.parse_tables(
        "| row | ratio | goal |\n|---|---|---|\n"
        "| over a ceiling | 2.7× | ≤ 1.5× |\n| under a ceiling | 1.2× | <= 1.5 |\n"
        "| under a floor | 1.5× | ≥ 2× |\n| no goal | 9× | |\n"
    )[0]

    missed = {bar.label: bar.missed for bar in charts.bars_of(table)}

    assert missed == {
        "over a ceiling": True,
        "under a ceiling": False,
        "under a floor": True,
        "no goal": False,
    }


def test_charts_bars_of_rejects_a_table_without_ratio() -> None:
    charts = _charts()
    table = charts.parse_tables(TABLE)[1]

    with pytest.raises(ValueError, match="no ratio column"):
        charts.bars_of(table)


def test_charts_chart_all_draws_what_it_can_and_says_what_it_skips(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib", reason="charts need the charts extra")
    charts = _charts()
    results = tmp_path / "results"
    results.mkdir()
    (results / "core.md").write_text(TABLE, encoding="utf-8")
    (results / "notes.md").write_text("No table here.\n", encoding="utf-8")

    written, messages = charts.chart_all(results, tmp_path / "img")

    assert written == [tmp_path / "img" / "core.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")
    assert messages == [
        "core.md table 1 (Core): rows without a ratio left out: joblib, short row",
        "core.md table 2 (Memory): skipped, no column of ratios",
        "notes.md: skipped, no Markdown table in it",
    ]


def test_charts_find_comparison_columns_but_never_the_name_column() -> None:
    charts = _charts()
    [table] = charts.parse_tables(
        "| workers / queue | ns/job | bigopool / serial | executor vs bigopool |\n"
        "|---|---:|---:|---:|\n"
        "| 5 / 1000 | 456 | 10.2x | 29.3x |\n"
    )

    assert charts.ratio_column(table) == 2
    [bar] = charts.bars_of(table)
    assert (bar.label, bar.ratio) == ("5 / 1000", 10.2)


def test_docs_performance_page_includes_every_results_table() -> None:
    # A benchmark that writes results/<topic>.md belongs on the page; this
    # says which include line to add when a new one lands.
    page = (DOCS / "performance.md").read_text(encoding="utf-8")
    included = set(re.findall(r'--8<-- "([^"]+)"', page))
    missing = [
        f'--8<-- "{source.name}"'
        for source in sorted((ROOT / "benchmarks" / "results").glob("*.md"))
        # ALL.md is every other table again, gathered by benchmarks/run.py.
        if source.name not in included and source.name != "ALL.md"
    ]

    assert missing == [], "add to docs/performance.md: " + ", ".join(missing)
