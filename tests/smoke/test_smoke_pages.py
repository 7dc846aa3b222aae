"""The smoke check reads product pages of both productpage templates the way a reader does."""

from __future__ import annotations

import pytest

from smoke.classify import classify_page
from tests.smoke.fake_productpage import (
    BLACK_STARS,
    FOREIGN_PAGE,
    MIXED_STARS,
    NO_STARS,
    RATINGS_ERROR,
    RED_STARS,
    REVIEWS_ERROR,
    TEMPLATES,
    render,
)

WHAT_A_READER_SEES = {
    NO_STARS: "v1",
    BLACK_STARS: "v2",
    RED_STARS: "v3",
    RATINGS_ERROR: "ratings-unavailable",
    REVIEWS_ERROR: "reviews-unavailable",
    FOREIGN_PAGE: "unrecognized",
    MIXED_STARS: "unrecognized",
}


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize(("page", "outcome"), WHAT_A_READER_SEES.items())
def test_each_page_is_classified_as_a_reader_would(template, page, outcome):
    assert classify_page(render(page, template=template)) == outcome


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_signed_in_user_does_not_change_the_class(template):
    # The navigation bar shows the user's name; it must not be mistaken for anything.
    assert classify_page(render(RED_STARS, template=template, user="jason")) == "v3"


def test_red_error_text_alone_is_not_red_stars():
    # Tailwind colours the ratings error text-red-500 as well as red stars.
    page = render(RATINGS_ERROR, template="tailwind")
    assert "text-red-500" in page
    assert classify_page(page) == "ratings-unavailable"


def test_empty_stars_alone_are_not_a_rating():
    page = render(NO_STARS).replace(
        "<small>Reviewer1</small>",
        '<small>Reviewer1</small><font color="black">'
        '<span class="glyphicon glyphicon-star-empty"></span></font>',
    )
    assert classify_page(page) == "v1"
