"""Conditions over checklist answers, shared by the checklist (``ask_if``) and the scoring
rules (``when``), so a clinical lead writes both in one small language:

    always                                  # only as an ask_if
    {item: asq5, in: ["yes"]}               # the item was answered with one of the values
    {any_item_in: [declined, unsure]}        # some answered item has one of the values
    {ref: screen_positive}                  # a named condition (scoring rules only)
    {any: [cond, ...]} / {all: [cond, ...]} / {not: cond}

An unanswered item matches no ``in`` list, so ``{not: {item: x, in: [no]}}`` holds while
``x`` is unanswered. Evaluation is pure and total: it never raises on missing answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ItemIn(_Strict):
    item: str
    values: tuple[str, ...] = Field(alias="in", min_length=1)

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return answers.get(self.item) in self.values


class AnyItemIn(_Strict):
    any_item_in: tuple[str, ...] = Field(min_length=1)

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return any(value in self.any_item_in for value in answers.values())


class Ref(_Strict):
    ref: str

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return named[self.ref].holds(answers, named)


class AnyOf(_Strict):
    any: tuple[Condition, ...] = Field(min_length=1)

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return any(c.holds(answers, named) for c in self.any)


class AllOf(_Strict):
    all: tuple[Condition, ...] = Field(min_length=1)

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return all(c.holds(answers, named) for c in self.all)


class Not(_Strict):
    not_: Condition = Field(alias="not")

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return not self.not_.holds(answers, named)


class Always(_Strict):
    """``always``; written in YAML as the bare word."""

    always: Literal[True] = True

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        return {"always": True} if value == "always" else value

    def holds(self, answers: Mapping[str, str], named: Mapping[str, Condition]) -> bool:
        return True


Condition = Annotated[
    Union[Always, ItemIn, AnyItemIn, Ref, AnyOf, AllOf, Not],  # noqa: UP007
    Field(union_mode="left_to_right"),
]
for _model in (ItemIn, AnyItemIn, Ref, AnyOf, AllOf, Not):
    _model.model_rebuild()


def walk(condition: Condition) -> Iterator[Condition]:
    """Every condition in the tree, the root first."""
    yield condition
    children: tuple[Condition, ...] = ()
    if isinstance(condition, AnyOf):
        children = condition.any
    elif isinstance(condition, AllOf):
        children = condition.all
    elif isinstance(condition, Not):
        children = (condition.not_,)
    for child in children:
        yield from walk(child)
