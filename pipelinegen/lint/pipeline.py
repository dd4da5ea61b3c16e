"""Structural rules: where `pipeline` may be, its sections, stages, steps, parallel and matrix.

Mirrors ModelParser.parse / parsePipelineStep / parseStages / parseStage / parseParallel / parseMatrix /
parseAxis / parseExclude / parseStep and ModelValidatorImpl.validateElement for ModelASTPipelineDef,
ModelASTStages, ModelASTStage, ModelASTBranch, ModelASTMatrix and the axes; blocked steps mirror
BlockedStepsAndMethodCalls.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipelinegen.lint import catalogue as cat
from pipelinegen.lint import sections as sec
from pipelinegen.lint.astutil import Node, block, method_call, method_name, statements, string_literal
from pipelinegen.lint.context import LintContext
from pipelinegen.lint.describables import check_step
from pipelinegen.lint.values import (
    MethodCall,
    Value,
    parse_arguments,
    parse_boolean,
    parse_method_call,
    parse_method_name,
    parse_value,
)

_RENAMED = {
    "properties": "the `properties` section was renamed `options`",
    "wrappers": "the `wrappers` section was removed; use `options`",
    "jobProperties": "the `jobProperties` section was renamed `options`",
    "notifications": "the `notifications` section was removed; use `post`",
    "postBuild": "the `postBuild` section was renamed `post`",
}
_TOP_SECTIONS = ("stages", "environment", "post", "agent", "tools", "options", "parameters", "triggers", "libraries")
_STAGE_SECTIONS = ("agent", "when", "steps", "post", "options", "input", "tools", "environment", "parallel",
                   "matrix", "failFast", "stages")
_MATRIX_SECTIONS = ("axes", "excludes", "agent", "when", "post", "options", "input", "tools", "environment", "stages")


def is_pipeline_step(stmt: Node) -> bool:
    """ASTParserUtils.isDeclarativePipelineStep (top level): `pipeline { ... }` with the closure only."""
    match = block(stmt)
    return match is not None and match.name == "pipeline" and len(match.call["args"]) == 1


@dataclass
class Stage:
    node: Node
    name: str | None
    branches: list[tuple[str, Node]] = field(default_factory=list)  # (branch name, node) of `steps`
    parallel: Node | None = None
    matrix: Node | None = None
    stages: Node | None = None
    agent: Node | None = None
    tools: Node | None = None


class DeclarativeLinter:
    """Walks one file's AST the way ModelParser does and reports what ModelParser/ModelValidator reject."""

    def __init__(self, ctx: LintContext, catalogue: cat.Catalogue = cat.DEFAULT_CATALOGUE):
        self.ctx = ctx
        self.catalogue = catalogue

    # --- entry point ----------------------------------------------------------------------------------------

    def lint_module(self, module: dict) -> bool:
        """ModelParser.parse: returns True when the file holds a declarative pipeline."""
        top = module.get("statements", [])
        found = next((s for s in top if is_pipeline_step(s)), None)
        if found is not None:
            self.lint_pipeline(found)
            return True
        # Shared-library style `def call() { pipeline { ... } }` (ModelParser.parse: PipelineStepFinder).
        for method in module.get("call_methods", []):
            for stmt in method:
                if is_pipeline_step(stmt) and self._has_agent_and_stages(stmt):
                    self.lint_pipeline(stmt)
                    return True
        for stmt in top:
            self._nested_pipeline(stmt)
        return False

    def _has_agent_and_stages(self, stmt: Node) -> bool:
        names = {method_name(c) for c in map(method_call, block(stmt).statements) if c}
        return {"agent", "stages"} <= names

    def _nested_pipeline(self, stmt: Node) -> None:
        """ModelParser.checkForNestedPipelineStep."""
        match = block(stmt)
        if match is None:
            return
        if match.name == "pipeline":
            self.ctx.error(stmt, "pipeline-top-level", "`pipeline` must be at the top level of the file, "
                           "not inside another block", "move `pipeline { ... }` out of the enclosing block")
        for s in match.statements:
            self._nested_pipeline(s)

    # --- pipeline -------------------------------------------------------------------------------------------

    def lint_pipeline(self, stmt: Node) -> None:
        """ModelParser.parsePipelineStep + ModelValidatorImpl.validateElement(ModelASTPipelineDef)."""
        ctx = self.ctx
        match = block(stmt)
        seen: Counter[str] = Counter()
        for s in match.statements:
            call = method_call(s)
            if call is None:
                ctx.error(s, "section-invalid", f'not a valid section definition: "{ctx.snippet(s)}"',
                          "a section needs a value or a block, e.g. `agent any`")
                continue
            name = parse_method_name(ctx, call) or "error"
            seen[name] += 1
            if seen[name] == 2:
                ctx.error(s, "section-duplicate", f"the `{name}` section appears more than once")
            if name in _RENAMED:
                ctx.error(s, "section-unknown", _RENAMED[name])
            elif name not in _TOP_SECTIONS:
                ctx.error(s, "section-unknown", f'undefined section "{name}" in `pipeline`',
                          f"sections: {', '.join(_TOP_SECTIONS)}")
            else:
                self._common_section(s, name, in_stage=False)
        for required in ("agent", "stages"):
            if not seen[required]:
                ctx.error(stmt, "required-section", f'missing required section "{required}" in `pipeline`')

    def _common_section(self, s: Node, name: str, in_stage: bool) -> None:
        ctx = self.ctx
        if name == "stages":
            self.lint_stages(s, within_parallel=False)
        elif name == "environment":
            sec.parse_environment(ctx, s)
        elif name == "post":
            sec.parse_post(ctx, s, self._branch)
        elif name == "agent":
            sec.parse_agent(ctx, s, self.catalogue)
        elif name == "tools":
            sec.parse_tools(ctx, s)
        elif name == "options":
            calls = sec.parse_directive_calls(ctx, s, "options")
            if calls is not None:
                sec.check_options(ctx, calls, in_stage)
        elif name in ("parameters", "triggers"):
            sec.parse_directive_calls(ctx, s, name)
        elif name == "libraries":
            sec.parse_libraries(ctx, s)
        elif name == "when":
            sec.parse_when(ctx, s)
        elif name == "input":
            sec.parse_input(ctx, s)

    # --- stages ---------------------------------------------------------------------------------------------

    def lint_stages(self, stmt: Node, within_parallel: bool, section: str = "stages") -> list[Stage]:
        """ModelParser.parseStages/parseParallel + ModelValidatorImpl.validateElement(ModelASTStages)."""
        match = sec.expect_block(self.ctx, stmt, section)
        if match is None:
            return []
        stages = [st for st in (self.lint_stage(s, within_parallel) for s in match.statements) if st]
        if not match.statements:
            self.ctx.error(match.call, "stages-empty", f"no stages specified in `{section}`")
        names = Counter(st.name for st in stages if st.name is not None)
        for st in stages:
            if st.name is not None and names[st.name] > 1:
                names[st.name] = 0  # report each duplicate name once, at its second occurrence
                later = [o for o in stages if o.name == st.name][1:]
                self.ctx.error(later[0].node if later else st.node, "stage-duplicate-name",
                               f'duplicate stage name: "{st.name}"', "stage names must be unique in a pipeline",
                               jenkins_block=stmt)
        return stages

    def lint_stage(self, stmt: Node, within_parallel: bool) -> Stage | None:
        """ModelParser.parseStage + ModelValidatorImpl.validateElement(ModelASTStage, isWithinParallel)."""
        ctx = self.ctx
        match = block(stmt)
        if match is None or match.name != "stage":
            ctx.error(stmt, "stage-expected", f"expected a stage, got {ctx.snippet(stmt)}",
                      "only `stage('name') { ... }` may appear here")
            return None
        args = match.call["args"]
        if len(args) < 2 or args[1].get("t") != "closure":
            if len(args) == 1:
                ctx.error(stmt, "stage-name", "the stage has no name", "write `stage('name') { ... }`")
            else:
                ctx.error(stmt, "stage-without-block", "the stage has no block")
            return None
        name = string_literal(args[0])
        if name is None:
            ctx.error(args[0], "string-literal", f"a stage name must be a string literal, got {ctx.source(args[0])}")
        stage = Stage(node=stmt, name=name)
        label = name if name is not None else "error"
        seen: Counter[str] = Counter()
        for s in statements(args[1].get("code")):
            call = method_call(s)
            if call is None:
                ctx.error(s, "section-invalid", f'not a valid stage section definition: "{ctx.snippet(s)}"',
                          "a section needs a value or a block")
                continue
            section = parse_method_name(ctx, call) or "error"
            seen[section] += 1
            if seen[section] == 2:
                ctx.error(s, "section-duplicate", f"the `{section}` section appears more than once in stage \"{label}\"")
            if section not in _STAGE_SECTIONS:
                ctx.error(s, "section-unknown", f'unknown stage section "{section}"',
                          "steps of a stage go in a `steps { ... }` block")
            elif section == "steps":
                self._steps_section(stage, s)
            elif section == "parallel":
                stage.parallel = s
                self.lint_stages(s, within_parallel=True, section="parallel")
            elif section == "matrix":
                stage.matrix = s
                self.lint_matrix(s)
            elif section == "stages":
                stage.stages = s
                self.lint_stages(s, within_parallel)
            elif section == "failFast":
                parse_boolean(ctx, call, "failFast")
            else:
                if section == "agent":
                    stage.agent = s
                elif section == "tools":
                    stage.tools = s
                self._common_section(s, section, in_stage=True)
        self._validate_stage(stage, label, within_parallel)
        return stage

    def _validate_stage(self, stage: Stage, label: str, within_parallel: bool) -> None:
        ctx = self.ctx
        count = sum(1 for x in (stage.branches, stage.parallel, stage.matrix, stage.stages) if x)
        if within_parallel and (len(stage.branches) > 1 or stage.parallel or stage.matrix):
            where = stage.matrix or stage.parallel or stage.branches[0][1]
            ctx.error(where, "nested-parallel", '"matrix" or "parallel" cannot be nested inside another '
                      '"matrix" or "parallel"', "flatten the stages or move the nesting to the top level")
        elif count > 1:
            ctx.error(stage.node, "stage-content", f'only one of "matrix", "parallel", "stages" or "steps" is '
                      f'allowed in stage "{label}"')
        elif count == 0:
            ctx.error(stage.node, "stage-content", f'stage "{label}" has none of "steps", "stages", "parallel" '
                      'or "matrix"', "add `steps { ... }`")
        elif stage.parallel or stage.matrix:
            if stage.agent:
                ctx.error(stage.agent, "nested-agent-tools", f'"agent" is not allowed in stage "{label}" because '
                          "it contains parallel or matrix stages", "put `agent` in each inner stage")
            if stage.tools:
                ctx.error(stage.tools, "nested-agent-tools", f'"tools" is not allowed in stage "{label}" because '
                          "it contains parallel or matrix stages", "put `tools` in each inner stage")
        else:
            names = Counter(n for n, _ in stage.branches)
            for n, c in names.items():
                if c > 1:
                    ctx.error(stage.node, "parallel-branch", f'duplicate parallel branch name: "{n}"')

    # --- steps ----------------------------------------------------------------------------------------------

    def _steps_section(self, stage: Stage, s: Node) -> None:
        """The `steps` case of ModelParser.parseStage, with `parallel(a: {...})` as its only step."""
        match = sec.expect_block(self.ctx, s, "steps")
        if match is None:
            return
        body = match.statements
        if len(body) == 1 and self._is_parallel_call(body[0]):
            for branch_name, closure in self._parallel_branches(method_call(body[0])):
                stage.branches.append((branch_name, closure))
                self._branch(closure, statements(closure.get("code")))
        elif not stage.branches:
            stage.branches.append(("default", s))
            self._branch(match.call, body)

    @staticmethod
    def _is_parallel_call(stmt: Node) -> bool:
        call = method_call(stmt)
        return call is not None and method_name(call) == "parallel"

    def _parallel_branches(self, call: Node) -> list[tuple[str, Node]]:
        """ModelParser.matchParallel: `parallel name: { ... }, failFast: true`."""
        ctx = self.ctx
        args = call.get("args", [])
        branches: list[tuple[str, Node]] = []
        if len(args) == 1 and args[0].get("t") == "map" and args[0].get("named"):
            for entry in args[0]["entries"]:
                key = string_literal(entry["k"])
                value = entry["v"]
                if key == "failFast":
                    if not (value.get("t") == "const" and value.get("vt") == "bool"):
                        ctx.error(entry, "expected-boolean", "`failFast` expects a boolean literal (true or false)")
                elif value.get("t") != "closure":
                    ctx.error(entry, "parallel-branch", f"parallel branch {ctx.source(entry['k'])} must be a closure "
                              "(or failFast)")
                else:
                    if key is None:
                        ctx.error(entry["k"], "string-literal", "a parallel branch name must be a string literal")
                    branches.append((key or "error", value))
        return branches

    def _branch(self, owner: Node, body: list[Node]) -> None:
        """ModelParser.parseBranch + ModelValidatorImpl.validateElement(ModelASTBranch)."""
        if not body:
            self.ctx.error(owner, "steps-empty", "no steps specified", "add a step, e.g. `echo 'nothing to do'`")
        for st in body:
            self._step(st)

    def _step(self, st: Node) -> None:
        """ModelParser.parseStep + BlockedStepsAndMethodCalls.validateElement(ModelASTStep)."""
        ctx = self.ctx
        call = method_call(st)
        if call is None:
            ctx.error(st, "step-expected", f"expected a step, got {ctx.snippet(st)}",
                      "wrap Groovy code in `script { ... }`")
            return
        name = parse_method_name(ctx, call)
        if name is None:
            return
        match = block(st)
        if name in ("script", "expression"):
            if match is None:
                ctx.error(call, "code-block", f"`{name}` needs a block: `{name} {{ ... }}`")
            return
        if name in cat.BLOCKED_IN_STEPS:
            ctx.error(call, "blocked-step", f'step "{name}" is not allowed in `steps`: {cat.BLOCKED_IN_STEPS[name]}')
        args = call.get("args", [])
        named, positional = parse_arguments(ctx, args[:-1] if match is not None else args)
        check_step(ctx, call, name, named, positional, takes_block=match is not None)
        if match is not None:
            for child in match.statements:
                self._step(child)

    # --- matrix ---------------------------------------------------------------------------------------------

    def lint_matrix(self, stmt: Node) -> None:
        """ModelParser.parseMatrix + ModelValidatorImpl.validateElement(ModelASTMatrix and its axes)."""
        ctx = self.ctx
        match = sec.expect_block(ctx, stmt, "matrix")
        if match is None:
            return
        seen: Counter[str] = Counter()
        for s in match.statements:
            call = method_call(s)
            if call is None:
                ctx.error(s, "section-invalid", f'not a valid matrix section definition: "{ctx.source(s)}"')
                continue
            name = parse_method_name(ctx, call) or "error"
            seen[name] += 1
            if seen[name] == 2:
                ctx.error(s, "section-duplicate", f"the `{name}` section appears more than once in `matrix`")
            if name not in _MATRIX_SECTIONS:
                ctx.error(s, "section-unknown", f'undefined section "{name}" in `matrix`',
                          f"sections: {', '.join(_MATRIX_SECTIONS)}")
            elif name == "axes":
                self._axes(s)
            elif name == "excludes":
                self._excludes(s)
            elif name == "stages":
                self.lint_stages(s, within_parallel=True)
            else:
                self._common_section(s, name, in_stage=True)
        for required in ("axes", "stages"):
            if not seen[required]:
                ctx.error(stmt, "required-section", f'missing required section "{required}" in `matrix`')

    def _axes(self, stmt: Node) -> None:
        match = sec.expect_block(self.ctx, stmt, "axes")
        if match is None:
            return
        names = [self._axis(s, exclude=False) for s in match.statements]
        if not match.statements:
            self.ctx.error(match.call, "matrix-axes", "no axis specified in `axes`")
        self._duplicate_axis_names(names)

    def _excludes(self, stmt: Node) -> None:
        match = sec.expect_block(self.ctx, stmt, "excludes")
        if match is None:
            return
        if not match.statements:
            self.ctx.error(match.call, "matrix-excludes", "no exclude specified in `excludes`")
        for s in match.statements:
            exclude = sec.expect_block(self.ctx, s, "exclude")
            if exclude is None:
                continue
            if not exclude.statements:
                self.ctx.error(exclude.call, "matrix-excludes", "no axis specified in `exclude`")
            self._duplicate_axis_names([self._axis(a, exclude=True) for a in exclude.statements])

    def _duplicate_axis_names(self, names: list[tuple[str, Node] | None]) -> None:
        counts = Counter(n for n, _ in filter(None, names) if n)
        for entry in filter(None, names):
            n, node = entry
            if n and counts[n] > 1:
                counts[n] = 0
                self.ctx.error(node, "matrix-axis", f'duplicate axis name: "{n}"')

    def _axis(self, stmt: Node, exclude: bool) -> tuple[str, Node] | None:
        """ModelParser.parseAxis / parseExcludeAxis + ModelValidatorImpl.validateElement(ModelASTAxis)."""
        ctx = self.ctx
        match = sec.expect_block(ctx, stmt, "axis")
        if match is None:
            return None
        seen: set[str] = set()
        name: tuple[str, Node] | None = None
        values: list[object] = []
        for s in match.statements:
            call = method_call(s)
            if call is None:
                ctx.error(s, "section-invalid", f'not a valid axis definition: "{ctx.source(s)}"')
                continue
            parsed = parse_method_call(ctx, call)
            field_name = parsed.name or "error"
            if field_name in seen:
                ctx.error(s, "section-duplicate", f"`{field_name}` appears more than once in the axis")
            if exclude and {field_name, *seen} >= {"values", "notValues"}:
                ctx.error(s, "matrix-axis", 'an exclude axis has either "values" or "notValues", not both')
            seen.add(field_name)
            if field_name == "name":
                args = call.get("args", [])
                if len(args) != 1:
                    ctx.error(call, "matrix-axis", "`name` takes exactly one argument")
                    continue
                text = string_literal(args[0])
                if text is None:
                    ctx.error(args[0], "string-literal", f"axis name must be a string literal, got {ctx.source(args[0])}")
                    text = ""
                name = (text, args[0])
                if not sec.valid_env_identifier(text):
                    ctx.error(args[0], "matrix-axis", f'axis name "{text}" is not a valid identifier',
                              "axis names become environment variables: letters, digits and underscores")
            elif field_name in ("values",) or (exclude and field_name == "notValues"):
                values.extend(parsed.positional)
                values.extend(v for _, v in parsed.named)
            else:
                ctx.error(s, "section-unknown", f'undefined axis field "{field_name}"')
        if name is None:
            ctx.error(stmt, "required-section", 'missing "name" in axis')
        if not values:
            ctx.error(stmt, "required-section", 'missing "values" in axis')
        keys = Counter(v.key() for v in values if isinstance(v, Value))
        for v in values:
            if isinstance(v, MethodCall):
                ctx.error(v.node, "matrix-axis", f"axis values must be string literals, got {ctx.source(v.node)}")
            elif not v.literal:
                ctx.error(v.node, "matrix-axis", f"axis values must be string literals, got {ctx.source(v.node)}")
            elif keys[v.key()] > 1:
                keys[v.key()] = 0
                ctx.error(v.node, "matrix-axis", f'duplicate axis value: "{v.value}"')
        return name


def lint_module(ctx: LintContext, module: dict, catalogue: cat.Catalogue = cat.DEFAULT_CATALOGUE) -> bool:
    return DeclarativeLinter(ctx, catalogue).lint_module(module)


__all__ = ["lint_module", "is_pipeline_step", "DeclarativeLinter", "parse_value"]
