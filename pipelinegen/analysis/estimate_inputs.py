"""The inputs of a turnaround/cost estimate, each with where it came from.

An estimate is only as honest as its inputs, so every one is labelled: given on the command line, declared in
pipeline.yaml (with its line and, for prices, the price list it names), or a built-in default. The report
prints these labels next to the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipelinegen.errors import Location, PipelineError
from pipelinegen.model.pipeline import Pipeline

GIVEN = "given (command line)"


def _declared(what: str, location: Location | None) -> str:
    where = f"{location.file}:{location.line}" if location is not None else "pipeline.yaml"
    return f"declared in {where} ({what})"


@dataclass(frozen=True)
class EstimateInputs:
    agents: dict[str, int]  # resource class (or agent label) -> agents in the simulated pool
    agents_origin: dict[str, str]
    prices: dict[str, float]  # per agent-hour
    prices_origin: dict[str, str]
    currency: str  # "" when no price is known
    runs_per_year: int | None  # None: unknown, no yearly cost
    runs_origin: str
    missing: tuple[str, ...] = field(default=())  # what could not be had, said in the report

    def lines(self) -> list[str]:
        """One line per input: its value and where it came from."""
        out = []
        for name in sorted(self.agents):
            out.append(f"pool {name}: {self.agents[name]} agents, {self.agents_origin.get(name, GIVEN)}")
        for name in sorted(self.prices):
            out.append(f"price {name}: {self.prices[name]:g} {self.currency} per agent-hour, "
                       f"{self.prices_origin.get(name, GIVEN)}")
        if self.runs_per_year is None:
            out.append("runs per year: unknown (declare runs_per_year on the profile or give --runs-per-year)")
        else:
            out.append(f"runs per year: {self.runs_per_year}, {self.runs_origin}")
        out.extend(self.missing)
        return out


def resolve_inputs(pipeline: Pipeline | None, profile: str, used_classes: Sequence[str],
                   agents_given: Mapping[str, int], prices_given: Mapping[str, float],
                   runs_given: int | None, currency_given: str = "") -> EstimateInputs:
    """Command line first, then pipeline.yaml; what neither gives is reported missing, never invented.

    Raises PipelineError when no pool can be had for a class the plan uses (the estimate needs one)."""
    resources = {r.name: r for r in pipeline.resources} if pipeline is not None else {}
    agents = dict(agents_given)
    agents_origin = {name: GIVEN for name in agents}
    missing_pool = []
    for name in used_classes:
        if name in agents:
            continue
        resource = resources.get(name)
        if resource is not None and resource.instance_cap:
            agents[name] = resource.instance_cap
            agents_origin[name] = _declared("instance_cap", resource.location)
        else:
            missing_pool.append(name)
    if missing_pool:
        raise PipelineError.single(
            "pipeline.yaml" if pipeline is not None else "--agents", None,
            f"no pool size for resource class{'es' * (len(missing_pool) > 1)} {', '.join(missing_pool)}",
            hint=f"declare instance_cap on {'them' if len(missing_pool) > 1 else 'it'} in pipeline.yaml, or give "
                 f"--agents {','.join(f'{n}=N' for n in missing_pool)}, or --target-minutes")

    prices = dict(prices_given)
    prices_origin = {name: GIVEN for name in prices}
    currencies = {currency_given} if currency_given and prices_given else set()
    missing = []
    for name in used_classes:
        if name in prices:
            continue
        resource = resources.get(name)
        if resource is not None and resource.price is not None:
            prices[name] = resource.price.per_hour
            source = f"; source: {resource.price.source}" if resource.price.source else ""
            prices_origin[name] = _declared("price", resource.location) + source
            currencies.add(resource.price.currency)
        elif prices:
            missing.append(f"price {name}: unknown, its agent-hours are not in the cost (declare resources[].price "
                           "or give --price)")
    if len(currencies) > 1:
        raise PipelineError.single("--price", None, f"prices in several currencies: {', '.join(sorted(currencies))}",
                                   hint="give --currency matching pipeline.yaml, or price every class on the command line")
    currency = next(iter(currencies), "") if prices else ""
    if prices and not currency:
        currency = "(currency not given)"

    runs_origin = ""
    runs = runs_given
    if runs is not None:
        runs_origin = GIVEN
    elif pipeline is not None:
        declared = next((p for p in pipeline.profiles if p.name == profile), None)
        if declared is not None and declared.runs_per_year is not None:
            runs = declared.runs_per_year
            runs_origin = _declared(f"profile {profile} runs_per_year", declared.location)
    return EstimateInputs(agents=agents, agents_origin=agents_origin, prices=prices, prices_origin=prices_origin,
                          currency=currency, runs_per_year=runs, runs_origin=runs_origin, missing=tuple(missing))
