"""docs/data-contract.md is the data model and default scenario rendered: it never disagrees with the code."""

from pathlib import Path

from crm_mock.model import CATALOG
from crm_mock.scenario.contract import render_contract

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"


def test_the_committed_contract_is_current():
    assert DOC.read_text(encoding="utf-8") == render_contract(), (
        "docs/data-contract.md is stale: python -m crm_mock.scenario.contract > docs/data-contract.md")


def test_the_contract_lists_every_table_and_column():
    text = render_contract()
    for table in CATALOG:
        section = text.split(f"### `{table.qualified_name}`", 1)[1].split("### ", 1)[0]
        for column in table.column_names:
            assert f"| `{column}` |" in section, (table.qualified_name, column)


def test_the_readme_stands_alone():
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme and "DESIGN.md" not in readme


def test_no_merge_leftovers_in_the_repository():
    """A conflict marker that slipped into a commit (the README once carried four)."""
    repo = DOC.parent.parent
    markers = ("<<<<<<< ", ">>>>>>> ")
    leftovers = [str(path.relative_to(repo)) for pattern in ("*.md", "*.py", "*.yaml", "*.toml", "*.yml")
                 for path in repo.rglob(pattern)
                 if not {".venv", "node_modules", ".git"} & set(path.parts)
                 and any(line.startswith(markers) for line in path.read_text(encoding="utf-8").splitlines())]
    assert leftovers == []
