"""README.md stays a user's path (short, its sections in order, the two commands CI relies on)
and every relative link in it and in docs/ reaches an existing file and heading."""

import re
from pathlib import Path

import pytest
from support import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))

README_SECTIONS = [
    "Two commands",
    "Real data: one line",
    "The seed study, as it ran",
    "Running the full study on a SLURM cluster",
    "Models: what runs where",
    "Predicting a new cohort",
    "Where to read more",
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def headings(path: Path, level: str = "#+") -> list[str]:
    return [
        m.group(1).strip()
        for _, line in prose_lines(path)
        if (m := re.match(rf"^{level} (.+)$", line))
    ]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_readme_is_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines < 200, f"README.md has {lines} lines; move design detail into docs/"


def test_readme_sections_in_order():
    assert headings(README, "##") == README_SECTIONS


def test_readme_keeps_the_two_commands_ci_runs():
    text = README.read_text(encoding="utf-8")
    for command in ("bash scripts/demo.sh", "bash scripts/test.sh", "bash scripts/realdata.sh"):
        assert command in text, f"README.md lost the command `{command}`"
    assert "exec bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_links_every_docs_page():
    linked = {
        (README.parent / target.split("#")[0]).resolve()
        for _, line in prose_lines(README)
        for target in LINK.findall(line)
    }
    unlinked = [page.name for page in PAGES if page.resolve() not in linked]
    assert not unlinked, f"README.md's 'Where to read more' misses docs/{unlinked}"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path):
    broken = []
    for number, line in prose_lines(page):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            destination = (page.parent / path).resolve() if path else page
            if not destination.exists():
                broken.append(f"line {number}: {target} (no file {destination})")
            elif fragment and destination.suffix == ".md":
                if fragment not in {anchor(h) for h in headings(destination)}:
                    broken.append(f"line {number}: {target} (no heading #{fragment})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)
