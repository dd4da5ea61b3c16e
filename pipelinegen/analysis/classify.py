"""Why does a test fail: infra, test (flaky) or code — each verdict with the evidence that decided it.

The rules, in order (thresholds in `Thresholds`):
1. Each failing execution is first checked for infra: a known signature in its message, stack trace or
   cell log (`signatures.yaml` + user files), its whole cell timing out, its cell failing en masse, or its
   run failing many unrelated tests at once.
2. code: ignoring signature/timeout failures, the test fails in every run from some commit on (at least
   `code_min_runs` runs) and never passed since: names the first failing and the last passing commit.
   Mass failures do not stop this verdict: a regression can break many tests at once, but an outage ends.
3. infra: every failure was explained by rule 1, or all failures happened on one node that ran only a
   minority of the window's cells.
4. test: what is left is intermittent on unchanged code (both outcomes on one commit, or a pass on retry:
   confirmed) or intermittent across commits with no failing streak (suspected).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from pipelinegen.analysis.history import FAILED, CellRow, History, Outcome, RunRow
from pipelinegen.errors import Finding, PipelineError
from pipelinegen.yamlsource import load_located_text, read_yaml_text

DEFAULT_SIGNATURES = "signatures.yaml"

SIGNATURES_SCHEMA = {
    "type": "object",
    "required": ["signatures"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "signatures": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "pattern"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "pattern": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Signature:
    name: str
    pattern: re.Pattern[str]
    description: str = ""
    source: str = ""  # file:line it came from
    # Lower-case ASCII strings one of which every match contains (None: unknown): a failure text holding none of
    # them is not searched. A case-insensitive regex scans ~50 MB/s; `in` on a lowered text, GB/s.
    literals: tuple[str, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.literals is None:
            object.__setattr__(self, "literals", required_literals(self.pattern))

    def search(self, text: str, lowered: str | None = None) -> str | None:
        """The first match in *text*; *lowered*: text.lower(), to skip the text by the literals when it is ASCII
        (re's case folding and str.lower agree on ASCII only: re.I matches 'ſ' to 's')."""
        if lowered is not None and self.literals is not None and text.isascii() \
                and not any(lit in lowered for lit in self.literals):
            return None
        match = self.pattern.search(text)
        return match.group(0) if match else None


_MIN_LITERAL = 3


def required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings (lower-cased ASCII) of which every match of *pattern* contains one: the longest run of plain
    characters of each top-level alternative. None when some alternative has no such run of 3 or more."""
    try:  # the stdlib's own parser of the pattern it compiled; anything odd: no prefilter
        from re import _parser

        items = list(_parser.parse(pattern.pattern, pattern.flags).data)
    except Exception:  # noqa: BLE001 - a private module: any failure just means "search every text"
        return None
    while len(items) == 1 and items[0][0] is _parser.SUBPATTERN:  # (a|b|c): look inside the group
        items = list(items[0][1][-1].data)
    branches = items[0][1][1] if len(items) == 1 and items[0][0] is _parser.BRANCH else [items]
    literals = []
    for branch in branches:
        best, run = "", []
        for op, value in [*branch, (None, None)]:
            if op is _parser.LITERAL:
                run.append(chr(value))
                continue
            if len(run) > len(best):
                best = "".join(run)
            run = []
        if len(best) < _MIN_LITERAL or not best.isascii():
            return None
        literals.append(best.lower())
    return tuple(literals)


@dataclass(frozen=True)
class Thresholds:
    mass_min_tests: int = 10  # a cell "failed en masse" when at least this many of its tests failed ...
    mass_fraction: float = 0.5  # ... and at least this share of them
    outage_factor: float = (
        10.0  # a run is an outage when it failed this many times the median per-run failures
    )
    node_min_failures: int = 3  # node clustering needs at least this many failures ...
    node_max_share: float = 0.5  # ... all on one node that ran less than this share of the cells
    code_min_runs: int = 2  # a code verdict needs a failing streak over at least this many runs


@dataclass
class Verdict:
    kind: str  # infra | test | code
    flaky: bool  # intermittent on unchanged code (kind == "test")
    confirmed: bool  # flaky and proven: both outcomes on one commit, or a pass on retry
    evidence: list[str] = field(default_factory=list)
    first_failing_commit: str = ""
    last_passing_commit: str = ""
    infra_failures: int = 0  # failures explained as infra (excluded from the test's failure rate)


@dataclass(frozen=True)
class Failure:
    """One failing execution, in its run and cell, with the infra reasons found for it."""

    run: RunRow
    outcome: Outcome
    cell: CellRow | None
    strong: tuple[str, ...]  # signature or whole-cell timeout: infra for sure
    weak: tuple[str, ...]  # mass failure in its cell or run: infra unless the failure persists (code)

    @property
    def node(self) -> str:
        return self.cell.node if self.cell else ""


# ---------------------------------------------------------------- signatures


def _entry_lines(text: str) -> list[int]:
    """1-based line of each `signatures:` entry, for error messages."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "signatures" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_signatures(text: str, source: str) -> list[Signature]:
    """Signatures from one YAML document; errors name the file, the line and a fix."""
    data = load_located_text(text, source)  # bounded: alias bombs, nesting, NUL end as a PipelineError
    lines = _entry_lines(text)
    findings = []
    for error in jsonschema.Draft202012Validator(SIGNATURES_SCHEMA).iter_errors(data):
        path = list(error.absolute_path)
        line = lines[path[1]] if len(path) > 1 and path[0] == "signatures" and path[1] < len(lines) else None
        findings.append(
            Finding(
                source,
                line,
                error.message,
                ".".join(map(str, path)),
                "each entry needs name and pattern (a regular expression), optional description",
            )
        )
    if findings:
        raise PipelineError(findings)
    result = []
    for i, entry in enumerate(data["signatures"]):
        line = lines[i] if i < len(lines) else None
        try:
            pattern = re.compile(entry["pattern"], re.IGNORECASE)
        except re.error as err:
            findings.append(
                Finding(
                    source,
                    line,
                    f"pattern of signature {entry['name']!r} is not a valid regular expression: {err}",
                    f"signatures.{i}.pattern",
                    "escape regex characters such as ( [ . with a backslash",
                )
            )
            continue
        result.append(Signature(entry["name"], pattern, entry.get("description", ""), f"{source}:{line}"))
    if findings:
        raise PipelineError(findings)
    return result


def load_signatures(extra: Sequence[Path] = ()) -> list[Signature]:
    """The shipped signatures plus the user's files; a user entry with a known name replaces it."""
    shipped = resources.files("pipelinegen.analysis").joinpath(DEFAULT_SIGNATURES).read_text(encoding="utf-8")
    by_name = {s.name: s for s in parse_signatures(shipped, f"pipelinegen/analysis/{DEFAULT_SIGNATURES}")}
    for path in extra:
        text = read_yaml_text(Path(path))
        for signature in parse_signatures(text, str(path)):
            by_name[signature.name] = signature
    return list(by_name.values())


# ---------------------------------------------------------------- context shared by all tests


@dataclass
class Context:
    """Facts about the whole window that single-test verdicts lean on."""

    history: History
    signatures: list[Signature]
    thresholds: Thresholds
    node_share: dict[str, float]  # node -> share of the window's cells it ran
    median_run_failures: float
    signature_cache: dict[object, str] = field(default_factory=dict, repr=False)  # text -> evidence ("" = none)
    failures_cache: dict[str, list[Failure]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, history: History, signatures: list[Signature], thresholds: Thresholds | None = None) -> Context:
        counts = history.node_cells
        total = sum(counts.values()) or 1
        failures = [r.failures for r in history.runs]
        return cls(history, signatures, thresholds or Thresholds(), {n: c / total for n, c in counts.items()},
                   statistics.median(failures) if failures else 0.0)

    def _signature(self, key: object, text_of: Callable[[], str]) -> str:
        """Evidence for the first signature found in the text text_of() gives ("" for none), cached under *key*
        (texts repeat a lot); the text is built only when *key* was not seen."""
        cache = self.signature_cache
        found = cache.get(key)
        if found is None:
            found = ""
            text = text_of()
            lowered = text.lower()
            for signature in self.signatures:
                match = signature.search(text, lowered)
                if match:
                    found = f"matches infra signature '{signature.name}' ({signature.description}): \"{match[:120]}\""
                    break
            cache[key] = found
        return found

    def failure(self, run: RunRow, outcome: Outcome) -> Failure:
        cell = self.history.cells.get((run.id, outcome.cell_id, outcome.attempt))
        strong, weak = [], []
        # The failure text and the cell's console log separately: one log is shared by all tests of its cell. The
        # failure text is keyed as stored (packed): the cache must not hold every distinct trace unpacked.
        found = self._signature((outcome.message, outcome.details),
                                lambda: f"{outcome.message}\n{outcome.details_text()}") or (
            self._signature(cell.log_tail, lambda: cell.log_tail) if cell and cell.log_tail else "")
        if found:
            strong.append(found)
        where = f"cell {outcome.cell_id}" + (f" on node {cell.node}" if cell and cell.node else "")
        if cell and cell.status == "timeout":
            strong.append(f"the whole {where} timed out")
        t = self.thresholds
        if cell and cell.failures >= t.mass_min_tests and cell.failures >= t.mass_fraction * max(1, cell.executions):
            weak.append(f"{cell.failures} of {cell.executions} tests in {where} failed together")
        run_failures = self.history.run_failures.get(run.id, 0)
        if run_failures >= max(t.mass_min_tests, t.outage_factor * max(1.0, self.median_run_failures)):
            weak.append(f"run {run.run_id[:12]} failed {run_failures} tests at once "
                        f"(median per run: {self.median_run_failures:g})")
        return Failure(run, outcome, cell, tuple(strong), tuple(weak))

    def failures(self, test: str) -> list[Failure]:
        cache = self.failures_cache
        if test not in cache:
            cache[test] = [self.failure(run, o) for run, o in self.history.outcomes.get(test, []) if o.status in FAILED]
        return cache[test]


# ---------------------------------------------------------------- one test


def _key(f: Failure) -> tuple[int, str, int]:
    return (f.run.id, f.outcome.cell_id, f.outcome.attempt)


@dataclass
class CommitCount:
    commit: str
    passes: int = 0
    fails: int = 0  # counted failures only
    failing_runs: int = 0


def commit_counts(test: str, history: History, counted: set[tuple[int, str, int]],
                  commits: Sequence[str] | None = None, variant: int | None = None) -> list[CommitCount]:
    """Per commit (window order): passing executions and the *counted* failures of *test* (on one *variant*).

    Passes = executions (from the test sets) minus every non-passing outcome at that commit.
    """
    not_passed: dict[str, int] = {}
    fails: dict[str, int] = {}
    failing_runs: dict[str, set[int]] = {}
    for run, o in history.outcomes.get(test, []):
        if variant is not None and o.variant != variant:
            continue
        if o.status in FAILED or o.status == "skipped":
            not_passed[run.commit] = not_passed.get(run.commit, 0) + 1
        if o.status in FAILED and (run.id, o.cell_id, o.attempt) in counted:
            fails[run.commit] = fails.get(run.commit, 0) + 1
            failing_runs.setdefault(run.commit, set()).add(run.id)
    result = []
    for commit in commits if commits is not None else history.commits_of(test):
        per_variant = history.executions(test, commit)
        executions = sum(per_variant.values()) if variant is None else per_variant.get(variant, 0)
        result.append(CommitCount(commit, max(0, executions - not_passed.get(commit, 0)), fails.get(commit, 0),
                                  len(failing_runs.get(commit, ()))))
    return result


def _short(commit: str) -> str:
    return commit[:12]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def retry_passes(outcomes: Sequence[tuple[RunRow, Outcome]], cells: dict[tuple[int, str, int], CellRow]) -> list[str]:
    """Runs in which the test failed and then passed again (a later cell attempt, or Surefire reruns)."""
    by_run: dict[int, list[Outcome]] = {}
    runs: dict[int, RunRow] = {}
    for run, o in outcomes:
        by_run.setdefault(run.id, []).append(o)
        runs[run.id] = run
    found = []
    for run_id, outs in by_run.items():
        run = runs[run_id]
        reruns = [o for o in outs if o.status == "passed" and o.flaky_reruns > 0]
        if reruns:
            found.append(f"passed after {reruns[0].flaky_reruns} rerun(s) in the same JVM in run {run.run_id[:12]}")
            continue
        not_passed = {(o.cell_id, o.attempt) for o in outs}
        for o in outs:
            if (o.status in FAILED and (run_id, o.cell_id, o.attempt + 1) in cells
                    and (o.cell_id, o.attempt + 1) not in not_passed):
                found.append(f"failed on attempt {o.attempt} of cell {o.cell_id}, passed on attempt {o.attempt + 1} "
                             f"in run {run.run_id[:12]}")
                break
    return found


def _last_run_of(test: str, history: History) -> RunRow | None:
    test_id = history.test_ids[test]
    for run in reversed(history.runs):
        if test_id in history.testsets[run.testset]:
            return run
    return None


def classify(test: str, ctx: Context) -> Verdict:
    history = ctx.history
    outcomes = history.outcomes.get(test, [])
    failures = ctx.failures(test)
    retries = retry_passes(outcomes, history.cells)
    if not failures:
        # Only Surefire reruns: it failed and passed within one execution.
        return Verdict("test", True, bool(retries), retries[:3])

    strong = [f for f in failures if f.strong]
    weak = [f for f in failures if f.weak and not f.strong]
    plain = [f for f in failures if not f.strong and not f.weak]
    nodes = {f.node for f in weak + plain if f.node}
    one_node = len(nodes) == 1 and len(ctx.node_share) > 1

    # Rule 2: code. Only possible when the newest run of the test failed it (cheap test first).
    last = _last_run_of(test, history)
    if last is not None and any(f.run.id == last.id for f in weak + plain) and not one_node:
        verdict = _code_verdict(test, ctx, strong, weak, plain)
        if verdict is None and len(history.executions(test)) > 1:
            # Broken on one variant only (say jdk=17) while passing on the others: still code, not flaky.
            for variant in sorted({f.outcome.variant for f in weak + plain}):
                verdict = _code_verdict(test, ctx, strong, weak, plain, variant)
                if verdict:
                    break
        if verdict:
            return verdict

    # Rule 3: infra.
    if not plain:
        return Verdict("infra", False, False, _infra_evidence(strong + weak, failures, ctx),
                       infra_failures=len(failures))
    if len(failures) >= ctx.thresholds.node_min_failures and one_node and not strong:
        node = next(iter(nodes))
        share = ctx.node_share.get(node, 0.0)
        if share < ctx.thresholds.node_max_share:
            evidence = [f"all {len(failures)} failures on node {node}, which ran {share:.0%} of the window's cells"]
            evidence += _infra_evidence(weak, failures, ctx)
            return Verdict("infra", False, False, evidence, infra_failures=len(failures))

    # Rule 4: test (flaky). Infra-explained failures are left out of its numbers.
    counted = {_key(f) for f in plain}
    failing_commits = list(dict.fromkeys(f.run.commit for f in plain))
    several = len(history.executions(test)) > 1
    mixed: list[tuple[CommitCount, str]] = []  # same commit *and* same variant: same code, same config
    for variant in sorted({f.outcome.variant for f in plain}):
        commits = list(dict.fromkeys(f.run.commit for f in plain if f.outcome.variant == variant))
        label = f" ({_variant_label(variant, ctx)})" if several else ""
        mixed += [(c, label) for c in commit_counts(test, history, counted, commits, variant) if c.passes and c.fails]
    mixed.sort(key=lambda m: history.commit_order.get(m[0].commit, 0))
    evidence = []
    for c, label in mixed[:3]:
        evidence.append(f"passed and failed on the same commit {_short(c.commit)}{label}: "
                        f"{c.fails} of {c.fails + c.passes} executions failed")
    if len(mixed) > 3:
        evidence.append(f"... and on {len(mixed) - 3} more commits")
    evidence += retries[:3]
    if not mixed:
        evidence.append(f"{_plural(len(plain), 'failure')} over {_plural(len(failing_commits), 'commit')}, "
                        "with passes on other commits and no failing streak")
    variants = _variant_evidence(test, plain, ctx)
    if variants:
        evidence.append(variants)
    if strong or weak:
        evidence.append(f"{_plural(len(strong) + len(weak), 'other failure')} explained as infra and not counted: "
                        + "; ".join(sorted({(f.strong or f.weak)[0] for f in strong + weak})[:2]))
    return Verdict("test", True, bool(mixed or retries), evidence, infra_failures=len(strong) + len(weak))


def _variant_label(variant: int, ctx: Context) -> str:
    variants = ctx.history.variants
    return variants[variant].label if variant in variants else str(variant)


def _code_verdict(test: str, ctx: Context, strong: list[Failure], weak: list[Failure],
                  plain: list[Failure], variant: int | None = None) -> Verdict | None:
    """A failing streak up to the newest run, with no unexplained failure before it (on one *variant*)."""
    history = ctx.history
    if variant is not None:
        strong, weak, plain = ([f for f in group if f.outcome.variant == variant] for group in (strong, weak, plain))
    counts = commit_counts(test, history, {_key(f) for f in weak + plain}, variant=variant)
    active = [c for c in counts if c.passes or c.fails]
    k = len(active)
    while k > 0 and active[k - 1].passes == 0 and active[k - 1].fails > 0:
        k -= 1
    suffix = active[k:]
    # Before the streak only unexplained failures count: an earlier outage does not hide a later regression.
    streak = {c.commit for c in suffix}
    failing_before = any(f.run.commit not in streak for f in plain)
    streak_runs = sum(c.failing_runs for c in suffix)
    if not suffix or failing_before or streak_runs < ctx.thresholds.code_min_runs:
        return None
    fails = sum(c.fails for c in suffix)
    if k == 0:
        evidence = [f"failed all {_plural(fails, 'execution')} in {_plural(streak_runs, 'run')} over "
                    f"{_plural(len(suffix), 'commit')} since first seen in this window (commit {_short(suffix[0].commit)}); "
                    "it never passed here, so there is no last passing commit in the window"]
    else:
        last = active[k - 1]
        evidence = [f"starts failing at commit {_short(suffix[0].commit)} and keeps failing: "
                    f"{fails} of {fails} executions in {_plural(streak_runs, 'run')} over {_plural(len(suffix), 'commit')}",
                    f"last passing commit {_short(last.commit)} ({_plural(last.passes, 'passing execution')})"]
    if variant is not None:
        evidence.insert(0, f"fails only on {_variant_label(variant, ctx)}; other variants pass")
    messages = sorted({f.outcome.message.splitlines()[0][:160] for f in weak + plain if f.outcome.message})
    if messages:
        evidence.append(f"failure message: {messages[0]}")
    if strong:
        evidence.append(f"{_plural(len(strong), 'other failure')} matched infra signatures and were not counted")
    return Verdict("code", False, False, evidence, suffix[0].commit, active[k - 1].commit if k else "",
                   infra_failures=len(strong))


def _infra_evidence(explained: Sequence[Failure], failures: Sequence[Failure], ctx: Context) -> list[str]:
    reasons: dict[str, int] = {}
    for f in explained:
        reason = (f.strong or f.weak)[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    evidence = [f"{reason}" + (f" (x{n})" if n > 1 else "") for reason, n in sorted(reasons.items(), key=lambda x: -x[1])[:4]]
    nodes = {f.node for f in failures if f.node}
    if len(nodes) == 1 and len(ctx.node_share) > 1:
        node = next(iter(nodes))
        evidence.append(f"every failure ran on node {node} ({ctx.node_share.get(node, 0):.0%} of the window's cells)")
    times = sorted(f.run.started_at for f in failures)
    runs = ctx.history.runs
    if len(times) > 1 and runs:
        span = times[-1] - times[0]
        window = runs[-1].started_at - runs[0].started_at
        if window > 0 and span < 0.2 * window:
            evidence.append(f"all failures within {span / 3600:.1f} h of a {window / 86400:.1f}-day window")
    return evidence


def _variant_evidence(test: str, counted: Sequence[Failure], ctx: Context) -> str:
    """'all failures on test jdk=17 (none in 40 executions on the other variant)'."""
    fails = {f.outcome.variant for f in counted}
    if len(fails) != 1:
        return ""
    executions = ctx.history.executions(test)
    if len(executions) < 2:
        return ""
    bad = next(iter(fails))
    others = [v for v in executions if v != bad]
    label = _variant_label(bad, ctx)
    other_runs = sum(executions[v] for v in others)
    return f"all failures on {label} (none in {other_runs} executions on the other {_plural(len(others), 'variant')})"
