"""The steering buttons in a real browser: Stop, Pause and Resume readable in the light and the dark theme.

The emergency control was once white on white (only a small red cross showed). Here
each button's text colour against its background (the first opaque one, walking up
from the button, as the eye sees it) must reach WCAG's 4.5:1, in both of the admin's
themes (its toggle sets data-theme on <html>); Stop must be red, and the three apart.
"""

import pytest

from calls.lifecycle import BroadcastState
from calls.models import Broadcast, Call, CallState
from calls.recording import new_token
from tests.pages.test_browser import SOURCE, browser, log_in, open_page, portal  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The colours the eye sees: the button's text, and the first background that is not transparent.
COLOURS_JS = """
(selector) => {
  const parse = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const button = document.querySelector(selector);
  let node = button, background = [255, 255, 255, 0];
  while (node && node.nodeType === 1) {
    const colour = parse(getComputedStyle(node).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) { background = colour; break; }
    node = node.parentElement;
  }
  return {text: parse(getComputedStyle(button).color), background: background};
}
"""


def luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0-255 channels)."""
    channels = []
    for value in rgb[:3]:
        value /= 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first, second) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula():
    assert round(contrast((255, 255, 255), (0, 0, 0)), 1) == 21.0
    assert contrast((255, 255, 255), (255, 255, 255)) == 1.0  # white on white: what the old Stop was


def steered(state: str) -> Broadcast:
    """A broadcast in `state` with calls still to make (waiting far in the future: nothing rings)."""
    broadcast = Broadcast.objects.create(
        voice_message_name="Buttons", service_id="svc-1", source=SOURCE, token=new_token(), state=state
    )
    Call.objects.create(
        broadcast=broadcast,
        service_id="svc-1",
        source=SOURCE,
        destination="79991234561",
        state=CallState.QUEUED,
        not_before="2099-01-01T00:00:00Z",
    )
    return broadcast


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_stop_pause_and_resume_are_readable_and_distinct_in_both_themes(portal, open_page, theme):  # noqa: F811
    sending, paused = steered(BroadcastState.SENDING), steered(BroadcastState.PAUSED)
    page = open_page()
    log_in(page, portal)
    seen = {}
    for broadcast, buttons in ((sending, ("pause", "stop")), (paused, ("resume", "stop"))):
        page.goto(f"{portal}/portal/broadcasts/{broadcast.pk}/")
        page.evaluate("(theme) => { localStorage.setItem('theme', theme); }", theme)
        page.reload()
        page.evaluate("(theme) => { document.documentElement.dataset.theme = theme; }", theme)
        assert page.evaluate("() => document.documentElement.dataset.theme") == theme
        for action in buttons:
            selector = f"#steer-{action}"
            assert page.is_visible(selector)
            colours = page.evaluate(COLOURS_JS, selector)
            ratio = contrast(colours["text"], colours["background"])
            assert ratio >= 4.5, f"{action} in the {theme} theme: {ratio:.2f}:1 ({colours})"
            seen[action] = tuple(colours["background"][:3])
    red, green, blue = seen["stop"]
    assert red > 150 and red > 2 * green and red > 2 * blue  # danger: a red background
    assert len({seen["stop"], seen["pause"], seen["resume"]}) == 3  # three different buttons
