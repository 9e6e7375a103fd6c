# Copyright (c) mkd_mm contributors. All rights reserved.
"""Comments, docstrings and docs cite only what a reader can check.

A reference must point to something verifiable: a paper by name and
section / table, an official code file (``dbot:main_finetune.py``,
``dbot@beit:DOWNSTREAM.md``, ``mae:models_mae.py`` ...) or a document of this
repository. This module scans every tracked text file (``git ls-files``; a
walk of the tree without ``.git``, ``.venv``, ``data`` and ``work_dirs`` when
git is unavailable) with a suffix of :data:`SUFFIXES`, with the standard
library only, and fails, listing ``file:line``, on any reference to a
document that lives outside the repository: a numbered section of an
internal specification (the word *spec* followed by a section sign), the
specification's file name, the sibling ``shared`` folder (its ``docs`` or
``papers``, or any relative path into it) and numbered *quirk* items of that
specification. A section sign alone (``the paper's`` section 7) is fine.

The patterns are assembled from pieces so that this file does not match
them itself.
"""
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Pattern

REPO = Path(__file__).resolve().parents[2]

#: The suffixes of the text files that are scanned.
SUFFIXES = ('.py', '.md', '.yml', '.yaml', '.sh', '.txt', '.cfg')

#: Folders skipped by the fallback walk (git does not track them anyway).
SKIP_DIRS = {'.git', '.venv', 'data', 'work_dirs'}

_SECTION = '\u00a7'
_SHARED = 'shared'
_QUIRK = 'qu' + 'irk'

#: What each pattern means -> the pattern (case-insensitive).
PATTERNS: Dict[str, Pattern] = {
    'numbered section of an external spec':
    re.compile('spec' + r'\s*' + _SECTION, re.IGNORECASE),
    'external spec file':
    re.compile('method' + '-' + 'spec', re.IGNORECASE),
    'external docs folder':
    re.compile(_SHARED + '/' + 'docs', re.IGNORECASE),
    'external papers folder':
    re.compile(_SHARED + '/' + 'papers', re.IGNORECASE),
    'path outside the repository':
    re.compile(re.escape('..') + '/' + _SHARED, re.IGNORECASE),
    'numbered quirk of an external spec':
    re.compile(r'\b' + _QUIRK + r's?\s+\d+', re.IGNORECASE),
}


def text_files() -> List[Path]:
    """The tracked files with a suffix of :data:`SUFFIXES`.

    Returns:
        List[Path]: Absolute paths, sorted; files listed by git but missing
        from the working tree are left out.
    """
    try:
        out = subprocess.run(['git', 'ls-files', '-z'],
                             cwd=REPO,
                             capture_output=True,
                             check=True).stdout.decode()
        names = [n for n in out.split('\0') if n]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(REPO)) for p in REPO.rglob('*')
            if not SKIP_DIRS & set(p.relative_to(REPO).parts)
        ]
    paths = [REPO / n for n in names if n.endswith(SUFFIXES)]
    return sorted(p for p in paths if p.is_file())


def external_refs(text: str) -> List[str]:
    """The references to documents outside the repository in a text.

    Args:
        text (str): The content of a file.

    Returns:
        List[str]: ``'<line>: <what> (<matched text>)'`` per hit.
    """
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        for what, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                hits.append(f'{number}: {what} ({match.group(0)!r})')
    return hits


def test_files_are_found():
    """The scan covers code, configs, docs and this file."""
    names = {str(p.relative_to(REPO)) for p in text_files()}
    assert 'README.md' in names
    assert 'docs/transfer.md' in names
    assert 'mkd_mm/downstream/common/layer_decay.py' in names
    assert any(n.startswith('configs/benchmarks/') for n in names)


def test_no_references_to_documents_outside_the_repository():
    """No file cites the external spec, its quirk list or the shared folder."""
    bad = []
    for path in text_files():
        text = path.read_text(encoding='utf-8', errors='replace')
        name = path.relative_to(REPO)
        bad += [f'{name}:{hit}' for hit in external_refs(text)]
    assert not bad, (
        'references to documents that are not in the repository (cite the '
        'paper by name and section/table, an official code file such as '
        '`dbot:main_finetune.py`, or a doc of this repository):\n' +
        '\n'.join(bad))


def test_the_rules_catch_external_refs():
    """The patterns reject what they are written for, and only that."""
    sign = _SECTION
    caught = [
        f'# encoder (spec {sign}3): global average pooling',
        f'(SPEC {sign}7 {_QUIRK} 13)',
        'see the method' + '-spec',
        'read ../' + _SHARED + '/docs/environment.md',
        '/work/' + _SHARED + '/papers/dbot.txt',
        f'not weight-decayed ({_QUIRK.title()}s 13; set',
    ]
    for line in caught:
        assert external_refs(line), line
    kept = [
        f"the paper's {sign}7 and Tab. A3",
        'dBOT paper, Sec. 5.1 / Tab. A2 (dbot:DOWNSTREAM.md)',
        '# official quirk kept: the cls and mask tokens ARE decayed',
        'importlib.util.spec_from_file_location(name, path)',
        'see docs/transfer.md (section 4)',
    ]
    for line in kept:
        assert not external_refs(line), line
    assert external_refs('a\nb (spec ' + sign + '4)\n') == [
        "2: numbered section of an external spec ('spec " + sign + "')"
    ]
