# Copyright (c) mkd_mm contributors. All rights reserved.
"""``docs/bad_inputs.md``: every row of the bad-input table names a test
(``tests/...py::test_name[param]``) that exists, and every test of
``tests/test_tools/test_bad_inputs.py`` has a row."""
import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Set

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'bad_inputs.md'
NODE = re.compile(r'`(tests/[\w/]+\.py(?:::\w+)+(?:\[[^`]*\])?)`')
SEPARATOR = re.compile(r'^\|(\s*:?-+:?\s*\|)+\s*$')


def table_rows(text: str) -> List[List[str]]:
    """The body rows (cells) of every Markdown table in ``text``."""
    lines = text.splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith('|') or SEPARATOR.match(line):
            continue
        if i + 1 < len(lines) and SEPARATOR.match(lines[i + 1]):
            continue  # a header
        cells = re.split(r'(?<!\\)\|', line.strip())[1:-1]
        rows.append([c.strip() for c in cells])
    return rows


def defined_tests(path: Path) -> Set[str]:
    """``name`` and ``Class::name`` of the tests defined in a file."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith('test'):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and \
                        item.name.startswith('test'):
                    names.add(f'{node.name}::{item.name}')
    return names


def collect(node_prefixes: Set[str]) -> Set[str]:
    """Node ids pytest collects for ``file::function`` prefixes."""
    proc = subprocess.run([
        sys.executable, '-m', 'pytest', '--collect-only', '-q', '-p',
        'no:cacheprovider', *sorted(node_prefixes)
    ],
                          cwd=str(REPO),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return {line.strip() for line in proc.stdout.splitlines() if '::' in line}


def _nodes():
    rows = table_rows(DOC.read_text())
    return rows, [NODE.findall(row[-1]) for row in rows]


def test_every_row_has_input_where_error_and_one_test():
    rows, nodes = _nodes()
    assert len(rows) >= 40
    for row, found in zip(rows, nodes):
        assert len(row) == 4, row
        assert all(cell for cell in row), row
        assert len(found) == 1, f'row needs exactly one test node: {row}'


def test_every_referenced_test_exists():
    _, nodes = _nodes()
    parametrized = set()
    for (node, ) in nodes:
        path, _, name = node.partition('::')
        base = name.split('[')[0]
        assert (REPO / path).is_file(), node
        assert base in defined_tests(REPO / path), node
        if '[' in name:
            parametrized.add(f'{path}::{base}')
    collected = collect(parametrized)
    missing = [n for (n, ) in nodes if '[' in n and n not in collected]
    assert not missing, missing


def test_every_bad_input_test_has_a_row():
    _, nodes = _nodes()
    documented = {n.split('[')[0] for (n, ) in nodes}
    path = 'tests/test_tools/test_bad_inputs.py'
    for name in defined_tests(REPO / path):
        assert f'{path}::{name}' in documented, name


def test_table_parser():
    text = ('| a | b |\n|---|:-:|\n| x \\| y | `tests/t.py::test_f[1-a]` |\n'
            '\n| h |\n|---|\n| z |\n')
    rows = table_rows(text)
    assert rows == [['x \\| y', '`tests/t.py::test_f[1-a]`'], ['z']]
    assert NODE.findall(rows[0][1]) == ['tests/t.py::test_f[1-a]']
