#!/usr/bin/env python3
"""check_docs.py REPO: the documentation a newcomer follows must not lead nowhere.

- every relative Markdown link in a tracked *.md file resolves: the file (or directory) exists,
  and a #fragment names a heading of the target (GitHub's anchor rules);
- every command of the README's Quick start table that runs a file of this repository
  (`scripts/...`, `./...`) names an executable file;
- CI runs the README's test command: .ci/run calls scripts/test.sh with FA_DEPS_SOURCE=debian, as the
  README says.
Exits 1 listing every problem; `--self-test` proves each check catches a broken version of a file."""
import re
import subprocess
import sys
from pathlib import Path

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(text):
    """(line number, line) of the lines outside fenced code blocks."""
    fenced = False
    for no, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield no, line


def anchors(text):
    """GitHub's heading anchors: lower case, punctuation but '-' and '_' dropped, spaces to '-' (a
    repeated heading's -1, -2 are not made: a link to one is reported)."""
    out = set()
    for _, line in prose(text):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-"))
    return out


def links(text):
    for no, line in prose(text):
        for target in LINK.findall(line):
            if not re.match(r"^(https?|mailto):", target):
                yield no, target


def check_links(repo: Path, files, read):
    problems = []
    for md in files:
        for no, target in links(read(md)):
            path, _, frag = target.partition("#")
            dest = (md.parent / path).resolve() if path else md
            where = f"{md.relative_to(repo)}:{no}: {target}"
            if not dest.exists():
                problems.append(f"{where}: no such file")
            elif frag and dest.suffix == ".md" and frag not in anchors(read(dest)):
                problems.append(f"{where}: no heading #{frag} in {dest.relative_to(repo)}")
    return problems


def check_commands(repo: Path, read):
    problems, text = [], read(repo / "README.md")
    table = text.split("## Quick start", 1)[-1].split("\n## ", 1)[0]
    commands = re.findall(r"^\|[^|]*\|\s*`([^`]+)`", table, re.M)
    if not commands:
        problems.append("README.md: no commands found in the Quick start table")
    for cmd in commands:
        for word in cmd.split():
            if "/" in word and re.match(r"^(\./|scripts/)", word):
                f = repo / word
                if not (f.is_file() and f.stat().st_mode & 0o111):
                    problems.append(f"README.md Quick start: `{cmd}`: {word} is not an executable file")
    ci = read(repo / ".ci/run")
    if "FA_DEPS_SOURCE=debian scripts/test.sh" not in text:
        problems.append("README.md does not give CI's test command `FA_DEPS_SOURCE=debian scripts/test.sh`")
    if not re.search(r"^[^#\n]*FA_DEPS_SOURCE=\S*debian", ci, re.M) or not re.search(r"^\s*(FA_PRESET=\w+ )?scripts/test\.sh", ci, re.M):
        problems.append(".ci/run does not run the README's test command (scripts/test.sh with FA_DEPS_SOURCE=debian)")
    return problems


def markdown_files(repo: Path):
    return [repo / f for f in subprocess.run(["git", "-C", str(repo), "ls-files", "*.md"], check=True,
                                             capture_output=True, text=True).stdout.split()]


def check(repo: Path, edits=None):
    """The problems found; edits ({path relative to repo: text}) stand in for files (the self-test)."""
    def read(path):
        return (edits or {}).get(path.relative_to(repo).as_posix()) or path.read_text(encoding="utf-8")

    return check_links(repo, markdown_files(repo), read) + check_commands(repo, read)


def self_test(repo: Path):
    """Each check must fail on a broken version of the real files."""
    breaks = {
        "a link to a missing file": ("README.md", "(docs/local.md)", "(docs/missing.md)"),
        "a link to a missing heading": ("README.md", "(manifests/README.md)", "(manifests/README.md#no-such-heading)"),
        "a link to a comment in a code block": ("README.md", "(docs/image.md)", "(docs/image.md#docker)"),
        "a Quick start command that is not executable": ("README.md", "`scripts/serve.sh`", "`scripts/log.sh`"),
        "CI not running the README's test command": (".ci/run", "scripts/test.sh", "scripts/other.sh"),
        "CI not taking Debian's sources": (".ci/run", "FA_DEPS_SOURCE:-debian", "FA_DEPS_SOURCE:-pinned"),
        "the README without CI's test command": ("README.md", "FA_DEPS_SOURCE=debian scripts/test.sh", "scripts/test.sh"),
    }
    failed = []
    for what, (name, old, new) in breaks.items():
        text = (repo / name).read_text(encoding="utf-8")
        assert old in text, f"self-test: '{old}' not in {name}"
        if not check(repo, {name: text.replace(old, new)}):
            failed.append(what)
        print(f"self-test: {what}: {'NOT caught' if what in failed else 'caught'}")
    return failed


def main():
    repo = Path(sys.argv[-1]).resolve()
    if "--self-test" in sys.argv:
        failed = self_test(repo)
        sys.exit(1 if failed else 0)
    problems = check(repo)
    for p in problems:
        print(p)
    print(f"{len(markdown_files(repo))} Markdown files, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
