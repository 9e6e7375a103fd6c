# Copyright (c) mkd_mm contributors. All rights reserved.
"""The paths and commands of the documentation refer to what exists.

Scans ``README.md``, ``docs/*.md`` and ``configs/*/README.md`` (the docs),
with the standard library only (nothing is imported from ``mkd_mm``, no
torch), and checks:

* **repository paths**: every ``configs/...``, ``tools/...``, ``docs/...``,
  ``tests/...`` or ``mkd_mm/...`` path inside inline code or a fenced code
  block exists (``{a,b}`` alternatives are expanded; ``*`` and ``<name>``
  must match at least one file), except the few intentionally hypothetical
  paths of :data:`HYPOTHETICAL`; every relative Markdown link resolves;
* **work dirs**: every ``work_dirs/<name>/...`` names a directory the tools
  write: ``tools/train.py CONFIG`` writes to ``work_dirs/<config file name
  without .py>/``, so ``<name>`` must be the name of a config in
  ``configs/``, ``demo`` (the demos' work dirs), a placeholder (``...``,
  ``<...>``), or the ``--work-dir`` / Slurm ``WORK_DIR`` of a command in the
  same code block;
* **teacher chains**: a command that trains a config whose default work dir
  another config reads (``configs/dbot/vitb_stage2.py`` loads its teacher
  from ``work_dirs/vitb_stage1/epoch_800.pth``) does not move it elsewhere
  with ``--work-dir``;
* **flags**: every ``--flag`` given to ``tools/train.py`` (directly or
  through the launch scripts), ``tools/test.py`` or another Python tool
  occurs in that tool's argument parser;
* **launch**: shell code blocks run Python tools with ``python``
  (``tools/*.py`` files are not executable).
"""
import re
import shlex
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Paths that the docs name on purpose although they do not exist, with the
#: reason.
HYPOTHETICAL: Dict[str, str] = {
    'configs/demo/no_such_config.py':
    'docs/bad_inputs.md shows the error for a config that does not exist',
}

#: Shell code blocks: the info strings whose lines are parsed as commands.
SHELL_BLOCKS = ('shell', 'bash', 'sh', 'console')

#: Launch scripts -> (the Python tool they run, the index of CONFIG and of
#: WORK_DIR among their positional arguments, None if they have none).
LAUNCHERS: Dict[str, Tuple[str, int, Optional[int]]] = {
    'tools/dist_train.sh': ('tools/train.py', 0, None),
    'tools/slurm_train.sh': ('tools/train.py', 2, 3),
    'tools/dist_test.sh': ('tools/test.py', 0, None),
    'tools/slurm_test.sh': ('tools/test.py', 2, None),
    'tools/benchmarks/classification/dist_finetune.sh':
    ('tools/train.py', 0, None),
}

#: Python tools whose parser is (partly) defined in another file.
PARSER_SOURCES: Dict[str, Tuple[str, ...]] = {
    'tools/test.py': ('tools/test.py', 'tools/train.py'),
}

#: Tools that train a config (and so write ``work_dirs/<config name>/``).
TRAINING_TOOLS = ('tools/train.py', )

PATH = re.compile(r'(?<![\w.$/-])((?:configs|tools|docs|tests|mkd_mm)/'
                  r'[\w.{},*<>/-]*)')
WORK_DIR = re.compile(r'(?<![\w./-])work_dirs/([^/\s`\'"),;]+)')
LINK = re.compile(r'\]\(([^)\s]+)\)')
FLAG = re.compile(r'^\[?(--[A-Za-z][\w-]*)')


class Unit(NamedTuple):
    """A piece of a doc: a fenced block, an inline code span or prose.

    Attributes:
        kind (str): ``'block'``, ``'inline'`` or ``'prose'``.
        lang (str): The info string of a fenced block (else ``''``).
        text (str): The content.
        line (int): The 1-based line of the doc where it starts.
    """
    kind: str
    lang: str
    text: str
    line: int


class Command(NamedTuple):
    """A command line that runs a repository tool.

    Attributes:
        tool (str): The repository path of the program (``tools/...``).
        args (List[str]): Its arguments.
        python (bool): Whether it is run through a Python interpreter.
    """
    tool: str
    args: List[str]
    python: bool


def doc_files() -> List[Path]:
    """The documentation files that are checked.

    Returns:
        List[Path]: ``README.md``, ``docs/*.md`` and ``configs/*/README.md``.
    """
    files = [REPO / 'README.md']
    files += sorted((REPO / 'docs').glob('*.md'))
    files += sorted((REPO / 'configs').glob('*/README.md'))
    return files


def split_units(text: str) -> List[Unit]:
    """Split Markdown into fenced code blocks, inline code spans and prose.

    Args:
        text (str): The Markdown source.

    Returns:
        List[Unit]: The pieces, in order.
    """
    units = []
    lines = text.splitlines()
    i = 0
    prose: List[str] = []
    prose_start = 1
    while i < len(lines):
        if lines[i].startswith('```'):
            units += _split_prose('\n'.join(prose), prose_start)
            lang = lines[i][3:].strip()
            start = i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith('```'):
                i += 1
            units.append(
                Unit('block', lang, '\n'.join(lines[start:i]), start + 1))
            prose, prose_start = [], i + 2
        else:
            prose.append(lines[i])
        i += 1
    units += _split_prose('\n'.join(prose), prose_start)
    return units


def _split_prose(text: str, first_line: int) -> List[Unit]:
    """Inline code spans and the remaining prose of a block-free text."""
    units = []
    rest = []
    last = 0
    for match in re.finditer(r'`([^`]+)`', text):
        line = first_line + text.count('\n', 0, match.start())
        units.append(Unit('inline', '', match.group(1), line))
        rest.append(text[last:match.start()])
        last = match.end()
    rest.append(text[last:])
    units.append(Unit('prose', '', ' '.join(rest), first_line))
    return units


def expand(path: str) -> List[str]:
    """Expand the shell-style ``{a,b}`` alternatives of a path.

    Args:
        path (str): A path such as ``configs/mae/vit{b,s,t}_100e.py``.

    Returns:
        List[str]: Every alternative (the path itself if it has none).
    """
    match = re.search(r'\{([^{}]*)\}', path)
    if not match:
        return [path]
    head, tail = path[:match.start()], path[match.end():]
    return [
        p for alt in match.group(1).split(',')
        for p in expand(head + alt + tail)
    ]


def exists(path: str) -> bool:
    """Whether a repository path (with ``*`` / ``<name>`` wildcards) exists.

    Args:
        path (str): Relative to the repository root.

    Returns:
        bool: True if the file or folder exists (for a pattern: if at least
        one path matches it).
    """
    pattern = re.sub(r'<[^<>/]*>', '*', path).rstrip('/')
    if '*' in pattern:
        return any(REPO.glob(pattern))
    return (REPO / pattern).exists()


def commands(unit: Unit) -> Iterator[Command]:
    """The commands of a shell block or an inline span that run a tool.

    Continued lines (``\\`` at the end) are joined; comments, environment
    assignments (``GPUS=8``) and ``bash`` are skipped.

    Args:
        unit (Unit): A shell code block or an inline code span.

    Yields:
        Command: Each command whose program is a file under ``tools/``.
    """
    text = re.sub(r'\\\n', ' ', unit.text)
    for line in text.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            tokens = line.split('#')[0].split()
        while tokens:
            cut = next((i for i, t in enumerate(tokens)
                        if t in ('&&', '||', ';', '|')), len(tokens))
            command, tokens = tokens[:cut], tokens[cut + 1:]
            found = _tool_command(command)
            if found:
                yield found


def _tool_command(tokens: List[str]) -> Optional[Command]:
    """The tool, arguments and interpreter use of one command, if any."""
    tokens = list(tokens)
    while tokens and re.match(r'^[A-Za-z_]\w*=', tokens[0]):
        tokens.pop(0)
    if tokens and tokens[0] in ('bash', 'sh'):
        tokens.pop(0)
    python = bool(tokens) and bool(re.search(r'(^|/)python3?$', tokens[0]))
    if python:
        tokens.pop(0)
    if not tokens or not tokens[0].startswith('tools/'):
        return None
    return Command(tokens[0], tokens[1:], python)


def positionals(args: List[str]) -> List[str]:
    """The leading positional arguments of a command (before any flag).

    Args:
        args (List[str]): The arguments.

    Returns:
        List[str]: Those before the first ``--flag``.
    """
    out = []
    for arg in args:
        if arg.startswith('-') or arg.startswith('['):
            break
        out.append(arg)
    return out


def flag_value(args: List[str], flag: str) -> Optional[str]:
    """The value of ``--flag VALUE`` or ``--flag=VALUE``.

    Args:
        args (List[str]): The arguments.
        flag (str): The flag, e.g. ``'--work-dir'``.

    Returns:
        str, optional: The value, None if the flag is not given.
    """
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + '='):
            return arg[len(flag) + 1:]
    return None


def trained_config(command: Command) -> Tuple[Optional[str], Optional[str]]:
    """The config a command trains and its explicit work dir.

    Args:
        command (Command): A tool command.

    Returns:
        tuple: ``(config, work_dir)``; ``config`` is None if the command
        does not train with ``tools/train.py``, ``work_dir`` is None if
        the default work dir is used.
    """
    tool, args = command.tool, command.args
    work_dir = flag_value(args, '--work-dir')
    if tool in LAUNCHERS:
        tool, config_index, work_dir_index = LAUNCHERS[tool]
        pos = positionals(args)
        config = pos[config_index] if len(pos) > config_index else None
        if work_dir_index is not None and len(pos) > work_dir_index:
            work_dir = pos[work_dir_index]
    else:
        pos = positionals(args)
        config = pos[0] if pos else None
    if tool not in TRAINING_TOOLS or not config or \
            not config.endswith('.py'):
        return None, None
    return config, work_dir


def work_dir_name(path: str) -> Optional[str]:
    """The ``<name>`` of a ``work_dirs/<name>/...`` path (None otherwise)."""
    match = WORK_DIR.match(path.lstrip('./'))
    return match.group(1) if match else None


def config_names() -> Set[str]:
    """The file names (without ``.py``) of every config in ``configs/``."""
    return {p.stem for p in (REPO / 'configs').rglob('*.py')}


def consumed_work_dirs() -> Set[str]:
    """Default work dirs that configs read (teachers of later stages).

    Returns:
        Set[str]: The ``<name>`` of every ``work_dirs/<name>/`` that occurs
        in a config file, except ``demo``.
    """
    names = set()
    for path in (REPO / 'configs').rglob('*.py'):
        names.update(WORK_DIR.findall(path.read_text()))
    return names - {'demo'}


def _docs() -> List[Tuple[str, List[Unit]]]:
    """``(relative path, units)`` of every doc."""
    return [(str(p.relative_to(REPO)), split_units(p.read_text()))
            for p in doc_files()]


DOCS = _docs()


def test_docs_are_found():
    """The scan covers the top-level README, docs/ and the config READMEs."""
    names = [name for name, _ in DOCS]
    assert 'README.md' in names
    assert 'docs/get_started.md' in names
    assert 'configs/dbot/README.md' in names


@pytest.mark.parametrize('doc', [name for name, _ in DOCS])
def test_repository_paths_exist(doc):
    """Every repository path in inline code or a code block exists."""
    units = dict(DOCS)[doc]
    missing = []
    for unit in units:
        if unit.kind == 'prose':
            continue
        for match in PATH.finditer(unit.text):
            path = match.group(1).rstrip('.,:;')
            for one in expand(path):
                if one in HYPOTHETICAL or exists(one):
                    continue
                line = unit.line + unit.text.count('\n', 0, match.start())
                missing.append(f'{doc}:{line}: {one}')
    assert not missing, 'paths that do not exist:\n' + '\n'.join(missing)


@pytest.mark.parametrize('doc', [name for name, _ in DOCS])
def test_relative_links_resolve(doc):
    """Every relative Markdown link points to an existing file or folder."""
    text = (REPO / doc).read_text()
    broken = []
    for target in LINK.findall(text):
        target = target.split('#')[0]
        if not target or re.match(r'^[a-z]+:', target):
            continue
        if not ((REPO / doc).parent / target).exists():
            broken.append(target)
    assert not broken, f'{doc}: broken links {broken}'


@pytest.mark.parametrize('doc', [name for name, _ in DOCS])
def test_work_dirs_are_those_the_tools_write(doc):
    """``work_dirs/<name>/`` is a config's default work dir or given."""
    configs = config_names()
    bad = []
    for unit in dict(DOCS)[doc]:
        given = set()
        if unit.kind != 'prose':
            for command in commands(unit):
                _, work_dir = trained_config(command)
                work_dir = work_dir or flag_value(command.args, '--work-dir')
                if work_dir and work_dir_name(work_dir):
                    given.add(work_dir_name(work_dir))
        for match in WORK_DIR.finditer(unit.text):
            name = match.group(1)
            if name in configs or name in given or name == 'demo' or \
                    name == '...' or name.startswith('<'):
                continue
            line = unit.line + unit.text.count('\n', 0, match.start())
            bad.append(f'{doc}:{line}: work_dirs/{name}')
    assert not bad, (
        'work dirs that no documented command writes (tools/train.py CONFIG '
        'writes work_dirs/<config file name>/ unless --work-dir is given):\n'
        + '\n'.join(bad))


@pytest.mark.parametrize('doc', [name for name, _ in DOCS])
def test_teacher_chains_keep_the_default_work_dir(doc):
    """A run whose work dir a later stage reads is not moved elsewhere."""
    consumed = consumed_work_dirs()
    bad = []
    for unit in dict(DOCS)[doc]:
        if unit.kind == 'prose':
            continue
        for command in commands(unit):
            config, work_dir = trained_config(command)
            if not config or not work_dir:
                continue
            name = Path(config).stem
            if name in consumed and \
                    work_dir.rstrip('/') != f'work_dirs/{name}':
                bad.append(f'{doc}:{unit.line}: {config} --work-dir '
                           f'{work_dir}, but configs read work_dirs/{name}/')
    assert not bad, '\n'.join(bad)


def parser_flags(tool: str) -> Set[str]:
    """The ``--flags`` that occur as string literals in a tool's source.

    Args:
        tool (str): A repository path such as ``tools/train.py``.

    Returns:
        Set[str]: The flags of its argument parser.
    """
    flags = set()
    for source in PARSER_SOURCES.get(tool, (tool, )):
        text = (REPO / source).read_text()
        flags.update(re.findall(r'[\'"](--[A-Za-z][\w-]*)[\'"]', text))
    return flags


@pytest.mark.parametrize('doc', [name for name, _ in DOCS])
def test_command_flags_exist(doc):
    """Every flag of a documented tool command is in the tool's parser."""
    unknown = []
    for unit in dict(DOCS)[doc]:
        if unit.kind == 'prose' or (unit.kind == 'block'
                                    and unit.lang not in SHELL_BLOCKS):
            continue
        for command in commands(unit):
            tool = LAUNCHERS.get(command.tool, (command.tool, ))[0]
            if not tool.endswith('.py') or not (REPO / tool).is_file():
                continue
            known = parser_flags(tool)
            for arg in command.args:
                match = FLAG.match(arg)
                if match and match.group(1).split('=')[0] not in known:
                    unknown.append(f'{doc}:{unit.line}: {command.tool} '
                                   f'{match.group(1)} (not in {tool})')
    assert not unknown, 'unknown flags:\n' + '\n'.join(unknown)


@pytest.mark.parametrize('doc', [name for name, _ in DOCS])
def test_python_tools_are_run_with_python(doc):
    """Shell blocks run ``tools/*.py`` through an interpreter."""
    bad = []
    for unit in dict(DOCS)[doc]:
        if unit.kind != 'block' or unit.lang not in SHELL_BLOCKS:
            continue
        for command in commands(unit):
            if command.tool.endswith('.py') and not command.python:
                bad.append(f'{doc}:{unit.line}: {command.tool}')
    assert not bad, ('tools/*.py are not executable; run them with '
                     '`python`:\n' + '\n'.join(bad))


def test_the_rules_catch_wrong_paths():
    """The checks reject the mistakes they are written for."""
    block = ('```shell\n'
             'python tools/train.py configs/dbot/vitb_stage1.py '
             '--work-dir work_dirs/dbot_vitb\n'
             'tools/dist_train.sh configs/dbot/vitb_3x800e.py 8\n'
             'CKPT=work_dirs/dbot_vitb_3x800e/epoch_2400.pth\n'
             'GPUS=8 tools/slurm_train.sh P J configs/dmae/vitb_from_vitl.py '
             'work_dirs/dmae_vitb \\\n    --no-such-flag\n'
             'tools/test.py CONFIG CKPT\n'
             '```\n')
    (unit, ) = [u for u in split_units(block) if u.kind == 'block']
    found = list(commands(unit))
    assert [c.tool for c in found] == [
        'tools/train.py', 'tools/dist_train.sh', 'tools/slurm_train.sh',
        'tools/test.py'
    ]
    assert trained_config(found[0]) == ('configs/dbot/vitb_stage1.py',
                                        'work_dirs/dbot_vitb')
    assert trained_config(found[2]) == ('configs/dmae/vitb_from_vitl.py',
                                        'work_dirs/dmae_vitb')
    assert 'vitb_stage1' in consumed_work_dirs()
    assert 'dbot_vitb_3x800e' not in config_names()
    assert 'vitb_3x800e' in config_names()
    assert '--no-such-flag' not in parser_flags('tools/train.py')
    assert '--work-dir' in parser_flags('tools/train.py')
    assert '--tta' in parser_flags('tools/test.py')
    assert not found[3].python
    assert expand('configs/mae/vit{b,s}_100e.py') == [
        'configs/mae/vitb_100e.py', 'configs/mae/vits_100e.py'
    ]
    assert exists('tools/demo/<name>.py')
    assert not exists('configs/dbot/vitb_4x800e.py')
