"""Honest reporting of test results: every number with its uncertainty (see docs/honest-scores.md).

Entry points for the LMS: :func:`report_attempt` and :func:`report_growth`.
"""

from reading_tests.reporting.attempt import (
    AnsweredItem,
    AttemptReport,
    SkillReport,
    report_attempt,
    report_growth,
)
from reading_tests.reporting.engagement import Engagement, assess_engagement, lz_star, rapid_thresholds
from reading_tests.reporting.growth import GrowthReport, growth
from reading_tests.reporting.intervals import BandStatement, ScoreReport, band_probabilities
from reading_tests.reporting.norms import GradeNorms, GradePosition
from reading_tests.reporting.skills import AddedValue, SkillItems, added_value, skill_posteriors

__all__ = [
    "AddedValue",
    "AnsweredItem",
    "AttemptReport",
    "BandStatement",
    "Engagement",
    "GradeNorms",
    "GradePosition",
    "GrowthReport",
    "ScoreReport",
    "SkillItems",
    "SkillReport",
    "added_value",
    "assess_engagement",
    "band_probabilities",
    "growth",
    "lz_star",
    "rapid_thresholds",
    "report_attempt",
    "report_growth",
    "skill_posteriors",
]
