"""The small rules `survey init` reads an export by: known scales, option order, ids."""

from __future__ import annotations

from pipeline.survey.infer.questions import _order, question_slug, slug
from pipeline.survey.infer.scales import match_scale


def test_an_agreement_scale_is_ordered_with_dont_know_last():
    m = match_scale(["Agree", "Don't know", "Strongly disagree", "Strongly agree", "Disagree"])
    assert m is not None and m.scale.name == "agreement"
    assert m.ordered == ("Strongly agree", "Agree", "Disagree", "Strongly disagree", "Don't know")


def test_a_favourability_matrix_scale_with_unfamiliar_is_known():
    labels = ["Very favorably", "Somewhat unfavorably", "Unfamiliar (N/A)", "Somewhat favorably"]
    m = match_scale(labels)
    assert m is not None and m.scale.name == "favourability"
    assert m.ordered[-1] == "Unfamiliar (N/A)"


def test_answers_outside_every_scale_are_not_a_scale():
    assert match_scale(["Agree", "Pizza"]) is None
    assert match_scale(["Agree"]) is None  # one point is not a scale


def test_bands_are_ordered_by_their_numbers_with_open_ends_and_non_answers_placed():
    values = ["Between 1 and 3 years", "Over 5 years", "Under 1 year", "Prefer not to say"]
    ordered, how = _order(values, dict.fromkeys(values, 1))
    assert ordered == ["Under 1 year", "Between 1 and 3 years", "Over 5 years", "Prefer not to say"]
    assert "number" in how


def test_unnumbered_options_are_ordered_by_frequency():
    ordered, how = _order(["No", "Yes"], {"No": 3, "Yes": 9})
    assert ordered == ["Yes", "No"] and "frequency" in how


def test_ids_are_short_snake_case_without_filler_words():
    assert question_slug("Which of the following best describes your main role?") == (
        "best_describes_main_role"
    )
    assert slug("> 60") == "over_60"
    assert slug("$200,000 and up") == "200_000_and_up"
