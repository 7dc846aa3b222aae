"""What one product page shows: the outcome classes and the page classifier.

productpage renders the reviews it got from the reviews service. What a reader sees tells
which reviews version answered and whether a call behind it failed:

- reviews v1 calls no ratings, so its reviews have no stars;
- reviews v2 and v3 call ratings and colour the stars black (v2) or red (v3);
- if ratings fails, v2/v3 still answer, and each review says "Ratings service is currently
  unavailable" instead of stars;
- if reviews fails or is too slow (productpage waits 3 s per try, two tries), the page says
  "Sorry, product reviews are currently unavailable for this book."

Two page templates are recognised. Up to Bookinfo 1.18 the page used Bootstrap: stars are
`<span class="glyphicon glyphicon-star">` inside `<font color="black|red">`. Later images
(the lab deploys 1.20.3) use Tailwind: stars are `<svg>` inside
`<div class="flex gap-x-1 text-black-500|text-red-500">`. The texts above are the same in both.
"""

from __future__ import annotations

import re

from plan.scenarios import (
    PAGE_OUTCOMES,
    RATINGS_UNAVAILABLE,
    REVIEWS_UNAVAILABLE,
    V1,
    V2,
    V3,
)

# HTTP status >= 400, a refused or reset connection, or no complete answer within --timeout.
ERROR = "error"
# A successful answer that is not Bookinfo's product page as either template renders it.
UNRECOGNIZED = "unrecognized"

# Report order.
OUTCOMES = (*PAGE_OUTCOMES, ERROR, UNRECOGNIZED)

STAR_COLOR_VERSIONS = {"black": V2, "red": V3}

REVIEWS_UNAVAILABLE_TEXT = "Sorry, product reviews are currently unavailable for this book."
RATINGS_UNAVAILABLE_TEXT = "Ratings service is currently unavailable"

# The heading productpage shows only when reviews answered (both templates).
_REVIEWS_HEADING = re.compile(r">\s*Book Reviews\s*<")
# Bootstrap template: the full-star glyph, as opposed to glyphicon-star-empty.
_BOOTSTRAP_STARS = re.compile(r'<font color="(?P<color>[a-z]+)">(?P<inner>.*?)</font>', re.DOTALL)
_BOOTSTRAP_FULL_STAR = re.compile(r'class="glyphicon glyphicon-star"')
# Tailwind template: a div coloured text-<color>-500 whose first child is a star svg. The
# "Error fetching..." and rating error paragraphs use text-red-500 too, but hold no svg.
_TAILWIND_STARS = re.compile(
    r'<div class="[^"]*\btext-(?P<color>[a-z]+)-500\b[^"]*">\s*<svg', re.DOTALL
)


def star_colors(page: str) -> set[str]:
    """The colours of the star ratings on `page`; empty when it shows no stars."""
    colors = {
        match["color"]
        for match in _BOOTSTRAP_STARS.finditer(page)
        if _BOOTSTRAP_FULL_STAR.search(match["inner"])
    }
    colors.update(match["color"] for match in _TAILWIND_STARS.finditer(page))
    return colors


def classify_page(page: str) -> str:
    """The outcome class of a product page that was answered with a 2xx status."""
    if REVIEWS_UNAVAILABLE_TEXT in page:
        return REVIEWS_UNAVAILABLE
    if not _REVIEWS_HEADING.search(page):
        return UNRECOGNIZED
    if RATINGS_UNAVAILABLE_TEXT in page:
        return RATINGS_UNAVAILABLE
    colors = star_colors(page)
    if not colors:
        return V1
    if len(colors) == 1:
        return STAR_COLOR_VERSIONS.get(colors.pop(), UNRECOGNIZED)
    # Black and red on one page: no single reviews version renders that.
    return UNRECOGNIZED
