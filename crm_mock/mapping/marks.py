"""YAML read with the position of every node, so an error can name the file, the line and the column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

Path_ = tuple[str | int, ...]  # keys and item indices from the document's root


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class MarkedDocument:
    """A YAML document's data and where each of its nodes starts."""

    path: Path
    data: object
    values: dict[Path_, Mark]  # where each value starts
    keys: dict[Path_, Mark]  # where each mapping key is written

    def mark(self, where: Path_, key: bool = False) -> Mark:
        """The nearest mark of ``where`` or of its closest written ancestor (a missing field points at its
        parent); ``key`` prefers the key's position over its value's."""
        while where:
            if key and where in self.keys:
                return self.keys[where]
            if where in self.values:
                return self.values[where]
            where = where[:-1]
        return self.values.get((), Mark(1, 1))

    def locate(self, where: Path_, key: bool = False) -> str:
        mark = self.mark(where, key)
        return f"{self.path}:{mark.line}:{mark.column}"


class MarkedYamlError(ValueError):
    """The file is not readable YAML; the message names the file, line and column."""


def _walk(node: yaml.Node, where: Path_, values: dict, keys: dict) -> None:
    values[where] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = where + (key.value,)
            keys[child] = Mark(key.start_mark.line + 1, key.start_mark.column + 1)
            _walk(value, child, values, keys)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, where + (index,), values, keys)


def load_marked(path: str | Path, text: str | None = None) -> MarkedDocument:
    """Parse ``path`` (or ``text`` standing for it) with the safe loader, keeping node positions."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8") if text is None else text
    except OSError as exc:
        raise MarkedYamlError(f"{path}: cannot read: {exc.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise MarkedYamlError(f"{where}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise MarkedYamlError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    values: dict[Path_, Mark] = {}
    keys: dict[Path_, Mark] = {}
    if node is not None:
        _walk(node, (), values, keys)
    return MarkedDocument(path, data, values, keys)
