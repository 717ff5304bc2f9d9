"""Interaction mutations, from the kit: create, update, delete and restore of interaction
types, interactions and survey answers."""

from __future__ import annotations

import strawberry

from graphql_api.interactions.types import (
    InteractionInput,
    InteractionNode,
    InteractionTypeInput,
    InteractionTypeType,
    SurveyResponseInput,
    SurveyResponseNode,
)
from graphql_api.kit import crud_mutations
from modules.interactions import service

InteractionTypeMutations = crud_mutations(service.interaction_types, InteractionTypeType,
                                          InteractionTypeInput)
InteractionCrudMutations = crud_mutations(service.interactions, InteractionNode,
                                          InteractionInput)
SurveyResponseMutations = crud_mutations(service.survey_responses, SurveyResponseNode,
                                         SurveyResponseInput)


@strawberry.type
class InteractionMutations(InteractionTypeMutations,  # type: ignore[misc,valid-type]
                           InteractionCrudMutations,  # type: ignore[misc,valid-type]
                           SurveyResponseMutations):  # type: ignore[misc,valid-type]
    pass
